// Shared by the audit-* benchmarks: a fresh database (bench/support/server.ts prepareDatabase, so the
// log key and migrations are the real ones) reopened in this process with openDatabase, a LogIntegrator
// on it, and fillLog: a log of n integrated entries (leaves by INSERT … SELECT generate_series with their
// leaf data formatted as leafDataOf writes it and hashed by PostgreSQL, the tree's tiles built in this
// process, checkpoints signed with the log key). bulkAppend / integrateAll
// are the older path (pending entries, then the real integrator), kept for benchmarks of integration.
import { sql } from 'kysely';
import pg from 'pg';
import { openDatabase, pgliteDirFor, type DatabaseHandle, type Db } from '../../src/kernel/db.js';
import { signCheckpoint } from '../../src/audit/checkpoint.js';
import { LogIntegrator } from '../../src/audit/integrator.js';
import { Frontier } from '../../src/audit/merkle.js';
import { TileBuilder, writeTiles } from '../../src/audit/tiles.js';
import { TreeRebuild } from '../../src/audit/verify.js';
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

/** The generated access entries i in [from, to], as one SELECT (leaf data as leafDataOf formats it). */
function generatedEntries(from: number, to: number) {
  return sql`
    SELECT at, 'access' AS kind, 'record.read' AS type, 'allowed' AS outcome, actor, 'doctor' AS actor_role, patient, organisation,
      'record' AS resource_type, resource, 'care' AS purpose, NULL::text AS reason, request, '127.0.0.1' AS source_address,
      '{"reason":"granted"}'::jsonb AS detail, data, i
    FROM (
      SELECT at, actor, patient, organisation, resource, request, i,
        '{"v":1,"kind":"access","type":"record.read","outcome":"allowed","at":"' || to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
        || '","actor":"' || actor || '","actorRole":"doctor","subject":null,"patient":"' || patient || '","organisation":"' || organisation
        || '","resourceType":"record","resourceId":"' || resource || '","purpose":"care","reason":null,"requestId":"' || request
        || '","sourceAddress":"127.0.0.1","detail":{"reason":"granted"}}' AS data
      FROM (
        SELECT ${FILL_EPOCH}::timestamptz + i * interval '1 millisecond' AS at,
          md5('actor' || (i % 500))::uuid AS actor,
          md5('patient' || (i % 20000))::uuid AS patient,
          md5('organisation')::uuid AS organisation,
          md5('resource' || i)::uuid::text AS resource,
          'req-' || md5('request' || i) AS request,
          i
        FROM generate_series(${from}::bigint, ${to}::bigint) AS i
      ) generated
    ) built`;
}

export interface FillTimes {
  size: number;
  /** Entries inserted (secondary indexes dropped meanwhile), their leaf hashes returned. */
  appendMs: number;
  /** Secondary indexes of audit_entries rebuilt. */
  indexMs: number;
  /** Tree rebuilt in this process and its tiles written. */
  treeMs: number;
  /** Checkpoints signed, state written, statistics (VACUUM ANALYZE / ANALYZE). */
  finishMs: number;
}

/**
 * The log of `count` integrated entries, as the integrator would have left it, without going through
 * it (its per-batch UPDATE of leaf indexes is what made 10^6 slow):
 * - the secondary indexes of audit_entries are dropped and rebuilt afterwards from their own definitions
 *   (CREATE INDEX on a full table is much cheaper than maintaining five indexes row by row);
 * - each chunk of `checkpointEvery` generated entries is inserted with its leaf index by one statement,
 *   which returns the leaf hashes (computed by the database from the leaf bytes);
 * - the tree is rebuilt from them a chunk at a time (TreeRebuild, as the integrity check does) and its
 *   tiles written as the integrator writes them (TileBuilder, writeTiles);
 * - a checkpoint at the end of each chunk (signed with the log key) and the log state (frontier).
 * Nothing here is trusted by the figures: verifyLog recomputes every hash, tile and checkpoint root
 * from the leaf bytes, and the benchmark fails unless it reports the log intact.
 */
export async function fillLog(bench: AuditBenchDatabase, count: number, checkpointEvery = 50_000): Promise<FillTimes> {
  const { db } = bench;
  const started = performance.now();
  const state = await db.selectFrom('audit_log_state').select('size').where('id', '=', 1).executeTakeFirstOrThrow();
  const pending = await db.selectFrom('audit_entries').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  if (Number(state.size) !== 0 || Number(pending.n) !== 0) throw new Error('fillLog needs an empty log');

  const { rows: indexes } = await sql<{ name: string; definition: string; constraint: string | null }>`
    SELECT i.relname AS name, pg_get_indexdef(i.oid) AS definition, c.conname AS "constraint"
    FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
    LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid
    WHERE x.indrelid = 'audit_entries'::regclass AND NOT x.indisprimary`.execute(db);
  for (const index of indexes) {
    if (index.constraint) await sql`ALTER TABLE audit_entries DROP CONSTRAINT ${sql.id(index.constraint)}`.execute(db);
    else await sql`DROP INDEX ${sql.id(index.name)}`.execute(db);
  }
  const tree = new TreeRebuild();
  const tiles = new TileBuilder();
  let treeMs = 0;
  let checkpointMs = 0;
  for (let from = 0, k = 0; from < count; from += checkpointEvery, k++) {
    const to = Math.min(from + checkpointEvery, count);
    const { rows } = await sql<{ leaf_index: string | number; hash: string }>`
      INSERT INTO audit_entries (leaf_index, occurred_at, kind, type, outcome, actor_user_id, actor_role, patient_id, organisation_id,
        resource_type, resource_id, purpose, reason, request_id, source_address, detail, leaf_data)
      SELECT i, at, kind, type, outcome, actor, actor_role, patient, organisation, resource_type, resource, purpose, reason,
        request, source_address, detail, data
      FROM (${generatedEntries(from, to - 1)}) g
      ORDER BY i
      RETURNING leaf_index, encode(sha256('\\x00'::bytea || convert_to(leaf_data, 'UTF8')), 'hex') AS hash`.execute(db);
    const building = performance.now();
    const leaves = Buffer.alloc((to - from) * 32);
    for (const row of rows) leaves.write(row.hash, (Number(row.leaf_index) - from) * 32, 'hex');
    const { levels } = tree.append(leaves);
    for (const [level, nodes] of levels.entries()) tiles.add(level, Math.ceil((from + 1) / 2 ** level) - 1, nodes);
    await writeTiles(db, tiles.take(to === count, to === count));
    const signing = performance.now();
    treeMs += signing - building;
    const root = TreeRebuild.root(tree.carry)!;
    const note = signCheckpoint({ origin: bench.origin, size: to, rootHash: root }, bench.key);
    await db.insertInto('audit_checkpoints').values({ size: to, root_hash: root, note, created_at: new Date(Date.parse(FILL_EPOCH) + to + k) }).execute();
    checkpointMs += performance.now() - signing;
  }
  const appended = performance.now();
  for (const index of indexes) {
    if (index.constraint) {
      // pg_get_indexdef gives CREATE UNIQUE INDEX; the constraint is put back as a constraint.
      await sql`ALTER TABLE audit_entries ADD CONSTRAINT ${sql.id(index.constraint)} UNIQUE (leaf_index)`.execute(db);
    } else {
      await sql.raw(index.definition).execute(db);
    }
  }
  const indexed = performance.now();
  // The frontier: the perfect subtrees' roots, largest first.
  const frontier = { size: count, hashes: tree.carry.filter((h): h is Buffer => h !== null).reverse().map((h) => h.toString('hex')) };
  Frontier.fromJSON(frontier); // the integrator can go on from here
  await db.updateTable('audit_log_state').set({ size: count, frontier: JSON.stringify(frontier) }).where('id', '=', 1).execute();
  await sql`VACUUM ANALYZE audit_entries, audit_tree_tiles`.execute(db);
  return { size: count, appendMs: appended - started - treeMs - checkpointMs, indexMs: indexed - appended, treeMs, finishMs: performance.now() - indexed + checkpointMs };
}

export const DATABASE_KIND = DATABASE;
