// The audit log as FHIR R4 AuditEvents (read-only). Each entry — a decision of the access gate or a
// security event — becomes one AuditEvent: who (the actor, from which address), what (the action, the
// resource named), which patient, why (purpose), the outcome, when, and where the entry sits in the
// tamper-evident log (its leaf index, to ask /api/log/proof/inclusion). Never clinical content.
import type { EntryRow } from '../audit/search.js';
import type { Resource } from './resources.js';

const ACTION_OF_ACCESS = (action: string): 'C' | 'R' | 'U' | 'D' | 'E' => (action.endsWith('.read') ? 'R' : action.endsWith('.write') || action.endsWith('.manage') ? 'U' : 'E');

/** v3 ActReason: care → treatment, emergency → emergency treatment, the patient's own → patient requested. */
const PURPOSE_OF_EVENT: Record<string, { code: string; display: string }> = {
  care: { code: 'TREAT', display: 'treatment' },
  emergency: { code: 'ETREAT', display: 'Emergency Treatment' },
  patient_self: { code: 'PATRQT', display: 'patient requested' },
};

function eventType(row: EntryRow) {
  if (row.kind === 'access') return { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest', display: 'RESTful Operation' };
  if (row.type.startsWith('login.') || row.type.startsWith('logout')) return { system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110114', display: 'User Authentication' };
  return { system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110113', display: 'Security Alert' };
}

export function auditEventResource(row: EntryRow, publicUrl: string): Resource {
  const success = row.outcome === 'allowed' || row.outcome === 'success';
  const detail = row.detail as Record<string, unknown>;
  const why = typeof detail['reason'] === 'string' ? detail['reason'] : null;
  const purpose = row.purpose ? PURPOSE_OF_EVENT[row.purpose] : undefined;
  const leafIndex = row.leaf_index === null ? null : String(row.leaf_index);
  const entities: Array<Record<string, unknown>> = [];
  if (row.patient_id) {
    entities.push({
      what: { reference: `Patient/${row.patient_id}` },
      type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '1', display: 'Person' },
      role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '1', display: 'Patient' },
    });
  }
  if (row.resource_type) {
    entities.push({ type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '2', display: 'System Object' }, name: `${row.resource_type}/${row.resource_id ?? ''}` });
  }
  if (leafIndex !== null) {
    entities.push({
      what: { identifier: { system: `${publicUrl}/api/log`, value: leafIndex } },
      type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '2', display: 'System Object' },
      description: 'Leaf of the tamper-evident audit log (RFC 9162): GET /api/log/proof/inclusion?index=…',
    });
  }
  return {
    resourceType: 'AuditEvent',
    id: String(row.id),
    type: eventType(row),
    subtype: [{ system: `${publicUrl}/fhir/CodeSystem/audit-entry-type`, code: row.type }],
    action: row.kind === 'access' ? ACTION_OF_ACCESS(row.type) : 'E',
    recorded: row.occurred_at.toISOString(),
    outcome: success ? '0' : '4',
    ...(why || row.reason ? { outcomeDesc: [why, row.reason].filter(Boolean).join(' — ') } : {}),
    ...(purpose ? { purposeOfEvent: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', ...purpose }] }] } : {}),
    agent: [
      {
        ...(row.actor_user_id ? { who: { identifier: { system: `${publicUrl}/fhir/sid/user`, value: row.actor_user_id } } } : {}),
        ...(row.actor_role ? { role: [{ text: row.actor_role }] } : {}),
        requestor: true,
        ...(row.source_address ? { network: { address: row.source_address, type: '2' } } : {}),
      },
    ],
    source: { site: 'Ausculta', observer: { display: 'Ausculta' }, type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4', display: 'Application Server' }] },
    ...(entities.length > 0 ? { entity: entities } : {}),
  };
}
