// Statements marked PREPARED: on PostgreSQL, named prepared statements, at most a bounded number of shapes
// per connection (a text that keeps changing falls back to unnamed statements, and still answers); on
// PGlite the marker is only a comment.
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { openDatabase, PREPARED, preparesStatements } from './db.js';

const onPostgres = process.env['TEST_DB'] === 'postgres';

describe('PREPARED statements', () => {
  it.runIf(onPostgres)('are named prepared statements on PostgreSQL, at most 256 shapes per connection', async () => {
    const schema = `d_${randomBytes(6).toString('hex')}`;
    const handle = await openDatabase({ url: process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test', pgliteDir: 'memory://', schema, poolSize: 1 });
    try {
      expect(preparesStatements(handle.db)).toBe(true);
      expect(preparesStatements(handle.db.withPlugin({ transformQuery: (args) => args.node, transformResult: async (args) => args.result }))).toBe(true);
      const preparedCount = async () => (await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement LIKE '/* prepared */%'`.execute(handle.db)).rows[0]!.n;
      // One shape, run three times: one prepared statement.
      for (let i = 0; i < 3; i++) {
        const { rows } = await sql<{ x: number }>`${sql.raw(PREPARED)}SELECT ${i}::int + 1 AS x`.execute(handle.db);
        expect(rows[0]?.x).toBe(i + 1);
      }
      expect(await preparedCount()).toBe(1);
      // 300 shapes: the first 256 are kept, the others are answered unnamed.
      for (let shape = 0; shape < 300; shape++) {
        const { rows } = await sql<{ x: number }>`${sql.raw(`${PREPARED}SELECT ${shape} + `)}${1}::int AS x`.execute(handle.db);
        expect(rows[0]?.x).toBe(shape + 1);
      }
      expect(await preparedCount()).toBe(256);
      // An unmarked statement is never prepared.
      await sql`SELECT ${1}::int AS x`.execute(handle.db);
      expect(await preparedCount()).toBe(256);
    } finally {
      await sql`DROP SCHEMA ${sql.id(schema)} CASCADE`.execute(handle.db);
      await handle.close();
    }
  });

  it('are plain statements on PGlite (the marker is a comment)', async () => {
    const handle = await openDatabase({ url: null, pgliteDir: 'memory://' });
    try {
      expect(preparesStatements(handle.db)).toBe(false);
      await handle.db.transaction().execute(async (tx) => expect(preparesStatements(tx)).toBe(false));
      const { rows } = await sql<{ x: number }>`${sql.raw(PREPARED)}SELECT ${41}::int + 1 AS x`.execute(handle.db);
      expect(rows[0]?.x).toBe(42);
    } finally {
      await handle.close();
    }
  });
});

describe('migrations beside other schemas', () => {
  // Tests run in parallel, one schema each: Kysely's own introspection (every column of every schema)
  // failed with "schema … does not exist" when another schema was dropped meanwhile (6 rounds in 15 here).
  it.runIf(onPostgres)('find their tables while other schemas of the database are being dropped', async () => {
    const url = process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
    const schema = `d_${randomBytes(6).toString('hex')}`;
    const handle = await openDatabase({ url, pgliteDir: 'memory://', schema, poolSize: 2 });
    const other = await openDatabase({ url, pgliteDir: 'memory://', poolSize: 4 });
    try {
      await sql`CREATE TABLE ${sql.id(schema, 'mine')} (id int)`.execute(handle.db);
      for (let round = 0; round < 10; round++) {
        const doomed = Array.from({ length: 6 }, () => `x_${randomBytes(6).toString('hex')}`);
        for (const name of doomed) await sql.raw(`CREATE SCHEMA ${name}; CREATE TABLE ${name}.t (id serial PRIMARY KEY, a text)`).execute(other.db);
        const drops = Promise.all(doomed.map((name) => sql.raw(`DROP SCHEMA ${name} CASCADE`).execute(other.db)));
        for (let i = 0; i < 5; i++) {
          const tables = await handle.db.introspection.getTables();
          expect(tables.map((table) => `${table.schema}.${table.name}`)).toEqual([`${schema}.mine`]);
        }
        await drops;
      }
    } finally {
      await sql`DROP SCHEMA ${sql.id(schema)} CASCADE`.execute(handle.db);
      await handle.close();
      await other.close();
    }
  });
});
