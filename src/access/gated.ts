// How routes use the gate: one transaction holding the decision, its audit entry and the work it
// allows. A denial commits its trace and becomes an HTTP problem that never tells whether the patient
// exists; a refusal by the work itself (conflict, bad input) undoes the work but keeps the trace.
import { sql } from 'kysely';
import type { Db, Tx } from '../kernel/db.js';
import { AppError } from '../kernel/errors.js';
import { decide, type Action, type AllowedDecision, type DecisionInput, type DeniedDecision } from './gate.js';

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
