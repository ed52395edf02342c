// The one database handle: PostgreSQL when DATABASE_URL is set, embedded PGlite otherwise.
// Same migrations and queries on both (DESIGN invariant 8).
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, Migrator, PostgresDialect, sql, type DatabaseIntrospector, type DatabaseMetadata, type SchemaMetadata, type TableMetadata, type Transaction } from 'kysely';
import pg from 'pg';
import { migrationProvider } from './migrations/index.js';
import { PGliteAdapter, PGliteDialect } from './pglite-dialect.js';
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
  pool.on('connect', preparingMarkedStatements); // before any connection is made: every one of them
  if (schema) await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  // The URL may choose the schema itself (…?options=-c search_path=x): migrations bookkeeping goes there too.
  const current = schema ?? (await pool.query<{ schema: string }>('SELECT current_schema() AS schema')).rows[0]?.schema ?? 'public';
  const db = new Kysely<Database>({ dialect: new PostgresDialectNamingTables({ pool }) });
  return { db, kind: 'postgres', schema: current, close: () => db.destroy() };
}

/**
 * PostgreSQL whose introspection gives what the migrator asks of it: schema names, and the names of
 * the tables in this connection's schemas. Kysely's own introspection reads every column of every
 * schema and fails ("schema … does not exist") while another schema of the same database is being
 * dropped — as tests do, one schema each, in parallel.
 */
class PostgresDialectNamingTables extends PostgresDialect {
  override createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new TableNamesIntrospector(db);
  }
}

class TableNamesIntrospector implements DatabaseIntrospector {
  constructor(private readonly db: Kysely<unknown>) {}

  async getSchemas(): Promise<SchemaMetadata[]> {
    const { rows } = await sql<{ name: string }>`SELECT nspname AS name FROM pg_catalog.pg_namespace`.execute(this.db);
    return rows;
  }

  async getTables(): Promise<TableMetadata[]> {
    const { rows } = await sql<{ schema: string; name: string; isView: boolean }>`
      SELECT n.nspname AS schema, c.relname AS name, c.relkind IN ('v', 'm') AS "isView"
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p', 'v', 'm') AND n.nspname = ANY (current_schemas(false))`.execute(this.db);
    return rows.map((row) => ({ ...row, columns: [] }));
  }

  async getMetadata(): Promise<DatabaseMetadata> {
    return { tables: await this.getTables() };
  }
}

/**
 * Put at the very start of a statement's text: on PostgreSQL it is sent as a named prepared statement,
 * parsed and planned once per connection instead of at every execution. For the few hot statements
 * whose planning costs more than their execution (the access gate's: a CTE with the facts function, the
 * conditional audit entry and a read, once per decision; measured in bench/README.md). Only statements
 * whose text takes a bounded number of shapes: each shape is kept on every connection. PGlite has one
 * connection and no named statements through its API: the marker is a comment there, nothing more.
 */
export const PREPARED = '/* prepared */ ';

/** Whether statements marked PREPARED are prepared on this database (PostgreSQL), or planned every time (PGlite). */
export function preparesStatements(q: Queryable): boolean {
  return !runsInProcess(q);
}

/** Whether the database runs in this process (PGlite): its work then takes this event loop's time, and every field it returns costs a parse here. */
export function runsInProcess(q: Queryable): boolean {
  return q.getExecutor().adapter instanceof PGliteAdapter;
}

/** A prepared statement's name: derived from its text, so one name never stands for two texts. */
const preparedName = (text: string) => `p_${createHash('sha256').update(text).digest('base64url').slice(0, 32)}`;

/** Shapes kept per connection at most: a text that varies with its input (an IN list) stops being prepared. */
const PREPARED_PER_CONNECTION = 256;

function preparingMarkedStatements(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  // Text → name of the shapes prepared on this connection: the hash is computed once per shape, not per execution.
  const names = new Map<string, string>();
  // Kysely calls query(text, values); anything else goes through untouched.
  (client as { query: unknown }).query = (...args: unknown[]) => {
    const [text, values] = args;
    if (args.length === 2 && typeof text === 'string' && text.startsWith(PREPARED) && Array.isArray(values)) {
      let name = names.get(text);
      if (name === undefined && names.size < PREPARED_PER_CONNECTION) names.set(text, (name = preparedName(text)));
      if (name !== undefined) return query({ name, text, values });
    }
    return query(...args);
  };
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
