// What a route asks the gate: the signed-in actor (and whether their second factor is proven), the
// patient, the action, the purpose — the patient's own data when the actor is the patient — and the
// request's trace context. One builder, so every route asks alike.
import type { FastifyRequest } from 'fastify';
import { sessionOf } from '../identity/guard.js';
import { contextOf } from '../kernel/http.js';
import type { DecisionInput } from './gate.js';
import type { Action, Purpose } from './rules.js';

export type AskExtra<A extends Action> = Pick<DecisionInput<A>, 'resource' | 'justification' | 'detail'>;

/** `purpose` defaults to 'patient_self' for the patient themself and 'care' for anyone else. */
export function askGate<A extends Action>(request: FastifyRequest, now: Date, patientId: string, action: A, purpose?: Purpose, extra: AskExtra<A> = {}): DecisionInput<A> {
  const session = sessionOf(request);
  return {
    actor: { userId: session.userId, secondFactorVerified: session.secondFactorAt !== null },
    patientId,
    action,
    purpose: purpose ?? (patientId === session.userId ? 'patient_self' : 'care'),
    context: contextOf(request),
    now,
    ...extra,
  };
}
