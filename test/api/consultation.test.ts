// Teleconsultation over real HTTP: a doctor publishes slots, patients book (never twice the same slot,
// even at once), the care pathway is recorded, the patient waits, the doctor admits, they chat, the call
// ends, the doctor writes the report the patient then reads; reminders leave by SMTP with an .ics; an
// invited person books before having an account. Then who may do what, as a matrix.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendDueReminders } from '../../src/consultation/reminders.js';
import { Client } from '../support/client.js';
import { enrolTotp, inviteMember, setupOrganisation, signUpPatient, strongPassword, type Account } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
let admin: Account & { organisationId: string };
let doctor: Account;
let otherDoctor: Account;
let nurse: Account;
let patient: Account;
let otherPatient: Account;
let officer: Account;

const HOUR = 3600_000;
const inHours = (hours: number) => new Date(server.services.now() + hours * HOUR).toISOString();

async function publish(account: Account, startsAt: string, count = 1, durationMinutes = 20): Promise<string[]> {
  const response = await account.client.post('/api/availability', { startsAt, durationMinutes, count });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body.ids;
}

async function book(account: Account, slotId: string, extra: Record<string, unknown> = {}): Promise<string> {
  const response = await account.client.post('/api/consultations', { slotId, ...extra });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body.id;
}

async function auditRows(resourceId: string) {
  return server.services.db.selectFrom('audit_entries').select(['type', 'outcome', 'actor_user_id', 'patient_id', 'detail']).where('resource_id', '=', resourceId).orderBy('id').execute();
}

beforeAll(async () => {
  server = await startTestServer({ SESSION_IDLE_MINUTES: '1440', SESSION_ABSOLUTE_HOURS: '720', TURN_URLS: 'turn:127.0.0.1:3478?transport=udp', TURN_SECRET: 'test-secret', STUN_URLS: 'stun:127.0.0.1:3478' });
  admin = await setupOrganisation(server, 'Maison de santé');
  doctor = await inviteMember(server, admin, { roles: ['doctor'], rpps: '10003456786', profession: 'Médecin généraliste' });
  await enrolTotp(server, doctor);
  otherDoctor = await inviteMember(server, admin, { roles: ['doctor'], rpps: '10000000124', profession: 'Médecin généraliste' });
  await enrolTotp(server, otherDoctor);
  nurse = await inviteMember(server, admin, { roles: ['health_professional'], rpps: '10000000132', profession: 'Infirmière' });
  await enrolTotp(server, nurse);
  officer = await inviteMember(server, admin, { roles: ['security_officer'] });
  await enrolTotp(server, officer);
  patient = await signUpPatient(server, admin.organisationId);
  await enrolTotp(server, patient);
  otherPatient = await signUpPatient(server, admin.organisationId);
  await enrolTotp(server, otherPatient);
}, 120_000);
afterAll(() => server?.close());

describe('availability', () => {
  it('a doctor publishes back-to-back slots; overlaps, the past and non-doctors are refused', async () => {
    const start = inHours(48);
    const ids = await publish(doctor, start, 3);
    expect(ids).toHaveLength(3);
    const mine = await doctor.client.get(`/api/availability?from=${encodeURIComponent(inHours(47))}`);
    expect(mine.body.slots.filter((slot: { id: string }) => ids.includes(slot.id)).map((slot: { startsAt: string }) => slot.startsAt)).toEqual([0, 20, 40].map((minutes) => new Date(Date.parse(start) + minutes * 60_000).toISOString()));

    const overlap = await doctor.client.post('/api/availability', { startsAt: new Date(Date.parse(start) + 30 * 60_000).toISOString(), durationMinutes: 20 });
    expect(overlap.status).toBe(409);
    expect(overlap.headers.get('content-type')).toContain('application/problem+json');
    expect((await doctor.client.post('/api/availability', { startsAt: inHours(-1), durationMinutes: 20 })).status).toBe(400);
    expect((await doctor.client.post('/api/availability', { startsAt: inHours(50), durationMinutes: 2 })).status).toBe(400);
    expect((await patient.client.post('/api/availability', { startsAt: inHours(50), durationMinutes: 20 })).status).toBe(403);
    expect((await nurse.client.post('/api/availability', { startsAt: inHours(50), durationMinutes: 20 })).status).toBe(403);
    // Withdrawing a free slot removes it from what patients see.
    expect((await doctor.client.delete(`/api/availability/${ids[2]}`)).status).toBe(204);
    const free = await patient.client.get(`/api/slots?doctorId=${doctor.userId}&from=${encodeURIComponent(inHours(47))}`);
    expect(free.body.slots.map((slot: { id: string }) => slot.id)).toEqual(expect.arrayContaining([ids[0], ids[1]]));
    expect(free.body.slots.map((slot: { id: string }) => slot.id)).not.toContain(ids[2]);
  });
});

describe('booking', () => {
  it('two patients can never book the same slot, even at the same instant', async () => {
    const [slotId] = await publish(doctor, inHours(72));
    const contenders = [patient, otherPatient, patient, otherPatient, patient, otherPatient];
    const answers = await Promise.all(contenders.map((account) => account.client.post('/api/consultations', { slotId, pathway: { role: 'outside_pathway' } })));
    expect(answers.map((answer) => answer.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
    const rows = await server.services.db.selectFrom('consultations').select('id').where('slot_id', '=', slotId!).execute();
    expect(rows).toHaveLength(1);
    const refused = answers.find((answer) => answer.status === 409)!;
    expect(refused.body).toMatchObject({ code: 'slot_unavailable', status: 409 });
    // The booked slot is no longer offered.
    const free = await otherPatient.client.get(`/api/slots?doctorId=${doctor.userId}&from=${encodeURIComponent(inHours(71))}`);
    expect(free.body.slots.map((slot: { id: string }) => slot.id)).not.toContain(slotId);
  });

  it('records the care pathway: attending doctor recognised, referral and last visit declared, reimbursability shown to the doctor', async () => {
    expect((await otherPatient.client.post('/api/me/attending-doctor', { professionalId: doctor.userId })).status).toBe(201);
    const [attendingSlot, referredSlot, outsideSlot] = await publish(doctor, inHours(96), 3);
    const asAttending = await book(otherPatient, attendingSlot!, { pathway: { role: 'outside_pathway', lastInPersonVisit: '2026-06-01' } });
    const referred = await book(patient, referredSlot!, { pathway: { role: 'referred', lastInPersonVisit: '2026-09-15' } });
    const outside = await book(patient, outsideSlot!, { pathway: { role: 'outside_pathway' } });
    const view = async (id: string) => (await doctor.client.get(`/api/consultations/${id}`)).body.consultation.pathway;
    expect(await view(asAttending)).toMatchObject({ role: 'attending_doctor', seenWithin12Months: true, reimbursable: true });
    expect(await view(referred)).toMatchObject({ role: 'referred', lastInPersonVisit: '2026-09-15', seenWithin12Months: true, reimbursable: true });
    expect(await view(outside)).toMatchObject({ role: 'outside_pathway', seenWithin12Months: null, reimbursable: false });
    // The booking is traced by the gate, with the consultation as its resource.
    const trace = await auditRows(referred);
    expect(trace[0]).toMatchObject({ type: 'consultation.schedule', outcome: 'allowed', actor_user_id: patient.userId, patient_id: patient.userId });
  });

  it('a doctor books for a patient they care for, not for one they do not', async () => {
    const [slotA, slotB] = await publish(otherDoctor, inHours(120), 2);
    // No relationship yet between otherDoctor and patient: refused as "not found", and traced.
    const refused = await otherDoctor.client.post('/api/consultations', { slotId: slotA, patientId: patient.userId });
    expect(refused.status).toBe(404);
    expect((await patient.client.post('/api/me/care-team', { professionalId: otherDoctor.userId })).status).toBe(201);
    const id = await book(otherDoctor, slotB!, { patientId: patient.userId });
    const mine = await patient.client.get('/api/me/consultations');
    expect(mine.body.consultations.map((c: { id: string }) => c.id)).toContain(id);
    // Someone else's slot cannot be used to book for a patient.
    const [doctorsSlot] = await publish(doctor, inHours(121));
    expect((await otherDoctor.client.post('/api/consultations', { slotId: doctorsSlot, patientId: patient.userId })).status).toBe(404);
  });

  it('either side cancels or moves an upcoming consultation; the freed slot can be booked again; the patient is mailed the doctor’s changes', async () => {
    const [first, second, third] = await publish(doctor, inHours(140), 3);
    const id = await book(patient, first!);
    const icsOf = (raw: string) => Buffer.from(raw.split('filename=rendez-vous.ics')[1]!.split('----')[0]!.replace(/\s+/g, ''), 'base64').toString('utf8');
    const changeMails = () => server.smtp.mails.filter((mail) => mail.to.includes(patient.email.toLowerCase()) && /teleconsultation (was moved|of .* was cancelled)/.test(mail.raw.replace(/=\r?\n/g, '')) && icsOf(mail.raw).includes(`UID:${id}@`));
    const utc = (iso: string) => iso.replace(/[-:]/g, '').replace(/\.\d{3}/, '');
    expect((await patient.client.post(`/api/consultations/${id}/move`, { slotId: second })).status).toBe(204);
    const moved = (await patient.client.get(`/api/consultations/${id}`)).body.consultation;
    expect(moved.startsAt).toBe(new Date(Date.parse(inHours(140)) + 20 * 60_000).toISOString().slice(0, 16) + moved.startsAt.slice(16));

    // The doctor moves it: the patient gets the new time with an updated calendar event.
    expect((await doctor.client.post(`/api/consultations/${id}/move`, { slotId: third })).status).toBe(204);
    await server.services.background.drain();
    expect(changeMails()).toHaveLength(1);
    const movedTo = (await patient.client.get(`/api/consultations/${id}`)).body.consultation.startsAt as string;
    expect(icsOf(changeMails()[0]!.raw)).toContain(`DTSTART:${utc(movedTo)}`);
    expect(icsOf(changeMails()[0]!.raw)).toContain('STATUS:CONFIRMED');

    expect((await doctor.client.post(`/api/consultations/${id}/cancel`, {})).status).toBe(204);
    await server.services.background.drain();
    expect(changeMails()).toHaveLength(2);
    expect(icsOf(changeMails()[1]!.raw)).toContain('STATUS:CANCELLED');
    expect(changeMails()[1]!.raw).not.toContain('Médecin');
    expect((await patient.client.post(`/api/consultations/${id}/cancel`, {})).status).toBe(409);
    await book(otherPatient, second!);
  });

  it('bad input gets a problem document and writes nothing', async () => {
    const before = await server.services.db.selectFrom('consultations').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    for (const body of [{}, { slotId: 'nope' }, { slotId: randomUUID(), pathway: { role: 'attending_doctor' } }, { slotId: randomUUID(), extra: 1 }]) {
      const response = await patient.client.post('/api/consultations', body);
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ status: 400 });
    }
    expect((await patient.client.post('/api/consultations', { slotId: randomUUID() })).status).toBe(404);
    const after = await server.services.db.selectFrom('consultations').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));
  });
});

describe('a consultation from the waiting room to the report', () => {
  it('the patient waits, the doctor sees it and admits, they chat, the call ends, the report reaches the patient', async () => {
    const [slotId] = await publish(doctor, inHours(0.25));
    const id = await book(patient, slotId!, { pathway: { role: 'referred', lastInPersonVisit: '2026-10-01' } });

    // Before admission: not in progress, no chat.
    expect((await patient.client.post(`/api/consultations/${id}/messages`, { text: 'Bonjour' })).status).toBe(409);
    expect((await doctor.client.post(`/api/consultations/${id}/admit`, {})).status).toBe(409);

    const waiting = await patient.client.post(`/api/consultations/${id}/waiting-room`, {});
    expect(waiting.status).toBe(200);
    const list = await doctor.client.get('/api/consultations/waiting');
    expect(list.body.waiting).toEqual([expect.objectContaining({ id, patient: { id: patient.userId, name: 'Jeanne Martin' }, pathway: expect.objectContaining({ reimbursable: true }) })]);

    const ice = await patient.client.get(`/api/consultations/${id}/ice-servers`);
    expect(ice.body.iceServers).toEqual([{ urls: ['stun:127.0.0.1:3478'] }, expect.objectContaining({ urls: ['turn:127.0.0.1:3478?transport=udp'], username: expect.stringMatching(/^\d+:/), credential: expect.any(String) })]);
    expect(ice.body.iceServers[1].username).not.toContain(patient.userId);

    expect((await doctor.client.post(`/api/consultations/${id}/admit`, {})).status).toBe(200);
    expect((await doctor.client.post(`/api/consultations/${id}/admit`, {})).status).toBe(409);
    expect((await patient.client.get(`/api/consultations/${id}`)).body.consultation.status).toBe('in_progress');

    expect((await patient.client.post(`/api/consultations/${id}/messages`, { text: 'Bonjour docteur, j’ai une éruption sur le bras.' })).status).toBe(201);
    expect((await doctor.client.post(`/api/consultations/${id}/messages`, { text: 'Montrez-moi, et envoyez une photo.' })).status).toBe(201);
    const messages = (await doctor.client.get(`/api/consultations/${id}/messages`)).body.messages;
    expect(messages.map((m: { text: string; senderId: string }) => [m.senderId, m.text])).toEqual([
      [patient.userId, 'Bonjour docteur, j’ai une éruption sur le bras.'],
      [doctor.userId, 'Montrez-moi, et envoyez une photo.'],
    ]);
    // Sealed at rest: the text is not in the database.
    const stored = await server.services.db.selectFrom('consultation_messages').select('body_sealed').where('consultation_id', '=', id).execute();
    expect(stored.map((row) => row.body_sealed).join()).not.toContain('éruption');

    // The report waits for the end of the call.
    const reportDraft = (sections: object) => ({ sections });
    expect((await doctor.client.put(`/api/consultations/${id}/reports/draft`, reportDraft({ reason: 'Éruption', conclusion: 'Eczéma de contact.' }))).status).toBe(409);
    server.advanceClock(12 * 60_000);
    const ended = await patient.client.post(`/api/consultations/${id}/end`, {});
    expect(ended.status).toBe(200);
    expect(ended.body.durationSeconds).toBeGreaterThanOrEqual(12 * 60);
    expect((await doctor.client.post(`/api/consultations/${id}/end`, {})).status).toBe(409);

    // A draft stays with the doctor; the patient reads the signed report.
    const saved = await doctor.client.put(`/api/consultations/${id}/reports/draft`, reportDraft({ reason: 'Éruption', conclusion: 'Brouillon' }));
    expect(saved.status).toBe(200);
    expect((await patient.client.get(`/api/consultations/${id}/reports`)).body.reports).toEqual([]);
    expect((await patient.client.put(`/api/consultations/${id}/reports/draft`, reportDraft({ conclusion: 'Je réécris' }))).status).toBe(404);
    expect((await doctor.client.put(`/api/consultations/${id}/reports/draft`, reportDraft({ reason: 'Éruption', conclusion: 'Eczéma de contact.\nDermocorticoïde 7 jours.' }))).status).toBe(200);
    expect((await patient.client.post(`/api/consultations/${id}/reports/draft/sign`, { version: 1 })).status).toBe(404);
    expect((await doctor.client.post(`/api/consultations/${id}/reports/draft/sign`, { version: 1 })).status).toBe(200);
    const reports = await patient.client.get(`/api/consultations/${id}/reports`);
    expect(reports.body.reports).toMatchObject([{ version: 1, status: 'signed', sections: { conclusion: 'Eczéma de contact.\nDermocorticoïde 7 jours.' }, authorName: expect.any(String) }]);
    const sealed = await server.services.db.selectFrom('consultation_reports').select('body_sealed').where('consultation_id', '=', id).executeTakeFirstOrThrow();
    expect(sealed.body_sealed).not.toContain('Eczéma');

    // Every step went through the gate and left a trace naming the consultation.
    const changes = (await auditRows(id)).map((row) => (row.detail as { change?: string }).change).filter(Boolean);
    expect(changes).toEqual(expect.arrayContaining(['consultation.booked', 'waiting_room.entered', 'consultation.admitted', 'consultation.ended']));
  });
});

describe('who may do what on a consultation (authorization matrix)', () => {
  it('only its doctor and its patient act on it; everyone else gets the same 404 as a random id, traced', async () => {
    const [slotId] = await publish(doctor, inHours(3));
    const id = await book(otherPatient, slotId!);
    const actions: Array<[string, (client: Client, target: string) => Promise<{ status: number }>]> = [
      ['view', (c, t) => c.get(`/api/consultations/${t}`)],
      ['ice', (c, t) => c.get(`/api/consultations/${t}/ice-servers`)],
      ['messages', (c, t) => c.get(`/api/consultations/${t}/messages`)],
      ['report', (c, t) => c.get(`/api/consultations/${t}/reports`)],
      ['wait', (c, t) => c.post(`/api/consultations/${t}/waiting-room`, {})],
      ['admit', (c, t) => c.post(`/api/consultations/${t}/admit`, {})],
      ['end', (c, t) => c.post(`/api/consultations/${t}/end`, {})],
      ['cancel', (c, t) => c.post(`/api/consultations/${t}/cancel`, {})],
      ['move', (c, t) => c.post(`/api/consultations/${t}/move`, { slotId })],
    ];
    const outsiders: Array<[string, Account]> = [['another patient', patient], ['another doctor', otherDoctor], ['a nurse', nurse], ['the organisation admin', admin], ['the security officer', officer]];
    const mismatches: string[] = [];
    for (const [name, account] of outsiders) {
      for (const [action, run] of actions) {
        for (const target of [id, randomUUID()]) {
          const response = await run(account.client, target);
          if (response.status !== 404) mismatches.push(`${name} × ${action} × ${target === id ? 'consultation' : 'random id'}: ${response.status}`);
        }
      }
    }
    expect(mismatches).toEqual([]);
    const refusals = await server.services.db.selectFrom('audit_entries').select(['actor_user_id', 'detail']).where('type', '=', 'consultation.refused').execute();
    const aboutThis = refusals.filter((row) => (row.detail as { consultationId?: string }).consultationId === id);
    expect(aboutThis).toHaveLength(outsiders.length * actions.length);

    // The participants themselves: what each side may do before the call.
    expect((await doctor.client.get(`/api/consultations/${id}`)).status).toBe(200);
    expect((await otherPatient.client.get(`/api/consultations/${id}`)).status).toBe(200);
    expect((await doctor.client.post(`/api/consultations/${id}/waiting-room`, {})).status).toBe(409);
    expect((await otherPatient.client.post(`/api/consultations/${id}/admit`, {})).status).toBe(404);
    expect((await otherPatient.client.get(`/api/consultations/${id}/reports`)).body.reports).toEqual([]);
  });

  it('a session without a second factor reaches nothing', async () => {
    const client = new Client(server.url);
    const fresh = await client.post('/api/signup', { organisationId: admin.organisationId, email: `nofactor-${randomUUID()}@example.test`, password: strongPassword(), displayName: 'Sans facteur', identity: { birthName: 'DUPONT', firstNames: 'Paul', birthDate: '1980-02-03', sex: 'M', birthplaceCode: '75056' } });
    expect(fresh.status).toBe(201);
    await client.refreshSession();
    expect((await client.get('/api/me/consultations')).status).toBe(403);
  });
});

describe('reminders and invitations', () => {
  it('sends the day-before and the soon reminder once each, with an .ics, the time and a link, and no health data', async () => {
    const [slotId] = await publish(doctor, inHours(20));
    const id = await book(patient, slotId!, { pathway: { role: 'referred' } });
    const deps = { db: server.services.db, mailer: server.services.mailer, publicUrl: server.services.config.publicUrl };
    const count = () => server.smtp.mails.filter((mail) => mail.to.includes(patient.email.toLowerCase()) && mail.raw.includes(id)).length;
    await sendDueReminders(deps, new Date(server.services.now()));
    await sendDueReminders(deps, new Date(server.services.now()));
    expect(count()).toBe(1);
    const mail = server.smtp.mails.filter((m) => m.raw.includes(id)).at(-1)!;
    expect(mail.raw).toContain('text/calendar');
    const attachment = mail.raw.split('filename=rendez-vous.ics')[1]!.split('----')[0]!.replace(/\s+/g, '');
    const ics = Buffer.from(attachment, 'base64').toString('utf8');
    expect(ics).toMatch(/^BEGIN:VCALENDAR\r\n/);
    const { startsAt } = (await patient.client.get(`/api/consultations/${id}`)).body.consultation;
    expect(ics).toContain(`DTSTART:${startsAt.replace(/[-:]/g, '').replace(/\.\d{3}/, '')}`);
    expect(ics.replace(/\r\n /g, '')).toContain(`URL:${server.services.config.publicUrl}/#/consultations/${id}`);
    expect(mail.raw).not.toContain('Médecin');
    expect(mail.raw).not.toMatch(/Membre doctor/);
    await sendDueReminders(deps, new Date(Date.parse(inHours(20)) - 10 * 60_000));
    expect(count()).toBe(2);
  });

  it('a doctor books for someone without an account: the mailed invitation leads to an account, then the consultation is theirs', async () => {
    const [slotId] = await publish(doctor, inHours(30));
    const email = `invite-${randomUUID()}@example.test`;
    const created = await doctor.client.post('/api/consultations', { slotId, inviteEmail: email, pathway: { role: 'referred' } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const agenda = await doctor.client.get(`/api/consultations?from=${encodeURIComponent(inHours(29))}`);
    expect(agenda.body.consultations.find((c: { id: string }) => c.id === created.body.id)).toMatchObject({ patient: null, invitedEmail: email });

    const link = await server.smtp.waitForLink(email);
    const token = new URL(link.replace('/#/', '/')).searchParams.get('token');
    const client = new Client(server.url);
    const accepted = await client.post('/api/invitations/accept', { token, password: strongPassword(), displayName: 'Invitée', identity: { birthName: 'MARTIN', firstNames: 'Lucie', birthDate: '1990-05-06', sex: 'F', birthplaceCode: '75056' } });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(201);
    await client.refreshSession();
    // The second factor first: no consultation data before it.
    expect((await client.get('/api/me/consultations')).status).toBe(403);
    const invitee: Account = { client, email, password: '', userId: accepted.body.userId };
    await enrolTotp(server, invitee);
    const mine = await client.get('/api/me/consultations');
    expect(mine.body.consultations.map((c: { id: string }) => c.id)).toEqual([created.body.id]);
    expect((await doctor.client.get(`/api/consultations/${created.body.id}`)).body.consultation.patient).toMatchObject({ id: invitee.userId });
  });
});
