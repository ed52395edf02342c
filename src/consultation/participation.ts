// Who takes part in a consultation: its doctor and its patient, nobody else. Every consultation route
// (waiting room, signaling, chat, documents, report) first asks this, then the access gate for the
// patient's data. A consultation whose invited patient has no account yet has no participant patient.
import type { Queryable } from '../kernel/db.js';
import type { ConsultationMode, ConsultationStatus } from '../kernel/schema.js';

export type ParticipantRole = 'doctor' | 'patient';

export interface ConsultationRef {
  id: string;
  organisationId: string;
  doctorId: string;
  patientId: string;
  status: ConsultationStatus;
  mode: ConsultationMode;
  startsAt: Date;
  endsAt: Date;
  waitingSince: Date | null;
  admittedAt: Date | null;
  endedAt: Date | null;
}

export interface Participation {
  consultation: ConsultationRef;
  role: ParticipantRole;
  /** The purpose the gate is asked with: the patient's own data, or care by the doctor. */
  purpose: 'patient_self' | 'care';
}

export async function findParticipation(q: Queryable, consultationId: string, userId: string): Promise<Participation | null> {
  const row = await q
    .selectFrom('consultations')
    .select(['id', 'organisation_id', 'doctor_id', 'patient_id', 'status', 'mode', 'starts_at', 'ends_at', 'waiting_since', 'admitted_at', 'ended_at'])
    .where('id', '=', consultationId)
    .where((eb) => eb.or([eb('doctor_id', '=', userId), eb('patient_id', '=', userId)]))
    .executeTakeFirst();
  if (!row || row.patient_id === null) return null;
  const role: ParticipantRole = row.doctor_id === userId ? 'doctor' : 'patient';
  return {
    consultation: {
      id: row.id,
      organisationId: row.organisation_id,
      doctorId: row.doctor_id,
      patientId: row.patient_id,
      status: row.status,
      mode: row.mode,
      startsAt: row.starts_at,
      endsAt: row.ends_at,
      waitingSince: row.waiting_since,
      admittedAt: row.admitted_at,
      endedAt: row.ended_at,
    },
    role,
    purpose: role === 'doctor' ? 'care' : 'patient_self',
  };
}

/** The other side of the call. */
export function counterpartOf(participation: Participation): string {
  const { consultation, role } = participation;
  return role === 'doctor' ? consultation.patientId : consultation.doctorId;
}
