// The record's allergies, problems and documents in a real Chromium against the real server: after an
// ended consultation (written straight into the database, with its care relationship), the doctor opens
// the patient's page and, with the keyboard, records an allergy (penicillin, hives, high criticality) and
// a problem, marks the problem resolved, is told when the wording is missing, imports a PDF, sees it
// listed and downloads it byte for byte; a file of a refused type shows the server's message, which takes
// the focus. The patient on #/dossier sees both, adds their own allergy, and reads the page in English.
// A doctor without relationship who breaks the glass reads the cards, with no form and no button.
// axe-core (WCAG 2.1 A/AA) on each state.
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { careSetting, insertConsultation, type CareSetting } from '../support/consultations.js';
import { enrolTotp, inviteMember, type Account } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { Browsers, buildWebApp, CHROMIUM, expectAccessible, switchLanguage, logInWithTotp } from '../support/browser.js';

let server: TestServer;
let webDir: string;
let setting: CareSetting;
const browsers = new Browsers();
/** A small PDF (its signature, then padding past the 64 KiB JSON body limit). */
const PDF = Buffer.concat([Buffer.from('%PDF-1.7\n% Ausculta test\n'), Buffer.alloc(100_000, 0x20), Buffer.from('\n%%EOF\n')]);

const logIn = (page: Page, account: Account) => logInWithTotp(server, page, account);

const activeText = (page: Page) => page.evaluate(() => (globalThis as any).document.activeElement?.textContent as string | undefined);
const activeLabel = (page: Page) => page.evaluate(() => (globalThis as any).document.activeElement?.labels?.[0]?.textContent as string | undefined);

/** The card of one allergy or problem, by its wording. */
const conditionItem = (page: Page, label: string): Locator => page.locator('li.condition').filter({ has: page.locator('strong', { hasText: new RegExp(`^${label}$`) }) });

/** The rows of the documents table, each as its cells' texts. */
async function documentRows(page: Page): Promise<string[][]> {
  return page
    .getByTestId('record-documents')
    .locator('tbody tr')
    .evaluateAll((trs) => trs.map((tr) => [...(tr as any).cells].map((cell: any) => cell.textContent as string)));
}

describe.skipIf(!existsSync(CHROMIUM))('the record (allergies, problems, documents) in Chromium', { timeout: 240_000 }, () => {
  beforeAll(async () => {
    webDir = await buildWebApp();
    server = await startTestServer({ WEB_DIR: webDir, SESSION_IDLE_MINUTES: '120' });
    setting = await careSetting(server);
    await insertConsultation(server, setting, { status: 'ended', startsInMs: -40 * 60_000, durationMs: 20 * 60_000 });
  }, 180_000);

  afterAll(async () => {
    await browsers.close();
    await server?.close();
    if (webDir) await rm(webDir, { recursive: true, force: true });
  });

  it('the doctor records an allergy and a problem with the keyboard, resolves the problem, imports and downloads a PDF', async () => {
    const { page } = await browsers.newPage();
    await logIn(page, setting.doctor);
    await page.goto(`${server.url}/#/patients/${setting.patient.userId}`);
    await page.getByRole('heading', { name: 'Jeanne Martin', level: 1 }).waitFor();
    await page.getByRole('heading', { name: 'Allergies et antécédents', level: 2 }).waitFor();
    await page.getByRole('heading', { name: 'Documents du dossier', level: 2 }).waitFor();
    await page.getByText('Aucune allergie connue enregistrée.').waitFor();
    await page.getByText('Aucun document dans le dossier.').waitFor();
    await expectAccessible(page, 'patient page with the record, empty (fr)');

    // An allergy: the category is already "Allergie"; Tab to the substance, the reaction, the criticality.
    const allergy = page.getByRole('radio', { name: 'Allergie ou intolérance' });
    expect(await allergy.isChecked()).toBe(true);
    await allergy.focus();
    await page.keyboard.press('Tab');
    expect(await activeLabel(page)).toBe('Substance en cause');
    await page.keyboard.type('Pénicilline');
    await page.keyboard.press('Tab');
    expect(await activeLabel(page)).toBe('Réaction observée (facultatif)');
    await page.keyboard.type('urticaire');
    await page.keyboard.press('Tab');
    expect(await activeLabel(page)).toBe('Gravité (facultatif)');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    expect(await page.getByLabel('Gravité').inputValue()).toBe('high');
    // Chromium's date input takes one Tab stop per part; then the note, then the button.
    for (let stops = 0; stops < 8 && (await activeText(page)) !== 'Enregistrer'; stops++) await page.keyboard.press('Tab');
    expect(await activeText(page)).toBe('Enregistrer');
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: '« Pénicilline » est enregistré dans le dossier.' }).waitFor();
    const penicillin = conditionItem(page, 'Pénicilline');
    await penicillin.waitFor();
    const penicillinText = await penicillin.textContent();
    expect(penicillinText).toContain('Gravité élevée');
    expect(penicillinText).toContain('urticaire');
    expect(penicillinText).toContain('Active');
    expect(penicillinText).toMatch(/Saisi par vous, le /);
    expect(await page.getByLabel('Substance en cause').inputValue()).toBe('');

    // A problem: ArrowRight on the radio group; no reaction or criticality for a problem.
    await allergy.focus();
    await page.keyboard.press('ArrowRight');
    expect(await page.getByRole('radio', { name: 'Antécédent ou problème de santé' }).isChecked()).toBe(true);
    await page.getByLabel('Intitulé').waitFor();
    expect(await page.getByLabel('Réaction observée').count()).toBe(0);
    expect(await page.getByLabel('Gravité').count()).toBe(0);
    await page.getByLabel('Date de début').fill('2010-03-15');
    await page.getByLabel('Intitulé').focus();
    // Without its wording, the form says so and the message takes the focus.
    await page.keyboard.press('Enter');
    await page.getByRole('alert').filter({ hasText: 'Indiquez l’intitulé de l’antécédent.' }).waitFor();
    await expect.poll(() => activeText(page)).toContain('Indiquez l’intitulé de l’antécédent.');
    expect(await page.getByLabel('Intitulé').getAttribute('aria-invalid')).toBe('true');
    await expectAccessible(page, 'condition form, wording missing (fr)');
    await page.getByLabel('Intitulé').focus();
    await page.keyboard.type('Appendicectomie');
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: '« Appendicectomie » est enregistré dans le dossier.' }).waitFor();
    const appendectomy = conditionItem(page, 'Appendicectomie');
    expect(await appendectomy.textContent()).toContain('15 mars 2010');

    // Marked resolved with the keyboard: the button becomes "Réactiver" and keeps the focus.
    await page.getByRole('button', { name: 'Marquer résolu : Appendicectomie' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: '« Appendicectomie » est marqué résolu.' }).waitFor();
    await page.getByRole('button', { name: 'Réactiver : Appendicectomie' }).waitFor();
    await expect.poll(() => activeText(page)).toBe('Réactiver : Appendicectomie');
    expect(await appendectomy.textContent()).toContain('Résolu');
    await expectAccessible(page, 'patient page, allergy and resolved problem (fr)');

    // A PDF imported into the record, listed, then downloaded byte for byte.
    await page.getByLabel('Fichier').setInputFiles({ name: 'bilan sanguin.pdf', mimeType: 'application/pdf', buffer: PDF });
    await page.getByRole('button', { name: 'Importer le document' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: 'Document importé : bilan sanguin.pdf.' }).waitFor();
    await expect.poll(async () => (await documentRows(page)).map((cells) => [cells[0], cells[1], cells[2], cells[4], cells[5]])).toEqual([
      ['Télécharger bilan sanguin.pdf', 'PDF', '97,7 Ko', 'Importé dans le dossier', 'vous'],
    ]);
    const link = page.getByRole('link', { name: 'Télécharger bilan sanguin.pdf' });
    const [download] = await Promise.all([page.waitForEvent('download'), link.press('Enter')]);
    expect(download.suggestedFilename()).toBe('bilan sanguin.pdf');
    expect((await readFile(await download.path())).equals(PDF)).toBe(true);

    // A file of a refused type: the server's message, focused; nothing stored.
    await page.getByLabel('Fichier').setInputFiles({ name: 'programme.exe', mimeType: 'application/x-msdownload', buffer: Buffer.from('MZ\x90\x00 not a document') });
    await page.getByRole('button', { name: 'Importer le document' }).focus();
    await page.keyboard.press('Enter');
    const refused = page.getByRole('alert').filter({ hasText: 'Le contenu du fichier ne correspond pas à un type accepté' });
    await refused.waitFor();
    await expect.poll(() => activeText(page)).toContain('ne correspond pas à un type accepté');
    await expectAccessible(page, 'document import refused (fr)');

    const documents = await setting.doctor.client.get(`/api/patients/${setting.patient.userId}/documents`);
    expect(documents.body.total).toBe(1);
    const conditions = await setting.doctor.client.get(`/api/patients/${setting.patient.userId}/conditions`);
    expect(conditions.body.conditions.map((c: { label: string; category: string; status: string; criticality: string | null; reaction: string }) => [c.label, c.category, c.status, c.criticality, c.reaction])).toEqual([
      ['Pénicilline', 'allergy', 'active', 'high', 'urticaire'],
      ['Appendicectomie', 'problem', 'resolved', null, ''],
    ]);
  });

  it('the patient sees them on #/dossier and adds their own allergy; English labels', async () => {
    const { page } = await browsers.newPage();
    await logIn(page, setting.patient);
    await page.getByRole('navigation').getByRole('link', { name: 'Mon dossier' }).click();
    await page.waitForURL(/#\/dossier$/);
    await page.getByRole('heading', { name: 'Mon dossier', level: 1 }).waitFor();
    const penicillin = conditionItem(page, 'Pénicilline');
    await penicillin.waitFor();
    expect(await penicillin.textContent()).toContain('Gravité élevée');
    expect(await conditionItem(page, 'Appendicectomie').textContent()).toContain('Résolu');
    await expect.poll(async () => (await documentRows(page)).map((cells) => [cells[0], cells[4], cells[5]])).toEqual([['Télécharger bilan sanguin.pdf', 'Importé dans le dossier', 'un professionnel']]);
    expect(await page.getByRole('link', { name: 'Mon dossier' }).getAttribute('aria-current')).toBe('page');
    await expectAccessible(page, 'my record (fr)');

    await page.getByLabel('Substance en cause').focus();
    await page.keyboard.type('Arachide');
    await page.keyboard.press('Tab');
    await page.keyboard.type('œdème des lèvres');
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: '« Arachide » est enregistré dans le dossier.' }).waitFor();
    expect(await conditionItem(page, 'Arachide').textContent()).toMatch(/Saisi par vous, le /);
    await expectAccessible(page, 'my record, allergy added (fr)');

    await switchLanguage(page, 'en');
    await page.getByRole('heading', { name: 'My record', level: 1 }).waitFor();
    await page.getByRole('heading', { name: 'Allergies and medical history', level: 2 }).waitFor();
    await page.getByRole('heading', { name: 'Documents of the record', level: 2 }).waitFor();
    await page.getByText('High criticality').waitFor();
    await page.getByLabel('Substance').waitFor();
    await page.getByRole('link', { name: 'Download bilan sanguin.pdf' }).waitFor();
    await page.getByRole('link', { name: 'My record' }).waitFor();
    await expectAccessible(page, 'my record (en)');
    await switchLanguage(page, 'fr');

    const stored = await setting.patient.client.get(`/api/patients/${setting.patient.userId}/conditions?category=allergy`);
    expect(stored.status).toBe(200);
    expect(stored.body.conditions.map((c: { label: string; reaction: string; authorId: string }) => [c.label, c.reaction, c.authorId]).sort()).toEqual([
      ['Arachide', 'œdème des lèvres', setting.patient.userId],
      ['Pénicilline', 'urticaire', setting.doctor.userId],
    ]);
  });

  it('a doctor who breaks the glass reads the record, without forms or buttons', async () => {
    const emergencyDoctor = await inviteMember(server, setting.admin, { roles: ['doctor'], rpps: '10000000124' });
    server.advanceClock(30_000);
    await enrolTotp(server, emergencyDoctor);
    const { page } = await browsers.newPage();
    await logIn(page, emergencyDoctor);
    await page.goto(`${server.url}/#/patients`);
    await page.getByLabel('Identifiant du patient').fill(setting.patient.userId);
    await page.getByLabel('Motif de l’urgence').fill('Patiente inconsciente, appel du SAMU : allergies connues ?');
    await page.getByRole('button', { name: 'Ouvrir l’accès en urgence' }).click();
    await page.waitForURL(/\?purpose=emergency$/);
    await page.getByRole('heading', { name: 'Allergies et antécédents', level: 2 }).waitFor();
    const penicillin = conditionItem(page, 'Pénicilline');
    await penicillin.waitFor();
    expect(await penicillin.textContent()).toContain('Gravité élevée');
    await conditionItem(page, 'Arachide').waitFor();
    await expect.poll(async () => (await documentRows(page)).map((cells) => cells[0])).toEqual(['Télécharger bilan sanguin.pdf']);
    expect(await page.getByRole('heading', { name: 'Ajouter une allergie ou un antécédent' }).count()).toBe(0);
    expect(await page.getByRole('heading', { name: 'Importer un document' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /^(Marquer résolu|Réactiver)/ }).count()).toBe(0);
    // With the mouse this time.
    const emergencyLink = page.getByRole('link', { name: 'Télécharger bilan sanguin.pdf' });
    const [download] = await Promise.all([page.waitForEvent('download'), emergencyLink.click()]);
    expect((await readFile(await download.path())).equals(PDF)).toBe(true);
    await expectAccessible(page, 'patient page, emergency, record (fr)');
  });
});
