// Test scaffolding for the consultation capability: a doctor and a patient of one organisation, and a
// consultation between them written straight into the database (with its care relationship), for
// tests of signaling, documents and chat that do not exercise booking itself.
import { randomUUID } from 'node:crypto';
import type { ConsultationStatus } from '../../src/kernel/schema.js';
import type { TestServer } from './server.js';
import { enrolTotp, inviteMember, setupOrganisation, signUpPatient, type Account } from './factories.js';

export interface CareSetting {
  admin: Account & { organisationId: string };
  organisationId: string;
  doctor: Account;
  patient: Account;
}

export async function careSetting(server: TestServer, rpps = '10003456786'): Promise<CareSetting> {
  const admin = await setupOrganisation(server);
  const doctor = await inviteMember(server, admin, { roles: ['doctor'], rpps, profession: 'médecin généraliste' });
  await enrolTotp(server, doctor);
  const patient = await signUpPatient(server, admin.organisationId);
  await enrolTotp(server, patient);
  return { admin, organisationId: admin.organisationId, doctor, patient };
}

/** Inserts a consultation starting now (and its 'consultation' care relationship), as booking would. */
export async function insertConsultation(
  server: TestServer,
  setting: { organisationId: string; doctor: Account; patient: Account },
  options: { status?: ConsultationStatus; startsInMs?: number; durationMs?: number } = {},
): Promise<string> {
  const { db } = server.services;
  const now = new Date(server.services.now());
  const startsAt = new Date(now.getTime() + (options.startsInMs ?? 0));
  const endsAt = new Date(startsAt.getTime() + (options.durationMs ?? 20 * 60_000));
  const id = randomUUID();
  const relationshipId = randomUUID();
  await db.transaction().execute(async (tx) => {
    await tx
      .insertInto('care_relationships')
      .values({ id: relationshipId, patient_id: setting.patient.userId, professional_id: setting.doctor.userId, organisation_id: setting.organisationId, kind: 'consultation', starts_at: now, ends_at: new Date(endsAt.getTime() + 30 * 24 * 3600_000), created_by: setting.doctor.userId })
      .execute();
    await tx
      .insertInto('consultations')
      .values({
        id,
        organisation_id: setting.organisationId,
        doctor_id: setting.doctor.userId,
        patient_id: setting.patient.userId,
        starts_at: startsAt,
        ends_at: endsAt,
        mode: 'video',
        status: options.status ?? 'scheduled',
        booked_by: setting.patient.userId,
        booked_at: now,
        pathway_role: 'attending_doctor',
        relationship_id: relationshipId,
        ...(options.status === 'in_progress' ? { admitted_at: now, waiting_since: now } : {}),
      })
      .execute();
  });
  return id;
}
