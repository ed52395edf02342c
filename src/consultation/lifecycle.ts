// A consultation's life once booked: the patient enters the waiting room, the doctor admits them, the
// call runs peer to peer, either side ends it. Each step is a conditional UPDATE, so two clicks (or two
// server processes) cannot move it twice; the caller has the gate's decision for the patient.
import { sql } from 'kysely';
import { assertDecision, type AllowedDecision } from '../access/gate.js';
import type { Queryable } from '../kernel/db.js';
import { AppError } from '../kernel/errors.js';
import type { ConsultationMode, ConsultationStatus, PathwayRole } from '../kernel/schema.js';
import { followUpEnd } from './booking.js';
import type { Participation } from './participation.js';

/** The waiting room opens this long before the appointment. */
export const WAITING_ROOM_OPENS_MS = 30 * 60_000;
/** …and a late patient can still join this long after its planned end. */
export const WAITING_ROOM_CLOSES_MS = 60 * 60_000;

type Joined = AllowedDecision<'consultation.join'>;

const wrongStage = (fr: string, en: string) => new AppError('consultation_state', { fr, en });

export async function enterWaitingRoom(q: Queryable, decision: Joined, participation: Participation, now: Date): Promise<Date> {
  assertDecision(decision, 'consultation.join');
  const { consultation } = participation;
  if (participation.role !== 'patient') throw wrongStage('Seul le patient entre en salle d’attente.', 'Only the patient enters the waiting room.');
  if (consultation.mode !== 'video') throw wrongStage('Cette consultation a lieu au cabinet.', 'This consultation is in person.');
  if (now.getTime() < consultation.startsAt.getTime() - WAITING_ROOM_OPENS_MS) {
    throw wrongStage('La salle d’attente ouvre 30 minutes avant le rendez-vous.', 'The waiting room opens 30 minutes before the appointment.');
  }
  if (now.getTime() > consultation.endsAt.getTime() + WAITING_ROOM_CLOSES_MS) throw wrongStage('Ce rendez-vous est passé.', 'This appointment is over.');
  const row = await q
    .updateTable('consultations')
    .set({ waiting_since: sql<Date>`coalesce(waiting_since, ${now})` })
    .where('id', '=', consultation.id)
    .where('status', 'in', ['scheduled', 'in_progress'])
    .returning('waiting_since')
    .executeTakeFirst();
  if (!row?.waiting_since) throw wrongStage('Cette consultation est terminée ou annulée.', 'This consultation is over or cancelled.');
  return row.waiting_since;
}

export async function admitPatient(q: Queryable, decision: Joined, participation: Participation, now: Date): Promise<void> {
  assertDecision(decision, 'consultation.join');
  if (participation.role !== 'doctor') throw new AppError('not_found');
  const result = await q
    .updateTable('consultations')
    .set({ status: 'in_progress', admitted_at: now })
    .where('id', '=', participation.consultation.id)
    .where('status', '=', 'scheduled')
    .where('waiting_since', 'is not', null)
    .executeTakeFirst();
  if (result.numUpdatedRows !== 1n) throw wrongStage('Le patient n’est pas en salle d’attente.', 'The patient is not in the waiting room.');
}

export async function endConsultation(q: Queryable, decision: Joined, participation: Participation, now: Date, followUpDays: number): Promise<number> {
  assertDecision(decision, 'consultation.join');
  const row = await q
    .updateTable('consultations')
    .set({
      status: 'ended',
      ended_at: now,
      duration_seconds: sql<number>`greatest(0, round(extract(epoch from (${now}::timestamptz - admitted_at))))::integer`,
    })
    .where('id', '=', participation.consultation.id)
    .where('status', '=', 'in_progress')
    .returning(['duration_seconds', 'relationship_id'])
    .executeTakeFirst();
  if (!row) throw wrongStage('Cette consultation n’est pas en cours.', 'This consultation is not in progress.');
  // The doctor keeps access for the follow-up window, counted from the actual end.
  if (row.relationship_id) await q.updateTable('care_relationships').set({ ends_at: followUpEnd(now, followUpDays) }).where('id', '=', row.relationship_id).execute();
  return row.duration_seconds ?? 0;
}

export interface PathwayView {
  role: PathwayRole;
  exemption: string | null;
  lastInPersonVisit: string | null;
  /** Seen in person by this doctor within the 12 months before the consultation (null: unknown). */
  seenWithin12Months: boolean | null;
  /** Whether the French teleconsultation rules for reimbursement are met, as far as declared. */
  reimbursable: boolean;
}

export function assessPathway(row: { pathway_role: PathwayRole; pathway_exemption: string | null; last_in_person_visit: string | null; mode: ConsultationMode; starts_at: Date }): PathwayView {
  const visit = row.last_in_person_visit ? new Date(`${row.last_in_person_visit}T00:00:00Z`) : null;
  const yearBefore = new Date(row.starts_at);
  yearBefore.setUTCFullYear(yearBefore.getUTCFullYear() - 1);
  const seenWithin12Months = visit ? visit.getTime() >= yearBefore.getTime() : null;
  const exempt = row.pathway_role === 'exempt';
  const inPathway = row.pathway_role === 'attending_doctor' || row.pathway_role === 'referred' || exempt;
  const reimbursable = row.mode === 'video' && inPathway && (exempt || seenWithin12Months === true);
  return { role: row.pathway_role, exemption: row.pathway_exemption, lastInPersonVisit: row.last_in_person_visit, seenWithin12Months, reimbursable };
}

export interface ConsultationView {
  id: string;
  status: ConsultationStatus;
  mode: ConsultationMode;
  startsAt: string;
  endsAt: string;
  doctor: { id: string; name: string };
  patient: { id: string; name: string } | null;
  pathway: PathwayView;
  waitingSince: string | null;
  admittedAt: string | null;
  endedAt: string | null;
  durationSeconds: number | null;
  invitedEmail?: string;
}

const iso = (value: Date | null) => (value ? value.toISOString() : null);

function selectViews(q: Queryable) {
  return q
    .selectFrom('consultations as c')
    .innerJoin('users as doctor', 'doctor.id', 'c.doctor_id')
    .leftJoin('users as patient', 'patient.id', 'c.patient_id')
    .leftJoin('invitations as invitation', 'invitation.id', 'c.invitation_id')
    .select([
      'c.id', 'c.status', 'c.mode', 'c.starts_at', 'c.ends_at', 'c.doctor_id', 'doctor.display_name as doctor_name', 'c.patient_id', 'patient.display_name as patient_name',
      'c.pathway_role', 'c.pathway_exemption', sql<string | null>`to_char(c.last_in_person_visit, 'YYYY-MM-DD')`.as('last_in_person_visit'),
      'c.waiting_since', 'c.admitted_at', 'c.ended_at', 'c.duration_seconds', 'invitation.email as invited_email',
    ]);
}
type ViewRow = Awaited<ReturnType<ReturnType<typeof selectViews>['execute']>>[number];

function toView(row: ViewRow, withInvitation: boolean): ConsultationView {
  return {
    id: row.id,
    status: row.status,
    mode: row.mode,
    startsAt: row.starts_at.toISOString(),
    endsAt: row.ends_at.toISOString(),
    doctor: { id: row.doctor_id, name: row.doctor_name },
    patient: row.patient_id ? { id: row.patient_id, name: row.patient_name ?? '' } : null,
    pathway: assessPathway(row),
    waitingSince: iso(row.waiting_since),
    admittedAt: iso(row.admitted_at),
    endedAt: iso(row.ended_at),
    durationSeconds: row.duration_seconds,
    ...(withInvitation && row.invited_email && !row.patient_id ? { invitedEmail: row.invited_email } : {}),
  };
}

/** One consultation, for its participants (the decision is about its patient). */
export async function consultationView(q: Queryable, decision: Joined, consultationId: string): Promise<ConsultationView> {
  assertDecision(decision, 'consultation.join');
  const row = await selectViews(q).where('c.id', '=', consultationId).where('c.patient_id', '=', decision.patientId).executeTakeFirst();
  if (!row) throw new AppError('not_found');
  return toView(row, false);
}

/** The patient's own consultations. */
export async function patientConsultations(q: Queryable, decision: Joined): Promise<ConsultationView[]> {
  assertDecision(decision, 'consultation.join');
  if (decision.basis !== 'self') throw new AppError('not_found');
  const rows = await selectViews(q).where('c.patient_id', '=', decision.patientId).orderBy('c.starts_at', 'desc').limit(200).execute();
  return rows.map((row) => toView(row, false));
}

/** The doctor's agenda: ids first (no patient data), then each row is shown once the gate allows it. */
export async function doctorAgendaRows(q: Queryable, doctorId: string, from: Date, to: Date) {
  return selectViews(q).where('c.doctor_id', '=', doctorId).where('c.starts_at', '>=', from).where('c.starts_at', '<', to).where('c.status', '<>', 'cancelled').orderBy('c.starts_at').limit(500).execute();
}

export function agendaView(row: ViewRow, decision: Joined | null): ConsultationView {
  if (decision) assertDecision(decision, 'consultation.join');
  // A row the gate refused (the patient opposed, say) keeps its time but hides who it is.
  if (!decision && row.patient_id) return { ...toView(row, false), patient: { id: row.patient_id, name: '' }, pathway: assessPathway({ ...row, pathway_role: 'outside_pathway', pathway_exemption: null, last_in_person_visit: null }) };
  return toView(row, true);
}
