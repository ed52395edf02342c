// E-prescriptions over real HTTP: the doctor of an ended consultation issues one; who may read it (the
// gate); the PDF's 2D code as a scanner reads it; the pharmacist's check (valid, unknown, tampered,
// dispensed) and dispensing once; the MedicationRequests validated by an independent FHIR R4 validator.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fhir } from 'fhir';
import { signPrescription } from '../../src/prescriptions/signed-code.js';
import { Client } from '../support/client.js';
import { codesOnPdf, textOfPdf } from '../support/codes.js';
import { careSetting, insertConsultation, type CareSetting } from '../support/consultations.js';
import { enrolTotp, inviteMember, signUpPatient, type Account } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
let setting: CareSetting;
let otherDoctor: Account;
let otherPatient: Account;
let pharmacist: Account;
let ended: string;
const LINES = [
  { medication: 'Amoxicilline', dosage: '500 mg, gélule', posology: '2 gélules matin et soir', durationDays: 6, quantity: 2 },
  { medication: 'Paracétamol', dosage: '1 g, comprimé', posology: '1 comprimé si douleur, 4 par jour au plus', durationDays: 5, quantity: 1 },
];

beforeAll(async () => {
  server = await startTestServer();
  setting = await careSetting(server);
  otherDoctor = await inviteMember(server, setting.admin, { roles: ['doctor'], rpps: '10000000124', profession: 'médecin généraliste' });
  await enrolTotp(server, otherDoctor);
  otherPatient = await signUpPatient(server, setting.organisationId);
  await enrolTotp(server, otherPatient);
  ended = await insertConsultation(server, setting, { status: 'ended' });
  pharmacist = await inviteMember(server, setting.admin, { roles: ['pharmacist'], rpps: '10000000140', profession: 'pharmacien' });
  await enrolTotp(server, pharmacist);
});
afterAll(() => server?.close());

const issue = (client: Client, consultationId: string, lines: unknown = LINES) => client.post(`/api/consultations/${consultationId}/prescriptions`, { lines });

describe('issuing', () => {
  it('lets the consultation’s doctor issue a prescription once the consultation has ended, and nobody else', async () => {
    const inProgress = await insertConsultation(server, setting, { status: 'in_progress' });
    expect((await issue(setting.doctor.client, inProgress)).status).toBe(409);
    for (const someone of [setting.patient, otherDoctor, otherPatient, setting.admin]) {
      expect((await issue(someone.client, ended)).status, someone.email).toBe(404);
    }
    const created = await issue(setting.doctor.client, ended);
    expect(created.status).toBe(201);
    const { prescription } = created.body;
    expect(prescription.number).toMatch(/^RX(-[0-9A-HJKMNP-TV-Z]{4}){4}$/);
    expect(prescription.prescriber).toEqual({ name: expect.any(String), rpps: '10003456786' });
    expect(prescription.lines).toEqual(LINES);
    expect(prescription.dispensedAt).toBeNull();
    // Sealed at rest: the medicines are not in the row.
    const row = await server.services.db.selectFrom('prescriptions').select(['body_sealed', 'signed_note']).where('id', '=', prescription.id).executeTakeFirstOrThrow();
    expect(row.body_sealed).not.toContain('Amoxicilline');
    expect(row.signed_note).toContain(prescription.number);
  });

  it('refuses bad lines with a problem, and writes nothing', async () => {
    const before = await server.services.db.selectFrom('prescriptions').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    const bad = [[], [{ ...LINES[0], quantity: 0 }], [{ ...LINES[0], medication: '   ' }], [{ ...LINES[0], posology: 'a\u0007b' }], [{ ...LINES[0], extra: 1 }], Array(21).fill(LINES[0])];
    for (const lines of bad) {
      const answer = await issue(setting.doctor.client, ended, lines);
      expect(answer.status, JSON.stringify(lines).slice(0, 80)).toBe(400);
      expect(answer.headers.get('content-type')).toContain('application/problem+json');
    }
    const after = await server.services.db.selectFrom('prescriptions').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));
  });
});

describe('reading', () => {
  it('shows the prescription to the consultation’s two participants; the PDF to those the gate lets read the record', async () => {
    const { prescription } = (await issue(setting.doctor.client, ended)).body;
    for (const participant of [setting.doctor, setting.patient]) {
      const list = await participant.client.get(`/api/consultations/${ended}/prescriptions`);
      expect(list.status).toBe(200);
      expect(list.body.prescriptions.map((p: { id: string }) => p.id)).toContain(prescription.id);
    }
    for (const outsider of [otherDoctor, otherPatient, setting.admin]) {
      expect((await outsider.client.get(`/api/consultations/${ended}/prescriptions`)).status).toBe(404);
      expect((await outsider.client.bytes(prescription.pdfUrl)).status).toBe(404);
    }
    expect((await setting.patient.client.bytes('/api/prescriptions/00000000-0000-4000-8000-000000000000/pdf')).status).toBe(404);
    expect((await new Client(server.url).bytes(prescription.pdfUrl)).status).toBe(401);

    const pdf = await setting.patient.client.bytes(prescription.pdfUrl);
    expect(pdf.status).toBe(200);
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    expect(pdf.headers.get('content-disposition')).toContain(`ordonnance-${prescription.number}.pdf`);
    const text = await textOfPdf(pdf.body);
    expect(text).toContain('Ordonnance');
    expect(text).toContain('RPPS : 10003456786');
    expect(text).toContain('Amoxicilline — 500 mg, gélule');
    expect(text).toContain(prescription.number);
    const [code] = await codesOnPdf(pdf.body);
    expect(code).toContain(prescription.number);
    // Each read went through the gate: one allowed access entry for the PDF.
    await server.services.audit.integrator.flush();
    const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM audit_entries WHERE resource_id = ${prescription.id} AND type = 'record.read' AND outcome = 'allowed'`.execute(server.services.db);
    expect(Number(rows[0]!.n)).toBeGreaterThanOrEqual(1);
  });

  it('gives the prescription as FHIR R4 MedicationRequests that an independent validator accepts', async () => {
    const { prescription } = (await issue(setting.doctor.client, ended)).body;
    const answer = await setting.doctor.client.get(`/api/prescriptions/${prescription.id}/fhir`);
    expect(answer.status).toBe(200);
    const bundle = answer.body;
    const fhir = new Fhir();
    const result = fhir.validate(bundle, { errorOnUnexpected: true });
    expect(result.messages.filter((m) => m.severity === 'error'), JSON.stringify(result.messages)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(bundle.entry).toHaveLength(2);
    const [first] = bundle.entry.map((e: { resource: Record<string, any> }) => e.resource);
    expect(first.groupIdentifier.value).toBe(prescription.number);
    expect(first.requester.identifier).toEqual({ system: 'https://rpps.esante.gouv.fr', value: '10003456786' });
    expect(first.subject.reference).toBe(`Patient/${setting.patient.userId}`);
    expect(first.dispenseRequest.expectedSupplyDuration).toMatchObject({ value: 6, code: 'd' });
    // The validator does catch a broken one.
    expect(fhir.validate({ ...first, status: 'bogus' }).valid).toBe(false);
  });

  it('prescribes acts beside medicines: printed, and FHIR ServiceRequests (read, search) an independent validator accepts', async () => {
    const act = { kind: 'act', act: 'Bilan sanguin : NFS, glycémie à jeun', instructions: 'À jeun, dans les 8 jours', count: 1 };
    const physio = { kind: 'act', act: 'Kinésithérapie du rachis lombaire', instructions: '', count: 10 };
    const issued = await issue(setting.doctor.client, ended, [LINES[0], act, physio]);
    expect(issued.status, JSON.stringify(issued.body)).toBe(201);
    const { prescription } = issued.body;
    expect(prescription.lines).toEqual([LINES[0], act, physio]);
    const text = (await textOfPdf((await setting.patient.client.bytes(prescription.pdfUrl)).body)).replace(/\s+/g, ' ');
    expect(text).toContain('2. Acte : Bilan sanguin : NFS, glycémie à jeun');
    expect(text).toContain('À jeun, dans les 8 jours');
    expect(text).toContain('10 séances');

    const bundle = (await setting.doctor.client.get(`/api/prescriptions/${prescription.id}/fhir`)).body;
    const fhir = new Fhir();
    expect(fhir.validate(bundle, { errorOnUnexpected: true }).messages.filter((m) => m.severity === 'error')).toEqual([]);
    expect(bundle.entry.map((e: { resource: { resourceType: string; id: string } }) => `${e.resource.resourceType}/${e.resource.id}`)).toEqual([
      `MedicationRequest/${prescription.id}-1`,
      `ServiceRequest/${prescription.id}-2`,
      `ServiceRequest/${prescription.id}-3`,
    ]);
    const read = await setting.patient.client.get(`/fhir/R4/ServiceRequest/${prescription.id}-2`);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ code: { text: act.act }, patientInstruction: act.instructions, requisition: { value: prescription.number }, intent: 'order' });
    expect((await setting.patient.client.get(`/fhir/R4/ServiceRequest/${prescription.id}-1`)).status).toBe(404); // that line is a medicine
    expect((await setting.patient.client.get(`/fhir/R4/MedicationRequest/${prescription.id}-2`)).status).toBe(404);
    const search = await setting.patient.client.get(`/fhir/R4/ServiceRequest?patient=${setting.patient.userId}&_count=100`);
    expect(fhir.validate(search.body, { errorOnUnexpected: true }).messages.filter((m) => m.severity === 'error')).toEqual([]);
    expect(search.body.entry.map((e: { resource: { id: string } }) => e.resource.id)).toEqual(expect.arrayContaining([`${prescription.id}-2`, `${prescription.id}-3`]));
    expect((await otherPatient.client.get(`/fhir/R4/ServiceRequest/${prescription.id}-2`)).status).toBe(404);

    for (const bad of [{ ...act, count: 0 }, { ...act, act: ' ' }, { ...act, kind: 'surgery' }, { ...act, dosage: 'x' }, { kind: 'act', act: 'x' }]) {
      expect((await issue(setting.doctor.client, ended, [bad])).status, JSON.stringify(bad)).toBe(400);
    }
  });
});

describe('the pharmacist', () => {
  async function codeOf(prescription: { pdfUrl: string }): Promise<string> {
    const [code] = await codesOnPdf((await setting.patient.client.bytes(prescription.pdfUrl)).body);
    return code!;
  }

  it('checks a code without signing in: valid, tampered, unknown; never the content', async () => {
    const { prescription } = (await issue(setting.doctor.client, ended)).body;
    const code = await codeOf(prescription);
    const anonymous = new Client(server.url);
    const valid = await anonymous.post('/api/prescriptions/verify', { code });
    expect(valid.status).toBe(200);
    expect(valid.body).toEqual({ valid: true, number: prescription.number, issuedAt: prescription.issuedAt, prescriber: prescription.prescriber, dispensedAt: null });
    expect(JSON.stringify(valid.body)).not.toContain('Amoxicilline');

    const lines = code.split('\n');
    const forgedNumber = code.replace(prescription.number, prescription.number.replace(/.$/, (c: string) => (c === 'A' ? 'B' : 'A')));
    const signatureLine = lines.findIndex((l) => l.startsWith('— '));
    const badSignature = lines.map((l, i) => (i === signatureLine ? l.replace(/.(?=.{10}$)/, (c: string) => (c === 'A' ? 'B' : 'A')) : l)).join('\n');
    for (const tampered of [forgedNumber, badSignature, code.replace(/\d{4}-\d\d-\d\d/, '2020-01-01'), 'not a code at all']) {
      expect((await anonymous.post('/api/prescriptions/verify', { code: tampered })).body).toEqual({ valid: false, reason: 'signature' });
    }
    // Correctly signed by this instance, but for a prescription that does not exist.
    const { key, origin } = server.services.prescriptions;
    const unknown = signPrescription({ origin, number: 'RX-0000-0000-0000-0000', issuedAt: new Date(server.services.now()), digest: 'A'.repeat(43) + '=' }, key);
    expect((await anonymous.post('/api/prescriptions/verify', { code: unknown })).body).toEqual({ valid: false, reason: 'unknown' });
    expect((await anonymous.post('/api/prescriptions/verify', { code: '' })).status).toBe(400);
    expect((await anonymous.post('/api/prescriptions/verify', { code: 'x'.repeat(1001) })).status).toBe(400);
    // Windows line ends from a scanner are accepted.
    expect((await anonymous.post('/api/prescriptions/verify', { code: code.replace(/\n/g, '\r\n') })).body.valid).toBe(true);
    // The published key verifies the code offline.
    expect(((await anonymous.get('/api/prescriptions/key')).body as string).trim()).toBe(key.verifierKey);
  });

  it('marks a prescription dispensed once, by a signed-in pharmacist holding the code; a doctor or a patient may not', async () => {
    const { prescription } = (await issue(setting.doctor.client, ended)).body;
    const code = await codeOf(prescription);
    expect((await new Client(server.url).post('/api/prescriptions/dispense', { code })).status).toBe(401);
    expect((await otherPatient.client.post('/api/prescriptions/dispense', { code })).status).toBe(403);
    expect((await otherDoctor.client.post('/api/prescriptions/dispense', { code })).status).toBe(403);
    expect((await pharmacist.client.post('/api/prescriptions/dispense', { code: code.replace(prescription.number, 'RX-0000-0000-0000-0000') })).status).toBe(404);
    const dispensed = await pharmacist.client.post('/api/prescriptions/dispense', { code });
    expect(dispensed.status).toBe(200);
    expect(dispensed.body.number).toBe(prescription.number);
    const again = await pharmacist.client.post('/api/prescriptions/dispense', { code });
    expect(again.status).toBe(409);
    expect(again.headers.get('content-type')).toContain('application/problem+json');
    expect((await new Client(server.url).post('/api/prescriptions/verify', { code })).body.dispensedAt).toBe(dispensed.body.dispensedAt);
    const fhir = await setting.patient.client.get(`/api/prescriptions/${prescription.id}/fhir`);
    expect(fhir.body.entry[0].resource.status).toBe('completed');
    await server.services.audit.integrator.flush();
    const { rows } = await sql<{ outcome: string; reason: string }>`
      SELECT outcome, detail->>'reason' AS reason FROM audit_entries WHERE type = 'prescription.dispensed' AND actor_user_id IN (${pharmacist.userId}, ${otherDoctor.userId}, ${otherPatient.userId}) ORDER BY id`.execute(server.services.db);
    // Refusals traced too: not a pharmacist (twice), an invalid code, the second dispensing.
    expect(rows.map((r) => `${r.outcome}:${r.reason ?? ''}`)).toEqual(['denied:not_a_pharmacist', 'denied:not_a_pharmacist', 'failure:invalid_code', 'success:', 'denied:already_dispensed']);
  });

  it('refuses a code whose stored prescription was altered', async () => {
    const { prescription } = (await issue(setting.doctor.client, ended)).body;
    const code = await codeOf(prescription);
    await sql`UPDATE prescriptions SET digest = ${'B'.repeat(43) + '='} WHERE id = ${prescription.id}`.execute(server.services.db);
    expect((await new Client(server.url).post('/api/prescriptions/verify', { code })).body).toEqual({ valid: false, reason: 'unknown' });
  });
});
