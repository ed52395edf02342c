// Observations of the record (vital signs) over real HTTP: recorded from the app by a professional or
// the patient, refused out of range; the same data as FHIR Observations: search by code and date,
// read, and create with an OperationOutcome for what cannot be stored; the gate on every interaction.
import { sql } from 'kysely';
import { Fhir } from 'fhir';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { careSetting, insertConsultation, type CareSetting } from '../support/consultations.js';
import { enrolTotp, inviteMember, type Account } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';

const HOUR = 3600_000;
let server: TestServer;
let setting: CareSetting;
let stranger: Account;
let consultation: string;
const fhir = new Fhir();
const at = (hoursAgo: number) => new Date(server.services.now() - hoursAgo * HOUR).toISOString();

beforeAll(async () => {
  server = await startTestServer();
  setting = await careSetting(server);
  consultation = await insertConsultation(server, setting, { status: 'ended' }); // the doctor's care relationship
  stranger = await inviteMember(server, setting.admin, { roles: ['doctor'], rpps: '10000000124', profession: 'médecin généraliste' });
  await enrolTotp(server, stranger);
});
afterAll(() => server?.close());

const observationsPath = () => `/api/patients/${setting.patient.userId}/observations`;
const count = async () => Number((await sql<{ n: string }>`SELECT count(*) AS n FROM observations`.execute(server.services.db)).rows[0]!.n);

describe('from the app', () => {
  it('lets the caring doctor and the patient record measures; refuses implausible ones; others get 404', async () => {
    const weight = await setting.doctor.client.post(observationsPath(), { kind: 'weight', value: 72.5, effectiveAt: at(48) });
    expect(weight.status).toBe(201);
    expect(weight.body.observation).toMatchObject({ kind: 'weight', value: 72.5, value2: null, unit: 'kg' });
    expect((await setting.doctor.client.post(observationsPath(), { kind: 'blood_pressure', value: 128, value2: 82, effectiveAt: at(24) })).status).toBe(201);
    expect((await setting.patient.client.post(observationsPath(), { kind: 'temperature', value: 38.2, effectiveAt: at(2) })).status).toBe(201);

    const before = await count();
    for (const bad of [
      { kind: 'weight', value: 700, effectiveAt: at(1) },
      { kind: 'blood_pressure', value: 120, effectiveAt: at(1) },
      { kind: 'blood_pressure', value: 80, value2: 120, effectiveAt: at(1) },
      { kind: 'weight', value: 70, value2: 3, effectiveAt: at(1) },
      { kind: 'weight', value: 70, effectiveAt: at(-24) },
      { kind: 'cholesterol', value: 2, effectiveAt: at(1) },
      { kind: 'weight', value: 70, effectiveAt: 'yesterday' },
    ]) {
      const answer = await setting.doctor.client.post(observationsPath(), bad);
      expect(answer.status, JSON.stringify(bad)).toBe(400);
      expect(answer.headers.get('content-type')).toContain('application/problem+json');
    }
    expect(await count()).toBe(before);
    for (const outsider of [stranger, setting.admin]) {
      expect((await outsider.client.post(observationsPath(), { kind: 'weight', value: 70, effectiveAt: at(1) })).status).toBe(404);
      expect((await outsider.client.get(observationsPath())).status).toBe(404);
    }
    const list = await setting.patient.client.get(observationsPath());
    expect(list.status).toBe(200);
    expect(list.body.observations.map((o: { kind: string }) => o.kind)).toEqual(['temperature', 'blood_pressure', 'weight']);
    expect((await setting.doctor.client.get(`${observationsPath()}?kind=blood_pressure`)).body.observations).toEqual([expect.objectContaining({ value: 128, value2: 82, unit: 'mm[Hg]' })]);
    const limited = await setting.doctor.client.get(`${observationsPath()}?limit=2`);
    expect(limited.status).toBe(200);
    expect(limited.body).toMatchObject({ total: 3, observations: [expect.anything(), expect.anything()] });
    for (const bad of ['0', '501', '2.5', 'x']) expect((await setting.doctor.client.get(`${observationsPath()}?limit=${bad}`)).status, bad).toBe(400);
  });
});

describe('as FHIR Observations', () => {
  const search = (query: string, account: Account = setting.doctor) => account.client.get(`/fhir/R4/Observation?patient=${setting.patient.userId}${query}`);

  it('searches by LOINC code and date, reads one, all valid FHIR R4', async () => {
    const all = await search('');
    expect(all.status).toBe(200);
    const result = fhir.validate(all.body, { errorOnUnexpected: true });
    expect(result.messages.filter((m) => m.severity === 'error')).toEqual([]);
    expect(all.body.total).toBe(3);
    const codes = async (query: string) => (await search(query)).body.entry?.map((e: { resource: { code: { coding: Array<{ code: string }> } } }) => e.resource.code.coding[0]!.code) ?? [];
    expect(await codes('&code=http://loinc.org|85354-9')).toEqual(['85354-9']);
    expect(await codes('&code=29463-7,8310-5')).toEqual(['8310-5', '29463-7']);
    expect(await codes('&code=http://snomed.info/sct|29463-7')).toEqual([]);
    expect(await codes(`&date=ge${at(30)}`)).toEqual(['8310-5', '85354-9']);
    expect(await codes(`&date=lt${at(30)}`)).toEqual(['29463-7']);
    const page = await search('&_count=1&_offset=1');
    expect(page.body.entry).toHaveLength(1);
    expect(page.body.link.map((l: { relation: string }) => l.relation).sort()).toEqual(['next', 'previous', 'self']);

    const bp = (await search('&code=85354-9')).body.entry[0].resource;
    expect(bp.component.map((c: { valueQuantity: { value: number } }) => c.valueQuantity.value)).toEqual([128, 82]);
    expect(bp.category[0].coding[0].code).toBe('vital-signs');
    const read = await setting.patient.client.get(`/fhir/R4/Observation/${bp.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(bp);
    expect((await stranger.client.get(`/fhir/R4/Observation/${bp.id}`)).status).toBe(404);
    expect((await search('', stranger)).status).toBe(404);
  });

  it('creates an Observation from a FHIR resource; refuses what it cannot store with an OperationOutcome, writing nothing', async () => {
    const weight = {
      resourceType: 'Observation',
      status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
      code: { coding: [{ system: 'http://loinc.org', code: '29463-7' }] },
      subject: { reference: `Patient/${setting.patient.userId}` },
      effectiveDateTime: at(1),
      valueQuantity: { value: 71.9, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' },
    };
    const post = (body: unknown, account: Account = setting.doctor) => account.client.post('/fhir/R4/Observation', typeof body === 'string' ? body : JSON.stringify(body), { 'content-type': 'application/fhir+json' });
    const created = await post(weight);
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`${server.services.config.publicUrl}/fhir/R4/Observation/${created.body.id}/_history/1`);
    expect(created.body.meta).toMatchObject({ versionId: '1' });
    expect(created.body.valueQuantity.value).toBe(71.9);

    const before = await count();
    const noValue: Record<string, unknown> = { ...weight };
    delete noValue['valueQuantity'];
    for (const [bad, status] of [
      [{ ...weight, valueQuantity: { ...weight.valueQuantity, code: '[lb_av]' } }, 422],
      [{ ...weight, code: { coding: [{ system: 'http://loinc.org', code: '2093-3' }] } }, 422],
      [{ ...weight, subject: { reference: 'Group/1' } }, 422],
      [{ ...weight, id: 'x' }, 422],
      [{ ...weight, effectiveDateTime: '2026-01-01' }, 422],
      [noValue, 422],
      [{ ...weight, valueQuantity: { ...weight.valueQuantity, value: 900 } }, 400],
      [{ ...weight, resourceType: 'Patient' }, 400],
      // Not a UUID, though 36 characters of hex and dashes: refused before the database sees it.
      [{ ...weight, subject: { reference: 'Patient/000000000000000000000000000000000000' } }, 422],
      [{ ...weight, code: { coding: [{ system: 'http://loinc.org', code: '85354-9' }] }, component: [null, 3] }, 422],
      ['[1, 2', 400],
      ['{not json', 400],
    ] as const) {
      const answer = await post(bad);
      expect(answer.status, JSON.stringify(bad).slice(0, 120)).toBe(status);
      expect(answer.body.resourceType).toBe('OperationOutcome');
    }
    expect((await post(weight, stranger)).status).toBe(404);
    expect(await count()).toBe(before);

    const pressure = await post({
      ...noValue,
      code: { coding: [{ system: 'http://loinc.org', code: '85354-9' }] },
      component: [
        { code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, valueQuantity: { value: 141, unit: 'mm[Hg]', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } },
        { code: { coding: [{ system: 'http://loinc.org', code: '8462-4' }] }, valueQuantity: { value: 91, unit: 'mm[Hg]', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } },
      ],
    });
    expect(pressure.status).toBe(201);
    expect((await setting.patient.client.get(`/api/patients/${setting.patient.userId}/observations?kind=blood_pressure`)).body.observations[0]).toMatchObject({ value: 141, value2: 91 });
    await server.services.audit.integrator.flush();
    const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM audit_entries WHERE type = 'record.write' AND resource_type = 'Observation' AND outcome = 'allowed'`.execute(server.services.db);
    expect(Number(rows[0]!.n)).toBe(2);

    // Of an encounter: the patient's own is kept; one that is not this patient's is refused, nothing written.
    const ofEncounter = await post({ ...weight, encounter: { reference: `Encounter/${consultation}` } });
    expect(ofEncounter.status).toBe(201);
    expect(ofEncounter.body.encounter).toEqual({ reference: `Encounter/${consultation}` });
    const beforeForeign = await count();
    const foreign = await post({ ...weight, encounter: { reference: 'Encounter/00000000-0000-4000-8000-000000000000' } });
    expect(foreign.status).toBe(400) // as an implausible value: the measure, not the resource, is refused;
    expect(foreign.body.resourceType).toBe('OperationOutcome');
    expect(await count()).toBe(beforeForeign);
  });
});
