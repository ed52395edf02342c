// The signaling protocol's boundary: what a browser sends is accepted exactly, anything else refused whole.
import { describe, expect, it } from 'vitest';
import { LIVE_MESSAGES, MAX_CANDIDATE_CHARS, MAX_SDP_CHARS, parseClientMessage, SIGNALING_MESSAGES } from './protocol.js';

const OFFER_SDP = 'v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n';
const CANDIDATE = { candidate: 'candidate:842163049 1 udp 1677729535 127.0.0.1 46154 typ srflx raddr 0.0.0.0 rport 0 generation 0', sdpMid: '0', sdpMLineIndex: 0, usernameFragment: 'EsLt' };

const parse = (value: unknown) => parseClientMessage(typeof value === 'string' ? value : JSON.stringify(value), SIGNALING_MESSAGES);

describe('parseClientMessage accepts what browsers send', () => {
  it.each([
    ['an offer', { type: 'signal', data: { description: { type: 'offer', sdp: OFFER_SDP } } }],
    ['an answer', { type: 'signal', data: { description: { type: 'answer', sdp: OFFER_SDP } } }],
    ['a rollback', { type: 'signal', data: { description: { type: 'rollback' } } }],
    ['a rollback with an empty sdp', { type: 'signal', data: { description: { type: 'rollback', sdp: '' } } }],
    ['a candidate', { type: 'signal', data: { candidate: CANDIDATE } }],
    ['a candidate with null mid and index', { type: 'signal', data: { candidate: { candidate: CANDIDATE.candidate, sdpMid: null, sdpMLineIndex: null } } }],
    ['the end of a generation', { type: 'signal', data: { candidate: { candidate: '' } } }],
    ['the end of candidates', { type: 'signal', data: { candidate: null } }],
    ['the call state', { type: 'peer-state', state: { microphone: 'muted', camera: 'off', screenSharing: true, audioOnly: false, network: 'poor', connection: 'connected' } }],
    ['one field of call state', { type: 'peer-state', state: { connection: 'failed' } }],
    ['a ping', { type: 'ping' }],
  ])('%s', (_label, message) => {
    expect(parse(message)).toEqual({ ok: true, message });
  });
});

describe('parseClientMessage refuses everything else', () => {
  it.each([
    ['not JSON', '{"type":"signal"', 'not_json'],
    ['a JSON string', '"ping"', 'not_an_object'],
    ['an array', '[{"type":"ping"}]', 'not_an_object'],
    ['null', 'null', 'not_an_object'],
    ['no type', { data: {} }, 'unknown_type'],
    ['an unknown type', { type: 'admit' }, 'unknown_type'],
    ['a server type', { type: 'ready' }, 'unknown_type'],
    ['an extra field', { type: 'ping', at: 1 }, 'bad_shape'],
    ['a signal without data', { type: 'signal' }, 'bad_shape'],
    ['data with both description and candidate', { type: 'signal', data: { description: { type: 'offer', sdp: OFFER_SDP }, candidate: null } }, 'bad_shape'],
    ['an unknown SDP type', { type: 'signal', data: { description: { type: 'hello', sdp: OFFER_SDP } } }, 'bad_shape'],
    ['an offer without sdp', { type: 'signal', data: { description: { type: 'offer' } } }, 'bad_shape'],
    ['an sdp that is no SDP', { type: 'signal', data: { description: { type: 'offer', sdp: '<script>' } } }, 'bad_shape'],
    ['an sdp over the limit', { type: 'signal', data: { description: { type: 'offer', sdp: `v=0${'a'.repeat(MAX_SDP_CHARS)}` } } }, 'bad_shape'],
    ['a rollback with an sdp', { type: 'signal', data: { description: { type: 'rollback', sdp: OFFER_SDP } } }, 'bad_shape'],
    ['a description with an extra field', { type: 'signal', data: { description: { type: 'offer', sdp: OFFER_SDP, x: 1 } } }, 'bad_shape'],
    ['a candidate line that is not one', { type: 'signal', data: { candidate: { candidate: 'hello' } } }, 'bad_shape'],
    ['a candidate line with a newline', { type: 'signal', data: { candidate: { candidate: 'candidate:1 1 udp 1 1.2.3.4 5 typ host\r\na=x' } } }, 'bad_shape'],
    ['a candidate line over the limit', { type: 'signal', data: { candidate: { candidate: `candidate:${'1'.repeat(MAX_CANDIDATE_CHARS)}` } } }, 'bad_shape'],
    ['a negative m-line index', { type: 'signal', data: { candidate: { ...CANDIDATE, sdpMLineIndex: -1 } } }, 'bad_shape'],
    ['a fractional m-line index', { type: 'signal', data: { candidate: { ...CANDIDATE, sdpMLineIndex: 0.5 } } }, 'bad_shape'],
    ['a numeric mid', { type: 'signal', data: { candidate: { ...CANDIDATE, sdpMid: 0 } } }, 'bad_shape'],
    ['a candidate with an extra field', { type: 'signal', data: { candidate: { ...CANDIDATE, foundation: '1' } } }, 'bad_shape'],
    ['a candidate that is a string', { type: 'signal', data: { candidate: CANDIDATE.candidate } }, 'bad_shape'],
    ['an empty call state', { type: 'peer-state', state: {} }, 'bad_shape'],
    ['a call state out of its enumeration', { type: 'peer-state', state: { microphone: 'loud' } }, 'bad_shape'],
    ['a call state with an unknown field', { type: 'peer-state', state: { battery: 'low' } }, 'bad_shape'],
    ['a call state field that is a string boolean', { type: 'peer-state', state: { screenSharing: 'true' } }, 'bad_shape'],
    ['a __proto__ key', '{"type":"ping","__proto__":{"x":1}}', 'bad_shape'],
  ])('%s', (_label, message, reason) => {
    expect(parse(message)).toEqual({ ok: false, reason });
  });

  it('the live stream takes pings only', () => {
    expect(parseClientMessage('{"type":"ping"}', LIVE_MESSAGES)).toEqual({ ok: true, message: { type: 'ping' } });
    expect(parseClientMessage(JSON.stringify({ type: 'signal', data: { candidate: null } }), LIVE_MESSAGES)).toEqual({ ok: false, reason: 'unknown_type' });
  });
});
