// OAuth 2.0 / SMART on FHIR in a real Chromium against the real server. The organisation's administrator
// registers an application on #/admin with the keyboard (its redirect URI: a small HTTP server of this
// test on 127.0.0.1 that records what it receives), sees the secret of a confidential one once, and
// revokes that one. A signed-out patient opens /oauth/authorize (PKCE S256), is sent to log in, comes
// back to the consent page, reads what the application asks in plain words (French and English, axe-core
// WCAG 2.1 A/AA), and allows with the keyboard; the application receives its code and state, exchanges
// the code at /oauth/token and reads the patient's record with the token, until the patient revokes it on
// #/securite. A refusal sends access_denied back; an unknown application gets an error and no redirect;
// a request the server refuses with a way back offers "Retourner à l'application". Loopback only.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrolTotp, setupOrganisation, signUpPatient, type Account } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { Browsers, buildWebApp, CHROMIUM, expectAccessible, logInWithTotp, submitLoginWithTotp, switchLanguage } from '../support/browser.js';

const APP_NAME = 'Carnet de santé connecté';
const SCOPE = 'patient/Observation.rs patient/Patient.r offline_access';

let server: TestServer;
let webDir: string;
let admin: Account & { organisationId: string };
let patient: Account;
let callback: CallbackServer;
let clientId = '';
const browsers = new Browsers();

/** The application's side: an HTTP server on 127.0.0.1 that records the query of each request it receives. */
interface CallbackServer {
  url: string;
  received: URLSearchParams[];
  close(): Promise<void>;
}

async function startCallbackServer(): Promise<CallbackServer> {
  const received: URLSearchParams[] = [];
  const http: Server = createServer((request, response) => {
    received.push(new URL(request.url ?? '/', 'http://127.0.0.1').searchParams);
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end('<!doctype html><html lang="fr"><title>Application de test</title><h1>Retour reçu</h1></html>');
  });
  await new Promise<void>((done) => http.listen(0, '127.0.0.1', done));
  const { port } = http.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/callback`, received, close: () => new Promise<void>((done) => http.close(() => done())) };
}

/** An authorization request as the application would build it, with PKCE S256 (RFC 7636). */
function authorizationRequest(overrides: Record<string, string | null> = {}): { url: string; state: string; verifier: string } {
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(12).toString('hex');
  const params: Record<string, string | null> = {
    response_type: 'code',
    client_id: clientId,
    redirect_uri: callback.url,
    scope: SCOPE,
    state,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    aud: `${server.url}/fhir/R4`,
    ...overrides,
  };
  const query = new URLSearchParams(Object.entries(params).filter((entry): entry is [string, string] => entry[1] !== null));
  return { url: `${server.url}/oauth/authorize?${query}`, state, verifier };
}

/** What the application received with `state`. */
async function receivedFor(state: string): Promise<URLSearchParams> {
  await expect.poll(() => callback.received.some((p) => p.get('state') === state), { timeout: 10_000 }).toBe(true);
  return callback.received.find((p) => p.get('state') === state)!;
}

async function tokenRequest(form: Record<string, string>): Promise<{ status: number; body: any }> {
  const response = await fetch(`${server.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });
  return { status: response.status, body: await response.json() };
}

async function fhirRead(path: string, token: string): Promise<{ status: number; body: any }> {
  const response = await fetch(`${server.url}/fhir/R4/${path}`, { headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json' } });
  return { status: response.status, body: await response.json().catch(() => undefined) };
}

const activeText = (page: Page) => page.evaluate(() => (globalThis as any).document.activeElement?.textContent as string | undefined);
const activeLabel = (page: Page) => page.evaluate(() => (globalThis as any).document.activeElement?.labels?.[0]?.textContent as string | undefined);

/** Tab until the focused element's text is `text` (a bounded number of stops). */
async function tabTo(page: Page, text: string): Promise<void> {
  for (let stops = 0; stops < 12 && (await activeText(page))?.trim() !== text; stops++) await page.keyboard.press('Tab');
  expect((await activeText(page))?.trim()).toBe(text);
}

describe.skipIf(!existsSync(CHROMIUM))('OAuth 2.0 / SMART on FHIR in Chromium', { timeout: 240_000 }, () => {
  beforeAll(async () => {
    webDir = await buildWebApp();
    server = await startTestServer({ WEB_DIR: webDir, SESSION_IDLE_MINUTES: '120' });
    callback = await startCallbackServer();
    admin = await setupOrganisation(server);
    patient = await signUpPatient(server, admin.organisationId);
    server.advanceClock(30_000);
    await enrolTotp(server, patient);
  }, 180_000);

  afterAll(async () => {
    await browsers.close();
    await callback?.close();
    await server?.close();
    if (webDir) await rm(webDir, { recursive: true, force: true });
  });

  it('the organisation administrator registers an application with the keyboard, sees a secret once, revokes an application', async () => {
    const { page } = await browsers.newPage();
    await logInWithTotp(server, page, admin);
    await page.getByRole('navigation').getByRole('link', { name: 'Administration' }).click();
    await page.getByRole('heading', { name: 'Applications connectées (OAuth 2.0 / SMART)', level: 2 }).waitFor();
    await page.getByText('Aucune application enregistrée.').waitFor();
    await expectAccessible(page, 'admin: applications, none (fr)');

    // A public application (PKCE), with the keyboard alone.
    await page.getByLabel('Nom de l’application').focus();
    await page.keyboard.type(APP_NAME);
    await page.keyboard.press('Tab');
    expect(await activeLabel(page)).toBe('Adresses de retour (redirect_uri)');
    await page.keyboard.type(callback.url);
    await page.keyboard.press('Tab');
    expect(await activeLabel(page)).toBe('Application confidentielle (avec un secret client)');
    await page.keyboard.press('Tab');
    expect(await activeText(page)).toBe('Enregistrer l’application');
    await page.keyboard.press('Enter');
    const created = page.getByTestId('application-created');
    await created.getByRole('heading', { name: `Application enregistrée : ${APP_NAME}` }).waitFor();
    await expect.poll(() => activeText(page)).toBe(`Application enregistrée : ${APP_NAME}`);
    clientId = ((await page.getByTestId('client-id').textContent()) ?? '').trim();
    expect(clientId).not.toBe('');
    expect(await page.getByTestId('client-secret').count()).toBe(0);
    await page.getByRole('button', { name: 'Fermer' }).press('Enter');
    expect(await created.count()).toBe(0);

    // A redirect URI in plain http elsewhere than on loopback: the server's message, focused.
    await page.getByLabel('Nom de l’application').fill('Application non sûre');
    await page.getByLabel('Adresses de retour (redirect_uri)').fill('http://example.com/callback');
    await page.getByRole('button', { name: 'Enregistrer l’application' }).click();
    const refused = page.getByRole('alert').filter({ hasText: 'http://example.com/callback' });
    await refused.waitFor();
    await expect.poll(() => activeText(page)).toContain('http://example.com/callback');
    await expectAccessible(page, 'admin: application refused (fr)');

    // A confidential one: its secret is shown once, with a warning.
    await page.getByLabel('Nom de l’application').fill('Serveur du cabinet');
    await page.getByLabel('Adresses de retour (redirect_uri)').fill('https://cabinet.example/callback\nhttps://cabinet.example/autre-retour');
    await page.getByLabel('Application confidentielle (avec un secret client)').check();
    await page.getByRole('button', { name: 'Enregistrer l’application' }).click();
    await created.getByRole('heading', { name: 'Application enregistrée : Serveur du cabinet' }).waitFor();
    const secret = ((await page.getByTestId('client-secret').textContent()) ?? '').trim();
    expect(secret.length).toBeGreaterThan(20);
    await created.getByText('il ne sera plus jamais affiché').waitFor();
    await expectAccessible(page, 'admin: application created with its secret (fr)');
    await switchLanguage(page, 'en');
    await page.getByRole('heading', { name: 'Connected applications (OAuth 2.0 / SMART)', level: 2 }).waitFor();
    await created.getByText('it will never be shown again').waitFor();
    await expectAccessible(page, 'admin: application created with its secret (en)');
    await switchLanguage(page, 'fr');

    // Not shown again.
    await page.reload();
    const list = page.getByTestId('applications');
    await list.getByText('Serveur du cabinet').waitFor();
    expect(await page.locator('body').textContent()).not.toContain(secret);
    expect(await list.locator(':scope > li').count()).toBe(2);

    // Revoked, after the inline confirmation.
    await page.getByRole('button', { name: 'Révoquer l’application Serveur du cabinet' }).press('Enter');
    await expect.poll(() => activeText(page)).toBe('Confirmer');
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: 'L’application « Serveur du cabinet » est révoquée.' }).waitFor();
    await list.locator(':scope > li').filter({ hasText: 'Serveur du cabinet' }).getByText('Révoquée', { exact: true }).waitFor();
    expect(await page.getByRole('button', { name: 'Révoquer l’application Serveur du cabinet' }).count()).toBe(0);
    await page.getByRole('button', { name: `Révoquer l’application ${APP_NAME}` }).waitFor();
    await expectAccessible(page, 'admin: applications listed (fr)');

    const stored = await admin.client.get(`/api/admin/organisations/${admin.organisationId}/applications`);
    expect(stored.status).toBe(200);
    const byName = new Map<string, any>(stored.body.applications.map((a: any) => [a.name, a]));
    expect(byName.get(APP_NAME)).toMatchObject({ clientId, redirectUris: [callback.url], confidential: false, revokedAt: null });
    expect(byName.get('Serveur du cabinet')).toMatchObject({ redirectUris: ['https://cabinet.example/callback', 'https://cabinet.example/autre-retour'], confidential: true });
    expect(byName.get('Serveur du cabinet').revokedAt).not.toBeNull();
  });

  it('a signed-out patient logs in, allows the application with the keyboard; it reads the record until the patient revokes it', async () => {
    expect(clientId).not.toBe('');
    const { page } = await browsers.newPage();
    const request = authorizationRequest();
    await page.goto(request.url);
    await page.waitForURL(/#\/connexion$/);
    await page.getByRole('heading', { name: 'Connexion', level: 1 }).waitFor();
    await submitLoginWithTotp(server, page, patient);

    // Back on the consent page, after the second factor, with the request intact.
    await page.waitForURL(/#\/autoriser\?/);
    await page.getByRole('heading', { name: 'Autoriser une application', level: 1 }).waitFor();
    expect(new URL(page.url()).hash).toBe(`#/autoriser?${new URL(request.url).search.slice(1)}`);
    await page.getByText(`${APP_NAME}, enregistrée par Centre de santé de test, demande à agir en votre nom.`).waitFor();
    expect((await page.getByTestId('authorize-scopes').locator('li').allTextContents()).sort()).toEqual(['Lire et rechercher vos observations (mesures et constantes)', 'Lire votre fiche d’identité']);
    await page.getByText('Elle gardera cet accès même quand vous n’êtes pas connecté, jusqu’à ce que vous le révoquiez dans « Sécurité ».').waitFor();
    expect(await page.getByTestId('authorize-host').textContent()).toBe(new URL(callback.url).host);
    expect(await page.title()).toBe('Autoriser une application — Ausculta');
    await expectAccessible(page, 'consent page (fr)');
    await switchLanguage(page, 'en');
    await page.getByRole('heading', { name: 'Authorise an application', level: 1 }).waitFor();
    expect((await page.getByTestId('authorize-scopes').locator('li').allTextContents()).sort()).toEqual(['Read and search your observations (measurements and vital signs)', 'Read your identity record']);
    await page.getByRole('button', { name: 'Allow' }).waitFor();
    await expectAccessible(page, 'consent page (en)');
    await switchLanguage(page, 'fr');
    expect(callback.received).toHaveLength(0);

    // Allowed with the keyboard: the application receives a code and its state.
    await page.getByRole('heading', { name: 'Autoriser une application', level: 1 }).focus();
    await tabTo(page, 'Autoriser');
    await page.keyboard.press('Enter');
    const answer = await receivedFor(request.state);
    expect(answer.get('error')).toBeNull();
    const code = answer.get('code') ?? '';
    expect(code).not.toBe('');
    await page.waitForURL((url) => url.href.startsWith(callback.url));

    // The application exchanges the code (PKCE) and reads the record with its token.
    const tokens = await tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: callback.url, client_id: clientId, code_verifier: request.verifier });
    expect(tokens.status).toBe(200);
    expect(tokens.body.token_type).toBe('Bearer');
    expect(tokens.body.scope.split(' ').sort()).toEqual(SCOPE.split(' ').sort());
    expect(typeof tokens.body.refresh_token).toBe('string');
    const token: string = tokens.body.access_token;
    const read = await fhirRead(`Patient/${patient.userId}`, token);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ resourceType: 'Patient', id: patient.userId });
    expect((await fhirRead(`Observation?patient=${patient.userId}`, token)).status).toBe(200);
    expect((await fhirRead(`Condition?patient=${patient.userId}`, token)).status).toBe(403);

    // The patient finds it on the security page and revokes it with the keyboard.
    await page.goto(`${server.url}/#/securite`);
    const card = page.locator('section').filter({ has: page.getByRole('heading', { name: 'Applications autorisées', level: 2 }) });
    const item = card.getByTestId('oauth-grants').locator(':scope > li').filter({ hasText: APP_NAME });
    await item.waitFor();
    const text = (await item.textContent()) ?? '';
    expect(text).toContain('Enregistrée par Centre de santé de test');
    expect(text).toContain('Lire et rechercher vos observations (mesures et constantes)');
    expect(text).toContain('Lire votre fiche d’identité');
    expect(text).toContain('Garder l’accès sans votre présence, jusqu’à révocation');
    expect(text).toMatch(/Autorisée le .+ · dernière utilisation (?!jamais)/);
    await expectAccessible(page, 'security: authorised applications (fr)');
    await switchLanguage(page, 'en');
    await page.getByRole('heading', { name: 'Authorised applications', level: 2 }).waitFor();
    await expectAccessible(page, 'security: authorised applications (en)');
    await switchLanguage(page, 'fr');

    await page.getByRole('button', { name: `Révoquer l’accès de ${APP_NAME}` }).focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => activeText(page)).toBe('Confirmer');
    await page.keyboard.press('Enter');
    await card.getByRole('status').filter({ hasText: `L’accès de « ${APP_NAME} » est révoqué.` }).waitFor();
    await card.getByText('Aucune application n’a accès à votre compte.').waitFor();
    await expect.poll(() => activeText(page)).toBe('Applications autorisées');
    await expectAccessible(page, 'security: application revoked (fr)');

    // The same token no longer opens anything; nor does the refresh token.
    expect((await fhirRead(`Patient/${patient.userId}`, token)).status).toBe(401);
    expect((await tokenRequest({ grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token, client_id: clientId })).status).toBe(400);
    expect((await patient.client.get('/api/oauth/grants')).body.grants).toEqual([]);
  });

  it('a refusal sends access_denied back to the application', async () => {
    const { page } = await browsers.newPage();
    await logInWithTotp(server, page, patient);
    const request = authorizationRequest();
    await page.goto(request.url);
    await page.getByRole('heading', { name: 'Autoriser une application', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Refuser' }).focus();
    await page.keyboard.press('Enter');
    const answer = await receivedFor(request.state);
    expect(answer.get('error')).toBe('access_denied');
    expect(answer.get('code')).toBeNull();
    await page.waitForURL((url) => url.href.startsWith(callback.url));
    expect((await patient.client.get('/api/oauth/grants')).body.grants).toEqual([]);
  });

  it('an unknown application gets an error and no redirect; a refused request offers the way back', async () => {
    const { page } = await browsers.newPage();
    await logInWithTotp(server, page, patient);
    const before = callback.received.length;

    const unknown = authorizationRequest({ client_id: 'ausculta-inconnue' });
    await page.goto(unknown.url);
    await page.getByRole('heading', { name: 'Demande d’autorisation', level: 1 }).waitFor();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    await expect.poll(() => activeText(page)).toContain((await alert.textContent()) ?? '');
    expect(await page.getByRole('link', { name: 'Retourner à l’application' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Autoriser' }).count()).toBe(0);
    await expectAccessible(page, 'consent page: unknown application (fr)');

    // No PKCE: the server refuses, with the application's address carrying the error.
    const withoutPkce = authorizationRequest({ code_challenge: null, code_challenge_method: null });
    await page.goto(withoutPkce.url);
    const back = page.getByRole('link', { name: 'Retourner à l’application' });
    await back.waitFor();
    expect(await back.getAttribute('href')).toMatch(new RegExp(`^${callback.url.replace(/[.?]/g, '\\$&')}\\?`));
    await expectAccessible(page, 'consent page: refused request (fr)');
    expect(callback.received.length).toBe(before);
    await back.press('Enter');
    const answer = await receivedFor(withoutPkce.state);
    expect(answer.get('error')).toBe('invalid_request');
    expect(answer.get('code')).toBeNull();
  });
});
