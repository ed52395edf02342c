// Anomalies in the audit log open incidents, which the security officer works: acknowledge, comment,
// close — each step traced.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAuditEntry } from '../../src/audit/log.js';
import { THRESHOLDS } from '../../src/audit/incidents.js';
import { Client } from '../support/client.js';
import { insertConsultation } from '../support/consultations.js';
import { enrolTotp, inviteMember, setupOrganisation, signUpPatient, uniqueEmail, type Account } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
let officer: Account & { organisationId: string };
let patient: Account;

beforeAll(async () => {
  server = await startTestServer();
  officer = await setupOrganisation(server);
  await officer.client.put(`/api/admin/organisations/${officer.organisationId}/members/${officer.userId}/roles`, { roles: ['org_admin', 'security_officer'] });
  patient = await signUpPatient(server, officer.organisationId);
});
afterAll(() => server?.close());

async function incidents() {
  await server.services.audit.integrator.flush();
  const answer = await officer.client.get('/api/incidents');
  expect(answer.status).toBe(200);
  return answer.body as Array<{ id: string; kind: string; status: string; actorUserId: string | null; sourceAddress: string | null; notes: unknown[] }>;
}

describe('incidents', () => {
  it('failed logins on many accounts from one address open one incident', async () => {
    const attacker = new Client(server.url);
    for (let i = 0; i < THRESHOLDS.loginFailures.accounts; i++) await attacker.post('/api/login', { email: uniqueEmail('target'), password: 'Wrong-guess-1234!' });
    const open = (await incidents()).filter((incident) => incident.kind === 'login_failures');
    expect(open).toHaveLength(1);
    expect(open[0]!.sourceAddress).toBe('127.0.0.1');
    // More failures do not open a second incident while the first is open.
    await attacker.post('/api/login', { email: uniqueEmail('target'), password: 'Wrong-guess-1234!' });
    expect((await incidents()).filter((incident) => incident.kind === 'login_failures')).toHaveLength(1);
  });

  it('a burst of denied decisions by one account opens an incident about that account', async () => {
    const context = { requestId: 'test', sourceAddress: '127.0.0.1' };
    await server.services.db.transaction().execute(async (tx) => {
      for (let i = 0; i < THRESHOLDS.denialBurst.count; i++) {
        await appendAuditEntry(tx, context, { kind: 'access', type: 'record.read', outcome: 'denied', actorUserId: patient.userId, patientId: crypto.randomUUID(), purpose: 'care', detail: { reason: 'no_relationship' } });
      }
    });
    const burst = (await incidents()).filter((incident) => incident.kind === 'denial_burst');
    expect(burst).toHaveLength(1);
    expect(burst[0]!.actorUserId).toBe(patient.userId);
  });

  it('reading more than 100 patients’ records within 10 minutes opens an incident; listing as many of one’s patients does not', async () => {
    const { db } = server.services;
    const doctor = await inviteMember(server, officer, { roles: ['doctor'], rpps: '10000000124', profession: 'médecin généraliste' });
    await enrolTotp(server, doctor);
    const count = THRESHOLDS.unusualVolume.patients + 20;
    const since = new Date(server.services.now() - 86_400_000);
    const { rows } = await sql<{ id: string }>`
      INSERT INTO users (id, email, display_name, password_hash)
      SELECT gen_random_uuid(), 'volume' || i || '@incidents.test', 'Patient ' || i, 'not-a-hash' FROM generate_series(1, ${count}) i RETURNING id`.execute(db);
    const patients = rows.map((row) => row.id);
    await db.insertInto('patient_identities').values(patients.map((id, i) => ({ user_id: id, birth_name: `NOM${i}`, first_names: 'Prénom', birth_date: '1970-01-01', sex: 'F', birthplace_code: '75056' }))).execute();
    await db.insertInto('member_roles').values(patients.map((id) => ({ organisation_id: officer.organisationId, user_id: id, role: 'patient' }))).execute();
    await db
      .insertInto('care_relationships')
      .values(patients.map((id) => ({ patient_id: id, professional_id: doctor.userId, organisation_id: officer.organisationId, kind: 'attending_doctor', starts_at: since, ends_at: null, created_by: id })))
      .execute();
    const volume = async () => (await incidents()).filter((incident) => incident.kind === 'unusual_volume' && incident.actorUserId === doctor.userId);

    // The patient list and a FHIR Patient search: every patient decided and traced, as a list view.
    const list = await doctor.client.get('/api/patients');
    expect(list.status).toBe(200);
    expect(list.body.patients).toHaveLength(count);
    const search = await doctor.client.get('/fhir/R4/Patient?_count=10', { accept: 'application/fhir+json' });
    expect(search.status).toBe(200);
    expect(search.body.total).toBe(count);
    const traced = await db.selectFrom('audit_entries').select(['resource_type', (eb) => eb.fn.countAll<string>().as('n')]).where('actor_user_id', '=', doctor.userId).where('type', '=', 'patient.read').groupBy('resource_type').orderBy('resource_type').execute();
    expect(traced.map((row) => [row.resource_type, Number(row.n)])).toEqual([['fhir_search_patient', count], ['patient_list', count]]);
    // The doctor's agenda: a teleconsultation with each of them in the coming days, each row decided as a list view too.
    for (const [i, id] of patients.entries()) {
      await insertConsultation(server, { organisationId: officer.organisationId, doctor, patient: { userId: id } as Account }, { startsInMs: (i + 1) * 30 * 60_000 });
    }
    const agenda = await doctor.client.get('/api/consultations');
    expect(agenda.status).toBe(200);
    expect(agenda.body.consultations.filter((row: { patient: { id: string } | null }) => row.patient && patients.includes(row.patient.id))).toHaveLength(count);
    expect(await db.selectFrom('audit_entries').select('id').where('actor_user_id', '=', doctor.userId).where('resource_type', '=', 'agenda').execute()).toHaveLength(count);
    expect(await volume()).toEqual([]);

    // Opening each record is reading it: past the threshold, one incident about the doctor.
    for (const id of patients.slice(0, THRESHOLDS.unusualVolume.patients + 1)) expect((await doctor.client.get(`/api/patients/${id}`)).status).toBe(200);
    const opened = await volume();
    expect(opened).toHaveLength(1);
    expect(opened[0]!.status).toBe('open');
  });

  it('the officer acknowledges, comments and closes, each step traced; others cannot see incidents', async () => {
    const [incident] = await incidents();
    for (const [action, text] of [['acknowledge', ''], ['comment', 'Adresse de test, faux positif.'], ['close', 'Clos.']] as const) {
      expect((await officer.client.post(`/api/incidents/${incident!.id}/notes`, { action, text })).status).toBe(201);
    }
    const after = (await incidents()).find((i) => i.id === incident!.id)!;
    expect(after.status).toBe('closed');
    expect(after.notes).toHaveLength(3);
    const traced = await server.services.db.selectFrom('audit_entries').select('type').where('actor_user_id', '=', officer.userId).where('type', 'like', 'incident.%').execute();
    expect(traced.map((row) => row.type).sort()).toEqual(['incident.acknowledge', 'incident.close', 'incident.comment']);
    expect((await patient.client.get('/api/incidents')).status).toBeGreaterThanOrEqual(403);
    expect((await officer.client.post(`/api/incidents/${crypto.randomUUID()}/notes`, { action: 'comment', text: 'x' })).status).toBe(404);
  });
});
