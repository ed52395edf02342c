// The audit pages in a real Chromium against the real server: a patient sees who accessed their data, each
// row verified by the browser itself (WebCrypto) against the signed checkpoint; a tampered row shows as not
// verified; a security officer runs the integrity check and searches the log. axe-core on both pages.
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { strFromU8, unzipSync } from 'fflate';
import { sql } from 'kysely';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAuditEntry } from '../../src/audit/log.js';
import { setupOrganisation, strongPassword, totpCode, uniqueEmail, type Account } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { Browsers, buildWebApp, CHROMIUM, expectAccessible, switchLanguage } from '../support/browser.js';

const ORGANISATION = 'Centre de santé Ausculta';

let server: TestServer;
let webDir: string;
const browsers = new Browsers();
let officer: Account & { organisationId: string };
let patientPage: Page;
let patientId = '';
let officerPage: Page;
/** The leaf the tampering test changes. */
let tampered = -1;

async function newPage(): Promise<Page> {
  return (await browsers.newPage()).page;
}

async function open(page: Page, route: string): Promise<void> {
  await page.goto(`${server.url}/#${route}`);
  await page.locator('h1').first().waitFor();
}

/** A TOTP code at the server's clock, one time step later than any code used before. */
function nextTotp(secret: string): string {
  server.advanceClock(30_000);
  return totpCode(secret, server.services.now());
}

async function signUpWithTotp(page: Page): Promise<void> {
  await open(page, '/inscription');
  await page.getByLabel('Établissement').selectOption({ label: ORGANISATION });
  await page.getByLabel('Adresse e-mail').fill(uniqueEmail('patient'));
  await page.getByLabel('Nom affiché').fill('Jeanne Martin');
  await page.getByLabel('Mot de passe', { exact: true }).fill(strongPassword());
  await page.getByLabel('Nom de naissance').fill('Martin');
  await page.getByLabel('Prénoms').fill('Jeanne Louise');
  await page.getByLabel('Date de naissance').fill('1980-05-17');
  await page.getByLabel('Féminin').check();
  await page.getByLabel('Code INSEE du lieu de naissance').fill('75056');
  await page.getByRole('button', { name: 'Créer mon compte' }).click();
  await page.waitForURL(/#\/securite$/);
  await page.getByRole('button', { name: 'Configurer une application' }).click();
  const secret = (await page.getByTestId('totp-secret').textContent())?.trim() ?? '';
  await page.getByLabel('Code affiché par l’application').fill(nextTotp(secret));
  await page.getByRole('button', { name: 'Activer', exact: true }).click();
  await page.getByRole('heading', { name: 'Vos codes de secours' }).waitFor();
  await page.getByLabel('J’ai enregistré mes codes de secours').check();
  await page.getByRole('button', { name: 'Continuer' }).click();
  await page.getByRole('heading', { name: 'Application d’authentification' }).waitFor();
}

const accessRows = (page: Page) => page.locator('table.data tbody tr');
const summary = (page: Page) => page.locator('.verification-summary');

/** Reloads #/acces until the table lists at least `count` rows, all checked (verified or not). */
async function openAccessHistory(page: Page, count: number): Promise<void> {
  await expect
    .poll(
      async () => {
        await page.reload();
        await page.getByRole('heading', { level: 1 }).waitFor();
        await summary(page).locator('.alert-success, .alert-error').waitFor();
        return accessRows(page).count();
      },
      { timeout: 20_000, interval: 300 },
    )
    .toBeGreaterThanOrEqual(count);
}

describe.skipIf(!existsSync(CHROMIUM))('audit pages in Chromium', { timeout: 180_000 }, () => {
  beforeAll(async () => {
    webDir = await buildWebApp();
    server = await startTestServer({ WEB_DIR: webDir });
    officer = await setupOrganisation(server, ORGANISATION);
    const granted = await officer.client.put(`/api/admin/organisations/${officer.organisationId}/members/${officer.userId}/roles`, { roles: ['org_admin', 'security_officer'] });
    expect(granted.status, JSON.stringify(granted.body)).toBe(200);
  }, 120_000);

  afterAll(async () => {
    await browsers.close();
    await server?.close();
    if (webDir) await rm(webDir, { recursive: true, force: true });
  });

  it('a patient with TOTP sees who accessed their data, every row verified in the browser', async () => {
    const page = await newPage();
    patientPage = page;
    await signUpWithTotp(page);
    patientId = ((await page.evaluate(`fetch('/api/session').then((r) => r.json())`)) as { user: { id: string } }).user.id;

    // From the home card, then from the header link.
    await open(page, '/accueil');
    await page.getByRole('link', { name: 'Voir qui a accédé à mes données' }).click();
    await page.waitForURL(/#\/acces$/);
    await page.getByRole('heading', { name: 'Qui a accédé à mes données', level: 1 }).waitFor();
    await summary(page).locator('.alert').waitFor();
    await open(page, '/accueil');
    await page.getByRole('navigation').getByRole('link', { name: 'Accès à mes données' }).click();
    await page.waitForURL(/#\/acces$/);

    // The visits are themselves accesses: once integrated, they appear, verified against the checkpoint.
    await openAccessHistory(page, 2);
    const rows = accessRows(page);
    const n = await rows.count();
    for (let i = 0; i < n; i++) {
      const row = rows.nth(i);
      await expect.poll(() => row.locator('td').last().textContent()).toBe('Vérifié ✓');
      expect(await row.locator('th').textContent()).toBe('Vous-même');
      expect(await row.textContent()).toContain('a consulté l’historique des accès');
      expect(await row.textContent()).toContain('Accès personnel');
      expect(await row.textContent()).toContain('Autorisé');
    }
    expect(await summary(page).textContent()).toMatch(new RegExp(`^${n} accès, tous vérifiés contre le point de contrôle signé n° \\d+\\.$`));

    await expectAccessible(page, 'access history (fr)');
    await switchLanguage(page, 'en');
    await page.getByRole('heading', { name: 'Who accessed my data', level: 1 }).waitFor();
    expect(await rows.first().locator('td').last().textContent()).toBe('Verified ✓');
    expect(await summary(page).textContent()).toContain('all verified against signed checkpoint no.');
    await expectAccessible(page, 'access history (en)');
    await switchLanguage(page, 'fr');

    // Taking one's data away: the archive downloads from the same page, with the FHIR Bundle inside.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Télécharger toutes mes données (archive .zip)' }).click()]);
    expect(download.suggestedFilename()).toMatch(/^ausculta-export-\d{4}-\d\d-\d\d\.zip$/);
    const files = unzipSync(new Uint8Array(await readFile((await download.path())!)));
    const bundle = JSON.parse(strFromU8(files['bundle.json']!)) as { resourceType: string; entry: Array<{ resource: { resourceType: string; id: string } }> };
    expect(bundle.resourceType).toBe('Bundle');
    expect(bundle.entry.find((e) => e.resource.resourceType === 'Patient')?.resource.id).toBe(patientId);
  });

  it('a security officer checks the log’s integrity and searches it', async () => {
    const page = await newPage();
    officerPage = page;
    await open(page, '/connexion');
    await page.getByLabel('Adresse e-mail').fill(officer.email);
    await page.getByLabel('Mot de passe', { exact: true }).fill(officer.password);
    await page.getByRole('button', { name: 'Se connecter', exact: true }).click();
    await page.getByLabel('Code de votre application d’authentification').fill(nextTotp(officer.totpSecret ?? ''));
    await page.getByRole('button', { name: 'Vérifier' }).click();
    await page.waitForURL(/#\/accueil$/);
    await page.getByRole('navigation').getByRole('link', { name: 'Journal d’audit' }).click();
    await page.waitForURL(/#\/audit$/);
    await page.getByRole('heading', { name: 'Journal d’audit', level: 1 }).waitFor();
    await expectAccessible(page, 'audit (fr)');

    await page.getByRole('button', { name: 'Vérifier l’intégrité du journal' }).click();
    const status = page.getByRole('status').filter({ hasText: 'Journal' });
    await status.getByText(/^✓ Journal intègre : \d+ entrées et \d+ points de contrôle vérifiés\.$/).waitFor();

    await page.getByLabel('Identifiant du patient').fill(patientId);
    await page.getByLabel('Résultat').selectOption('allowed');
    await page.getByRole('button', { name: 'Rechercher' }).click();
    await page.getByText(/^\d+ entrées? trouvées?\.$/).waitFor();
    const rows = page.locator('table.data tbody tr');
    expect(await rows.count()).toBeGreaterThanOrEqual(2);
    // The newest: the patient's export (a record.read of their own record), then their visits to #/acces.
    expect(await rows.first().textContent()).toContain('record.read');
    expect(await rows.nth(1).textContent()).toContain('access_history.read');
    expect(await rows.first().textContent()).toContain(patientId);
    await expectAccessible(page, 'audit with results (fr)');

    await switchLanguage(page, 'en');
    await page.getByRole('heading', { name: 'Audit log', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Check the log’s integrity' }).click();
    await page.getByText(/^✓ Log intact \(OK\)/).waitFor();
    await expectAccessible(page, 'audit (en)');
    await switchLanguage(page, 'fr');
  });

  it('a row changed in the database shows as not verified, and the integrity check finds it', async () => {
    const page = patientPage;
    tampered = Number(await accessRows(page).last().getAttribute('data-leaf-index'));
    const changed = await sql`UPDATE audit_entries SET leaf_data = replace(leaf_data, 'patient_self', 'care') WHERE leaf_index = ${tampered} AND patient_id = ${patientId}`.execute(server.services.db);
    expect(Number(changed.numAffectedRows)).toBe(1);

    await page.reload();
    const row = page.locator(`tr[data-leaf-index="${tampered}"]`);
    await expect.poll(() => row.locator('td').last().textContent(), { timeout: 10_000 }).toBe('✗ Non vérifié');
    await summary(page).locator('.alert-error').getByText(/^Attention : 1 accès sur \d+ n’ont pas pu être vérifiés/).waitFor();
    const others = page.locator(`table.data tbody tr:not([data-leaf-index="${tampered}"])`);
    for (let i = 0; i < (await others.count()); i++) expect(await others.nth(i).locator('td').last().textContent()).toBe('Vérifié ✓');
    await expectAccessible(page, 'access history with a tampered row');

    await officerPage.getByRole('button', { name: 'Vérifier l’intégrité du journal' }).click();
    await officerPage.getByText(/^✗ Journal NON intègre : \d+ problèmes? détectés?\.$/).waitFor();
    await officerPage.getByText(`Entrée n° ${tampered}`, { exact: false }).first().waitFor();
  });

  it('older accesses load page by page, every row verified against the same checkpoint', async () => {
    const page = patientPage;
    const context = { requestId: 'browser-history-paging', sourceAddress: '127.0.0.1' };
    await server.services.db.transaction().execute(async (tx) => {
      for (let i = 0; i < 205; i++) {
        await appendAuditEntry(tx, context, { kind: 'access', type: 'record.read', outcome: 'allowed', actorUserId: officer.userId, actorRole: 'care_team', patientId, purpose: 'care', detail: { reason: 'granted' } });
      }
    });
    await server.services.audit.integrator.flush();
    await page.reload();
    await summary(page).locator('.alert-success, .alert-error').waitFor();
    expect(await accessRows(page).count()).toBe(200);
    expect(await page.locator(`tr[data-leaf-index="${tampered}"]`).count()).toBe(0);
    const older = page.getByRole('button', { name: 'Afficher les accès plus anciens' });
    await older.focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => accessRows(page).count()).toBeGreaterThan(200);
    // The row changed by the previous test is among the older ones: it alone is not verified.
    await expect.poll(() => page.locator(`tr[data-leaf-index="${tampered}"]`).locator('td').last().textContent(), { timeout: 10_000 }).toBe('✗ Non vérifié');
    const total = await accessRows(page).count();
    await summary(page).getByText(new RegExp(`^Attention : 1 accès sur ${total} n’ont pas pu être vérifiés`)).waitFor();
    expect(await older.count()).toBe(0); // no older page left
    await expectAccessible(page, 'access history with an older page');
  });

  it('list views repeated in a day share one row, each of them listed and verified inside it', async () => {
    const page = patientPage;
    const context = { requestId: 'browser-history-list-views', sourceAddress: '127.0.0.1' };
    await server.services.db.transaction().execute(async (tx) => {
      for (let i = 0; i < 3; i++) {
        await appendAuditEntry(tx, context, { kind: 'access', type: 'record.read', outcome: 'allowed', actorUserId: officer.userId, actorRole: 'care_team', patientId, resourceType: 'patient_list', resourceId: patientId, purpose: 'care', detail: { reason: 'granted' } });
      }
    });
    await server.services.audit.integrator.flush();
    await page.reload();
    await summary(page).locator('.alert-success, .alert-error').waitFor();
    const grouped = page.locator('tr[data-leaf-indexes]');
    expect(await grouped.count()).toBe(1);
    expect((await grouped.getAttribute('data-leaf-indexes'))!.split(' ')).toHaveLength(3);
    await expect.poll(() => grouped.locator('td').last().textContent(), { timeout: 10_000 }).toBe('Vérifié ✓');
    expect(await grouped.textContent()).toContain('(dans sa liste de patients)');
    const times = grouped.getByText('3 fois ce jour-là : voir les heures');
    await times.focus();
    await page.keyboard.press('Enter');
    const listed = grouped.locator('li[data-leaf-index]');
    await expect.poll(() => listed.count()).toBe(3);
    for (let i = 0; i < 3; i++) expect(await listed.nth(i).textContent()).toContain('Vérifié');
    await expectAccessible(page, 'access history with repeated list views');
  });
});
