// Export: the patient downloads everything (a zip of a FHIR Bundle, their prescriptions' and reports' PDFs); a
// professional the gate lets read the record gets Patient/$everything. Complete (every resource the
// patient owns is there), exact (nothing of another patient), valid FHIR, and traced.
import { sql } from 'kysely';
import { Fhir } from 'fhir';
import { strFromU8, unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { careSetting, insertConsultation, type CareSetting } from '../support/consultations.js';
import { enrolTotp, inviteMember, signUpPatient, type Account } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
let setting: CareSetting;
let otherPatient: Account;
let stranger: Account;
let numbers: string[] = [];
const LINE = { medication: 'Paracétamol', dosage: '1 g, comprimé', posology: '1 comprimé si douleur', durationDays: 3, quantity: 1 };

beforeAll(async () => {
  server = await startTestServer();
  setting = await careSetting(server);
  otherPatient = await signUpPatient(server, setting.organisationId);
  await enrolTotp(server, otherPatient);
  stranger = await inviteMember(server, setting.admin, { roles: ['doctor'], rpps: '10000000124', profession: 'médecin généraliste' });
  await enrolTotp(server, stranger);
  const mine = [await insertConsultation(server, setting, { status: 'ended' }), await insertConsultation(server, setting, { status: 'ended' })];
  const theirs = await insertConsultation(server, { ...setting, patient: otherPatient }, { status: 'ended' });
  const at = new Date(server.services.now() - 3600_000).toISOString();
  for (const [patient, kind, value] of [[setting.patient, 'weight', 70], [setting.patient, 'heart_rate', 64], [setting.patient, 'glucose', 98], [otherPatient, 'weight', 81]] as const) {
    const answer = await setting.doctor.client.post(`/api/patients/${patient.userId}/observations`, { kind, value, effectiveAt: at });
    expect(answer.status).toBe(201);
  }
  for (const consultation of [...mine, theirs]) {
    const issued = await setting.doctor.client.post(`/api/consultations/${consultation}/prescriptions`, { lines: [LINE, { ...LINE, medication: 'Ibuprofène' }] });
    expect(issued.status).toBe(201);
    if (consultation !== theirs) numbers.push(issued.body.prescription.number as string);
  }
  numbers = numbers.sort();
  // Signed reports (one corrected: two versions), a draft (never exported), one of the other patient's;
  // an imported document of each.
  const sections = { reason: 'Douleur', conclusion: 'Lombalgie commune.' };
  for (const consultation of [mine[0]!, theirs]) {
    expect((await setting.doctor.client.put(`/api/consultations/${consultation}/reports/draft`, { sections })).status).toBe(200);
    expect((await setting.doctor.client.post(`/api/consultations/${consultation}/reports/draft/sign`, { version: 1 })).status).toBe(200);
  }
  await setting.doctor.client.put(`/api/consultations/${mine[0]}/reports/draft`, { sections: { ...sections, conclusion: 'Lombalgie commune, corrigé.' } });
  expect((await setting.doctor.client.post(`/api/consultations/${mine[0]}/reports/draft/sign`, { version: 2 })).status).toBe(200);
  await setting.doctor.client.put(`/api/consultations/${mine[1]}/reports/draft`, { sections });
  for (const patient of [setting.patient, otherPatient]) {
    expect((await setting.doctor.client.post(`/api/patients/${patient.userId}/conditions`, { category: 'allergy', label: 'Pénicilline' })).status).toBe(201);
    expect((await setting.doctor.client.post(`/api/patients/${patient.userId}/conditions`, { category: 'problem', label: 'Asthme' })).status).toBe(201);
    const cookie = [...setting.doctor.client.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const imported = await fetch(`${server.url}/api/patients/${patient.userId}/documents`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/pdf', 'x-file-name': 'courrier.pdf', 'x-csrf-token': setting.doctor.client.csrfToken! },
      body: Buffer.from('%PDF-1.7\n% courrier\n'),
    });
    expect(imported.status).toBe(201);
  }
});
afterAll(() => server?.close());

type Entry = { resource: { resourceType: string; id: string } };
const idsOf = (bundle: { entry: Entry[] }, type: string) => bundle.entry.filter((e) => e.resource.resourceType === type).map((e) => e.resource.id).sort();

async function expectComplete(bundle: { entry: Entry[] }): Promise<void> {
  const { db } = server.services;
  const patientId = setting.patient.userId;
  const result = new Fhir().validate(bundle, { errorOnUnexpected: true });
  expect(result.messages.filter((m) => m.severity === 'error')).toEqual([]);
  expect(idsOf(bundle, 'Patient')).toEqual([patientId]);
  const consultations = await db.selectFrom('consultations').select('id').where('patient_id', '=', patientId).execute();
  expect(idsOf(bundle, 'Encounter')).toEqual(consultations.map((c) => c.id).sort());
  const observations = await db.selectFrom('observations').select('id').where('patient_id', '=', patientId).execute();
  expect(idsOf(bundle, 'Observation')).toEqual(observations.map((o) => o.id).sort());
  const prescriptions = await db.selectFrom('prescriptions').select('id').where('patient_id', '=', patientId).execute();
  expect(idsOf(bundle, 'MedicationRequest')).toEqual(prescriptions.flatMap((p) => [`${p.id}-1`, `${p.id}-2`]).sort());
  const reports = await db.selectFrom('consultation_reports').select('id').where('patient_id', '=', patientId).where('signed_at', 'is not', null).execute();
  expect(reports).toHaveLength(2);
  expect(idsOf(bundle, 'Composition')).toEqual(reports.map((r) => r.id).sort());
  const documents = await db.selectFrom('documents').select('id').where('patient_id', '=', patientId).execute();
  expect(idsOf(bundle, 'DocumentReference')).toEqual(documents.map((d) => d.id).sort());
  const conditions = await db.selectFrom('record_conditions').select(['id', 'category']).where('patient_id', '=', patientId).execute();
  expect(idsOf(bundle, 'AllergyIntolerance')).toEqual(conditions.filter((c) => c.category === 'allergy').map((c) => c.id).sort());
  expect(idsOf(bundle, 'Condition')).toEqual(conditions.filter((c) => c.category === 'problem').map((c) => c.id).sort());
  expect(idsOf(bundle, 'AllergyIntolerance')).toHaveLength(1);
  expect(idsOf(bundle, 'Practitioner')).toEqual([setting.doctor.userId]);
  expect(idsOf(bundle, 'Organization')).toEqual([setting.organisationId]);
  // Nothing of the other patient: not their id, not their observation, not their prescription.
  const text = JSON.stringify(bundle);
  expect(text).not.toContain(otherPatient.userId);
  const theirs = await db.selectFrom('prescriptions').select('number').where('patient_id', '=', otherPatient.userId).execute();
  for (const { number } of theirs) expect(text).not.toContain(number);
}

describe('export', () => {
  it('gives the patient a zip of their whole record as FHIR and their prescriptions as PDF, traced', async () => {
    const answer = await setting.patient.client.bytes('/api/me/export');
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('application/zip');
    expect(answer.headers.get('content-disposition')).toMatch(/attachment; filename="ausculta-export-\d{4}-\d\d-\d\d\.zip"/);
    const files = unzipSync(new Uint8Array(answer.body));
    const reportFiles = Object.keys(files).filter((name) => name.startsWith('comptes-rendus/'));
    expect(reportFiles).toHaveLength(2);
    for (const name of reportFiles) expect(name).toMatch(/^comptes-rendus\/compte-rendu-\d{4}-\d\d-\d\d-[0-9a-f]{8}-v[12]\.pdf$/);
    expect(JSON.parse(strFromU8(files['applications.json']!))).toEqual([]);
    expect(Object.keys(files).sort()).toEqual(['LISEZMOI.txt', 'applications.json', 'bundle.json', ...numbers.map((n) => `ordonnances/ordonnance-${n}.pdf`), ...reportFiles].sort());
    for (const number of numbers) expect(strFromU8(files[`ordonnances/ordonnance-${number}.pdf`]!.subarray(0, 5))).toBe('%PDF-');
    await expectComplete(JSON.parse(strFromU8(files['bundle.json']!)));
    await server.services.audit.integrator.flush();
    const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM audit_entries WHERE patient_id = ${setting.patient.userId} AND resource_type = 'Patient/$export' AND outcome = 'allowed'`.execute(server.services.db);
    expect(Number(rows[0]!.n)).toBe(1);
  });

  it('gives a caring professional Patient/$everything; others get the 404 of a random id', async () => {
    const answer = await setting.doctor.client.get(`/fhir/R4/Patient/${setting.patient.userId}/$everything`);
    expect(answer.status).toBe(200);
    expect(answer.body.total).toBe(answer.body.entry.length);
    await expectComplete(answer.body);
    expect((await stranger.client.get(`/fhir/R4/Patient/${setting.patient.userId}/$everything`)).status).toBe(404);
    expect((await otherPatient.client.get(`/fhir/R4/Patient/${setting.patient.userId}/$everything`)).status).toBe(404);
    expect((await stranger.client.get('/fhir/R4/Patient/00000000-0000-4000-8000-000000000000/$everything')).status).toBe(404);
    await server.services.audit.integrator.flush();
    const { rows } = await sql<{ outcome: string }>`SELECT outcome FROM audit_entries WHERE resource_type = 'Patient/$everything' ORDER BY id`.execute(server.services.db);
    expect(rows.map((r) => r.outcome)).toEqual(['allowed', 'denied', 'denied', 'denied']);
  });
});
