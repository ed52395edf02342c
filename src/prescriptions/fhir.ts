// A prescription as FHIR R4 MedicationRequests, one per medicine, grouped by the prescription's number
// (groupIdentifier). FR Core's MedicationRequest profile is not published yet (only on its development
// branch), so these follow base R4. Medicines are named in text: no drug database (no CIS/CIP code) yet.
import type { PrescriptionRecord } from './prescriptions.js';

export function prescriptionSystem(publicUrl: string): string {
  return `${publicUrl}/fhir/sid/prescription`;
}

export function medicationRequestsOf(record: PrescriptionRecord, publicUrl: string): Array<Record<string, unknown>> {
  const { content } = record;
  return content.lines.map((line, i) => ({
    resourceType: 'MedicationRequest',
    id: `${record.id}-${i + 1}`,
    identifier: [{ system: `${prescriptionSystem(publicUrl)}-line`, value: `${record.number}/${i + 1}` }],
    groupIdentifier: { system: prescriptionSystem(publicUrl), value: record.number },
    status: record.dispensedAt ? 'completed' : 'active',
    intent: 'order',
    medicationCodeableConcept: { text: line.dosage ? `${line.medication} ${line.dosage}` : line.medication },
    subject: { reference: `Patient/${content.patient.id}`, display: `${content.patient.firstNames} ${content.patient.birthName}` },
    encounter: { reference: `Encounter/${content.consultationId}` },
    authoredOn: record.issuedAt.toISOString(),
    requester: {
      reference: `Practitioner/${content.prescriber.id}`,
      display: content.prescriber.name,
      ...(content.prescriber.rpps ? { identifier: { system: 'https://rpps.esante.gouv.fr', value: content.prescriber.rpps } } : {}),
    },
    dosageInstruction: [{ text: line.posology }],
    dispenseRequest: {
      quantity: { value: line.quantity, unit: 'boîte' },
      expectedSupplyDuration: { value: line.durationDays, unit: 'jours', system: 'http://unitsofmeasure.org', code: 'd' },
    },
  }));
}

/** The prescription's MedicationRequests as a FHIR collection Bundle. */
export function prescriptionBundle(record: PrescriptionRecord, publicUrl: string): Record<string, unknown> {
  const resources = medicationRequestsOf(record, publicUrl);
  return {
    resourceType: 'Bundle',
    type: 'collection',
    timestamp: record.issuedAt.toISOString(),
    identifier: { system: prescriptionSystem(publicUrl), value: record.number },
    entry: resources.map((resource) => ({ fullUrl: `${publicUrl}/fhir/R4/MedicationRequest/${String(resource['id'])}`, resource })),
  };
}
