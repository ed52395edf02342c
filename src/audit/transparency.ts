// What an outside auditor and a patient rely on: the log's signing key, its latest signed checkpoint,
// and inclusion / consistency proofs served from the stored tree tiles (one query per proof).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sql } from 'kysely';
import type { Queryable } from '../kernel/db.js';
import { encodeSignerKey, generateLogKey, parseSignerKey, type NoteSigner } from './checkpoint.js';
import { consistencyPathRanges, emptyRoot, foldHashes, HASH_SIZE, inclusionPathRanges, perfectSubtrees, type Range } from './merkle.js';
import { MalformedTileError, nodeInTile, nodePlace, rowOffset, TILE_WIDTH, tileFromRow, tileWidth, type Tile, type TileKey } from './tiles.js';

export interface LogKey extends NoteSigner {
  verifierKey: string;
}

/** The log's origin line: the instance's host and a fixed path, e.g. "sante.example.fr/audit-log". */
export function logOriginFor(publicUrl: string): string {
  return `${new URL(publicUrl).host}/audit-log`;
}

/**
 * AUDIT_LOG_KEY (Go note signer format) or a key file created once under the data dir (mode 0600). Other
 * signed notes of the instance (prescriptions) keep their own key in their own file.
 */
export async function loadLogKey(configured: string | null, dataDir: string, origin: string, file = 'audit-log.key'): Promise<LogKey> {
  if (configured) return parseSignerKey(configured);
  const path = join(dataDir, file);
  try {
    return parseSignerKey((await readFile(path, 'utf8')).trim());
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dataDir, { recursive: true });
  const key = generateLogKey(origin);
  await writeFile(path, encodeSignerKey(key) + '\n', { mode: 0o600, flag: 'wx' });
  return { name: key.name, privateKey: key.privateKey, verifierKey: key.verifierKey };
}

export interface StoredCheckpoint {
  size: number;
  rootHash: Buffer;
  note: string;
}

export async function latestCheckpoint(q: Queryable): Promise<StoredCheckpoint | null> {
  const row = await q.selectFrom('audit_checkpoints').selectAll().orderBy('size', 'desc').limit(1).executeTakeFirst();
  return row ? { size: Number(row.size), rootHash: Buffer.from(row.root_hash), note: row.note } : null;
}

export async function checkpointAt(q: Queryable, size: number): Promise<StoredCheckpoint | null> {
  const row = await q.selectFrom('audit_checkpoints').selectAll().where('size', '=', size).executeTakeFirst();
  return row ? { size: Number(row.size), rootHash: Buffer.from(row.root_hash), note: row.note } : null;
}

/**
 * Full tiles never change, and those above the bottom tile-level are shared by many proofs: a process
 * keeps the tiles of tile-level ≥ 1 (1/64 of the tree's nodes), loaded at once the first time (top
 * levels first, up to its capacity) and then as proofs read them, and the last few partial bottom
 * tiles (the right edge, which proofs at the latest size all need). A cached partial tile is a prefix
 * of the stored one: a proof that needs a node past it reads the tile again.
 */
export class TileCache {
  static readonly CACHED_FROM_LEVEL = 1;
  static readonly EDGE_TILES = 8;
  readonly #tiles = new Map<string, Tile>();
  readonly #edge = new Map<string, Tile>();
  #warming: Promise<void> | undefined;

  /** 4 096 tiles of 4 KB cover the upper tiles of a 16-million-entry log. */
  constructor(private readonly capacity = 4_096) {}

  /** Loads the stored upper tiles, top levels first, up to the capacity: once per cache. */
  warm(q: Queryable): Promise<void> {
    this.#warming ??= (async () => {
      const { rows } = await sql<{ level: number; idx: string | number; width: number; hashes: string }>`
        SELECT level, idx, width, encode(hashes, 'hex') AS hashes FROM audit_tree_tiles
        WHERE level >= ${TileCache.CACHED_FROM_LEVEL} ORDER BY level DESC, idx LIMIT ${this.capacity - this.#tiles.size}`.execute(q);
      for (const row of rows) this.keep(tileFromRow(row));
    })();
    this.#warming.catch(() => {
      this.#warming = undefined; // tried again by the next proof
    });
    return this.#warming;
  }

  get(key: TileKey): Tile | undefined {
    const name = `${key.level}:${key.index}`;
    return this.#tiles.get(name) ?? this.#edge.get(name);
  }

  keep(tile: Tile): void {
    const key = `${tile.level}:${tile.index}`;
    if (tile.level < TileCache.CACHED_FROM_LEVEL) {
      this.#edge.delete(key);
      if (tile.width === TILE_WIDTH) return; // a full bottom tile: one of many, read when needed
      this.#edge.set(key, tile);
      if (this.#edge.size > TileCache.EDGE_TILES) this.#edge.delete(this.#edge.keys().next().value!);
      return;
    }
    if (!this.#tiles.has(key) && this.#tiles.size >= this.capacity) return;
    if ((this.#tiles.get(key)?.width ?? 0) < tile.width) this.#tiles.set(key, tile);
  }
}

/** A perfect subtree of a proof: a node of the tree. */
interface ProofNode {
  treeLevel: number;
  index: number;
  hash?: Buffer | undefined;
}

/** The tiles that hold proof nodes missing from the cache, each with those nodes. */
type WantedTiles = Map<string, { key: TileKey; nodes: ProofNode[] }>;

/**
 * Reads the wanted nodes in one statement. A tile that is full in the tree of `size` (every tile but
 * the right edge's) is asked for just those nodes, their offsets being fixed; another is read whole
 * (and cached).
 */
async function readProofNodes(q: Queryable, size: number, wanted: WantedTiles, cache?: TileCache): Promise<void> {
  const selects = [...wanted.values()].map(({ key, nodes }) => {
    const where = sql`level = ${key.level} AND idx = ${key.index}`;
    if (tileWidth(size, key.level, key.index) < TILE_WIDTH) {
      return sql`SELECT level, idx, width, false AS picked, encode(hashes, 'hex') AS hashes FROM audit_tree_tiles WHERE ${where}`;
    }
    const picks = nodes.map((node) => {
      const place = nodePlace(node.treeLevel, node.index);
      return sql`substring(hashes FROM ${(rowOffset(TILE_WIDTH, place.row) + place.position) * HASH_SIZE + 1} FOR ${HASH_SIZE})`;
    });
    return sql`SELECT level, idx, width, true AS picked, encode(${sql.join(picks, sql` || `)}, 'hex') AS hashes FROM audit_tree_tiles WHERE ${where}`;
  });
  const { rows } = await sql<{ level: number; idx: string | number; width: number; picked: boolean; hashes: string }>`
    ${sql.join(selects, sql` UNION ALL `)}`.execute(q);
  for (const row of rows) {
    const { nodes } = wanted.get(`${row.level}:${Number(row.idx)}`)!;
    if (row.picked) {
      if (row.width !== TILE_WIDTH || row.hashes.length !== nodes.length * HASH_SIZE * 2) throw new MalformedTileError({ level: row.level, index: Number(row.idx) });
      const hashes = Buffer.from(row.hashes, 'hex');
      nodes.forEach((node, i) => (node.hash = hashes.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE)));
    } else {
      const tile = tileFromRow(row);
      for (const node of nodes) node.hash = nodeInTile(tile, node.treeLevel, node.index);
      cache?.keep(tile);
    }
  }
}

/** The proof's ranges, each hashed from the nodes it is made of: cached ones, the rest read in one statement. */
async function proofHashes(q: Queryable, size: number, ranges: readonly Range[], cache?: TileCache): Promise<Buffer[]> {
  if (cache) await cache.warm(q);
  const wanted: WantedTiles = new Map();
  const parts = ranges.map(([start, end]) => perfectSubtrees(start, end).map(([s, e]): ProofNode => {
    const node: ProofNode = { treeLevel: Math.log2(e - s), index: s / (e - s) };
    const place = nodePlace(node.treeLevel, node.index);
    const cached = cache?.get(place);
    node.hash = cached && nodeInTile(cached, node.treeLevel, node.index);
    if (!node.hash) {
      const key = `${place.level}:${place.index}`;
      const tile = wanted.get(key) ?? { key: { level: place.level, index: place.index }, nodes: [] };
      tile.nodes.push(node);
      wanted.set(key, tile);
    }
    return node;
  }));
  if (wanted.size > 0) await readProofNodes(q, size, wanted, cache);
  return parts.map((nodes, i) => {
    const [start, end] = ranges[i]!;
    const hashes = nodes.map((node) => {
      if (!node.hash) throw new RangeError(`tree node ${node.treeLevel}:${node.index} is not stored`);
      return node.hash;
    });
    return start === end ? emptyRoot() : foldHashes(hashes);
  });
}

/**
 * RFC 9162 §2.1.3.1 audit path of leaf `index` in the tree of `size`: with a cache, one primary-key read
 * of the leaf's bottom tile (its 6 nodes only), the upper nodes and the right edge from memory.
 */
export function inclusionProofFor(q: Queryable, index: number, size: number, cache?: TileCache): Promise<Buffer[]> {
  return proofHashes(q, size, inclusionPathRanges(index, size), cache);
}

/** RFC 9162 §2.1.4.1 consistency proof between sizes m and n. */
export function consistencyProofFor(q: Queryable, m: number, n: number, cache?: TileCache): Promise<Buffer[]> {
  return proofHashes(q, n, consistencyPathRanges(m, n), cache);
}
