// Migration 0005 regroups an existing log's tree nodes into tiles: the tiles it writes are those the
// integrator would have written, and the log still verifies (on the database TEST_DB names).
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { signCheckpoint, generateLogKey } from '../../audit/checkpoint.js';
import { auditRow } from '../../audit/log.js';
import { leafHash, MemoryTree } from '../../audit/merkle.js';
import { TileBuilder } from '../../audit/tiles.js';
import { verifyLog } from '../../audit/verify.js';
import { emptyDatabaseForMigrations } from '../../../test/support/migrations.js';

const database = emptyDatabaseForMigrations();

describe('migration 0005 (audit tree tiles)', () => {
  it('regroups stored nodes into the tiles the integrator writes, and the log still verifies', async () => {
    const { handle, migrator } = database();
    const { db } = handle;
    expect((await migrator.migrateTo('0004_consultation')).error).toBeUndefined();

    // A log of 4 200 entries as the earlier integrator left it: leaf hashes in the rows, every node stored.
    const size = 4_200;
    const at = new Date('2026-11-01T00:00:00Z');
    const rows = Array.from({ length: size }, (_, i) => ({ ...auditRow({ requestId: `r${i}`, sourceAddress: '127.0.0.1' }, { kind: 'security', type: 'test.old', outcome: 'success' }, at), leaf_index: i }));
    for (let from = 0; from < size; from += 700) await db.insertInto('audit_entries').values(rows.slice(from, from + 700)).execute();
    const tree = new MemoryTree();
    const nodes: Array<{ level: number; idx: number; hash: Buffer }> = [];
    const builder = new TileBuilder();
    for (const row of rows) tree.append(leafHash(Buffer.from(row.leaf_data, 'utf8')));
    for (let level = 0; 2 ** level <= size; level++) {
      for (let idx = 0; (idx + 1) * 2 ** level <= size; idx++) {
        const hash = tree.subtreeHash(idx * 2 ** level, (idx + 1) * 2 ** level);
        nodes.push({ level, idx, hash });
        builder.add(level, idx, hash);
      }
    }
    for (let from = 0; from < nodes.length; from += 1000) {
      await sql`INSERT INTO audit_tree_nodes (level, idx, hash) SELECT * FROM unnest(${nodes.slice(from, from + 1000).map((n) => n.level)}::smallint[],
        ${nodes.slice(from, from + 1000).map((n) => n.idx)}::bigint[], ${nodes.slice(from, from + 1000).map((n) => n.hash)}::bytea[])`.execute(db);
    }
    const key = generateLogKey('test.example/audit-log');
    const note = signCheckpoint({ origin: key.name, size, rootHash: tree.root() }, key);
    await sql`INSERT INTO audit_checkpoints (size, root_hash, note, created_at) VALUES (${size}, ${tree.root()}, ${note}, now())`.execute(db);
    await sql`UPDATE audit_log_state SET size = ${size}`.execute(db);

    expect((await migrator.migrateToLatest()).error).toBeUndefined();
    const expected = builder.take(true).map((t) => `${t.level}/${t.index}/${t.width}/${t.hashes.toString('hex')}`);
    const { rows: tiles } = await sql<{ level: number; idx: string; width: number; hashes: string }>`
      SELECT level, idx, width, encode(hashes, 'hex') AS hashes FROM audit_tree_tiles ORDER BY level, idx`.execute(db);
    expect(tiles.map((t) => `${t.level}/${Number(t.idx)}/${t.width}/${t.hashes}`)).toEqual(expected);
    expect(expected).toHaveLength(66 + 2 + 1);
    const { rows: hashes } = await sql<{ n: string }>`SELECT count(*) AS n FROM audit_entries WHERE leaf_hash IS NOT NULL`.execute(db);
    expect(Number(hashes[0]!.n)).toBe(0);
    const report = await verifyLog(db, key.verifierKey, key.name);
    expect(report).toMatchObject({ ok: true, entries: size, checkpoints: 1 });
  });
});
