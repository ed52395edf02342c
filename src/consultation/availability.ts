// A doctor's availability: slots they publish (video or in person), which patients then book. Slots
// are not patient data; who booked them is, and is only shown through the gate (booking.ts).
import { sql } from 'kysely';
import type { Queryable } from '../kernel/db.js';
import { AppError } from '../kernel/errors.js';
import type { ConsultationMode } from '../kernel/schema.js';

export const SLOT_MINUTES = { min: 5, max: 120 } as const;
export const MAX_SLOTS_PER_REQUEST = 48;

export interface NewSlots {
  organisationId: string;
  doctorId: string;
  /** First slot's start; the following ones are back to back. */
  startsAt: Date;
  durationMinutes: number;
  count: number;
  mode: ConsultationMode;
  now: Date;
}

export interface SlotView {
  id: string;
  doctorId: string;
  doctorName: string;
  organisationId: string;
  startsAt: string;
  endsAt: string;
  mode: ConsultationMode;
  booked: boolean;
}

/** The organisations where `userId` is a doctor. */
export async function doctorOrganisations(q: Queryable, userId: string): Promise<string[]> {
  const rows = await q.selectFrom('member_roles').select('organisation_id').where('user_id', '=', userId).where('role', '=', 'doctor').execute();
  return rows.map((row) => row.organisation_id);
}

export async function publishSlots(q: Queryable, input: NewSlots): Promise<string[]> {
  if (input.startsAt.getTime() < input.now.getTime()) {
    throw new AppError('validation_failed', { fr: 'Un créneau ne peut pas commencer dans le passé.', en: 'A slot cannot start in the past.' }, { extra: { errors: [{ pointer: '/startsAt', message: 'in the past' }] } });
  }
  const span = input.durationMinutes * 60_000;
  const slots = Array.from({ length: input.count }, (_, index) => {
    const startsAt = new Date(input.startsAt.getTime() + index * span);
    return { startsAt, endsAt: new Date(startsAt.getTime() + span) };
  });
  const last = slots[slots.length - 1]!;
  // Serialise a doctor's publications, so that two overlapping requests cannot both pass the check.
  await sql`SELECT pg_advisory_xact_lock(hashtext(${`slots:${input.doctorId}`}))`.execute(q);
  const overlapping = await q
    .selectFrom('availability_slots')
    .select('id')
    .where('doctor_id', '=', input.doctorId)
    .where('withdrawn_at', 'is', null)
    .where('starts_at', '<', last.endsAt)
    .where('ends_at', '>', input.startsAt)
    .executeTakeFirst();
  if (overlapping) throw new AppError('slot_unavailable', { fr: 'Ces horaires chevauchent un créneau déjà publié.', en: 'These times overlap a slot already published.' });
  const rows = await q
    .insertInto('availability_slots')
    .values(slots.map((slot) => ({ organisation_id: input.organisationId, doctor_id: input.doctorId, starts_at: slot.startsAt, ends_at: slot.endsAt, mode: input.mode, created_at: input.now })))
    .returning('id')
    .execute();
  return rows.map((row) => row.id);
}

/** A free slot can be withdrawn by its doctor; a booked one must be cancelled first. */
export async function withdrawSlot(q: Queryable, doctorId: string, slotId: string, now: Date): Promise<void> {
  const booked = await q.selectFrom('consultations').select('id').where('slot_id', '=', slotId).where('status', '<>', 'cancelled').executeTakeFirst();
  if (booked) throw new AppError('slot_unavailable', { fr: 'Ce créneau est réservé : annulez d’abord la consultation.', en: 'This slot is booked: cancel the consultation first.' });
  const result = await q.updateTable('availability_slots').set({ withdrawn_at: now }).where('id', '=', slotId).where('doctor_id', '=', doctorId).where('withdrawn_at', 'is', null).executeTakeFirst();
  if (result.numUpdatedRows !== 1n) throw new AppError('not_found');
}

export interface SlotQuery {
  organisations: string[];
  doctorId?: string;
  from: Date;
  to: Date;
  /** Free slots only (what a patient may book). */
  freeOnly: boolean;
}

export async function listSlots(q: Queryable, query: SlotQuery): Promise<SlotView[]> {
  if (query.organisations.length === 0) return [];
  let select = q
    .selectFrom('availability_slots as slot')
    .innerJoin('users as doctor', 'doctor.id', 'slot.doctor_id')
    .innerJoin('member_roles as role', (join) => join.onRef('role.user_id', '=', 'slot.doctor_id').onRef('role.organisation_id', '=', 'slot.organisation_id').on('role.role', '=', 'doctor'))
    .leftJoin('consultations as booking', (join) => join.onRef('booking.slot_id', '=', 'slot.id').on('booking.status', '<>', 'cancelled'))
    .select(['slot.id', 'slot.doctor_id', 'doctor.display_name', 'slot.organisation_id', 'slot.starts_at', 'slot.ends_at', 'slot.mode', 'booking.id as booking_id'])
    .where('slot.organisation_id', 'in', query.organisations)
    .where('slot.withdrawn_at', 'is', null)
    .where('slot.starts_at', '>=', query.from)
    .where('slot.starts_at', '<', query.to)
    .orderBy('slot.starts_at')
    .limit(500);
  if (query.doctorId) select = select.where('slot.doctor_id', '=', query.doctorId);
  if (query.freeOnly) select = select.where('booking.id', 'is', null);
  const rows = await select.execute();
  return rows.map((row) => ({
    id: row.id,
    doctorId: row.doctor_id,
    doctorName: row.display_name,
    organisationId: row.organisation_id,
    startsAt: row.starts_at.toISOString(),
    endsAt: row.ends_at.toISOString(),
    mode: row.mode,
    booked: row.booking_id !== null,
  }));
}
