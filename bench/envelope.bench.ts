// databases: pglite
// envelope: what encryption at rest costs documents (DESIGN invariant 3).
// (a) envelope-stream-encrypt: MB per CPU second of the STREAM encryption (src/kernel/envelope-stream.ts,
//     a Node Transform fed 64 KiB pieces through pipeline()) against raw AES-256-GCM over the same 64 KiB
//     chunks (createCipheriv, update, final, getAuthTag per chunk, in a plain loop). In this process, on
//     its CPU time (the wall-clock ratio is printed too). Goal: ratio >= 0.8.
// (b) envelope-upload-100mb: MB/s (median of 5) of a 100 MiB POST /api/consultations/:id/documents through the real
//     server (child process, PGlite): session, participation, gate, magic bytes, size limit, encryption,
//     fsync'd blob, row; against the same body stored unencrypted by a bare node:http child
//     (bench/support/plain-upload-server.ts: temporary file, fsync, rename), alternated. Goal: ratio >= 0.7.
// (c) envelope-upload-rss-growth: the server's resident memory during those uploads (VmRSS sampled
//     every 20 ms; peak minus the level just before), against the plain server's. Goal: < 32 MB —
//     streamed, never buffered whole (a buffered upload would add ~100 MB or more).
import { spawn } from 'node:child_process';
import { createCipheriv, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { decryptStream, encryptStream } from '../src/kernel/envelope-stream.js';
import { freePort } from '../test/support/server.js';
import { report } from './report.js';
import { send, sleep } from './support/load.js';
import { cpuSecondsOf, DATABASE, prepareDatabase, REPO_ROOT, rssMbOf, startServer, withServer } from './support/server.js';

const CHUNK = 64 * 1024;
const MIB = 1024 * 1024;

// --- (a) In-process streaming encryption ---------------------------------------------------------------
const STREAM_DATA_BYTES = 64 * MIB;
const STREAM_PHASE_MS = 2_000;

const data = randomBytes(STREAM_DATA_BYTES);
const pieces = Array.from({ length: STREAM_DATA_BYTES / CHUNK }, (_, i) => data.subarray(i * CHUNK, (i + 1) * CHUNK));
const key = randomBytes(32);

async function envelopePass(): Promise<void> {
  await pipeline(Readable.from(pieces), encryptStream(key, 'documents/bench'), new Writable({ write: (_chunk, _encoding, done) => done() }));
}

async function rawPass(): Promise<void> {
  const prefix = randomBytes(7);
  let sink = 0;
  for (const [counter, piece] of pieces.entries()) {
    const nonce = Buffer.alloc(12);
    prefix.copy(nonce);
    nonce.writeUInt32BE(counter, 7);
    const cipher = createCipheriv('aes-256-gcm', key, nonce);
    sink += cipher.update(piece).length + cipher.final().length + cipher.getAuthTag().length;
  }
  if (sink === 0) throw new Error('nothing encrypted');
}

let sealedSample: Buffer | null = null;
async function decryptPass(): Promise<void> {
  if (!sealedSample) {
    const parts: Buffer[] = [];
    await pipeline(Readable.from(pieces), encryptStream(key, 'documents/bench'), new Writable({ write: (chunk: Buffer, _encoding, done) => (parts.push(chunk), done()) }));
    sealedSample = Buffer.concat(parts);
  }
  const sealed = sealedSample;
  const sealedPieces = Array.from({ length: Math.ceil(sealed.length / CHUNK) }, (_, i) => sealed.subarray(i * CHUNK, (i + 1) * CHUNK));
  await pipeline(Readable.from(sealedPieces), decryptStream(key, 'documents/bench'), new Writable({ write: (_chunk, _encoding, done) => done() }));
}

interface Throughput {
  bytes: number;
  wallSeconds: number;
  cpuSeconds: number;
}

/**
 * Repeated passes over the data for at least `ms`. Both clocks are kept: wall time, and this process's
 * CPU time (user + system), which other processes on the shared machine disturb far less.
 */
async function throughput(pass: () => Promise<void>, ms: number): Promise<Throughput> {
  let bytes = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  while (performance.now() - started < ms) {
    await pass();
    bytes += STREAM_DATA_BYTES;
  }
  const cpu = process.cpuUsage(cpuBefore);
  return { bytes, wallSeconds: (performance.now() - started) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

const perCpuSecond = (runs: Throughput[]) => runs.reduce((sum, r) => sum + r.bytes, 0) / MIB / runs.reduce((sum, r) => sum + r.cpuSeconds, 0);
const perWallSecond = (runs: Throughput[]) => runs.reduce((sum, r) => sum + r.bytes, 0) / MIB / runs.reduce((sum, r) => sum + r.wallSeconds, 0);

const ORDER = ['envelope', 'raw', 'raw', 'envelope', 'raw', 'envelope', 'envelope', 'raw'] as const;
console.log(`envelope (a): ${STREAM_DATA_BYTES / MIB} MiB in 64 KiB pieces; warm-up, then ${ORDER.map((w) => (w === 'envelope' ? 'A' : 'B')).join(' ')} × ${STREAM_PHASE_MS} ms`);
await throughput(envelopePass, 500);
await throughput(rawPass, 500);
const streamed = { envelope: [] as Throughput[], raw: [] as Throughput[] };
for (const which of ORDER) {
  const run = await throughput(which === 'envelope' ? envelopePass : rawPass, STREAM_PHASE_MS);
  streamed[which].push(run);
  console.log(`  ${which.padEnd(9)} ${perCpuSecond([run]).toFixed(0).padStart(5)} MB per CPU second, ${perWallSecond([run]).toFixed(0).padStart(5)} MB/s wall clock`);
}
const decryption = await throughput(decryptPass, STREAM_PHASE_MS);
report({
  name: 'envelope-stream-encrypt',
  value: perCpuSecond(streamed.envelope),
  unit: 'MB/s (per CPU second)',
  baseline: 'raw AES-256-GCM, same 64 KiB chunks (MB per CPU second)',
  baselineValue: perCpuSecond(streamed.raw),
  goal: { on: 'ratio', op: '>=', target: 0.8 },
  notes:
    `wall clock: ${perWallSecond(streamed.envelope).toFixed(0)} vs ${perWallSecond(streamed.raw).toFixed(0)} MB/s → ${(perWallSecond(streamed.envelope) / perWallSecond(streamed.raw)).toFixed(3)}; ` +
    `decryption (STREAM, tags checked before release): ${perCpuSecond([decryption]).toFixed(0)} MB per CPU second`,
});

// --- (b), (c) A 100 MiB upload through the real server, and through a plain one ----------------------
const UPLOAD_BYTES = 100 * MIB;
const BLOCK = randomBytes(MIB);
Buffer.from('%PDF-1.7\n').copy(BLOCK);

/** The upload's body, produced as it is sent (64 KiB pieces of a repeated random MiB): never held whole. */
function body(total: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) return this.push(null);
      const offset = sent % MIB;
      const piece = BLOCK.subarray(offset, offset + Math.min(CHUNK, total - sent));
      sent += piece.length;
      this.push(piece);
    },
  });
}

interface UploadResult {
  ms: number;
  rssBefore: number;
  rssPeak: number;
  /** The server's CPU seconds during the upload. */
  cpu: number;
}

async function timedUpload(port: number, path: string, headers: Record<string, string>, pid: number, total: number): Promise<UploadResult> {
  const rssBefore = rssMbOf(pid);
  let rssPeak = rssBefore;
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, rssMbOf(pid));
  }, 20);
  const cpuBefore = cpuSecondsOf(pid);
  const started = performance.now();
  try {
    const status = await new Promise<number>((resolve, reject) => {
      const request = http.request(
        { host: '127.0.0.1', port, path, method: 'POST', headers: { ...headers, 'content-type': 'application/pdf', 'content-length': String(total) } },
        (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () => (response.statusCode === 201 ? resolve(201) : reject(new Error(`upload answered ${response.statusCode}: ${text}`))));
        },
      );
      request.on('error', reject);
      body(total).pipe(request);
    });
    if (status !== 201) throw new Error('upload failed');
    return { ms: performance.now() - started, rssBefore, rssPeak: Math.max(rssPeak, rssMbOf(pid)), cpu: cpuSecondsOf(pid) - cpuBefore };
  } finally {
    clearInterval(sampler);
  }
}

/** Removes stored files between uploads, so the disk does not fill up. */
async function emptyDirectory(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])) {
    if (entry.isFile()) await rm(join(entry.parentPath, entry.name), { force: true });
  }
}

const { database, seeded } = await prepareDatabase(DATABASE, async (services) => {
  const { db } = services;
  const organisation = randomUUID();
  const doctor = randomUUID();
  const patient = randomUUID();
  const consultation = randomUUID();
  const relationship = randomUUID();
  const now = new Date();
  await db.insertInto('organisations').values({ id: organisation, name: 'Bench practice', finess: null }).execute();
  await db
    .insertInto('users')
    .values([
      { id: doctor, email: 'doctor@bench.test', display_name: 'Dr Bench', password_hash: 'x', rpps: '10000000001', profession: 'doctor', password_changed_at: now },
      { id: patient, email: 'patient@bench.test', display_name: 'Patient Bench', password_hash: 'x', rpps: null, profession: null, password_changed_at: now },
    ])
    .execute();
  await db
    .insertInto('member_roles')
    .values([
      { organisation_id: organisation, user_id: doctor, role: 'doctor' },
      { organisation_id: organisation, user_id: patient, role: 'patient' },
    ])
    .execute();
  await db.insertInto('care_relationships').values({ id: relationship, patient_id: patient, professional_id: doctor, organisation_id: organisation, kind: 'consultation', starts_at: now, ends_at: null, created_by: doctor }).execute();
  await db
    .insertInto('consultations')
    .values({ id: consultation, organisation_id: organisation, doctor_id: doctor, patient_id: patient, starts_at: now, ends_at: new Date(now.getTime() + 3_600_000), mode: 'video', status: 'in_progress', booked_by: patient, booked_at: now, pathway_role: 'attending_doctor', relationship_id: relationship })
    .execute();
  // The doctor's session, second factor proven, as after a login with TOTP.
  const { token, session } = await services.sessions.create(db, { userId: doctor, secondFactorPending: false, secondFactorVerified: true, sourceAddress: '127.0.0.1', userAgent: 'bench' });
  return { consultation, token, csrf: session.csrfToken };
});

const plainDir = await mkdtemp(join(tmpdir(), 'ausculta-bench-plain-'));
const plainPort = await freePort();
const plain = spawn(process.execPath, ['--import', 'tsx', 'bench/support/plain-upload-server.ts'], {
  cwd: REPO_ROOT,
  env: { ...process.env, PORT: String(plainPort), PLAIN_UPLOAD_DIR: plainDir },
  stdio: ['ignore', 'inherit', 'inherit'],
});
const plainExited = new Promise<void>((resolve) => plain.once('exit', () => resolve()));
const server = await startServer({ env: { ...database.env, DOCUMENT_MAX_MB: '128', LOG_LEVEL: 'warn' }, cpuProfileName: 'envelope' });

try {
  await withServer(server, database, async ({ port, pid }) => {
    for (let i = 0; ; i++) {
      const ready = await send(new http.Agent(), { port: plainPort, path: '/api/ping' }).then((reply) => reply.status === 200, () => false);
      if (ready) break;
      if (i > 300) throw new Error('plain upload server not ready');
      await sleep(100);
    }
    const blobDir = join(database.dataDir, 'blobs');
    const encrypted = (total: number) =>
      timedUpload(port, `/api/consultations/${seeded.consultation}/documents`, { cookie: `ausculta_session=${seeded.token}`, 'x-csrf-token': seeded.csrf, 'x-file-name': 'bilan.pdf' }, pid, total).finally(() => emptyDirectory(blobDir));
    const unencrypted = (total: number) => timedUpload(plainPort, '/upload', {}, plain.pid!, total).finally(() => emptyDirectory(plainDir));

    const order = ['encrypted', 'plain', 'plain', 'encrypted', 'encrypted', 'plain', 'plain', 'encrypted', 'encrypted', 'plain'] as const;
    console.log(`envelope (b): ${UPLOAD_BYTES / MIB} MiB uploads, server on ${DATABASE}; warm-up 10 MiB each, then ${order.map((w) => (w === 'encrypted' ? 'A' : 'B')).join(' ')}; medians`);
    await encrypted(10 * MIB);
    await unencrypted(10 * MIB);
    const runs = { encrypted: [] as UploadResult[], plain: [] as UploadResult[] };
    for (const which of order) {
      await sleep(300);
      const result = await (which === 'encrypted' ? encrypted : unencrypted)(UPLOAD_BYTES);
      runs[which].push(result);
      console.log(`  ${which.padEnd(9)} ${((UPLOAD_BYTES / MIB) / (result.ms / 1000)).toFixed(0).padStart(5)} MB/s  (${(result.ms / 1000).toFixed(2)} s, server CPU ${result.cpu.toFixed(2)} s; RSS ${result.rssBefore.toFixed(0)} → peak ${result.rssPeak.toFixed(0)} MB)`);
    }
    // The median upload: one upload slowed down by another process on the shared machine weighs nothing.
    const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const rate = (results: UploadResult[]) => median(results.map((r) => UPLOAD_BYTES / MIB / (r.ms / 1000)));
    const cpuPerUpload = (results: UploadResult[]) => median(results.map((r) => r.cpu));
    const growth = (results: UploadResult[]) => Math.max(...results.map((r) => r.rssPeak - r.rssBefore));
    report({
      name: 'envelope-upload-100mb',
      value: rate(runs.encrypted),
      unit: 'MB/s',
      baseline: '100 MiB stored unencrypted by a bare node:http server (MB/s)',
      baselineValue: rate(runs.plain),
      goal: { on: 'ratio', op: '>=', target: 0.7 },
      database: DATABASE,
      notes: `server CPU per upload: ${cpuPerUpload(runs.encrypted).toFixed(2)} s (Fastify, session, gate, checks, encryption, fsync, row) vs ${cpuPerUpload(runs.plain).toFixed(2)} s (bare node:http, fsync)`,
    });
    report({
      name: 'envelope-upload-rss-growth',
      value: growth(runs.encrypted),
      unit: 'MB',
      baseline: 'plain upload server RSS growth (MB)',
      baselineValue: Math.max(growth(runs.plain), 0.1),
      goal: { on: 'value', op: '<', target: 32 },
      database: DATABASE,
      notes: `server RSS before the uploads ${Math.min(...runs.encrypted.map((r) => r.rssBefore)).toFixed(0)} MB; peak during ${Math.max(...runs.encrypted.map((r) => r.rssPeak)).toFixed(0)} MB`,
    });
  });
} finally {
  plain.kill('SIGTERM');
  await plainExited;
  await rm(plainDir, { recursive: true, force: true });
}
