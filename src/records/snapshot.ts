// Who wrote a document, where, and for whom, as printed on it: read once when the document is signed and
// kept with it, so a later change of name, RPPS or identity status does not rewrite a signed paper.
import { sql } from 'kysely';
import type { Queryable } from '../kernel/db.js';
import type { IdentityStatus } from '../kernel/schema.js';
import { AppError } from '../kernel/errors.js';

export interface ProfessionalSnapshot {
  id: string;
  name: string;
  profession: string | null;
  rpps: string | null;
}

export interface OrganisationSnapshot {
  id: string;
  name: string;
  finess: string | null;
}

export interface PatientSnapshot {
  id: string;
  firstNames: string;
  birthName: string;
  birthDate: string;
  sex: 'F' | 'M' | 'U';
  /** The INS (NIR) only when the identity is qualified (RNIV): otherwise it must not be used. */
  insNir: string | null;
  identityStatus: IdentityStatus;
}

export async function professionalSnapshot(q: Queryable, userId: string): Promise<ProfessionalSnapshot> {
  const row = await q.selectFrom('users').select(['display_name', 'profession', 'rpps']).where('id', '=', userId).executeTakeFirstOrThrow();
  return { id: userId, name: row.display_name, profession: row.profession, rpps: row.rpps };
}

export async function organisationSnapshot(q: Queryable, organisationId: string): Promise<OrganisationSnapshot> {
  const row = await q.selectFrom('organisations').select(['name', 'finess']).where('id', '=', organisationId).executeTakeFirstOrThrow();
  return { id: organisationId, name: row.name, finess: row.finess };
}

/** The patient's identity; refused (422) when it is incomplete, as nothing can be signed for nobody. */
export async function patientSnapshot(q: Queryable, patientId: string): Promise<PatientSnapshot> {
  const identity = await q
    .selectFrom('patient_identities')
    .select(['first_names', 'birth_name', sql<string>`to_char(birth_date, 'YYYY-MM-DD')`.as('birth_date'), 'sex', 'ins_nir', 'identity_status'])
    .where('user_id', '=', patientId)
    .executeTakeFirst();
  if (!identity) throw new AppError('validation_failed', { fr: 'L’identité du patient est incomplète.', en: 'The patient’s identity is incomplete.' });
  return {
    id: patientId,
    firstNames: identity.first_names,
    birthName: identity.birth_name,
    birthDate: identity.birth_date,
    sex: identity.sex,
    insNir: identity.identity_status === 'qualified' ? identity.ins_nir : null,
    identityStatus: identity.identity_status,
  };
}
