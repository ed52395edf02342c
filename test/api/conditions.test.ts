// Allergies and problems of the record over real HTTP: recorded by the professional who cares for the
// patient or by the patient, sealed at rest, resolved (never deleted); bad input refused before the gate
// and nothing written; read by those the gate lets read the record, refused alike to others; as FHIR
// AllergyIntolerance and Condition (read, search, $everything), valid R4 for an independent validator.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { careSetting, insertConsultation, type CareSetting } from '../support/consultations.js';
import { enrolTotp, inviteMember, signUpPatient, type Account } from '../support/factories.js';
import { expectValidFhir } from '../support/fhir.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
let setting: CareSetting;
let stranger: Account;
let otherPatient: Account;


beforeAll(async () => {
  server = await startTestServer();
  setting = await careSetting(server);
  await insertConsultation(server, setting, { status: 'ended' });
  stranger = await inviteMember(server, setting.admin, { roles: ['doctor'], rpps: '10000000124', profession: 'médecin généraliste' });
  await enrolTotp(server, stranger);
  otherPatient = await signUpPatient(server, setting.organisationId);
  await enrolTotp(server, otherPatient);
});
afterAll(() => server?.close());

const record = (account: Account, body: object, patientId = setting.patient.userId) => account.client.post(`/api/patients/${patientId}/conditions`, body);
const count = async () => (await server.services.db.selectFrom('record_conditions').select('id').execute()).length;

describe('allergies and problems', () => {
  it('are recorded by the caring doctor and by the patient, sealed at rest, listed for both, resolved and not deleted', async () => {
    const allergy = await record(setting.doctor, { category: 'allergy', label: 'Pénicilline', reaction: 'Urticaire généralisée', criticality: 'high', onsetDate: '2019-05-01', note: 'Confirmée par l’allergologue' });
    expect(allergy.status, JSON.stringify(allergy.body)).toBe(201);
    expect(allergy.body.condition).toMatchObject({ category: 'allergy', label: 'Pénicilline', reaction: 'Urticaire généralisée', criticality: 'high', onsetDate: '2019-05-01', status: 'active', authorId: setting.doctor.userId });
    const problem = await record(setting.patient, { category: 'problem', label: 'Asthme', onsetDate: '2001-01-01' });
    expect(problem.status).toBe(201);
    const row = await server.services.db.selectFrom('record_conditions').select('body_sealed').where('id', '=', allergy.body.condition.id).executeTakeFirstOrThrow();
    expect(row.body_sealed).not.toContain('Pénicilline');

    for (const reader of [setting.doctor, setting.patient]) {
      const list = await reader.client.get(`/api/patients/${setting.patient.userId}/conditions`);
      expect(list.status).toBe(200);
      expect(list.body.conditions.map((c: { label: string }) => c.label)).toEqual(expect.arrayContaining(['Pénicilline', 'Asthme']));
    }
    const allergies = await setting.patient.client.get(`/api/patients/${setting.patient.userId}/conditions?category=allergy`);
    expect(allergies.body.conditions.every((c: { category: string }) => c.category === 'allergy')).toBe(true);

    const resolved = await setting.doctor.client.post(`/api/patients/${setting.patient.userId}/conditions/${problem.body.condition.id}/status`, { status: 'resolved' });
    expect(resolved.status).toBe(200);
    expect(resolved.body.condition).toMatchObject({ status: 'resolved', label: 'Asthme' });
    expect((await setting.doctor.client.post(`/api/patients/${otherPatient.userId}/conditions/${problem.body.condition.id}/status`, { status: 'active' })).status).toBe(404);
  });

  it('refuses bad input before the gate, and anyone the gate refuses as an unknown patient; writes nothing', async () => {
    const before = await count();
    const future = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10);
    const bad = [
      { category: 'problem', label: 'Diabète', reaction: 'x' },
      { category: 'problem', label: 'Diabète', criticality: 'high' },
      { category: 'allergy', label: 'Latex', onsetDate: future },
      { category: 'allergy', label: 'Latex', onsetDate: '2021-02-30' },
      { category: 'allergy', label: '   ' },
      { category: 'allergy', label: 'a\u0007b' },
      { category: 'surgery', label: 'Appendicectomie' },
      { category: 'allergy', label: 'Latex', extra: true },
    ];
    for (const body of bad) {
      const answer = await record(setting.doctor, body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.headers.get('content-type')).toContain('application/problem+json');
    }
    for (const someone of [stranger, otherPatient, setting.admin]) {
      expect((await record(someone, { category: 'allergy', label: 'Latex' })).status, someone.email).toBe(404);
      expect((await someone.client.get(`/api/patients/${setting.patient.userId}/conditions`)).status).toBe(404);
    }
    expect(await count()).toBe(before);
  });

  it('are FHIR AllergyIntolerance and Condition resources (read, search by clinical status, $everything), valid R4', async () => {
    const allergy = (await record(setting.doctor, { category: 'allergy', label: 'Arachide', reaction: 'Œdème de Quincke', criticality: 'high' })).body.condition;
    const problem = (await record(setting.doctor, { category: 'problem', label: 'Hypertension artérielle', note: 'Sous traitement' })).body.condition;
    const readAllergy = await setting.patient.client.get(`/fhir/R4/AllergyIntolerance/${allergy.id}`);
    expect(readAllergy.status).toBe(200);
    expectValidFhir(readAllergy.body);
    expect(readAllergy.body).toMatchObject({ code: { text: 'Arachide' }, criticality: 'high', reaction: [{ manifestation: [{ text: 'Œdème de Quincke' }] }], patient: { reference: `Patient/${setting.patient.userId}` }, recorder: { reference: `Practitioner/${setting.doctor.userId}` } });
    const readProblem = await setting.doctor.client.get(`/fhir/R4/Condition/${problem.id}`);
    expectValidFhir(readProblem.body);
    expect(readProblem.body).toMatchObject({ code: { text: 'Hypertension artérielle' }, clinicalStatus: { coding: [{ code: 'active' }] }, note: [{ text: 'Sous traitement' }] });
    // A problem's id is not an AllergyIntolerance.
    expect((await setting.doctor.client.get(`/fhir/R4/AllergyIntolerance/${problem.id}`)).status).toBe(404);

    const search = async (query: string) => {
      const answer = await setting.doctor.client.get(`/fhir/R4/${query}`);
      expect(answer.status).toBe(200);
      expectValidFhir(answer.body);
      return (answer.body.entry ?? []).map((e: { resource: { id: string; clinicalStatus: { coding: Array<{ code: string }> } } }) => e.resource);
    };
    const active = await search(`Condition?patient=${setting.patient.userId}&clinical-status=active`);
    expect(active.map((c: { id: string }) => c.id)).toContain(problem.id);
    expect(active.every((c: { clinicalStatus: { coding: Array<{ code: string }> } }) => c.clinicalStatus.coding[0]!.code === 'active')).toBe(true);
    const resolved = await search(`Condition?patient=${setting.patient.userId}&clinical-status=resolved`);
    expect(resolved.map((c: { id: string }) => c.id)).not.toContain(problem.id);
    expect((await search(`AllergyIntolerance?patient=${setting.patient.userId}`)).map((a: { id: string }) => a.id)).toContain(allergy.id);

    const everything = await setting.doctor.client.get(`/fhir/R4/Patient/${setting.patient.userId}/$everything`);
    expectValidFhir(everything.body);
    const types = everything.body.entry.map((e: { resource: { resourceType: string; id: string } }) => `${e.resource.resourceType}/${e.resource.id}`);
    expect(types).toEqual(expect.arrayContaining([`AllergyIntolerance/${allergy.id}`, `Condition/${problem.id}`]));
    for (const outsider of [stranger, otherPatient]) {
      expect((await outsider.client.get(`/fhir/R4/AllergyIntolerance/${allergy.id}`)).status).toBe(404);
      expect((await outsider.client.get(`/fhir/R4/Condition?patient=${setting.patient.userId}`)).status).toBe(404);
    }
  });
});
