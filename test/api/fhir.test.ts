// The FHIR R4 API over real HTTP: the CapabilityStatement, read and search of Patient, Encounter,
// MedicationRequest, Practitioner and Organization; search semantics (date prefixes, tokens, paging);
// the gate on every interaction (a search never returns what the single read refuses; same answer for
// someone else's patient and a random id); every resource validated by an independent FHIR R4 validator.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../support/client.js';
import { careSetting, insertConsultation, type CareSetting } from '../support/consultations.js';
import { enrolTotp, inviteMember, signUpPatient, type Account } from '../support/factories.js';
import { expectValidFhir } from '../support/fhir.js';
import { startTestServer, type TestServer } from '../support/server.js';

const DAY = 24 * 3600_000;
const NIR = '280057512345678';
let server: TestServer;
let setting: CareSetting;
let stranger: Account; // a doctor of the same organisation, without relationship
let otherPatient: Account;
let consultations: { past: string; recent: string; future: string };


beforeAll(async () => {
  server = await startTestServer();
  setting = await careSetting(server);
  stranger = await inviteMember(server, setting.admin, { roles: ['doctor'], rpps: '10000000124', profession: 'médecin généraliste' });
  await enrolTotp(server, stranger);
  otherPatient = await signUpPatient(server, setting.organisationId);
  await enrolTotp(server, otherPatient);
  consultations = {
    past: await insertConsultation(server, setting, { status: 'ended', startsInMs: -10 * DAY }),
    recent: await insertConsultation(server, setting, { status: 'ended', startsInMs: -1 * DAY }),
    future: await insertConsultation(server, setting, { startsInMs: 5 * DAY }),
  };
  await sql`UPDATE patient_identities SET ins_nir = ${NIR}, identity_status = 'qualified' WHERE user_id = ${setting.patient.userId}`.execute(server.services.db);
});
afterAll(() => server?.close());

const get = (account: Account | null, path: string) => (account ? account.client : new Client(server.url)).get(`/fhir/R4/${path}`);

describe('metadata', () => {
  it('publishes a valid CapabilityStatement listing what is supported', async () => {
    const answer = await get(null, 'metadata');
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toContain('application/fhir+json');
    expectValidFhir(answer.body);
    expect(answer.body.rest[0].resource.map((r: { type: string }) => r.type)).toEqual(['Patient', 'Practitioner', 'Organization', 'Encounter', 'Observation', 'AllergyIntolerance', 'Condition', 'DocumentReference', 'Composition', 'Consent', 'AuditEvent', 'MedicationRequest', 'ServiceRequest']);
  });
});

describe('Patient', () => {
  it('reads the patient with the FR Core INS identifier when the identity is qualified; refused alike for others and random ids', async () => {
    for (const reader of [setting.doctor, setting.patient]) {
      const answer = await get(reader, `Patient/${setting.patient.userId}`);
      expect(answer.status).toBe(200);
      expectValidFhir(answer.body);
      expect(answer.body.identifier).toEqual([{ use: 'official', type: { coding: [{ system: 'https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203', code: 'INS-NIR' }] }, system: 'urn:oid:1.2.250.1.213.1.4.8', value: NIR }]);
      expect(answer.body.name[0]).toMatchObject({ family: expect.stringMatching(/^martin$/i), given: [expect.stringMatching(/^jeanne$/i), expect.stringMatching(/^louise$/i)] });
      expect(answer.body.meta.profile[0]).toMatch(/fr-core-patient-ins$/);
    }
    const refused = await get(stranger, `Patient/${setting.patient.userId}`);
    const unknown = await get(stranger, 'Patient/00000000-0000-4000-8000-000000000000');
    expect(refused.status).toBe(404);
    expect(unknown.status).toBe(404);
    expect(refused.body.resourceType).toBe('OperationOutcome');
    expect(refused.body.issue[0].code).toBe(unknown.body.issue[0].code);
    expect((await get(setting.admin, `Patient/${setting.patient.userId}`)).status).toBe(404);
    expect((await get(otherPatient, `Patient/${setting.patient.userId}`)).status).toBe(404);
    expect((await get(null, `Patient/${setting.patient.userId}`)).status).toBe(401);
    // A provisional identity carries no INS.
    const own = await get(otherPatient, `Patient/${otherPatient.userId}`);
    expect(own.body.identifier).toBeUndefined();
    expect(own.body.extension[0].extension[0].valueCoding.code).toBe('PROV');
  });

  it('searches by INS and by id, returning only what the read would, each candidate decided and traced', async () => {
    const byIns = `Patient?identifier=${encodeURIComponent(`urn:oid:1.2.250.1.213.1.4.8|${NIR}`)}`;
    const found = await get(setting.doctor, byIns);
    expect(found.status).toBe(200);
    expectValidFhir(found.body);
    expect(found.body.total).toBe(1);
    expect(found.body.entry[0].resource.id).toBe(setting.patient.userId);
    const hidden = await get(stranger, byIns);
    expect(hidden.body).toMatchObject({ resourceType: 'Bundle', type: 'searchset', total: 0 });
    expect((await get(stranger, `Patient?_id=${setting.patient.userId}`)).body.total).toBe(0);
    expect((await get(setting.doctor, `Patient?identifier=${encodeURIComponent('https://example.org|' + NIR)}`)).body.total).toBe(0);
    // Without criteria: the professional's patients.
    const mine = await get(setting.doctor, 'Patient');
    expect(mine.body.entry.map((e: { resource: { id: string } }) => e.resource.id)).toEqual([setting.patient.userId]);
    await server.services.audit.integrator.flush();
    const { rows } = await sql<{ outcome: string }>`SELECT outcome FROM audit_entries WHERE actor_user_id = ${stranger.userId} AND resource_type = 'fhir_search_patient'`.execute(server.services.db);
    expect(rows.map((r) => r.outcome)).toEqual(['denied', 'denied']);
  });
});

describe('Encounter', () => {
  it('searches a patient’s consultations by date with prefixes, pages with next links, and reads one', async () => {
    const day = (offset: number) => new Date(server.services.now() + offset * DAY).toISOString().slice(0, 10);
    const ids = async (query: string) => {
      const answer = await get(setting.doctor, `Encounter?patient=${setting.patient.userId}${query}`);
      expect(answer.status, query).toBe(200);
      expectValidFhir(answer.body);
      return (answer.body.entry ?? []).map((e: { resource: { id: string } }) => e.resource.id);
    };
    const { past, recent, future } = consultations;
    expect(await ids('')).toEqual([past, recent, future]);
    expect(await ids(`&date=ge${day(-2)}`)).toEqual([recent, future]);
    expect(await ids(`&date=le${day(-1)}`)).toEqual([past, recent]);
    expect(await ids(`&date=ge${day(-11)}&date=lt${day(-1)}`)).toEqual([past]);
    expect(await ids(`&date=${day(5)}`)).toEqual([future]);
    expect(await ids(`&date=gt${day(5)}`)).toEqual([]);

    const first = await get(setting.doctor, `Encounter?patient=Patient/${setting.patient.userId}&_count=2`);
    expect(first.body.total).toBe(3);
    expect(first.body.entry).toHaveLength(2);
    const next = first.body.link.find((l: { relation: string }) => l.relation === 'next').url as string;
    const second = await setting.doctor.client.get(new URL(next).pathname + new URL(next).search);
    expect(second.body.entry.map((e: { resource: { id: string } }) => e.resource.id)).toEqual([future]);
    expect(second.body.link.some((l: { relation: string }) => l.relation === 'next')).toBe(false);

    const one = await get(setting.patient, `Encounter/${past}`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ resourceType: 'Encounter', status: 'finished', class: { code: 'VR' }, subject: { reference: `Patient/${setting.patient.userId}` } });
    // Someone else's encounter and a random id: the same OperationOutcome, byte for byte.
    const refused = await get(stranger, `Encounter/${past}`);
    const unknown = await get(stranger, 'Encounter/00000000-0000-4000-8000-000000000000');
    expect(refused.status).toBe(404);
    expect(refused.body).toEqual(unknown.body);
    // An instant covers its precision: the consultation's start minute finds it.
    const start = one.body.period.start as string;
    expect(await ids(`&date=${start.slice(0, 16)}Z`)).toEqual([past]);
    expect((await get(stranger, `Encounter?patient=${setting.patient.userId}`)).status).toBe(404);
  });

  it('refuses what it does not support with an OperationOutcome', async () => {
    for (const [path, status] of [
      [`Encounter?patient=${setting.patient.userId}&status=finished`, 400],
      [`Encounter?patient=${setting.patient.userId}&date=2026-13-01`, 400],
      [`Encounter?patient=${setting.patient.userId}&date=yesterday`, 400],
      [`Encounter?patient=${setting.patient.userId}&_count=1000`, 400],
      ['Encounter', 400],
      [`Encounter?patient=${setting.patient.userId}&_format=xml`, 400],
      ['Condition', 400], // supported now: the patient is required
      ['Procedure', 404],
      ['Observation', 400],
      ['Encounter/not-an-id', 404],
    ] as const) {
      const answer = await get(setting.doctor, path);
      expect(answer.status, path).toBe(status);
      expect(answer.body.resourceType, path).toBe('OperationOutcome');
      expectValidFhir(answer.body);
    }
  });
});

describe('MedicationRequest, Practitioner, Organization', () => {
  it('reads and searches prescriptions per medicine; finds practitioners by RPPS; reads one’s organisation', async () => {
    const issued = await setting.doctor.client.post(`/api/consultations/${consultations.recent}/prescriptions`, {
      lines: [{ medication: 'Ibuprofène', dosage: '400 mg, comprimé', posology: '1 comprimé 3 fois par jour', durationDays: 3, quantity: 1 }],
    });
    expect(issued.status).toBe(201);
    const search = await get(setting.patient, `MedicationRequest?patient=${setting.patient.userId}&authoredon=ge2000`);
    expect(search.status).toBe(200);
    expectValidFhir(search.body);
    expect(search.body.total).toBe(1);
    const id = search.body.entry[0].resource.id as string;
    const read = await get(setting.doctor, `MedicationRequest/${id}`);
    expect(read.body.medicationCodeableConcept.text).toBe('Ibuprofène 400 mg, comprimé');
    expect((await get(stranger, `MedicationRequest/${id}`)).status).toBe(404);
    expect((await get(setting.patient, `MedicationRequest?patient=${setting.patient.userId}&authoredon=lt2000`)).body.total).toBe(0);

    const practitioners = await get(setting.patient, `Practitioner?identifier=${encodeURIComponent('https://rpps.esante.gouv.fr|10003456786')}`);
    expectValidFhir(practitioners.body);
    expect(practitioners.body.total).toBe(1);
    expect(practitioners.body.entry[0].resource.identifier).toContainEqual(expect.objectContaining({ system: 'urn:oid:1.2.250.1.71.4.2.1', value: '810003456786' }));
    expect((await get(setting.patient, `Practitioner/${setting.doctor.userId}`)).status).toBe(200);
    const organisation = await get(setting.doctor, `Organization/${setting.organisationId}`);
    expect(organisation.status).toBe(200);
    expectValidFhir(organisation.body);
    expect((await get(setting.doctor, 'Organization/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });
});
