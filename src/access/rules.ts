// The access rules as data and one pure function: given the facts the gate loaded about an actor and a
// patient, which basis (if any) opens an action for a purpose. Kept apart from the database so the
// whole table reads in one screen and can be reasoned about (and tested) without I/O.
import type { RelationshipKind } from '../kernel/schema.js';

export const ACTIONS = [
  'patient.read',
  'care_team.read',
  'care_team.manage',
  'access_history.read',
  'consent.manage',
  'record.read',
  'record.write',
  'emergency_access.open',
  'consultation.schedule',
  'consultation.join',
] as const;
export type Action = (typeof ACTIONS)[number];

export const PURPOSES = ['care', 'patient_self', 'emergency'] as const;
export type Purpose = (typeof PURPOSES)[number];

/** Why an allowed decision was allowed: the patient themself, a care relationship, or an emergency. */
export type Basis = 'self' | RelationshipKind | 'break_the_glass';

export const DENIAL_REASONS = ['second_factor_required', 'no_relationship', 'purpose_mismatch', 'opposed', 'action_not_permitted', 'outside_scope'] as const;
export type DenialReason = (typeof DENIAL_REASONS)[number];

const DOCTOR_CARE: readonly Action[] = ['patient.read', 'care_team.read', 'record.read', 'record.write', 'consultation.schedule', 'consultation.join'];
/** A nurse or another professional may be at the patient's side during a call, never book one for them. */
const PROFESSIONAL_CARE: readonly Action[] = ['patient.read', 'care_team.read', 'record.read', 'consultation.join'];

/** The patient themself: everything on their own data, except breaking their own glass. */
export const SELF_ACTIONS: readonly Action[] = ACTIONS.filter((action) => action !== 'emergency_access.open');

/** What a relationship of each kind opens, by the professional's role in the relationship's organisation. */
export const RELATIONSHIP_GRANTS: Record<'doctor' | 'health_professional', Record<RelationshipKind, readonly Action[]>> = {
  doctor: {
    attending_doctor: [...DOCTOR_CARE, 'care_team.manage'],
    care_team: DOCTOR_CARE,
    consultation: DOCTOR_CARE,
    expertise: DOCTOR_CARE,
    monitoring: DOCTOR_CARE,
  },
  // A health professional cannot be an attending doctor, and téléexpertise is asked of doctors.
  health_professional: {
    attending_doctor: [],
    care_team: PROFESSIONAL_CARE,
    consultation: PROFESSIONAL_CARE,
    expertise: [],
    monitoring: PROFESSIONAL_CARE,
  },
};

/** An open emergency access (break-the-glass) reads, never writes nor manages. */
export const EMERGENCY_ACTIONS: readonly Action[] = ['patient.read', 'care_team.read', 'record.read'];

export function purposeOf(basis: Basis): Purpose {
  if (basis === 'self') return 'patient_self';
  if (basis === 'break_the_glass') return 'emergency';
  return 'care';
}

/** Strongest first, so the audit names the relationship that matters most. */
const BASIS_PRIORITY: readonly Basis[] = ['self', 'attending_doctor', 'care_team', 'consultation', 'expertise', 'monitoring', 'break_the_glass'];

/** What the gate knows about (actor, patient) at the decision's instant. */
export interface GateFacts {
  /** Organisations where the requested id is a patient; empty for an unknown id or a non-patient. */
  patientOrganisations: string[];
  /** The actor's professional roles in those organisations (org_admin and security_officer never count). */
  professionalRoles: Array<{ organisationId: string; role: 'doctor' | 'health_professional' }>;
  /** Active relationships (starts_at ≤ now < ends_at) between this actor and this patient. */
  relationships: Array<{ kind: RelationshipKind; organisationId: string }>;
  /** An emergency access of this actor on this patient is open now. */
  emergencyAccessOpen: boolean;
  /** The patient opposes sharing with this actor. */
  opposed: boolean;
}

export interface DecisionRequest {
  isSelf: boolean;
  secondFactorVerified: boolean;
  action: Action;
  purpose: Purpose;
}

export type Verdict =
  | { allowed: true; basis: Basis; organisationId: string | null }
  | { allowed: false; reason: DenialReason };

const deny = (reason: DenialReason): Verdict => ({ allowed: false, reason });

export function judge(facts: GateFacts, request: DecisionRequest): Verdict {
  const { action, purpose } = request;
  if (!request.secondFactorVerified) return deny('second_factor_required');
  // Unknown id, not a patient: the same answer as a patient without relationship (no existence oracle).
  if (facts.patientOrganisations.length === 0) return deny('no_relationship');
  if (request.isSelf) {
    if (!SELF_ACTIONS.includes(action)) return deny('action_not_permitted');
    return purpose === 'patient_self' ? { allowed: true, basis: 'self', organisationId: null } : deny('purpose_mismatch');
  }
  const doctorOrganisations = facts.professionalRoles.filter((entry) => entry.role === 'doctor').map((entry) => entry.organisationId);

  // Any doctor of the patient's organisation may break the glass, with or without a relationship, even
  // when opposed: the emergency wins, and it is shown to the patient and opens an incident.
  if (action === 'emergency_access.open') {
    if (doctorOrganisations.length === 0) return deny('no_relationship');
    if (purpose !== 'emergency') return deny('purpose_mismatch');
    return { allowed: true, basis: 'break_the_glass', organisationId: doctorOrganisations[0]! };
  }

  const bases: Array<{ basis: Basis; organisationId: string; actions: readonly Action[] }> = [];
  for (const relationship of facts.relationships) {
    const rolesThere = facts.professionalRoles.filter((entry) => entry.organisationId === relationship.organisationId);
    const actions = new Set(rolesThere.flatMap((entry) => RELATIONSHIP_GRANTS[entry.role][relationship.kind]));
    if (actions.size > 0) bases.push({ basis: relationship.kind, organisationId: relationship.organisationId, actions: [...actions] });
  }
  if (facts.emergencyAccessOpen && doctorOrganisations.length > 0) {
    bases.push({ basis: 'break_the_glass', organisationId: doctorOrganisations[0]!, actions: EMERGENCY_ACTIONS });
  }
  if (bases.length === 0) return deny('no_relationship');

  const forPurpose = bases.filter((candidate) => purposeOf(candidate.basis) === purpose);
  if (forPurpose.length === 0) return deny('purpose_mismatch');
  // An opposition closes every care relationship of that professional; break-the-glass stays open.
  if (purpose === 'care' && facts.opposed) return deny('opposed');
  const granting = forPurpose
    .filter((candidate) => candidate.actions.includes(action))
    .sort((a, b) => BASIS_PRIORITY.indexOf(a.basis) - BASIS_PRIORITY.indexOf(b.basis));
  const chosen = granting[0];
  if (!chosen) return deny('action_not_permitted');
  return { allowed: true, basis: chosen.basis, organisationId: chosen.organisationId };
}
