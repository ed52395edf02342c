// Shared by the audit-* benchmarks: a fresh database (bench/support/server.ts prepareDatabase, so the
// log key and migrations are the real ones) reopened in this process with openDatabase, a LogIntegrator
// on it, and a fast bulk fill of the log: leaf rows inserted with INSERT … SELECT generate_series, their
// leaf data built in SQL exactly as leafDataOf formats it and their leaf hash computed by PostgreSQL,
// then integrated in large batches by the real integrator.
import { sql } from 'kysely';
import pg from 'pg';
import { openDatabase, pgliteDirFor, type DatabaseHandle, type Db } from '../../src/kernel/db.js';
import { LogIntegrator } from '../../src/audit/integrator.js';
import type { LogKey } from '../../src/audit/transparency.js';
import { sleep } from './load.js';
import { DATABASE, prepareDatabase, type PreparedDatabase } from './server.js';

export interface AuditBenchDatabase {
  database: PreparedDatabase;
  handle: DatabaseHandle;
  db: Db;
  key: LogKey;
  origin: string;
  /** A bare integrator (no incident detection): the one `createServices` builds adds detectIncidents. */
  integrator: LogIntegrator;
  close(): Promise<void>;
}

export async function openAuditBenchDatabase(poolSize: number): Promise<AuditBenchDatabase> {
  const { database, seeded } = await prepareDatabase(DATABASE, async (services) => ({ key: services.audit.key, origin: services.audit.origin }));
  let handle: DatabaseHandle;
  try {
    handle = await openDatabase({ url: database.env['DATABASE_URL'] ?? null, pgliteDir: pgliteDirFor(database.dataDir), poolSize });
  } catch (error) {
    await database.cleanup();
    throw error;
  }
  return {
    database,
    handle,
    db: handle.db,
    key: seeded.key,
    origin: seeded.origin,
    integrator: new LogIntegrator(handle.db, seeded.key, seeded.origin),
    async close() {
      await handle.close();
      // pg-pool's end() resolves before its sockets are closed: dropping the database WITH (FORCE) now
      // would terminate those backends and crash this process on an unhandled pool 'error'.
      if (database.kind === 'postgres') await connectionsGone(database.env['DATABASE_URL']!);
      await database.cleanup();
    },
  };
}

/** Waits (at most 3 s) until no backend of this database is left. */
async function connectionsGone(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    for (let i = 0; i < 30; i++) {
      const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1', [name]);
      if (Number(rows[0]?.n ?? 0) === 0) return;
      await sleep(100);
    }
  } finally {
    await client.end();
  }
}

const FILL_CHUNK = 100_000;
/** Epoch of the generated entries; entry i occurred i ms later. */
const FILL_EPOCH = '2026-01-05T08:00:00Z';

/**
 * Appends `count` access entries (leaf_index NULL, as appendAuditEntry leaves them) in chunks of
 * 100 000 rows per statement. 500 actors, 20 000 patients; the leaf data is the JSON leafDataOf
 * writes (same keys, same order, ~560 bytes), so verifyLog finds columns and data in agreement.
 */
export async function bulkAppend(db: Db, count: number, startAt = 0): Promise<void> {
  for (let from = startAt; from < startAt + count; from += FILL_CHUNK) {
    const to = Math.min(from + FILL_CHUNK, startAt + count) - 1;
    await sql`
      INSERT INTO audit_entries (occurred_at, kind, type, outcome, actor_user_id, actor_role, patient_id, organisation_id,
        resource_type, resource_id, purpose, reason, request_id, source_address, detail, leaf_data, leaf_hash)
      SELECT at, 'access', 'record.read', 'allowed', actor, 'doctor', patient, organisation, 'record', resource, 'care', NULL,
        request, '127.0.0.1', '{}'::jsonb, data, sha256('\\x00'::bytea || convert_to(data, 'UTF8'))
      FROM (
        SELECT at, actor, patient, organisation, resource, request,
          '{"v":1,"kind":"access","type":"record.read","outcome":"allowed","at":"' || to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
          || '","actor":"' || actor || '","actorRole":"doctor","subject":null,"patient":"' || patient || '","organisation":"' || organisation
          || '","resourceType":"record","resourceId":"' || resource || '","purpose":"care","reason":null,"requestId":"' || request
          || '","sourceAddress":"127.0.0.1","detail":{}}' AS data
        FROM (
          SELECT ${FILL_EPOCH}::timestamptz + i * interval '1 millisecond' AS at,
            md5('actor' || (i % 500))::uuid AS actor,
            md5('patient' || (i % 20000))::uuid AS patient,
            md5('organisation')::uuid AS organisation,
            md5('resource' || i)::uuid::text AS resource,
            'req-' || md5('request' || i) AS request
          FROM generate_series(${from}::bigint, ${to}::bigint) AS i
        ) generated
      ) built
      ORDER BY at`.execute(db);
  }
}

/** Integrates everything pending, `batch` leaves per integrator transaction; returns the tree size. */
export async function integrateAll(integrator: LogIntegrator, batch: number, maxMs: number): Promise<number> {
  const started = performance.now();
  for (;;) {
    const { integrated, size } = await integrator.integrate(batch);
    if (integrated === 0) return size;
    if (performance.now() - started > maxMs) throw new Error(`integration not finished after ${maxMs} ms (size ${size})`);
  }
}

/** Bulk append then integrate: the log of `count` entries, with the time of each step. */
export async function fillLog(bench: AuditBenchDatabase, count: number, batch: number, maxMs: number): Promise<{ size: number; appendMs: number; integrateMs: number }> {
  const started = performance.now();
  await bulkAppend(bench.db, count);
  const appended = performance.now();
  const size = await integrateAll(bench.integrator, batch, maxMs);
  if (size !== count) throw new Error(`log has ${size} leaves after the fill, expected ${count}`);
  if (bench.handle.kind === 'postgres') await sql`VACUUM ANALYZE audit_entries, audit_tree_nodes`.execute(bench.db);
  else await sql`ANALYZE`.execute(bench.db);
  return { size, appendMs: appended - started, integrateMs: performance.now() - appended };
}

export const DATABASE_KIND = DATABASE;
