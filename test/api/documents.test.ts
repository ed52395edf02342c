// Documents sent during a consultation, over real HTTP: streamed through encryption to disk and back
// byte for byte; neither the blob nor the row holds the plaintext; oversize, refused types and aborted
// uploads leave nothing behind; only participants upload and list, anyone the gate allows reads; every
// refusal and every gate decision is in the audit log.
import { randomBytes, randomUUID } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPasswordStrength } from '../../src/identity/passwords.js';
import { addMasterKeyToFile, Envelope, KeyRing, loadKeyRing, objectContext } from '../../src/kernel/envelope.js';
import { rotateDataKeys, wrappedKeyCensus } from '../../src/records/rotation.js';
import type { Client } from '../support/client.js';
import { careSetting, insertConsultation, type CareSetting } from '../support/consultations.js';
import { enrolTotp, inviteMember, logIn, signUpPatient, strongPassword, type Account } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';

const MAX_MB = 4;
let server: TestServer;
let setting: CareSetting;
let consultationId: string;
let otherDoctor: Account;
let otherPatient: Account;
let otherConsultationId: string;
let nurse: Account;

/**
 * The password estimator's worker (zxcvbn, shared with the in-process server) refuses every password
 * when its first start takes over 5 s, which happens on an overloaded machine; and a check started
 * before the timed-out worker's exit event is refused too (that event ends the new worker). Started
 * here, with a pause after a failure, before any account is created.
 */
async function warmPasswordEstimator(): Promise<void> {
  for (let attempt = 0; attempt < 6; attempt++) {
    if ((await checkPasswordStrength(strongPassword())).ok) return;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

beforeAll(async () => {
  server = await startTestServer({ DOCUMENT_MAX_MB: String(MAX_MB), SESSION_IDLE_MINUTES: '60' });
  await warmPasswordEstimator();
  setting = await careSetting(server);
  consultationId = await insertConsultation(server, setting, { status: 'in_progress' });
  otherDoctor = await inviteMember(server, setting.admin, { roles: ['doctor'], rpps: '10000000124', profession: 'médecin généraliste' });
  await enrolTotp(server, otherDoctor);
  otherPatient = await signUpPatient(server, setting.organisationId);
  await enrolTotp(server, otherPatient);
  otherConsultationId = await insertConsultation(server, { organisationId: setting.organisationId, doctor: otherDoctor, patient: otherPatient }, { status: 'in_progress' });
  nurse = await inviteMember(server, setting.admin, { roles: ['health_professional'], rpps: '10000000132', profession: 'infirmière' });
  await enrolTotp(server, nurse);
});
afterAll(() => server?.close());

const cookieOf = (client: Client) => [...client.cookies].map(([name, value]) => `${name}=${value}`).join('; ');

interface RawAnswer {
  status: number;
  headers: Headers;
  body: any;
  bytes: Buffer;
}

/** A raw upload like the web app's fetch(file): the bytes as the body, the name in X-File-Name. */
async function upload(client: Client, consultation: string, body: Buffer | ReadableStream<Uint8Array>, options: { type?: string; name?: string | null; csrf?: boolean } = {}): Promise<RawAnswer> {
  const headers: Record<string, string> = { cookie: cookieOf(client) };
  if (options.type !== undefined) headers['content-type'] = options.type;
  if (options.name !== null) headers['x-file-name'] = encodeURIComponent(options.name ?? 'document.pdf');
  if (options.csrf !== false && client.csrfToken) headers['x-csrf-token'] = client.csrfToken;
  const response = await fetch(`${server.url}/api/consultations/${consultation}/documents`, {
    method: 'POST',
    headers,
    body,
    ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
  } as RequestInit);
  return answerOf(response);
}

async function answerOf(response: globalThis.Response): Promise<RawAnswer> {
  const bytes = Buffer.from(await response.arrayBuffer());
  let body: unknown;
  try {
    body = JSON.parse(bytes.toString('utf8'));
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, body, bytes };
}

async function download(client: Client, documentId: string, query = ''): Promise<RawAnswer> {
  return answerOf(await fetch(`${server.url}/api/documents/${documentId}${query}`, { headers: { cookie: cookieOf(client) } }));
}

function expectProblem(answer: RawAnswer, status: number, code: string): void {
  expect({ status: answer.status, code: answer.body?.code }, JSON.stringify(answer.body)).toEqual({ status, code });
  expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
}

/** Streams `total` bytes in 64 KiB pieces without holding them (chunked transfer encoding). */
function streamOf(first: Buffer, total: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= total) return controller.close();
      const piece = sent === 0 ? first : randomBytes(Math.min(64 * 1024, total - sent));
      sent += piece.length;
      controller.enqueue(piece);
    },
  });
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const MARKER = 'MARQUEUR-bilan-sanguin-glycemie-7.2-mmol';
const pngBytes = () => Buffer.concat([PNG_SIGNATURE, Buffer.from('\0\0\0\rIHDR'), randomBytes(40_000)]);
const pdfBytes = (size: number) => {
  const head = Buffer.from(`%PDF-1.7\n% ${MARKER}\n`);
  return Buffer.concat([head, randomBytes(size / 2 - head.length), Buffer.from(MARKER), randomBytes(size / 2 - MARKER.length)]);
};

const database = () => server.services.db;
const documentCount = async () => Number((await database().selectFrom('documents').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

/** Every file under the blob directory, temporary ones included. */
async function blobFiles(): Promise<string[]> {
  const entries = await readdir(server.services.config.documents.blobDir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

async function refusals(reason: string): Promise<any[]> {
  const rows = await database().selectFrom('audit_entries').select(['outcome', 'actor_user_id', 'detail', 'type']).where('type', '=', 'document.refused').execute();
  return rows.filter((row) => (row.detail as any).reason === reason);
}

async function gateEntries(action: string, resourceId: string): Promise<any[]> {
  return database().selectFrom('audit_entries').selectAll().where('type', '=', action).where('resource_id', '=', resourceId).execute();
}

describe('upload and download', () => {
  let pngId: string;
  let pdfId: string;
  const png = pngBytes();
  const pdf = pdfBytes(3 * 1024 * 1024);
  const pdfName = `Résultat ${MARKER} "labo" (1).pdf`;

  it('the patient sends a photo and the doctor downloads it, byte for byte', async () => {
    const sent = await upload(setting.patient.client, consultationId, png, { type: 'image/png', name: 'éruption cutanée.png' });
    expect(sent.status, JSON.stringify(sent.body)).toBe(201);
    expect(sent.body).toMatchObject({ fileName: 'éruption cutanée.png', mediaType: 'image/png', sizeBytes: png.length });
    expect(Date.parse(sent.body.createdAt)).not.toBeNaN();
    pngId = sent.body.id;

    const got = await download(setting.doctor.client, pngId);
    expect(got.status).toBe(200);
    expect(got.bytes.equals(png)).toBe(true);
    expect(got.headers.get('content-type')).toBe('image/png');
    expect(got.headers.get('content-disposition')).toBe(`attachment; filename="_ruption cutan_e.png"; filename*=UTF-8''%C3%A9ruption%20cutan%C3%A9e.png`);
    expect(got.headers.get('x-content-type-options')).toBe('nosniff');
    expect(got.headers.get('cache-control')).toBe('no-store');
  });

  it('the doctor sends a 3 MB PDF, streamed (chunked), and the patient gets it back identical', async () => {
    const sent = await upload(setting.doctor.client, consultationId, streamOf(pdf, pdf.length).pipeThrough(new TransformStream()) as ReadableStream<Uint8Array>, { type: 'application/pdf', name: pdfName });
    // streamOf sends `pdf` whole as its first piece, then nothing more: the body is exactly `pdf`.
    expect(sent.status, JSON.stringify(sent.body)).toBe(201);
    expect(sent.body.sizeBytes).toBe(pdf.length);
    pdfId = sent.body.id;
    const got = await download(setting.patient.client, pdfId);
    expect(got.status).toBe(200);
    expect(got.bytes.equals(pdf)).toBe(true);
    expect(got.headers.get('content-length')).toBe(String(pdf.length));
  });

  it('stores neither the bytes nor the file name in clear, on disk or in the database', async () => {
    const row = await database().selectFrom('documents').selectAll().where('id', '=', pdfId).executeTakeFirstOrThrow();
    const blob = await readFile(server.services.blobs.pathOf(row.storage_key));
    expect(blob.length).toBe(pdf.length + 19 + 16 * Math.ceil(pdf.length / 65536));
    expect(blob.includes(Buffer.from(MARKER))).toBe(false);
    expect(blob.includes(Buffer.from('%PDF'))).toBe(false);
    const { rows } = await sql<{ dump: string }>`SELECT row_to_json(d)::text AS dump FROM documents d WHERE id = ${pdfId}`.execute(database());
    expect(rows[0]!.dump).not.toContain(MARKER);
    expect(rows[0]!.dump).not.toContain('labo');
    expect(row.wrapped_key).toMatch(/^k1\.mk-[0-9a-f]{12}\.[\w-]+$/);
    expect(row.file_name_sealed).toMatch(/^s1:k1\./);
    // Nor does the audit log: identifiers only.
    const { rows: audit } = await sql<{ dump: string }>`SELECT string_agg(row_to_json(a)::text, '') AS dump FROM audit_entries a`.execute(database());
    expect(audit[0]!.dump).not.toContain(MARKER);
    expect(audit[0]!.dump).not.toContain('ruption');
  });

  it('lists the consultation\'s documents to its participants', async () => {
    for (const client of [setting.patient.client, setting.doctor.client]) {
      const listed = await client.get(`/api/consultations/${consultationId}/documents`);
      expect(listed.status).toBe(200);
      expect(listed.body.documents.map((d: any) => [d.id, d.fileName, d.mediaType, d.sizeBytes])).toEqual([
        [pngId, 'éruption cutanée.png', 'image/png', png.length],
        [pdfId, pdfName, 'application/pdf', pdf.length],
      ]);
    }
    expect((await otherDoctor.client.get(`/api/consultations/${otherConsultationId}/documents`)).body.documents).toEqual([]);
  });

  it('traces the gate\'s decisions for uploads and downloads', async () => {
    const written = await gateEntries('record.write', pngId);
    expect(written.map((e) => [e.outcome, e.actor_user_id, e.patient_id, e.purpose, e.actor_role])).toEqual([['allowed', setting.patient.userId, setting.patient.userId, 'patient_self', 'self']]);
    const byDoctor = await gateEntries('record.write', pdfId);
    expect(byDoctor.map((e) => [e.outcome, e.actor_user_id, e.patient_id, e.purpose, e.actor_role])).toEqual([['allowed', setting.doctor.userId, setting.patient.userId, 'care', 'consultation']]);
    const read = await gateEntries('record.read', pngId);
    expect(read.map((e) => [e.outcome, e.actor_user_id, e.resource_type])).toEqual([['allowed', setting.doctor.userId, 'document']]);
    expect((await gateEntries('record.read', consultationId)).filter((e) => e.outcome === 'allowed').length).toBeGreaterThanOrEqual(2);
  });

  it('a professional of the care team reads the document without taking part in the consultation, but cannot add one', async () => {
    expect(await download(nurse.client, pngId).then((a) => a.status)).toBe(404);
    const added = await setting.patient.client.post('/api/me/care-team', { professionalId: nurse.userId });
    expect(added.status).toBe(201);
    const got = await download(nurse.client, pngId);
    expect(got.status).toBe(200);
    expect(got.bytes.equals(png)).toBe(true);
    expectProblem(await upload(nurse.client, consultationId, png, { type: 'image/png' }), 404, 'not_found');
    expectProblem(await answerOf(await fetch(`${server.url}/api/consultations/${consultationId}/documents`, { headers: { cookie: cookieOf(nurse.client) } })), 404, 'not_found');
  });

  it('a tampered blob is never served as a document', async () => {
    const row = await database().selectFrom('documents').select('storage_key').where('id', '=', pngId).executeTakeFirstOrThrow();
    const path = server.services.blobs.pathOf(row.storage_key);
    const original = await readFile(path);
    const tampered = Buffer.from(original);
    tampered[100]! ^= 1;
    await writeFile(path, tampered);
    try {
      // A chunk that fails before the first byte is sent: 500; later: the connection is cut short.
      const answer = await download(setting.doctor.client, pngId).catch((error: unknown) => error);
      if (answer instanceof Error) expect(answer.message).toMatch(/terminated|fetch failed/);
      else expectProblem(answer as RawAnswer, 500, 'internal');
    } finally {
      await writeFile(path, original);
    }
    expect((await download(setting.doctor.client, pngId)).bytes.equals(png)).toBe(true);
  });
});

describe('master key rotation without downtime', () => {
  it('re-wraps every data key under a new master key, ciphertexts untouched, while the server serves', async () => {
    const { db, config, envelope: serving, blobs } = server.services;
    const messageId = randomUUID();
    await db
      .insertInto('consultation_messages')
      .values({ id: messageId, consultation_id: consultationId, patient_id: setting.patient.userId, sender_id: setting.patient.userId, sent_at: new Date(), body_sealed: await serving.sealText('Bonjour docteur', objectContext('consultation_messages', messageId, 'body_sealed')) })
      .execute();
    const reportId = randomUUID();
    await db
      .insertInto('consultation_reports')
      .values({ id: reportId, consultation_id: consultationId, patient_id: setting.patient.userId, author_id: setting.doctor.userId, version: 1, format: 'text', body_sealed: await serving.sealText('Compte rendu', objectContext('consultation_reports', reportId, 'body_sealed')), created_at: new Date(), updated_at: new Date() })
      .execute();
    const prescriptionId = randomUUID();
    await db
      .insertInto('prescriptions')
      .values({ id: prescriptionId, number: `RX-TEST-${prescriptionId.slice(0, 8)}`, consultation_id: consultationId, patient_id: setting.patient.userId, prescriber_id: setting.doctor.userId, organisation_id: setting.organisationId, body_sealed: await serving.sealText('{}', objectContext('prescriptions', prescriptionId, 'body_sealed')), digest: 'd', signed_note: 'n', issued_at: new Date() })
      .execute();
    const documents = await db.selectFrom('documents').select(['id', 'storage_key']).execute();
    const blobsBefore = await Promise.all(documents.map((d) => readFile(blobs.pathOf(d.storage_key))));
    const oldKeyId = serving.keys.currentKeyId;

    const newKeyId = await addMasterKeyToFile(config.dataDir, new Date());
    const rotating = new Envelope(await loadKeyRing(config));
    expect(rotating.keys.currentKeyId).toBe(newKeyId);
    const report = await rotateDataKeys(db, rotating, { batchSize: 2 });
    expect(report.failed).toBe(0);
    expect(report.rewrapped).toBe(2 * documents.length + 3);
    expect(await wrappedKeyCensus(db)).toEqual({ [newKeyId]: 2 * documents.length + 3 });
    expect((await rotateDataKeys(db, rotating)).rewrapped).toBe(0);

    // Ciphertexts are untouched.
    const blobsAfter = await Promise.all(documents.map((d) => readFile(blobs.pathOf(d.storage_key))));
    expect(blobsAfter.every((blob, i) => blob.equals(blobsBefore[i]!))).toBe(true);
    // The running server, started before the new key existed, reads on (it finds the key in DATA_DIR/master-keys).
    expect(serving.keys.currentKeyId).toBe(oldKeyId);
    const listed = await setting.patient.client.get(`/api/consultations/${consultationId}/documents`);
    expect(listed.status).toBe(200);
    const pdfRow = listed.body.documents.find((d: any) => d.mediaType === 'application/pdf');
    const got = await download(setting.patient.client, pdfRow.id);
    expect(got.status).toBe(200);
    expect(got.bytes.includes(Buffer.from(MARKER))).toBe(true);
    // And the old master key is no longer needed for any of it.
    const newKey = (await readFile(join(config.dataDir, 'master-keys'), 'utf8')).trim().split(':')[1]!;
    const withoutOld = new Envelope(new KeyRing([{ id: newKeyId, key: Buffer.from(newKey, 'base64') }]));
    const message = await db.selectFrom('consultation_messages').select('body_sealed').where('id', '=', messageId).executeTakeFirstOrThrow();
    expect(await withoutOld.openText(message.body_sealed, objectContext('consultation_messages', messageId, 'body_sealed'))).toBe('Bonjour docteur');
    const prescription = await db.selectFrom('prescriptions').select('body_sealed').where('id', '=', prescriptionId).executeTakeFirstOrThrow();
    expect(await withoutOld.openText(prescription.body_sealed, objectContext('prescriptions', prescriptionId, 'body_sealed'))).toBe('{}');
    const reportRow = await db.selectFrom('consultation_reports').select('body_sealed').where('id', '=', reportId).executeTakeFirstOrThrow();
    expect(await withoutOld.openText(reportRow.body_sealed, objectContext('consultation_reports', reportId, 'body_sealed'))).toBe('Compte rendu');
    for (const row of await db.selectFrom('documents').select(['id', 'wrapped_key', 'file_name_sealed']).execute()) {
      await expect(withoutOld.openDataKey(row.wrapped_key, objectContext('documents', row.id))).resolves.toHaveLength(32);
      await expect(withoutOld.openText(row.file_name_sealed, objectContext('documents', row.id, 'file_name_sealed'))).resolves.toBeTypeOf('string');
    }
  });
});

describe('refusals leave nothing behind and are traced', () => {
  async function expectNothingLeft(run: () => Promise<void>): Promise<void> {
    const before = { rows: await documentCount(), files: await blobFiles() };
    await run();
    expect(await documentCount()).toBe(before.rows);
    expect((await blobFiles()).sort()).toEqual(before.files.sort());
  }

  it('too large (declared length) → 413', async () => {
    await expectNothingLeft(async () => {
      const big = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(MAX_MB * 1024 * 1024)]);
      const answer = await upload(setting.patient.client, consultationId, big, { type: 'application/pdf' });
      expectProblem(answer, 413, 'body_too_large');
      expect(answer.body.maxBytes).toBe(MAX_MB * 1024 * 1024);
    });
    expect((await refusals('too_large')).length).toBe(1);
  });

  it('too large (streamed without a length, cut when the limit is crossed) → 413', async () => {
    await expectNothingLeft(async () => {
      const answer = await upload(setting.patient.client, consultationId, streamOf(Buffer.from('%PDF-1.4\n'), MAX_MB * 1024 * 1024 + 200_000), { type: 'application/pdf' });
      expectProblem(answer, 413, 'body_too_large');
    });
    expect((await refusals('too_large')).length).toBe(2);
  });

  it('a type we do not take, or bytes that are not what the type says → 415', async () => {
    await expectNothingLeft(async () => {
      expectProblem(await upload(setting.patient.client, consultationId, Buffer.from('MZ\x90\0binary'), { type: 'application/x-msdownload' }), 415, 'unsupported_media_type');
      expectProblem(await upload(setting.patient.client, consultationId, Buffer.from('{"a":1}'), { type: 'application/json' }), 415, 'unsupported_media_type');
      expectProblem(await upload(setting.patient.client, consultationId, Buffer.concat([Buffer.from('MZ\x90\0'), randomBytes(200_000)]), { type: 'image/png' }), 415, 'unsupported_media_type');
      expectProblem(await upload(setting.patient.client, consultationId, Buffer.from('<html><script>alert(1)</script>'), { type: 'application/pdf' }), 415, 'unsupported_media_type');
      expectProblem(await upload(setting.patient.client, consultationId, Buffer.concat([Buffer.from('texte '), randomBytes(5000)]), { type: 'text/plain' }), 415, 'unsupported_media_type');
      expectProblem(await upload(setting.patient.client, consultationId, Buffer.from('x'), {}), 415, 'unsupported_media_type');
    });
    expect((await refusals('type_mismatch')).length).toBe(6);
    const ok = await upload(setting.patient.client, consultationId, Buffer.from('Tension 12/8, pouls 72.\n'), { type: 'text/plain; charset=utf-8', name: 'notes.txt' });
    expect(ok.status).toBe(201);
    expect((await download(setting.doctor.client, ok.body.id)).headers.get('content-type')).toBe('text/plain; charset=utf-8');
  });

  it('a missing or invalid file name, or an empty file → 400', async () => {
    await expectNothingLeft(async () => {
      expectProblem(await upload(setting.patient.client, consultationId, pngBytes(), { type: 'image/png', name: null }), 400, 'validation_failed');
      expectProblem(await upload(setting.patient.client, consultationId, pngBytes(), { type: 'image/png', name: '../etc/passwd' }), 400, 'validation_failed');
      expectProblem(await upload(setting.patient.client, consultationId, pngBytes(), { type: 'image/png', name: 'a\nb.png' }), 400, 'validation_failed');
      expectProblem(await upload(setting.patient.client, consultationId, Buffer.alloc(0), { type: 'image/png' }), 400, 'validation_failed');
    });
    expect((await refusals('invalid_file_name')).length).toBe(3);
    expect((await refusals('empty')).length).toBe(1);
  });

  it('a client that goes away mid-upload leaves nothing', async () => {
    await expectNothingLeft(async () => {
      const before = (await refusals('aborted')).length;
      const request = http.request(`${server.url}/api/consultations/${consultationId}/documents`, {
        method: 'POST',
        headers: { cookie: cookieOf(setting.patient.client), 'x-csrf-token': setting.patient.client.csrfToken!, 'content-type': 'application/pdf', 'x-file-name': 'cut.pdf', 'content-length': String(3_000_000) },
      });
      request.on('error', () => undefined);
      request.write(Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(500_000)]));
      await new Promise((resolve) => setTimeout(resolve, 300));
      request.destroy();
      for (let i = 0; i < 50 && (await refusals('aborted')).length === before; i++) await new Promise((resolve) => setTimeout(resolve, 100));
      expect((await refusals('aborted')).length).toBe(before + 1);
    });
  });

  it('without the CSRF header → 403, nothing read', async () => {
    await expectNothingLeft(async () => {
      expectProblem(await upload(setting.patient.client, consultationId, pngBytes(), { type: 'image/png', csrf: false }), 403, 'csrf_failed');
    });
  });
});

describe('who may do what', () => {
  let documentId: string;
  beforeAll(async () => {
    const sent = await upload(setting.patient.client, consultationId, pngBytes(), { type: 'image/png', name: 'photo.png' });
    documentId = sent.body.id;
  });

  it('a third user, a patient of another doctor, a random consultation → 404 for upload and list, traced', async () => {
    const before = (await refusals('not_participant')).length;
    for (const account of [otherDoctor, otherPatient, setting.admin]) {
      expectProblem(await upload(account.client, consultationId, pngBytes(), { type: 'image/png' }), 404, 'not_found');
      expectProblem(await answerOf(await fetch(`${server.url}/api/consultations/${consultationId}/documents`, { headers: { cookie: cookieOf(account.client) } })), 404, 'not_found');
    }
    const random = await upload(setting.patient.client, randomUUID(), pngBytes(), { type: 'image/png' });
    expectProblem(random, 404, 'not_found');
    // The patient is no participant of another's consultation either.
    expectProblem(await upload(setting.patient.client, otherConsultationId, pngBytes(), { type: 'image/png' }), 404, 'not_found');
    const traced = await refusals('not_participant');
    expect(traced.length).toBe(before + 8);
    expect(traced.every((row) => row.outcome === 'denied')).toBe(true);
  });

  it('a download by anyone the gate refuses answers exactly like a random id', async () => {
    const unknown = await download(otherDoctor.client, randomUUID());
    expectProblem(unknown, 404, 'not_found');
    const strip = (body: any) => ({ ...body, instance: undefined });
    for (const account of [otherDoctor, otherPatient, setting.admin]) {
      const refused = await download(account.client, documentId);
      expectProblem(refused, 404, 'not_found');
      expect(strip(refused.body)).toEqual(strip(unknown.body));
    }
    const denied = await gateEntries('record.read', documentId);
    expect(denied.filter((e) => e.outcome === 'denied').map((e) => e.actor_user_id).sort()).toEqual([otherDoctor.userId, otherPatient.userId, setting.admin.userId].sort());
    expect((await refusals('unknown_document')).length).toBeGreaterThanOrEqual(1);
  });

  it('an expired session → 401', async () => {
    server.advanceClock(61 * 60_000);
    try {
      expectProblem(await upload(setting.patient.client, consultationId, pngBytes(), { type: 'image/png' }), 401, 'session_expired');
      expectProblem(await download(setting.doctor.client, documentId), 401, 'session_expired');
    } finally {
      setting.patient.client = await logIn(server, setting.patient);
    }
    expect((await upload(setting.patient.client, consultationId, pngBytes(), { type: 'image/png' })).status).toBe(201);
  });
});
