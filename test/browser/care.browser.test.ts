// The care pages in a real Chromium against the real server: a patient declares their attending doctor on
// #/equipe; the doctor sees the patient in #/patients and opens their page; a second doctor without
// relationship breaks the glass; the patient sees that emergency access; the security officer sees the
// incident on #/audit and closes it. axe-core (WCAG 2.1 A/AA) on every new page, in French and English.
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrolTotp, inviteMember, setupOrganisation, signUpPatient, totpCode, type Account } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { Browsers, buildWebApp, CHROMIUM, expectAccessible, switchLanguage } from '../support/browser.js';

const ORGANISATION = 'Centre de santé Ausculta';
const REASON = 'Patiente inconsciente, appel du SAMU : allergies et traitements en cours';

let server: TestServer;
let webDir: string;
const browsers = new Browsers();
let officer: Account & { organisationId: string };
let patient: Account;
let doctor: Account;
let emergencyDoctor: Account;
let patientPage: Page;

async function newPage(): Promise<Page> {
  return (await browsers.newPage()).page;
}

async function open(page: Page, route: string): Promise<void> {
  await page.goto(`${server.url}/#${route}`);
  await page.locator('h1').first().waitFor();
}

/** Checks the current page in French, then in English (once its heading is translated), back in French. */
async function expectAccessibleInBothLanguages(page: Page, label: string, englishHeading: string | RegExp): Promise<void> {
  await expectAccessible(page, `${label} (fr)`);
  await switchLanguage(page, 'en');
  await page.getByRole('heading', { name: englishHeading, level: 1 }).waitFor();
  await expectAccessible(page, `${label} (en)`);
  await switchLanguage(page, 'fr');
}

/** A TOTP code at the server's clock, one time step later than any code used before. */
function nextTotp(secret: string): string {
  server.advanceClock(30_000);
  return totpCode(secret, server.services.now());
}

async function logInInBrowser(account: Account): Promise<Page> {
  const page = await newPage();
  await open(page, '/connexion');
  await page.getByLabel('Adresse e-mail').fill(account.email);
  await page.getByLabel('Mot de passe', { exact: true }).fill(account.password);
  await page.getByRole('button', { name: 'Se connecter', exact: true }).click();
  await page.getByLabel('Code de votre application d’authentification').fill(nextTotp(account.totpSecret ?? ''));
  await page.getByRole('button', { name: 'Vérifier' }).click();
  await page.waitForURL(/#\/accueil$/);
  await page.getByRole('heading', { level: 1 }).waitFor();
  return page;
}

async function rename(account: Account, displayName: string): Promise<void> {
  const renamed = await account.client.request('PATCH', '/api/account', { displayName });
  expect(renamed.status, JSON.stringify(renamed.body)).toBe(200);
}

describe.skipIf(!existsSync(CHROMIUM))('care pages in Chromium', { timeout: 240_000 }, () => {
  beforeAll(async () => {
    webDir = await buildWebApp();
    server = await startTestServer({ WEB_DIR: webDir });
    officer = await setupOrganisation(server, ORGANISATION);
    const granted = await officer.client.put(`/api/admin/organisations/${officer.organisationId}/members/${officer.userId}/roles`, { roles: ['org_admin', 'security_officer'] });
    expect(granted.status, JSON.stringify(granted.body)).toBe(200);

    doctor = await inviteMember(server, officer, { roles: ['doctor'], rpps: '10003456786' });
    await enrolTotp(server, doctor);
    await rename(doctor, 'Dr Alice Bernard');
    emergencyDoctor = await inviteMember(server, officer, { roles: ['doctor'], rpps: '10000000124' });
    server.advanceClock(30_000);
    await enrolTotp(server, emergencyDoctor);
    await rename(emergencyDoctor, 'Dr Marc Urgence');
    patient = await signUpPatient(server, officer.organisationId);
    server.advanceClock(30_000);
    await enrolTotp(server, patient);
  }, 180_000);

  afterAll(async () => {
    await browsers.close();
    await server?.close();
    if (webDir) await rm(webDir, { recursive: true, force: true });
  });

  it('a patient declares their attending doctor, adds then removes a care-team member', async () => {
    const page = await logInInBrowser(patient);
    patientPage = page;
    await page.getByRole('link', { name: 'Gérer mon équipe de soins' }).click();
    await page.waitForURL(/#\/equipe$/);
    await page.getByRole('heading', { name: 'Mon équipe de soins', level: 1 }).waitFor();
    await page.getByText('Aucune relation de soins pour le moment.').waitFor();
    await page.getByText('Aucun accès en urgence à votre dossier.').waitFor();
    await expectAccessibleInBothLanguages(page, 'care team, empty', 'My care team');

    await page.getByLabel('Médecin traitant', { exact: true }).selectOption(doctor.userId);
    await page.getByRole('button', { name: 'Déclarer comme médecin traitant' }).click();
    await page.getByText('Médecin traitant déclaré.').waitFor();
    const relationships = page.getByTestId('relationships');
    await expect.poll(() => relationships.textContent()).toContain('Médecin traitant : Dr Alice Bernard');
    expect(await relationships.textContent()).toContain('En cours');

    // A care-team member, added then removed through the inline confirmation (keyboard only).
    await page.getByLabel('Professionnel', { exact: true }).selectOption(emergencyDoctor.userId);
    await page.getByRole('button', { name: 'Ajouter à mon équipe' }).click();
    await page.getByText('Professionnel ajouté à votre équipe de soins.').waitFor();
    await page.getByRole('button', { name: 'Mettre fin à la relation avec Dr Marc Urgence' }).focus();
    await page.keyboard.press('Enter');
    const confirm = page.getByRole('group', { name: /^Mettre fin à la relation avec Dr Marc Urgence \?/ });
    await confirm.waitFor();
    await expectAccessible(page, 'care team, confirmation (fr)');
    await expect.poll(() => page.evaluate('document.activeElement?.textContent')).toBe('Confirmer');
    await page.keyboard.press('Enter');
    await page.getByText('Relation terminée.').waitFor();
    await expect.poll(() => relationships.locator('li').filter({ hasText: 'Dr Marc Urgence' }).textContent()).toContain('Terminée');
    expect(await relationships.locator('li').filter({ hasText: 'Dr Alice Bernard' }).textContent()).toContain('En cours');
    await expectAccessibleInBothLanguages(page, 'care team, with relationships', 'My care team');
  });

  it('the attending doctor sees the patient in their list and opens the patient page', async () => {
    const page = await logInInBrowser(doctor);
    await page.getByRole('link', { name: 'Voir mes patients' }).click();
    await page.waitForURL(/#\/patients$/);
    await page.getByRole('heading', { name: 'Mes patients', level: 1 }).waitFor();
    const row = page.locator('table.data tbody tr').filter({ hasText: 'Jeanne Martin' });
    await row.waitFor();
    expect(await row.textContent()).toContain('Médecin traitant');
    expect(await row.textContent()).toContain('17 mai 1980');
    // The search: accents and case aside, by name or date of birth; the count is announced.
    const search = page.getByLabel('Rechercher un patient');
    const status = page.getByRole('status').filter({ hasText: /patient/ });
    await expect.poll(() => status.textContent()).toBe('1 patient.');
    await search.fill('zzz');
    await expect.poll(() => status.textContent()).toBe('Aucun patient ne correspond à cette recherche.');
    expect(await page.locator('table.data').count()).toBe(0);
    await search.fill('MARTÍN jeanne');
    await row.waitFor();
    await search.fill('17/05/1980');
    await row.waitFor();
    await search.fill('');
    await expectAccessibleInBothLanguages(page, 'my patients', 'My patients');

    await row.getByRole('link', { name: 'Ouvrir le dossier de Jeanne Martin' }).click();
    await page.waitForURL(new RegExp(`#/patients/${patient.userId}$`));
    await page.getByRole('heading', { name: 'Jeanne Martin', level: 1 }).waitFor();
    await page.getByText('Jeanne Louise').waitFor();
    expect(await page.getByTestId('ins-status').textContent()).toBe('Identité provisoire');
    await page.getByText('Médecin traitant — finalité : Soins').waitFor();
    await page.getByRole('heading', { name: 'Ajouter un membre à l’équipe de soins' }).waitFor();
    // Chosen by name among the organisation's professionals, never by typing an identifier; not oneself.
    const choices = page.getByLabel('Professionnel', { exact: true });
    await choices.locator(`option[value="${emergencyDoctor.userId}"]`).waitFor({ state: 'attached' });
    expect(await choices.locator(`option[value="${doctor.userId}"]`).count()).toBe(0);
    await page.getByRole('button', { name: 'Ajouter', exact: true }).click();
    await page.getByRole('alert').getByText('Choisissez un professionnel.').waitFor();
    expect(await choices.getAttribute('aria-invalid')).toBe('true');
    await expectAccessibleInBothLanguages(page, 'patient page', 'Jeanne Martin');

    // Nav link back to the list.
    await page.getByRole('navigation').getByRole('link', { name: 'Mes patients' }).click();
    await page.waitForURL(/#\/patients$/);
  });

  it('a doctor without relationship breaks the glass and reads the patient page', async () => {
    const page = await logInInBrowser(emergencyDoctor);
    await page.getByRole('navigation').getByRole('link', { name: 'Mes patients' }).click();
    await page.waitForURL(/#\/patients$/);
    await page.getByText('Aucun patient pour le moment.').waitFor();
    await page.getByText(/tracé dans le journal d’audit, montré au patient avec votre motif, et examiné par le responsable de la sécurité/).waitFor();

    // Validation first: no request with a short reason.
    await page.getByLabel('Identifiant du patient').fill(patient.userId);
    await page.getByLabel('Motif de l’urgence').fill('urgent');
    await page.getByRole('button', { name: 'Ouvrir l’accès en urgence' }).click();
    await page.getByRole('alert').getByText('Expliquez l’urgence en 10 à 500 caractères.').waitFor();
    expect(await page.getByLabel('Motif de l’urgence').getAttribute('aria-invalid')).toBe('true');
    await expectAccessibleInBothLanguages(page, 'my patients with break-the-glass errors', 'My patients');

    await page.getByLabel('Motif de l’urgence').fill(REASON);
    await page.getByRole('button', { name: 'Ouvrir l’accès en urgence' }).click();
    await page.waitForURL(new RegExp(`#/patients/${patient.userId}\\?purpose=emergency$`));
    await page.getByRole('heading', { name: 'Jeanne Martin', level: 1 }).waitFor();
    await page.getByText('Accès en urgence ouvert pour 30 minutes.').waitFor();
    await page.getByText(/^⚠ Accès en urgence \(bris de glace\) : cet accès est tracé/).waitFor();
    await page.getByText('Accès d’urgence — finalité : Urgence').waitFor();
    await page.getByText('Jeanne Louise').waitFor();
    expect(await page.getByRole('heading', { name: 'Ajouter un membre à l’équipe de soins' }).count()).toBe(0);
    await expectAccessibleInBothLanguages(page, 'patient page in emergency', 'Jeanne Martin');
  });

  it('the patient sees the emergency access, with its reason, on their care team page', async () => {
    const page = patientPage;
    await open(page, '/equipe');
    await page.reload();
    await page.getByRole('heading', { name: 'Mon équipe de soins', level: 1 }).waitFor();
    const access = page.getByTestId('emergency-access');
    await access.waitFor();
    expect(await access.textContent()).toContain('Dr Marc Urgence');
    expect(await access.textContent()).toContain(REASON);
    expect(await access.textContent()).toContain('Accès en cours');
    await page.getByRole('heading', { name: /Accès en urgence \(bris de glace\)/, level: 2 }).waitFor();
    await expectAccessibleInBothLanguages(page, 'care team with an emergency access', 'My care team');
  });

  it('the security officer sees the break-the-glass incident on #/audit, acknowledges, comments and closes it', async () => {
    const page = await logInInBrowser(officer);
    await page.getByRole('navigation').getByRole('link', { name: 'Journal d’audit' }).click();
    await page.waitForURL(/#\/audit$/);
    await page.getByRole('heading', { name: 'Incidents', level: 2 }).waitFor();
    const incident = page.getByTestId('incident').filter({ hasText: 'Accès en urgence (bris de glace)' });
    await incident.waitFor();
    expect(await incident.textContent()).toContain('Ouvert');
    expect(await incident.textContent()).toContain(emergencyDoctor.userId);
    expect(await incident.textContent()).toContain(patient.userId);
    await expectAccessibleInBothLanguages(page, 'audit with incidents', 'Audit log');

    await incident.getByRole('button', { name: 'Prendre en compte' }).click();
    await page.getByText('Incident mis à jour.').waitFor();
    await expect.poll(() => incident.locator('h3').textContent()).toContain('Pris en compte');

    await incident.getByLabel('Note').fill('Appel du SAMU confirmé avec la régulation.');
    await incident.getByRole('button', { name: 'Commenter' }).click();
    await incident.getByText(/Commentaire : Appel du SAMU confirmé avec la régulation\./).waitFor();

    await incident.getByLabel('Note').fill('Accès justifié.');
    await incident.getByRole('button', { name: 'Clore' }).click();
    await expect.poll(() => incident.locator('h3').textContent()).toContain('Clos');
    await incident.getByText(/Clôture : Accès justifié\./).waitFor();
    await incident.getByRole('button', { name: 'Rouvrir' }).waitFor();
    await expectAccessibleInBothLanguages(page, 'audit with a closed incident', 'Audit log');

    const incidents = (await officer.client.get('/api/incidents')).body as Array<{ kind: string; status: string; patientId: string }>;
    expect(incidents.find((i) => i.kind === 'break_the_glass' && i.patientId === patient.userId)?.status).toBe('closed');
  });
});
