// Observation ⇄ FHIR R4: our vital signs as Observations (category vital-signs, LOINC code, UCUM
// quantity; a blood pressure as the 85354-9 panel with systolic and diastolic components), and the
// reverse for create, which takes only what it can store faithfully and says why otherwise.
import { OBSERVATION_KINDS, kindOfCode, type NewObservation, type ObservationKind, type ObservationRow } from '../records/observations.js';
import type { Resource } from './resources.js';
import { FhirError } from './search.js';

const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';
const VITAL_SIGNS = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs', display: 'Vital Signs' }] };

const quantity = (value: string | number, unit: string) => ({ value: Number(value), unit, system: UCUM, code: unit });

export function observationResource(row: ObservationRow): Resource {
  const kind: ObservationKind = OBSERVATION_KINDS[row.kind as keyof typeof OBSERVATION_KINDS];
  const performer = row.author_id === null ? [] : [{ reference: row.author_id === row.patient_id ? `Patient/${row.patient_id}` : `Practitioner/${row.author_id}` }];
  return {
    resourceType: 'Observation',
    id: row.id,
    // Observations are never updated here: every one is at its first version.
    meta: { versionId: '1', lastUpdated: row.recorded_at.toISOString(), profile: [kind.profile] },
    status: 'final',
    category: [VITAL_SIGNS],
    code: { coding: [{ system: LOINC, code: kind.code, display: kind.display.en }], text: kind.display.fr },
    subject: { reference: `Patient/${row.patient_id}` },
    ...(row.encounter_id ? { encounter: { reference: `Encounter/${row.encounter_id}` } } : {}),
    effectiveDateTime: row.effective_at.toISOString(),
    issued: row.recorded_at.toISOString(),
    ...(performer.length > 0 ? { performer } : {}),
    ...(kind.components
      ? {
          component: kind.components.map((component, i) => ({
            code: { coding: [{ system: LOINC, code: component.code, display: component.display }] },
            valueQuantity: quantity(i === 0 ? row.value : row.value2!, kind.unit),
          })),
        }
      : { valueQuantity: quantity(row.value, kind.unit) }),
  };
}

const unprocessable = (message: string) => new FhirError(422, 'invalid', message);

function codesOf(concept: unknown): string[] {
  const codings = (concept as { coding?: unknown } | undefined)?.coding;
  if (!Array.isArray(codings)) return [];
  return codings.filter((c): c is { system: string; code: string } => typeof c === 'object' && c !== null && (c as { system?: unknown }).system === LOINC && typeof (c as { code?: unknown }).code === 'string').map((c) => c.code);
}

function valueOf(quantity: unknown, unit: string, where: string): number {
  const q = quantity as { value?: unknown; code?: unknown; system?: unknown } | undefined;
  if (!q || typeof q.value !== 'number') throw unprocessable(`${where}: a valueQuantity with a numeric value is required`);
  if (q.system !== UCUM || q.code !== unit) throw unprocessable(`${where}: the unit must be UCUM "${unit}"`);
  return q.value;
}

/** The patient and the measure a posted Observation describes, or a 4xx FhirError saying what is wrong. */
export function observationFromFhir(body: unknown): { patientId: string; measure: NewObservation } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new FhirError(400, 'invalid', 'the body must be a JSON object');
  const resource = body as Record<string, unknown>;
  if (resource['resourceType'] !== 'Observation') throw new FhirError(400, 'invalid', 'resourceType must be "Observation"');
  if ('id' in resource) throw unprocessable('a created resource has no id: the server gives it');
  if (!['final', 'amended', 'preliminary'].includes(resource['status'] as string)) throw unprocessable('status must be final, amended or preliminary');
  const reference = (resource['subject'] as { reference?: unknown } | undefined)?.reference;
  const patient = typeof reference === 'string' ? /^Patient\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/.exec(reference) : null;
  if (!patient) throw unprocessable('subject must reference a Patient: "Patient/<id>"');
  const kindName = codesOf(resource['code']).map(kindOfCode).find((name) => name !== undefined);
  if (!kindName) throw unprocessable(`code must carry a supported LOINC code (${Object.values(OBSERVATION_KINDS).map((k) => k.code).join(', ')})`);
  const effective = resource['effectiveDateTime'];
  const at = typeof effective === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(effective) ? new Date(effective) : null;
  if (!at || Number.isNaN(at.getTime())) throw unprocessable('effectiveDateTime is required, as an instant with its time zone');
  const kind: ObservationKind = OBSERVATION_KINDS[kindName];
  let value: number;
  let value2: number | undefined;
  if (kind.components) {
    const components = Array.isArray(resource['component'])
      ? (resource['component'] as unknown[]).filter((c): c is Record<string, unknown> => typeof c === 'object' && c !== null && !Array.isArray(c))
      : [];
    const find = (code: string) => components.find((c) => codesOf(c['code']).includes(code));
    const [systolic, diastolic] = kind.components.map((c) => find(c.code));
    if (!systolic || !diastolic) throw unprocessable('a blood pressure needs its systolic (8480-6) and diastolic (8462-4) components');
    value = valueOf(systolic['valueQuantity'], kind.unit, 'component 8480-6');
    value2 = valueOf(diastolic['valueQuantity'], kind.unit, 'component 8462-4');
  } else {
    value = valueOf(resource['valueQuantity'], kind.unit, 'valueQuantity');
  }
  const encounter = (resource['encounter'] as { reference?: unknown } | undefined)?.reference;
  const encounterId = typeof encounter === 'string' ? /^Encounter\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/.exec(encounter)?.[1] : undefined;
  if (encounter !== undefined && !encounterId) throw unprocessable('encounter must reference an Encounter: "Encounter/<id>"');
  return { patientId: patient[1]!, measure: { kind: kindName, value, value2, effectiveAt: at, encounterId } };
}
