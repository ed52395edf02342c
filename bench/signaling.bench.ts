// databases: pglite postgres
// timeout-seconds: 900
// signaling: what the live channel costs one server process (bench/README.md, "The signaling benchmarks").
// (a) signaling-idle-sockets: 5 000 idle, authenticated signaling WebSockets (each admitted through the
//     access gate, as in production) held by one process: the RSS they add, against the process's RSS
//     before them. Goal: ≤ 512 MB for the 5 000.
// (b) signaling-relay-rate: signals relayed per second between the two participants of 25 consultations
//     (50 connections), against a raw `ws` echo server (a child process too) at 50 connections, same
//     client, same frames, alternated. Goal: ratio ≥ 0.5.
//     signaling-relay-p99-added: p99 of one delivery (sender's send → receiver's receipt, one clock)
//     at a fixed offered rate, relay minus echo. Goal: ≤ 1 ms.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { hashToken, randomToken } from '../src/kernel/crypto.js';
import { freePort } from '../test/support/server.js';
import { report } from './report.js';
import { percentile, sleep } from './support/load.js';
import { cpuSecondsOf, DATABASE, prepareDatabase, REPO_ROOT, rssMbOf, startServer, withServer } from './support/server.js';

const IDLE_SOCKETS = Number(process.env['SIGNALING_BENCH_SOCKETS'] ?? 5_000);
const RELAY_PAIRS = 25;
const OPEN_CONCURRENCY = 32;
const SETTLE_MS = 5_000;
const WARMUP_MS = 1_000;
/** Throughput phases alternate relay and echo (A B B A A B B A): the machine is shared and its load moves. */
const PHASE_MS = 2_000;
const THROUGHPUT_ORDER = ['relay', 'raw', 'raw', 'relay', 'relay', 'raw', 'raw', 'relay'] as const;
const LATENCY_PHASE_MS = 3_000;
/** Messages each connection keeps in flight in the throughput phases. */
const WINDOW = 8;
/** Offered load of the latency phases, all connections together. */
const LATENCY_RATE = Number(process.env['SIGNALING_BENCH_RATE'] ?? 1_000);

// ---------------------------------------------------------------------------------------------------
// Data: accounts, sessions and consultations written in bulk (creating them through the API would take
// minutes of Argon2id): one doctor and one patient per consultation, each with a session proven by a
// second factor, and the consultation care relationship the gate admits them on.
// ---------------------------------------------------------------------------------------------------

interface Participant {
  userId: string;
  token: string;
}
interface Pair {
  consultationId: string;
  doctor: Participant;
  patient: Participant;
}

const PAIRS = IDLE_SOCKETS / 2 + RELAY_PAIRS;

const { database, seeded: pairs } = await prepareDatabase(DATABASE, async (services) => {
  const { db } = services;
  const now = new Date();
  const organisation = await db.insertInto('organisations').values({ name: 'Centre de banc d’essai', finess: null }).returning('id').executeTakeFirstOrThrow();
  const all: Pair[] = Array.from({ length: PAIRS }, () => ({
    consultationId: randomUUID(),
    doctor: { userId: randomUUID(), token: randomToken() },
    patient: { userId: randomUUID(), token: randomToken() },
  }));
  const BATCH = 500;
  for (let start = 0; start < all.length; start += BATCH) {
    const batch = all.slice(start, start + BATCH);
    const people = batch.flatMap((pair, i) => [
      { pair, person: pair.doctor, role: 'doctor' as const, label: `d${start + i}` },
      { pair, person: pair.patient, role: 'patient' as const, label: `p${start + i}` },
    ]);
    await db.transaction().execute(async (tx) => {
      await tx
        .insertInto('users')
        .values(people.map(({ person, label }) => ({ id: person.userId, email: `bench-${label}@example.test`, display_name: `Banc ${label}`, password_hash: 'unused', password_changed_at: now, rpps: null, profession: null })))
        .execute();
      await tx.insertInto('member_roles').values(people.map(({ person, role }) => ({ organisation_id: organisation.id, user_id: person.userId, role }))).execute();
      await tx
        .insertInto('sessions')
        .values(
          people.map(({ person }) => ({
            token_hash: hashToken(person.token),
            user_id: person.userId,
            csrf_token: randomToken(24),
            second_factor_pending: false,
            second_factor_at: now,
            last_seen_at: now,
            absolute_expires_at: new Date(now.getTime() + 12 * 3600_000),
            source_address: '127.0.0.1',
            user_agent: 'signaling bench',
          })),
        )
        .execute();
      const relationships = batch.map((pair) => ({ id: randomUUID(), pair }));
      await tx
        .insertInto('care_relationships')
        .values(relationships.map(({ id, pair }) => ({ id, patient_id: pair.patient.userId, professional_id: pair.doctor.userId, organisation_id: organisation.id, kind: 'consultation' as const, starts_at: new Date(now.getTime() - 3600_000), ends_at: new Date(now.getTime() + 30 * 24 * 3600_000), created_by: pair.doctor.userId })))
        .execute();
      await tx
        .insertInto('consultations')
        .values(
          relationships.map(({ id, pair }) => ({
            id: pair.consultationId,
            organisation_id: organisation.id,
            doctor_id: pair.doctor.userId,
            patient_id: pair.patient.userId,
            starts_at: now,
            ends_at: new Date(now.getTime() + 3600_000),
            mode: 'video' as const,
            status: 'in_progress' as const,
            booked_by: pair.patient.userId,
            booked_at: now,
            pathway_role: 'attending_doctor' as const,
            relationship_id: id,
            waiting_since: now,
            admitted_at: now,
          })),
        )
        .execute();
    });
  }
  return all;
});

// ---------------------------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------------------------

interface Connection {
  ws: WebSocket;
  onText: (text: string) => void;
}

function connect(url: string, headers: Record<string, string>, expectReady: boolean): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers, perMessageDeflate: false });
    const connection: Connection = { ws, onText: () => undefined };
    const timer = setTimeout(() => reject(new Error(`no ready from ${url}`)), 60_000);
    ws.once('unexpected-response', (_request, response) => reject(new Error(`upgrade refused: ${response.statusCode}`)));
    ws.once('error', reject);
    ws.on('message', (data) => connection.onText(data.toString()));
    const done = () => {
      clearTimeout(timer);
      resolve(connection);
    };
    if (!expectReady) ws.once('open', done);
    else
      connection.onText = (text) => {
        if (!text.startsWith('{"type":"ready"')) return;
        connection.onText = () => undefined;
        done();
      };
  });
}

function signalingUrl(port: number, pair: Pair): string {
  return `ws://127.0.0.1:${port}/api/consultations/${pair.consultationId}/signal`;
}

function headersOf(port: number, person: Participant): Record<string, string> {
  return { cookie: `ausculta_session=${person.token}`, origin: `http://127.0.0.1:${port}` };
}

/** Opens `count` jobs, at most `concurrency` at once. */
async function inParallel<T>(count: number, concurrency: number, job: (index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const index = next++;
        results[index] = await job(index);
      }
    }),
  );
  return results;
}

async function closeAll(connections: Connection[]): Promise<void> {
  await Promise.all(
    connections.map(
      (connection) =>
        new Promise<void>((resolve) => {
          if (connection.ws.readyState === WebSocket.CLOSED) return resolve();
          connection.ws.once('close', () => resolve());
          connection.ws.close(1000);
        }),
    ),
  );
}

/** Median of a few VmRSS readings after a settle. */
async function settledRss(pid: number): Promise<number> {
  await sleep(SETTLE_MS);
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    samples.push(rssMbOf(pid));
    await sleep(200);
  }
  return samples.sort((a, b) => a - b)[2]!;
}

// ---------------------------------------------------------------------------------------------------
// Load: each connection sends candidate signals naming itself and a sequence number; the receiver
// (the partner for the relay, the sender itself for the echo) reads them back with JSON.parse.
// ---------------------------------------------------------------------------------------------------

const frameOf = (sender: number, seq: number) =>
  JSON.stringify({ type: 'signal', data: { candidate: { candidate: `candidate:${sender}x${seq} 1 udp 2122260223 127.0.0.1 ${40_000 + (seq % 20_000)} typ host generation 0 ufrag Bnch network-id 1`, sdpMid: '0', sdpMLineIndex: 0 } } });

interface Rig {
  /** The connection that sends for sender i. */
  senders: Connection[];
  /** Where sender i's frames arrive. */
  receivers: Connection[];
}

interface PhaseResult {
  delivered: number;
  elapsedMs: number;
  latencies: number[];
}

/** Wires the receivers: every frame that names a sender counts as one delivery of it. */
function wire(rig: Rig, onDelivery: (sender: number, seq: number) => void): void {
  const seen = new Set<Connection>();
  for (const receiver of rig.receivers) {
    if (seen.has(receiver)) continue;
    seen.add(receiver);
    receiver.onText = (text) => {
      const frame = JSON.parse(text) as { type: string; data?: { candidate?: { candidate?: string } } };
      const line = frame.data?.candidate?.candidate;
      if (frame.type !== 'signal' || !line) return;
      const id = line.slice('candidate:'.length, line.indexOf(' '));
      const cut = id.indexOf('x');
      onDelivery(Number(id.slice(0, cut)), Number(id.slice(cut + 1)));
    };
  }
}

/** Closed loops: each sender keeps WINDOW frames in flight for `durationMs`, then drains. */
async function throughput(rig: Rig, durationMs: number): Promise<PhaseResult> {
  const seqs = rig.senders.map(() => 0);
  const inFlight = rig.senders.map(() => 0);
  let delivered = 0;
  let running = true;
  const send = (sender: number) => {
    inFlight[sender]! += 1;
    rig.senders[sender]!.ws.send(frameOf(sender, seqs[sender]!++));
  };
  wire(rig, (sender) => {
    inFlight[sender]! -= 1;
    if (!running) return;
    delivered += 1;
    send(sender);
  });
  const started = performance.now();
  for (let sender = 0; sender < rig.senders.length; sender++) for (let i = 0; i < WINDOW; i++) send(sender);
  await sleep(durationMs);
  running = false;
  const elapsedMs = performance.now() - started;
  const deadline = Date.now() + 5_000;
  while (inFlight.some((n) => n > 0) && Date.now() < deadline) await sleep(10);
  return { delivered, elapsedMs, latencies: [] };
}

/** Open loop: `rate` frames a second over all senders on a fixed schedule; latency from the scheduled time. */
async function latency(rig: Rig, durationMs: number, rate: number): Promise<PhaseResult> {
  const scheduled = new Map<string, number>();
  const latencies: number[] = [];
  wire(rig, (sender, seq) => {
    const key = `${sender}x${seq}`;
    const at = scheduled.get(key);
    if (at === undefined) return;
    scheduled.delete(key);
    latencies.push(performance.now() - at);
  });
  const total = Math.floor((durationMs / 1000) * rate);
  const started = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) * rate) / 1000) + 1);
    for (; sent < due; sent++) {
      const sender = sent % rig.senders.length;
      scheduled.set(`${sender}x${sent}`, started + (sent * 1000) / rate);
      rig.senders[sender]!.ws.send(frameOf(sender, sent));
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const elapsedMs = performance.now() - started;
  const deadline = Date.now() + 5_000;
  while (scheduled.size > 0 && Date.now() < deadline) await sleep(10);
  return { delivered: latencies.length, elapsedMs, latencies };
}

/** The raw baseline: `ws` echoing every frame to its sender, in a child process like the server. */
async function startEchoServer(port: number, maxPayload: number): Promise<ChildProcess> {
  const source = `
    const { WebSocketServer } = require('ws');
    const server = new WebSocketServer({ host: '127.0.0.1', port: ${port}, maxPayload: ${maxPayload} });
    server.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
    server.on('listening', () => console.log('listening'));`;
  const child = spawn(process.execPath, ['-e', source], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('listening') && resolve());
    child.once('exit', (code) => reject(new Error(`echo server exited (${code})`)));
  });
  return child;
}

// ---------------------------------------------------------------------------------------------------

const server = await startServer({
  env: { ...database.env, SIGNALING_MESSAGES_PER_SECOND: '10000', SIGNALING_MESSAGE_BURST: '100000' },
  cpuProfileName: `signaling-${DATABASE}`,
});

await withServer(server, database, async ({ port, pid }) => {
  console.log(`signaling [${DATABASE}]: ${IDLE_SOCKETS} idle sockets, then ${RELAY_PAIRS * 2} connections relaying (load average ${(await import('node:os')).loadavg().map((n) => n.toFixed(1)).join(' ')})`);

  // (a) Idle sockets. A warm-up first (the relay pairs join and leave), so that "before" is a server
  // that has already served joins.
  const relayPairs = pairs.slice(IDLE_SOCKETS / 2);
  const openRelay = () =>
    inParallel(RELAY_PAIRS * 2, 8, (index) => {
      const pair = relayPairs[index >> 1]!;
      return connect(signalingUrl(port, pair), headersOf(port, index % 2 === 0 ? pair.doctor : pair.patient), true);
    });
  await closeAll(await openRelay());
  const idleBefore = await settledRss(pid);
  const idlePairs = pairs.slice(0, IDLE_SOCKETS / 2);
  const openStarted = performance.now();
  const idle = await inParallel(IDLE_SOCKETS, OPEN_CONCURRENCY, async (index) => {
    const pair = idlePairs[index >> 1]!;
    const connection = await connect(signalingUrl(port, pair), headersOf(port, index % 2 === 0 ? pair.doctor : pair.patient), true);
    if ((index + 1) % 1_000 === 0) console.log(`  … ${index + 1} sockets open after ${((performance.now() - openStarted) / 1000).toFixed(1)} s`);
    return connection;
  });
  const openSeconds = (performance.now() - openStarted) / 1000;
  const withSockets = await settledRss(pid);
  const alive = idle.filter((connection) => connection.ws.readyState === WebSocket.OPEN).length;
  if (alive !== IDLE_SOCKETS) throw new Error(`only ${alive} of ${IDLE_SOCKETS} sockets still open`);
  const added = withSockets - idleBefore;
  console.log(`  ${IDLE_SOCKETS} sockets opened in ${openSeconds.toFixed(1)} s (${(IDLE_SOCKETS / openSeconds).toFixed(0)} joins/s, each one gate decision); RSS ${idleBefore.toFixed(0)} → ${withSockets.toFixed(0)} MB`);
  report({
    name: 'signaling-idle-sockets',
    value: added,
    unit: 'MB',
    baseline: 'server RSS before the sockets (MB)',
    baselineValue: idleBefore,
    goal: { on: 'value', op: '<=', target: 512 },
    database: DATABASE,
    notes: `${IDLE_SOCKETS} idle authenticated sockets add ${added.toFixed(0)} MB = ${((added * 1024) / IDLE_SOCKETS).toFixed(1)} KB per socket; process total ${withSockets.toFixed(0)} MB`,
  });
  await closeAll(idle);

  // (b) Relay against a raw ws echo.
  const echoPort = await freePort();
  const echo = await startEchoServer(echoPort, database.config.signaling.maxMessageBytes);
  try {
    const relayConnections = await openRelay();
    // Sender i's partner is the other participant of its consultation.
    const relay: Rig = { senders: relayConnections, receivers: relayConnections.map((_, i) => relayConnections[i ^ 1]!) };
    const echoConnections = await inParallel(RELAY_PAIRS * 2, 8, () => connect(`ws://127.0.0.1:${echoPort}`, {}, false));
    const raw: Rig = { senders: echoConnections, receivers: echoConnections };
    // The peer-joined frames of the relay connections are behind us once a round trip has gone through.
    await latency(relay, 200, 500);

    const rate = (result: PhaseResult) => (result.delivered * 1000) / result.elapsedMs;
    await throughput(relay, WARMUP_MS);
    await throughput(raw, WARMUP_MS);
    const totals = { relay: { delivered: 0, ms: 0 }, raw: { delivered: 0, ms: 0 } };
    const cpu = { relay: 0, raw: 0 };
    const cpuOf = (which: 'relay' | 'raw') => (which === 'relay' ? server.cpuSeconds() : cpuSecondsOf(echo.pid!));
    for (const which of THROUGHPUT_ORDER) {
      const cpuBefore = cpuOf(which);
      const result = await throughput(which === 'relay' ? relay : raw, PHASE_MS);
      cpu[which] += cpuOf(which) - cpuBefore;
      totals[which].delivered += result.delivered;
      totals[which].ms += result.elapsedMs;
      console.log(`  ${which.padEnd(5)} throughput ${rate(result).toFixed(0).padStart(7)} msg/s`);
    }
    const relayRate = (totals.relay.delivered * 1000) / totals.relay.ms;
    const rawRate = (totals.raw.delivered * 1000) / totals.raw.ms;

    const latencies = { relay: [] as number[], raw: [] as number[] };
    for (const which of ['relay', 'raw', 'raw', 'relay'] as const) {
      const result = await latency(which === 'relay' ? relay : raw, LATENCY_PHASE_MS, LATENCY_RATE);
      latencies[which].push(...result.latencies);
      console.log(`  ${which.padEnd(5)} at ${LATENCY_RATE} msg/s: p50 ${percentile(result.latencies, 0.5).toFixed(2)} ms, p99 ${percentile(result.latencies, 0.99).toFixed(2)} ms (${result.delivered} delivered)`);
    }
    const p99 = { relay: percentile(latencies.relay, 0.99), raw: percentile(latencies.raw, 0.99) };
    const frameBytes = Buffer.byteLength(frameOf(49, 123_456));

    report({
      name: 'signaling-relay-rate',
      value: relayRate,
      unit: 'msg/s',
      baseline: 'raw ws echo msg/s',
      baselineValue: rawRate,
      goal: { on: 'ratio', op: '>=', target: 0.5 },
      database: DATABASE,
      notes: `${RELAY_PAIRS * 2} connections, ${WINDOW} frames in flight each, ${frameBytes}-byte candidate frames; server CPU per message: relay ${((cpu.relay * 1e6) / totals.relay.delivered).toFixed(1)} µs, echo ${((cpu.raw * 1e6) / totals.raw.delivered).toFixed(1)} µs`,
    });
    report({
      name: 'signaling-relay-p99-added',
      value: p99.relay - p99.raw,
      unit: 'ms',
      baseline: 'raw ws echo p99 (ms)',
      baselineValue: p99.raw,
      ratio: p99.relay / p99.raw,
      goal: { on: 'value', op: '<=', target: 1 },
      database: DATABASE,
      notes: `one delivery (send → receipt by the other participant / by the sender for the echo) at ${LATENCY_RATE} msg/s offered; relay p50 ${percentile(latencies.relay, 0.5).toFixed(2)} ms p99 ${p99.relay.toFixed(2)} ms, echo p50 ${percentile(latencies.raw, 0.5).toFixed(2)} ms p99 ${p99.raw.toFixed(2)} ms`,
    });
    await closeAll([...relayConnections, ...echoConnections]);
  } finally {
    echo.kill('SIGTERM');
  }
});
