// Teleconsultation reports in a real Chromium against the real server. After an ended consultation
// (written straight into the database), the doctor writes the six sections with the keyboard, saves the
// draft, tries to sign without a conclusion (the refusal is shown and takes the focus), fills it, and
// signs after an explicit confirmation (Escape cancels it first). The patient reads the signed version on
// the consultation's page and on #/comptes-rendus, and downloads its PDF (its text holds the sections).
// The patient's attending doctor finds it under "Comptes rendus reçus" on their home. The doctor corrects
// it from the keyboard (a first correction, saved, is discarded): version 2 replaces version 1, live for
// the patient and the attending doctor, and on a professional's page of the patient (also after breaking
// the glass). axe-core (WCAG 2.1 A/AA) on each page, in French and in English.
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { textOfPdf } from '../support/codes.js';
import { careSetting, insertConsultation, type CareSetting } from '../support/consultations.js';
import { enrolTotp, inviteMember, type Account } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { Browsers, buildWebApp, CHROMIUM, expectAccessible, switchLanguage, logInWithTotp } from '../support/browser.js';

const PDFTOTEXT = '/usr/bin/pdftotext';
const DOCTOR_NAME = 'Dr Claire Bernard';
const ATTENDING_NAME = 'Dr Paul Durand';

const SECTIONS = {
  reason: 'Éruption cutanée des avant-bras depuis 3 jours.',
  history: 'Pas d’antécédent notable.\nNouveau savon depuis une semaine.',
  findings: 'Plaques érythémateuses prurigineuses, pas de fièvre (37,1 °C).',
  conclusion: 'Eczéma de contact probable.',
  plan: 'Dermocorticoïde 7 jours ; éviction du savon.',
  followUp: 'Revoir si pas d’amélioration à J10.',
};
const PLAN_V2 = 'Dermocorticoïde 10 jours ; émollient matin et soir.';

let server: TestServer;
let webDir: string;
let setting: CareSetting;
let attending: Account;
let consultationId: string;
const browsers = new Browsers();

const logIn = (page: Page, account: Account) => logInWithTotp(server, page, account);

const activeText = (page: Page) => page.evaluate(() => (globalThis as any).document.activeElement?.textContent as string | undefined);
const activeLabel = (page: Page) => page.evaluate(() => (globalThis as any).document.activeElement?.labels?.[0]?.textContent as string | undefined);

type Version = { id: string; version: number; status: string; sections: typeof SECTIONS; replaces: { version: number } | null; replacedBy: { version: number } | null };
const versionsOf = async (account: Account) => (await account.client.get(`/api/consultations/${consultationId}/reports`)).body.reports as Version[];

/** Types `text` into the focused field, then Tab: the focus must then be on the field labelled `next`. */
async function typeThenTab(page: Page, text: string, next: string): Promise<void> {
  if (text) await page.keyboard.type(text);
  await page.keyboard.press('Tab');
  expect(await activeLabel(page)).toBe(next);
}

async function downloadPdf(page: Page, name: RegExp): Promise<{ fileName: string; text: string }> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name }).first().click()]);
  const failure = await download.failure();
  if (failure) throw new Error(`the PDF download failed: ${failure}`);
  const pdf = await readFile((await download.path())!);
  expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
  return { fileName: download.suggestedFilename(), text: await textOfPdf(pdf) };
}

describe.skipIf(!existsSync(CHROMIUM) || !existsSync(PDFTOTEXT))('teleconsultation reports in Chromium', { timeout: 240_000 }, () => {
  let doctorPage: Page;
  let patientPage: Page;
  let attendingPage: Page;

  beforeAll(async () => {
    webDir = await buildWebApp();
    server = await startTestServer({ WEB_DIR: webDir, SESSION_IDLE_MINUTES: '120' });
    setting = await careSetting(server);
    expect((await setting.doctor.client.request('PATCH', '/api/account', { displayName: DOCTOR_NAME })).status).toBe(200);
    // The patient's attending doctor (médecin traitant): another doctor of the organisation.
    attending = await inviteMember(server, setting.admin, { roles: ['doctor'], rpps: '10000000124', profession: 'médecin généraliste' });
    await enrolTotp(server, attending);
    expect((await attending.client.request('PATCH', '/api/account', { displayName: ATTENDING_NAME })).status).toBe(200);
    expect((await setting.patient.client.post('/api/me/attending-doctor', { professionalId: attending.userId })).status).toBe(201);
    // An ended consultation: it started 40 minutes ago and ended 15 minutes ago.
    consultationId = await insertConsultation(server, setting, { status: 'ended', startsInMs: -40 * 60_000, durationMs: 20 * 60_000 });
    await server.services.db
      .updateTable('consultations')
      .set({ admitted_at: new Date(server.services.now() - 38 * 60_000), ended_at: new Date(server.services.now() - 15 * 60_000), duration_seconds: 23 * 60 })
      .where('id', '=', consultationId)
      .execute();
  }, 180_000);

  afterAll(async () => {
    await browsers.close();
    await server?.close();
    if (webDir) await rm(webDir, { recursive: true, force: true });
  });

  it('the doctor writes the report with the keyboard, is told the conclusion is missing, and signs after confirming', async () => {
    doctorPage = (await browsers.newPage()).page;
    const page = doctorPage;
    await logIn(page, setting.doctor);
    await page.goto(`${server.url}/#/consultations/${consultationId}`);
    await page.getByRole('heading', { name: 'Compte rendu', exact: true, level: 2 }).waitFor();
    await page.getByRole('heading', { name: 'Rédiger le compte rendu', level: 3 }).waitFor();
    await page.getByText('Pas encore enregistré.').waitFor();
    // No discarding what was never saved.
    expect(await page.getByRole('button', { name: 'Abandonner le brouillon' }).count()).toBe(0);
    await expectAccessible(page, 'report form, empty (fr)');

    // Six sections in order; the conclusion left empty for now.
    await page.getByLabel('Motif de la consultation').focus();
    await typeThenTab(page, SECTIONS.reason, 'Histoire de la maladie et antécédents');
    await typeThenTab(page, SECTIONS.history, 'Examen et constatations');
    await typeThenTab(page, SECTIONS.findings, 'Conclusion');
    await typeThenTab(page, '', 'Conduite à tenir');
    await typeThenTab(page, SECTIONS.plan, 'Suivi et consignes');
    await page.keyboard.type(SECTIONS.followUp);
    await page.keyboard.press('Tab');
    expect(await activeText(page)).toBe('Enregistrer le brouillon');
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: 'Brouillon de la version 1 enregistré.' }).waitFor();
    await page.getByText(/^Brouillon enregistré le /).waitFor();
    await page.getByRole('heading', { name: 'Brouillon de la version 1', level: 3 }).waitFor();
    let versions = await versionsOf(setting.doctor);
    expect(versions).toHaveLength(1);
    expect(versions[0]).toMatchObject({ version: 1, status: 'draft', sections: { ...SECTIONS, conclusion: '' } });
    expect(await versionsOf(setting.patient)).toEqual([]);

    // Signing without a conclusion: refused before any confirmation, the message takes the focus.
    await page.keyboard.press('Tab');
    expect(await activeText(page)).toBe('Signer et transmettre');
    await page.keyboard.press('Enter');
    const alert = page.getByRole('alert').filter({ hasText: 'À remplir avant de signer : Conclusion.' });
    await alert.waitFor();
    await expect.poll(() => alert.evaluate((element) => element.parentElement === (globalThis as any).document.activeElement)).toBe(true);
    expect(await page.getByLabel('Conclusion').getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByRole('button', { name: 'Confirmer la signature' }).count()).toBe(0);
    await expectAccessible(page, 'report form, conclusion missing (fr)');

    // From the message, Tab reaches the fields again; the conclusion, filled, is no longer flagged.
    await page.keyboard.press('Tab');
    expect(await activeLabel(page)).toBe('Motif de la consultation');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    expect(await activeLabel(page)).toBe('Conclusion');
    await page.keyboard.type(SECTIONS.conclusion);
    expect(await page.getByLabel('Conclusion').getAttribute('aria-invalid')).toBeNull();
    for (let stops = 0; stops < 6 && (await activeText(page)) !== 'Signer et transmettre'; stops++) await page.keyboard.press('Tab');
    expect(await activeText(page)).toBe('Signer et transmettre');

    // The confirmation takes the focus; Escape cancels it and gives the focus back.
    await page.keyboard.press('Enter');
    const question = 'Signer la version 1 du compte rendu ?';
    await page.getByRole('group', { name: question }).waitFor();
    await expect.poll(() => activeText(page)).toBe(question);
    await page.getByText('Le patient et son médecin traitant recevront le compte rendu.').waitFor();
    await expectAccessible(page, 'report, signing confirmation (fr)');
    await page.keyboard.press('Escape');
    await page.getByRole('group', { name: question }).waitFor({ state: 'detached' });
    await expect.poll(() => activeText(page)).toBe('Signer et transmettre');
    expect((await versionsOf(setting.doctor))[0]!.status).toBe('draft');

    await page.keyboard.press('Enter');
    await expect.poll(() => activeText(page)).toBe(question);
    await page.keyboard.press('Tab');
    expect(await activeText(page)).toBe('Confirmer la signature');
    await page.keyboard.press('Enter');

    await page.getByRole('status').filter({ hasText: 'Compte rendu signé (version 1) et transmis au patient et à son médecin traitant.' }).waitFor();
    const current = page.getByRole('heading', { name: /^Version 1 En vigueur$/, level: 3 });
    await current.waitFor();
    await expect.poll(() => current.evaluate((element) => element === (globalThis as any).document.activeElement)).toBe(true);
    // Read-only now: no form, a "correct" button, the PDF.
    expect(await page.getByRole('button', { name: 'Signer et transmettre' }).count()).toBe(0);
    expect(await page.locator('textarea').count()).toBe(0);
    await page.getByRole('button', { name: 'Corriger la version 1' }).waitFor();
    await page.getByRole('link', { name: /^Télécharger le compte rendu \(PDF\)/ }).waitFor();
    const shown = await page.getByTestId('report-versions').textContent();
    for (const text of Object.values(SECTIONS)) expect(shown).toContain(text.split('\n')[0]);
    expect(shown).toContain(`par ${DOCTOR_NAME}`);
    await expectAccessible(page, 'report, signed (fr)');

    versions = await versionsOf(setting.patient);
    expect(versions).toHaveLength(1);
    expect(versions[0]).toMatchObject({ version: 1, status: 'signed', sections: SECTIONS, replaces: null, replacedBy: null });
  });

  it('the patient reads it on the consultation’s page and on #/comptes-rendus, and downloads the PDF', async () => {
    patientPage = (await browsers.newPage()).page;
    const page = patientPage;
    await logIn(page, setting.patient);
    await page.goto(`${server.url}/#/consultations/${consultationId}`);
    await page.getByRole('heading', { name: 'Compte rendu', exact: true, level: 2 }).waitFor();
    await page.getByRole('heading', { name: /^Version 1 En vigueur$/, level: 3 }).waitFor();
    for (const title of ['Motif de la consultation', 'Histoire de la maladie et antécédents', 'Examen et constatations', 'Conclusion', 'Conduite à tenir', 'Suivi et consignes']) {
      await page.getByRole('heading', { name: title, exact: true, level: 4 }).waitFor();
    }
    await page.getByText(SECTIONS.conclusion).waitFor();
    // Only the doctor writes and corrects.
    expect(await page.locator('textarea').count()).toBe(0);
    expect(await page.getByRole('button', { name: /^Corriger/ }).count()).toBe(0);
    await expectAccessible(page, 'report, patient (fr)');

    // Her own page, from the navigation.
    await page.getByRole('navigation').getByRole('link', { name: 'Mes comptes rendus' }).click();
    await page.getByRole('heading', { name: 'Mes comptes rendus', level: 1 }).waitFor();
    const item = page.getByTestId('reports').getByRole('listitem');
    await expect.poll(() => item.count()).toBe(1);
    await item.getByRole('heading', { name: new RegExp(`— ${DOCTOR_NAME} En vigueur$`), level: 2 }).waitFor();
    // Folded, then read.
    expect(await item.getByText(SECTIONS.conclusion).isVisible()).toBe(false);
    await item.getByText('Lire le compte rendu').click();
    await item.getByText(SECTIONS.conclusion).waitFor();
    await item.getByRole('heading', { name: 'Conduite à tenir', level: 3 }).waitFor();
    await item.getByRole('link', { name: 'Voir la consultation' }).waitFor();
    await expectAccessible(page, 'my reports, one read (fr)');

    const { fileName, text } = await downloadPdf(page, /^Télécharger le compte rendu \(PDF\)/);
    expect(fileName).toMatch(/^compte-rendu-\d{4}-\d\d-\d\d-v1\.pdf$/);
    expect(text).toContain('Eczéma de contact probable');
    expect(text).toContain('Dermocorticoïde 7 jours');

    await switchLanguage(page, 'en');
    await page.getByRole('heading', { name: 'My reports', level: 1 }).waitFor();
    await page.getByRole('heading', { name: /Current$/, level: 2 }).waitFor();
    await page.getByRole('link', { name: /^Download the report \(PDF\)/ }).waitFor();
    await expectAccessible(page, 'my reports (en)');
    await switchLanguage(page, 'fr');
    await page.getByRole('heading', { name: 'Mes comptes rendus', level: 1 }).waitFor();
  });

  it('the attending doctor finds it under “Comptes rendus reçus” on their home', async () => {
    attendingPage = (await browsers.newPage()).page;
    const page = attendingPage;
    await logIn(page, attending);
    await page.getByRole('heading', { name: 'Comptes rendus reçus', level: 2 }).waitFor();
    const items = page.locator('.received-reports').getByTestId('reports').getByRole('listitem');
    await expect.poll(() => items.count()).toBe(1);
    await items.first().getByRole('heading', { name: /^Jeanne Martin — .+ En vigueur$/, level: 3 }).waitFor();
    await items.first().getByText(/^Version 1, signée le .+ par Dr Claire Bernard\.$/).waitFor();
    expect(await items.first().textContent()).toContain(`par ${DOCTOR_NAME}`);
    await items.first().getByText('Lire le compte rendu').click();
    await items.first().getByText(SECTIONS.findings).waitFor();
    await items.first().getByRole('link', { name: 'Dossier de Jeanne Martin' }).waitFor();
    await items.first().getByRole('link', { name: /^Télécharger le compte rendu \(PDF\)/ }).waitFor();
    await expectAccessible(page, 'home, reports received (fr)');
  });

  it('the doctor opens a correction, saves it, and discards it: version 1 stays alone', async () => {
    const page = doctorPage;
    await page.getByRole('button', { name: 'Corriger la version 1' }).click();
    await page.getByLabel('Suivi et consignes').fill('Une correction abandonnée.');
    // Not saved yet: giving up asks first all the same (the text would be lost).
    await page.getByRole('button', { name: 'Abandonner la correction' }).click();
    await page.getByRole('group', { name: 'Abandonner ce brouillon ? Le texte non signé sera perdu.' }).waitFor();
    await page.keyboard.press('Escape');
    await expect.poll(() => activeText(page)).toBe('Abandonner la correction');
    await page.getByRole('button', { name: 'Enregistrer le brouillon' }).click();
    await page.getByRole('status').filter({ hasText: 'Brouillon de la version 2 enregistré.' }).waitFor();
    expect((await versionsOf(setting.doctor)).map((v) => [v.version, v.status])).toEqual([
      [2, 'draft'],
      [1, 'signed'],
    ]);

    await page.getByRole('button', { name: 'Abandonner le brouillon' }).click();
    await expect.poll(() => activeText(page)).toBe('Abandonner ce brouillon ? Le texte non signé sera perdu.');
    await expectAccessible(page, 'report, discarding confirmation (fr)');
    await page.getByRole('button', { name: 'Abandonner', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'Brouillon abandonné.' }).waitFor();
    await expect.poll(() => activeText(page)).toBe('Version 1 En vigueur');
    expect(await page.locator('textarea').count()).toBe(0);
    expect((await versionsOf(setting.doctor)).map((v) => [v.version, v.status])).toEqual([[1, 'signed']]);
  });

  it('the doctor corrects it with the keyboard: version 2 replaces version 1, for the patient and the attending doctor too', async () => {
    const page = doctorPage;
    await page.getByRole('button', { name: 'Corriger la version 1' }).focus();
    await page.keyboard.press('Enter');
    const title = 'Correction de la version 1 (future version 2)';
    await page.getByRole('heading', { name: title, level: 3 }).waitFor();
    await expect.poll(() => activeText(page)).toBe(title);
    // Prefilled with the signed text.
    expect(await page.getByLabel('Conclusion').inputValue()).toBe(SECTIONS.conclusion);
    expect(await page.getByLabel('Histoire de la maladie et antécédents').inputValue()).toBe(SECTIONS.history);
    // Version 1 stays shown below, still current until the correction is signed.
    await page.getByRole('heading', { name: /^Version 1 En vigueur$/, level: 3 }).waitFor();
    await expectAccessible(page, 'report, correcting (fr)');

    // Tab to "Conduite à tenir" (the fifth field) and rewrite it.
    for (let stops = 0; stops < 5; stops++) await page.keyboard.press('Tab');
    expect(await activeLabel(page)).toBe('Conduite à tenir');
    await page.keyboard.press('Control+A');
    await page.keyboard.type(PLAN_V2);
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    expect(await activeText(page)).toBe('Enregistrer le brouillon');
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: 'Brouillon de la version 2 enregistré.' }).waitFor();
    let versions = await versionsOf(setting.doctor);
    expect(versions.map((v) => [v.version, v.status])).toEqual([
      [2, 'draft'],
      [1, 'signed'],
    ]);
    expect(versions[0]!.sections.plan).toBe(PLAN_V2);
    // The patient sees no draft.
    expect((await versionsOf(setting.patient)).map((v) => v.version)).toEqual([1]);

    await page.keyboard.press('Tab');
    expect(await activeText(page)).toBe('Signer et transmettre');
    await page.keyboard.press('Enter');
    await expect.poll(() => activeText(page)).toBe('Signer la version 2 du compte rendu ?');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: 'Compte rendu signé (version 2)' }).waitFor();
    await page.getByRole('heading', { name: /^Version 2 En vigueur$/, level: 3 }).waitFor();
    await page.getByRole('heading', { name: /^Version 1 Remplacée par la version 2$/, level: 3 }).waitFor();
    await page.getByRole('button', { name: 'Corriger la version 2' }).waitFor();
    await expectAccessible(page, 'report, corrected (fr)');

    versions = await versionsOf(setting.patient);
    expect(versions.map((v) => [v.version, v.status, v.replaces?.version ?? null, v.replacedBy?.version ?? null])).toEqual([
      [2, 'signed', 1, null],
      [1, 'signed', null, 2],
    ]);

    // The patient, still on #/comptes-rendus, is told live; v2 current, v1 marked replaced.
    const patient = patientPage;
    await patient.getByRole('status').filter({ hasText: 'Nouveau compte rendu signé.' }).waitFor({ timeout: 15_000 });
    const items = patient.getByTestId('reports').getByRole('listitem');
    await expect.poll(() => items.count()).toBe(2);
    await items.nth(0).getByRole('heading', { name: /En vigueur$/, level: 2 }).waitFor();
    await items.nth(1).getByRole('heading', { name: /Remplacée par la version 2$/, level: 2 }).waitFor();
    await items.nth(0).getByText('Lire le compte rendu').click();
    await items.nth(0).getByText(PLAN_V2).waitFor();
    expect(await items.nth(0).textContent()).toContain('Corrige la version 1.');
    await items.nth(0).getByText(/^Version 2, signée le /).waitFor();
    const { fileName, text } = await downloadPdf(patient, /^Télécharger le compte rendu \(PDF\) — version 2 /);
    expect(fileName).toMatch(/-v2\.pdf$/);
    expect(text).toContain('émollient matin et soir');
    await expectAccessible(patient, 'my reports, corrected (fr)');

    // On the consultation's page: v2 shown, v1 folded and marked.
    await patient.goto(`${server.url}/#/consultations/${consultationId}`);
    await patient.getByRole('heading', { name: /^Version 2 En vigueur$/, level: 3 }).waitFor();
    const replaced = patient.locator('article[data-version="1"]');
    await replaced.getByRole('heading', { name: /^Version 1 Remplacée par la version 2$/, level: 3 }).waitFor();
    expect(await replaced.locator('details').evaluate((element) => (element as any).open)).toBe(false);
    await patient.getByTestId('report-versions').getByText(PLAN_V2).waitFor();
    await expectAccessible(patient, 'report, patient, corrected (fr)');
    await switchLanguage(patient, 'en');
    await patient.getByRole('heading', { name: /^Version 1 Replaced by version 2$/, level: 3 }).waitFor();
    await patient.getByRole('heading', { name: /^Version 2 Current$/, level: 3 }).waitFor();
    await expectAccessible(patient, 'report, patient, corrected (en)');

    // The attending doctor's home, live too: both versions, the latest first.
    const home = attendingPage;
    await home.getByRole('status').filter({ hasText: 'Nouveau compte rendu reçu.' }).waitFor({ timeout: 15_000 });
    const received = home.locator('.received-reports').getByTestId('reports').getByRole('listitem');
    await expect.poll(() => received.count()).toBe(2);
    await received.nth(0).getByRole('heading', { name: /^Jeanne Martin — .+ En vigueur$/, level: 3 }).waitFor();
    await received.nth(1).getByRole('heading', { name: /Remplacée par la version 2$/, level: 3 }).waitFor();
    await expectAccessible(home, 'home, reports received, corrected (fr)');
    await switchLanguage(home, 'en');
    await home.getByRole('heading', { name: 'Reports received', level: 2 }).waitFor();
    await expectAccessible(home, 'home, reports received (en)');
    await switchLanguage(home, 'fr');
  });

  it('a professional’s page of the patient lists the signed reports with their PDF, also after breaking the glass', async () => {
    const page = attendingPage;
    await page.locator('.received-reports').getByRole('link', { name: 'Dossier de Jeanne Martin' }).first().click();
    await page.getByRole('heading', { name: 'Jeanne Martin', level: 1 }).waitFor();
    await page.getByRole('heading', { name: 'Comptes rendus', exact: true, level: 2 }).waitFor();
    const card = page.locator('.reports-card');
    await expect.poll(() => card.getByRole('listitem').count()).toBe(2);
    await card.getByRole('heading', { name: new RegExp(`— ${DOCTOR_NAME} En vigueur$`), level: 3 }).waitFor();
    await card.getByRole('heading', { name: /Remplacée par la version 2$/, level: 3 }).waitFor();
    expect(await card.getByRole('link', { name: /^Télécharger le compte rendu \(PDF\)/ }).count()).toBe(2);
    await card.getByText('Lire le compte rendu').first().click();
    await card.getByText(PLAN_V2).waitFor();
    await expectAccessible(page, 'patient page with reports (fr)');

    // A doctor without relationship who breaks the glass reads them too (purpose emergency).
    const emergencyDoctor = await inviteMember(server, setting.admin, { roles: ['doctor'], rpps: '10000000132' });
    server.advanceClock(30_000);
    await enrolTotp(server, emergencyDoctor);
    const emergency = (await browsers.newPage()).page;
    await logIn(emergency, emergencyDoctor);
    await emergency.goto(`${server.url}/#/patients`);
    await emergency.getByLabel('Identifiant du patient').fill(setting.patient.userId);
    await emergency.getByLabel('Motif de l’urgence').fill('Patiente inconsciente, appel du SAMU : derniers comptes rendus');
    await emergency.getByRole('button', { name: 'Ouvrir l’accès en urgence' }).click();
    await emergency.waitForURL(/\?purpose=emergency$/);
    const emergencyCard = emergency.locator('.reports-card');
    await expect.poll(() => emergencyCard.getByRole('listitem').count()).toBe(2);
    await emergencyCard.getByRole('heading', { name: /En vigueur$/, level: 3 }).waitFor();
    await expectAccessible(emergency, 'patient page, emergency, reports (fr)');
  });
});
