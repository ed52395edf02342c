// What an outside auditor and a patient rely on: the log's signing key, its latest signed checkpoint,
// and inclusion / consistency proofs served from the stored tree nodes (one query per proof).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sql } from 'kysely';
import type { Queryable } from '../kernel/db.js';
import { encodeSignerKey, generateLogKey, parseSignerKey, type NoteSigner } from './checkpoint.js';
import { consistencyPathRanges, inclusionPathRanges, perfectSubtrees, rangeHash, type Range, type SubtreeSource } from './merkle.js';

export interface LogKey extends NoteSigner {
  verifierKey: string;
}

/** The log's origin line: the instance's host and a fixed path, e.g. "sante.example.fr/audit-log". */
export function logOriginFor(publicUrl: string): string {
  return `${new URL(publicUrl).host}/audit-log`;
}

/** AUDIT_LOG_KEY (Go note signer format) or a key file created once under the data dir (mode 0600). */
export async function loadLogKey(configured: string | null, dataDir: string, origin: string): Promise<LogKey> {
  if (configured) return parseSignerKey(configured);
  const path = join(dataDir, 'audit-log.key');
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
 * Tree nodes never change once written, and the upper ones are shared by most proofs: a process keeps
 * those of levels ≥ CACHED_FROM_LEVEL (1/32 of the tree's nodes, bounded), loaded at once the first time
 * (top levels first) and then as proofs read them, so a proof queries only its lower levels.
 */
export class NodeCache {
  static readonly CACHED_FROM_LEVEL = 6;
  readonly #hashes = new Map<string, Buffer>();
  #warming: Promise<void> | undefined;

  constructor(private readonly capacity = 100_000) {}

  /** Loads the stored upper nodes, top levels first, up to the capacity: once per cache. */
  warm(q: Queryable): Promise<void> {
    this.#warming ??= (async () => {
      const { rows } = await sql<{ level: number; idx: string | number; hash: string }>`
        SELECT level, idx, encode(hash, 'hex') AS hash FROM audit_tree_nodes
        WHERE level >= ${NodeCache.CACHED_FROM_LEVEL} ORDER BY level DESC, idx LIMIT ${this.capacity - this.#hashes.size}`.execute(q);
      for (const row of rows) this.keep(row.level, Number(row.idx), Buffer.from(row.hash, 'hex'));
    })();
    this.#warming.catch(() => {
      this.#warming = undefined; // tried again by the next proof
    });
    return this.#warming;
  }

  get(level: number, index: number): Buffer | undefined {
    return this.#hashes.get(`${level}:${index}`);
  }

  keep(level: number, index: number, hash: Buffer): void {
    if (level < NodeCache.CACHED_FROM_LEVEL || this.#hashes.size >= this.capacity) return;
    this.#hashes.set(`${level}:${index}`, hash);
  }
}

/** Loads, in one query, every stored node that the ranges of a proof are made of (minus cached ones). */
async function nodeSource(q: Queryable, ranges: readonly Range[], cache?: NodeCache): Promise<SubtreeSource> {
  const byKey = new Map<string, Buffer>();
  const missing: Array<[level: number, index: number]> = [];
  for (const [start, end] of ranges.flatMap(([s, e]) => perfectSubtrees(s, e))) {
    const [level, index] = [Math.log2(end - start), start / (end - start)];
    const cached = cache?.get(level, index);
    if (cached) byKey.set(`${level}:${index}`, cached);
    else missing.push([level, index]);
  }
  if (missing.length > 0) {
    const rows = await sql<{ level: number; idx: string | number; hash: string }>`
      SELECT n.level, n.idx, encode(n.hash, 'hex') AS hash FROM audit_tree_nodes n
      JOIN unnest(${missing.map(([level]) => level)}::smallint[], ${missing.map(([, index]) => String(index))}::bigint[]) AS w(level, idx)
        ON n.level = w.level AND n.idx = w.idx`.execute(q);
    for (const row of rows.rows) {
      const hash = Buffer.from(row.hash, 'hex');
      byKey.set(`${row.level}:${Number(row.idx)}`, hash);
      cache?.keep(row.level, Number(row.idx), hash);
    }
  }
  return {
    subtreeHash(start, end) {
      const hash = byKey.get(`${Math.log2(end - start)}:${start / (end - start)}`);
      if (!hash) throw new RangeError(`tree node for [${start}, ${end}) is not stored`);
      return hash;
    },
  };
}

/**
 * RFC 9162 §2.1.3.1 audit path of leaf `index` in the tree of `size`. With a cache, the upper levels come
 * from memory (loaded once) and the one query reads only the lower nodes (≤ CACHED_FROM_LEVEL of them,
 * plus the right edge's small subtrees).
 */
export async function inclusionProofFor(q: Queryable, index: number, size: number, cache?: NodeCache): Promise<Buffer[]> {
  if (cache) await cache.warm(q);
  const ranges = inclusionPathRanges(index, size);
  const source = await nodeSource(q, ranges, cache);
  return Promise.all(ranges.map(([start, end]) => rangeHash(source, start, end)));
}

/** RFC 9162 §2.1.4.1 consistency proof between sizes m and n. */
export async function consistencyProofFor(q: Queryable, m: number, n: number, cache?: NodeCache): Promise<Buffer[]> {
  if (cache) await cache.warm(q);
  const ranges = consistencyPathRanges(m, n);
  const source = await nodeSource(q, ranges, cache);
  return Promise.all(ranges.map(([start, end]) => rangeHash(source, start, end)));
}
