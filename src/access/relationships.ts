// Changes to the relationships and oppositions that open (or close) a patient's data. Each function
// takes the gate's allowed decision for the change; the decision's audit entry, written in the same
// transaction, is the trace of the change. All checks come before the first write.
import { sql } from 'kysely';
import type { Queryable } from '../kernel/db.js';
import { AppError } from '../kernel/errors.js';
import type { Role } from '../kernel/schema.js';
import { assertDecision, type AllowedDecision } from './gate.js';

export interface NewLink {
  /** Chosen by the caller before the decision, so the audit entry names the row it creates. */
  id: string;
  professionalId: string;
  now: Date;
}

/** Ends rows at `now`, or just after their start when created in the same instant (CHECK ends_at > starts_at). */
const endsNow = (now: Date) => sql<Date>`greatest(${now}, starts_at + interval '1 millisecond')`;

/**
 * The organisation through which `professionalId` may be linked to the patient: one where the patient
 * is a patient and the professional holds one of `roles`. The gate's organisation is preferred.
 */
async function sharedOrganisation(q: Queryable, patientId: string, professionalId: string, roles: Role[], preferred: string | null): Promise<string> {
  const rows = await q
    .selectFrom('member_roles as professional')
    .innerJoin('member_roles as patient', 'patient.organisation_id', 'professional.organisation_id')
    .select('professional.organisation_id')
    .where('professional.user_id', '=', professionalId)
    .where('professional.role', 'in', roles)
    .where('patient.user_id', '=', patientId)
    .where('patient.role', '=', 'patient')
    .execute();
  const organisations = rows.map((row) => row.organisation_id);
  if (organisations.length === 0) {
    throw new AppError(
      'validation_failed',
      { fr: 'Ce professionnel n’exerce pas dans vos établissements.', en: 'This professional does not practise in the patient’s organisations.' },
      { extra: { errors: [{ pointer: '/professionalId', message: 'not a professional of the patient’s organisations' }] } },
    );
  }
  return preferred && organisations.includes(preferred) ? preferred : organisations[0]!;
}

async function assertNotOpposed(q: Queryable, patientId: string, professionalId: string): Promise<void> {
  const opposition = await q
    .selectFrom('patient_oppositions')
    .select('id')
    .where('patient_id', '=', patientId)
    .where('professional_id', '=', professionalId)
    .where('withdrawn_at', 'is', null)
    .executeTakeFirst();
  if (opposition) {
    throw new AppError('conflict', {
      fr: 'Le patient s’oppose au partage avec ce professionnel : levez d’abord l’opposition.',
      en: 'The patient opposes sharing with this professional: withdraw the opposition first.',
    });
  }
}

function requireSelf(decision: AllowedDecision, what: string): void {
  // Declaring the attending doctor and consent are the patient's own choices, never a professional's.
  if (decision.basis !== 'self') throw new AppError('forbidden', { fr: `Seul le patient peut ${what}.`, en: `Only the patient can ${what}.` });
}

/** The patient chooses their attending doctor; any previous one stops being attending at once. */
export async function declareAttendingDoctor(q: Queryable, decision: AllowedDecision<'care_team.manage'>, link: NewLink): Promise<void> {
  assertDecision(decision, 'care_team.manage');
  requireSelf(decision, 'déclarer son médecin traitant');
  const organisationId = await sharedOrganisation(q, decision.patientId, link.professionalId, ['doctor'], null);
  await assertNotOpposed(q, decision.patientId, link.professionalId);
  const current = await q
    .selectFrom('care_relationships')
    .select(['id', 'professional_id'])
    .where('patient_id', '=', decision.patientId)
    .where('kind', '=', 'attending_doctor')
    .where((eb) => eb.or([eb('ends_at', 'is', null), eb('ends_at', '>', link.now)]))
    .forUpdate()
    .execute();
  if (current.some((row) => row.professional_id === link.professionalId)) {
    throw new AppError('conflict', { fr: 'Ce médecin est déjà votre médecin traitant.', en: 'This doctor already is the attending doctor.' });
  }
  if (current.length > 0) {
    await q
      .updateTable('care_relationships')
      .set({ ends_at: endsNow(link.now), ended_by: decision.actorId })
      .where('id', 'in', current.map((row) => row.id))
      .execute();
  }
  await q
    .insertInto('care_relationships')
    .values({ id: link.id, patient_id: decision.patientId, professional_id: link.professionalId, organisation_id: organisationId, kind: 'attending_doctor', starts_at: link.now, created_by: decision.actorId })
    .execute();
}

/** Adds a doctor or health professional to the care team (by the patient or the attending doctor). */
export async function addCareTeamMember(q: Queryable, decision: AllowedDecision<'care_team.manage'>, link: NewLink): Promise<void> {
  assertDecision(decision, 'care_team.manage');
  const organisationId = await sharedOrganisation(q, decision.patientId, link.professionalId, ['doctor', 'health_professional'], decision.organisationId);
  await assertNotOpposed(q, decision.patientId, link.professionalId);
  const existing = await q
    .selectFrom('care_relationships')
    .select('id')
    .where('patient_id', '=', decision.patientId)
    .where('professional_id', '=', link.professionalId)
    .where('kind', '=', 'care_team')
    .where((eb) => eb.or([eb('ends_at', 'is', null), eb('ends_at', '>', link.now)]))
    .executeTakeFirst();
  if (existing) throw new AppError('conflict', { fr: 'Ce professionnel est déjà dans l’équipe de soins.', en: 'This professional already is in the care team.' });
  await q
    .insertInto('care_relationships')
    .values({ id: link.id, patient_id: decision.patientId, professional_id: link.professionalId, organisation_id: organisationId, kind: 'care_team', starts_at: link.now, created_by: decision.actorId })
    .execute();
}

/** Ends an active relationship at once. The patient ends any; the attending doctor ends care-team ones. */
export async function endRelationship(q: Queryable, decision: AllowedDecision<'care_team.manage'>, relationshipId: string, now: Date): Promise<void> {
  assertDecision(decision, 'care_team.manage');
  const row = await q
    .selectFrom('care_relationships')
    .select(['id', 'kind'])
    .where('id', '=', relationshipId)
    .where('patient_id', '=', decision.patientId)
    .where((eb) => eb.or([eb('ends_at', 'is', null), eb('ends_at', '>', now)]))
    .forUpdate()
    .executeTakeFirst();
  if (!row) throw new AppError('not_found');
  if (decision.basis !== 'self' && row.kind !== 'care_team') {
    throw new AppError('forbidden', { fr: 'Le médecin traitant ne retire que des membres de l’équipe de soins.', en: 'The attending doctor removes care-team members only.' });
  }
  await q.updateTable('care_relationships').set({ ends_at: endsNow(now), ended_by: decision.actorId }).where('id', '=', row.id).execute();
}

/** The patient opposes sharing with one professional: it closes that professional's care access at once. */
export async function opposeProfessional(q: Queryable, decision: AllowedDecision<'consent.manage'>, link: NewLink): Promise<void> {
  assertDecision(decision, 'consent.manage');
  requireSelf(decision, 's’opposer au partage');
  await sharedOrganisation(q, decision.patientId, link.professionalId, ['doctor', 'health_professional'], null);
  const existing = await q
    .selectFrom('patient_oppositions')
    .select('id')
    .where('patient_id', '=', decision.patientId)
    .where('professional_id', '=', link.professionalId)
    .where('withdrawn_at', 'is', null)
    .executeTakeFirst();
  if (existing) throw new AppError('conflict', { fr: 'Vous vous opposez déjà au partage avec ce professionnel.', en: 'An opposition to this professional already exists.' });
  await q.insertInto('patient_oppositions').values({ id: link.id, patient_id: decision.patientId, professional_id: link.professionalId, created_at: link.now }).execute();
}

export async function withdrawOpposition(q: Queryable, decision: AllowedDecision<'consent.manage'>, oppositionId: string, now: Date): Promise<void> {
  assertDecision(decision, 'consent.manage');
  requireSelf(decision, 'lever une opposition');
  const result = await q
    .updateTable('patient_oppositions')
    .set({ withdrawn_at: now })
    .where('id', '=', oppositionId)
    .where('patient_id', '=', decision.patientId)
    .where('withdrawn_at', 'is', null)
    .executeTakeFirst();
  if (result.numUpdatedRows === 0n) throw new AppError('not_found');
}
