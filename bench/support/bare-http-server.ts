// The least any HTTP API over PostgreSQL can do, for the FHIR benchmark's floors (fhir.bench.ts): a bare
// `node:http` server — no framework, no session, no gate, no audit — that answers each request with the
// same statement the raw baseline sends (the primary-key SELECT of an observation, or its single-row
// INSERT) on a pool of 8 connections, prepared, and a JSON reply. What separates its rate from the raw
// one is the HTTP exchange and a second process on the event loop's path; no API can be cheaper. And
// `/read-traced`: the same read preceded, in its statement, by the durable write of an audit row — the
// least a read can cost under DESIGN invariant 2.
// Started by startServer({ script }) with DATABASE_URL and PORT; listens on 127.0.0.1 only.
import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env['DATABASE_URL'], max: 8 });
const COLUMNS = 'id, patient_id, author_id, encounter_id, kind, code, value, value2, unit, effective_at, recorded_at';
const READ = `SELECT ${COLUMNS} FROM observations WHERE id = $1`;
const INSERT = `INSERT INTO observations (${COLUMNS}) VALUES ($1, $2, $3, NULL, $4, $5, $6, NULL, $7, $8, $9)`;
// The read with the least a durable trace costs: one audit row (its leaf data and hash made here) written
// by the statement that reads, in one autocommit transaction, the row returned only if the entry was
// written. No owner lookup, no facts, no decision: below what any gated read can do.
const TRACED_READ = `WITH entry AS (
    INSERT INTO audit_entries (occurred_at, kind, type, outcome, actor_user_id, patient_id, resource_type, resource_id, purpose, request_id, source_address, detail, leaf_data, leaf_hash)
    VALUES ($2, 'access', 'record.read', 'allowed', $3, NULL, 'Observation', $1, 'care', $4, '127.0.0.1', '{}', $5, $6) RETURNING id)
  SELECT ${COLUMNS} FROM observations WHERE id = $1::uuid AND EXISTS (SELECT 1 FROM entry)`;

// `/create-traced`: the raw INSERT in one autocommit statement with the INSERT of its audit row.
const TRACED_INSERT = `WITH entry AS (
    INSERT INTO audit_entries (occurred_at, kind, type, outcome, actor_user_id, patient_id, resource_type, resource_id, purpose, request_id, source_address, detail, leaf_data, leaf_hash)
    VALUES ($9, 'access', 'record.write', 'allowed', $3, $2, 'Observation', $1::text, 'care', $10, '127.0.0.1', '{}', $11, $12) RETURNING id)
  INSERT INTO observations (${COLUMNS}) SELECT $1::uuid, $2, $3, NULL, $4, $5, $6, NULL, $7, $8, $9 FROM entry`;
// `/read-traced-batched`: the same, with the reads that arrive while a statement is running written and
// read together by the next one (group commit: one statement and one WAL flush for several reads).
const TRACED_READS = `WITH entry AS (
    INSERT INTO audit_entries (occurred_at, kind, type, outcome, actor_user_id, patient_id, resource_type, resource_id, purpose, request_id, source_address, detail, leaf_data, leaf_hash)
    SELECT r.at, 'access', 'record.read', 'allowed', r.actor, NULL, 'Observation', r.id, 'care', r.request_id, '127.0.0.1', '{}', r.data, r.hash
    FROM unnest($1::text[], $2::timestamptz[], $3::uuid[], $4::text[], $5::text[], $6::bytea[]) AS r(id, at, actor, request_id, data, hash) RETURNING resource_id)
  SELECT ${COLUMNS} FROM observations WHERE id = ANY($1::uuid[]) AND id::text IN (SELECT resource_id FROM entry)`;
interface PendingRead {
  id: string;
  actor: string;
  at: Date;
  requestId: string;
  leaf: { data: string; hash: Buffer };
  done: (row: unknown) => void;
  failed: (error: unknown) => void;
}
let waiting: PendingRead[] = [];
let running = false;

function readTogether(): void {
  if (running || waiting.length === 0) return;
  const batch = waiting;
  waiting = [];
  running = true;
  pool
    .query({ name: 'read-traced-batched', text: TRACED_READS, values: [batch.map((r) => r.id), batch.map((r) => r.at), batch.map((r) => r.actor), batch.map((r) => r.requestId), batch.map((r) => r.leaf.data), batch.map((r) => r.leaf.hash)] })
    .then(
      ({ rows }) => {
        const byId = new Map(rows.map((row: { id: string }) => [row.id, row]));
        for (const read of batch) read.done(byId.get(read.id));
      },
      (error: unknown) => batch.forEach((read) => read.failed(error)),
    )
    .finally(() => {
      running = false;
      readTogether();
    });
}

function leafOf(observationId: string, actor: string, at: Date, requestId: string): { data: string; hash: Buffer } {
  const data = JSON.stringify({ v: 1, kind: 'access', type: 'record.read', outcome: 'allowed', at: at.toISOString(), actor, resourceType: 'Observation', resourceId: observationId, requestId, sourceAddress: '127.0.0.1' });
  return { data, hash: createHash('sha256').update(Buffer.of(0)).update(data).digest() };
}

/** A traced request's own parts: when, its request id, and its audit leaf. */
function tracing(resourceId: string, actor: string): { at: Date; requestId: string; leaf: { data: string; hash: Buffer } } {
  const at = new Date();
  const requestId = randomUUID();
  return { at, requestId, leaf: leafOf(resourceId, actor, at, requestId) };
}

async function bodyOf(request: http.IncomingMessage): Promise<Record<string, string>> {
  let text = '';
  for await (const chunk of request) text += String(chunk);
  return JSON.parse(text) as Record<string, string>;
}

const found = (row: unknown) => (row ? { status: 200, body: row } : { status: 404, body: {} });

async function answer(request: http.IncomingMessage): Promise<{ status: number; body: unknown }> {
  const url = new URL(request.url ?? '/', 'http://127.0.0.1');
  const id = url.searchParams.get('id') ?? '';
  const actor = url.searchParams.get('actor') ?? '';
  const route = `${request.method ?? ''} ${url.pathname}`;
  if (route === 'GET /api/ping') return { status: 200, body: { ok: true } };
  if (route === 'GET /read') return found((await pool.query({ name: 'read', text: READ, values: [id] })).rows[0]);
  if (route === 'GET /read-traced') {
    const { at, requestId, leaf } = tracing(id, actor);
    return found((await pool.query({ name: 'read-traced', text: TRACED_READ, values: [id, at, actor, requestId, leaf.data, leaf.hash] })).rows[0]);
  }
  if (route === 'GET /read-traced-batched') {
    const traced = tracing(id, actor);
    return found(
      await new Promise((done, failed) => {
        waiting.push({ id, actor, ...traced, done, failed });
        queueMicrotask(readTogether);
      }),
    );
  }
  if (route === 'POST /create' || route === 'POST /create-traced') {
    const row = await bodyOf(request);
    const values = [row['id'], row['patient_id'], row['author_id'], row['kind'], row['code'], row['value'], row['unit'], row['effective_at']];
    if (route === 'POST /create') await pool.query({ name: 'insert', text: INSERT, values: [...values, new Date()] });
    else {
      const { at, requestId, leaf } = tracing(row['id'] ?? '', row['author_id'] ?? '');
      const { rowCount } = await pool.query({ name: 'insert-traced', text: TRACED_INSERT, values: [...values, at, requestId, leaf.data, leaf.hash] });
      if (rowCount !== 1) throw new Error('not written');
    }
    return { status: 201, body: row };
  }
  return { status: 404, body: {} };
}

const server = http.createServer((request, response) => {
  answer(request).then(
    ({ status, body }) => {
      const text = JSON.stringify(body);
      response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      response.end(text);
    },
    (error: unknown) => {
      response.writeHead(500, { 'content-type': 'text/plain' });
      response.end(String(error));
    },
  );
});
// The benchmark's phases pause a connection for longer than Node's 5 s default.
server.keepAliveTimeout = 120_000;
server.listen(Number(process.env['PORT']), '127.0.0.1');
process.on('SIGTERM', () => {
  server.close();
  void pool.end();
});
