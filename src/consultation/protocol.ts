// The signaling protocol (docs/signaling.md): JSON text frames, a discriminated union checked strictly at
// the boundary. A message with an unknown type, a missing or extra field, or a value out of its
// enumeration or length is refused whole; nothing of it is relayed.

/** An SDP of a call with audio, video and screen sharing is 5–15 KB; a candidate line about 100 bytes. */
export const MAX_SDP_CHARS = 32 * 1024;
export const MAX_CANDIDATE_CHARS = 1024;
const MAX_MID_CHARS = 64;
const MAX_UFRAG_CHARS = 256;
const MAX_MLINE_INDEX = 1023;

export type SessionDescription = { type: 'offer' | 'answer' | 'pranswer'; sdp: string } | { type: 'rollback'; sdp?: string };

export interface IceCandidate {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}

/** What a browser hands to RTCPeerConnection: a description, or a candidate (null: end of candidates). */
export type SignalData = { description: SessionDescription } | { candidate: IceCandidate | null };

/** The call state one side shows the other; every field is optional, at least one is present. */
export const PEER_STATE_VALUES = {
  microphone: ['on', 'muted'],
  camera: ['on', 'off'],
  screenSharing: [true, false],
  audioOnly: [true, false],
  network: ['good', 'fair', 'poor'],
  /** RTCPeerConnection.connectionState, as the sending browser sees it. */
  connection: ['new', 'connecting', 'connected', 'disconnected', 'failed', 'closed'],
} as const;

export type PeerState = { -readonly [K in keyof typeof PEER_STATE_VALUES]?: (typeof PEER_STATE_VALUES)[K][number] };

export type ClientMessage = { type: 'signal'; data: SignalData } | { type: 'peer-state'; state: PeerState } | { type: 'ping' };

export type ErrorCode = 'invalid_message' | 'not_admitted';

/** Frames the server sends (forwarded hub events — admitted, ended, chat, document… — come as published). */
export type ServerMessage =
  | { type: 'ready'; role: 'doctor' | 'patient'; peerPresent: boolean; status: string }
  | { type: 'peer-joined' }
  | { type: 'peer-left' }
  | { type: 'signal'; data: SignalData }
  | { type: 'peer-state'; state: PeerState }
  | { type: 'pong' }
  | { type: 'error'; code: ErrorCode };

export type ParseFailure = 'binary' | 'not_json' | 'not_an_object' | 'unknown_type' | 'bad_shape';
export type ParseResult = { ok: true; message: ClientMessage } | { ok: false; reason: ParseFailure };

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Exactly the required keys, plus any of the optional ones, nothing else. */
function hasKeys(value: Json, required: readonly string[], optional: readonly string[] = []): boolean {
  let count = 0;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    if (!required.includes(key) && !optional.includes(key)) return false;
    count += 1;
  }
  return required.every((key) => Object.hasOwn(value, key)) && count <= required.length + optional.length;
}

function boundedString(value: unknown, max: number): value is string {
  return typeof value === 'string' && value.length <= max;
}

function nullableString(value: unknown, max: number): boolean {
  return value === undefined || value === null || boundedString(value, max);
}

function isDescription(value: unknown): value is SessionDescription {
  if (!isObject(value) || !hasKeys(value, ['type'], ['sdp'])) return false;
  switch (value['type']) {
    case 'offer':
    case 'answer':
    case 'pranswer':
      return boundedString(value['sdp'], MAX_SDP_CHARS) && value['sdp'].startsWith('v=0');
    case 'rollback':
      return value['sdp'] === undefined || value['sdp'] === '';
    default:
      return false;
  }
}

function isCandidate(value: unknown): value is IceCandidate | null {
  if (value === null) return true;
  if (!isObject(value) || !hasKeys(value, ['candidate'], ['sdpMid', 'sdpMLineIndex', 'usernameFragment'])) return false;
  const line = value['candidate'];
  // An empty candidate is the end of a generation; a line never holds CR or LF.
  if (!boundedString(line, MAX_CANDIDATE_CHARS) || (line !== '' && !/^candidate:[^\r\n]*$/.test(line))) return false;
  const index = value['sdpMLineIndex'];
  const indexOk = index === undefined || index === null || (Number.isInteger(index) && (index as number) >= 0 && (index as number) <= MAX_MLINE_INDEX);
  return indexOk && nullableString(value['sdpMid'], MAX_MID_CHARS) && nullableString(value['usernameFragment'], MAX_UFRAG_CHARS);
}

function isSignalData(value: unknown): value is SignalData {
  if (!isObject(value)) return false;
  if (hasKeys(value, ['description'])) return isDescription(value['description']);
  if (hasKeys(value, ['candidate'])) return isCandidate(value['candidate']);
  return false;
}

function isPeerState(value: unknown): value is PeerState {
  if (!isObject(value)) return false;
  let fields = 0;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    if (!Object.hasOwn(PEER_STATE_VALUES, key)) return false;
    const allowed: readonly unknown[] = PEER_STATE_VALUES[key as keyof typeof PEER_STATE_VALUES];
    if (!allowed.includes(value[key])) return false;
    fields += 1;
  }
  return fields > 0;
}

/** `allowed`: the message types this endpoint accepts (the /api/live stream takes pings only). */
export function parseClientMessage(text: string, allowed: ReadonlySet<ClientMessage['type']>): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not_json' };
  }
  if (!isObject(value)) return { ok: false, reason: 'not_an_object' };
  const type = value['type'];
  if (typeof type !== 'string' || !allowed.has(type as ClientMessage['type'])) return { ok: false, reason: 'unknown_type' };
  switch (type as ClientMessage['type']) {
    case 'signal':
      return hasKeys(value, ['type', 'data']) && isSignalData(value['data'])
        ? { ok: true, message: { type: 'signal', data: value['data'] } }
        : { ok: false, reason: 'bad_shape' };
    case 'peer-state':
      return hasKeys(value, ['type', 'state']) && isPeerState(value['state'])
        ? { ok: true, message: { type: 'peer-state', state: value['state'] } }
        : { ok: false, reason: 'bad_shape' };
    case 'ping':
      return hasKeys(value, ['type']) ? { ok: true, message: { type: 'ping' } } : { ok: false, reason: 'bad_shape' };
  }
}

export const SIGNALING_MESSAGES: ReadonlySet<ClientMessage['type']> = new Set(['signal', 'peer-state', 'ping']);
export const LIVE_MESSAGES: ReadonlySet<ClientMessage['type']> = new Set(['ping']);
