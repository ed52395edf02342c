// The integrity check of the whole log, for the security officer: re-reads every integrated entry in
// leaf order, recomputes each leaf hash from its data, checks the indexed columns say what the data
// says, rebuilds the tree, compares every stored node, and checks every checkpoint: its signature and
// its root at its size. Changing, deleting, reordering or truncating any entry shows up here.
//
// Built to run at the speed of reading the leaf bytes (10^6 entries and more):
// - entries are read in batches of VERIFY_BATCH leaf indexes, the next batch's queries sent before
//   the current one is checked (PostgreSQL works while this process hashes);
// - the column check reads one text per row, the columns joined, and compares them in place with the
//   leaf's text as leafDataOf writes it (keys in order, values in quotes or null, then one JSON object
//   for "detail"). Any other row (a value needing JSON escapes, other key order, extra keys, not
//   JSON…) is re-read and compared field by field, as JSON.parse sees it: the fast form only lets
//   through rows that the field-by-field check passes;
// - stored tree nodes are compared through one SHA-256 digest per level and batch, computed by the
//   database; only a range that differs is re-read node by node to name the culprits.
// Hashes travel as hex text: bytea parsing is slow in some drivers (PGlite's is per byte).
import { hash } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../kernel/db.js';
import { openNote, type NoteError } from './checkpoint.js';
import { emptyRoot, HASH_SIZE, nodeHash } from './merkle.js';

/** Leaf indexes per batch (also what the benchmark's baseline reads per query). */
export const VERIFY_BATCH = 10_000;

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

/**
 * The columns the leaf states, in leafDataOf's key order, joined by chr(31), a NULL as chr(1) — or NULL
 * when a text column holds a character that JSON escapes (quote, backslash, control): only then does
 * a value's JSON form differ from the value in quotes, and is a separator or marker ambiguous. uuid
 * columns never hold one.
 */
const LEAF_COLUMNS = sql`CASE WHEN concat(kind, type, outcome, actor_role, resource_type, resource_id, purpose, reason, request_id, source_address) !~ '[\\x01-\\x1f"\\\\]'
  THEN concat_ws(chr(31), kind, type, outcome, ${AT_TEXT}, coalesce(actor_user_id::text, chr(1)), coalesce(actor_role, chr(1)),
    coalesce(subject_user_id::text, chr(1)), coalesce(patient_id::text, chr(1)), coalesce(organisation_id::text, chr(1)),
    coalesce(resource_type, chr(1)), coalesce(resource_id, chr(1)), coalesce(purpose, chr(1)), coalesce(reason, chr(1)),
    coalesce(request_id, chr(1)), coalesce(source_address, chr(1))) END`;
const LEAF_FIELDS = ['kind', 'type', 'outcome', 'at', 'actor', 'actorRole', 'subject', 'patient', 'organisation', 'resourceType', 'resourceId', 'purpose', 'reason', 'requestId', 'sourceAddress'];
/** What precedes each field's value in a canonical leaf: `{"v":1,"kind":`, `,"type":`, … */
const LEAF_KEYS = LEAF_FIELDS.map((field, i) => `${i === 0 ? '{"v":1,' : ','}"${field}":`);

/**
 * Is the leaf exactly what leafDataOf writes for these columns (LEAF_COLUMNS), up to one JSON object
 * for "detail" and the closing brace? Then JSON.parse of the leaf gives exactly the columns' values.
 */
function isCanonical(leaf: string, columns: string | null): boolean {
  if (columns === null) return false;
  const values = columns.split('\x1f');
  if (values.length !== LEAF_FIELDS.length) return false;
  let at = 0;
  for (let i = 0; i < values.length; i++) {
    const key = LEAF_KEYS[i]!;
    const value = values[i]!;
    if (!leaf.startsWith(key, at)) return false;
    at += key.length;
    if (value === '\x01') {
      if (!leaf.startsWith('null', at)) return false;
      at += 4;
    } else {
      // No value needs escapes (LEAF_COLUMNS): its JSON form is the value in quotes.
      if (leaf.charCodeAt(at) !== 0x22 || !leaf.startsWith(value, at + 1) || leaf.charCodeAt(at + 1 + value.length) !== 0x22) return false;
      at += value.length + 2;
    }
  }
  if (!leaf.startsWith(',"detail":', at)) return false;
  return isDetailTail(leaf.slice(at + ',"detail":'.length));
}

interface EntryRow {
  /** leaf_index − batch start. */
  i: number;
  /** leaf_hash in hex. */
  h: string | null;
  /** leaf_data. */
  d: string | null;
  pruned: boolean;
  /** LEAF_COLUMNS. */
  c: string | null;
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

/** One level's range of stored nodes. */
interface DigestRow {
  level: number;
  count: string | number;
  /** Every hash 32 bytes long. */
  sized: boolean | null;
  /** SHA-256 of the hashes concatenated in index order, hex. */
  digest: string | null;
}

/** The node indexes of `level` completed by appending leaves [from, to): [low, high], empty if low > high. */
function completedRange(level: number, from: number, to: number): [number, number] {
  const width = 2 ** level;
  return [Math.ceil((from + 1) / width) - 1, Math.floor(to / width) - 1];
}

/** Is `tail` (what follows `"detail":`) one JSON object then the closing brace? Then no key follows detail. */
function isDetailTail(tail: string): boolean {
  if (tail === '{}}') return true;
  if (!tail.endsWith('}')) return false;
  try {
    const detail: unknown = JSON.parse(tail.slice(0, -1));
    return typeof detail === 'object' && detail !== null && !Array.isArray(detail);
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
        hash('sha256', NODE_INPUT, 'buffer').copy(parents, p * HASH_SIZE);
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

export async function verifyLog(db: Db, verifierKey: string, origin: string, maxProblems = 100): Promise<IntegrityReport> {
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
  let nextCheckpoint = 0;
  let present = 0; // 1 + the last leaf index found

  /**
   * The two statements of a batch: its entries, and a digest of the stored nodes of each level that it
   * completes. Nodes are read in primary-key order; an unexpected order could only make a digest
   * differ, and a differing digest is re-checked node by node: never a false report.
   */
  const fetchBatch = (from: number) => {
    const to = Math.min(from + VERIFY_BATCH, end);
    const entries = sql<EntryRow>`
      SELECT (leaf_index - ${from})::integer AS i, encode(leaf_hash, 'hex') AS h,
        leaf_data AS d, pruned_at IS NOT NULL AS pruned,
        CASE WHEN pruned_at IS NULL THEN ${LEAF_COLUMNS} END AS c
      FROM audit_entries
      WHERE leaf_index >= ${from} AND leaf_index < ${to}
      ORDER BY leaf_index`.execute(db);
    const ranges: Array<{ level: number; low: number; high: number }> = [];
    for (let level = 0; 2 ** level <= to; level++) {
      const [low, high] = completedRange(level, from, to);
      if (low <= high) ranges.push({ level, low, high });
    }
    const digests = sql<DigestRow>`
      SELECT r.level, d.count, d.sized, encode(d.digest, 'hex') AS digest
      FROM unnest(${ranges.map((r) => r.level)}::smallint[], ${ranges.map((r) => String(r.low))}::bigint[], ${ranges.map((r) => String(r.high))}::bigint[]) AS r(level, low, high),
      LATERAL (
        SELECT count(*) AS count, bool_and(octet_length(hash) = ${HASH_SIZE}) AS sized, sha256(string_agg(hash, ''::bytea)) AS digest
        FROM (SELECT hash FROM audit_tree_nodes n WHERE n.level = r.level AND n.idx BETWEEN r.low AND r.high ORDER BY n.idx) nodes
      ) d`.execute(db);
    return { from, to, ranges, entries, digests };
  };
  // Sent before their turn: keep a failure from being reported as unhandled meanwhile.
  const send = (from: number) => {
    const batch = fetchBatch(from);
    batch.entries.catch(() => undefined);
    batch.digests.catch(() => undefined);
    return batch;
  };

  const tree = new TreeRebuild();
  let scratch = Buffer.alloc(4096);

  let pending = end > 0 ? send(0) : null;
  while (pending) {
    const batch = pending;
    const [{ rows }, { rows: digestRows }] = await Promise.all([batch.entries, batch.digests]);
    pending = batch.to < end ? send(batch.to) : null;

    const count = batch.to - batch.from;
    /** The leaf hashes the tree is rebuilt from: recomputed from data, else stored. */
    const leaves = Buffer.alloc(count * HASH_SIZE);
    /** The leaf_hash column, where it is 32 bytes. */
    const stored = Buffer.alloc(count * HASH_SIZE);
    /** Per leaf: 1 = recomputed from data, 2 = absent entry. */
    const kind = new Uint8Array(count);
    /** Entries whose leaf is not the canonical text of their columns: compared field by field. */
    const uncanonical: number[] = [];
    let expected = 0; // next offset in the batch
    const absent = (upTo: number) => {
      if (upTo <= expected) return;
      report({ leafIndex: batch.from + expected, problem: `entries ${batch.from + expected}..${batch.from + upTo - 1} are missing` });
      kind.fill(2, expected, upTo);
      expected = upTo;
    };

    for (const row of rows) {
      const i = row.i;
      absent(i);
      const storedOk = row.h !== null && row.h.length === 2 * HASH_SIZE && stored.write(row.h, i * HASH_SIZE, HASH_SIZE, 'hex') === HASH_SIZE;
      if (row.d !== null) {
        if (scratch.length < 1 + row.d.length * 3) scratch = Buffer.alloc(1 + row.d.length * 3);
        scratch[0] = 0; // SHA-256(0x00 ‖ leaf bytes)
        const length = scratch.write(row.d, 1, 'utf8');
        hash('sha256', scratch.subarray(0, 1 + length), 'buffer').copy(leaves, i * HASH_SIZE);
        kind[i] = 1;
        if (!row.pruned && !isCanonical(row.d, row.c)) uncanonical.push(batch.from + i);
      } else {
        if (!row.pruned) report({ leafIndex: batch.from + i, problem: 'leaf data is missing' });
        else if (!storedOk) report({ leafIndex: batch.from + i, problem: 'leaf hash of a pruned entry is missing' });
        if (storedOk) stored.copy(leaves, i * HASH_SIZE, i * HASH_SIZE, (i + 1) * HASH_SIZE);
      }
      present = batch.from + i + 1;
      expected = i + 1;
    }
    absent(Math.min(count, expectedSize - batch.from));
    // Absent entries: their stored leaf nodes stand in, so the rest of the tree still lines up.
    if (kind.includes(2)) {
      const { rows: nodes } = await sql<{ idx: string | number; hash: string }>`
        SELECT idx, encode(hash, 'hex') AS hash FROM audit_tree_nodes WHERE level = 0 AND idx >= ${batch.from} AND idx < ${batch.to}`.execute(db);
      for (const node of nodes) {
        const i = Number(node.idx) - batch.from;
        if (kind[i] === 2 && node.hash.length === 2 * HASH_SIZE) leaves.write(node.hash, i * HASH_SIZE, HASH_SIZE, 'hex');
      }
    }
    if (!leaves.equals(stored)) {
      for (let i = 0; i < count; i++) {
        if (kind[i] !== 1) continue;
        if (leaves.compare(stored, i * HASH_SIZE, (i + 1) * HASH_SIZE, i * HASH_SIZE, (i + 1) * HASH_SIZE) !== 0) {
          report({ leafIndex: batch.from + i, problem: 'leaf data does not match its hash' });
        }
      }
    }
    if (uncanonical.length > 0) await columnsDiffer(uncanonical);

    const { levels, before } = tree.append(leaves);
    const digestOfLevel = new Map(digestRows.map((row) => [row.level, row]));
    for (const [level, nodes] of levels.entries()) {
      const range = batch.ranges.find((r) => r.level === level);
      const stored = digestOfLevel.get(level);
      const agrees = range !== undefined && stored !== undefined && stored.sized === true && nodes.length === (range.high - range.low + 1) * HASH_SIZE
        && Number(stored.count) === range.high - range.low + 1 && stored.digest === hash('sha256', nodes, 'hex');
      if (!agrees) await nodesDiffer(level, completedRange(level, batch.from, batch.to)[0], nodes);
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

  /** Names each rebuilt node of a level (consecutive hashes from index `low`) stored differently, or not at all. */
  async function nodesDiffer(level: number, low: number, nodes: Buffer) {
    const count = nodes.length / HASH_SIZE;
    if (count === 0) return;
    const { rows } = await sql<{ idx: string | number; hash: string }>`
      SELECT idx, encode(hash, 'hex') AS hash FROM audit_tree_nodes
      WHERE level = ${level} AND idx >= ${low} AND idx < ${low + count}`.execute(db);
    const byIndex = new Map(rows.map((row) => [Number(row.idx), row.hash]));
    for (let i = 0; i < count; i++) {
      const found = byIndex.get(low + i);
      if (found !== nodes.toString('hex', i * HASH_SIZE, (i + 1) * HASH_SIZE)) report({ problem: `tree node level ${level} index ${low + i} is ${found === undefined ? 'missing' : 'altered'}` });
    }
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
