// The integrity check of the whole log, for the security officer: re-reads every integrated entry in
// leaf order, recomputes each leaf hash from its data, checks the indexed columns say what the data
// says, rebuilds the tree, compares every stored node, and checks every checkpoint: its signature and
// its root at its size. Changing, deleting, reordering or truncating any entry shows up here.
//
// Built to run at the speed of reading the leaf bytes (10^6 entries and more):
// - entries are read in batches of VERIFY_BATCH leaf indexes, the next READ_AHEAD batches' queries
//   sent before the current one is checked (PostgreSQL works while this process hashes);
// - the column check: the database writes each row's columns as leafDataOf writes them (keys in
//   order, values in quotes or null, up to "detail"), and that text is compared with the leaf's first
//   bytes (by PostgreSQL, or natively here on PGlite: see entriesIn). Any other row (a value needing
//   JSON escapes, other key order, extra keys, not JSON…) is re-read and compared field by field, as
//   JSON.parse sees it: for a leaf that leafDataOf wrote, the fast form only lets through rows that the
//   field-by-field check passes;
// - hashes come back from node:crypto as latin1 strings written into one buffer: half the cost of a
//   Buffer per hash (10^6 leaves make 2·10^6 hashes);
// - stored tree nodes are compared through one SHA-256 digest per level and batch, computed by the
//   database; only a range that differs is re-read node by node to name the culprits.
// Hashes travel as hex text: bytea parsing is slow in some drivers (PGlite's is per byte).
import { hash } from 'node:crypto';
import { sql } from 'kysely';
import { runsInProcess, type Db } from '../kernel/db.js';
import { openNote, type NoteError } from './checkpoint.js';
import { emptyRoot, HASH_SIZE, nodeHash } from './merkle.js';
import { rowLength, rowOffset, TILE_HEIGHT, TILE_WIDTH, TileBuilder, tileCount, tileFromRow, tileWidth, type Tile } from './tiles.js';

/** Leaf indexes per batch (also what the benchmark's baseline reads per query). */
export const VERIFY_BATCH = 8_192; // a multiple of TILE_WIDTH: a batch reads whole bottom tiles
/** Batches whose statements are sent before the one being checked (each ~4 MB of rows in memory). */
const READ_AHEAD = 2;

export interface IntegrityProblem {
  leafIndex?: number;
  checkpointSize?: number;
  problem: string;
}

export interface IntegrityReport {
  ok: boolean;
  entries: number;
  checkpoints: number;
  problems: IntegrityProblem[];
}

/** Columns that the leaf data also states: a change to either side is a mismatch. */
const COLUMN_OF_FIELD: Record<string, string> = {
  kind: 'kind',
  type: 'type',
  outcome: 'outcome',
  actor: 'actor_user_id',
  actorRole: 'actor_role',
  subject: 'subject_user_id',
  patient: 'patient_id',
  organisation: 'organisation_id',
  resourceType: 'resource_type',
  resourceId: 'resource_id',
  purpose: 'purpose',
  reason: 'reason',
  requestId: 'request_id',
  sourceAddress: 'source_address',
};

/** occurred_at as leafDataOf writes it (Date.toISOString: UTC, milliseconds), formatted by the database. */
const AT_TEXT = sql`to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** A JSON string of a text column as leafDataOf writes it when no character needs an escape, or null. */
const quoted = (column: string) => sql`coalesce('"' || ${sql.ref(column)}::text || '"', 'null')`;

/**
 * The leaf's text as leafDataOf writes it for these columns, up to (not including) `,"detail":`,
 * assuming no value needs a JSON escape. When it equals the leaf's first bytes and holds no backslash,
 * every value in the leaf is its column's (a value needing an escape would show a backslash in the
 * leaf; a quote in a column cannot line up with a canonical leaf's quotes and keys). Built by
 * concatenation only: per row it costs the database about what reading the columns does.
 */
const LEAF_PREFIX = sql`'{"v":1,"kind":' || ${quoted('kind')} || ',"type":' || ${quoted('type')} || ',"outcome":' || ${quoted('outcome')}
  || ',"at":"' || ${AT_TEXT} || '","actor":' || ${quoted('actor_user_id')} || ',"actorRole":' || ${quoted('actor_role')}
  || ',"subject":' || ${quoted('subject_user_id')} || ',"patient":' || ${quoted('patient_id')} || ',"organisation":' || ${quoted('organisation_id')}
  || ',"resourceType":' || ${quoted('resource_type')} || ',"resourceId":' || ${quoted('resource_id')} || ',"purpose":' || ${quoted('purpose')}
  || ',"reason":' || ${quoted('reason')} || ',"requestId":' || ${quoted('request_id')} || ',"sourceAddress":' || ${quoted('source_address')}`;

/** What the database says of an entry's columns, in its text after chr(30) (see entryText). */
const Columns = {
  /** Not the canonical form, or not comparable there: compared field by field. */
  Other: 0x30, // '0'
  /** The leaf is the canonical text of its columns up to `"detail":`; the detail is checked here. */
  CanonicalUpToDetail: 0x32, // '2'
  /** A pruned entry: its columns were erased on purpose. */
  Pruned: 0x33, // '3'
  /** PGlite: LEAF_PREFIX follows, to compare here. */
  Prefix: 0x7b, // '{'
} as const;

/** Ends a batch's entry texts (each starts with it): JSON.stringify writes no raw control character in a leaf. */
const ENTRY_SEPARATOR = 0x1d; // chr(29)
/** Ends an entry's leaf data in its text. */
const LEAF_END = 0x1e; // chr(30)

/** A Columns code as the one-character SQL literal the database writes. */
const said = (code: number) => sql.lit(String.fromCharCode(code));

const DETAIL_KEY_TEXT = ',"detail":';
const DETAIL_KEY = Buffer.from(DETAIL_KEY_TEXT);
const EMPTY_DETAIL_TAIL = Buffer.from(',"detail":{}}');

/**
 * The column check made here (PGlite, whose work is this process's anyway: comparing bytes natively
 * here costs less than in its WebAssembly). The leaf's UTF-8 bytes are buffer[leafStart, leafEnd),
 * LEAF_PREFIX's [prefixStart, prefixEnd): equal, no backslash, then one JSON object for "detail" and
 * the closing brace. (A character loop in JS cost 3–5 µs a row.)
 */
function isCanonical(buffer: Buffer, leafStart: number, leafEnd: number, prefixStart: number, prefixEnd: number): boolean {
  const tail = leafStart + (prefixEnd - prefixStart);
  if (tail + EMPTY_DETAIL_TAIL.length > leafEnd) return false;
  if (buffer.compare(buffer, prefixStart, prefixEnd, leafStart, tail) !== 0) return false;
  if (buffer.subarray(leafStart, tail).includes(0x5c)) return false; // a backslash: some value needed an escape
  return isDetailAt(buffer, tail, leafEnd);
}

/** Is buffer[from, leafEnd) `,"detail":` then one JSON object and the closing brace? */
function isDetailAt(buffer: Buffer, from: number, leafEnd: number): boolean {
  if (leafEnd - from === EMPTY_DETAIL_TAIL.length && buffer.compare(EMPTY_DETAIL_TAIL, 0, EMPTY_DETAIL_TAIL.length, from, leafEnd) === 0) return true;
  if (buffer.compare(DETAIL_KEY, 0, DETAIL_KEY.length, from, from + DETAIL_KEY.length) !== 0) return false;
  return isDetailTail(buffer.toString('utf8', from + DETAIL_KEY.length, leafEnd));
}

/** Where each of `count` entries starts in a batch's text (at its chr(29)), then its end; null if there are not exactly `count`. */
function entryStarts(text: Buffer, count: number): Int32Array | null {
  const starts = new Int32Array(count + 1);
  let at = 0;
  for (let k = 0; k < count; k++) {
    if (text[at] !== ENTRY_SEPARATOR) return null;
    starts[k] = at;
    const next = text.indexOf(ENTRY_SEPARATOR, at + 1);
    at = next < 0 ? text.length : next;
  }
  starts[count] = text.length;
  return at === text.length ? starts : null;
}

/** A batch's entries as one text (see verifyLog's entriesOf): one row, whatever the batch's size. */
interface BatchRow {
  /** Entries found in the batch's range. */
  n: number;
  /** Each entry's text, in leaf order, each preceded by chr(29); null when none. */
  entries: string | null;
}

/** One entry's text with its offset in the batch, when a batch is re-read row by row. */
interface EntryRow {
  i: number;
  t: string;
}

interface FullRow {
  leaf_index: string | number;
  leaf_data: string | null;
  /** occurred_at as leafDataOf writes it. */
  at: string;
  kind: string;
  type: string;
  outcome: string;
  actor_user_id: string | null;
  actor_role: string | null;
  subject_user_id: string | null;
  patient_id: string | null;
  organisation_id: string | null;
  resource_type: string | null;
  resource_id: string | null;
  purpose: string | null;
  reason: string | null;
  request_id: string | null;
  source_address: string | null;
}

/** One tile-level's range of stored tiles. */
interface DigestRow {
  level: number;
  count: string | number;
  /** SHA-256 of the tiles (width, 2 bytes, then hashes) concatenated in index order, hex. */
  digest: string | null;
}

/** The node indexes of `level` completed by appending leaves [from, to): [low, high], empty if low > high. */
function completedRange(level: number, from: number, to: number): [number, number] {
  const width = 2 ** level;
  return [Math.ceil((from + 1) / width) - 1, Math.floor(to / width) - 1];
}

/** Tails already found to be one JSON object and the brace: most entries share a few ({"reason":"granted"}). */
const detailTailsSeen = new Set<string>();

/** Is `tail` (what follows `"detail":`) one JSON object then the closing brace? Then no key follows detail. */
function isDetailTail(tail: string): boolean {
  if (tail === '{}}' || detailTailsSeen.has(tail)) return true;
  if (!tail.endsWith('}')) return false;
  try {
    const detail: unknown = JSON.parse(tail.slice(0, -1));
    const isObject = typeof detail === 'object' && detail !== null && !Array.isArray(detail);
    if (isObject && tail.length <= 200 && detailTailsSeen.size < 1_000) detailTailsSeen.add(tail);
    return isObject;
  } catch {
    return false;
  }
}

/** The field-by-field check (JSON.parse of the leaf), for rows whose text is not the canonical one. */
function columnMismatch(row: FullRow, leafData: string): string | null {
  let data: unknown;
  try {
    data = JSON.parse(leafData);
  } catch {
    return 'leaf data is not JSON';
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return 'leaf data is not a JSON object';
  const fields = data as Record<string, unknown>;
  for (const [field, column] of Object.entries(COLUMN_OF_FIELD)) {
    if ((fields[field] ?? null) !== (row[column as keyof FullRow] ?? null)) return `column ${column} differs from the leaf data`;
  }
  if (row.at !== fields['at']) return 'column occurred_at differs from the leaf data';
  return null;
}

const NODE_INPUT = Buffer.alloc(1 + 2 * HASH_SIZE, 0x01);

/**
 * The tree rebuilt a batch of leaves at a time, level by level (RFC 9162 §2.1.1 as the Frontier does
 * it, without a call and an object per node): each level's completed nodes come out as one buffer of
 * consecutive 32-byte hashes, ready to compare with the stored ones in one digest.
 */
export class TreeRebuild {
  size = 0;
  /** The frontier: at level L, the completed node still waiting for its right sibling (bit L of size). */
  carry: Array<Buffer | null> = [];

  /**
   * Appends `leaves` (consecutive 32-byte hashes); returns, per level, the nodes this completed, in
   * index order (level 0: the leaves themselves), and the frontier as it was before.
   */
  append(leaves: Buffer): { levels: Buffer[]; before: Array<Buffer | null> } {
    const before = [...this.carry];
    const levels: Buffer[] = [];
    let nodes = leaves;
    for (let level = 0; nodes.length > 0; level++) {
      levels.push(nodes);
      const count = nodes.length / HASH_SIZE;
      const left = this.carry[level] ?? null;
      const pairs = Math.floor((count + (left ? 1 : 0)) / 2);
      const parents = Buffer.allocUnsafe(pairs * HASH_SIZE);
      let next = 0; // next unpaired node of this level
      for (let p = 0; p < pairs; p++) {
        if (p === 0 && left) {
          NODE_INPUT.set(left, 1);
          nodes.copy(NODE_INPUT, 1 + HASH_SIZE, 0, HASH_SIZE);
          next = 1;
        } else {
          nodes.copy(NODE_INPUT, 1, next * HASH_SIZE, (next + 2) * HASH_SIZE);
          next += 2;
        }
        parents.write(hash('sha256', NODE_INPUT, 'binary'), p * HASH_SIZE, 'binary'); // a string result: half the cost of a Buffer's
      }
      this.carry[level] = next < count ? Buffer.from(nodes.subarray(next * HASH_SIZE, (next + 1) * HASH_SIZE)) : left && pairs === 0 ? left : null;
      nodes = parents;
    }
    this.size += leaves.length / HASH_SIZE;
    return { levels, before };
  }

  /** MTH of the frontier: its nodes folded from the smallest (RFC 9162 §2.1.1 recursion, right to left). */
  static root(frontier: ReadonlyArray<Buffer | null>): Buffer | null {
    let root: Buffer | null = null;
    for (const node of frontier) if (node) root = root ? nodeHash(node, root) : node;
    return root;
  }
}

/** The tiles of tile-level `level` that rebuilding leaves [from, to) completes: [low, high], empty if low > high. */
function tilesCompleted(level: number, from: number, to: number): [number, number] {
  const span = TILE_WIDTH ** (level + 1);
  return [Math.floor(from / span), Math.floor(to / span) - 1];
}

/** SHA-256 of tiles as the database digests them: each tile's width (2 bytes, big-endian, as int2send) then its hashes. */
function tilesDigest(tiles: readonly Tile[]): string {
  const parts: Buffer[] = [];
  for (const tile of tiles) {
    const width = Buffer.alloc(2);
    width.writeUInt16BE(tile.width);
    parts.push(width, tile.hashes);
  }
  return hash('sha256', Buffer.concat(parts), 'hex');
}

/**
 * `afterSized` runs once the size to check is read, before anything else (tests: the integrator going on
 * meanwhile, deterministically).
 */
export async function verifyLog(db: Db, verifierKey: string, origin: string, maxProblems = 100, afterSized?: () => Promise<void>): Promise<IntegrityReport> {
  const problems: IntegrityProblem[] = [];
  const report = (problem: IntegrityProblem) => {
    if (problems.length < maxProblems) problems.push(problem);
  };
  const checkpoints = await db.selectFrom('audit_checkpoints').select(['size', 'root_hash', 'note']).orderBy('size').execute();
  const state = await db.selectFrom('audit_log_state').select('size').where('id', '=', 1).executeTakeFirstOrThrow();
  const last = await db.selectFrom('audit_entries').select((eb) => eb.fn.max('leaf_index').as('max')).executeTakeFirstOrThrow();
  const expectedSize = Math.max(Number(state.size), ...checkpoints.map((c) => Number(c.size)));
  /** Leaves read: the expected ones, and any integrated entry past them. */
  const end = Math.max(expectedSize, last.max === null ? 0 : Number(last.max) + 1);
  await afterSized?.();
  let nextCheckpoint = 0;
  let present = 0; // 1 + the last leaf index found

  /**
   * An entry's text: its leaf data ('' when none), chr(30), then what the database found of its columns
   * (Columns): PostgreSQL compares them with the leaf itself (its CPU is another process's); PGlite
   * writes LEAF_PREFIX, compared here.
   */
  const entriesIn = (from: number, to: number) =>
    runsInProcess(db)
      ? sql`SELECT leaf_index, coalesce(leaf_data, '') || chr(30) || CASE WHEN pruned_at IS NULL THEN ${LEAF_PREFIX} ELSE ${said(Columns.Pruned)} END AS t
          FROM audit_entries WHERE leaf_index >= ${from} AND leaf_index < ${to}`
      : // OFFSET 0 keeps the subquery apart: the prefix is built once per row, not once per use.
        sql`SELECT leaf_index, coalesce(d, '') || chr(30) ||
            CASE WHEN pruned THEN ${said(Columns.Pruned)} WHEN strpos(pd, '\\') = 0 AND starts_with(d, pd) THEN ${said(Columns.CanonicalUpToDetail)} ELSE ${said(Columns.Other)} END AS t
          FROM (
            SELECT leaf_index, leaf_data AS d, pruned_at IS NOT NULL AS pruned, ${LEAF_PREFIX} || ',"detail":' AS pd
            FROM audit_entries WHERE leaf_index >= ${from} AND leaf_index < ${to}
            OFFSET 0
          ) e`;
  /** The entries of leaves [from, to) as one row: one field of megabytes decodes in a fraction of the time of thousands of rows. */
  const batchOf = (from: number, to: number) =>
    sql<BatchRow>`SELECT count(*)::integer AS n, chr(29) || string_agg(t, chr(29) ORDER BY leaf_index) AS entries FROM (${entriesIn(from, to)}) e`.execute(db);
  /** The same row by row, with their offsets: when some are missing, or a leaf holds a chr(29). */
  const rowsOf = (from: number, to: number) =>
    sql<EntryRow>`SELECT (leaf_index - ${from})::integer AS i, t FROM (${entriesIn(from, to)}) e ORDER BY leaf_index`.execute(db);

  /**
   * The three statements of a batch: its entries, the bottom rows of its leaf tiles (the leaf hashes
   * the tree committed to), and a digest of the stored tiles that the batch completes, per tile-level
   * (the last batch: also the right edge's partial tiles).
   */
  const fetchBatch = (from: number) => {
    const to = Math.min(from + VERIFY_BATCH, end);
    const entries = batchOf(from, to);
    const leafTiles = sql<{ idx: string | number; width: number; bottom: string }>`
      SELECT idx, width, encode(substring(hashes FROM 1 FOR width * ${HASH_SIZE}), 'hex') AS bottom
      FROM audit_tree_tiles WHERE level = 0 AND idx >= ${from / TILE_WIDTH} AND idx < ${Math.ceil(to / TILE_WIDTH)}`.execute(db);
    const ranges: Array<{ level: number; low: number; high: number }> = [];
    for (let level = 0; TILE_WIDTH ** level <= to; level++) {
      const [low, full] = tilesCompleted(level, from, to);
      const high = to === end && tileWidth(end, level, full + 1) > 0 ? full + 1 : full;
      if (low <= high) ranges.push({ level, low, high });
    }
    const digests = sql<DigestRow>`
      SELECT r.level, d.count, encode(d.digest, 'hex') AS digest
      FROM unnest(${ranges.map((r) => r.level)}::smallint[], ${ranges.map((r) => String(r.low))}::bigint[], ${ranges.map((r) => String(r.high))}::bigint[]) AS r(level, low, high),
      LATERAL (
        SELECT count(*) AS count, sha256(string_agg(int2send(t.width) || t.hashes, ''::bytea ORDER BY t.idx)) AS digest
        FROM audit_tree_tiles t WHERE t.level = r.level AND t.idx BETWEEN r.low AND r.high
      ) d`.execute(db);
    return { from, to, ranges, entries, leafTiles, digests };
  };
  // Sent before their turn: keep a failure from being reported as unhandled meanwhile.
  const send = (from: number) => {
    const batch = fetchBatch(from);
    for (const statement of [batch.entries, batch.leafTiles, batch.digests]) statement.catch(() => undefined);
    return batch;
  };

  const tree = new TreeRebuild();
  const tiles = new TileBuilder();
  let scratch = Buffer.alloc(4096);

  /** Batches sent and not yet checked, oldest first: READ_AHEAD of them keep the database busy. */
  const inFlight: Array<ReturnType<typeof send>> = [];
  let nextFrom = 0;
  const sendAhead = () => {
    while (inFlight.length < READ_AHEAD && nextFrom < end) {
      const batch = send(nextFrom);
      inFlight.push(batch);
      nextFrom = batch.to;
    }
  };
  sendAhead();
  for (let batch = inFlight.shift(); batch; batch = inFlight.shift()) {
    const [{ rows: found }, { rows: leafTiles }, { rows: digestRows }] = await Promise.all([batch.entries, batch.leafTiles, batch.digests]);
    sendAhead();
    const count = batch.to - batch.from;

    /** The leaf hashes the tree is rebuilt from: as the bottom tiles hold them, else recomputed from data. */
    const leaves = Buffer.alloc(count * HASH_SIZE);
    /** Per leaf: 1 = its hash is in a stored tile. */
    const stored = new Uint8Array(count);
    for (const tile of leafTiles) {
      const offset = Number(tile.idx) * TILE_WIDTH - batch.from;
      if (tile.bottom.length !== tile.width * HASH_SIZE * 2 || offset < 0) continue; // malformed: reported by the digest check
      leaves.write(tile.bottom, offset * HASH_SIZE, 'hex');
      stored.fill(1, offset, Math.min(count, offset + tile.width));
    }
    const leaf = Buffer.alloc(HASH_SIZE);
    /** Entries whose leaf is not the canonical text of their columns: compared field by field. */
    const uncanonical: number[] = [];
    let expected = 0; // next offset in the batch
    const absent = (upTo: number) => {
      if (upTo <= expected) return;
      report({ leafIndex: batch.from + expected, problem: `entries ${batch.from + expected}..${batch.from + upTo - 1} are missing` });
      expected = upTo;
    };

    /** Checks the entry at offset i whose text (see entriesIn) is buffer[start + 1, end); buffer[start] may be overwritten. */
    const checkEntry = (buffer: Buffer, start: number, end: number, i: number) => {
      absent(i);
      const leafStart = start + 1;
      const leafEnd = buffer.indexOf(LEAF_END, leafStart); // within [leafStart, end): the database wrote one
      const said = buffer[leafEnd + 1];
      const pruned = said === Columns.Pruned;
      if (leafEnd > leafStart) {
        buffer[start] = 0; // SHA-256(0x00 ‖ leaf bytes)
        leaf.write(hash('sha256', buffer.subarray(start, leafEnd), 'binary'), 0, 'binary');
        if (stored[i] !== 1) leaf.copy(leaves, i * HASH_SIZE);
        else if (leaves.compare(leaf, 0, HASH_SIZE, i * HASH_SIZE, (i + 1) * HASH_SIZE) !== 0) {
          report({ leafIndex: batch.from + i, problem: 'leaf data does not match its hash' });
        }
        // On PostgreSQL the detail starts after the first `,"detail":`: in a leaf that leafDataOf wrote, a
        // value holds no unescaped quote, so the key cannot appear earlier.
        const canonical =
          said === Columns.Prefix
            ? isCanonical(buffer, leafStart, leafEnd, leafEnd + 1, end)
            : said === Columns.CanonicalUpToDetail && isDetailAt(buffer, buffer.indexOf(DETAIL_KEY, leafStart), leafEnd);
        if (!pruned && !canonical) uncanonical.push(batch.from + i);
      } else if (!pruned) {
        report({ leafIndex: batch.from + i, problem: 'leaf data is missing' });
      } else if (stored[i] !== 1) {
        report({ leafIndex: batch.from + i, problem: 'leaf hash of a pruned entry is missing' });
      }
      present = batch.from + i + 1;
      expected = i + 1;
    };

    // leaf_index is unique: as many entries as leaf indexes means they are leaves from, from + 1, … in
    // order. Otherwise some are missing (or a leaf holds a chr(29)): read again row by row to name them.
    const text = found[0]?.n === count && found[0].entries !== null ? Buffer.from(found[0].entries, 'utf8') : null;
    const starts = text && entryStarts(text, count);
    if (text && starts) {
      for (let i = 0; i < count; i++) checkEntry(text, starts[i]!, starts[i + 1]!, i);
    } else {
      for (const row of (await rowsOf(batch.from, batch.to)).rows) {
        if (scratch.length < 1 + row.t.length * 3) scratch = Buffer.alloc(1 + row.t.length * 3);
        checkEntry(scratch, 0, 1 + scratch.write(row.t, 1, 'utf8'), row.i);
      }
    }
    absent(Math.min(count, expectedSize - batch.from));
    if (uncanonical.length > 0) await columnsDiffer(uncanonical);

    const { levels, before } = tree.append(leaves);
    for (const [level, nodes] of levels.entries()) tiles.add(level, completedRange(level, batch.from, batch.to)[0], nodes);
    const rebuilt = tiles.take(batch.to === end, batch.to === end);
    const digestOfLevel = new Map(digestRows.map((row) => [row.level, row]));
    for (const range of batch.ranges) {
      const expectedTiles = rebuilt.filter((tile) => tile.level === range.level);
      const found = digestOfLevel.get(range.level);
      const agrees = found !== undefined && Number(found.count) === expectedTiles.length && found.digest === tilesDigest(expectedTiles);
      if (!agrees) await tilesDiffer(range, expectedTiles);
    }
    // Checkpoints inside the batch: the frontier at their size, from this batch's nodes and the frontier before it.
    for (; nextCheckpoint < checkpoints.length && Number(checkpoints[nextCheckpoint]!.size) <= batch.to; nextCheckpoint++) {
      const size = Number(checkpoints[nextCheckpoint]!.size);
      const frontier: Array<Buffer | null> = [];
      for (let level = 0; 2 ** level <= size; level++) {
        const width = 2 ** level;
        if (Math.floor(size / width) % 2 === 0) {
          frontier.push(null);
          continue;
        }
        const index = Math.floor(size / width) - 1;
        const low = completedRange(level, batch.from, batch.to)[0];
        frontier.push(index >= low ? levels[level]!.subarray((index - low) * HASH_SIZE, (index - low + 1) * HASH_SIZE) : before[level] ?? null);
      }
      checkCheckpoint(checkpoints[nextCheckpoint]!, TreeRebuild.root(frontier) ?? emptyRoot());
    }
  }
  for (const checkpoint of checkpoints) {
    const size = Number(checkpoint.size);
    if (size > present) report({ checkpointSize: size, problem: 'checkpoint covers entries that are not in the log (truncated)' });
  }
  await extraTiles();

  async function columnsDiffer(indexes: number[]) {
    const rows = await sql<FullRow>`
      SELECT leaf_index, leaf_data, ${AT_TEXT} AS at, kind, type, outcome, actor_user_id, actor_role, subject_user_id, patient_id,
        organisation_id, resource_type, resource_id, purpose, reason, request_id, source_address
      FROM audit_entries WHERE leaf_index = ANY(${indexes.map(String)}::bigint[])`.execute(db);
    for (const row of rows.rows) {
      const mismatch = columnMismatch(row, row.leaf_data ?? '');
      if (mismatch) report({ leafIndex: Number(row.leaf_index), problem: mismatch });
    }
  }

  /** Names each stored tile of a range that is missing, malformed or holds a node other than the rebuilt one. */
  async function tilesDiffer(range: { level: number; low: number; high: number }, rebuilt: readonly Tile[]) {
    const { rows } = await sql<{ level: number; idx: string | number; width: number; hashes: string }>`
      SELECT level, idx, width, encode(hashes, 'hex') AS hashes FROM audit_tree_tiles
      WHERE level = ${range.level} AND idx BETWEEN ${range.low} AND ${range.high}`.execute(db);
    const storedTiles = new Map(rows.map((row) => [Number(row.idx), row]));
    for (const tile of rebuilt) {
      const name = `tree tile ${tile.level}/${tile.index}`;
      const row = storedTiles.get(tile.index);
      storedTiles.delete(tile.index);
      if (!row) {
        report({ problem: `${name} is missing` });
        continue;
      }
      let found: Tile;
      try {
        found = tileFromRow(row);
      } catch {
        report({ problem: `${name} is malformed` });
        continue;
      }
      // A right-edge tile may have grown since the check began (the integrator runs meanwhile): then
      // what was rebuilt must be its prefix. Wider only if the log itself grew; narrower never.
      if (found.width < tile.width || (found.width > tile.width && (await integratedSize()) <= end)) {
        report({ problem: `${name} holds ${found.width} nodes, not ${tile.width}` });
        continue;
      }
      for (let row = 0; row < TILE_HEIGHT; row++) {
        for (let position = 0; position < rowLength(tile.width, row); position++) {
          const at = (rowOffset(tile.width, row) + position) * HASH_SIZE;
          const storedAt = (rowOffset(found.width, row) + position) * HASH_SIZE;
          if (found.hashes.compare(tile.hashes, at, at + HASH_SIZE, storedAt, storedAt + HASH_SIZE) !== 0) {
            report({ problem: `tree node level ${tile.level * TILE_HEIGHT + row} index ${tile.index * 2 ** (TILE_HEIGHT - row) + position} is altered` });
          }
        }
      }
    }
    for (const index of storedTiles.keys()) report({ problem: `tree tile ${range.level}/${index} is not part of the rebuilt tree` });
  }

  /** The log's size now: it may have grown while the check ran. */
  async function integratedSize(): Promise<number> {
    const now = await db.selectFrom('audit_log_state').select('size').where('id', '=', 1).executeTakeFirstOrThrow();
    return Number(now.size);
  }

  /** Stored tiles past the tree (of `end` leaves, or more if the integrator went on meanwhile). */
  async function extraTiles() {
    const size = Math.max(end, await integratedSize());
    const levels = Array.from({ length: 12 }, (_, level) => level).filter((level) => TILE_WIDTH ** level <= Math.max(size, 1));
    const { rows } = await sql<{ level: number; idx: string | number }>`
      (SELECT e.level, x.idx FROM unnest(${levels}::smallint[], ${levels.map((level) => String(tileCount(size, level)))}::bigint[]) AS e(level, n),
        LATERAL (SELECT idx FROM audit_tree_tiles t WHERE t.level = e.level AND t.idx >= e.n ORDER BY idx LIMIT 10) x)
      UNION ALL
      (SELECT level, idx FROM audit_tree_tiles WHERE level > ${levels.length - 1} ORDER BY level, idx LIMIT 10)`.execute(db);
    for (const row of rows) report({ problem: `tree tile ${row.level}/${Number(row.idx)} is not part of the rebuilt tree` });
  }

  function checkCheckpoint(checkpoint: { size: unknown; root_hash: Uint8Array; note: string }, root: Buffer) {
    const size = Number(checkpoint.size);
    try {
      const opened = openNote(checkpoint.note, [verifierKey], { origin });
      if (opened.checkpoint.size !== size || !Buffer.from(opened.checkpoint.rootHash).equals(Buffer.from(checkpoint.root_hash))) {
        report({ checkpointSize: size, problem: 'stored checkpoint columns differ from its signed note' });
      }
      if (!Buffer.from(opened.checkpoint.rootHash).equals(root)) report({ checkpointSize: size, problem: 'signed root differs from the recomputed tree' });
    } catch (error) {
      report({ checkpointSize: size, problem: `checkpoint signature invalid (${(error as NoteError).code ?? 'error'})` });
    }
  }

  return { ok: problems.length === 0, entries: tree.size, checkpoints: checkpoints.length, problems };
}
