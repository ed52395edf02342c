// Observations of the patient's record: the kinds we take, as FHIR vital signs with their LOINC codes
// and UCUM units (HL7 R4 vital-signs profiles, FR Core where it has one), and their storage. A blood
// pressure is one observation with two values (systolic in `value`, diastolic in `value2`).
import { randomUUID } from 'node:crypto';
import { assertDecision, GuardedInsert, GuardedRead, type AllowedDecision } from '../access/gate.js';
import { sql, type Selectable } from 'kysely';
import type { Queryable } from '../kernel/db.js';
import type { ObservationsTable } from '../kernel/schema.js';
import { AppError } from '../kernel/errors.js';

export interface ObservationKind {
  code: string;
  display: { fr: string; en: string };
  unit: string;
  /** Plausible range of a measure (refuses typos such as 700 kg). */
  min: number;
  max: number;
  /** FR Core profile, when FR Core has one; else the HL7 R4 vital-signs one. */
  profile: string;
  /** Blood pressure: two components. */
  components?: Array<{ code: string; display: string }>;
}

const FR = 'https://hl7.fr/ig/fhir/core/StructureDefinition';
const HL7 = 'http://hl7.org/fhir/StructureDefinition';

export const OBSERVATION_KINDS = {
  weight: { code: '29463-7', display: { fr: 'Poids', en: 'Body weight' }, unit: 'kg', min: 0.3, max: 400, profile: `${FR}/fr-core-observation-body-weight` },
  blood_pressure: {
    code: '85354-9',
    display: { fr: 'Pression artérielle', en: 'Blood pressure' },
    unit: 'mm[Hg]',
    min: 20,
    max: 300,
    profile: `${FR}/fr-core-observation-bp`,
    components: [
      { code: '8480-6', display: 'Systolic blood pressure' },
      { code: '8462-4', display: 'Diastolic blood pressure' },
    ],
  },
  temperature: { code: '8310-5', display: { fr: 'Température', en: 'Body temperature' }, unit: 'Cel', min: 25, max: 45, profile: `${FR}/fr-core-observation-body-temperature` },
  spo2: { code: '2708-6', display: { fr: 'Saturation en oxygène', en: 'Oxygen saturation' }, unit: '%', min: 40, max: 100, profile: `${FR}/fr-core-observation-saturation-oxygen` },
  heart_rate: { code: '8867-4', display: { fr: 'Fréquence cardiaque', en: 'Heart rate' }, unit: '/min', min: 15, max: 300, profile: `${HL7}/heartrate` },
  glucose: { code: '2339-0', display: { fr: 'Glycémie', en: 'Blood glucose' }, unit: 'mg/dL', min: 10, max: 1500, profile: `${HL7}/vitalsigns` },
} as const satisfies Record<string, ObservationKind>;

export type ObservationKindName = keyof typeof OBSERVATION_KINDS;
export const KIND_NAMES = Object.keys(OBSERVATION_KINDS) as ObservationKindName[];

export function kindOfCode(code: string): ObservationKindName | undefined {
  return KIND_NAMES.find((name) => OBSERVATION_KINDS[name].code === code);
}

export interface NewObservation {
  kind: ObservationKindName;
  value: number;
  /** Diastolic pressure, for a blood pressure only. */
  value2?: number | undefined;
  effectiveAt: Date;
  encounterId?: string | undefined;
}

/** A stored observation as read (numeric columns come back as text). */
export type ObservationRow = Selectable<ObservationsTable>;

/** Checks a measure against its kind (range, two values for a blood pressure, not in the future). */
export function checkObservation(input: NewObservation, now: Date): void {
  const kind: ObservationKind = OBSERVATION_KINDS[input.kind];
  const invalid = (fr: string, en: string) => new AppError('validation_failed', { fr, en });
  const inRange = (v: number) => Number.isFinite(v) && v >= kind.min && v <= kind.max;
  if (!inRange(input.value)) throw invalid(`Valeur hors de l’intervalle plausible (${kind.min}–${kind.max} ${kind.unit}).`, `Value outside the plausible range (${kind.min}–${kind.max} ${kind.unit}).`);
  if (kind.components) {
    if (input.value2 === undefined || !inRange(input.value2)) throw invalid('La pression diastolique manque ou est hors de l’intervalle plausible.', 'The diastolic pressure is missing or outside the plausible range.');
    if (input.value2 >= input.value) throw invalid('La pression diastolique doit être inférieure à la systolique.', 'The diastolic pressure must be below the systolic one.');
  } else if (input.value2 !== undefined) {
    throw invalid('Une seule valeur pour cette mesure.', 'This measure takes one value.');
  }
  if (input.effectiveAt.getTime() > now.getTime() + 5 * 60_000) throw invalid('La date de la mesure est dans le futur.', 'The measure’s date is in the future.');
}

export async function recordObservation(q: Queryable, decision: AllowedDecision<'record.write'>, input: NewObservation & { id?: string }, now: Date): Promise<ObservationRow> {
  assertDecision(decision, 'record.write');
  checkObservation(input, now);
  if (input.encounterId) {
    const encounter = await q.selectFrom('consultations').select('id').where('id', '=', input.encounterId).where('patient_id', '=', decision.patientId).executeTakeFirst();
    if (!encounter) throw new AppError('validation_failed', { fr: 'Cette consultation n’est pas celle de ce patient.', en: 'This consultation is not this patient’s.' });
  }
  const row = observationRow(decision.patientId, decision.actorId, input, now);
  await q.insertInto('observations').values(row).execute();
  return row;
}

/**
 * A new observation that names no encounter, as a change only the gate writes (`gatedInsert`: the
 * decision, its trace and the row in one statement). One that names an encounter goes through
 * recordObservation, which first checks that the encounter is the patient's.
 */
export function newObservation(patientId: string, authorId: string, input: NewObservation & { id?: string }, now: Date): GuardedInsert<'record.write', ObservationRow> {
  if (input.encounterId) throw new Error('newObservation: an observation of an encounter goes through recordObservation');
  checkObservation(input, now);
  return new GuardedInsert(['record.write'], patientId, 'observations', observationRow(patientId, authorId, input, now));
}

function observationRow(patientId: string, authorId: string, input: NewObservation & { id?: string }, now: Date): ObservationRow {
  const kind: ObservationKind = OBSERVATION_KINDS[input.kind];
  return {
    id: input.id ?? randomUUID(),
    patient_id: patientId,
    author_id: authorId,
    encounter_id: input.encounterId ?? null,
    kind: input.kind,
    code: kind.code,
    value: String(input.value),
    value2: input.value2 === undefined ? null : String(input.value2),
    unit: kind.unit,
    effective_at: input.effectiveAt,
    recorded_at: now,
  };
}

const COLUMNS = ['id', 'patient_id', 'author_id', 'encounter_id', 'kind', 'code', 'value', 'value2', 'unit', 'effective_at', 'recorded_at'] as const;

export interface ObservationFilter {
  codes?: string[] | undefined;
  from?: Date | null | undefined;
  to?: Date | null | undefined;
  id?: string | undefined;
  limit?: number | undefined;
  offset?: number | undefined;
}

function matching(q: Queryable, patientId: string, filter: ObservationFilter) {
  let select = q.selectFrom('observations').where('patient_id', '=', patientId);
  if (filter.id) select = select.where('id', '=', filter.id);
  if (filter.codes) select = filter.codes.length === 0 ? select.where('code', '=', '') : select.where('code', 'in', filter.codes);
  if (filter.from) select = select.where('effective_at', '>=', filter.from);
  if (filter.to) select = select.where('effective_at', '<', filter.to);
  return select;
}

/** The page, newest first, each row with the number of matching rows (a window count: one statement). */
function pageOf(q: Queryable, patientId: string, filter: ObservationFilter) {
  let rows = matching(q, patientId, filter)
    .select(COLUMNS)
    .select(sql<string>`count(*) OVER ()`.as('matching'))
    .orderBy('effective_at', 'desc')
    .orderBy('id');
  if (filter.limit !== undefined) rows = rows.limit(filter.limit).offset(filter.offset ?? 0);
  return rows;
}
type PageRow = ObservationRow & { matching: string | number };

/** A patient's observations, newest first, with the total matching count. */
export async function observationsOf(q: Queryable, decision: AllowedDecision<'record.read'>, filter: ObservationFilter): Promise<{ total: number; rows: ObservationRow[] }> {
  assertDecision(decision, 'record.read');
  return foundObservations(q, decision, filter, await pageOf(q, decision.patientId, filter).execute());
}

/** `observationsOf` as a read the gate runs in its decision's statement (`gatedSelect`); then `foundObservations`. */
export function observationsRead(q: Queryable, patientId: string, filter: ObservationFilter): GuardedRead<'record.read', PageRow> {
  return new GuardedRead(['record.read'], patientId, pageOf(q, patientId, filter));
}

/** The page's rows and total; the total is counted apart only for a page past the end (no row to carry it). */
export async function foundObservations(q: Queryable, decision: AllowedDecision<'record.read'>, filter: ObservationFilter, page: PageRow[]): Promise<{ total: number; rows: ObservationRow[] }> {
  assertDecision(decision, 'record.read');
  const rows = page.map(({ matching: _matching, ...row }) => row);
  if (page.length > 0) return { total: Number(page[0]!.matching), rows };
  if (!filter.offset) return { total: 0, rows };
  const counted = await matching(q, decision.patientId, filter)
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return { total: Number(counted.n), rows };
}

export async function observationOwner(q: Queryable, id: string): Promise<string | null> {
  const row = await q.selectFrom('observations').select('patient_id').where('id', '=', id).executeTakeFirst();
  return row?.patient_id ?? null;
}

export function observationView(row: ObservationRow) {
  return {
    id: row.id,
    kind: row.kind as ObservationKindName,
    value: Number(row.value),
    value2: row.value2 === null ? null : Number(row.value2),
    unit: row.unit,
    effectiveAt: row.effective_at.toISOString(),
    recordedAt: row.recorded_at.toISOString(),
    authorId: row.author_id,
  };
}
