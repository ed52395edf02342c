// Observations (vital signs) in a real Chromium against the real server: after an ended consultation
// (written straight into the database, with its care relationship), the doctor opens the patient's page
// and records a weight and a blood pressure with the keyboard; a diastolic above the systolic is refused
// with the server's message, which takes the focus; the table shows both. The patient opens #/mesures,
// sees the doctor's two measures, records a temperature, and reads the page in English. The API then
// holds exactly three observations. A doctor without relationship who breaks the glass reads them, with
// no form (the gate refuses writing in an emergency). axe-core (WCAG 2.1 A/AA) on both pages, with their form.
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { careSetting, insertConsultation, type CareSetting } from '../support/consultations.js';
import { enrolTotp, inviteMember, type Account } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { Browsers, buildWebApp, CHROMIUM, expectAccessible, switchLanguage, logInWithTotp } from '../support/browser.js';

let server: TestServer;
let webDir: string;
let setting: CareSetting;
const browsers = new Browsers();

const logIn = (page: Page, account: Account) => logInWithTotp(server, page, account);

const activeText = (page: Page) => page.evaluate(() => (globalThis as any).document.activeElement?.textContent as string | undefined);
const activeLabel = (page: Page) => page.evaluate(() => (globalThis as any).document.activeElement?.labels?.[0]?.textContent as string | undefined);

/** The rows of the observations table, each as its cells' texts. */
async function rows(page: Page): Promise<string[][]> {
  const table = page.getByTestId('observations');
  return table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...(tr as any).cells].map((cell: any) => cell.textContent as string)));
}

describe.skipIf(!existsSync(CHROMIUM))('observations in Chromium', { timeout: 240_000 }, () => {
  beforeAll(async () => {
    webDir = await buildWebApp();
    server = await startTestServer({ WEB_DIR: webDir, SESSION_IDLE_MINUTES: '120' });
    setting = await careSetting(server);
    // An ended consultation: the doctor cares for the patient.
    await insertConsultation(server, setting, { status: 'ended', startsInMs: -40 * 60_000, durationMs: 20 * 60_000 });
  }, 180_000);

  afterAll(async () => {
    await browsers.close();
    await server?.close();
    if (webDir) await rm(webDir, { recursive: true, force: true });
  });

  it('the doctor records a weight and a blood pressure with the keyboard; a diastolic above the systolic is refused', async () => {
    const { page } = await browsers.newPage();
    await logIn(page, setting.doctor);
    await page.goto(`${server.url}/#/patients/${setting.patient.userId}`);
    await page.getByRole('heading', { name: 'Jeanne Martin', level: 1 }).waitFor();
    await page.getByRole('heading', { name: 'Constantes et mesures', level: 2 }).waitFor();
    await page.getByText('Aucune mesure enregistrée.').waitFor();
    await page.getByRole('heading', { name: 'Ajouter une mesure', level: 3 }).waitFor();
    await expectAccessible(page, 'patient page with observations, empty (fr)');

    // A weight: the kind is already "Poids"; Tab to the value, the date (now by default), the button.
    const kind = page.getByLabel('Type de mesure');
    expect(await kind.inputValue()).toBe('weight');
    await kind.focus();
    await page.keyboard.press('Tab');
    expect(await activeLabel(page)).toBe('Valeur (kg)');
    await page.keyboard.type('72.5');
    await page.keyboard.press('Tab');
    expect(await activeLabel(page)).toBe('Date et heure de la mesure');
    expect(await page.getByLabel('Date et heure de la mesure').inputValue()).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d$/);
    // Chromium's datetime-local takes one Tab stop per part (day, month, year, hours, minutes).
    for (let stops = 0; stops < 8 && (await activeText(page)) !== 'Enregistrer la mesure'; stops++) await page.keyboard.press('Tab');
    expect(await activeText(page)).toBe('Enregistrer la mesure');
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: 'Mesure enregistrée : Poids, 72,5 kg.' }).waitFor();
    await expect.poll(() => rows(page)).toEqual([[expect.any(String), 'Poids', '72,5 kg', 'vous']]);
    expect(await page.getByLabel('Valeur (kg)').inputValue()).toBe('');

    // A blood pressure: ArrowDown on the kind select; two fields, systolic first.
    await kind.focus();
    await page.keyboard.press('ArrowDown');
    expect(await kind.inputValue()).toBe('blood_pressure');
    await page.getByLabel('Diastolique (mmHg)').waitFor();
    expect(await page.getByLabel('Valeur (kg)').count()).toBe(0);
    await page.keyboard.press('Tab');
    expect(await activeLabel(page)).toBe('Systolique (mmHg)');
    await page.keyboard.type('80');
    await page.keyboard.press('Tab');
    expect(await activeLabel(page)).toBe('Diastolique (mmHg)');
    await page.keyboard.type('120');
    await page.keyboard.press('Enter'); // implicit submission

    // The server refuses it; its message is shown and takes the focus; nothing is stored.
    const alert = page.getByRole('alert').filter({ hasText: 'La pression diastolique doit être inférieure à la systolique.' });
    await alert.waitFor();
    await expect.poll(() => activeText(page)).toContain('La pression diastolique doit être inférieure à la systolique.');
    expect((await setting.doctor.client.get(`/api/patients/${setting.patient.userId}/observations`)).body.total).toBe(1);
    await expectAccessible(page, 'observation form, refused (fr)');

    await page.getByLabel('Systolique (mmHg)').focus();
    await page.keyboard.press('Control+A');
    await page.keyboard.type('130');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('85');
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: 'Mesure enregistrée : Pression artérielle, 130/85 mmHg.' }).waitFor();
    expect(await alert.count()).toBe(0);

    await expect.poll(async () => (await rows(page)).map((cells) => cells.slice(1)).sort()).toEqual([
      ['Poids', '72,5 kg', 'vous'],
      ['Pression artérielle', '130/85 mmHg', 'vous'],
    ]);
    expect(await page.locator('caption').filter({ hasText: 'Dernières mesures' }).count()).toBe(1);

    // The filter by kind.
    await page.getByLabel('Afficher').selectOption('blood_pressure');
    await expect.poll(async () => (await rows(page)).map((cells) => cells[1])).toEqual(['Pression artérielle']);
    await page.getByLabel('Afficher').selectOption('temperature');
    await page.getByText('Aucune mesure de ce type.').waitFor();
    await page.getByLabel('Afficher').selectOption('');
    await expect.poll(async () => (await rows(page)).length).toBe(2);
    await expectAccessible(page, 'patient page with observations and form (fr)');
  });

  it('the patient sees them on #/mesures and records a temperature; English labels', async () => {
    const { page } = await browsers.newPage();
    await logIn(page, setting.patient);
    await page.getByRole('navigation').getByRole('link', { name: 'Mes mesures' }).click();
    await page.waitForURL(/#\/mesures$/);
    await page.getByRole('heading', { name: 'Mes mesures', level: 1 }).waitFor();
    await expect.poll(async () => (await rows(page)).map((cells) => cells.slice(1)).sort()).toEqual([
      ['Poids', '72,5 kg', 'un professionnel'],
      ['Pression artérielle', '130/85 mmHg', 'un professionnel'],
    ]);
    await expectAccessible(page, 'my measurements (fr)');

    await page.getByLabel('Type de mesure').selectOption('temperature');
    await page.getByLabel('Valeur (°C)').focus();
    await page.keyboard.type('37.8');
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: 'Mesure enregistrée : Température, 37,8 °C.' }).waitFor();
    await expect.poll(async () => (await rows(page)).find((cells) => cells[1] === 'Température')?.slice(2)).toEqual(['37,8 °C', 'vous']);
    expect(await page.getByRole('link', { name: 'Mes mesures' }).getAttribute('aria-current')).toBe('page');
    await expectAccessible(page, 'my measurements, recorded (fr)');

    await switchLanguage(page, 'en');
    await page.getByRole('heading', { name: 'My measurements', level: 1 }).waitFor();
    await page.getByRole('heading', { name: 'Vital signs and measurements', level: 2 }).waitFor();
    await page.getByLabel('Kind of measurement').waitFor();
    await page.getByRole('link', { name: 'My measurements' }).waitFor();
    await expect.poll(async () => (await rows(page)).find((cells) => cells[1] === 'Blood pressure')?.slice(2)).toEqual(['130/85 mmHg', 'a professional']);
    await expectAccessible(page, 'my measurements (en)');
    await switchLanguage(page, 'fr');

    const stored = await setting.patient.client.get(`/api/patients/${setting.patient.userId}/observations`);
    expect(stored.status).toBe(200);
    expect(stored.body.total).toBe(3);
    const byKind = Object.fromEntries(stored.body.observations.map((o: { kind: string; value: number; value2: number | null; authorId: string }) => [o.kind, [o.value, o.value2, o.authorId]]));
    expect(byKind).toEqual({
      weight: [72.5, null, setting.doctor.userId],
      blood_pressure: [130, 85, setting.doctor.userId],
      temperature: [37.8, null, setting.patient.userId],
    });
  });

  it('a doctor who breaks the glass reads the measures, without the form', async () => {
    const emergencyDoctor = await inviteMember(server, setting.admin, { roles: ['doctor'], rpps: '10000000124' });
    server.advanceClock(30_000);
    await enrolTotp(server, emergencyDoctor);
    const { page } = await browsers.newPage();
    await logIn(page, emergencyDoctor);
    await page.goto(`${server.url}/#/patients`);
    await page.getByLabel('Identifiant du patient').fill(setting.patient.userId);
    await page.getByLabel('Motif de l’urgence').fill('Patiente inconsciente, appel du SAMU : constantes récentes');
    await page.getByRole('button', { name: 'Ouvrir l’accès en urgence' }).click();
    await page.waitForURL(/\?purpose=emergency$/);
    await page.getByRole('heading', { name: 'Constantes et mesures', level: 2 }).waitFor();
    await expect.poll(async () => (await rows(page)).map((cells) => cells.slice(1)).sort()).toEqual([
      ['Poids', '72,5 kg', 'un professionnel'],
      ['Pression artérielle', '130/85 mmHg', 'un professionnel'],
      ['Température', '37,8 °C', 'le patient'],
    ]);
    expect(await page.getByRole('heading', { name: 'Ajouter une mesure' }).count()).toBe(0);
    await expectAccessible(page, 'patient page, emergency, observations (fr)');
  });
});
