// A report version as FHIR R4: a Composition (LOINC 11488-4, consult note) whose sections carry the
// doctor's text as narrative, and the document Bundle that a signed version is — the Composition first,
// then the patient, the author, the organisation and the encounter as they were at signing.
// FR Core publishes no Composition profile: these follow base R4 (document rules of Bundle.type=document).
import { encounterResource, organizationResource, patientResource, practitionerResource, type Resource } from '../fhir/resources.js';
import type { ReportHeader, ReportRecord } from './reports.js';
import { REPORT_TYPE, SECTION_KEYS, SECTIONS } from './sections.js';

export const REPORT_TITLE = 'Compte rendu de téléconsultation';

export function reportSystem(publicUrl: string): string {
  return `${publicUrl}/fhir/sid/report`;
}

const escapeXhtml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Plain text as an XHTML narrative: one paragraph per blank-line-separated block, line breaks kept. */
function narrative(text: string): { status: 'generated'; div: string } {
  const paragraphs = text
    .trim()
    .split(/\n{2,}/)
    .map((block) => `<p>${escapeXhtml(block).split('\n').join('<br/>')}</p>`);
  return { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${paragraphs.join('')}</div>` };
}

/** final when signed, amended when it signed a correction, preliminary while a draft. */
function compositionStatus(record: ReportRecord): 'preliminary' | 'final' | 'amended' {
  if (record.status === 'draft') return 'preliminary';
  return record.replaces ? 'amended' : 'final';
}

export function compositionResource(record: ReportRecord, publicUrl: string): Resource {
  const header = record.header;
  const sections = SECTION_KEYS.filter((key) => record.sections[key].trim() !== '').map((key) => ({
    title: SECTIONS[key].fr,
    code: { coding: [{ system: 'http://loinc.org', code: SECTIONS[key].loinc, display: SECTIONS[key].display }] },
    text: narrative(record.sections[key]),
  }));
  return {
    resourceType: 'Composition',
    id: record.id,
    meta: { versionId: '1', lastUpdated: (record.signedAt ?? record.updatedAt).toISOString() },
    identifier: { system: reportSystem(publicUrl), value: `${record.consultationId}/${record.version}` },
    status: compositionStatus(record),
    type: { coding: [{ ...REPORT_TYPE }], text: REPORT_TITLE },
    subject: { reference: `Patient/${record.patientId}` },
    encounter: { reference: `Encounter/${record.consultationId}` },
    date: (record.signedAt ?? record.updatedAt).toISOString(),
    author: record.authorId ? [{ reference: `Practitioner/${record.authorId}`, display: record.authorName }] : [{ display: record.authorName || 'inconnu' }],
    title: `${REPORT_TITLE} — version ${record.version}`,
    ...(record.status === 'signed' && record.authorId
      ? { attester: [{ mode: 'legal', time: record.signedAt!.toISOString(), party: { reference: `Practitioner/${record.authorId}` } }] }
      : {}),
    ...(header ? { custodian: { reference: `Organization/${header.organisation.id}` } } : {}),
    ...(record.replaces ? { relatesTo: [{ code: 'replaces', targetReference: { reference: `Composition/${record.replaces.id}` } }] } : {}),
    ...(sections.length > 0 ? { section: sections } : {}),
  };
}

/** A signed version as a FHIR document: the Composition, then what it references, as signed. */
export function reportDocument(record: ReportRecord & { header: ReportHeader }, publicUrl: string): Resource {
  const base = `${publicUrl}/fhir/R4`;
  const { header } = record;
  const { patient, author, organisation, consultation } = header;
  const resources: Resource[] = [
    compositionResource(record, publicUrl),
    patientResource({
      id: patient.id,
      birth_name: patient.birthName,
      first_names: patient.firstNames,
      birth_date: patient.birthDate,
      sex: patient.sex,
      birthplace_code: null,
      ins_nir: patient.insNir,
      identity_status: patient.identityStatus,
    }),
    practitionerResource({ id: author.id, display_name: author.name, rpps: author.rpps, profession: author.profession }),
    organizationResource(organisation),
    encounterResource(
      {
        id: consultation.id,
        organisation_id: organisation.id,
        doctor_id: author.id,
        patient_id: patient.id,
        status: 'ended',
        mode: consultation.mode,
        starts_at: new Date(consultation.startedAt),
        ends_at: new Date(consultation.endedAt ?? consultation.startedAt),
        admitted_at: new Date(consultation.startedAt),
        ended_at: new Date(consultation.endedAt ?? consultation.startedAt),
      },
      publicUrl,
    ),
  ];
  return {
    resourceType: 'Bundle',
    id: record.id,
    meta: { lastUpdated: record.signedAt!.toISOString() },
    identifier: { system: `${reportSystem(publicUrl)}-document`, value: record.id },
    type: 'document',
    timestamp: record.signedAt!.toISOString(),
    entry: resources.map((resource) => ({ fullUrl: `${base}/${resource.resourceType}/${resource.id}`, resource })),
  };
}
