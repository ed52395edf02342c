// The audit tree's nodes move into tiles (src/audit/tiles.ts): one row per 64 nodes of a level and
// the 62 nodes above them, so that a proof reads one row, not one per level. Existing nodes are
// regrouped as they are; the leaf hash of an integrated entry now lives only in its bottom tile.
import type { Kysely } from 'kysely';
import { runStatements } from './statements.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, `
    CREATE TABLE audit_tree_tiles (
      level smallint NOT NULL CHECK (level >= 0),
      idx bigint NOT NULL CHECK (idx >= 0),
      width smallint NOT NULL CHECK (width BETWEEN 1 AND 64),
      hashes bytea NOT NULL,
      PRIMARY KEY (level, idx)
    );
    -- 4 KB of hashes: kept in the row (no TOAST, no compression attempt), so one index probe reads a tile.
    ALTER TABLE audit_tree_tiles ALTER COLUMN hashes SET STORAGE PLAIN;

    INSERT INTO audit_tree_tiles (level, idx, width, hashes)
    SELECT t.level, t.idx, t.width, (
      SELECT string_agg(n.hash, ''::bytea ORDER BY n.level, n.idx) FROM audit_tree_nodes n
      WHERE n.level BETWEEN 6 * t.level AND 6 * t.level + 5
        AND n.idx >= t.idx * (64 >> (n.level - 6 * t.level)) AND n.idx < (t.idx + 1) * (64 >> (n.level - 6 * t.level)))
    FROM (SELECT level / 6 AS level, idx / 64 AS idx, count(*) AS width FROM audit_tree_nodes WHERE level % 6 = 0 GROUP BY 1, 2) t;
    DROP TABLE audit_tree_nodes;

    UPDATE audit_entries SET leaf_hash = NULL WHERE leaf_index IS NOT NULL;
  `);
}
