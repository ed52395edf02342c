// A teleconsultation in two real Chromiums (fake camera and microphone) against the real server: the
// patient books on #/rendez-vous and enters the waiting room, the doctor is notified on #/agenda and
// admits them, both reach ICE "connected" and receive each other's video, they chat, the patient sends
// a file that the doctor downloads unchanged, audio-only mode stays under 40 kbit/s, the doctor hangs
// up (ended on both sides), writes the report and signs it; the patient reads it at once. Then the same
// call through coturn with relay-only ICE. Media stay on 127.0.0.1 (test/support/browser.ts, newCallPage).
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrolTotp, inviteMember, setupOrganisation, signUpPatient, type Account } from '../support/factories.js';
import { startTestServer, TEST_DB, type TestServer } from '../support/server.js';
import { Browsers, buildWebApp, CHROMIUM, expectAccessible, newCallPage, switchLanguage, logInWithTotp } from '../support/browser.js';
import { startCoturn, TURNSERVER, type Coturn } from '../support/coturn.js';

interface CallStats {
  inboundVideoBytes: number;
  outboundAudioBitrate: number;
  outboundVideoBitrate: number;
  relayed: boolean;
}

const logIn = (server: TestServer, page: Page, account: Account) => logInWithTotp(server, page, account);

const statsOf = (page: Page) => page.evaluate<CallStats | null>('window.ausculta ? window.ausculta.call.stats : null');

/** Waits until the page's call has received video, and returns the figures. */
async function expectVideoFlowing(page: Page, label: string): Promise<CallStats> {
  const deadline = Date.now() + 30_000;
  let first: CallStats | null = null;
  while (Date.now() < deadline) {
    const stats = await statsOf(page);
    if (stats && stats.inboundVideoBytes > 0) {
      if (!first) first = stats;
      else if (stats.inboundVideoBytes > first.inboundVideoBytes) return stats;
    }
    await page.waitForTimeout(500);
  }
  throw new Error(`${label}: no video received (last: ${JSON.stringify(await statsOf(page))})`);
}

async function connectedState(page: Page, ...others: Page[]): Promise<void> {
  try {
    await page.locator('.call-state[data-phase="connected"]').waitFor({ timeout: 30_000 });
  } catch (error) {
    // The negotiation journals of every page say where it stopped.
    const journals = await Promise.all([page, ...others].map((each) => each.evaluate<string[]>('window.ausculta ? window.ausculta.call.journal : []').catch(() => [])));
    throw new Error(`${String(error)}\n${journals.map((journal, index) => `page ${index}:\n  ${journal.join('\n  ')}`).join('\n')}`);
  }
}

interface Cast {
  server: TestServer;
  doctor: Account;
  patient: Account;
}

async function castFor(server: TestServer): Promise<Cast> {
  const admin = await setupOrganisation(server, 'Maison de santé des Tilleuls');
  const doctor = await inviteMember(server, admin, { roles: ['doctor'], rpps: '10003456786', profession: 'Médecin généraliste' });
  await enrolTotp(server, doctor);
  expect((await doctor.client.request('PATCH', '/api/account', { displayName: 'Dr Claire Bernard' })).status).toBe(200);
  const patient = await signUpPatient(server, admin.organisationId);
  await enrolTotp(server, patient);
  return { server, doctor, patient };
}

describe.skipIf(!existsSync(CHROMIUM))('a teleconsultation in two Chromiums', { timeout: 300_000 }, () => {
  const browsers = new Browsers();
  let webDir: string;
  let cast: Cast;

  beforeAll(async () => {
    webDir = await buildWebApp();
    const server = await startTestServer({ WEB_DIR: webDir, SESSION_IDLE_MINUTES: '120' });
    cast = await castFor(server);
  }, 180_000);
  afterAll(async () => {
    await browsers.close();
    await cast?.server.close();
    if (webDir) await rm(webDir, { recursive: true, force: true });
  });

  it('books, waits, is admitted, talks peer to peer, chats, sends a file, hangs up, and reads the report', async () => {
    const { server, doctor, patient } = cast;
    const published = await doctor.client.post('/api/availability', { startsAt: new Date(server.services.now() + 10 * 60_000).toISOString(), durationMinutes: 20, count: 2 });
    expect(published.status, JSON.stringify(published.body)).toBe(201);

    const patientPage = await newCallPage(browsers);
    const doctorPage = await newCallPage(browsers);
    await logIn(server, patientPage, patient);
    await logIn(server, doctorPage, doctor);

    // The patient books on #/rendez-vous, with the care-pathway questions.
    await patientPage.goto(`${server.url}/#/rendez-vous`);
    await patientPage.getByRole('heading', { name: 'Mes rendez-vous', level: 1 }).waitFor();
    await expectAccessible(patientPage, 'appointments (fr)');
    await patientPage.getByLabel('Mon médecin traitant m’a orienté vers ce médecin (ou c’est mon médecin traitant)').check();
    await patientPage.getByLabel('Date de votre dernière consultation au cabinet de ce médecin').fill('2026-09-01');
    await patientPage.getByRole('button', { name: 'Réserver ce créneau' }).click();
    await patientPage.getByText('Rendez-vous réservé.').waitFor();
    const consultationId = (await patient.client.get('/api/me/consultations')).body.consultations[0].id as string;
    const startsAt = async () => (await patient.client.get(`/api/consultations/${consultationId}`)).body.consultation.startsAt as string;
    const firstStart = await startsAt();

    // The patient moves it to the doctor's other slot, from the keyboard.
    await patientPage.getByRole('button', { name: /^Déplacer — / }).focus();
    await patientPage.keyboard.press('Enter');
    await patientPage.getByLabel(/^Nouveau créneau/).waitFor();
    expect(await patientPage.evaluate<string | undefined>('document.activeElement?.tagName')).toBe('SELECT');
    await expectAccessible(patientPage, 'appointments, moving (fr)');
    await patientPage.getByRole('button', { name: 'Déplacer le rendez-vous' }).click();
    await patientPage.getByText('Rendez-vous déplacé.').waitFor();
    expect(await startsAt()).not.toBe(firstStart);

    // The doctor's agenda, live: the patient's arrival shows without reloading.
    await doctorPage.goto(`${server.url}/#/agenda`);
    await doctorPage.getByRole('heading', { name: 'Salle d’attente' }).waitFor();
    await doctorPage.getByText('Personne n’attend.').waitFor();
    await expectAccessible(doctorPage, 'agenda (fr)');
    // The doctor moves it back to the first slot; the patient is told by mail.
    await doctorPage.getByRole('button', { name: /^Déplacer — / }).click();
    await doctorPage.getByRole('button', { name: 'Déplacer le rendez-vous' }).click();
    await doctorPage.getByText('Rendez-vous déplacé.').waitFor();
    expect(await startsAt()).toBe(firstStart);
    await expect.poll(() => server.smtp.mails.some((mail) => mail.to.includes(patient.email.toLowerCase()) && mail.raw.replace(/=\r?\n/g, '').includes('was moved to'))).toBe(true);
    await patientPage.reload();

    await patientPage.getByRole('link', { name: 'Entrer en salle d’attente' }).click();
    await patientPage.getByRole('button', { name: 'Entrer en salle d’attente' }).click();
    await patientPage.getByText('Vous êtes en salle d’attente.').waitFor();
    await expectAccessible(patientPage, 'waiting room (fr)');

    await doctorPage.getByText('Un patient est en salle d’attente.').waitFor({ timeout: 15_000 });
    await doctorPage.getByText('Adressé par le médecin traitant').waitFor();
    await doctorPage.getByRole('button', { name: /^Faire entrer — / }).click();
    await doctorPage.waitForURL(new RegExp(`#/consultations/${consultationId}$`));

    // Both reach ICE connected and receive the other's video.
    await connectedState(doctorPage, patientPage);
    await connectedState(patientPage, doctorPage);
    const doctorStats = await expectVideoFlowing(doctorPage, 'doctor');
    const patientStats = await expectVideoFlowing(patientPage, 'patient');
    expect(doctorStats.relayed).toBe(false);
    expect(patientStats.relayed).toBe(false);
    await expectAccessible(doctorPage, 'call (fr)');

    // Chat.
    await patientPage.getByLabel('Votre message').fill('Bonjour docteur, voici ma prise de sang.');
    await patientPage.getByRole('button', { name: 'Envoyer', exact: true }).click();
    await doctorPage.getByText('Bonjour docteur, voici ma prise de sang.').waitFor({ timeout: 15_000 });

    // A file sent by the patient reaches the doctor unchanged.
    const content = Buffer.concat([Buffer.from('%PDF-1.4\n% résultat de prise de sang\n'), randomBytes(200_000), Buffer.from('\n%%EOF\n')]);
    await patientPage.getByLabel('Envoyer un document (PDF, image, texte ; 25 Mo au plus)').setInputFiles({ name: 'prise-de-sang.pdf', mimeType: 'application/pdf', buffer: content });
    await patientPage.getByRole('button', { name: 'Envoyer le document' }).click();
    await patientPage.getByText('Document envoyé.').waitFor();
    const link = doctorPage.getByRole('link', { name: 'Télécharger prise-de-sang.pdf' });
    await link.waitFor({ timeout: 15_000 });
    const [download] = await Promise.all([doctorPage.waitForEvent('download'), link.click()]);
    const downloaded = await readFile((await download.path())!);
    expect(downloaded.equals(content)).toBe(true);

    // Audio-only mode for a weak link: no video either way, speech under 40 kbit/s.
    await patientPage.getByRole('button', { name: 'Audio seul (faible débit)' }).click();
    await patientPage.getByText('Mode audio seul').waitFor();
    await doctorPage.getByText('Mode audio seul').waitFor({ timeout: 10_000 });
    await patientPage.waitForTimeout(6_000);
    const audioOnly = (await statsOf(patientPage))!;
    expect(audioOnly.outboundAudioBitrate).toBeGreaterThan(0);
    expect(audioOnly.outboundAudioBitrate + audioOnly.outboundVideoBitrate).toBeLessThanOrEqual(40_000);
    await patientPage.getByRole('button', { name: 'Audio seul (faible débit)' }).click();

    // The call page's weight (JS, CSS, fonts, images) transferred by the browser.
    const weight = await patientPage.evaluate<number>(`performance.getEntriesByType('resource').concat(performance.getEntriesByType('navigation'))
      .filter((entry) => !entry.name.includes('/api/'))
      .reduce((sum, entry) => sum + (entry.transferSize || entry.encodedBodySize || 0), 0)`);
    console.log(`call page transferred weight: ${(weight / 1024).toFixed(1)} KB (goal < 580 KB)`);
    expect(weight).toBeGreaterThan(0);
    expect(weight).toBeLessThan(580 * 1024);

    // Hang up: ended on both sides.
    await doctorPage.getByRole('button', { name: 'Raccrocher' }).click();
    await doctorPage.getByRole('heading', { name: 'Compte rendu', exact: true }).waitFor({ timeout: 15_000 });
    await patientPage.getByRole('heading', { name: 'Compte rendu', exact: true }).waitFor({ timeout: 15_000 });
    await patientPage.getByText('Pas encore de compte rendu').waitFor();
    const ended = (await patient.client.get(`/api/consultations/${consultationId}`)).body.consultation;
    expect(ended.status).toBe('ended');

    // The doctor writes the report (its two required sections), signs it after confirming; the patient,
    // still on the page, reads it without reloading (live event).
    await doctorPage.getByRole('heading', { name: 'Rédiger le compte rendu' }).waitFor();
    await doctorPage.getByLabel('Motif de la consultation').fill('Résultats de la prise de sang.');
    await doctorPage.getByLabel('Conclusion').fill('Bilan sanguin normal.\nContrôle dans un an.');
    await doctorPage.getByRole('button', { name: 'Signer et transmettre' }).click();
    await doctorPage.getByRole('button', { name: 'Confirmer la signature' }).click();
    await doctorPage.getByText('Compte rendu signé (version 1) et transmis au patient et à son médecin traitant.').waitFor();
    await doctorPage.getByRole('heading', { name: /^Version 1 En vigueur$/ }).waitFor();
    await expectAccessible(doctorPage, 'report (fr)');
    await patientPage.getByText('Contrôle dans un an.').waitFor({ timeout: 15_000 });
    await patientPage.getByRole('link', { name: /^Télécharger le compte rendu \(PDF\)/ }).waitFor();
    await switchLanguage(patientPage, 'en');
    await patientPage.getByRole('heading', { name: 'Report', exact: true }).waitFor();
    await patientPage.getByRole('heading', { name: /^Version 1 Current$/ }).waitFor();
    await expectAccessible(patientPage, 'report (en)');
  });
});

describe.skipIf(!existsSync(CHROMIUM) || !existsSync(TURNSERVER))('the same call through a coturn relay (relay-only ICE)', { timeout: 240_000 }, () => {
  const browsers = new Browsers();
  let webDir: string;
  let coturn: Coturn;
  let cast: Cast;

  beforeAll(async () => {
    coturn = await startCoturn();
    webDir = await buildWebApp();
    const server = await startTestServer({ WEB_DIR: webDir, SESSION_IDLE_MINUTES: '120', TURN_URLS: coturn.url, TURN_SECRET: coturn.secret, ICE_TRANSPORT_POLICY: 'relay' });
    cast = await castFor(server);
  }, 180_000);
  afterAll(async () => {
    await browsers.close();
    await cast?.server.close();
    await coturn?.stop();
    if (webDir) await rm(webDir, { recursive: true, force: true });
  });

  it('both sides connect through relayed candidates and receive video', async () => {
    const { server, doctor, patient } = cast;
    const published = await doctor.client.post('/api/availability', { startsAt: new Date(server.services.now() + 10 * 60_000).toISOString(), durationMinutes: 20 });
    const booked = await patient.client.post('/api/consultations', { slotId: published.body.ids[0], pathway: { role: 'referred' } });
    expect(booked.status, JSON.stringify(booked.body)).toBe(201);
    const id = booked.body.id as string;

    const patientPage = await newCallPage(browsers);
    const doctorPage = await newCallPage(browsers);
    await logIn(server, patientPage, patient);
    await logIn(server, doctorPage, doctor);
    await patientPage.goto(`${server.url}/#/consultations/${id}`);
    await patientPage.getByRole('button', { name: 'Entrer en salle d’attente' }).click();
    await patientPage.getByText('Vous êtes en salle d’attente.').waitFor();
    await doctorPage.goto(`${server.url}/#/consultations/${id}`);
    await doctorPage.getByRole('button', { name: 'Faire entrer le patient' }).click();

    try {
      await connectedState(doctorPage, patientPage);
      await connectedState(patientPage, doctorPage);
    } catch (error) {
      throw new Error(`${String(error)}\ncoturn:\n${await coturn.logTail()}`);
    }
    const doctorStats = await expectVideoFlowing(doctorPage, 'doctor (relay)');
    const patientStats = await expectVideoFlowing(patientPage, 'patient (relay)');
    expect(doctorStats.relayed).toBe(true);
    expect(patientStats.relayed).toBe(true);
    await patientPage.getByText('via relais TURN').waitFor();

    await patientPage.getByRole('button', { name: 'Raccrocher' }).click();
    await doctorPage.getByRole('heading', { name: 'Compte rendu', exact: true }).waitFor({ timeout: 15_000 });
  });
});

describe.skipIf(!existsSync(CHROMIUM) || TEST_DB !== 'postgres')('the same call with doctor and patient on two server processes sharing Redis', { timeout: 240_000 }, () => {
  // Two servers on one PostgreSQL schema, like two processes behind a load balancer; signaling between
  // them goes through Redis pub/sub. (PGlite in memory belongs to one process: PostgreSQL runs only.)
  const browsers = new Browsers();
  let webDir: string;
  let cast: Cast;
  let second: TestServer;

  beforeAll(async () => {
    webDir = await buildWebApp();
    const env = { WEB_DIR: webDir, SESSION_IDLE_MINUTES: '120', REDIS_URL: 'redis://127.0.0.1:6379', REDIS_CHANNEL_PREFIX: `ausculta-test-${randomBytes(4).toString('hex')}:` };
    const first = await startTestServer(env);
    second = await startTestServer(env, { shareWith: first });
    cast = await castFor(first);
  }, 180_000);
  afterAll(async () => {
    await browsers.close();
    await second?.close();
    await cast?.server.close();
    if (webDir) await rm(webDir, { recursive: true, force: true });
  });

  it('the doctor on one process admits the patient on the other, and both receive video', async () => {
    const { server, doctor, patient } = cast;
    const published = await doctor.client.post('/api/availability', { startsAt: new Date(server.services.now() + 10 * 60_000).toISOString(), durationMinutes: 20 });
    const booked = await patient.client.post('/api/consultations', { slotId: published.body.ids[0], pathway: { role: 'referred' } });
    expect(booked.status, JSON.stringify(booked.body)).toBe(201);
    const id = booked.body.id as string;

    const patientPage = await newCallPage(browsers);
    const doctorPage = await newCallPage(browsers);
    await logIn(second, patientPage, patient);
    await logIn(server, doctorPage, doctor);
    await patientPage.goto(`${second.url}/#/consultations/${id}`);
    await patientPage.getByRole('button', { name: 'Entrer en salle d’attente' }).click();
    await patientPage.getByText('Vous êtes en salle d’attente.').waitFor();
    // The doctor's agenda, on the other process, hears of it through Redis.
    await doctorPage.goto(`${server.url}/#/agenda`);
    await doctorPage.getByRole('heading', { name: 'Salle d’attente' }).waitFor();
    await doctorPage.getByRole('button', { name: /^Faire entrer — / }).click();

    await connectedState(doctorPage, patientPage);
    await connectedState(patientPage, doctorPage);
    await expectVideoFlowing(doctorPage, 'doctor (process A)');
    await expectVideoFlowing(patientPage, 'patient (process B)');
    await doctorPage.getByRole('button', { name: 'Raccrocher' }).click();
    await patientPage.getByRole('heading', { name: 'Compte rendu', exact: true }).waitFor({ timeout: 15_000 });
  });
});
