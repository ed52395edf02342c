// A prescription as FHIR R4 MedicationRequests, one per medicine, and ServiceRequests, one per act,
// grouped by the prescription's number (groupIdentifier); a line's id is `<prescription>-<line number>`. FR Core's MedicationRequest profile is not published yet (only on its development
// branch), so these follow base R4. Medicines are named in text: no drug database (no CIS/CIP code) yet.
import { isAct, type ActLine, type MedicationLine, type PrescriptionRecord } from './prescriptions.js';

export function prescriptionSystem(publicUrl: string): string {
  return `${publicUrl}/fhir/sid/prescription`;
}

function requester(record: PrescriptionRecord) {
  const { prescriber } = record.content;
  return {
    reference: `Practitioner/${prescriber.id}`,
    display: prescriber.name,
    ...(prescriber.rpps ? { identifier: { system: 'https://rpps.esante.gouv.fr', value: prescriber.rpps } } : {}),
  };
}

/** The lines of one kind, with their line number in the prescription. */
function numbered<L>(record: PrescriptionRecord, wanted: (line: MedicationLine | ActLine) => boolean): Array<{ line: L; n: number }> {
  return record.content.lines.flatMap((line, i) => (wanted(line) ? [{ line: line as L, n: i + 1 }] : []));
}

export function medicationRequestsOf(record: PrescriptionRecord, publicUrl: string): Array<Record<string, unknown>> {
  const { content } = record;
  return numbered<MedicationLine>(record, (line) => !isAct(line)).map(({ line, n }) => ({
    resourceType: 'MedicationRequest',
    id: `${record.id}-${n}`,
    identifier: [{ system: `${prescriptionSystem(publicUrl)}-line`, value: `${record.number}/${n}` }],
    groupIdentifier: { system: prescriptionSystem(publicUrl), value: record.number },
    status: record.dispensedAt ? 'completed' : 'active',
    intent: 'order',
    medicationCodeableConcept: { text: line.dosage ? `${line.medication} ${line.dosage}` : line.medication },
    subject: { reference: `Patient/${content.patient.id}`, display: `${content.patient.firstNames} ${content.patient.birthName}` },
    encounter: { reference: `Encounter/${content.consultationId}` },
    authoredOn: record.issuedAt.toISOString(),
    requester: requester(record),
    dosageInstruction: [{ text: line.posology }],
    dispenseRequest: {
      quantity: { value: line.quantity, unit: 'boîte' },
      expectedSupplyDuration: { value: line.durationDays, unit: 'jours', system: 'http://unitsofmeasure.org', code: 'd' },
    },
  }));
}

/** Acts (lab tests, nursing care, physiotherapy…) as ServiceRequests; named in text (no act coding yet). */
export function serviceRequestsOf(record: PrescriptionRecord, publicUrl: string): Array<Record<string, unknown>> {
  const { content } = record;
  return numbered<ActLine>(record, isAct).map(({ line, n }) => ({
    resourceType: 'ServiceRequest',
    id: `${record.id}-${n}`,
    identifier: [{ system: `${prescriptionSystem(publicUrl)}-line`, value: `${record.number}/${n}` }],
    requisition: { system: prescriptionSystem(publicUrl), value: record.number },
    status: record.dispensedAt ? 'completed' : 'active',
    intent: 'order',
    code: { text: line.act },
    ...(line.count > 1 ? { quantityQuantity: { value: line.count, unit: 'séances' } } : {}),
    subject: { reference: `Patient/${content.patient.id}`, display: `${content.patient.firstNames} ${content.patient.birthName}` },
    encounter: { reference: `Encounter/${content.consultationId}` },
    authoredOn: record.issuedAt.toISOString(),
    requester: requester(record),
    ...(line.instructions ? { patientInstruction: line.instructions } : {}),
  }));
}

/** The prescription's MedicationRequests and ServiceRequests as a FHIR collection Bundle. */
export function prescriptionBundle(record: PrescriptionRecord, publicUrl: string): Record<string, unknown> {
  const resources = [...medicationRequestsOf(record, publicUrl), ...serviceRequestsOf(record, publicUrl)];
  return {
    resourceType: 'Bundle',
    type: 'collection',
    timestamp: record.issuedAt.toISOString(),
    identifier: { system: prescriptionSystem(publicUrl), value: record.number },
    entry: resources.map((resource) => ({ fullUrl: `${publicUrl}/fhir/R4/${String(resource['resourceType'])}/${String(resource['id'])}`, resource })),
  };
}
