// The one access gate (DESIGN invariant 1): (actor, patient, action, purpose) → allowed or denied with a
// reason, and exactly one audit entry per decision, in the caller's transaction (invariant 2).
// An allowed decision is a value only this module can make; every repository that reads or writes
// patient data takes one as its first argument, so no route reaches patient data around the gate.
import { appendAuditEntry, type AuditContext } from '../audit/log.js';
import type { Queryable } from '../kernel/db.js';
import { judge, type Action, type Basis, type DenialReason, type GateFacts, type Purpose } from './rules.js';

export { ACTIONS, PURPOSES, type Action, type Basis, type DenialReason, type Purpose } from './rules.js';

/** Not exported: holding it is what "being the gate" means. */
const ISSUED_BY_GATE: unique symbol = Symbol('issued by the access gate');

export class AllowedDecision<A extends Action = Action> {
  readonly allowed = true as const;
  /** An ES private field makes the class nominal: an object literal with the same fields is not one. */
  readonly #issued = true;
  readonly actorId: string;
  readonly patientId: string;
  readonly action: A;
  readonly purpose: Purpose;
  readonly basis: Basis;
  /** The organisation where the basis holds (null for the patient themself). */
  readonly organisationId: string | null;
  readonly decidedAt: Date;

  private constructor(token: typeof ISSUED_BY_GATE, fields: Omit<AllowedDecision<A>, 'allowed'>) {
    if (token !== ISSUED_BY_GATE) throw new Error('only the access gate issues decisions');
    this.actorId = fields.actorId;
    this.patientId = fields.patientId;
    this.action = fields.action;
    this.purpose = fields.purpose;
    this.basis = fields.basis;
    this.organisationId = fields.organisationId;
    this.decidedAt = fields.decidedAt;
  }

  /** Used by decide() below; the token keeps anyone else out even at run time. */
  static issue<A extends Action>(token: typeof ISSUED_BY_GATE, fields: Omit<AllowedDecision<A>, 'allowed'>): AllowedDecision<A> {
    return new AllowedDecision(token, fields);
  }

  static isGenuine(value: unknown): value is AllowedDecision {
    return typeof value === 'object' && value !== null && #issued in value;
  }
}

export interface DeniedDecision {
  readonly allowed: false;
  readonly reason: DenialReason;
  readonly actorId: string;
  readonly patientId: string;
  readonly action: Action;
}

export type Decision<A extends Action = Action> = AllowedDecision<A> | DeniedDecision;

export interface DecisionInput<A extends Action = Action> {
  actor: { userId: string; secondFactorVerified: boolean };
  /** As requested: may be unknown, or not a patient; recorded as is. */
  patientId: string;
  action: A;
  purpose: Purpose;
  context: AuditContext;
  now: Date;
  /** What the decision is about when it is not the patient as a whole (a relationship, an opposition…). */
  resource?: { type: string; id: string };
  /** A person's written justification (break-the-glass): kept in the audit entry's reason field. */
  justification?: string;
  /** Identifiers describing the change asked for (never clinical content). */
  detail?: Record<string, string>;
}

export async function decide<A extends Action>(q: Queryable, input: DecisionInput<A>): Promise<Decision<A>> {
  const { actor, patientId, action, purpose, now } = input;
  // Without a second factor, nothing is looked up: the denial does not depend on the patient.
  const facts = actor.secondFactorVerified ? await loadFacts(q, actor.userId, patientId, now) : NO_FACTS;
  const verdict = judge(facts, { isSelf: actor.userId === patientId, secondFactorVerified: actor.secondFactorVerified, action, purpose });

  await appendAuditEntry(
    q,
    input.context,
    {
      kind: 'access',
      type: action,
      outcome: verdict.allowed ? 'allowed' : 'denied',
      actorUserId: actor.userId,
      actorRole: verdict.allowed ? verdict.basis : null,
      patientId,
      organisationId: verdict.allowed ? verdict.organisationId : null,
      resourceType: input.resource?.type ?? null,
      resourceId: input.resource?.id ?? null,
      purpose,
      reason: input.justification ?? null,
      detail: { ...input.detail, reason: verdict.allowed ? 'granted' : verdict.reason },
    },
    now,
  );

  if (!verdict.allowed) return { allowed: false, reason: verdict.reason, actorId: actor.userId, patientId, action };
  return AllowedDecision.issue<A>(ISSUED_BY_GATE, {
    actorId: actor.userId,
    patientId,
    action,
    purpose,
    basis: verdict.basis,
    organisationId: verdict.organisationId,
    decidedAt: now,
  });
}

/**
 * For repositories: refuses anything but a genuine allowed decision for one of `actions`. The types
 * already say so; this keeps a cast (`as any`) from walking around the gate at run time.
 */
export function assertDecision<A extends Action>(decision: AllowedDecision<A>, ...actions: A[]): void {
  if (!AllowedDecision.isGenuine(decision) || !actions.includes(decision.action)) {
    throw new Error(`repository reached without an allowed ${actions.join('/')} decision`);
  }
}

const NO_FACTS: GateFacts = { patientOrganisations: [], professionalRoles: [], relationships: [], emergencyAccessOpen: false, opposed: false };

async function loadFacts(q: Queryable, actorId: string, patientId: string, now: Date): Promise<GateFacts> {
  const patientRows = await q.selectFrom('member_roles').select('organisation_id').where('user_id', '=', patientId).where('role', '=', 'patient').execute();
  const patientOrganisations = patientRows.map((row) => row.organisation_id);
  if (patientOrganisations.length === 0 || actorId === patientId) return { ...NO_FACTS, patientOrganisations };

  const roleRows = await q
    .selectFrom('member_roles')
    .select(['organisation_id', 'role'])
    .where('user_id', '=', actorId)
    .where('organisation_id', 'in', patientOrganisations)
    .where('role', 'in', ['doctor', 'health_professional'])
    .execute();
  const professionalRoles = roleRows.map((row) => ({ organisationId: row.organisation_id, role: row.role as 'doctor' | 'health_professional' }));
  // Not a professional of the patient's organisations: nothing else can open anything.
  if (professionalRoles.length === 0) return { ...NO_FACTS, patientOrganisations };

  const relationshipRows = await q
    .selectFrom('care_relationships')
    .select(['kind', 'organisation_id'])
    .where('patient_id', '=', patientId)
    .where('professional_id', '=', actorId)
    .where('organisation_id', 'in', patientOrganisations)
    .where('starts_at', '<=', now)
    .where((eb) => eb.or([eb('ends_at', 'is', null), eb('ends_at', '>', now)]))
    .execute();
  const emergency = await q
    .selectFrom('emergency_accesses')
    .select('id')
    .where('actor_id', '=', actorId)
    .where('patient_id', '=', patientId)
    .where('starts_at', '<=', now)
    .where('ends_at', '>', now)
    .executeTakeFirst();
  const opposition = await q
    .selectFrom('patient_oppositions')
    .select('id')
    .where('patient_id', '=', patientId)
    .where('professional_id', '=', actorId)
    .where('withdrawn_at', 'is', null)
    .executeTakeFirst();
  return {
    patientOrganisations,
    professionalRoles,
    relationships: relationshipRows.map((row) => ({ kind: row.kind, organisationId: row.organisation_id })),
    emergencyAccessOpen: emergency !== undefined,
    opposed: opposition !== undefined,
  };
}
