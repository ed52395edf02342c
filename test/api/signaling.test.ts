// The live channel over real HTTP and WebSockets (the `ws` client, as a browser would open them):
// relay of offers, answers and candidates once the doctor admitted the patient, never before; presence
// and call state; refusals before the upgrade (no session, expired session, second factor missing,
// another origin, a third person, another doctor's patient, an unknown id), each traced; bad frames,
// oversized frames and floods answered without harm to anyone else; the /api/live stream; and two
// server processes sharing PostgreSQL and Redis, each participant on its own process.
// Until the REST routes of the waiting room exist, the doctor's admission is simulated: the status is
// written in the database and `admitted` published on the hub, as those routes will do.
import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { topics } from '../../src/consultation/hub.js';
import type { ConsultationStatus } from '../../src/kernel/schema.js';
import { Client } from '../support/client.js';
import { careSetting, insertConsultation, type CareSetting } from '../support/consultations.js';
import { inviteMember, enrolTotp, logIn, signUpPatient, type Account } from '../support/factories.js';
import { startTestServer, TEST_DB, type TestServer } from '../support/server.js';

// ---------------------------------------------------------------------------------------------------
// A small WebSocket client for tests: frames queued as they come, awaited by predicate.
// ---------------------------------------------------------------------------------------------------

type Frame = Record<string, any>;

interface Peer {
  ws: WebSocket;
  frames: Frame[];
  /** Next frame (in arrival order) matching `match`, consumed. */
  next(match?: (frame: Frame) => boolean, timeoutMs?: number): Promise<Frame>;
  /** Fails if a frame matching `match` arrives within `ms`. */
  nothing(match: (frame: Frame) => boolean, ms?: number): Promise<void>;
  send(frame: unknown): void;
  closed: Promise<{ code: number; reason: string }>;
  close(): Promise<void>;
}

function cookieOf(account: Account | { client: Account['client'] }): string {
  return [...account.client.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
}

function wsUrl(server: TestServer, path: string): string {
  return `ws://127.0.0.1:${server.port}${path}`;
}

function headersFor(server: TestServer, account: Account | null, origin: string | null = server.url): Record<string, string> {
  return { ...(account ? { cookie: cookieOf(account) } : {}), ...(origin !== null ? { origin } : {}) };
}

function open(server: TestServer, path: string, account: Account, origin: string = server.url): Promise<Peer> {
  const ws = new WebSocket(wsUrl(server, path), { headers: headersFor(server, account, origin) });
  const frames: Frame[] = [];
  const waiters: Array<() => void> = [];
  ws.on('message', (data, isBinary) => {
    frames.push(isBinary ? { binary: true } : JSON.parse(data.toString()));
    for (const wake of waiters.splice(0)) wake();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const take = (match: (frame: Frame) => boolean) => {
    const index = frames.findIndex(match);
    return index < 0 ? undefined : frames.splice(index, 1)[0];
  };
  const peer: Peer = {
    ws,
    frames,
    async next(match = () => true, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = take(match);
        if (found) return found;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no matching frame; received: ${JSON.stringify(frames)}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    async nothing(match, ms = 300) {
      await new Promise((resolve) => setTimeout(resolve, ms));
      expect(frames.filter(match)).toEqual([]);
    },
    send(frame) {
      ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
    },
    closed,
    async close() {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(1000);
      await closed;
    },
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(peer));
    ws.once('unexpected-response', (_request, response) => reject(new Error(`upgrade refused: ${response.statusCode}`)));
    ws.once('error', reject);
  });
}

/** Opens a socket and waits for its `ready`. */
async function join(server: TestServer, consultationId: string, account: Account): Promise<{ peer: Peer; ready: Frame }> {
  const peer = await open(server, `/api/consultations/${consultationId}/signal`, account);
  const ready = await peer.next((frame) => frame.type === 'ready');
  return { peer, ready };
}

interface Refusal {
  status: number;
  contentType: string | undefined;
  body: any;
}

/** An upgrade the server must refuse: its HTTP answer, and proof that no WebSocket opened. */
function refusal(server: TestServer, path: string, headers: Record<string, string>): Promise<Refusal> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl(server, path), { headers });
    ws.once('open', () => reject(new Error('the upgrade was accepted')));
    ws.once('error', () => undefined);
    ws.once('unexpected-response', (_request, response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, contentType: response.headers['content-type'], body: text ? JSON.parse(text) : undefined }));
    });
  });
}

function expectProblem(answer: Refusal, status: number, code: string): void {
  expect({ status: answer.status, code: answer.body?.code }, JSON.stringify(answer.body)).toEqual({ status, code });
  expect(answer.contentType).toMatch(/^application\/problem\+json/);
}

async function auditEntries(server: TestServer, type: string) {
  const rows = await server.services.db
    .selectFrom('audit_entries')
    .select(['type', 'outcome', 'actor_user_id', 'patient_id', 'resource_type', 'resource_id', 'purpose', 'detail', 'request_id'])
    .where('type', '=', type)
    .orderBy('id')
    .execute();
  return rows.map((row) => ({ ...row, detail: (typeof row.detail === 'string' ? JSON.parse(row.detail) : row.detail) as Record<string, unknown> }));
}

async function eventually<T>(probe: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (accept(value)) return value;
    if (Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function refusalsTraced(server: TestServer, reason: string, actor: string | null) {
  return eventually(
    async () => (await auditEntries(server, 'signaling.refused')).filter((entry) => entry.detail['reason'] === reason && entry.actor_user_id === actor),
    (entries) => entries.length > 0,
  );
}

async function setStatus(server: TestServer, consultationId: string, status: ConsultationStatus): Promise<void> {
  const now = new Date(server.services.now());
  await server.services.db
    .updateTable('consultations')
    .set({ status, ...(status === 'in_progress' ? { admitted_at: now } : status === 'ended' ? { ended_at: now } : {}) })
    .where('id', '=', consultationId)
    .execute();
}

/** What the waiting-room route will do when the doctor admits the patient. */
async function admit(server: TestServer, consultationId: string): Promise<void> {
  await setStatus(server, consultationId, 'in_progress');
  await server.services.hub.publish(topics.consultation(consultationId), { type: 'admitted' });
}

const OFFER = { description: { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n' } };
const ANSWER = { description: { type: 'answer', sdp: 'v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n' } };
const candidate = (port: number) => ({ candidate: { candidate: `candidate:1 1 udp 2122260223 127.0.0.1 ${port} typ host generation 0`, sdpMid: '0', sdpMLineIndex: 0 } });

// ---------------------------------------------------------------------------------------------------
// One server, in-process hub
// ---------------------------------------------------------------------------------------------------

describe('signaling on one server', () => {
  let server: TestServer;
  let care: CareSetting;
  let consultationId: string;
  /** Another patient of the organisation, with a second factor, in no consultation of this doctor. */
  let stranger: Account;
  /** Another doctor of the organisation and their own patient and consultation. */
  let otherDoctor: Account;
  let otherPatient: Account;
  let otherConsultationId: string;

  beforeAll(async () => {
    server = await startTestServer();
    care = await careSetting(server);
    consultationId = await insertConsultation(server, care);
    stranger = await signUpPatient(server, care.organisationId);
    await enrolTotp(server, stranger);
    otherDoctor = await inviteMember(server, care.admin, { roles: ['doctor'], rpps: '10000000124', profession: 'médecin généraliste' });
    await enrolTotp(server, otherDoctor);
    otherPatient = await signUpPatient(server, care.organisationId);
    await enrolTotp(server, otherPatient);
    otherConsultationId = await insertConsultation(server, { organisationId: care.organisationId, doctor: otherDoctor, patient: otherPatient });
  });
  afterAll(() => server?.close());

  it('relays offer, answer and candidates both ways once the patient is admitted, never before', async () => {
    const { peer: doctor, ready: doctorReady } = await join(server, consultationId, care.doctor);
    expect(doctorReady).toEqual({ type: 'ready', role: 'doctor', peerPresent: false, status: 'scheduled' });

    const { peer: patient, ready: patientReady } = await join(server, consultationId, care.patient);
    expect(patientReady).toEqual({ type: 'ready', role: 'patient', peerPresent: true, status: 'scheduled' });
    expect(await doctor.next()).toEqual({ type: 'peer-joined' });

    // In the waiting room: nothing is relayed.
    patient.send({ type: 'signal', data: OFFER });
    expect(await patient.next()).toEqual({ type: 'error', code: 'not_admitted' });
    doctor.send({ type: 'signal', data: OFFER });
    expect(await doctor.next()).toEqual({ type: 'error', code: 'not_admitted' });
    await doctor.nothing((frame) => frame.type === 'signal');
    await patient.nothing((frame) => frame.type === 'signal');

    await admit(server, consultationId);
    expect(await doctor.next()).toEqual({ type: 'admitted' });
    expect(await patient.next()).toEqual({ type: 'admitted' });

    patient.send({ type: 'signal', data: OFFER });
    expect(await doctor.next()).toEqual({ type: 'signal', data: OFFER });
    doctor.send({ type: 'signal', data: ANSWER });
    expect(await patient.next()).toEqual({ type: 'signal', data: ANSWER });
    for (const port of [50_000, 50_001]) {
      patient.send({ type: 'signal', data: candidate(port) });
      doctor.send({ type: 'signal', data: candidate(port + 10) });
    }
    patient.send({ type: 'signal', data: { candidate: null } });
    expect([await doctor.next(), await doctor.next(), await doctor.next()]).toEqual([
      { type: 'signal', data: candidate(50_000) },
      { type: 'signal', data: candidate(50_001) },
      { type: 'signal', data: { candidate: null } },
    ]);
    expect([await patient.next(), await patient.next()]).toEqual([
      { type: 'signal', data: candidate(50_010) },
      { type: 'signal', data: candidate(50_011) },
    ]);
    // A signal goes to the other side only, never back to its sender.
    await patient.nothing((frame) => frame.type === 'signal');

    // Call state, both ways; ping.
    patient.send({ type: 'peer-state', state: { microphone: 'muted', connection: 'connected' } });
    expect(await doctor.next()).toEqual({ type: 'peer-state', state: { microphone: 'muted', connection: 'connected' } });
    doctor.send({ type: 'peer-state', state: { network: 'poor' } });
    expect(await patient.next()).toEqual({ type: 'peer-state', state: { network: 'poor' } });
    doctor.send({ type: 'ping' });
    expect(await doctor.next()).toEqual({ type: 'pong' });

    // Events other capabilities publish on the consultation reach both sides as published.
    await server.services.hub.publish(topics.consultation(consultationId), { type: 'chat', message: { id: 'm1', senderId: care.patient.userId } });
    expect(await doctor.next()).toEqual({ type: 'chat', message: { id: 'm1', senderId: care.patient.userId } });
    expect(await patient.next()).toEqual({ type: 'chat', message: { id: 'm1', senderId: care.patient.userId } });

    // The patient leaves; on return they find the doctor there and their last call state.
    await patient.close();
    expect(await doctor.next()).toEqual({ type: 'peer-left' });
    const { peer: back, ready: backReady } = await join(server, consultationId, care.patient);
    expect(backReady).toEqual({ type: 'ready', role: 'patient', peerPresent: true, status: 'in_progress' });
    expect(await doctor.next()).toEqual({ type: 'peer-joined' });
    expect(await back.next()).toEqual({ type: 'peer-state', state: { network: 'poor' } });

    // Each join was an access decision, traced.
    const joins = await auditEntries(server, 'consultation.join');
    expect(joins.filter((entry) => entry.resource_id === consultationId).map((entry) => [entry.actor_user_id, entry.outcome, entry.purpose, entry.patient_id, entry.resource_type])).toEqual([
      [care.doctor.userId, 'allowed', 'care', care.patient.userId, 'consultation'],
      [care.patient.userId, 'allowed', 'patient_self', care.patient.userId, 'consultation'],
      [care.patient.userId, 'allowed', 'patient_self', care.patient.userId, 'consultation'],
    ]);

    // The consultation ends: both are told, both sockets close, relaying stops.
    await setStatus(server, consultationId, 'ended');
    await server.services.hub.publish(topics.consultation(consultationId), { type: 'ended' });
    expect(await doctor.next((frame) => frame.type === 'ended')).toEqual({ type: 'ended' });
    expect(await back.next((frame) => frame.type === 'ended')).toEqual({ type: 'ended' });
    expect((await doctor.closed).code).toBe(1000);
    expect((await back.closed).code).toBe(1000);
    // And it cannot be joined any more.
    expectProblem(await refusal(server, `/api/consultations/${consultationId}/signal`, headersFor(server, care.doctor)), 404, 'not_found');
    expect(await refusalsTraced(server, 'consultation_ended', care.doctor.userId)).toHaveLength(1);
  });

  it('a second connection of the same participant replaces the first (close 4409), the other side sees it join again', async () => {
    const id = await insertConsultation(server, care, { status: 'in_progress' });
    const { peer: doctor } = await join(server, id, care.doctor);
    const { peer: first } = await join(server, id, care.patient);
    expect(await doctor.next()).toEqual({ type: 'peer-joined' });
    const { peer: second, ready } = await join(server, id, care.patient);
    expect(ready).toMatchObject({ peerPresent: true, status: 'in_progress' });
    expect(await first.closed).toEqual({ code: 4409, reason: 'replaced by a newer connection' });
    expect(await doctor.next()).toEqual({ type: 'peer-joined' });
    await doctor.nothing((frame) => frame.type === 'peer-left');
    doctor.send({ type: 'signal', data: OFFER });
    expect(await second.next()).toEqual({ type: 'signal', data: OFFER });
    await Promise.all([doctor.close(), second.close()]);
  });

  describe('refused before the upgrade, with a problem+json, and traced', () => {
    const path = () => `/api/consultations/${consultationId}/signal`;

    it('without a session: 401', async () => {
      const id = randomUUID();
      expectProblem(await refusal(server, `/api/consultations/${id}/signal`, headersFor(server, null)), 401, 'unauthenticated');
      const traced = await refusalsTraced(server, 'unauthenticated', null);
      expect(traced.some((entry) => entry.detail['consultationId'] === id && entry.detail['endpoint'] === 'signal')).toBe(true);
    });

    it('from another origin (cross-site WebSocket hijacking), or without Origin: 403', async () => {
      const id = await insertConsultation(server, care);
      for (const origin of ['https://evil.example', `http://127.0.0.1:${server.port + 1}`, null]) {
        expectProblem(await refusal(server, `/api/consultations/${id}/signal`, headersFor(server, care.patient, origin)), 403, 'forbidden');
      }
      const traced = await refusalsTraced(server, 'cross_origin', care.patient.userId);
      expect(traced.filter((entry) => entry.detail['consultationId'] === id)).toHaveLength(3);
    });

    it('a session without a second factor: 403', async () => {
      const newcomer = await signUpPatient(server, care.organisationId);
      expectProblem(await refusal(server, path(), headersFor(server, newcomer)), 403, 'second_factor_enrolment_required');
      expect(await refusalsTraced(server, 'second_factor_enrolment_required', newcomer.userId)).toHaveLength(1);
    });

    it('anyone but the participants gets the answer of an unknown id: 404', async () => {
      const open = await insertConsultation(server, care);
      const cases: Array<[string, Account, string]> = [
        ['a third user', stranger, open],
        ['a patient of another doctor', otherPatient, open],
        ['another doctor of the organisation', otherDoctor, open],
        ['the doctor on another doctor’s consultation', care.doctor, otherConsultationId],
        ['the organisation’s administrator', care.admin, open],
        ['an unknown id', care.doctor, randomUUID()],
      ];
      const answers = [];
      for (const [label, account, id] of cases) {
        const answer = await refusal(server, `/api/consultations/${id}/signal`, headersFor(server, account));
        expectProblem(answer, 404, 'not_found');
        answers.push({ label, body: { ...answer.body, instance: undefined } });
      }
      // The same body for all (but the instance, the path asked).
      expect(new Set(answers.map((answer) => JSON.stringify(answer.body))).size).toBe(1);
      for (const [, account, id] of cases) {
        const traced = await refusalsTraced(server, 'not_participant', account.userId);
        expect(traced.some((entry) => entry.detail['consultationId'] === id)).toBe(true);
      }
      // No access decision was even asked for them: they are no participants.
      const joins = await auditEntries(server, 'consultation.join');
      expect(joins.filter((entry) => [stranger.userId, otherPatient.userId, care.admin.userId].includes(entry.actor_user_id ?? ''))).toEqual([]);
    });

    it('a malformed id: 400; no upgrade asked: 426', async () => {
      expectProblem(await refusal(server, '/api/consultations/not-a-uuid/signal', headersFor(server, care.doctor)), 400, 'validation_failed');
      const plain = await care.doctor.client.get(`/api/consultations/${consultationId}/signal`, { origin: server.url });
      expect({ status: plain.status, code: plain.body.code }).toEqual({ status: 426, code: 'upgrade_required' });
      const live = await care.doctor.client.get('/api/live', { origin: server.url });
      expect({ status: live.status, code: live.body.code }).toEqual({ status: 426, code: 'upgrade_required' });
    });
  });

  describe('bad frames, big frames and floods', () => {
    let id: string;
    beforeAll(async () => {
      id = await insertConsultation(server, care, { status: 'in_progress' });
    });

    it('malformed JSON, an unknown type, a wrong shape, a binary frame: an error frame, the socket stays, one trace a minute', async () => {
      const { peer } = await join(server, id, care.patient);
      for (const frame of ['{"type":', JSON.stringify({ type: 'admit' }), JSON.stringify({ type: 'signal', data: { description: { type: 'offer', sdp: 42 } } }), JSON.stringify({ type: 'peer-state', state: { microphone: 'loud' } })]) {
        peer.send(frame);
        expect(await peer.next()).toEqual({ type: 'error', code: 'invalid_message' });
      }
      peer.ws.send(Buffer.from([1, 2, 3]), { binary: true });
      expect(await peer.next()).toEqual({ type: 'error', code: 'invalid_message' });
      peer.send({ type: 'ping' });
      expect(await peer.next()).toEqual({ type: 'pong' });
      const traced = await eventually(
        async () => (await auditEntries(server, 'signaling.invalid_message')).filter((entry) => entry.actor_user_id === care.patient.userId && entry.detail['consultationId'] === id),
        (entries) => entries.length > 0,
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(traced.map((entry) => entry.detail)).toEqual([{ endpoint: 'signal', consultationId: id, reason: 'not_json' }]);
      await peer.close();
    });

    it('a frame over the limit: close 1009, traced', async () => {
      const { peer } = await join(server, id, care.patient);
      peer.send({ type: 'signal', data: { description: { type: 'offer', sdp: `v=0${'a'.repeat(server.services.config.signaling.maxMessageBytes)}` } } });
      expect((await peer.closed).code).toBe(1009);
      const traced = await eventually(
        async () => (await auditEntries(server, 'signaling.invalid_message')).filter((entry) => entry.detail['reason'] === 'oversized' && entry.detail['consultationId'] === id),
        (entries) => entries.length > 0,
      );
      expect(traced).toHaveLength(1);
    });

    it('a flood: close 1008 once the burst is spent, traced; the doctor on the other side received only what passed', async () => {
      const { peer: doctor } = await join(server, id, care.doctor);
      const { peer } = await join(server, id, care.patient);
      const { messageBurst } = server.services.config.signaling;
      for (let i = 0; i < messageBurst * 3; i++) peer.send({ type: 'signal', data: candidate(i) });
      expect(await peer.closed).toEqual({ code: 1008, reason: 'rate limited' });
      await doctor.next((frame) => frame.type === 'peer-left');
      const relayed = doctor.frames.filter((frame) => frame.type === 'signal').length;
      expect(relayed).toBeGreaterThan(messageBurst - 5);
      expect(relayed).toBeLessThan(messageBurst + 20);
      const traced = await eventually(
        async () => (await auditEntries(server, 'signaling.rate_limited')).filter((entry) => entry.detail['consultationId'] === id),
        (entries) => entries.length > 0,
      );
      expect(traced).toHaveLength(1);
      expect(traced[0]).toMatchObject({ outcome: 'denied', actor_user_id: care.patient.userId });
      await doctor.close();
    });

    it('the server still serves everyone afterwards', async () => {
      const { peer: doctor } = await join(server, id, care.doctor);
      const { peer: patient } = await join(server, id, care.patient);
      patient.send({ type: 'signal', data: OFFER });
      expect(await doctor.next((frame) => frame.type === 'signal')).toEqual({ type: 'signal', data: OFFER });
      expect((await care.doctor.client.get('/api/session')).status).toBe(200);
      await Promise.all([doctor.close(), patient.close()]);
    });
  });

  describe('a consultation moved while its sockets are open', () => {
    it('tells both participants (the waiting room reloads the new time); another organisation’s slot is refused', async () => {
      const id = await insertConsultation(server, care, { startsInMs: 10 * 60_000 });
      const { peer } = await join(server, id, care.patient);
      const published = await care.doctor.client.post('/api/availability', { startsAt: new Date(server.services.now() + 5 * 3600_000).toISOString(), durationMinutes: 20 });
      expect(published.status, JSON.stringify(published.body)).toBe(201);
      expect((await care.doctor.client.post(`/api/consultations/${id}/move`, { slotId: published.body.ids[0] })).status).toBe(204);
      expect(await peer.next((frame) => frame.type === 'moved')).toEqual({ type: 'moved' });
      await peer.close();

      // The same doctor in a second organisation: that organisation's slot does not take this consultation.
      const other = await server.services.db.insertInto('organisations').values({ name: 'Autre centre', finess: null }).returning('id').executeTakeFirstOrThrow();
      await server.services.db.insertInto('member_roles').values({ user_id: care.doctor.userId, organisation_id: other.id, role: 'doctor' }).execute();
      const elsewhere = await care.doctor.client.post('/api/availability', { startsAt: new Date(server.services.now() + 8 * 3600_000).toISOString(), durationMinutes: 20, organisationId: other.id });
      expect(elsewhere.status, JSON.stringify(elsewhere.body)).toBe(201);
      expect((await care.doctor.client.post(`/api/consultations/${id}/move`, { slotId: elsewhere.body.ids[0] })).status).toBe(404);
    });
  });

  describe('/api/live', () => {
    it('carries the events of the signed-in person only', async () => {
      const live = await open(server, '/api/live', care.doctor);
      expect(await live.next()).toEqual({ type: 'ready' });
      await server.services.hub.publish(topics.user(otherDoctor.userId), { type: 'patient-waiting', consultationId: otherConsultationId });
      await server.services.hub.publish(topics.user(care.doctor.userId), { type: 'patient-waiting', consultationId });
      expect(await live.next()).toEqual({ type: 'patient-waiting', consultationId });
      await live.nothing(() => true, 200);
      live.send({ type: 'ping' });
      expect(await live.next()).toEqual({ type: 'pong' });
      live.send({ type: 'signal', data: OFFER });
      expect(await live.next()).toEqual({ type: 'error', code: 'invalid_message' });
      await live.close();
    });

    it('is refused like signaling: no session 401, another origin 403, no second factor 403', async () => {
      expectProblem(await refusal(server, '/api/live', headersFor(server, null)), 401, 'unauthenticated');
      expectProblem(await refusal(server, '/api/live', headersFor(server, care.doctor, 'https://evil.example')), 403, 'forbidden');
      const newcomer = await signUpPatient(server, care.organisationId);
      expectProblem(await refusal(server, '/api/live', headersFor(server, newcomer)), 403, 'second_factor_enrolment_required');
      const traced = await refusalsTraced(server, 'cross_origin', care.doctor.userId);
      expect(traced.filter((entry) => entry.detail['endpoint'] === 'live')).toHaveLength(1);
    });
  });

  describe('the session stays under watch', () => {
    it('a session ended elsewhere (logout) closes its sockets with 4401', async () => {
      const id = await insertConsultation(server, care, { status: 'in_progress' });
      const client = await logIn(server, care.patient);
      const account = { ...care.patient, client };
      const { peer } = await join(server, id, account);
      const live = await open(server, '/api/live', account);
      await live.next();
      expect((await client.post('/api/logout')).status).toBe(204);
      // At once, clock unmoved and no traffic: the revocation is pushed to the sockets of that session.
      expect((await peer.closed).code).toBe(4401);
      expect((await live.closed).code).toBe(4401);
    });

    it('ending another of one’s sessions closes that session’s sockets, not those of the current one', async () => {
      const id = await insertConsultation(server, care, { status: 'in_progress' });
      const kept = await logIn(server, care.patient);
      const other = await logIn(server, care.patient);
      const live = await open(server, '/api/live', { ...care.patient, client: kept });
      await live.next();
      const { peer } = await join(server, id, { ...care.patient, client: other });
      const otherId = ((await other.get('/api/sessions')).body as Array<{ id: string; current: boolean }>).find((entry) => entry.current)!.id;
      expect((await kept.delete(`/api/sessions/${otherId}`)).status).toBe(204);
      expect((await peer.closed).code).toBe(4401);
      live.send({ type: 'ping' });
      expect(await live.next()).toEqual({ type: 'pong' });
      await live.close();
    });

    it('past the idle timeout: the open socket closes with 4401, a new one is refused with 401 session_expired', async () => {
      const id = await insertConsultation(server, care, { status: 'in_progress' });
      const { peer } = await join(server, id, care.doctor);
      server.advanceClock(server.services.config.session.idleTimeoutMs + 60_000);
      expect((await peer.closed).code).toBe(4401);
      const answer = await refusal(server, `/api/consultations/${id}/signal`, headersFor(server, care.patient));
      expectProblem(answer, 401, 'session_expired');
      expect(await refusalsTraced(server, 'session_expired', null)).not.toHaveLength(0);
    });
  });
});

// ---------------------------------------------------------------------------------------------------
// Two server processes, one PostgreSQL schema, one Redis
// ---------------------------------------------------------------------------------------------------

const REDIS_URL = process.env['REDIS_TEST_URL'] ?? 'redis://127.0.0.1:6379';

async function redisAnswers(): Promise<boolean> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

const redisUp = TEST_DB === 'postgres' && (await redisAnswers());
if (TEST_DB !== 'postgres') console.warn('signaling.test: the two-process test needs TEST_DB=postgres (a PGlite in memory belongs to one server): skipped');
else if (!redisUp) console.warn(`signaling.test: no Redis at ${REDIS_URL}: the two-process test is skipped`);

describe.runIf(redisUp)('two server processes sharing PostgreSQL and Redis (REDIS_URL)', () => {
  let first: TestServer;
  let second: TestServer;
  let care: CareSetting;

  beforeAll(async () => {
    // A channel prefix of this run's own, so that concurrent test runs on the same Redis do not mix.
    const env = { REDIS_URL, REDIS_CHANNEL_PREFIX: `ausculta-test-${randomBytes(6).toString('hex')}:` };
    first = await startTestServer(env);
    second = await startTestServer(env, { shareWith: first });
    expect([first.services.hub.kind, second.services.hub.kind]).toEqual(['redis', 'redis']);
    care = await careSetting(first);
  });
  afterAll(async () => {
    await second?.close();
    await first?.close();
  });

  it('the doctor on one process, the patient on the other: presence, admission and relay work', async () => {
    const id = await insertConsultation(first, care);
    const { peer: doctor, ready: doctorReady } = await join(first, id, care.doctor);
    expect(doctorReady).toMatchObject({ role: 'doctor', peerPresent: false });
    const { peer: patient } = await join(second, id, care.patient);
    // The patient's process learns of the doctor through the hub: a peer-joined right after ready.
    expect(await patient.next()).toEqual({ type: 'peer-joined' });
    expect(await doctor.next()).toEqual({ type: 'peer-joined' });

    patient.send({ type: 'signal', data: OFFER });
    expect(await patient.next()).toEqual({ type: 'error', code: 'not_admitted' });

    await admit(first, id);
    expect(await doctor.next()).toEqual({ type: 'admitted' });
    expect(await patient.next()).toEqual({ type: 'admitted' });

    patient.send({ type: 'signal', data: OFFER });
    expect(await doctor.next()).toEqual({ type: 'signal', data: OFFER });
    doctor.send({ type: 'signal', data: ANSWER });
    expect(await patient.next()).toEqual({ type: 'signal', data: ANSWER });
    for (let port = 50_000; port < 50_005; port++) doctor.send({ type: 'signal', data: candidate(port) });
    for (let port = 50_000; port < 50_005; port++) expect(await patient.next()).toEqual({ type: 'signal', data: candidate(port) });
    patient.send({ type: 'peer-state', state: { camera: 'off' } });
    expect(await doctor.next()).toEqual({ type: 'peer-state', state: { camera: 'off' } });

    // The patient reconnects on the doctor's process: the old socket on the other process is replaced.
    const { peer: again, ready } = await join(first, id, care.patient);
    expect(ready).toMatchObject({ peerPresent: true, status: 'in_progress' });
    expect((await patient.closed).code).toBe(4409);
    await doctor.next((frame) => frame.type === 'peer-joined');
    await again.close();
    expect(await doctor.next((frame) => frame.type === 'peer-left')).toEqual({ type: 'peer-left' });
    await doctor.close();
  });

  it('a logout on one process closes the session’s socket on the other at once, and that process refuses the cookie at once', async () => {
    const client = await logIn(first, care.doctor);
    const account = { ...care.doctor, client };
    const live = await open(second, '/api/live', account);
    expect(await live.next()).toEqual({ type: 'ready' });
    // The second process has the session in its cache now.
    const onSecond = new Client(second.url);
    for (const [name, value] of client.cookies) onSecond.cookies.set(name, value);
    expect((await onSecond.get('/api/sessions')).status).toBe(200);
    expect((await client.post('/api/logout')).status).toBe(204);
    expect((await live.closed).code).toBe(4401);
    expect((await onSecond.get('/api/sessions')).status).toBe(401);
  });

  it('a live event published on one process reaches the person connected to the other', async () => {
    const live = await open(second, '/api/live', care.doctor);
    expect(await live.next()).toEqual({ type: 'ready' });
    const consultationId = randomUUID();
    await first.services.hub.publish(topics.user(care.doctor.userId), { type: 'patient-waiting', consultationId });
    expect(await live.next()).toEqual({ type: 'patient-waiting', consultationId });
    await live.close();
  });
});
