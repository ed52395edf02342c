// A SMART on FHIR app running in Chromium on its own origin (another port of 127.0.0.1): after the
// patient's consent, the page exchanges the code with PKCE at the token endpoint and reads the FHIR API
// with its bearer token — cross-origin calls that CORS lets through (src/oauth/cors.ts) — while the
// app's own API (/api/…) stays out of its reach.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browsers, CHROMIUM } from '../support/browser.js';
import { careSetting, type CareSetting } from '../support/consultations.js';
import { startTestServer, type TestServer } from '../support/server.js';

const base64url = (bytes: Buffer) => bytes.toString('base64url');

describe.skipIf(!existsSync(CHROMIUM))('a SMART app in Chromium, on another origin', { timeout: 120_000 }, () => {
  const browsers = new Browsers();
  let server: TestServer;
  let setting: CareSetting;
  let appServer: http.Server;
  let appOrigin: string;
  let clientId: string;

  beforeAll(async () => {
    server = await startTestServer();
    setting = await careSetting(server);
    const created = await setting.patient.client.post(
      '/fhir/R4/Observation',
      JSON.stringify({
        resourceType: 'Observation',
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
        subject: { reference: `Patient/${setting.patient.userId}` },
        effectiveDateTime: new Date(server.services.now() - 60_000).toISOString(),
        valueQuantity: { value: 64, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
      }),
      { 'content-type': 'application/fhir+json' },
    );
    expect(created.status).toBe(201);
    // The application's own web server: one page, which its redirect URI opens.
    appServer = http.createServer((_request, response) => response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><html lang="fr"><title>Agenda santé</title><p>Application</p></html>'));
    await new Promise<void>((resolve) => appServer.listen(0, '127.0.0.1', resolve));
    appOrigin = `http://127.0.0.1:${(appServer.address() as AddressInfo).port}`;
    const registered = await setting.admin.client.post(`/api/admin/organisations/${setting.organisationId}/applications`, { name: 'Agenda santé', redirectUris: [`${appOrigin}/callback`], confidential: false });
    expect(registered.status).toBe(201);
    clientId = registered.body.application.clientId;
  });

  afterAll(async () => {
    await browsers.close();
    await new Promise((resolve) => appServer?.close(resolve));
    await server?.close();
  });

  it('exchanges the code and reads the patient’s observations; cannot read the app’s own API', async () => {
    const verifier = base64url(randomBytes(32));
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: `${appOrigin}/callback`,
      scope: 'patient/*.rs',
      state: base64url(randomBytes(16)),
      code_challenge: base64url(createHash('sha256').update(verifier).digest()),
      code_challenge_method: 'S256',
      aud: `${server.url}/fhir/R4`,
    }).toString();
    // The patient's consent (what #/autoriser does), then the redirect the browser follows.
    expect((await setting.patient.client.get(`/api/oauth/authorization?${query}`)).status).toBe(200);
    const answered = await setting.patient.client.post('/api/oauth/authorization', { query, decision: 'allow' });
    expect(answered.status).toBe(200);
    const redirect = new URL(answered.body.redirect);
    expect(redirect.origin).toBe(appOrigin);

    const { page } = await browsers.newPage();
    await page.goto(redirect.toString());
    const result = await page.evaluate(
      async ({ base, code, verifier, clientId, redirectUri, patientId }) => {
        const tokenAnswer = await fetch(`${base}/oauth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: clientId, code_verifier: verifier }),
        });
        const token = (await tokenAnswer.json()) as { access_token: string; scope: string };
        const search = await fetch(`${base}/fhir/R4/Observation?patient=${patientId}`, { headers: { authorization: `Bearer ${token.access_token}`, accept: 'application/fhir+json' } });
        const bundle = (await search.json()) as { resourceType: string; total: number };
        let ownApi = 'read';
        try {
          await fetch(`${base}/api/session`, { credentials: 'include' });
        } catch {
          ownApi = 'blocked';
        }
        const { origin } = (globalThis as unknown as { location: { origin: string } }).location;
        return { page: origin, token: tokenAnswer.status, scope: token.scope, search: search.status, type: bundle.resourceType, total: bundle.total, ownApi };
      },
      { base: server.url, code: redirect.searchParams.get('code')!, verifier, clientId, redirectUri: `${appOrigin}/callback`, patientId: setting.patient.userId },
    );
    expect(result).toEqual({ page: appOrigin, token: 200, scope: 'patient/*.rs', search: 200, type: 'Bundle', total: 1, ownApi: 'blocked' });
  });
});
