// The access capability's flows over real HTTP: a patient declares an attending doctor and builds a
// care team, removes someone (who loses access at once), opposes a professional; a doctor without a
// relationship breaks the glass (30 minutes, an open incident, shown to the patient), then it expires.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AllowedDecision } from '../../src/access/gate.js';
import { patientSummary } from '../../src/access/patients.js';
import type { Response } from '../support/client.js';
import { enrolTotp, inviteMember, setupOrganisation, signUpPatient, type Account } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
let admin: Account & { organisationId: string };
let patient: Account;
let doctor: Account;
let secondDoctor: Account;
let nurse: Account;

beforeAll(async () => {
  // Sessions outlive the 31 minutes the break-the-glass test moves the clock.
  server = await startTestServer({ SESSION_IDLE_MINUTES: '120' });
  admin = await setupOrganisation(server, 'Maison de santé');
  patient = await signUpPatient(server, admin.organisationId);
  await enrolTotp(server, patient);
  doctor = await inviteMember(server, admin, { roles: ['doctor'], rpps: '10003456786', profession: 'Médecin généraliste' });
  await enrolTotp(server, doctor);
  secondDoctor = await inviteMember(server, admin, { roles: ['doctor'], rpps: '10000000124', profession: 'Médecin urgentiste' });
  await enrolTotp(server, secondDoctor);
  nurse = await inviteMember(server, admin, { roles: ['health_professional'], rpps: '10000000132', profession: 'Infirmière' });
  await enrolTotp(server, nurse);
});
afterAll(() => server?.close());

function expectProblem(response: Response<any>, status: number, code: string): void {
  expect({ status: response.status, code: response.body?.code }, JSON.stringify(response.body)).toEqual({ status, code });
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
}

const care = () => patient.client.get('/api/me/care');
const activeKinds = async () => (await care()).body.relationships.filter((r: any) => r.active).map((r: any) => `${r.kind}:${r.professional.id}`).sort();

describe('attending doctor and care team', () => {
  it('the patient chooses among the professionals of their organisation', async () => {
    const response = await patient.client.get('/api/me/professionals');
    expect(response.status).toBe(200);
    const ids = response.body.professionals.map((p: any) => p.id);
    expect(ids.sort()).toEqual([doctor.userId, secondDoctor.userId, nurse.userId].sort());
    expect(response.body.professionals.find((p: any) => p.id === nurse.userId)).toMatchObject({ roles: ['health_professional'], rpps: '10000000132', profession: 'Infirmière' });
    // A professional has no "my professionals" page: they are no patient.
    expectProblem(await doctor.client.get('/api/me/professionals'), 404, 'not_found');
  });

  it('declaring the attending doctor opens the patient to them; choosing another closes it', async () => {
    expectProblem(await doctor.client.get(`/api/patients/${patient.userId}`), 404, 'not_found');
    expectProblem(await patient.client.post('/api/me/attending-doctor', { professionalId: nurse.userId }), 400, 'validation_failed');
    expectProblem(await patient.client.post('/api/me/attending-doctor', { professionalId: randomUUID() }), 400, 'validation_failed');

    const declared = await patient.client.post('/api/me/attending-doctor', { professionalId: doctor.userId });
    expect(declared.status, JSON.stringify(declared.body)).toBe(201);
    expectProblem(await patient.client.post('/api/me/attending-doctor', { professionalId: doctor.userId }), 409, 'conflict');

    const seen = await doctor.client.get(`/api/patients/${patient.userId}`);
    expect(seen.status).toBe(200);
    expect(seen.body).toMatchObject({
      id: patient.userId,
      identity: { birthName: 'MARTIN', firstNames: 'Jeanne Louise', birthDate: '1980-05-17', sex: 'F', birthplaceCode: '75056' },
      ins: { status: 'provisional', nir: null },
      access: { basis: 'attending_doctor', purpose: 'care' },
      careTeam: [{ id: declared.body.id, kind: 'attending_doctor', professional: { id: doctor.userId, rpps: '10003456786' }, active: true }],
    });
    const list = await doctor.client.get('/api/patients');
    expect(list.body.patients.map((p: any) => p.id)).toEqual([patient.userId]);
    expect(list.body.patients[0]).toEqual(seen.body);
    // The patient sees the list view in their access history, named as such by the entry and its leaf.
    await server.services.audit.integrator.flush();
    const history = await patient.client.get('/api/me/access-history');
    const listed = history.body.entries.filter((entry: any) => entry.resourceType === 'patient_list');
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ action: 'patient.read', outcome: 'allowed', actor: { id: doctor.userId }, basis: 'attending_doctor' });
    expect(JSON.parse(listed[0].leafData).resourceType).toBe('patient_list');

    // A patient of the list without identity traits (a data fault) is left out; the others still show.
    const faulty = await signUpPatient(server, admin.organisationId);
    await enrolTotp(server, faulty);
    expect((await faulty.client.post('/api/me/attending-doctor', { professionalId: doctor.userId })).status).toBe(201);
    await server.services.db.deleteFrom('patient_identities').where('user_id', '=', faulty.userId).execute();
    const partial = await doctor.client.get('/api/patients');
    expect(partial.status, JSON.stringify(partial.body)).toBe(200);
    expect(partial.body.patients.map((p: any) => p.id)).toEqual([patient.userId]);
    expectProblem(await doctor.client.get(`/api/patients/${faulty.userId}`), 404, 'not_found');
    await server.services.db.deleteFrom('care_relationships').where('patient_id', '=', faulty.userId).execute();

    // Another attending doctor: the first one stops being attending at once.
    expect((await patient.client.post('/api/me/attending-doctor', { professionalId: secondDoctor.userId })).status).toBe(201);
    expectProblem(await doctor.client.get(`/api/patients/${patient.userId}`), 404, 'not_found');
    expect((await doctor.client.get('/api/patients')).body.patients).toEqual([]);
    expect(await activeKinds()).toEqual([`attending_doctor:${secondDoctor.userId}`]);
    const ended = (await care()).body.relationships.find((r: any) => r.professional.id === doctor.userId);
    expect(ended).toMatchObject({ kind: 'attending_doctor', active: false, endsAt: expect.any(String) });
  });

  it('the attending doctor adds a care-team member; a nurse may not; the patient removes them and access ends at once', async () => {
    expectProblem(await nurse.client.post(`/api/patients/${patient.userId}/care-team`, { professionalId: doctor.userId }), 404, 'not_found');
    // The attending doctor chooses from the professionals of the patient's organisation; others see nothing.
    const professionals = `/api/patients/${patient.userId}/professionals`;
    expectProblem(await nurse.client.get(professionals), 404, 'not_found');
    expectProblem(await admin.client.get(professionals), 404, 'not_found');
    const listed = await secondDoctor.client.get(professionals);
    expect(listed.status).toBe(200);
    expect(listed.body.professionals.find((p: any) => p.id === nurse.userId)).toMatchObject({ displayName: expect.any(String), profession: 'Infirmière', organisationName: 'Maison de santé' });
    expect(listed.body.professionals.map((p: any) => p.id)).not.toContain(patient.userId);
    const added = await secondDoctor.client.post(`/api/patients/${patient.userId}/care-team`, { professionalId: nurse.userId });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    expectProblem(await patient.client.post('/api/me/care-team', { professionalId: nurse.userId }), 409, 'conflict');

    const seen = await nurse.client.get(`/api/patients/${patient.userId}`);
    expect(seen.status).toBe(200);
    // A care-team member reads the record, not the list of the patient's organisations' staff.
    expectProblem(await nurse.client.get(professionals), 404, 'not_found');
    expect(seen.body.access).toEqual({ basis: 'care_team', purpose: 'care' });
    // The nurse reads, but does not manage the care team.
    expectProblem(await nurse.client.post(`/api/patients/${patient.userId}/care-team`, { professionalId: doctor.userId }), 404, 'not_found');

    expect((await patient.client.delete(`/api/me/care-team/${added.body.id}`)).status).toBe(204);
    expectProblem(await nurse.client.get(`/api/patients/${patient.userId}`), 404, 'not_found');
    expectProblem(await patient.client.delete(`/api/me/care-team/${added.body.id}`), 404, 'not_found');
  });

  it('every change is one allowed access entry naming the change', async () => {
    const entries = await server.services.db
      .selectFrom('audit_entries')
      .select(['type', 'outcome', 'actor_user_id', 'actor_role', 'resource_type', 'detail'])
      .where('patient_id', '=', patient.userId)
      .where('type', '=', 'care_team.manage')
      .where('outcome', '=', 'allowed')
      .orderBy('id')
      .execute();
    // Refused changes (bad professional, conflict, already ended) keep their decision's trace: the gate said yes.
    // (The attending doctor's opening of the list to choose from is traced too, as a view, not a change.)
    expect(entries.filter((entry) => (entry.detail as Record<string, string>)['view'] === 'professionals')).toHaveLength(1);
    expect(entries.filter((entry) => !(entry.detail as Record<string, string>)['view']).map((entry) => [entry.actor_role, entry.resource_type, (entry.detail as Record<string, string>)['change']])).toEqual([
      ['self', 'care_relationship', 'attending_doctor.declared'], // a nurse: refused
      ['self', 'care_relationship', 'attending_doctor.declared'], // unknown id: refused
      ['self', 'care_relationship', 'attending_doctor.declared'],
      ['self', 'care_relationship', 'attending_doctor.declared'], // the same doctor again: conflict
      ['self', 'care_relationship', 'attending_doctor.declared'],
      ['attending_doctor', 'care_relationship', 'care_team.added'],
      ['self', 'care_relationship', 'care_team.added'], // conflict
      ['self', 'care_relationship', 'relationship.ended'],
      ['self', 'care_relationship', 'relationship.ended'], // already ended
    ]);
    // Only the successful changes left rows behind.
    const rows = await server.services.db.selectFrom('care_relationships').select('kind').where('patient_id', '=', patient.userId).execute();
    expect(rows.map((row) => row.kind).sort()).toEqual(['attending_doctor', 'attending_doctor', 'care_team']);
  });
});

describe('opposition', () => {
  it('an opposition closes a professional’s access despite the relationship; withdrawing it reopens', async () => {
    expect((await doctor.client.get(`/api/patients/${patient.userId}`)).status).toBe(404);
    expect((await patient.client.post('/api/me/care-team', { professionalId: doctor.userId })).status).toBe(201);
    expect((await doctor.client.get(`/api/patients/${patient.userId}`)).status).toBe(200);

    const opposition = await patient.client.post('/api/me/oppositions', { professionalId: doctor.userId });
    expect(opposition.status).toBe(201);
    expectProblem(await patient.client.post('/api/me/oppositions', { professionalId: doctor.userId }), 409, 'conflict');
    expectProblem(await doctor.client.get(`/api/patients/${patient.userId}`), 404, 'not_found');
    expect((await doctor.client.get('/api/patients')).body.patients).toEqual([]);
    expect((await care()).body.oppositions).toEqual([expect.objectContaining({ id: opposition.body.id, professional: expect.objectContaining({ id: doctor.userId }), active: true })]);
    const denied = await server.services.db.selectFrom('audit_entries').select('detail').where('actor_user_id', '=', doctor.userId).where('outcome', '=', 'denied').orderBy('id', 'desc').executeTakeFirstOrThrow();
    expect(denied.detail).toMatchObject({ reason: 'opposed' });

    expect((await patient.client.delete(`/api/me/oppositions/${opposition.body.id}`)).status).toBe(204);
    expect((await doctor.client.get(`/api/patients/${patient.userId}`)).status).toBe(200);
    expectProblem(await patient.client.delete(`/api/me/oppositions/${opposition.body.id}`), 404, 'not_found');
    expectProblem(await doctor.client.post('/api/me/oppositions', { professionalId: nurse.userId }), 404, 'not_found');
  });
});

describe('break-the-glass', () => {
  const REASON = 'Patiente inconsciente aux urgences, traitement anticoagulant à vérifier';

  it('a doctor without relationship opens the record for 30 minutes, with an incident, shown to the patient; then it is gone', async () => {
    expectProblem(await nurse.client.post(`/api/patients/${patient.userId}/break-the-glass`, { reason: REASON }), 404, 'not_found');
    expectProblem(await doctor.client.post(`/api/patients/${randomUUID()}/break-the-glass`, { reason: REASON }), 404, 'not_found');
    // Leave the doctor without relationship first.
    const current = (await care()).body.relationships.find((r: any) => r.active && r.professional.id === doctor.userId);
    expect((await patient.client.delete(`/api/me/care-team/${current.id}`)).status).toBe(204);
    expectProblem(await doctor.client.get(`/api/patients/${patient.userId}?purpose=emergency`), 404, 'not_found');
    expectProblem(await doctor.client.post(`/api/patients/${patient.userId}/break-the-glass`, { reason: 'urgence' }), 400, 'validation_failed');
    expectProblem(await doctor.client.post(`/api/patients/${patient.userId}/break-the-glass`, { reason: '            ' }), 400, 'validation_failed');

    const openedAt = server.services.now();
    const opened = await doctor.client.post(`/api/patients/${patient.userId}/break-the-glass`, { reason: REASON });
    expect(opened.status, JSON.stringify(opened.body)).toBe(201);
    const expiresIn = Date.parse(opened.body.expiresAt) - openedAt;
    expect(expiresIn).toBeGreaterThanOrEqual(30 * 60_000 - 1_000);
    expect(expiresIn).toBeLessThanOrEqual(30 * 60_000 + 1_000);

    const { db } = server.services;
    const access = await db.selectFrom('emergency_accesses').selectAll().where('id', '=', opened.body.id).executeTakeFirstOrThrow();
    expect(access).toMatchObject({ actor_id: doctor.userId, patient_id: patient.userId, reason: REASON });
    const incident = await db.selectFrom('incidents').selectAll().where('id', '=', access.incident_id!).executeTakeFirstOrThrow();
    expect(incident).toMatchObject({ kind: 'break_the_glass', status: 'open', actor_user_id: doctor.userId, patient_id: patient.userId });
    expect(incident.summary).toContain(doctor.userId);
    expect(incident.summary).toContain(patient.userId);
    expect(incident.summary).not.toContain('anticoagulant');
    const entry = await db.selectFrom('audit_entries').selectAll().where('resource_id', '=', opened.body.id).executeTakeFirstOrThrow();
    expect(entry).toMatchObject({ kind: 'access', type: 'emergency_access.open', outcome: 'allowed', actor_role: 'break_the_glass', purpose: 'emergency', reason: REASON });

    // Read-only, under the emergency purpose only.
    const seen = await doctor.client.get(`/api/patients/${patient.userId}?purpose=emergency`);
    expect(seen.status).toBe(200);
    expect(seen.body.access).toEqual({ basis: 'break_the_glass', purpose: 'emergency' });
    expectProblem(await doctor.client.get(`/api/patients/${patient.userId}`), 404, 'not_found');
    expectProblem(await doctor.client.post(`/api/patients/${patient.userId}/care-team`, { professionalId: nurse.userId }), 404, 'not_found');

    // The patient sees who opened their record and why.
    const overview = (await care()).body;
    expect(overview.emergencyAccesses).toEqual([
      expect.objectContaining({ id: opened.body.id, actor: expect.objectContaining({ id: doctor.userId, rpps: '10003456786' }), reason: REASON, endsAt: opened.body.expiresAt, active: true }),
    ]);

    server.advanceClock(31 * 60_000);
    expectProblem(await doctor.client.get(`/api/patients/${patient.userId}?purpose=emergency`), 404, 'not_found');
    expect((await care()).body.emergencyAccesses[0].active).toBe(false);
  });
});

describe('second factor', () => {
  it('a patient without a second factor is refused by the gate, and the refusal is traced', async () => {
    const newcomer = await signUpPatient(server, admin.organisationId);
    expectProblem(await newcomer.client.get('/api/me/care'), 403, 'second_factor_enrolment_required');
    const entry = await server.services.db.selectFrom('audit_entries').selectAll().where('actor_user_id', '=', newcomer.userId).where('kind', '=', 'access').executeTakeFirstOrThrow();
    expect(entry).toMatchObject({ type: 'care_team.read', outcome: 'denied', patient_id: newcomer.userId, purpose: 'patient_self' });
    expect(entry.detail).toMatchObject({ reason: 'second_factor_required' });
    await enrolTotp(server, newcomer);
    expect((await newcomer.client.get('/api/me/care')).body).toEqual({ relationships: [], oppositions: [], emergencyAccesses: [] });
  });
});

describe('no way around the gate', () => {
  it('a repository refuses a look-alike of an allowed decision', async () => {
    const forged = { allowed: true, actorId: doctor.userId, patientId: patient.userId, action: 'patient.read', purpose: 'care', basis: 'attending_doctor', organisationId: admin.organisationId, decidedAt: new Date() };
    await expect(patientSummary(server.services.db, forged as unknown as AllowedDecision<'patient.read'>, new Date())).rejects.toThrow(/without an allowed patient.read decision/);
    expect(() => (AllowedDecision as any).issue(Symbol('issued by the access gate'), forged)).toThrow(/only the access gate/);
  });
});
