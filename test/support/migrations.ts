// For tests of one migration: an empty database of TEST_DB's kind (on PostgreSQL a schema of its own,
// dropped afterwards; else PGlite in memory) and a migrator over our migrations, to migrate up to the one
// before, write what it must carry over, then apply it.
import { randomBytes } from 'node:crypto';
import { Migrator, sql } from 'kysely';
import { afterAll, beforeAll } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../src/kernel/db.js';
import { migrationProvider } from '../../src/kernel/migrations/index.js';

export interface MigrationDatabase {
  handle: DatabaseHandle;
  migrator: Migrator;
}

/** Registers the hooks that open and drop the database; call the result inside a test. */
export function emptyDatabaseForMigrations(): () => MigrationDatabase {
  const onPostgres = process.env['TEST_DB'] === 'postgres';
  const schema = onPostgres ? `m_${randomBytes(6).toString('hex')}` : 'public';
  let handle: DatabaseHandle | undefined;
  beforeAll(async () => {
    handle = await openDatabase({ url: onPostgres ? (process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test') : null, pgliteDir: 'memory://', ...(onPostgres ? { schema } : {}) });
  });
  afterAll(async () => {
    if (handle && onPostgres) await sql`DROP SCHEMA ${sql.id(schema)} CASCADE`.execute(handle.db);
    await handle?.close();
  });
  return () => {
    if (!handle) throw new Error('the migration test database is opened by beforeAll');
    return { handle, migrator: new Migrator({ db: handle.db, provider: migrationProvider, migrationTableSchema: handle.schema }) };
  };
}
