// How routes use the gate. A change: one transaction holding the decision, its audit entry and the work
// it allows (`gated`; `gatedInsert` when the work is one new row). A read: the decision and its entry
// committed first, then the reads (`gatedRead`).
// A denial commits its trace and becomes an HTTP problem that never tells whether the patient exists; a
// refusal by the work itself (conflict, bad input) undoes the work but keeps the trace.
import { sql } from 'kysely';
import type { Db, Queryable, Tx } from '../kernel/db.js';
import { AppError } from '../kernel/errors.js';
import { decide, decideAndInsert, decideAndRead, insertAllowed, type Action, type AllowedDecision, type DecisionInput, type DeniedDecision, type GuardedInsert, type GuardedRead, type InsertRow } from './gate.js';

/** Every denial is "not found", except a missing second factor, which the person can fix. */
export function denialError(decision: DeniedDecision): AppError {
  return decision.reason === 'second_factor_required' ? new AppError('second_factor_enrolment_required') : new AppError('not_found');
}

type Outcome<T> = { kind: 'done'; value: T } | { kind: 'refused'; error: unknown };

export async function gated<A extends Action, T>(db: Db, input: DecisionInput<A>, work: (tx: Tx, decision: AllowedDecision<A>) => Promise<T>): Promise<T> {
  const outcome = await db.transaction().execute(async (tx): Promise<Outcome<T>> => {
    const decision = await decide(tx, input);
    if (!decision.allowed) return { kind: 'refused', error: denialError(decision) };
    // The savepoint lets a failed change roll back alone: the decision's trace still commits.
    await sql`SAVEPOINT gated_work`.execute(tx);
    try {
      return { kind: 'done', value: await work(tx, decision) };
    } catch (error) {
      await sql`ROLLBACK TO SAVEPOINT gated_work`.execute(tx);
      return { kind: 'refused', error };
    }
  });
  if (outcome.kind === 'refused') throw outcome.error;
  return outcome.value;
}

/**
 * `gated` for work that only reads: trace first, then read. The decision and its audit entry are one
 * autocommit statement (facts + conditional entry, see gate.ts; two statements when the gate holds no
 * guess), committed — durably — before the work runs; the work then reads on the database directly, with
 * no BEGIN, COMMIT or savepoint: 3 round trips for a read of two SELECTs instead of 5.
 *
 * Why this keeps DESIGN invariant 2 ("the gate appends an audit event … in the same transaction as the
 * change"): the invariant ties the trace to a change so that no change can commit without its trace, nor
 * the trace without its change. A read changes nothing: there is nothing for the trace to commit with,
 * only something to precede. What a read must guarantee is that
 * - every decision, allowed or denied, has exactly one entry: `decide` writes it in its own statement(s),
 *   whatever happens next, and nothing writes it again;
 * - no patient data is read, let alone returned, before its decision's entry is durably committed: the
 *   work receives the allowed decision only once `decide`'s autocommit statement has returned, i.e. after
 *   its commit (synchronous_commit on; PGlite syncs its commits too);
 * - a refusal looks like "not found": the denial's entry is committed and the same problem is thrown;
 * - a failure of the work after an allowed decision leaves exactly that one entry (the decision was taken
 *   and the data may have been partly read): there is no transaction to roll it back, so no re-trace.
 * Consistency is unchanged: PostgreSQL's default isolation (READ COMMITTED) gives each statement its own
 * snapshot inside a transaction as well as outside one. The work must only read: a change goes through
 * `gated`, whose decision, entry and change commit together.
 */
export async function gatedRead<A extends Action, T>(db: Db, input: DecisionInput<A>, work: (q: Queryable, decision: AllowedDecision<A>) => Promise<T>): Promise<T> {
  const decision = await decide(db, input);
  if (!decision.allowed) throw denialError(decision);
  return work(db, decision);
}

/**
 * `gatedRead` whose first read a repository prepared as a `GuardedRead`: when the gate holds a guess of
 * the facts (nearly always), the decision, its entry and that read are one statement — the rows come
 * back only with the entry committed by the same statement. Returns the allowed decision, for the reads
 * that follow (as in `gatedRead`), and the rows.
 */
export async function gatedSelect<A extends Action, Row>(db: Db, input: DecisionInput<A>, read: GuardedRead<A, Row>): Promise<{ decision: AllowedDecision<A>; rows: Row[] }> {
  const { decision, rows } = await decideAndRead(db, input, read);
  if (!decision.allowed) throw denialError(decision);
  return { decision, rows };
}

/**
 * `gated` for a change that is one new row a repository prepared as a `GuardedInsert`: when the gate
 * holds a guess of the facts (nearly always), the decision, its entry and the row are one autocommit
 * statement — one transaction, as `gated`'s; otherwise `gated` itself decides, traces and writes the row.
 * Returns the row.
 */
export async function gatedInsert<A extends Action, Row extends InsertRow>(db: Db, input: DecisionInput<A>, insert: GuardedInsert<A, Row>): Promise<Row> {
  if (await decideAndInsert(db, input, insert)) return insert.row;
  await gated(db, input, (tx, decision) => insertAllowed(tx, decision, insert));
  return insert.row;
}
