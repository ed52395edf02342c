// Reads of patient data for the access capability: the patient's own view of who can open their data,
// and a professional's view of a patient (identity traits, INS status, care team). Each read takes
// the gate's allowed decision for it.
import { sql } from 'kysely';
import type { Db, Queryable } from '../kernel/db.js';
import { AppError } from '../kernel/errors.js';
import { assertDecision, GuardedRead, type AllowedDecision, type DecisionInput } from './gate.js';
import { gatedSelect } from './gated.js';

export interface ProfessionalView {
  id: string;
  displayName: string;
  profession: string | null;
  rpps: string | null;
}

export interface RelationshipView {
  id: string;
  kind: string;
  professional: ProfessionalView;
  startsAt: string;
  endsAt: string | null;
  active: boolean;
}

const isActive = (startsAt: Date, endsAt: Date | null, now: Date) => startsAt <= now && (endsAt === null || endsAt > now);

function professionalOf(row: { pro_id: string; pro_name: string; pro_profession: string | null; pro_rpps: string | null }): ProfessionalView {
  return { id: row.pro_id, displayName: row.pro_name, profession: row.pro_profession, rpps: row.pro_rpps };
}

async function relationshipsOf(q: Queryable, patientId: string, now: Date, activeOnly: boolean): Promise<RelationshipView[]> {
  return (await relationshipsOfPatients(q, [patientId], now, activeOnly)).get(patientId) ?? [];
}

/** Each patient's relationships, newest first, in one statement (a list of patients reads them all at once). */
async function relationshipsOfPatients(q: Queryable, patientIds: string[], now: Date, activeOnly: boolean): Promise<Map<string, RelationshipView[]>> {
  const byPatient = new Map<string, RelationshipView[]>();
  if (patientIds.length === 0) return byPatient;
  let query = q
    .selectFrom('care_relationships')
    .innerJoin('users', 'users.id', 'care_relationships.professional_id')
    .select(['care_relationships.id', 'patient_id', 'kind', 'starts_at', 'ends_at', 'users.id as pro_id', 'users.display_name as pro_name', 'users.profession as pro_profession', 'users.rpps as pro_rpps'])
    .where('patient_id', 'in', patientIds);
  if (activeOnly) query = query.where('starts_at', '<=', now).where((eb) => eb.or([eb('ends_at', 'is', null), eb('ends_at', '>', now)]));
  const rows = await query.orderBy('starts_at', 'desc').orderBy('care_relationships.id').execute();
  for (const row of rows) {
    const relationships = byPatient.get(row.patient_id) ?? [];
    relationships.push({
      id: row.id,
      kind: row.kind,
      professional: professionalOf(row),
      startsAt: row.starts_at.toISOString(),
      endsAt: row.ends_at?.toISOString() ?? null,
      active: isActive(row.starts_at, row.ends_at, now),
    });
    byPatient.set(row.patient_id, relationships);
  }
  return byPatient;
}

/** The patient's page "who can open my data": every relationship, opposition and emergency access. */
export async function careOverview(q: Queryable, decision: AllowedDecision<'care_team.read'>, now: Date) {
  assertDecision(decision, 'care_team.read');
  const patientId = decision.patientId;
  const oppositions = await q
    .selectFrom('patient_oppositions')
    .innerJoin('users', 'users.id', 'patient_oppositions.professional_id')
    .select(['patient_oppositions.id', 'patient_oppositions.created_at', 'patient_oppositions.withdrawn_at', 'users.id as pro_id', 'users.display_name as pro_name', 'users.profession as pro_profession', 'users.rpps as pro_rpps'])
    .where('patient_oppositions.patient_id', '=', patientId)
    .orderBy('patient_oppositions.created_at', 'desc')
    .execute();
  const emergencies = await q
    .selectFrom('emergency_accesses')
    .innerJoin('users', 'users.id', 'emergency_accesses.actor_id')
    .select(['emergency_accesses.id', 'reason', 'starts_at', 'ends_at', 'users.id as pro_id', 'users.display_name as pro_name', 'users.profession as pro_profession', 'users.rpps as pro_rpps'])
    .where('patient_id', '=', patientId)
    .orderBy('starts_at', 'desc')
    .execute();
  return {
    relationships: await relationshipsOf(q, patientId, now, false),
    oppositions: oppositions.map((row) => ({
      id: row.id,
      professional: professionalOf(row),
      createdAt: row.created_at.toISOString(),
      withdrawnAt: row.withdrawn_at?.toISOString() ?? null,
      active: row.withdrawn_at === null,
    })),
    // The reason is the patient's to read: the doctor wrote it to justify opening their record.
    emergencyAccesses: emergencies.map((row) => ({
      id: row.id,
      actor: professionalOf(row),
      reason: row.reason,
      startsAt: row.starts_at.toISOString(),
      endsAt: row.ends_at.toISOString(),
      active: isActive(row.starts_at, row.ends_at, now),
    })),
  };
}

/** Doctors and health professionals of the patient's organisations, to choose a care team from. */
/** The patient's own list (`care_team.read`, patient_self), or the attending doctor's (`care_team.manage`). */
export async function professionalsForPatient(q: Queryable, decision: AllowedDecision<'care_team.read' | 'care_team.manage'>) {
  assertDecision(decision, 'care_team.read', 'care_team.manage');
  const rows = await q
    .selectFrom('member_roles as patient')
    .innerJoin('member_roles as professional', 'professional.organisation_id', 'patient.organisation_id')
    .innerJoin('users', 'users.id', 'professional.user_id')
    .innerJoin('organisations', 'organisations.id', 'professional.organisation_id')
    .select(['users.id', 'users.display_name', 'users.profession', 'users.rpps', 'professional.role', 'organisations.id as organisation_id', 'organisations.name as organisation_name'])
    .where('patient.user_id', '=', decision.patientId)
    .where('patient.role', '=', 'patient')
    .where('professional.role', 'in', ['doctor', 'health_professional'])
    .orderBy('users.display_name')
    .orderBy('users.id')
    .execute();
  const byKey = new Map<string, ProfessionalView & { roles: string[]; organisationId: string; organisationName: string }>();
  for (const row of rows) {
    const key = `${row.id}/${row.organisation_id}`;
    const entry = byKey.get(key) ?? { id: row.id, displayName: row.display_name, profession: row.profession, rpps: row.rpps, roles: [], organisationId: row.organisation_id, organisationName: row.organisation_name };
    entry.roles.push(row.role);
    byKey.set(key, entry);
  }
  return { professionals: [...byKey.values()] };
}

// A date as written (YYYY-MM-DD): the drivers would turn it into a local-midnight Date.
const identitiesOf = (q: Queryable, patientIds: string[]) =>
  q
    .selectFrom('users')
    .innerJoin('patient_identities', 'patient_identities.user_id', 'users.id')
    .select(['users.id', 'users.display_name', 'birth_name', 'first_names', sql<string>`to_char(birth_date, 'YYYY-MM-DD')`.as('birth_date'), 'sex', 'birthplace_code', 'ins_nir', 'identity_status'])
    .where('users.id', 'in', patientIds);
type IdentityRow = Awaited<ReturnType<ReturnType<typeof identitiesOf>['executeTakeFirstOrThrow']>>;

/** What a professional sees of a patient: identity traits, INS status and the active care team. */
export async function patientSummary(q: Queryable, decision: AllowedDecision<'patient.read'>, now: Date) {
  assertDecision(decision, 'patient.read');
  return summaryOf(q, decision, await identitiesOf(q, [decision.patientId]).executeTakeFirst(), now);
}

/**
 * `patientSummary` of each allowed patient of a list, in its order, in two statements. A patient without
 * identity traits (a data fault: every way of creating a patient records them) is left out, so that one
 * such patient does not empty the whole list.
 */
export async function patientSummaries(q: Queryable, decisions: ReadonlyArray<AllowedDecision<'patient.read'>>, now: Date) {
  for (const decision of decisions) assertDecision(decision, 'patient.read');
  const patientIds = decisions.map((decision) => decision.patientId);
  if (patientIds.length === 0) return [];
  const identities = new Map((await identitiesOf(q, patientIds).execute()).map((row) => [row.id, row]));
  const careTeams = await relationshipsOfPatients(q, patientIds, now, true);
  return decisions.flatMap((decision) => {
    const row = identities.get(decision.patientId);
    return row ? [summaryFrom(decision, row, careTeams.get(decision.patientId) ?? [])] : [];
  });
}

/** `patientSummary` behind the gate, its identity read in the decision's own statement (`gatedSelect`). */
export async function readPatientSummary(db: Db, input: DecisionInput<'patient.read'>) {
  const { decision, rows } = await gatedSelect(db, input, new GuardedRead(['patient.read'], input.patientId, identitiesOf(db, [input.patientId])));
  return summaryOf(db, decision, rows[0], input.now);
}

async function summaryOf(q: Queryable, decision: AllowedDecision<'patient.read'>, row: IdentityRow | undefined, now: Date) {
  assertDecision(decision, 'patient.read');
  // A person the gate let through has an identity; without one there is nothing to show.
  if (!row) throw new AppError('not_found');
  return summaryFrom(decision, row, await relationshipsOf(q, decision.patientId, now, true));
}

function summaryFrom(decision: AllowedDecision<'patient.read'>, row: IdentityRow, careTeam: RelationshipView[]) {
  return {
    id: row.id,
    displayName: row.display_name,
    identity: { birthName: row.birth_name, firstNames: row.first_names, birthDate: row.birth_date, sex: row.sex, birthplaceCode: row.birthplace_code },
    ins: { status: row.identity_status, nir: row.ins_nir },
    access: { basis: decision.basis, purpose: decision.purpose },
    careTeam,
  };
}

/**
 * Patients with an active relationship to this professional, not opposed: whom to ask the gate about.
 * Only ids leave this query; each patient's data is read after a decision of its own.
 */
export async function candidatePatients(q: Queryable, professionalId: string, now: Date): Promise<string[]> {
  const rows = await q
    .selectFrom('care_relationships')
    .select('patient_id')
    .distinct()
    .where('professional_id', '=', professionalId)
    .where('starts_at', '<=', now)
    .where((eb) => eb.or([eb('ends_at', 'is', null), eb('ends_at', '>', now)]))
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('patient_oppositions').select('id').whereRef('patient_oppositions.patient_id', '=', 'care_relationships.patient_id').where('patient_oppositions.professional_id', '=', professionalId).where('withdrawn_at', 'is', null))),
    )
    .orderBy('patient_id')
    .execute();
  return rows.map((row) => row.patient_id);
}
