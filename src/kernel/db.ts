// The one database handle: PostgreSQL when DATABASE_URL is set, embedded PGlite otherwise.
// Same migrations and queries on both (DESIGN invariant 8).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, Migrator, PostgresDialect, type Transaction } from 'kysely';
import pg from 'pg';
import { migrationProvider } from './migrations/index.js';
import { PGliteDialect } from './pglite-dialect.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;
/** Either the database or an open transaction: functions that write take this. */
export type Queryable = Db | Tx;

export interface DatabaseTarget {
  /** postgres://… or null for PGlite. */
  url: string | null;
  /** PGlite directory, or 'memory://' for tests. */
  pgliteDir: string;
  /** PostgreSQL schema to use (tests isolate themselves in one); default public. */
  schema?: string;
  poolSize?: number;
}

export interface DatabaseHandle {
  db: Db;
  kind: 'postgres' | 'pglite';
  /** The schema holding our tables (and the migration bookkeeping). */
  schema: string;
  close(): Promise<void>;
}

export async function openDatabase(target: DatabaseTarget): Promise<DatabaseHandle> {
  if (target.url) return openPostgres(target.url, target.schema, target.poolSize ?? 10);
  if (target.pgliteDir !== 'memory://') await mkdir(target.pgliteDir, { recursive: true });
  // 16 MB of shared buffers (PostgreSQL's default is 128 MB): the embedded default serves one
  // practice or a small centre, and its resident memory matters more than a large cache.
  const client = new PGlite(target.pgliteDir, { postgresqlconf: ['shared_buffers = 16MB'] });
  const db = new Kysely<Database>({ dialect: new PGliteDialect(client) });
  return { db, kind: 'pglite', schema: 'public', close: () => db.destroy() };
}

async function openPostgres(url: string, schema: string | undefined, max: number): Promise<DatabaseHandle> {
  if (schema && !/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`invalid schema name ${schema}`);
  const pool = new pg.Pool({
    connectionString: url,
    max,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  if (schema) await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  // The URL may choose the schema itself (…?options=-c search_path=x): migrations bookkeeping goes there too.
  const current = schema ?? (await pool.query<{ schema: string }>('SELECT current_schema() AS schema')).rows[0]?.schema ?? 'public';
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, kind: 'postgres', schema: current, close: () => db.destroy() };
}

export function pgliteDirFor(dataDir: string): string {
  return join(dataDir, 'pgdata');
}

/** Applies pending migrations; throws with the failing migration's name. */
export async function migrate(db: Db, schema = 'public'): Promise<string[]> {
  // Named explicitly: Kysely would otherwise take another schema's migration tables for ours.
  const migrator = new Migrator({ db, provider: migrationProvider, migrationTableSchema: schema });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((result) => result.status === 'Error');
    throw new Error(`migration ${failed?.migrationName ?? '?'} failed: ${String(error)}`, { cause: error });
  }
  return (results ?? []).filter((result) => result.status === 'Success').map((result) => result.migrationName);
}
