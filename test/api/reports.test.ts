// Teleconsultation reports over real HTTP: drafts that only their author sees, signing (required
// sections, the version the doctor saw, the digest traced in the audit log), immutability and
// corrections as new versions, the PDF as a reader sees it, the FHIR Composition and document Bundle
// checked by an independent R4 validator, the attending doctor's inbox, and who may read what.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { objectContext } from '../../src/kernel/envelope.js';
import { textOfPdf } from '../support/codes.js';
import { careSetting, insertConsultation, type CareSetting } from '../support/consultations.js';
import { enrolTotp, inviteMember, signUpPatient, type Account } from '../support/factories.js';
import { expectValidFhir } from '../support/fhir.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
let setting: CareSetting;
let attending: Account; // the patient's attending doctor (médecin traitant), not the consultant
let stranger: Account; // a doctor of the same organisation, without relationship
let otherPatient: Account;

const SECTIONS = {
  reason: 'Éruption cutanée des avant-bras depuis 3 jours.',
  history: 'Pas d’antécédent notable. Nouveau savon.',
  findings: 'Plaques érythémateuses prurigineuses, pas de fièvre (37,1 °C).',
  conclusion: 'Eczéma de contact probable.',
  plan: 'Dermocorticoïde 7 jours ; éviction du savon.',
  followUp: 'Revoir si pas d’amélioration à J10.',
};


beforeAll(async () => {
  server = await startTestServer();
  setting = await careSetting(server);
  attending = await inviteMember(server, setting.admin, { roles: ['doctor'], rpps: '10000000124', profession: 'médecin généraliste' });
  await enrolTotp(server, attending);
  stranger = await inviteMember(server, setting.admin, { roles: ['doctor'], rpps: '10000000132', profession: 'dermatologue' });
  await enrolTotp(server, stranger);
  otherPatient = await signUpPatient(server, setting.organisationId);
  await enrolTotp(server, otherPatient);
  expect((await setting.patient.client.post('/api/me/attending-doctor', { professionalId: attending.userId })).status).toBe(201);
});
afterAll(() => server?.close());

const draft = (account: Account, consultationId: string, sections: object = SECTIONS) => account.client.put(`/api/consultations/${consultationId}/reports/draft`, { sections });
const sign = (account: Account, consultationId: string, version: number) => account.client.post(`/api/consultations/${consultationId}/reports/draft/sign`, { version });
const versions = async (account: Account, consultationId: string) => {
  const answer = await account.client.get(`/api/consultations/${consultationId}/reports`);
  expect(answer.status).toBe(200);
  return answer.body.reports as Array<{ id: string; version: number; status: string; sections: typeof SECTIONS; replaces: { id: string } | null; replacedBy: { id: string } | null; digest: string | null; pdfUrl: string | null }>;
};

describe('drafts', () => {
  it('are written by the consultation’s doctor once it has ended, seen by nobody else, sealed at rest', async () => {
    const inProgress = await insertConsultation(server, setting, { status: 'in_progress' });
    expect((await draft(setting.doctor, inProgress)).status).toBe(409);
    const ended = await insertConsultation(server, setting, { status: 'ended' });
    for (const someone of [setting.patient, attending, stranger, otherPatient, setting.admin]) {
      expect((await draft(someone, ended)).status, someone.email).toBe(404);
    }
    const saved = await draft(setting.doctor, ended, { reason: SECTIONS.reason });
    expect(saved.status).toBe(200);
    expect(saved.body.report).toMatchObject({ version: 1, status: 'draft', replaces: null, signedAt: null, digest: null, pdfUrl: null });
    expect(saved.body.report.sections).toEqual({ reason: SECTIONS.reason, history: '', findings: '', conclusion: '', plan: '', followUp: '' });
    // Saving again rewrites the same draft.
    const again = await draft(setting.doctor, ended);
    expect(again.body.report).toMatchObject({ id: saved.body.report.id, version: 1, sections: SECTIONS });
    expect(await versions(setting.patient, ended)).toEqual([]);
    expect((await versions(setting.doctor, ended)).map((v) => v.id)).toEqual([saved.body.report.id]);
    expect((await setting.patient.client.get(`/api/reports/${saved.body.report.id}`)).status).toBe(404);
    const row = await server.services.db.selectFrom('consultation_reports').select('body_sealed').where('id', '=', saved.body.report.id).executeTakeFirstOrThrow();
    expect(row.body_sealed).not.toContain('Eczéma');
  });

  it('refuses bad sections with a problem and writes nothing', async () => {
    const ended = await insertConsultation(server, setting, { status: 'ended' });
    const bad = [{ unknown: 'x' }, { reason: 'a\u0007b' }, { reason: 'x'.repeat(10_001) }, { reason: 12 }];
    for (const sections of bad) {
      const answer = await draft(setting.doctor, ended, sections);
      expect(answer.status, JSON.stringify(sections).slice(0, 60)).toBe(400);
      expect(answer.headers.get('content-type')).toContain('application/problem+json');
    }
    expect((await setting.doctor.client.put(`/api/consultations/${ended}/reports/draft`, { text: 'old shape' })).status).toBe(400);
    expect(await versions(setting.doctor, ended)).toEqual([]);
  });

  it('can be discarded by their author, once', async () => {
    const ended = await insertConsultation(server, setting, { status: 'ended' });
    await draft(setting.doctor, ended);
    expect((await setting.patient.client.delete(`/api/consultations/${ended}/reports/draft`)).status).toBe(404);
    expect((await setting.doctor.client.delete(`/api/consultations/${ended}/reports/draft`)).status).toBe(204);
    expect((await setting.doctor.client.delete(`/api/consultations/${ended}/reports/draft`)).status).toBe(404);
    expect(await versions(setting.doctor, ended)).toEqual([]);
  });
});

describe('signing and correcting', () => {
  it('signs the version the doctor saw, with its required sections; then it is immutable and corrections are new versions', async () => {
    const ended = await insertConsultation(server, setting, { status: 'ended' });
    const { db } = server.services;
    expect((await sign(setting.doctor, ended, 1)).status).toBe(404); // nothing to sign yet
    await draft(setting.doctor, ended, { ...SECTIONS, conclusion: '  ' });
    const incomplete = await sign(setting.doctor, ended, 1);
    expect(incomplete.status).toBe(400);
    expect(incomplete.body.detail).toContain('Conclusion');
    await draft(setting.doctor, ended);
    expect((await sign(setting.doctor, ended, 2)).status).toBe(409); // not the open draft
    expect((await sign(setting.patient, ended, 1)).status).toBe(404);

    const signed = await sign(setting.doctor, ended, 1);
    expect(signed.status, JSON.stringify(signed.body)).toBe(200);
    const v1 = signed.body.report;
    expect(v1).toMatchObject({ version: 1, status: 'signed', sections: SECTIONS, replaces: null, replacedBy: null, pdfUrl: `/api/reports/${v1.id}/pdf` });
    expect(v1.digest).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    // The digest joined the audit log in the signature's transaction.
    const traced = await db.selectFrom('audit_entries').select(['detail', 'patient_id', 'subject_user_id', 'actor_user_id']).where('type', '=', 'report.signed').execute();
    const entry = traced.find((e) => (e.detail as { reportId?: string }).reportId === v1.id);
    expect(entry?.detail).toMatchObject({ reportId: v1.id, consultationId: ended, version: 1, replaces: null, digest: v1.digest });
    expect(entry).toMatchObject({ actor_user_id: setting.doctor.userId, subject_user_id: setting.patient.userId });

    // The patient now reads it.
    expect((await versions(setting.patient, ended)).map((v) => v.id)).toEqual([v1.id]);
    const read = await setting.patient.client.get(`/api/reports/${v1.id}`);
    expect(read.body.report).toMatchObject({ id: v1.id, sections: SECTIONS, digest: v1.digest });

    // Signed means immutable: nothing signs it twice, and a new draft is a correction (version 2).
    expect((await sign(setting.doctor, ended, 1)).status).toBe(404);
    const sealedBefore = await db.selectFrom('consultation_reports').select(['body_sealed', 'signed_at']).where('id', '=', v1.id).executeTakeFirstOrThrow();
    const correction = await draft(setting.doctor, ended, { ...SECTIONS, conclusion: 'Eczéma de contact au nickel (bracelet).' });
    expect(correction.body.report).toMatchObject({ version: 2, status: 'draft', replaces: { id: v1.id, version: 1 } });
    expect(await db.selectFrom('consultation_reports').select(['body_sealed', 'signed_at']).where('id', '=', v1.id).executeTakeFirstOrThrow()).toEqual(sealedBefore);
    // The draft correction stays with the doctor: the patient still sees version 1 alone, not replaced.
    expect((await versions(setting.patient, ended)).map((v) => [v.version, v.replacedBy])).toEqual([[1, null]]);

    const v2 = (await sign(setting.doctor, ended, 2)).body.report;
    expect(v2).toMatchObject({ version: 2, status: 'signed', replaces: { id: v1.id, version: 1 } });
    expect(v2.digest).not.toBe(v1.digest);
    const seen = await versions(setting.patient, ended);
    expect(seen.map((v) => v.version)).toEqual([2, 1]);
    expect(seen[1]).toMatchObject({ id: v1.id, replacedBy: { id: v2.id, version: 2 }, sections: SECTIONS, digest: v1.digest });
  });
});

describe('the PDF and the FHIR document', () => {
  it('prints who, for whom, the sections, the version and its digest; a replaced version says so', async () => {
    const ended = await insertConsultation(server, setting, { status: 'ended' });
    const pending = (await draft(setting.doctor, ended, { ...SECTIONS, plan: 'TA ≥ 140 → contrôle' })).body.report;
    expect((await setting.doctor.client.bytes(`/api/reports/${pending.id}/pdf`)).status).toBe(409);
    const v1 = (await sign(setting.doctor, ended, 1)).body.report;
    const pdf = await setting.patient.client.bytes(v1.pdfUrl);
    expect(pdf.status).toBe(200);
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    const text = (await textOfPdf(pdf.body)).replace(/\s+/g, ' ');
    expect(text).toContain('Compte rendu de téléconsultation');
    expect(text).toContain('RPPS : 10003456786');
    expect(text).toContain('Motif de la consultation');
    expect(text).toContain(SECTIONS.reason);
    expect(text).toContain('TA >= 140 -> contrôle');
    expect(text).toContain('Version 1, signée le');
    expect(text).toContain(v1.digest);
    expect(text).not.toContain('remplacée');

    await draft(setting.doctor, ended, { ...SECTIONS, conclusion: 'Corrigé.' });
    const v2 = (await sign(setting.doctor, ended, 2)).body.report;
    const old = (await textOfPdf((await setting.patient.client.bytes(v1.pdfUrl)).body)).replace(/\s+/g, ' ');
    expect(old).toContain('Version remplacée par la version 2');
    const current = (await textOfPdf((await setting.patient.client.bytes(v2.pdfUrl)).body)).replace(/\s+/g, ' ');
    expect(current).toContain('Cette version remplace la version 1');
  });

  it('is a FHIR document Bundle: the Composition first, then what it names, valid R4', async () => {
    const ended = await insertConsultation(server, setting, { status: 'ended' });
    await draft(setting.doctor, ended);
    const v1 = (await sign(setting.doctor, ended, 1)).body.report;
    await draft(setting.doctor, ended, { ...SECTIONS, findings: 'Lésions <b>vésiculeuses</b> & suintantes.' });
    const v2 = (await sign(setting.doctor, ended, 2)).body.report;
    const document = await setting.patient.client.get(`/api/reports/${v2.id}/fhir`);
    expect(document.status).toBe(200);
    const bundle = document.body;
    expectValidFhir(bundle);
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'document', identifier: { value: v2.id } });
    expect(bundle.entry.map((e: { resource: { resourceType: string } }) => e.resource.resourceType)).toEqual(['Composition', 'Patient', 'Practitioner', 'Organization', 'Encounter']);
    const composition = bundle.entry[0].resource;
    expectValidFhir(composition);
    expect(composition).toMatchObject({
      status: 'amended',
      type: { coding: [{ system: 'http://loinc.org', code: '11488-4' }] },
      subject: { reference: `Patient/${setting.patient.userId}` },
      encounter: { reference: `Encounter/${ended}` },
      author: [{ reference: `Practitioner/${setting.doctor.userId}` }],
      relatesTo: [{ code: 'replaces', targetReference: { reference: `Composition/${v1.id}` } }],
    });
    expect(composition.section.map((s: { code: { coding: Array<{ code: string }> } }) => s.code.coding[0]!.code)).toEqual(['29299-5', '10164-2', '29545-1', '51848-0', '18776-5', '69730-0']);
    // Text is escaped into the narrative, never markup.
    expect(composition.section[2].text.div).toContain('Lésions &lt;b&gt;vésiculeuses&lt;/b&gt; &amp; suintantes.');
    // Every reference of the Composition resolves inside the Bundle.
    const inside = new Set(bundle.entry.map((e: { resource: { resourceType: string; id: string } }) => `${e.resource.resourceType}/${e.resource.id}`));
    for (const reference of [composition.subject, composition.encounter, composition.author[0], composition.custodian]) expect(inside.has(reference.reference)).toBe(true);

    // The FHIR API: read, $document, search (patient, date, type, status), and drafts never served.
    const read = await setting.doctor.client.get(`/fhir/R4/Composition/${v1.id}`);
    expect(read.status).toBe(200);
    expectValidFhir(read.body);
    expect(read.body.status).toBe('final');
    expect((await setting.doctor.client.get(`/fhir/R4/Composition/${v2.id}/$document`)).body).toMatchObject({ type: 'document', id: v2.id });
    const search = (query: string) => setting.doctor.client.get(`/fhir/R4/Composition?patient=${setting.patient.userId}&${query}`);
    const all = (await search('_count=100')).body;
    expectValidFhir(all);
    const ids = all.entry.map((e: { resource: { id: string } }) => e.resource.id);
    expect(ids).toEqual(expect.arrayContaining([v1.id, v2.id]));
    expect((await search('status=amended')).body.entry.map((e: { resource: { id: string } }) => e.resource.id)).toContain(v2.id);
    expect((await search('status=amended')).body.entry.map((e: { resource: { id: string } }) => e.resource.id)).not.toContain(v1.id);
    expect((await search('type=http://loinc.org|11488-4')).body.total).toBe(all.total);
    expect((await search('type=http://loinc.org|34117-2')).body.total).toBe(0);
    expect((await search(`date=gt${encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString())}`)).body.total).toBe(0);
    const openDraft = (await draft(setting.doctor, ended)).body.report;
    expect((await setting.doctor.client.get(`/fhir/R4/Composition/${openDraft.id}`)).status).toBe(404);
    expect((await search('_count=100')).body.entry.map((e: { resource: { id: string } }) => e.resource.id)).not.toContain(openDraft.id);
  });
});

describe('who reads what', () => {
  it('the patient, the consultant and the attending doctor read a signed report; nobody else, answered as an unknown id', async () => {
    const ended = await insertConsultation(server, setting, { status: 'ended' });
    await draft(setting.doctor, ended);
    const { report } = (await sign(setting.doctor, ended, 1)).body;
    for (const reader of [setting.patient, setting.doctor, attending]) {
      expect((await reader.client.get(`/api/reports/${report.id}`)).status, reader.email).toBe(200);
      expect((await reader.client.bytes(`/api/reports/${report.id}/pdf`)).status, reader.email).toBe(200);
      const list = await reader.client.get(`/api/patients/${setting.patient.userId}/reports`);
      expect(list.status).toBe(200);
      expect(list.body.reports.map((r: { id: string }) => r.id)).toContain(report.id);
    }
    // Paging (query strings arrive as text).
    const first = await setting.patient.client.get(`/api/patients/${setting.patient.userId}/reports?limit=1&offset=0`);
    expect(first.status).toBe(200);
    expect(first.body.reports).toHaveLength(1);
    expect(first.body.total).toBeGreaterThan(1);
    const second = await setting.patient.client.get(`/api/patients/${setting.patient.userId}/reports?limit=1&offset=1`);
    expect(second.body.reports[0].id).not.toBe(first.body.reports[0].id);
    expect((await setting.patient.client.get(`/api/patients/${setting.patient.userId}/reports?limit=0`)).status).toBe(400);
    // Without a second factor, a real id and a random one answer alike (403), in the app and in FHIR.
    const noFactor = await inviteMember(server, setting.admin, { roles: ['doctor'], rpps: '10000000165', profession: 'médecin généraliste' });
    for (const path of ['/api/reports/', '/fhir/R4/Composition/']) {
      const real = await noFactor.client.get(`${path}${report.id}`);
      const random = await noFactor.client.get(`${path}${randomUUID()}`);
      expect([real.status, random.status], path).toEqual([403, 403]);
      expect({ ...real.body, instance: undefined }).toEqual({ ...random.body, instance: undefined });
    }
    const unknown = randomUUID();
    for (const outsider of [stranger, otherPatient, setting.admin]) {
      const refused = await outsider.client.get(`/api/reports/${report.id}`);
      const missing = await outsider.client.get(`/api/reports/${unknown}`);
      expect(refused.status, outsider.email).toBe(404);
      expect({ ...refused.body, instance: undefined }).toEqual({ ...missing.body, instance: undefined });
      expect((await outsider.client.bytes(`/api/reports/${report.id}/pdf`)).status).toBe(404);
      expect((await outsider.client.get(`/api/reports/${report.id}/fhir`)).status).toBe(404);
      expect((await outsider.client.get(`/api/patients/${setting.patient.userId}/reports`)).status).toBe(404);
      expect((await outsider.client.get(`/fhir/R4/Composition/${report.id}`)).status).toBe(404);
      expect((await outsider.client.get(`/api/consultations/${ended}/reports`)).status).toBe(404);
    }
  });

  it('the attending doctor receives what colleagues sign for their patients, not what they sign themselves', async () => {
    const ended = await insertConsultation(server, setting, { status: 'ended' });
    await draft(setting.doctor, ended);
    const { report } = (await sign(setting.doctor, ended, 1)).body;
    const inbox = await attending.client.get('/api/reports/received');
    expect(inbox.status).toBe(200);
    const item = inbox.body.reports.find((r: { id: string }) => r.id === report.id);
    expect(item).toMatchObject({ id: report.id, status: 'signed', sections: SECTIONS, patient: { id: setting.patient.userId, name: expect.any(String) } });
    expect(item.patient.name).not.toBe('');
    // The consultant's own reports are not "received"; a stranger receives nothing of this patient.
    expect((await setting.doctor.client.get('/api/reports/received')).body.reports.map((r: { id: string }) => r.id)).not.toContain(report.id);
    expect((await stranger.client.get('/api/reports/received')).body.reports).toEqual([]);
    // Drafts are never received.
    const other = await insertConsultation(server, setting, { status: 'ended' });
    const pending = (await draft(setting.doctor, other)).body.report;
    expect((await attending.client.get('/api/reports/received')).body.reports.map((r: { id: string }) => r.id)).not.toContain(pending.id);
    // Each patient shown is one traced decision of the attending doctor.
    const entries = await server.services.db.selectFrom('audit_entries').select(['resource_type', 'outcome']).where('actor_user_id', '=', attending.userId).where('resource_type', '=', 'received_reports').execute();
    expect(entries.length).toBeGreaterThanOrEqual(2);
    expect(entries.every((e) => e.outcome === 'allowed')).toBe(true);

    // A patient who opposes their attending doctor: their reports leave the inbox before the gate is asked
    // (they would only take places in the capped list), and come back when the opposition is withdrawn.
    const opposition = await setting.patient.client.post('/api/me/oppositions', { professionalId: attending.userId });
    expect(opposition.status).toBe(201);
    const decisionsAbout = async () =>
      (await server.services.db.selectFrom('audit_entries').select('id').where('actor_user_id', '=', attending.userId).where('resource_type', '=', 'received_reports').where('patient_id', '=', setting.patient.userId).execute()).length;
    const decisionsBefore = await decisionsAbout();
    expect(decisionsBefore).toBeGreaterThanOrEqual(2);
    expect((await attending.client.get('/api/reports/received')).body.reports.map((r: { id: string }) => r.id)).not.toContain(report.id);
    expect(await decisionsAbout()).toBe(decisionsBefore);
    expect((await setting.patient.client.delete(`/api/me/oppositions/${opposition.body.id}`)).status).toBe(204);
    expect((await attending.client.get('/api/reports/received')).body.reports.map((r: { id: string }) => r.id)).toContain(report.id);
  });
});

describe('integrity at rest', () => {
  it('is guarded by the database: an UPDATE cannot change what was signed; a re-sealed envelope and the author’s erasure still can', async () => {
    const ended = await insertConsultation(server, { ...setting, patient: otherPatient }, { status: 'ended' });
    await draft(setting.doctor, ended);
    const { report } = (await sign(setting.doctor, ended, 1)).body;
    const { db, envelope } = server.services;
    for (const change of [{ digest: 'AAAA' }, { signed_at: null }, { version: 7 }, { format: 'text' as const }, { replaces_id: report.id }, { author_id: otherPatient.userId }]) {
      await expect(db.updateTable('consultation_reports').set(change).where('id', '=', report.id).execute(), JSON.stringify(change)).rejects.toThrow(/is signed/);
    }
    const context = objectContext('consultation_reports', report.id, 'body_sealed');
    const row = await db.selectFrom('consultation_reports').select(['body_sealed', 'digest']).where('id', '=', report.id).executeTakeFirstOrThrow();
    await db.updateTable('consultation_reports').set({ body_sealed: await envelope.sealText(await envelope.openText(row.body_sealed, context), context) }).where('id', '=', report.id).execute();
    await db.updateTable('consultation_reports').set({ author_id: null }).where('id', '=', report.id).execute();
    const read = await otherPatient.client.get(`/api/reports/${report.id}`);
    expect(read.status).toBe(200);
    expect(read.body.report).toMatchObject({ digest: row.digest, sections: SECTIONS });
  });

  it('refuses to show a signed version whose body was altered at rest', async () => {
    // Another patient: a report that fails its check fails every list that holds it (closed, not skipped).
    const ended = await insertConsultation(server, { ...setting, patient: otherPatient }, { status: 'ended' });
    await draft(setting.doctor, ended);
    const { report } = (await sign(setting.doctor, ended, 1)).body;
    const { db, envelope } = server.services;
    const forged = JSON.stringify({ v: 1, sections: { ...SECTIONS, conclusion: 'Rien.' } });
    await db.updateTable('consultation_reports').set({ body_sealed: await envelope.sealText(forged, objectContext('consultation_reports', report.id, 'body_sealed')) }).where('id', '=', report.id).execute();
    const answer = await otherPatient.client.get(`/api/reports/${report.id}`);
    expect(answer.status).toBe(500);
    expect(JSON.stringify(answer.body)).not.toContain('Rien');
    expect(JSON.stringify(answer.body)).not.toMatch(/at .*\.ts/);
  });
});
