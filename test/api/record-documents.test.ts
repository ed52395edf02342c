// External documents imported into a patient's record (outside any consultation) over real HTTP: by a
// professional the gate lets write the record (or the patient), stored encrypted, listed and downloaded
// by those the gate lets read it, refused alike to everyone else; the record's documents as FHIR
// DocumentReferences (read, search, $everything), valid R4 for an independent validator.
import { randomBytes, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '../support/client.js';
import { careSetting, insertConsultation, type CareSetting } from '../support/consultations.js';
import { enrolTotp, inviteMember, signUpPatient, type Account } from '../support/factories.js';
import { expectValidFhir } from '../support/fhir.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
let setting: CareSetting;
let stranger: Account;
let otherPatient: Account;
const MARKER = 'MARQUEUR-compte-rendu-cardiologue-externe';
const pdf = Buffer.concat([Buffer.from(`%PDF-1.7\n% ${MARKER}\n`), randomBytes(20_000), Buffer.from(MARKER)]);


const cookieOf = (client: Client) => [...client.cookies].map(([name, value]) => `${name}=${value}`).join('; ');

async function importDocument(account: Account, patientId: string, body: Buffer, type = 'application/pdf', name = 'Courrier du cardiologue.pdf') {
  const response = await fetch(`${server.url}/api/patients/${patientId}/documents`, {
    method: 'POST',
    headers: { cookie: cookieOf(account.client), 'content-type': type, 'x-file-name': encodeURIComponent(name), ...(account.client.csrfToken ? { 'x-csrf-token': account.client.csrfToken } : {}) },
    body,
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/** Every file under the blob directory, temporary ones included. */
async function blobFiles(): Promise<string[]> {
  const entries = await readdir(server.services.config.documents.blobDir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

beforeAll(async () => {
  server = await startTestServer();
  setting = await careSetting(server);
  await insertConsultation(server, setting, { status: 'ended' }); // the doctor's care relationship
  stranger = await inviteMember(server, setting.admin, { roles: ['doctor'], rpps: '10000000124', profession: 'médecin généraliste' });
  await enrolTotp(server, stranger);
  otherPatient = await signUpPatient(server, setting.organisationId);
  await enrolTotp(server, otherPatient);
});
afterAll(() => server?.close());

describe('importing an external document into the record', () => {
  it('a professional in care imports it, encrypted at rest; the patient and the professional list and download it', async () => {
    const filesBefore = await blobFiles();
    const sent = await importDocument(setting.doctor, setting.patient.userId, pdf);
    expect(sent.status, JSON.stringify(sent.body)).toBe(201);
    expect(sent.body).toMatchObject({ consultationId: null, fileName: 'Courrier du cardiologue.pdf', mediaType: 'application/pdf', sizeBytes: pdf.length, uploadedBy: setting.doctor.userId });
    // At rest: a new blob that does not hold the document's bytes.
    const added = (await blobFiles()).filter((file) => !filesBefore.includes(file));
    expect(added).toHaveLength(1);
    expect((await readFile(added[0]!)).includes(Buffer.from(MARKER))).toBe(false);

    for (const reader of [setting.doctor, setting.patient]) {
      const list = await reader.client.get(`/api/patients/${setting.patient.userId}/documents`);
      expect(list.status).toBe(200);
      expect(list.body.documents.map((d: { id: string }) => d.id)).toContain(sent.body.id);
      const got = await reader.client.bytes(`/api/documents/${sent.body.id}`);
      expect(got.status).toBe(200);
      expect(got.body.equals(pdf)).toBe(true);
    }
    // The import is traced as a change by the gate.
    // (The downloads above are entries about the same document too: the import is the first of them.)
    const entry = await server.services.db.selectFrom('audit_entries').select(['type', 'outcome', 'detail']).where('resource_id', '=', sent.body.id).orderBy('id').limit(1).executeTakeFirstOrThrow();
    expect(entry).toMatchObject({ type: 'record.write', outcome: 'allowed', detail: { change: 'document.imported' } });
  });

  it('refuses anyone the gate refuses, as an unknown patient, and keeps nothing; refuses what is not a document', async () => {
    const rowsBefore = (await server.services.db.selectFrom('documents').select('id').execute()).length;
    const filesBefore = (await blobFiles()).length;
    for (const someone of [stranger, otherPatient, setting.admin]) {
      const refused = await importDocument(someone, setting.patient.userId, pdf);
      const unknown = await importDocument(someone, randomUUID(), pdf);
      expect(refused.status, someone.email).toBe(404);
      expect({ ...refused.body, instance: undefined }).toEqual({ ...unknown.body, instance: undefined });
      expect((await someone.client.get(`/api/patients/${setting.patient.userId}/documents`)).status).toBe(404);
    }
    expect((await importDocument(setting.doctor, setting.patient.userId, Buffer.from('MZ\x90\x00 not a pdf'), 'application/pdf')).status).toBe(415);
    expect((await importDocument(setting.doctor, setting.patient.userId, pdf, 'application/x-msdownload')).status).toBe(415);
    expect((await server.services.db.selectFrom('documents').select('id').execute()).length).toBe(rowsBefore);
    expect((await blobFiles()).length).toBe(filesBefore);
  });

  it('the patient may add their own document to their record', async () => {
    const sent = await importDocument(setting.patient, setting.patient.userId, pdf, 'application/pdf', 'Bilan sanguin.pdf');
    expect(sent.status).toBe(201);
    expect(sent.body.uploadedBy).toBe(setting.patient.userId);
  });
});

describe('DocumentReference', () => {
  it('reads and searches the record’s documents (valid R4), the bytes behind the gate at the attachment URL; refuses others alike', async () => {
    const sent = (await importDocument(setting.doctor, setting.patient.userId, pdf, 'application/pdf', 'Échographie.pdf')).body;
    const read = await setting.doctor.client.get(`/fhir/R4/DocumentReference/${sent.id}`);
    expect(read.status).toBe(200);
    expectValidFhir(read.body);
    expect(read.body).toMatchObject({
      resourceType: 'DocumentReference',
      status: 'current',
      subject: { reference: `Patient/${setting.patient.userId}` },
      author: [{ reference: `Practitioner/${setting.doctor.userId}` }],
      content: [{ attachment: { contentType: 'application/pdf', size: pdf.length, title: 'Échographie.pdf', url: `${server.services.config.publicUrl}/api/documents/${sent.id}` } }],
    });
    expect(read.body.context).toBeUndefined();

    const paged = await setting.patient.client.get(`/api/patients/${setting.patient.userId}/documents?limit=1&offset=0`);
    expect(paged.status).toBe(200);
    expect(paged.body.documents).toHaveLength(1);
    expect(paged.body.total).toBeGreaterThan(1);
    const search = await setting.patient.client.get(`/fhir/R4/DocumentReference?patient=${setting.patient.userId}&_count=100`);
    expectValidFhir(search.body);
    expect(search.body.entry.map((e: { resource: { id: string } }) => e.resource.id)).toContain(sent.id);
    const future = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    expect((await setting.patient.client.get(`/fhir/R4/DocumentReference?patient=${setting.patient.userId}&date=ge${future}`)).body.total).toBe(0);

    const everything = await setting.doctor.client.get(`/fhir/R4/Patient/${setting.patient.userId}/$everything`);
    expectValidFhir(everything.body);
    expect(everything.body.entry.some((e: { resource: { resourceType: string; id: string } }) => e.resource.resourceType === 'DocumentReference' && e.resource.id === sent.id)).toBe(true);

    for (const outsider of [stranger, otherPatient]) {
      expect((await outsider.client.get(`/fhir/R4/DocumentReference/${sent.id}`)).status).toBe(404);
      expect((await outsider.client.get(`/fhir/R4/DocumentReference?patient=${setting.patient.userId}`)).status).toBe(404);
    }
  });
});

describe('DocumentReference create (FHIR)', () => {
  const resourceFor = (patientId: string, bytes: Buffer, attachment: Record<string, unknown> = {}) => ({
    resourceType: 'DocumentReference',
    status: 'current',
    subject: { reference: `Patient/${patientId}` },
    content: [{ attachment: { contentType: 'application/pdf', title: 'Lettre de sortie.pdf', data: bytes.toString('base64'), ...attachment } }],
  });
  const post = (account: Account, body: unknown) => account.client.post('/fhir/R4/DocumentReference', typeof body === 'string' ? body : JSON.stringify(body), { 'content-type': 'application/fhir+json' });

  it('files the inline bytes into the record, encrypted, readable byte for byte by those the gate lets in; valid R4 back', async () => {
    const filesBefore = await blobFiles();
    const created = await post(setting.doctor, resourceFor(setting.patient.userId, pdf));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expectValidFhir(created.body);
    expect(created.headers.get('location')).toBe(`${server.services.config.publicUrl}/fhir/R4/DocumentReference/${created.body.id}`);
    expect(created.body.content[0].attachment).toMatchObject({ contentType: 'application/pdf', title: 'Lettre de sortie.pdf', size: pdf.length });
    const added = (await blobFiles()).filter((file) => !filesBefore.includes(file));
    expect(added).toHaveLength(1);
    expect((await readFile(added[0]!)).includes(Buffer.from(MARKER))).toBe(false);
    const downloaded = await setting.patient.client.bytes(`/api/documents/${created.body.id}`);
    expect(downloaded.status).toBe(200);
    expect(downloaded.body.equals(pdf)).toBe(true);
    const read = await setting.patient.client.get(`/fhir/R4/DocumentReference/${created.body.id}`);
    expect(read.body.content[0].attachment.title).toBe('Lettre de sortie.pdf');
    const traced = await server.services.db.selectFrom('audit_entries').select(['detail', 'outcome']).where('kind', '=', 'access').where('resource_id', '=', created.body.id).where('actor_user_id', '=', setting.doctor.userId).execute();
    expect(traced).toEqual([expect.objectContaining({ outcome: 'allowed', detail: expect.objectContaining({ via: 'fhir', change: 'document.imported' }) })]);
  });

  it('refuses bad resources with an OperationOutcome and writes nothing; someone else’s patient answers as an unknown one', async () => {
    const countDocuments = async () => Number((await server.services.db.selectFrom('documents').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);
    const filesBefore = (await blobFiles()).length;
    const before = await countDocuments();
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    for (const [body, status] of [
      ['not json', 400],
      [{ resourceType: 'Observation' }, 400],
      [{ ...resourceFor(setting.patient.userId, pdf), status: 'entered-in-error' }, 422],
      [{ ...resourceFor(setting.patient.userId, pdf), subject: { reference: 'Group/1' } }, 422],
      [{ ...resourceFor(setting.patient.userId, pdf), content: [] }, 422],
      [resourceFor(setting.patient.userId, pdf, { contentType: 'application/zip' }), 415],
      [resourceFor(setting.patient.userId, png), 415], // declared PDF, the bytes are a PNG
      [resourceFor(setting.patient.userId, pdf, { data: 'not base64!' }), 422],
      [resourceFor(setting.patient.userId, pdf, { data: undefined, url: 'https://example.org/x.pdf' }), 422],
      [resourceFor(setting.patient.userId, pdf, { title: 'a/b.pdf' }), 422],
      [resourceFor(setting.patient.userId, pdf, { title: '\ud800.pdf' }), 422], // a lone surrogate: valid JSON, no file name
      [resourceFor(setting.patient.userId, Buffer.alloc(0)), 422],
    ] as const) {
      const answer = await post(setting.doctor, body);
      expect(answer.status, JSON.stringify(body).slice(0, 200)).toBe(status);
      expect(answer.body.resourceType).toBe('OperationOutcome');
    }
    const refused = await post(stranger, resourceFor(setting.patient.userId, pdf));
    const unknown = await post(stranger, resourceFor(randomUUID(), pdf));
    expect(refused.status).toBe(404);
    expect(unknown.status).toBe(404);
    expect((await post(otherPatient, resourceFor(setting.patient.userId, pdf))).status).toBe(404);
    expect(await countDocuments()).toBe(before);
    expect((await blobFiles()).length).toBe(filesBefore);
  });
});
