// The integrity check of the whole log, for the security officer: re-reads every integrated entry in
// leaf order, recomputes each leaf hash from its data, checks the indexed columns say what the data
// says, rebuilds the tree, compares every stored node, and checks every checkpoint: its signature and
// its root at its size. Changing, deleting, reordering or truncating any entry shows up here.
import type { Db } from '../kernel/db.js';
import { openNote, type NoteError } from './checkpoint.js';
import { Frontier, leafHash } from './merkle.js';

const BATCH = 5_000;

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

function columnMismatch(row: Record<string, unknown>, data: Record<string, unknown>): string | null {
  for (const [field, column] of Object.entries(COLUMN_OF_FIELD)) {
    if ((data[field] ?? null) !== (row[column] ?? null)) return `column ${column} differs from the leaf data`;
  }
  const at = row['occurred_at'];
  if (!(at instanceof Date) || at.toISOString() !== data['at']) return 'column occurred_at differs from the leaf data';
  return null;
}

export async function verifyLog(db: Db, verifierKey: string, origin: string, maxProblems = 100): Promise<IntegrityReport> {
  const problems: IntegrityProblem[] = [];
  const report = (problem: IntegrityProblem) => {
    if (problems.length < maxProblems) problems.push(problem);
  };
  const checkpoints = await db.selectFrom('audit_checkpoints').selectAll().orderBy('size').execute();
  const state = await db.selectFrom('audit_log_state').select('size').where('id', '=', 1).executeTakeFirstOrThrow();
  const expectedSize = Math.max(Number(state.size), ...checkpoints.map((c) => Number(c.size)));
  let nextCheckpoint = 0;

  const frontier = new Frontier();
  /** Compares the nodes a batch completed with the stored ones: one index range per level. */
  const checkNodes = async (nodes: Array<{ level: number; index: number; hash: Buffer }>) => {
    const byLevel = new Map<number, Array<{ index: number; hash: Buffer }>>();
    for (const node of nodes) byLevel.set(node.level, [...(byLevel.get(node.level) ?? []), node]);
    for (const [level, levelNodes] of byLevel) {
      const low = levelNodes[0]!.index;
      const high = levelNodes[levelNodes.length - 1]!.index;
      const rows = await db.selectFrom('audit_tree_nodes').select(['idx', 'hash']).where('level', '=', level).where('idx', '>=', low).where('idx', '<=', high).execute();
      const stored = new Map(rows.map((row) => [Number(row.idx), Buffer.from(row.hash)]));
      for (const node of levelNodes) {
        const hash = stored.get(node.index);
        if (!hash || !hash.equals(node.hash)) report({ problem: `tree node level ${level} index ${node.index} is ${hash ? 'altered' : 'missing'}` });
      }
    }
  };

  for (let from = 0; ; from += BATCH) {
    const rows = await db
      .selectFrom('audit_entries')
      .selectAll()
      .where('leaf_index', '>=', from)
      .where('leaf_index', '<', from + BATCH)
      .orderBy('leaf_index')
      .execute();
    if (rows.length === 0 && from >= expectedSize) break;
    const completed: Array<{ level: number; index: number; hash: Buffer }> = [];
    let expectedIndex = from;
    for (const row of rows) {
      const index = Number(row.leaf_index);
      if (index !== expectedIndex) {
        report({ leafIndex: expectedIndex, problem: `entries ${expectedIndex}..${index - 1} are missing` });
        expectedIndex = index;
      }
      let hash: Buffer = row.leaf_hash ? Buffer.from(row.leaf_hash) : Buffer.alloc(32);
      if (row.pruned_at === null) {
        if (row.leaf_data === null) {
          report({ leafIndex: index, problem: 'leaf data is missing' });
        } else {
          const recomputed = leafHash(Buffer.from(row.leaf_data, 'utf8'));
          if (!recomputed.equals(hash)) report({ leafIndex: index, problem: 'leaf data does not match its hash' });
          hash = recomputed;
          const mismatch = columnMismatch(row as unknown as Record<string, unknown>, JSON.parse(row.leaf_data) as Record<string, unknown>);
          if (mismatch) report({ leafIndex: index, problem: mismatch });
        }
      }
      frontier.append(hash, (node) => completed.push(node));
      expectedIndex += 1;
      while (nextCheckpoint < checkpoints.length && Number(checkpoints[nextCheckpoint]!.size) === frontier.size) {
        checkCheckpoint(checkpoints[nextCheckpoint]!, frontier.root());
        nextCheckpoint += 1;
      }
    }
    if (rows.length > 0 && expectedIndex < from + BATCH && expectedIndex < expectedSize) {
      report({ leafIndex: expectedIndex, problem: `entries ${expectedIndex}..${Math.min(from + BATCH, expectedSize) - 1} are missing` });
    }
    await checkNodes(completed);
    if (rows.length === 0 && from >= expectedSize) break;
    if (from > expectedSize + BATCH) break;
  }
  for (; nextCheckpoint < checkpoints.length; nextCheckpoint++) {
    report({ checkpointSize: Number(checkpoints[nextCheckpoint]!.size), problem: 'checkpoint covers entries that are not in the log (truncated)' });
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

  return { ok: problems.length === 0, entries: frontier.size, checkpoints: checkpoints.length, problems };
}
