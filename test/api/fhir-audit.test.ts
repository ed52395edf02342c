// The audit log as FHIR AuditEvents over real HTTP: a patient reads the accesses to their own data (the
// gate decides, and that reading is itself traced); a security officer searches their organisation's
// traces (the search traced); nobody else reads anything; every AuditEvent valid R4 (independent validator).
import { randomUUID } from 'node:crypto';
import { appendAuditEntry } from '../../src/audit/log.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { careSetting, insertConsultation, type CareSetting } from '../support/consultations.js';
import { enrolTotp, inviteMember, signUpPatient, type Account } from '../support/factories.js';
import { expectValidFhir } from '../support/fhir.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
let setting: CareSetting;
let officer: Account;
let otherOfficer: Account; // security officer of another organisation
let stranger: Account; // a doctor without relationship
let otherPatient: Account;


type Bundle = { total: number; entry?: Array<{ resource: Record<string, any> }> };
const resources = (bundle: Bundle) => (bundle.entry ?? []).map((e) => e.resource);

beforeAll(async () => {
  server = await startTestServer();
  setting = await careSetting(server);
  officer = await inviteMember(server, setting.admin, { roles: ['security_officer'] });
  await enrolTotp(server, officer);
  // An officer of another organisation: invited here, then moved there (one setup per instance).
  otherOfficer = await inviteMember(server, setting.admin, { roles: ['security_officer'] });
  await enrolTotp(server, otherOfficer);
  const { db } = server.services;
  const orgB = (await db.insertInto('organisations').values({ name: 'Autre centre' }).returning('id').executeTakeFirstOrThrow()).id;
  await db.updateTable('member_roles').set({ organisation_id: orgB }).where('user_id', '=', otherOfficer.userId).execute();
  stranger = await inviteMember(server, setting.admin, { roles: ['doctor'], rpps: '10000000124', profession: 'médecin généraliste' });
  await enrolTotp(server, stranger);
  otherPatient = await signUpPatient(server, setting.organisationId);
  await enrolTotp(server, otherPatient);
  await insertConsultation(server, setting, { status: 'ended' });
  // Accesses to the patient's data: one allowed (the consultation's doctor), one denied (a stranger).
  expect((await setting.doctor.client.get(`/fhir/R4/Patient/${setting.patient.userId}`)).status).toBe(200);
  expect((await stranger.client.get(`/fhir/R4/Patient/${setting.patient.userId}`)).status).toBe(404);
});
afterAll(() => server?.close());

describe('AuditEvent for the patient', () => {
  it('lists the accesses to their data, allowed and denied, each a valid AuditEvent; filters by agent, outcome and date', async () => {
    const answer = await setting.patient.client.get(`/fhir/R4/AuditEvent?patient=${setting.patient.userId}&_count=100`);
    expect(answer.status).toBe(200);
    expectValidFhir(answer.body);
    const events = resources(answer.body);
    for (const event of events) {
      expectValidFhir(event);
      expect(event.entity.find((e: { what?: { reference?: string } }) => e.what?.reference)?.what.reference).toBe(`Patient/${setting.patient.userId}`);
    }
    const byDoctor = events.find((e) => e.agent[0].who?.identifier.value === setting.doctor.userId && e.subtype[0].code === 'patient.read');
    expect(byDoctor).toMatchObject({ type: { code: 'rest' }, action: 'R', outcome: '0', purposeOfEvent: [{ coding: [{ code: 'TREAT' }] }], agent: [{ requestor: true, network: { type: '2' } }] });
    const byStranger = events.find((e) => e.agent[0].who?.identifier.value === stranger.userId);
    expect(byStranger).toMatchObject({ outcome: '4', outcomeDesc: 'no_relationship' });

    const search = async (query: string) => resources((await setting.patient.client.get(`/fhir/R4/AuditEvent?patient=${setting.patient.userId}&_count=100&${query}`)).body);
    const strangers = await search(`agent=${stranger.userId}`);
    expect(strangers.length).toBeGreaterThan(0);
    expect(strangers.every((e) => e.agent[0].who.identifier.value === stranger.userId)).toBe(true);
    expect((await search('outcome=4')).every((e) => e.outcome === '4')).toBe(true);
    expect((await search('outcome=4')).map((e) => e.id)).toContain(byStranger!.id);
    expect(await search(`date=gt${new Date(Date.now() + 3_600_000).toISOString().slice(0, 10)}`)).toEqual([]);

    // One event read by id; someone else's event answers as an unknown one.
    const one = await setting.patient.client.get(`/fhir/R4/AuditEvent/${byDoctor!.id}`);
    expect(one.status).toBe(200);
    expect(one.body.id).toBe(byDoctor!.id);
    expect((await otherPatient.client.get(`/fhir/R4/AuditEvent/${byDoctor!.id}`)).status).toBe(404);
    expect((await otherPatient.client.get('/fhir/R4/AuditEvent/999999999')).status).toBe(404);
  });

  it('is read through the gate: reading one’s access history is itself traced; others are refused as unknown', async () => {
    const { db } = server.services;
    const count = async () => (await db.selectFrom('audit_entries').select('id').where('patient_id', '=', setting.patient.userId).where('type', '=', 'access_history.read').execute()).length;
    const before = await count();
    await setting.patient.client.get(`/fhir/R4/AuditEvent?patient=${setting.patient.userId}`);
    expect(await count()).toBe(before + 1);
    // The patient's doctor may read the record, not the access history; nor may anyone else.
    for (const someone of [setting.doctor, stranger, otherPatient, setting.admin]) {
      const answer = await someone.client.get(`/fhir/R4/AuditEvent?patient=${setting.patient.userId}`);
      expect(answer.status, someone.email).toBe(404);
      expect(answer.body.resourceType).toBe('OperationOutcome');
    }
    expect((await setting.patient.client.get('/fhir/R4/AuditEvent')).status).toBe(400);
    expect((await setting.patient.client.get(`/fhir/R4/AuditEvent?patient=${setting.patient.userId}&agent=nobody`)).status).toBe(400);
    expect((await setting.patient.client.get(`/fhir/R4/AuditEvent?patient=${setting.patient.userId}&action=R`)).status).toBe(400);
  });
});

describe('AuditEvent for the security officer', () => {
  it('searches the organisation’s traces (the search traced), reads one, and sees nothing of another organisation', async () => {
    const all = await officer.client.get('/fhir/R4/AuditEvent?_count=100');
    expect(all.status).toBe(200);
    expectValidFhir(all.body);
    expect(all.body.total).toBeGreaterThan(5);
    // Both kinds: the gate's decisions and security events (logins, roles…).
    const kinds = new Set(resources(all.body).map((e) => e.type.code));
    expect([...kinds].sort(), [...new Set(resources(all.body).map((e) => e.subtype[0].code))].join()).toEqual(expect.arrayContaining(['rest']));
    expect(kinds.has('110114') || kinds.has('110113')).toBe(true);
    const aboutPatient = await officer.client.get(`/fhir/R4/AuditEvent?patient=${setting.patient.userId}&_count=100`);
    const events = resources(aboutPatient.body);
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((e) => e.entity?.some((entity: { what?: { reference?: string } }) => entity.what?.reference === `Patient/${setting.patient.userId}`))).toBe(true);
    const first = events[0]!;
    expect((await officer.client.get(`/fhir/R4/AuditEvent/${first.id}`)).body.id).toBe(first.id);
    // Paging: a next link while there is more.
    const paged = await officer.client.get('/fhir/R4/AuditEvent?_count=2');
    expect(resources(paged.body)).toHaveLength(2);
    expect(paged.body.link.map((l: { relation: string }) => l.relation)).toContain('next');

    // The other organisation's officer sees none of it.
    const other = await otherOfficer.client.get(`/fhir/R4/AuditEvent?patient=${setting.patient.userId}`);
    expect(other.body.total).toBe(0);
    expect((await otherOfficer.client.get(`/fhir/R4/AuditEvent/${first.id}`)).status).toBe(404);
    // Each search is traced.
    const searched = await server.services.db.selectFrom('audit_entries').select('detail').where('type', '=', 'audit.searched').where('actor_user_id', '=', officer.userId).execute();
    expect(searched.filter((row) => (row.detail as { via?: string }).via === 'fhir').length).toBeGreaterThanOrEqual(3);
    expect((await officer.client.get(`/fhir/R4/AuditEvent?patient=${randomUUID()}`)).body.total).toBe(0);
  });

  it('needs a second factor, as the officer’s pages do', async () => {
    const fresh = await inviteMember(server, setting.admin, { roles: ['security_officer'] });
    const answer = await fresh.client.get('/fhir/R4/AuditEvent');
    expect(answer.status).toBe(403);
    expect(answer.body.resourceType).toBe('OperationOutcome');
    expect((await fresh.client.get('/fhir/R4/AuditEvent/1')).status).toBe(403);
  });

  it('does not open another organisation’s traces through a person who belongs to both', async () => {
    // The patient also belongs to organisation B; an access decided in B (organisation B's entry).
    const { db } = server.services;
    const orgB = (await db.selectFrom('member_roles').select('organisation_id').where('user_id', '=', otherOfficer.userId).executeTakeFirstOrThrow()).organisation_id;
    await db.insertInto('member_roles').values({ organisation_id: orgB, user_id: setting.patient.userId, role: 'patient' }).execute();
    const requestId = `cross-org-${randomUUID()}`;
    await appendAuditEntry(db, { requestId, sourceAddress: '127.0.0.1' }, { kind: 'access', type: 'record.read', outcome: 'allowed', actorUserId: otherOfficer.userId, patientId: setting.patient.userId, organisationId: orgB, purpose: 'care' });
    const inB = (await db.selectFrom('audit_entries').select('id').where('request_id', '=', requestId).executeTakeFirstOrThrow()).id;
    expect((await officer.client.get(`/fhir/R4/AuditEvent/${inB}`)).status).toBe(404);
    const aboutPatient = resources((await officer.client.get(`/fhir/R4/AuditEvent?patient=${setting.patient.userId}&_count=100`)).body);
    expect(aboutPatient.map((e) => e.id)).not.toContain(String(inB));
    expect((await otherOfficer.client.get(`/fhir/R4/AuditEvent/${inB}`)).status).toBe(200);
  });
});
