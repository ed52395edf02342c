// timeout-seconds: 900
// call-setup: how long a patient waits between the doctor's "let in" and a working call. Two headless
// Chromiums (fake camera and microphone) on the real server and web app; for each of N calls, the
// patient is in the waiting room, the doctor clicks "Faire entrer le patient", and the time runs until
// both RTCPeerConnections are "connected". Direct (loopback candidates only) against the goal of 1 s
// median; then the same through a coturn relay with relay-only ICE, against the direct median as its
// baseline (goal: within 1.5×). Traffic stays on 127.0.0.1. PGlite only: the database is not what is
// measured here.
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { Browsers, buildWebApp, CHROMIUM, newCallPage, logInWithTotp } from '../test/support/browser.js';
import { startCoturn, TURNSERVER } from '../test/support/coturn.js';
import { enrolTotp, inviteMember, setupOrganisation, signUpPatient, type Account } from '../test/support/factories.js';
import { startTestServer, type TestServer } from '../test/support/server.js';
import { report } from './report.js';

const CALLS = Number(process.env['CALL_SETUP_CALLS'] ?? 20);

if (!existsSync(CHROMIUM)) {
  console.warn(`call-setup: skipped, no Chromium at ${CHROMIUM}`);
  process.exit(0);
}

const logIn = (server: TestServer, page: Page, account: Account) => logInWithTotp(server, page, account);

const connectedAt = (page: Page) => page.evaluate<number | null>('window.ausculta && window.ausculta.call.connectedAt');

async function waitConnected(page: Page): Promise<number> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const at = await connectedAt(page);
    if (at) return at;
    await page.waitForTimeout(20);
  }
  throw new Error('call did not connect within 30 s');
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** N calls between one doctor and one patient; returns each admit → both-connected time in ms. */
async function measureCalls(webDir: string, env: Record<string, string>, label: string): Promise<number[]> {
  const server = await startTestServer({ WEB_DIR: webDir, SESSION_IDLE_MINUTES: '240', ...env });
  const browsers = new Browsers();
  try {
    const admin = await setupOrganisation(server, 'Centre de banc d’essai');
    const doctor = await inviteMember(server, admin, { roles: ['doctor'], rpps: '10003456786', profession: 'Médecin' });
    await enrolTotp(server, doctor);
    const patient = await signUpPatient(server, admin.organisationId);
    await enrolTotp(server, patient);
    const patientPage = await newCallPage(browsers);
    const doctorPage = await newCallPage(browsers);
    await logIn(server, patientPage, patient);
    await logIn(server, doctorPage, doctor);
    const slots = await doctor.client.post('/api/availability', { startsAt: new Date(server.services.now() + 5 * 60_000).toISOString(), durationMinutes: 5, count: CALLS + 1 });
    if (slots.status !== 201) throw new Error(JSON.stringify(slots.body));
    const times: number[] = [];
    // The first call warms up the browsers and the server; it is not counted.
    for (let call = 0; call <= CALLS; call += 1) {
      const booked = await patient.client.post('/api/consultations', { slotId: slots.body.ids[call], pathway: { role: 'referred' } });
      if (booked.status !== 201) throw new Error(JSON.stringify(booked.body));
      const id = booked.body.id as string;
      await patientPage.goto(`${server.url}/#/consultations/${id}`);
      await patientPage.getByRole('button', { name: 'Entrer en salle d’attente' }).click().catch(async (error: unknown) => {
        throw new Error(`call ${call}: ${String(error)}\n${await patientPage.locator('main').innerText().catch(() => '')}`);
      });
      await patientPage.getByText('Vous êtes en salle d’attente.').waitFor();
      await doctorPage.goto(`${server.url}/#/consultations/${id}`);
      // Both sockets open and the patient's camera running: what remains is admission and ICE.
      await doctorPage.locator('.call-state[data-phase="waiting"]').waitFor();
      await doctorPage.getByText(/^Le patient attend depuis/).waitFor();
      await patientPage.locator('.call-state[data-phase="waiting"]').waitFor();
      const admittedAt = Date.now();
      await doctorPage.getByRole('button', { name: 'Faire entrer le patient' }).click();
      const both = Math.max(await waitConnected(doctorPage), await waitConnected(patientPage));
      if (call > 0) times.push(both - admittedAt);
      await doctor.client.post(`/api/consultations/${id}/end`, {});
      await doctorPage.getByRole('heading', { name: 'Compte rendu' }).waitFor();
      // The next slot starts 5 minutes later; the waiting room opens only 30 minutes before a slot.
      server.advanceClock(5 * 60_000);
    }
    console.log(`  ${label}: ${times.map((ms) => ms.toFixed(0)).join(' ')} ms`);
    return times;
  } finally {
    await browsers.close();
    await server.close();
  }
}

console.log(`call-setup: ${CALLS} calls each, admit → both peers "connected", two headless Chromiums on 127.0.0.1`);
const webDir = await buildWebApp();
const direct = median(await measureCalls(webDir, {}, 'direct'));
report({
  name: 'call-setup-direct',
  value: Math.round(direct),
  unit: 'ms (median)',
  baseline: 'goal: 1000 ms',
  baselineValue: 1000,
  goal: { on: 'value', op: '<', target: 1000 },
  database: 'pglite',
});

if (existsSync(TURNSERVER)) {
  const coturn = await startCoturn();
  try {
    const relayed = median(await measureCalls(webDir, { TURN_URLS: coturn.url, TURN_SECRET: coturn.secret, ICE_TRANSPORT_POLICY: 'relay' }, 'relay-only'));
    report({
      name: 'call-setup-relay',
      value: Math.round(relayed),
      unit: 'ms (median)',
      baseline: 'call-setup-direct median (ms)',
      baselineValue: Math.round(direct),
      goal: { on: 'ratio', op: '<=', target: 1.5 },
      database: 'pglite',
    });
  } finally {
    await coturn.stop();
  }
} else {
  console.warn('call-setup-relay: skipped, coturn (turnserver) is not installed');
}
await rm(webDir, { recursive: true, force: true });
