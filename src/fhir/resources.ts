// Our rows as FHIR R4 resources following the French FR Core profiles where they are published
// (docs/research/issue-5-fhir-fr-core.md): identifier systems and type codes from FR Core, INS only for
// a qualified identity, the RNIV identity status in the fr-core-identity-reliability extension.
import type { ConsultationMode, ConsultationStatus, IdentityStatus } from '../kernel/schema.js';

export type Resource = Record<string, unknown> & { resourceType: string; id: string };

export const FR_CORE = 'https://hl7.fr/ig/fhir/core';
const FR_CORE_V2_0203 = `${FR_CORE}/CodeSystem/fr-core-cs-v2-0203`;
export const SYSTEMS = {
  insNir: 'urn:oid:1.2.250.1.213.1.4.8',
  rpps: 'https://rpps.esante.gouv.fr',
  idnps: 'urn:oid:1.2.250.1.71.4.2.1',
  finess: 'https://finess.esante.gouv.fr',
} as const;

/** RNIV identity statuses (provisoire, récupérée, validée, qualifiée), FR Core's newest CodeSystem. */
const IDENTITY_STATUS_CODES: Record<IdentityStatus, { code: string; display: string }> = {
  provisional: { code: 'PROV', display: 'Identité provisoire' },
  retrieved: { code: 'RECUP', display: 'Identité récupérée' },
  validated: { code: 'VALI', display: 'Identité validée' },
  qualified: { code: 'QUAL', display: 'Identité qualifiée' },
};

export interface PatientRow {
  id: string;
  birth_name: string;
  first_names: string;
  birth_date: string;
  sex: 'F' | 'M' | 'U';
  /** INSEE code of the birthplace; null when the row comes from a snapshot that did not keep it. */
  birthplace_code: string | null;
  ins_nir: string | null;
  identity_status: IdentityStatus;
}

export function patientResource(row: PatientRow): Resource {
  const qualified = row.identity_status === 'qualified' && row.ins_nir !== null;
  const given = row.first_names.split(/\s+/).filter(Boolean);
  return {
    resourceType: 'Patient',
    id: row.id,
    meta: { profile: [`${FR_CORE}/StructureDefinition/${qualified ? 'fr-core-patient-ins' : 'fr-core-patient'}`] },
    extension: [
      {
        url: `${FR_CORE}/StructureDefinition/fr-core-identity-reliability`,
        extension: [{ url: 'identityStatus', valueCoding: { system: `${FR_CORE}/CodeSystem/fr-core-cs-identity-status`, ...IDENTITY_STATUS_CODES[row.identity_status] } }],
      },
      ...(row.birthplace_code
        ? [
            {
              url: 'http://hl7.org/fhir/StructureDefinition/patient-birthPlace',
              valueAddress: {
                extension: [{ url: `${FR_CORE}/StructureDefinition/fr-core-address-insee-code`, valueCoding: { system: 'https://mos.esante.gouv.fr/NOS/TRE_R13-CommuneOM/FHIR/TRE-R13-CommuneOM', code: row.birthplace_code } }],
              },
            },
          ]
        : []),
    ],
    ...(qualified
      ? { identifier: [{ use: 'official', type: { coding: [{ system: FR_CORE_V2_0203, code: 'INS-NIR' }] }, system: SYSTEMS.insNir, value: row.ins_nir }] }
      : {}),
    name: [{ use: 'official', family: row.birth_name, given }],
    gender: row.sex === 'F' ? 'female' : row.sex === 'M' ? 'male' : 'unknown',
    birthDate: row.birth_date,
  };
}

export interface PractitionerRow {
  id: string;
  display_name: string;
  rpps: string | null;
  profession: string | null;
}

/** IDNPS is "8" followed by the RPPS number (ANS). */
export function practitionerResource(row: PractitionerRow): Resource {
  return {
    resourceType: 'Practitioner',
    id: row.id,
    meta: { profile: [`${FR_CORE}/StructureDefinition/fr-core-practitioner`] },
    ...(row.rpps
      ? {
          identifier: [
            { type: { coding: [{ system: FR_CORE_V2_0203, code: 'RPPS' }] }, system: SYSTEMS.rpps, value: row.rpps },
            { type: { coding: [{ system: FR_CORE_V2_0203, code: 'IDNPS' }] }, system: SYSTEMS.idnps, value: `8${row.rpps}` },
          ],
        }
      : {}),
    name: [{ text: row.display_name }],
    ...(row.profession ? { qualification: [{ code: { text: row.profession } }] } : {}),
  };
}

export function organizationResource(row: { id: string; name: string; finess: string | null }): Resource {
  return {
    resourceType: 'Organization',
    id: row.id,
    meta: { profile: [`${FR_CORE}/StructureDefinition/fr-core-organization`] },
    ...(row.finess
      ? { identifier: [{ use: 'official', type: { coding: [{ system: FR_CORE_V2_0203, code: 'FINEJ' }] }, system: SYSTEMS.finess, value: row.finess }] }
      : {}),
    active: true,
    name: row.name,
  };
}

export interface EncounterRow {
  id: string;
  organisation_id: string;
  doctor_id: string;
  patient_id: string;
  status: ConsultationStatus;
  mode: ConsultationMode;
  starts_at: Date;
  ends_at: Date;
  admitted_at: Date | null;
  ended_at: Date | null;
}

const ENCOUNTER_STATUS: Record<ConsultationStatus, string> = { scheduled: 'planned', in_progress: 'in-progress', ended: 'finished', cancelled: 'cancelled' };

/** A consultation: a virtual encounter (téléconsultation) or an ambulatory one. */
export function encounterResource(row: EncounterRow, publicUrl: string): Resource {
  const [start, end] = row.status === 'ended' && row.admitted_at && row.ended_at ? [row.admitted_at, row.ended_at] : [row.starts_at, row.ends_at];
  return {
    resourceType: 'Encounter',
    id: row.id,
    meta: { profile: [`${FR_CORE}/StructureDefinition/fr-core-encounter`] },
    identifier: [{ type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'VN' }] }, system: `${publicUrl}/fhir/sid/consultation`, value: row.id }],
    status: ENCOUNTER_STATUS[row.status],
    class: row.mode === 'video'
      ? { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'VR', display: 'virtual' }
      : { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB', display: 'ambulatory' },
    subject: { reference: `Patient/${row.patient_id}` },
    participant: [{ individual: { reference: `Practitioner/${row.doctor_id}` } }],
    period: { start: start.toISOString(), end: end.toISOString() },
    serviceProvider: { reference: `Organization/${row.organisation_id}` },
  };
}

export interface DocumentRow {
  id: string;
  patientId: string;
  consultationId: string | null;
  uploadedBy: string | null;
  mediaType: string;
  sizeBytes: number;
  createdAt: Date;
}

/** A document of the record (sent during a consultation, or imported): its bytes stay behind the gate at its URL. */
export function documentReferenceResource(row: DocumentRow, fileName: string, publicUrl: string): Resource {
  const author = row.uploadedBy === null ? null : row.uploadedBy === row.patientId ? `Patient/${row.patientId}` : `Practitioner/${row.uploadedBy}`;
  return {
    resourceType: 'DocumentReference',
    id: row.id,
    meta: { lastUpdated: row.createdAt.toISOString() },
    status: 'current',
    type: { text: row.consultationId ? 'Document échangé en téléconsultation' : 'Document externe importé dans le dossier' },
    subject: { reference: `Patient/${row.patientId}` },
    date: row.createdAt.toISOString(),
    ...(author ? { author: [{ reference: author }] } : {}),
    content: [{ attachment: { contentType: row.mediaType, url: `${publicUrl}/api/documents/${row.id}`, size: row.sizeBytes, title: fileName, creation: row.createdAt.toISOString() } }],
    ...(row.consultationId ? { context: { encounter: [{ reference: `Encounter/${row.consultationId}` }] } } : {}),
  };
}

const CLINICAL_STATUS = (system: string, status: 'active' | 'resolved') => ({ coding: [{ system, code: status }] });

/** An allergy of the record (base R4 AllergyIntolerance; named in text, no substance coding yet). */
export function allergyResource(row: ConditionRow): Resource {
  return {
    resourceType: 'AllergyIntolerance',
    id: row.id,
    meta: { lastUpdated: row.updatedAt.toISOString() },
    clinicalStatus: CLINICAL_STATUS('http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', row.status),
    verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification', code: 'confirmed' }] },
    ...(row.criticality ? { criticality: row.criticality } : {}),
    code: { text: row.label },
    patient: { reference: `Patient/${row.patientId}` },
    ...(row.onsetDate ? { onsetDateTime: row.onsetDate } : {}),
    recordedDate: row.recordedAt.toISOString(),
    ...recorderOf(row),
    ...(row.note ? { note: [{ text: row.note }] } : {}),
    ...(row.reaction ? { reaction: [{ manifestation: [{ text: row.reaction }] }] } : {}),
  };
}

/** A problem of the record (base R4 Condition, problem-list item; named in text, no CIM-10 coding yet). */
export function conditionResource(row: ConditionRow): Resource {
  return {
    resourceType: 'Condition',
    id: row.id,
    meta: { lastUpdated: row.updatedAt.toISOString() },
    clinicalStatus: CLINICAL_STATUS('http://terminology.hl7.org/CodeSystem/condition-clinical', row.status),
    verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'confirmed' }] },
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-category', code: 'problem-list-item', display: 'Problem List Item' }] }],
    code: { text: row.label },
    subject: { reference: `Patient/${row.patientId}` },
    ...(row.onsetDate ? { onsetDateTime: row.onsetDate } : {}),
    recordedDate: row.recordedAt.toISOString(),
    ...recorderOf(row),
    ...(row.note ? { note: [{ text: row.note }] } : {}),
  };
}

export interface ConditionRow {
  id: string;
  patientId: string;
  authorId: string | null;
  label: string;
  note: string;
  reaction: string;
  criticality: 'low' | 'high' | 'unable-to-assess' | null;
  onsetDate: string | null;
  status: 'active' | 'resolved';
  recordedAt: Date;
  updatedAt: Date;
}

function recorderOf(row: ConditionRow) {
  if (!row.authorId) return {};
  return { recorder: { reference: row.authorId === row.patientId ? `Patient/${row.patientId}` : `Practitioner/${row.authorId}` } };
}
