// Patient/$everything: all that the record holds about one patient, as one FHIR Bundle, for the patient's
// own export (GET /api/me/export, with their prescriptions' and reports' PDFs, in a zip) and for a professional the
// gate lets read the record. One gate decision (record.read) covers it and traces it as an export.
import { assertDecision, type AllowedDecision } from '../access/gate.js';
import type { Queryable } from '../kernel/db.js';
import type { Envelope } from '../kernel/envelope.js';
import { sql } from 'kysely';
import { medicationRequestsOf, serviceRequestsOf } from '../prescriptions/fhir.js';
import { prescriptionsOfPatient, type PrescriptionRecord } from '../prescriptions/prescriptions.js';
import { conditionsOf } from '../records/conditions.js';
import { documentsOfPatient, summarise } from '../records/documents.js';
import { observationsOf } from '../records/observations.js';
import { compositionResource } from '../reports/fhir.js';
import { signedReportsOfPatient, type ReportRecord } from '../reports/reports.js';
import { observationResource } from './observations.js';
import { allergyResource, conditionResource, documentReferenceResource, encounterResource, organizationResource, patientResource, practitionerResource, type Resource } from './resources.js';

/** The patient's identity row as patientResource takes it (birth date as text). */
export function patientRow(q: Queryable, id: string) {
  return q
    .selectFrom('patient_identities')
    .select(['user_id as id', 'birth_name', 'first_names', sql<string>`to_char(birth_date, 'YYYY-MM-DD')`.as('birth_date'), 'sex', 'birthplace_code', 'ins_nir', 'identity_status'])
    .where('user_id', '=', id)
    .executeTakeFirst();
}

export interface Everything {
  bundle: Record<string, unknown>;
  prescriptions: PrescriptionRecord[];
  /** Signed report versions (drafts stay with their author). */
  reports: ReportRecord[];
}

export async function patientEverything(q: Queryable, decision: AllowedDecision<'record.read'>, envelope: Envelope, publicUrl: string, now: Date): Promise<Everything> {
  assertDecision(decision, 'record.read');
  const patientId = decision.patientId;
  const identity = await patientRow(q, patientId);
  const consultations = await q
    .selectFrom('consultations')
    .select(['id', 'organisation_id', 'doctor_id', 'patient_id', 'status', 'mode', 'starts_at', 'ends_at', 'admitted_at', 'ended_at'])
    .where('patient_id', '=', patientId)
    .orderBy('starts_at')
    .execute();
  const observations = await observationsOf(q, decision, {});
  const prescriptions = await prescriptionsOfPatient(q, decision, envelope, { from: null, to: null });
  const reports = (await signedReportsOfPatient(q, decision, envelope)).records;
  const documents = (await documentsOfPatient(q, decision, { limit: 100_000, offset: 0 })).documents;
  const conditions = (await conditionsOf(q, decision, envelope)).records;

  // The professionals and organisations these name, so that the Bundle stands on its own.
  const practitionerIds = new Set<string>([...consultations.map((c) => c.doctor_id), ...prescriptions.map((p) => p.content.prescriber.id), ...reports.flatMap((r) => (r.authorId ? [r.authorId] : []))]);
  for (const row of observations.rows) if (row.author_id && row.author_id !== patientId) practitionerIds.add(row.author_id);
  for (const document of documents) if (document.uploadedBy && document.uploadedBy !== patientId) practitionerIds.add(document.uploadedBy);
  for (const condition of conditions) if (condition.authorId && condition.authorId !== patientId) practitionerIds.add(condition.authorId);
  const organisationIds = new Set<string>([...consultations.map((c) => c.organisation_id)]);
  const organisationsOfPatient = await q.selectFrom('member_roles').select('organisation_id').where('user_id', '=', patientId).where('role', '=', 'patient').execute();
  for (const row of organisationsOfPatient) organisationIds.add(row.organisation_id);
  const practitioners = practitionerIds.size === 0 ? [] : await q.selectFrom('users').select(['id', 'display_name', 'rpps', 'profession']).where('id', 'in', [...practitionerIds]).orderBy('id').execute();
  const organisations = organisationIds.size === 0 ? [] : await q.selectFrom('organisations').select(['id', 'name', 'finess']).where('id', 'in', [...organisationIds]).orderBy('id').execute();

  const resources: Resource[] = [
    ...(identity ? [patientResource(identity)] : []),
    ...organisations.map(organizationResource),
    ...practitioners.map(practitionerResource),
    ...consultations.map((row) => encounterResource({ ...row, patient_id: patientId }, publicUrl)),
    ...observations.rows.map(observationResource),
    ...(prescriptions.flatMap((record) => [...medicationRequestsOf(record, publicUrl), ...serviceRequestsOf(record, publicUrl)]) as Resource[]),
    ...reports.map((record) => compositionResource(record, publicUrl)),
    ...conditions.map((record) => (record.category === 'allergy' ? allergyResource(record) : conditionResource(record))),
    ...(await Promise.all(documents.map(async (document) => documentReferenceResource(document, (await summarise(envelope, document)).fileName, publicUrl)))),
  ];
  return {
    prescriptions,
    reports,
    bundle: {
      resourceType: 'Bundle',
      type: 'searchset',
      timestamp: now.toISOString(),
      total: resources.length,
      link: [{ relation: 'self', url: `${publicUrl}/fhir/R4/Patient/${patientId}/$everything` }],
      entry: resources.map((resource) => ({ fullUrl: `${publicUrl}/fhir/R4/${resource.resourceType}/${resource.id}`, resource, search: { mode: resource.resourceType === 'Patient' ? 'match' : 'include' } })),
    },
  };
}
