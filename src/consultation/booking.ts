// Booking: a patient books a doctor's free slot, or the doctor schedules one for a patient they care
// for (or for a person invited by e-mail who has no account yet). Two bookings of one slot cannot both
// succeed: the slot row is locked, and a unique index is the backstop. Each booking opens a
// 'consultation' care relationship for its duration and the follow-up window.
import { sql } from 'kysely';
import { assertDecision, type AllowedDecision } from '../access/gate.js';
import type { Queryable } from '../kernel/db.js';
import { AppError } from '../kernel/errors.js';
import type { ConsultationMode, PathwayRole } from '../kernel/schema.js';

const DAY_MS = 24 * 3600_000;

/** Exceptions to the care-pathway rule that keep a teleconsultation reimbursable (Assurance Maladie). */
export const PATHWAY_EXEMPTIONS = ['under_16', 'direct_access_specialty', 'no_attending_doctor', 'territorial_organisation', 'emergency'] as const;
export type PathwayExemption = (typeof PATHWAY_EXEMPTIONS)[number];

/** What the patient (or the doctor) declares at booking; the system checks what it can. */
export interface DeclaredPathway {
  /** 'referred': the attending doctor referred the patient; 'attending_doctor' is recognised by itself. */
  role: Exclude<PathwayRole, 'attending_doctor'>;
  exemption?: PathwayExemption | undefined;
  /** YYYY-MM-DD of the last in-person visit with this doctor, if the patient knows it. */
  lastInPersonVisit?: string | undefined;
}

export interface LockedSlot {
  id: string;
  organisationId: string;
  doctorId: string;
  startsAt: Date;
  endsAt: Date;
  mode: ConsultationMode;
}

/** Locks a slot that can still be booked (not withdrawn, not started); 404 otherwise, 409 if taken. */
export async function lockFreeSlot(q: Queryable, slotId: string, now: Date): Promise<LockedSlot> {
  const slot = await q
    .selectFrom('availability_slots')
    .select(['id', 'organisation_id', 'doctor_id', 'starts_at', 'ends_at', 'mode'])
    .where('id', '=', slotId)
    .where('withdrawn_at', 'is', null)
    .forUpdate()
    .executeTakeFirst();
  if (!slot) throw new AppError('not_found');
  if (slot.starts_at.getTime() <= now.getTime()) throw new AppError('slot_unavailable', { fr: 'Ce créneau est passé.', en: 'This slot is in the past.' });
  // Read after the lock: a booking committed by a concurrent request is visible now.
  const taken = await q.selectFrom('consultations').select('id').where('slot_id', '=', slotId).where('status', '<>', 'cancelled').executeTakeFirst();
  if (taken) throw new AppError('slot_unavailable', { fr: 'Ce créneau vient d’être réservé. Choisissez-en un autre.', en: 'This slot has just been booked. Choose another one.' });
  return { id: slot.id, organisationId: slot.organisation_id, doctorId: slot.doctor_id, startsAt: slot.starts_at, endsAt: slot.ends_at, mode: slot.mode };
}

/** A patient books only doctors of their own organisations who they do not oppose. */
export async function assertPatientMayBook(q: Queryable, patientId: string, slot: LockedSlot): Promise<void> {
  const membership = await q.selectFrom('member_roles').select('user_id').where('user_id', '=', patientId).where('organisation_id', '=', slot.organisationId).where('role', '=', 'patient').executeTakeFirst();
  const opposed = await q.selectFrom('patient_oppositions').select('id').where('patient_id', '=', patientId).where('professional_id', '=', slot.doctorId).where('withdrawn_at', 'is', null).executeTakeFirst();
  // The same answer as a missing slot: a patient of another organisation learns nothing of its agenda.
  if (!membership || opposed) throw new AppError('not_found');
}

async function recordedPathway(q: Queryable, patientId: string, doctorId: string, declared: DeclaredPathway, now: Date) {
  const attending = await q
    .selectFrom('care_relationships')
    .select('id')
    .where('patient_id', '=', patientId)
    .where('professional_id', '=', doctorId)
    .where('kind', '=', 'attending_doctor')
    .where('starts_at', '<=', now)
    .where((eb) => eb.or([eb('ends_at', 'is', null), eb('ends_at', '>', now)]))
    .executeTakeFirst();
  // An in-person consultation held here counts as a visit, whatever was declared.
  const seenHere = await q
    .selectFrom('consultations')
    .select(sql<string | null>`to_char(max(ended_at), 'YYYY-MM-DD')`.as('last'))
    .where('patient_id', '=', patientId)
    .where('doctor_id', '=', doctorId)
    .where('mode', '=', 'in_person')
    .where('status', '=', 'ended')
    .executeTakeFirst();
  const candidates = [declared.lastInPersonVisit, seenHere?.last ?? undefined].filter((value): value is string => typeof value === 'string');
  const lastInPersonVisit = candidates.sort().at(-1) ?? null;
  const role: PathwayRole = attending ? 'attending_doctor' : declared.role;
  return { role, exemption: role === 'exempt' ? (declared.exemption ?? null) : null, lastInPersonVisit };
}

export interface NewBooking {
  /** Chosen before the decision, so that the audit entry names the consultation it creates. */
  id: string;
  slot: LockedSlot;
  bookedBy: string;
  pathway: DeclaredPathway;
  now: Date;
  followUpDays: number;
}

/** Books `slot` for the decision's patient. The decision is the patient's own, or their doctor's. */
export async function bookConsultation(q: Queryable, decision: AllowedDecision<'consultation.schedule'>, booking: NewBooking): Promise<void> {
  assertDecision(decision, 'consultation.schedule');
  const { slot, now } = booking;
  if (decision.basis !== 'self' && decision.actorId !== slot.doctorId) throw new AppError('not_found');
  if (decision.basis === 'self') await assertPatientMayBook(q, decision.patientId, slot);
  const pathway = await recordedPathway(q, decision.patientId, slot.doctorId, booking.pathway, now);
  const relationshipId = await openConsultationRelationship(q, { patientId: decision.patientId, doctorId: slot.doctorId, organisationId: slot.organisationId, createdBy: booking.bookedBy, now, endsAt: followUpEnd(slot.endsAt, booking.followUpDays) });
  await q
    .insertInto('consultations')
    .values({
      id: booking.id,
      organisation_id: slot.organisationId,
      doctor_id: slot.doctorId,
      patient_id: decision.patientId,
      slot_id: slot.id,
      starts_at: slot.startsAt,
      ends_at: slot.endsAt,
      mode: slot.mode,
      booked_by: booking.bookedBy,
      booked_at: now,
      pathway_role: pathway.role,
      pathway_exemption: pathway.exemption,
      last_in_person_visit: pathway.lastInPersonVisit,
      relationship_id: relationshipId,
    })
    .execute();
}

/** A consultation for a person invited by e-mail: no patient yet, so no patient data and no decision. */
export async function bookForInvitation(q: Queryable, booking: Omit<NewBooking, 'pathway'> & { invitationId: string; pathway: DeclaredPathway }): Promise<void> {
  const { slot } = booking;
  await q
    .insertInto('consultations')
    .values({
      id: booking.id,
      organisation_id: slot.organisationId,
      doctor_id: slot.doctorId,
      patient_id: null,
      invitation_id: booking.invitationId,
      slot_id: slot.id,
      starts_at: slot.startsAt,
      ends_at: slot.endsAt,
      mode: slot.mode,
      booked_by: booking.bookedBy,
      booked_at: booking.now,
      pathway_role: booking.pathway.role,
      pathway_exemption: booking.pathway.role === 'exempt' ? (booking.pathway.exemption ?? null) : null,
      last_in_person_visit: booking.pathway.lastInPersonVisit ?? null,
    })
    .execute();
}

/** When an invited person creates their account: their consultations become theirs, with relationships. */
export async function attachInvitedConsultations(q: Queryable, invitationId: string, patientId: string, now: Date, followUpDays: number): Promise<number> {
  const pending = await q.selectFrom('consultations').select(['id', 'doctor_id', 'organisation_id', 'ends_at', 'booked_by']).where('invitation_id', '=', invitationId).where('patient_id', 'is', null).where('status', '=', 'scheduled').execute();
  for (const consultation of pending) {
    const relationshipId = await openConsultationRelationship(q, { patientId, doctorId: consultation.doctor_id, organisationId: consultation.organisation_id, createdBy: consultation.booked_by, now, endsAt: followUpEnd(consultation.ends_at, followUpDays) });
    await q.updateTable('consultations').set({ patient_id: patientId, relationship_id: relationshipId }).where('id', '=', consultation.id).execute();
  }
  return pending.length;
}

export function followUpEnd(endsAt: Date, followUpDays: number): Date {
  return new Date(endsAt.getTime() + followUpDays * DAY_MS);
}

async function openConsultationRelationship(q: Queryable, link: { patientId: string; doctorId: string; organisationId: string; createdBy: string | null; now: Date; endsAt: Date }): Promise<string> {
  const row = await q
    .insertInto('care_relationships')
    .values({ patient_id: link.patientId, professional_id: link.doctorId, organisation_id: link.organisationId, kind: 'consultation', starts_at: link.now, ends_at: link.endsAt, created_by: link.createdBy })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Cancelling ends the relationship the booking opened (a later booking opens its own). */
export async function cancelConsultation(q: Queryable, decision: AllowedDecision<'consultation.schedule'>, consultationId: string, now: Date): Promise<void> {
  assertDecision(decision, 'consultation.schedule');
  const row = await q
    .updateTable('consultations')
    .set({ status: 'cancelled', cancelled_at: now, cancelled_by: decision.actorId })
    .where('id', '=', consultationId)
    .where('patient_id', '=', decision.patientId)
    .where('status', '=', 'scheduled')
    .returning('relationship_id')
    .executeTakeFirst();
  if (!row) throw new AppError('consultation_state', { fr: 'Seule une consultation à venir peut être annulée.', en: 'Only an upcoming consultation can be cancelled.' });
  if (row.relationship_id) await endRelationshipAt(q, row.relationship_id, now);
}

/** Moving to another free slot of the same doctor in the same organisation; the reminders will be sent again for the new time. */
export async function moveConsultation(q: Queryable, decision: AllowedDecision<'consultation.schedule'>, consultationId: string, slot: LockedSlot, now: Date, followUpDays: number): Promise<void> {
  assertDecision(decision, 'consultation.schedule');
  const current = await q.selectFrom('consultations').select(['doctor_id', 'organisation_id', 'relationship_id', 'status']).where('id', '=', consultationId).where('patient_id', '=', decision.patientId).forUpdate().executeTakeFirst();
  if (!current) throw new AppError('not_found');
  if (current.status !== 'scheduled') throw new AppError('consultation_state', { fr: 'Seule une consultation à venir peut être déplacée.', en: 'Only an upcoming consultation can be moved.' });
  // Same doctor, same organisation: the patient's membership and the care relationship belong to it.
  if (slot.doctorId !== current.doctor_id || slot.organisationId !== current.organisation_id) throw new AppError('not_found');
  await q
    .updateTable('consultations')
    .set({ slot_id: slot.id, starts_at: slot.startsAt, ends_at: slot.endsAt, mode: slot.mode, reminder_day_before_at: null, reminder_soon_at: null, waiting_since: null })
    .where('id', '=', consultationId)
    .execute();
  if (current.relationship_id) await q.updateTable('care_relationships').set({ ends_at: followUpEnd(slot.endsAt, followUpDays) }).where('id', '=', current.relationship_id).execute();
}

export async function endRelationshipAt(q: Queryable, relationshipId: string, at: Date): Promise<void> {
  await q
    .updateTable('care_relationships')
    .set({ ends_at: sql<Date>`greatest(${at}, starts_at + interval '1 millisecond')`, ended_by: null })
    .where('id', '=', relationshipId)
    .execute();
}
