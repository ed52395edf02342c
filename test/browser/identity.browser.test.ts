// The web app in a real Chromium against the real server: first-run setup, patient sign-up with TOTP,
// passkeys through a virtual authenticator, accessibility (axe-core, WCAG 2.1 A/AA) on every page in both
// languages, a keyboard-only login, and the weight of the login page.
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueSetupToken } from '../../src/admin/setup.js';
import { strongPassword, totpCode, uniqueEmail } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { Browsers, buildWebApp, CHROMIUM, expectAccessible, switchLanguage } from '../support/browser.js';

/** Login page: JS + CSS, gzip. React 19 alone is ~69 KB. */
const LOGIN_PAGE_GZIP_BUDGET = 95_000;
/** Login page: JS + CSS bytes on the wire; the server sends the build's pre-compressed (brotli) files. */
const LOGIN_PAGE_TRANSFER_BUDGET = 90_000;

let server: TestServer;
let webDir: string;
const browsers = new Browsers();
const admin = { email: uniqueEmail('admin'), password: strongPassword(), totpSecret: '' };
let invitationLink = '';

function newPage(): Promise<{ context: BrowserContext; page: Page }> {
  return browsers.newPage();
}

async function open(page: Page, route: string): Promise<void> {
  await page.goto(`${server.url}/#${route}`);
  await page.locator('h1').first().waitFor();
}

/** Checks the current page in French, then in English, and leaves it in French. */
async function expectAccessibleInBothLanguages(page: Page, label: string): Promise<void> {
  await expectAccessible(page, `${label} (fr)`);
  await switchLanguage(page, 'en');
  await expectAccessible(page, `${label} (en)`);
  await switchLanguage(page, 'fr');
}

/** A TOTP code at the server's clock, one time step later than any code used before. */
function nextTotp(secret: string): string {
  server.advanceClock(30_000);
  return totpCode(secret, server.services.now());
}

/** On #/securite: set up the authenticator app, confirm it, and acknowledge the recovery codes. */
async function enrolTotp(page: Page, checkA11y = false): Promise<{ secret: string; codes: string[] }> {
  await page.getByRole('button', { name: 'Configurer une application' }).click();
  const secret = (await page.getByTestId('totp-secret').textContent())?.trim() ?? '';
  expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
  await expect.poll(() => page.getByRole('img', { name: /QR code/ }).count()).toBe(1);
  if (checkA11y) await expectAccessibleInBothLanguages(page, 'security: TOTP enrolment');
  await page.getByLabel('Code affiché par l’application').fill(nextTotp(secret));
  await page.getByRole('button', { name: 'Activer', exact: true }).click();
  await page.getByRole('heading', { name: 'Vos codes de secours' }).waitFor();
  const codes = (await page.getByTestId('recovery-codes').locator('li').allTextContents()).map((c) => c.trim());
  expect(codes).toHaveLength(10);
  if (checkA11y) await expectAccessibleInBothLanguages(page, 'security: recovery codes');
  await page.getByLabel('J’ai enregistré mes codes de secours').check();
  await page.getByRole('button', { name: 'Continuer' }).click();
  await page.getByRole('heading', { name: 'Application d’authentification' }).waitFor();
  return { secret, codes };
}

async function logOut(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Se déconnecter', exact: true }).click();
  await page.waitForURL(/#\/connexion$/);
  await page.getByRole('heading', { name: 'Connexion', level: 1 }).waitFor();
}

async function signUp(page: Page, email: string, password: string): Promise<void> {
  await open(page, '/inscription');
  await page.getByLabel('Établissement').selectOption({ label: 'Centre de santé Ausculta' });
  await page.getByLabel('Adresse e-mail').fill(email);
  await page.getByLabel('Nom affiché').fill('Jeanne Martin');
  await page.getByLabel('Mot de passe', { exact: true }).fill(password);
  await page.getByLabel('Nom de naissance').fill('Martin');
  await page.getByLabel('Prénoms').fill('Jeanne Louise');
  await page.getByLabel('Date de naissance').fill('1980-05-17');
  await page.getByLabel('Féminin').check();
  await page.getByLabel('Code INSEE du lieu de naissance').fill('75056');
  await page.getByRole('button', { name: 'Créer mon compte' }).click();
  await page.waitForURL(/#\/securite$/);
  await page.getByRole('heading', { name: 'Sécurité du compte' }).waitFor();
}

describe.skipIf(!existsSync(CHROMIUM))('web app in Chromium', { timeout: 180_000 }, () => {
  beforeAll(async () => {
    webDir = await buildWebApp();
    server = await startTestServer({ WEB_DIR: webDir });
  }, 120_000);

  afterAll(async () => {
    await browsers.close();
    await server?.close();
    if (webDir) await rm(webDir, { recursive: true, force: true });
  });

  it('first run: the installation page creates the organisation and its administrator, who enrols TOTP', async () => {
    const { page } = await newPage();
    await page.goto(server.url);
    await page.waitForURL(/#\/installation$/);
    await page.getByRole('heading', { name: 'Installation' }).waitFor();
    await expectAccessibleInBothLanguages(page, 'installation');

    const token = await issueSetupToken(server.services.db, server.services.now());
    await page.getByLabel('Jeton d’installation').fill(token ?? '');
    await page.getByLabel('Nom de l’organisation').fill('Centre de santé Ausculta');
    await page.getByLabel('Adresse e-mail').fill(admin.email);
    await page.getByLabel('Nom affiché').fill('Camille Admin');
    await page.getByLabel('Mot de passe', { exact: true }).fill(admin.password);
    await page.getByRole('button', { name: 'Installer Ausculta' }).click();
    await page.waitForURL(/#\/securite$/);
    admin.totpSecret = (await enrolTotp(page, true)).secret;

    // The administrator invites a patient; the mailed link opens the invitation page.
    await open(page, '/admin');
    const invitee = uniqueEmail('invitee');
    await page.getByLabel('Adresse e-mail').fill(invitee);
    await page.getByRole('group', { name: 'Rôles', exact: true }).getByLabel('Patient').check();
    await page.getByRole('button', { name: 'Envoyer l’invitation' }).click();
    await page.getByText(`Invitation envoyée à ${invitee}.`).waitFor();
    await page.getByRole('listitem').filter({ hasText: invitee }).waitFor();
    invitationLink = await server.smtp.waitForLink(invitee);
    expect(invitationLink).toContain('/#/invitation?token=');

    // Roles are checkboxes per member, saved per member.
    await page.getByRole('group', { name: /Camille Admin/ }).getByLabel('Responsable sécurité et données').check();
    await page.getByRole('button', { name: 'Enregistrer les rôles de Camille Admin' }).click();
    await page.getByText('Rôles de Camille Admin enregistrés.').waitFor();
    await open(page, '/accueil');
    await page.getByRole('heading', { name: 'Journal d’audit' }).waitFor();
    await page.getByRole('link', { name: 'Gérer les membres et les invitations' }).waitFor();
  });

  it('a patient signs up, enrols TOTP, logs out, and logs back in with password and TOTP', async () => {
    const { page, context } = await newPage();
    const email = uniqueEmail('patient');
    const password = strongPassword();
    await signUp(page, email, password);
    await page.getByText('Compte créé. Protégez-le maintenant avec un second facteur.').waitFor();

    // Before any second factor, home says health data stays hidden (and that booking remains possible).
    await open(page, '/accueil');
    await page.getByRole('heading', { name: 'Ajoutez un second facteur' }).waitFor();
    await page.getByText('Vous pouvez toutefois déjà prendre rendez-vous.', { exact: false }).waitFor();

    await open(page, '/securite');
    const download = page.waitForEvent('download');
    const enrolment = enrolTotpWithDownload(page);
    const { secret, codes } = await enrolment;
    const file = await download;
    expect(file.suggestedFilename()).toMatch(/\.txt$/);
    const text = await readFile((await file.path()) ?? '', 'utf8');
    for (const code of codes) expect(text).toContain(code);
    await page.getByText('Activée.', { exact: true }).waitFor();

    await logOut(page);
    await page.getByLabel('Adresse e-mail').fill(email);
    await page.getByLabel('Mot de passe', { exact: true }).fill(password);
    await page.getByRole('button', { name: 'Se connecter', exact: true }).click();
    await page.getByRole('heading', { name: 'Vérification en deux étapes' }).waitFor();
    await page.getByLabel('Code de votre application d’authentification').fill(nextTotp(secret));
    await page.getByRole('button', { name: 'Vérifier' }).click();
    await page.waitForURL(/#\/accueil$/);
    await page.getByRole('heading', { name: 'Patient', level: 2 }).waitFor();
    await page.getByRole('heading', { name: 'Mes rendez-vous' }).waitFor();
    expect(await page.getByRole('heading', { name: 'Ajoutez un second facteur' }).count()).toBe(0);
    expect(await page.title()).toBe('Accueil — Ausculta');
    await context.close();
  });

  it('a sensitive change after the re-authentication window asks for the password inline, then goes through', async () => {
    const { page, context } = await newPage();
    const password = strongPassword();
    await signUp(page, uniqueEmail('reauth'), password);
    server.advanceClock(6 * 60_000);
    const newEmail = uniqueEmail('moved');
    await page.getByLabel('Nouvelle adresse e-mail').fill(newEmail);
    await page.getByRole('button', { name: 'Changer l’adresse' }).click();
    const prompt = page.locator('form.reauth');
    await prompt.getByRole('heading', { name: 'Confirmez votre identité' }).waitFor();
    await prompt.getByLabel('Mot de passe', { exact: true }).fill('not my password');
    await prompt.getByRole('button', { name: 'Confirmer' }).click();
    await prompt.getByRole('alert').getByText('Mot de passe incorrect.').waitFor();
    await expectAccessible(page, 'security: re-authentication');
    await prompt.getByLabel('Mot de passe', { exact: true }).fill(password);
    await prompt.getByRole('button', { name: 'Confirmer' }).click();
    await page.getByText('Adresse e-mail changée. Vos autres sessions ont été fermées.').waitFor();
    await page.getByText(newEmail, { exact: true }).waitFor();
    expect(await prompt.count()).toBe(0);
    await context.close();
  });

  it('a forgotten password is reset through the mailed link', async () => {
    const { page, context } = await newPage();
    const email = uniqueEmail('forgot');
    await signUp(page, email, strongPassword());
    await logOut(page);
    await page.getByRole('link', { name: 'Mot de passe oublié ?' }).click();
    await page.getByLabel('Adresse e-mail').fill(email);
    await page.getByRole('button', { name: 'Recevoir le lien' }).click();
    await page.getByText('Si un compte correspond à cette adresse', { exact: false }).waitFor();
    const link = await server.smtp.waitForLink(email);
    expect(link).toContain('/#/reinitialisation?token=');
    await page.goto(link);
    const newPassword = strongPassword();
    await page.getByLabel('Nouveau mot de passe').fill(newPassword);
    await page.getByRole('button', { name: 'Enregistrer le mot de passe' }).click();
    await page.getByText('Mot de passe enregistré.', { exact: false }).waitFor();
    await page.getByRole('link', { name: 'Retour à la connexion' }).click();
    await page.getByLabel('Adresse e-mail').fill(email);
    await page.getByLabel('Mot de passe', { exact: true }).fill(newPassword);
    await page.getByRole('button', { name: 'Se connecter', exact: true }).click();
    await page.waitForURL(/#\/accueil$/);
    await page.getByRole('heading', { name: 'Ajoutez un second facteur' }).waitFor();
    await context.close();
  });

  it('a passkey enrolled on the security page logs in alone, without e-mail or password', async () => {
    const { page, context } = await newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
    });
    await signUp(page, uniqueEmail('passkey'), strongPassword());
    await page.getByLabel('Nom de la clé').fill('Ordinateur de test');
    await page.getByRole('button', { name: 'Ajouter une clé d’accès' }).click();
    await page.getByRole('heading', { name: 'Vos codes de secours' }).waitFor();
    await page.getByLabel('J’ai enregistré mes codes de secours').check();
    await page.getByRole('button', { name: 'Continuer' }).click();
    await page.getByText('Ordinateur de test').waitFor();

    await logOut(page);
    await page.getByRole('button', { name: 'Se connecter avec une clé d’accès' }).click();
    await page.waitForURL(/#\/accueil$/);
    await page.getByRole('heading', { name: 'Mes rendez-vous' }).waitFor();
    await context.close();
  });

  it('every page passes axe-core (WCAG 2.1 A and AA) in French and in English', async () => {
    const { page } = await newPage();
    for (const route of ['/connexion', '/inscription', '/mot-de-passe-oublie', '/reinitialisation?token=not-a-real-token', '/nulle-part']) {
      await open(page, route);
      await expectAccessibleInBothLanguages(page, route);
    }
    await page.goto(invitationLink);
    await page.getByText('Vous êtes invité à rejoindre Centre de santé Ausculta.').waitFor();
    await expectAccessibleInBothLanguages(page, 'invitation');

    await open(page, '/connexion');
    await page.getByLabel('Adresse e-mail').fill(admin.email);
    await page.getByLabel('Mot de passe', { exact: true }).fill(admin.password);
    await page.getByRole('button', { name: 'Se connecter', exact: true }).click();
    await page.getByRole('heading', { name: 'Vérification en deux étapes' }).waitFor();
    await expectAccessibleInBothLanguages(page, 'login: second factor');
    await page.getByRole('button', { name: 'Utiliser un code de secours' }).click();
    await expectAccessible(page, 'login: recovery code');
    await page.getByRole('button', { name: 'Utiliser l’application d’authentification' }).click();
    await page.getByLabel('Code de votre application d’authentification').fill(nextTotp(admin.totpSecret));
    await page.getByRole('button', { name: 'Vérifier' }).click();
    await page.waitForURL(/#\/accueil$/);

    for (const route of ['/accueil', '/securite', '/admin']) {
      await open(page, route);
      if (route !== '/accueil') await page.getByRole('heading', { level: 2 }).first().waitFor();
      await expectAccessibleInBothLanguages(page, route);
    }
    // A wrong code shows an announced error, checked too.
    await logOut(page);
    await page.getByLabel('Adresse e-mail').fill(admin.email);
    await page.getByLabel('Mot de passe', { exact: true }).fill('not the password');
    await page.getByRole('button', { name: 'Se connecter', exact: true }).click();
    await page.getByRole('alert').waitFor();
    await expectAccessible(page, 'login: error');
  });

  it('an invited patient accepts the invitation with identity traits and lands on the security page', async () => {
    const { page, context } = await newPage();
    await page.goto(invitationLink);
    await page.getByText('Vous êtes invité à rejoindre Centre de santé Ausculta.').waitFor();
    await page.getByLabel('Nom affiché').fill('Paul Invité');
    await page.getByLabel('Mot de passe', { exact: true }).fill(strongPassword());
    await page.getByLabel('Nom de naissance').fill('Durand');
    await page.getByLabel('Prénoms').fill('Paul');
    await page.getByLabel('Date de naissance').fill('1975-02-03');
    await page.getByLabel('Masculin').check();
    await page.getByLabel('Code INSEE du lieu de naissance').fill('33063');
    await page.getByRole('button', { name: 'Accepter l’invitation' }).click();
    await page.waitForURL(/#\/securite$/);
    await page.getByText('Bienvenue ! Protégez maintenant votre compte avec un second facteur.').waitFor();
    await context.close();
  });

  it('the login form works with the keyboard alone', async () => {
    const { page } = await newPage();
    await open(page, '/connexion');
    const focused = () => page.evaluate('document.activeElement && (document.activeElement.getAttribute("name") || document.activeElement.textContent)');
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('Aller au contenu');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('email');
    await page.keyboard.type(admin.email);
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('password');
    await page.keyboard.type(admin.password);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Vérification en deux étapes' }).waitFor();
    expect(await focused()).toBe('Vérification en deux étapes');
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('code');
    await page.keyboard.type(nextTotp(admin.totpSecret));
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/accueil$/);
    await page.getByRole('heading', { name: 'Accueil', level: 1 }).waitFor();
    expect(await focused()).toBe('Accueil');
  });

  it('the login page stays light', async () => {
    const { page } = await newPage();
    const assets: Array<{ url: string; type: string; transferred: number; gzip: number; encoding: string }> = [];
    page.on('requestfinished', (request) => {
      const type = request.resourceType();
      if (type !== 'script' && type !== 'stylesheet') return;
      void (async () => {
        const response = await request.response();
        if (!response) return;
        const sizes = await request.sizes();
        const body = await response.body();
        assets.push({
          url: request.url(),
          type,
          transferred: sizes.responseBodySize + sizes.responseHeadersSize,
          gzip: gzipSync(body, { level: 9 }).length,
          encoding: response.headers()['content-encoding'] ?? 'identity',
        });
      })();
    });
    await page.goto(`${server.url}/#/connexion`, { waitUntil: 'networkidle' });
    await page.locator('h1').waitFor();
    await expect.poll(() => assets.length).toBeGreaterThanOrEqual(2);
    const transferred = assets.reduce((sum, a) => sum + a.transferred, 0);
    const gzip = assets.reduce((sum, a) => sum + a.gzip, 0);
    for (const a of assets) console.log(`  ${a.type.padEnd(10)} ${String(a.transferred).padStart(7)} B on the wire (${a.encoding}), ${a.gzip} B gzip  ${new URL(a.url).pathname}`);
    console.log(`login page JS + CSS: ${transferred} B transferred, ${gzip} B gzip (budget ${LOGIN_PAGE_GZIP_BUDGET} B gzip)`);
    expect(assets.some((a) => a.url.includes('/esm-')), 'the passkey library loads only on demand').toBe(false);
    expect(gzip).toBeLessThan(LOGIN_PAGE_GZIP_BUDGET);
    expect(transferred).toBeLessThan(LOGIN_PAGE_TRANSFER_BUDGET);
  });
});

/** enrolTotp, with the recovery codes also downloaded as text before acknowledging them. */
async function enrolTotpWithDownload(page: Page): Promise<{ secret: string; codes: string[] }> {
  await page.getByRole('button', { name: 'Configurer une application' }).click();
  const secret = (await page.getByTestId('totp-secret').textContent())?.trim() ?? '';
  await page.getByLabel('Code affiché par l’application').fill(nextTotp(secret));
  await page.getByRole('button', { name: 'Activer', exact: true }).click();
  await page.getByRole('heading', { name: 'Vos codes de secours' }).waitFor();
  const codes = (await page.getByTestId('recovery-codes').locator('li').allTextContents()).map((c) => c.trim());
  expect(codes).toHaveLength(10);
  await page.getByRole('button', { name: 'Télécharger les codes (.txt)' }).click();
  await page.getByLabel('J’ai enregistré mes codes de secours').check();
  await page.getByRole('button', { name: 'Continuer' }).click();
  await page.getByRole('heading', { name: 'Application d’authentification' }).waitFor();
  return { secret, codes };
}
