// Allergies and problems of the patient's record: recorded by a professional who cares for the patient
// or by the patient themself, their wording sealed at rest, never deleted — a problem that is over, or
// an allergy that was wrong, is marked resolved (who and when kept). Every function takes the gate's
// allowed decision for the patient (DESIGN invariant 1).
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { assertDecision, type AllowedDecision } from '../access/gate.js';
import type { Queryable } from '../kernel/db.js';
import { objectContext, type Envelope } from '../kernel/envelope.js';
import { AppError } from '../kernel/errors.js';

export const CONDITION_CATEGORIES = ['allergy', 'problem'] as const;
export type ConditionCategory = (typeof CONDITION_CATEGORIES)[number];
export const CRITICALITIES = ['low', 'high', 'unable-to-assess'] as const;
export type Criticality = (typeof CRITICALITIES)[number];

export interface NewCondition {
  category: ConditionCategory;
  /** "Pénicilline", "Diabète de type 2". */
  label: string;
  note: string;
  /** Allergies: what happens ("urticaire", "œdème de Quincke"). */
  reaction: string;
  criticality: Criticality | null;
  /** YYYY-MM-DD, not in the future. */
  onsetDate: string | null;
}

export interface ConditionRecord extends NewCondition {
  id: string;
  patientId: string;
  authorId: string | null;
  authorName: string;
  status: 'active' | 'resolved';
  recordedAt: Date;
  updatedAt: Date;
}

const bodyContext = (id: string) => objectContext('record_conditions', id, 'body_sealed');

/** Refuses what cannot be stored faithfully (before the gate is asked). */
export function checkCondition(condition: NewCondition, now: Date): void {
  if (condition.category === 'problem' && (condition.reaction !== '' || condition.criticality !== null)) {
    throw new AppError('validation_failed', { fr: 'Réaction et gravité ne concernent que les allergies.', en: 'Reaction and criticality apply to allergies only.' });
  }
  if (condition.onsetDate !== null) {
    const onset = new Date(`${condition.onsetDate}T00:00:00Z`);
    if (Number.isNaN(onset.getTime()) || onset.toISOString().slice(0, 10) !== condition.onsetDate || onset.getTime() > now.getTime()) {
      throw new AppError('validation_failed', { fr: 'La date de début doit être une date réelle, passée.', en: 'The onset date must be a real date, not in the future.' });
    }
  }
}

export async function recordCondition(q: Queryable, decision: AllowedDecision<'record.write'>, envelope: Envelope, condition: NewCondition & { id: string }, now: Date): Promise<ConditionRecord> {
  assertDecision(decision, 'record.write');
  const body = JSON.stringify({ label: condition.label, note: condition.note, reaction: condition.reaction });
  await q
    .insertInto('record_conditions')
    .values({
      id: condition.id,
      patient_id: decision.patientId,
      author_id: decision.actorId,
      category: condition.category,
      body_sealed: await envelope.sealText(body, bodyContext(condition.id)),
      status: 'active',
      criticality: condition.criticality,
      onset_date: condition.onsetDate,
      recorded_at: now,
      updated_at: now,
      updated_by: decision.actorId,
    })
    .execute();
  return (await conditionsOf(q, decision, envelope, { id: condition.id })).records[0]!;
}

/** Marks one resolved (or active again); 404 when it is not this patient's. */
export async function setConditionStatus(q: Queryable, decision: AllowedDecision<'record.write'>, id: string, status: 'active' | 'resolved', now: Date): Promise<void> {
  assertDecision(decision, 'record.write');
  const result = await q.updateTable('record_conditions').set({ status, updated_at: now, updated_by: decision.actorId }).where('id', '=', id).where('patient_id', '=', decision.patientId).executeTakeFirst();
  if (Number(result.numUpdatedRows) === 0) throw new AppError('not_found');
}

export async function conditionsOf(
  q: Queryable,
  decision: AllowedDecision<'record.read' | 'record.write'>,
  envelope: Envelope,
  filter: { id?: string; category?: ConditionCategory; status?: Array<'active' | 'resolved'>; limit?: number; offset?: number } = {},
): Promise<{ total: number; records: ConditionRecord[] }> {
  assertDecision(decision, 'record.read', 'record.write');
  let select = q.selectFrom('record_conditions as c').where('c.patient_id', '=', decision.patientId);
  if (filter.id) select = select.where('c.id', '=', filter.id);
  if (filter.category) select = select.where('c.category', '=', filter.category);
  if (filter.status) select = select.where('c.status', 'in', filter.status.length > 0 ? filter.status : ['-' as 'active']);
  const { n } = await select.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  let rows = select
    .leftJoin('users as author', 'author.id', 'c.author_id')
    .select(['c.id', 'c.patient_id', 'c.author_id', 'author.display_name as author_name', 'c.category', 'c.body_sealed', 'c.status', 'c.criticality', sql<string | null>`to_char(c.onset_date, 'YYYY-MM-DD')`.as('onset_date'), 'c.recorded_at', 'c.updated_at'])
    .orderBy('c.status')
    .orderBy('c.recorded_at', 'desc')
    .orderBy('c.id');
  if (filter.limit !== undefined) rows = rows.limit(filter.limit).offset(filter.offset ?? 0);
  const found = await rows.execute();
  const records = await Promise.all(
    found.map(async (row) => {
      const body = JSON.parse(await envelope.openText(row.body_sealed, bodyContext(row.id))) as { label: string; note: string; reaction: string };
      return {
        id: row.id,
        patientId: row.patient_id,
        authorId: row.author_id,
        authorName: row.author_name ?? '',
        category: row.category,
        label: body.label,
        note: body.note,
        reaction: body.reaction,
        criticality: row.criticality,
        onsetDate: row.onset_date,
        status: row.status,
        recordedAt: row.recorded_at,
        updatedAt: row.updated_at,
      };
    }),
  );
  return { total: Number(n), records };
}

/** Whose entry this is (to ask the gate), or null for an unknown id. */
export async function conditionOwner(q: Queryable, id: string): Promise<{ patientId: string; category: ConditionCategory } | null> {
  const row = await q.selectFrom('record_conditions').select(['patient_id', 'category']).where('id', '=', id).executeTakeFirst();
  return row ? { patientId: row.patient_id, category: row.category } : null;
}

export function conditionView(record: ConditionRecord) {
  return { ...record, recordedAt: record.recordedAt.toISOString(), updatedAt: record.updatedAt.toISOString() };
}

export const newConditionId = (): string => randomUUID();
