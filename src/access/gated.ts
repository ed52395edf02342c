// How routes use the gate: one transaction holding the decision, its audit entry and the work it
// allows. A denial commits its trace and becomes an HTTP problem that never tells whether the patient
// exists; a refusal by the work itself (conflict, bad input) undoes the work but keeps the trace.
import { sql } from 'kysely';
import type { Db, Tx } from '../kernel/db.js';
import { AppError } from '../kernel/errors.js';
import { decide, traceAgain, type Action, type AllowedDecision, type Decision, type DecisionInput, type DeniedDecision } from './gate.js';

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
 * `gated` for work that only reads: the same transaction (the decision's entry and the reads commit
 * together, before anything is returned), without the savepoint, which only a change needs. When the
 * work fails, the transaction rolls back with the decision's entry in it (a failed SQL statement aborts
 * the whole transaction): the entry is then written again, alone, before the error goes up — the
 * decision was taken, so it stays traced, exactly once.
 */
export async function gatedRead<A extends Action, T>(db: Db, input: DecisionInput<A>, work: (tx: Tx, decision: AllowedDecision<A>) => Promise<T>): Promise<T> {
  let decision: Decision<A> | undefined;
  let outcome: Outcome<T>;
  try {
    outcome = await db.transaction().execute(async (tx): Promise<Outcome<T>> => {
      decision = await decide(tx, input);
      if (!decision.allowed) return { kind: 'refused', error: denialError(decision) };
      return { kind: 'done', value: await work(tx, decision) };
    });
  } catch (error) {
    // No decision: nothing was decided nor traced (as when `gated` fails before its work).
    if (decision === undefined) throw error;
    await traceAgain(db, input, decision);
    throw error;
  }
  if (outcome.kind === 'refused') throw outcome.error;
  return outcome.value;
}
