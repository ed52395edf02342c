// E-prescriptions in a real Chromium against the real server: after an ended consultation (written
// straight into the database), the doctor writes a prescription of two medicines and one act (a blood
// test) with the keyboard — the server's refusal of the act is shown on its field — and signs it; the
// patient sees it and downloads its PDF, whose text lists the act; the PDF's 2D code, rendered by
// poppler's pdftoppm and read by zxing-wasm (its .wasm from node_modules, never fetched), carries the
// prescription's number; a signed-out visitor verifies that text on #/ordonnance/verifier (genuine), then a
// tampered copy (refused); the doctor, signed in, is told only a pharmacist may dispense it; a pharmacist,
// signed in with two factors, marks it dispensed, and a second dispensing is refused; the administrator
// grants the pharmacist role (an RPPS number required, as for a doctor).
// axe-core (WCAG 2.1 A/AA) on the form, the list and the verification page, in French and English.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareZXingModule, readBarcodes } from 'zxing-wasm/reader';
import { textOfPdf } from '../support/codes.js';
import { careSetting, insertConsultation, type CareSetting } from '../support/consultations.js';
import { enrolTotp, inviteMember, uniqueEmail, type Account } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { Browsers, buildWebApp, CHROMIUM, expectAccessible, switchLanguage, logInWithTotp } from '../support/browser.js';

const PDFTOPPM = '/usr/bin/pdftoppm';
const DOCTOR_NAME = 'Dr Claire Bernard';
const RPPS = '10003456786';
const ACT = 'Bilan sanguin : NFS, glycémie à jeun';
const ACT_INSTRUCTIONS = 'À jeun, dans les 8 jours';

let server: TestServer;
let webDir: string;
let workDir: string;
let setting: CareSetting;
let pharmacist: Account;
let consultationId: string;
const browsers = new Browsers();

const logIn = (page: Page, account: Account) => logInWithTotp(server, page, account);

const isFocused = (page: Page, locator: ReturnType<Page['getByLabel']>) => locator.evaluate((element) => element === (globalThis as any).document.activeElement);

/** The text of the first QR code or DataMatrix on page 1 of the PDF. */
async function decode2dCode(pdf: string): Promise<string> {
  await promisify(execFile)(PDFTOPPM, ['-r', '150', '-png', '-f', '1', '-l', '1', pdf, join(workDir, 'page')]);
  const png = readFileSync(join(workDir, readdirSync(workDir).find((name) => name.startsWith('page') && name.endsWith('.png'))!));
  const wasm = readFileSync(createRequire(import.meta.url).resolve('zxing-wasm/reader/zxing_reader.wasm'));
  await prepareZXingModule({ overrides: { wasmBinary: wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength) as ArrayBuffer }, fireImmediately: true });
  const found = await readBarcodes(new Blob([png]), { formats: ['QRCode', 'DataMatrix'] });
  const valid = found.filter((barcode) => barcode.isValid);
  if (valid.length === 0) throw new Error('no 2D code found on page 1 of the PDF');
  return valid[0]!.text;
}

/** The same text with one character of its last non-empty line (the signature) changed, in the middle of its last word. */
function tamper(text: string): string {
  const lines = text.split('\n');
  let index = lines.length - 1;
  while (index > 0 && lines[index]!.trim() === '') index--;
  const line = lines[index]!;
  const at = line.lastIndexOf(' ') + 1 + Math.floor((line.length - line.lastIndexOf(' ') - 1) / 2);
  const replacement = line[at] === 'A' ? 'B' : 'A';
  lines[index] = line.slice(0, at) + replacement + line.slice(at + 1);
  const tampered = lines.join('\n');
  if (tampered === text) throw new Error('nothing tampered');
  return tampered;
}

describe.skipIf(!existsSync(CHROMIUM) || !existsSync(PDFTOPPM))('e-prescriptions in Chromium', { timeout: 240_000 }, () => {
  let doctorPage: Page;
  let patientPage: Page;
  let number: string;
  let code: string;

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'ausculta-rx-'));
    webDir = await buildWebApp();
    server = await startTestServer({ WEB_DIR: webDir, SESSION_IDLE_MINUTES: '120' });
    setting = await careSetting(server, RPPS);
    expect((await setting.doctor.client.request('PATCH', '/api/account', { displayName: DOCTOR_NAME })).status).toBe(200);
    // An ended consultation: it started 40 minutes ago and ended 15 minutes ago.
    consultationId = await insertConsultation(server, setting, { status: 'ended', startsInMs: -40 * 60_000, durationMs: 20 * 60_000 });
    await server.services.db
      .updateTable('consultations')
      .set({ admitted_at: new Date(server.services.now() - 38 * 60_000), ended_at: new Date(server.services.now() - 15 * 60_000), duration_seconds: 23 * 60 })
      .where('id', '=', consultationId)
      .execute();
    pharmacist = await inviteMember(server, setting.admin, { roles: ['pharmacist'], rpps: '10000000140', profession: 'pharmacien' });
    await enrolTotp(server, pharmacist);
  }, 180_000);

  afterAll(async () => {
    await browsers.close();
    await server?.close();
    if (webDir) await rm(webDir, { recursive: true, force: true });
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('the doctor writes two medicines and an act with the keyboard and signs the prescription', async () => {
    doctorPage = (await browsers.newPage()).page;
    const page = doctorPage;
    await logIn(page, setting.doctor);
    await page.goto(`${server.url}/#/consultations/${consultationId}`);
    await page.getByRole('heading', { name: 'Ordonnances', level: 2 }).waitFor();
    await page.getByText('Aucune ordonnance pour cette consultation.').waitFor();
    await page.getByRole('heading', { name: 'Nouvelle ordonnance', level: 3 }).waitFor();

    const first = page.getByRole('group', { name: 'Médicament 1' });
    await first.getByLabel('Médicament', { exact: true }).focus();
    await page.keyboard.type('Amoxicilline');
    await page.keyboard.press('Tab');
    await page.keyboard.type('500 mg, gélule');
    await page.keyboard.press('Tab');
    await page.keyboard.type('1 gélule matin, midi et soir');
    await page.keyboard.press('Tab');
    await page.keyboard.type('6');
    await page.keyboard.press('Tab');
    expect(await isFocused(page, first.getByLabel('Quantité (boîtes)'))).toBe(true);
    await page.keyboard.press('ArrowUp'); // 1 → 2 boxes
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Ajouter un médicament');
    await page.keyboard.press('Enter');

    // A second fieldset, the focus on its first field; each line can now be removed.
    const second = page.getByRole('group', { name: 'Médicament 2' });
    await second.waitFor();
    await expect.poll(() => isFocused(page, second.getByLabel('Médicament', { exact: true }))).toBe(true);
    await page.getByRole('button', { name: 'Retirer le médicament 1' }).waitFor();
    await page.getByRole('button', { name: 'Retirer le médicament 2' }).waitFor();
    await expectAccessible(page, 'prescription form, two lines (fr)');

    // The browser refuses the empty second line: nothing is sent.
    await page.getByRole('button', { name: 'Signer et émettre l’ordonnance' }).click();
    expect(await second.getByLabel('Médicament', { exact: true }).evaluate((element) => (element as any).validity.valueMissing)).toBe(true);
    expect((await setting.doctor.client.get(`/api/consultations/${consultationId}/prescriptions`)).body.prescriptions).toEqual([]);

    await second.getByLabel('Médicament', { exact: true }).focus();
    await page.keyboard.type('Paracétamol');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab'); // no strength: optional
    await page.keyboard.type('1 comprimé toutes les 6 heures si douleur');
    await page.keyboard.press('Tab');
    await page.keyboard.type('5');

    // A third line, added then removed from the keyboard: the focus goes back to the second line.
    await page.getByRole('button', { name: 'Ajouter un médicament' }).focus();
    await page.keyboard.press('Enter');
    const third = page.getByRole('group', { name: 'Médicament 3' });
    await expect.poll(() => isFocused(page, third.getByLabel('Médicament', { exact: true }))).toBe(true);
    await page.getByRole('button', { name: 'Retirer le médicament 3' }).focus();
    await page.keyboard.press('Enter');
    await third.waitFor({ state: 'detached' });
    await page.getByRole('status').filter({ hasText: 'Médicament 3 retiré.' }).waitFor();
    await expect.poll(() => isFocused(page, second.getByLabel('Médicament', { exact: true }))).toBe(true);

    // An act, from the keyboard: a blood test, to be done twice.
    await page.getByRole('button', { name: 'Ajouter un acte' }).focus();
    await page.keyboard.press('Enter');
    const act = page.getByRole('group', { name: 'Acte 3' });
    await expect.poll(() => isFocused(page, act.getByLabel('Acte à réaliser'))).toBe(true);
    await page.keyboard.type(ACT);
    await page.keyboard.press('Tab');
    expect(await isFocused(page, act.getByLabel('Instructions'))).toBe(true);
    await page.keyboard.type(ACT_INSTRUCTIONS);
    await page.keyboard.press('Tab');
    const count = act.getByLabel('Nombre de séances ou de fois');
    expect(await isFocused(page, count)).toBe(true);
    expect(await count.inputValue()).toBe('1');
    await page.keyboard.press('ArrowUp'); // 1 → 2 times
    await page.getByRole('button', { name: 'Retirer l’acte 3' }).waitFor();
    await expectAccessible(page, 'prescription form, with an act (fr)');

    // The server's refusal of a line is shown on its field: here the act's text, blanked on its way out.
    const url = `**/api/consultations/${consultationId}/prescriptions`;
    await page.route(url, async (route) => {
      if (route.request().method() !== 'POST') return route.continue();
      const body = route.request().postDataJSON() as { lines: Array<Record<string, unknown>> };
      body.lines[2] = { ...body.lines[2], act: '   ' };
      await route.continue({ postData: JSON.stringify(body) });
    });
    await page.getByRole('button', { name: 'Signer et émettre l’ordonnance' }).click();
    await page.getByRole('alert').waitFor();
    await act.locator('input[aria-invalid="true"]').waitFor();
    expect(await act.getByLabel('Acte à réaliser').getAttribute('aria-invalid')).toBe('true');
    expect(await second.locator('input[aria-invalid="true"]').count()).toBe(0);
    expect((await setting.doctor.client.get(`/api/consultations/${consultationId}/prescriptions`)).body.prescriptions).toEqual([]);
    await page.unroute(url);

    await page.getByRole('button', { name: 'Signer et émettre l’ordonnance' }).focus();
    await page.keyboard.press('Enter');

    await page.getByRole('status').filter({ hasText: /Ordonnance RX-[A-Z0-9-]+ signée et émise/ }).waitFor();
    const list = page.getByTestId('prescriptions');
    const heading = await list.getByRole('heading', { level: 3 }).first().textContent();
    number = /RX-[A-Z0-9-]+/.exec(heading ?? '')![0];
    const text = await list.textContent();
    expect(text).toContain('Amoxicilline');
    expect(text).toContain('500 mg, gélule');
    expect(text).toContain('pendant 6 jours (2 boîtes)');
    expect(text).toContain('Paracétamol');
    expect(text).toContain('pendant 5 jours (1 boîte)');
    expect(text).toContain(`Acte : ${ACT} — ${ACT_INSTRUCTIONS} (2 séances / fois)`);
    expect(text).toContain(`par ${DOCTOR_NAME} (RPPS ${RPPS})`);
    expect(text).toContain('Pas encore délivrée');
    // The form is back to one empty line.
    expect(await page.getByRole('group', { name: /^Médicament \d$/ }).count()).toBe(1);

    const stored = (await setting.doctor.client.get(`/api/consultations/${consultationId}/prescriptions`)).body.prescriptions;
    expect(stored).toHaveLength(1);
    expect(stored[0].number).toBe(number);
    expect(stored[0].lines).toEqual([
      { medication: 'Amoxicilline', dosage: '500 mg, gélule', posology: '1 gélule matin, midi et soir', durationDays: 6, quantity: 2 },
      { medication: 'Paracétamol', dosage: '', posology: '1 comprimé toutes les 6 heures si douleur', durationDays: 5, quantity: 1 },
      { kind: 'act', act: ACT, instructions: ACT_INSTRUCTIONS, count: 2 },
    ]);
    await expectAccessible(page, 'prescriptions, issued (fr)');

    // In English: an act block added, checked, then removed.
    await switchLanguage(page, 'en');
    await page.getByRole('button', { name: 'Add an act' }).click();
    const english = page.getByRole('group', { name: 'Act 2' });
    await expect.poll(() => isFocused(page, english.getByLabel('Act to perform'))).toBe(true);
    await english.getByLabel('Number of sessions or times').waitFor();
    expect(await page.getByTestId('prescriptions').textContent()).toContain(`Act: ${ACT} — ${ACT_INSTRUCTIONS} (2 sessions / times)`);
    await expectAccessible(page, 'prescription form, with an act (en)');
    await page.getByRole('button', { name: 'Remove act 2' }).click();
    await page.getByRole('status').filter({ hasText: 'Act 2 removed.' }).waitFor();
    await switchLanguage(page, 'fr');
  });

  it('the patient sees it and downloads the signed PDF, whose 2D code carries its number', async () => {
    patientPage = (await browsers.newPage()).page;
    const page = patientPage;
    await logIn(page, setting.patient);
    await page.goto(`${server.url}/#/consultations/${consultationId}`);
    await page.getByRole('heading', { name: 'Ordonnances', level: 2 }).waitFor();
    await page.getByRole('heading', { name: `Ordonnance n° ${number}`, level: 3 }).waitFor();
    // Only the doctor writes prescriptions.
    expect(await page.getByRole('heading', { name: 'Nouvelle ordonnance' }).count()).toBe(0);
    await expectAccessible(page, 'prescriptions, patient (fr)');

    const link = page.getByRole('link', { name: `Télécharger l’ordonnance (PDF) ${number}` });
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    const failure = await download.failure();
    if (failure) throw new Error(`the PDF download failed: ${failure}`);
    expect(download.suggestedFilename()).toBe(`ordonnance-${number}.pdf`);
    const pdf = join(workDir, 'ordonnance.pdf');
    await download.saveAs(pdf);
    expect((await readFile(pdf)).subarray(0, 5).toString('latin1')).toBe('%PDF-');

    code = await decode2dCode(pdf);
    expect(code).toContain(number);
    const printed = (await textOfPdf(await readFile(pdf))).replace(/\s+/g, ' ');
    expect(printed).toContain(`3. Acte : ${ACT}`);
    expect(printed).toContain(ACT_INSTRUCTIONS);
    expect(printed).toContain('2 séances / fois');
    expect(await page.getByTestId('prescriptions').textContent()).toContain(`Acte : ${ACT}`);

    await switchLanguage(page, 'en');
    await page.getByRole('heading', { name: 'Prescriptions', level: 2 }).waitFor();
    await page.getByRole('link', { name: `Download the prescription (PDF) ${number}` }).waitFor();
    await expectAccessible(page, 'prescriptions, patient (en)');
    await switchLanguage(page, 'fr');
  });

  it('a signed-out visitor verifies the 2D code’s text, and a tampered copy is refused', async () => {
    const { page } = await browsers.newPage();
    await page.goto(`${server.url}/#/ordonnance/verifier`);
    await page.getByRole('heading', { name: 'Vérifier une ordonnance', level: 1 }).waitFor();
    await expectAccessible(page, 'verification, empty (fr)');

    const field = page.getByLabel('Texte du code 2D de l’ordonnance');
    await field.fill(code);
    await page.getByRole('button', { name: 'Vérifier', exact: true }).click();
    await page.getByText('Ordonnance authentique : signature valide.').waitFor();
    const result = page.locator('.verification');
    const text = await result.textContent();
    expect(text).toContain(number);
    expect(text).toContain(DOCTOR_NAME);
    expect(text).toContain(RPPS);
    expect(text).toContain('Pas encore délivrée');
    // Signed out: no dispensing, only the hint.
    expect(await page.getByRole('button', { name: 'Marquer comme délivrée' }).count()).toBe(0);
    await page.getByText('Pharmacien connecté avec un second facteur').waitFor();
    await expect.poll(() => page.evaluate('document.activeElement?.textContent')).toBe('Résultat de la vérification');
    await expectAccessible(page, 'verification, valid (fr)');

    await field.fill(tamper(code));
    await page.getByRole('button', { name: 'Vérifier', exact: true }).click();
    await page.getByText('Signature invalide : le texte du code a été modifié').waitFor();
    expect(await page.getByText('Ordonnance authentique').count()).toBe(0);
    await expectAccessible(page, 'verification, invalid (fr)');

    await switchLanguage(page, 'en');
    await page.getByRole('heading', { name: 'Verify a prescription', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Verify', exact: true }).click();
    await page.getByText('Invalid signature').waitFor();
    await expectAccessible(page, 'verification, invalid (en)');
  });

  it('the doctor, signed in, is told that only a pharmacist dispenses; the server refuses them too', async () => {
    const page = doctorPage;
    await page.goto(`${server.url}/#/ordonnance/verifier`);
    await page.getByRole('heading', { name: 'Vérifier une ordonnance', level: 1 }).waitFor();
    await page.getByLabel('Texte du code 2D de l’ordonnance').fill(code);
    await page.getByRole('button', { name: 'Vérifier', exact: true }).click();
    await page.getByText('Ordonnance authentique : signature valide.').waitFor();
    await page.getByText('Seul un pharmacien peut marquer une ordonnance comme délivrée').waitFor();
    expect(await page.getByRole('button', { name: 'Marquer comme délivrée' }).count()).toBe(0);
    await expectAccessible(page, 'verification, doctor (fr)');

    await switchLanguage(page, 'en');
    await page.getByText('Only a pharmacist can mark a prescription as dispensed').waitFor();
    expect(await page.getByRole('button', { name: 'Mark as dispensed' }).count()).toBe(0);
    await expectAccessible(page, 'verification, doctor (en)');
    await switchLanguage(page, 'fr');

    expect((await setting.doctor.client.post('/api/prescriptions/dispense', { code })).status).toBe(403);
    expect((await setting.patient.client.get(`/api/consultations/${consultationId}/prescriptions`)).body.prescriptions[0].dispensedAt).toBeNull();
  });

  it('a pharmacist, signed in, marks it dispensed; a second dispensing is refused', async () => {
    const { page: first } = await browsers.newPage();
    await logIn(first, pharmacist);
    // The pharmacist's home leads to the check.
    await first.getByRole('heading', { name: 'Pharmacien', level: 2 }).waitFor();
    await expectAccessible(first, 'home, pharmacist (fr)');
    await first.getByRole('link', { name: 'Ouvrir la vérification des ordonnances' }).click();
    await first.waitForURL(/#\/ordonnance\/verifier$/);
    const second = await first.context().newPage();
    for (const page of [first, second]) {
      if (page !== first) await page.goto(`${server.url}/#/ordonnance/verifier`);
      await page.getByRole('heading', { name: 'Vérifier une ordonnance', level: 1 }).waitFor();
      await page.getByLabel('Texte du code 2D de l’ordonnance').fill(code);
      await page.getByRole('button', { name: 'Vérifier', exact: true }).click();
      await page.getByText('Ordonnance authentique : signature valide.').waitFor();
      await page.getByRole('button', { name: 'Marquer comme délivrée' }).waitFor();
    }
    await expectAccessible(first, 'verification, signed in (fr)');

    await first.getByRole('button', { name: 'Marquer comme délivrée' }).click();
    await first.getByRole('status').filter({ hasText: `Ordonnance ${number} marquée comme délivrée le` }).waitFor();
    expect(await first.getByRole('button', { name: 'Marquer comme délivrée' }).count()).toBe(0);
    await expect.poll(() => first.evaluate('document.activeElement?.textContent')).toMatch(/marquée comme délivrée/);

    await switchLanguage(second, 'en');
    await second.getByRole('button', { name: 'Mark as dispensed' }).waitFor();
    await expectAccessible(second, 'verification, pharmacist (en)');
    await switchLanguage(second, 'fr');

    // The second page still offers it (checked before): the server refuses, the page says so and shows when.
    await second.getByRole('button', { name: 'Marquer comme délivrée' }).click();
    await second.getByRole('status').filter({ hasText: 'Cette ordonnance est déjà délivrée' }).waitFor();
    await second.locator('.verification dd', { hasText: /^Délivrée le / }).waitFor();
    expect(await second.getByRole('button', { name: 'Marquer comme délivrée' }).count()).toBe(0);
    await expectAccessible(second, 'verification, already dispensed (fr)');

    // Checked again: already dispensed, no button.
    await first.getByRole('button', { name: 'Vérifier', exact: true }).click();
    await first.getByText('Attention : cette ordonnance a déjà été délivrée').waitFor();

    const stored = (await setting.patient.client.get(`/api/consultations/${consultationId}/prescriptions`)).body.prescriptions;
    expect(stored[0].dispensedAt).not.toBeNull();
    await patientPage.reload();
    await patientPage.getByText(/^Délivrée le /).waitFor();
  });

  it('the administrator sees the pharmacist role and invites another pharmacist, RPPS required', async () => {
    const { page } = await browsers.newPage();
    await logIn(page, setting.admin);
    await page.goto(`${server.url}/#/admin`);
    await page.getByRole('heading', { name: 'Membres', level: 2 }).waitFor();
    const member = page.getByRole('listitem').filter({ hasText: pharmacist.email });
    expect(await member.getByRole('checkbox', { name: 'Pharmacien' }).isChecked()).toBe(true);
    expect(await member.getByRole('checkbox', { name: 'Médecin' }).isChecked()).toBe(false);

    const invite = page.getByRole('region', { name: 'Inviter un membre' });
    const email = uniqueEmail('pharmacien');
    await invite.getByLabel('Adresse e-mail').fill(email);
    await invite.getByRole('checkbox', { name: 'Pharmacien' }).check();
    const rpps = invite.getByLabel('Numéro RPPS');
    await rpps.waitFor();
    await expectAccessible(page, 'admin, inviting a pharmacist (fr)');
    // As for a doctor: no invitation without an RPPS number (the browser refuses; nothing is sent).
    await invite.getByRole('button', { name: 'Envoyer l’invitation' }).click();
    expect(await rpps.evaluate((element) => (element as any).validity.valueMissing)).toBe(true);
    await rpps.fill('10000000165');
    await invite.getByRole('button', { name: 'Envoyer l’invitation' }).click();
    await page.getByText(`Invitation envoyée à ${email}.`).waitFor();
    const pending = page.getByRole('region', { name: 'Invitations en attente' }).getByRole('listitem').filter({ hasText: email });
    await pending.waitFor();
    expect(await pending.textContent()).toContain(`${email} — Pharmacien`);

    await switchLanguage(page, 'en');
    await page.getByRole('region', { name: 'Invite a member' }).getByRole('checkbox', { name: 'Pharmacist' }).check();
    await page.getByLabel('RPPS number').waitFor();
    await expectAccessible(page, 'admin, inviting a pharmacist (en)');
  });
});
