// How the audit tree's nodes are stored: in tiles, in the manner of C2SP tlog-tiles, so that one
// primary-key read gives every lower node of a proof. A tile of tile-level L and index N holds the 64
// nodes [64N, 64N + 64) of tree level 6L (its bottom row, or fewer on the tree's right edge: its
// width) and, above them, every node of tree levels 6L + 1 … 6L + 5 they complete: rows of 32, 16, 8,
// 4 and 2 nodes for a full tile, 126 hashes (4 032 bytes) in all, row after row. The node those 64
// make, at tree level 6L + 6, is in the bottom row of tile-level L + 1.
//
// Tiles only grow: the integrator rewrites the tree's right-edge tiles (one per tile-level at most)
// with the nodes an integration completes, and never touches a full tile again. A partial tile read
// earlier is therefore a prefix of the same tile read later.
import { sql } from 'kysely';
import type { Queryable } from '../kernel/db.js';
import { HASH_SIZE } from './merkle.js';

export const TILE_HEIGHT = 6;
export const TILE_WIDTH = 2 ** TILE_HEIGHT;

export interface TileKey {
  /** Tile-level: the tile's bottom row is tree level TILE_HEIGHT × level. */
  level: number;
  index: number;
}

export interface Tile extends TileKey {
  /** Nodes in the bottom row, 1 … 64. */
  width: number;
  /** The rows' hashes, bottom row first, tileHashCount(width) × 32 bytes. */
  hashes: Buffer;
}

/** Nodes of row `row` (0 = bottom) in a tile of `width`. */
export const rowLength = (width: number, row: number): number => Math.floor(width / 2 ** row);

/** Hashes before row `row`. */
export function rowOffset(width: number, row: number): number {
  let offset = 0;
  for (let r = 0; r < row; r++) offset += rowLength(width, r);
  return offset;
}

/** Hashes in a tile of `width`: 126 for a full one. */
export const tileHashCount = (width: number): number => rowOffset(width, TILE_HEIGHT);

/** Where tree node (treeLevel, index) is stored: its tile, its row there and its place in the row. */
export function nodePlace(treeLevel: number, index: number): TileKey & { row: number; position: number } {
  const level = Math.floor(treeLevel / TILE_HEIGHT);
  const row = treeLevel - level * TILE_HEIGHT;
  const perRow = 2 ** (TILE_HEIGHT - row);
  const tileIndex = Math.floor(index / perRow);
  return { level, index: tileIndex, row, position: index - tileIndex * perRow };
}

/** The hash of tree node (treeLevel, index) in `tile`, or undefined if the tile does not hold it (yet). */
export function nodeInTile(tile: Tile, treeLevel: number, index: number): Buffer | undefined {
  const place = nodePlace(treeLevel, index);
  if (place.level !== tile.level || place.index !== tile.index || place.position >= rowLength(tile.width, place.row)) return undefined;
  const at = (rowOffset(tile.width, place.row) + place.position) * HASH_SIZE;
  return tile.hashes.subarray(at, at + HASH_SIZE);
}

/** Nodes of tree level `treeLevel` in a tree of `size` leaves. */
const nodesAt = (size: number, treeLevel: number): number => Math.floor(size / 2 ** treeLevel);

/** The width of tile (level, index) in a tree of `size` leaves: 0 if it does not exist. */
export function tileWidth(size: number, level: number, index: number): number {
  return Math.max(0, Math.min(TILE_WIDTH, nodesAt(size, level * TILE_HEIGHT) - index * TILE_WIDTH));
}

/** The tiles of a tree of `size` that are not full: the right edge's, at most one per tile-level. */
export function partialTiles(size: number): Array<TileKey & { width: number }> {
  const out: Array<TileKey & { width: number }> = [];
  for (let level = 0; nodesAt(size, level * TILE_HEIGHT) > 0; level++) {
    const bottom = nodesAt(size, level * TILE_HEIGHT);
    if (bottom % TILE_WIDTH !== 0) out.push({ level, index: Math.floor(bottom / TILE_WIDTH), width: bottom % TILE_WIDTH });
  }
  return out;
}

/** Tiles of `level` in a tree of `size`: their indexes are 0 … tileCount − 1. */
export function tileCount(size: number, level: number): number {
  return Math.ceil(nodesAt(size, level * TILE_HEIGHT) / TILE_WIDTH);
}

/** A stored tile as read (hashes in hex: PGlite parses bytea byte by byte), checked to be well-formed. */
export function tileFromRow(row: { level: number; idx: string | number; width: number; hashes: string }): Tile {
  const tile = { level: row.level, index: Number(row.idx), width: row.width, hashes: Buffer.from(row.hashes, 'hex') };
  if (!(tile.width >= 1 && tile.width <= TILE_WIDTH) || tile.hashes.length !== tileHashCount(tile.width) * HASH_SIZE) {
    throw new MalformedTileError(tile);
  }
  return tile;
}

export class MalformedTileError extends Error {
  constructor(readonly tile: TileKey) {
    super(`tree tile ${tile.level}/${tile.index} is malformed`);
  }
}

/** Reads stored tiles by key, in one statement (a plain primary-key lookup for one tile). */
export async function readTiles(q: Queryable, keys: readonly TileKey[]): Promise<Tile[]> {
  if (keys.length === 0) return [];
  const where = keys.length === 1
    ? sql`level = ${keys[0]!.level} AND idx = ${keys[0]!.index}`
    : sql`(level, idx) IN (${sql.join(keys.map((k) => sql`(${k.level}::smallint, ${k.index}::bigint)`))})`;
  const { rows } = await sql<{ level: number; idx: string | number; width: number; hashes: string }>`
    SELECT level, idx, width, encode(hashes, 'hex') AS hashes FROM audit_tree_tiles WHERE ${where}`.execute(q);
  return rows.map(tileFromRow);
}

/** Writes tiles, replacing the stored ones of the same key (a right-edge tile that grew). */
export async function writeTiles(q: Queryable, tiles: readonly Tile[]): Promise<void> {
  if (tiles.length === 0) return;
  await sql`INSERT INTO audit_tree_tiles (level, idx, width, hashes)
    SELECT level, idx, width, decode(hex, 'hex')
    FROM unnest(${tiles.map((t) => t.level)}::smallint[], ${tiles.map((t) => String(t.index))}::bigint[],
      ${tiles.map((t) => t.width)}::smallint[], ${tiles.map((t) => t.hashes.toString('hex'))}::text[]) AS data(level, idx, width, hex)
    ON CONFLICT (level, idx) DO UPDATE SET width = EXCLUDED.width, hashes = EXCLUDED.hashes`.execute(q);
}

const keyOf = (level: number, index: number): string => `${level}:${index}`;

interface OpenTile extends TileKey {
  /** Per row, its nodes so far as 32-byte chunks (or runs of them). */
  rows: Buffer[][];
  lengths: number[];
  dirty: boolean;
}

/**
 * Assembles tiles from tree nodes given in order (each level's nodes by increasing index): the
 * integrator feeds it the nodes an integration completes, the integrity check the nodes it rebuilds.
 * Seed it with the stored right-edge tiles before going on from a non-empty tree.
 */
export class TileBuilder {
  readonly #open = new Map<string, OpenTile>();

  seed(tile: Tile): void {
    const open = this.#tile(tile.level, tile.index);
    for (let row = 0; row < TILE_HEIGHT; row++) {
      const from = rowOffset(tile.width, row) * HASH_SIZE;
      const length = rowLength(tile.width, row);
      if (length > 0) open.rows[row]!.push(tile.hashes.subarray(from, from + length * HASH_SIZE));
      open.lengths[row] = length;
    }
  }

  /** Consecutive nodes of tree level `treeLevel` from index `first`, as 32-byte hashes end to end. */
  add(treeLevel: number, first: number, hashes: Buffer): void {
    const count = hashes.length / HASH_SIZE;
    for (let done = 0; done < count; ) {
      const place = nodePlace(treeLevel, first + done);
      const open = this.#tile(place.level, place.index);
      if (open.lengths[place.row] !== place.position) {
        throw new RangeError(`tree node ${treeLevel}:${first + done} given out of order (tile ${place.level}/${place.index} row ${place.row} has ${open.lengths[place.row]})`);
      }
      const take = Math.min(count - done, 2 ** (TILE_HEIGHT - place.row) - place.position);
      open.rows[place.row]!.push(hashes.subarray(done * HASH_SIZE, (done + take) * HASH_SIZE));
      open.lengths[place.row]! += take;
      open.dirty = true;
      done += take;
    }
  }

  /**
   * The tiles changed since the last call, in (level, index) order: full ones (then forgotten) and,
   * with `partial`, the right edge's ones still growing (kept, to be continued); with `all`, also
   * the partial ones that did not change.
   */
  take(partial: boolean, all = false): Tile[] {
    const out: Tile[] = [];
    for (const [key, open] of this.#open) {
      const full = open.lengths[0] === TILE_WIDTH;
      if (full) this.#open.delete(key);
      if (!(open.dirty || (all && !full)) || (!full && !partial) || open.lengths[0] === 0) continue;
      open.dirty = false;
      const width = open.lengths[0]!;
      for (let row = 1; row < TILE_HEIGHT; row++) {
        if (open.lengths[row] !== rowLength(width, row)) throw new RangeError(`tile ${open.level}/${open.index}: row ${row} has ${open.lengths[row]} nodes for a width of ${width}`);
      }
      const hashes = Buffer.concat(open.rows.flat());
      if (!full) open.rows = open.rows.map((row) => (row.length > 0 ? [Buffer.concat(row)] : []));
      out.push({ level: open.level, index: open.index, width, hashes });
    }
    return out.sort((a, b) => a.level - b.level || a.index - b.index);
  }

  #tile(level: number, index: number): OpenTile {
    const key = keyOf(level, index);
    let open = this.#open.get(key);
    if (!open) {
      open = { level, index, rows: Array.from({ length: TILE_HEIGHT }, () => []), lengths: Array<number>(TILE_HEIGHT).fill(0), dirty: false };
      this.#open.set(key, open);
    }
    return open;
  }
}
