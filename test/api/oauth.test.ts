// OAuth 2.0 / SMART App Launch for other software, over real HTTP with an independent client library
// (openid-client, a certified relying-party implementation) as the application: discovery, registration
// by an organisation's administrator, the user's consent, the code flow with PKCE, bearer access to the
// FHIR API narrowed by scopes and still decided by the gate (and traced with the application's id),
// refresh rotation with replay detection, revocation by the user, the administrator and RFC 7009, and
// the errors of each step.
import { strFromU8, unzipSync } from 'fflate';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../support/client.js';
import { careSetting, insertConsultation, type CareSetting } from '../support/consultations.js';
import { enrolTotp, signUpPatient, type Account } from '../support/factories.js';
import { expectValidFhir } from '../support/fhir.js';
import { startTestServer, type TestServer } from '../support/server.js';

/** fetch, with JSON bodies typed loosely as in the other API tests. */
type LooseResponse = Omit<Response, 'json'> & { json(): Promise<any> };
const call = (input: string, init?: RequestInit) => fetch(input, init) as Promise<LooseResponse>;

const REDIRECT = 'http://127.0.0.1:8765/callback';
let server: TestServer;
let setting: CareSetting;
let otherPatient: Account;
let publicApp: { id: string; clientId: string };
let confidentialApp: { id: string; clientId: string; secret: string };

beforeAll(async () => {
  server = await startTestServer();
  setting = await careSetting(server);
  otherPatient = await signUpPatient(server, setting.organisationId);
  await enrolTotp(server, otherPatient);
  await insertConsultation(server, setting, { status: 'ended', startsInMs: -3600_000 });
  const registered = await setting.admin.client.post(`/api/admin/organisations/${setting.organisationId}/applications`, { name: 'Agenda santé', redirectUris: [REDIRECT], confidential: false });
  publicApp = registered.body.application;
  const secret = await setting.admin.client.post(`/api/admin/organisations/${setting.organisationId}/applications`, { name: 'DPI Hôpital', redirectUris: ['https://dpi.example.org/cb', REDIRECT], confidential: true });
  confidentialApp = { ...secret.body.application, secret: secret.body.clientSecret };
  // The patient's own measure, and one of another patient.
  for (const account of [setting.patient, otherPatient]) {
    const created = await account.client.post('/fhir/R4/Observation', JSON.stringify(heartRate(account.userId)), { 'content-type': 'application/fhir+json' });
    expect(created.status).toBe(201);
  }
});
afterAll(() => server?.close());

function heartRate(patientId: string) {
  return {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: new Date(server.services.now() - 60_000).toISOString(),
    valueQuantity: { value: 72, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
  };
}

/** The application's configuration, discovered from the server's RFC 8414 metadata. */
function configure(clientId: string, auth: oidc.ClientAuth = oidc.None()): Promise<oidc.Configuration> {
  return oidc.discovery(new URL(server.url), clientId, undefined, auth, { algorithm: 'oauth2', execute: [oidc.allowInsecureRequests] });
}

interface Started {
  url: URL;
  verifier: string;
  state: string;
}

async function startAuthorization(config: oidc.Configuration, scope: string, extra: Record<string, string> = {}): Promise<Started> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope, state, code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', aud: `${server.url}/fhir/R4`, ...extra });
  return { url, verifier, state };
}

/** What the consent page does for the user: describe, then answer; returns where the browser is sent. */
async function consent(account: Account, url: URL, decision: 'allow' | 'deny' = 'allow'): Promise<URL> {
  const query = url.search.slice(1);
  const described = await account.client.get(`/api/oauth/authorization?${query}`);
  expect(described.status).toBe(200);
  const answered = await account.client.post('/api/oauth/authorization', { query, decision });
  expect(answered.status).toBe(200);
  return new URL(answered.body.redirect);
}

async function authorise(account: Account, scope: string, config?: oidc.Configuration) {
  const app = config ?? (await configure(publicApp.clientId));
  const started = await startAuthorization(app, scope);
  const back = await consent(account, started.url);
  const tokens = await oidc.authorizationCodeGrant(app, back, { pkceCodeVerifier: started.verifier, expectedState: started.state });
  return { app, tokens, back, started };
}

const bearer = (token: string, path: string, init: RequestInit = {}) =>
  call(`${server.url}/fhir/R4/${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string> | undefined) } });

const form = (path: string, fields: Record<string, string>, headers: Record<string, string> = {}) =>
  call(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(fields).toString() });

describe('discovery', () => {
  it('publishes RFC 8414 metadata, the SMART configuration and the OAuth URIs in the CapabilityStatement', async () => {
    const metadata = await (await call(`${server.url}/.well-known/oauth-authorization-server`)).json();
    expect(metadata).toMatchObject({ issuer: server.url, authorization_endpoint: `${server.url}/oauth/authorize`, token_endpoint: `${server.url}/oauth/token`, code_challenge_methods_supported: ['S256'], response_types_supported: ['code'] });
    const smart = await (await call(`${server.url}/fhir/R4/.well-known/smart-configuration`)).json();
    expect(smart.capabilities).toEqual(expect.arrayContaining(['launch-standalone', 'client-public', 'context-standalone-patient', 'permission-v2', 'permission-offline']));
    const capability = await new Client(server.url).get('/fhir/R4/metadata');
    expectValidFhir(capability.body);
    const uris = capability.body.rest[0].security.extension[0].extension.map((e: { url: string; valueUri: string }) => [e.url, e.valueUri]);
    expect(uris).toContainEqual(['token', `${server.url}/oauth/token`]);
  });

  it('sends the browser from /oauth/authorize to the web app’s consent page with the same query', async () => {
    const answer = await call(`${server.url}/oauth/authorize?client_id=x&state=a%20b`, { redirect: 'manual' });
    expect(answer.status).toBe(302);
    expect(answer.headers.get('location')).toBe('/#/autoriser?client_id=x&state=a%20b');
  });
});

describe('registration by an organisation administrator', () => {
  it('registers public and confidential clients; the secret is shown once and stored hashed; bad URIs and non-administrators are refused', async () => {
    expect(publicApp.clientId).toMatch(/^ausculta-/);
    expect(confidentialApp.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const stored = await server.services.db.selectFrom('oauth_clients').select(['secret_hash']).where('id', '=', confidentialApp.id).executeTakeFirstOrThrow();
    expect(stored.secret_hash).not.toContain(confidentialApp.secret);
    const listed = await setting.admin.client.get(`/api/admin/organisations/${setting.organisationId}/applications`);
    expect(listed.body.applications.map((a: { name: string; confidential: boolean }) => [a.name, a.confidential])).toEqual([['DPI Hôpital', true], ['Agenda santé', false]]);
    expect(JSON.stringify(listed.body)).not.toContain(confidentialApp.secret);
    const path = `/api/admin/organisations/${setting.organisationId}/applications`;
    for (const uri of ['http://evil.example.org/cb', 'https://app.example.org/cb#frag', 'not a url', 'https://user:pw@app.example.org/cb', 'javascript:alert(1)']) {
      const refused = await setting.admin.client.post(path, { name: 'X', redirectUris: [uri], confidential: false });
      expect(refused.status, uri).toBe(400);
      expect(refused.headers.get('content-type')).toContain('application/problem+json');
      expect(refused.body.errors?.[0]?.pointer, uri).toMatch(/^\/redirectUris/);
    }
    expect((await setting.admin.client.post(path, { name: ' ', redirectUris: [REDIRECT], confidential: false })).status).toBe(400);
    expect((await setting.admin.client.post(path, { name: 'X', redirectUris: [], confidential: false })).status).toBe(400);
    for (const someone of [setting.doctor, setting.patient]) {
      expect((await someone.client.post(path, { name: 'X', redirectUris: [REDIRECT], confidential: false })).status).toBe(404);
      expect((await someone.client.get(path)).status).toBe(404);
    }
    const traced = await server.services.db.selectFrom('audit_entries').select(['detail']).where('type', '=', 'application.registered').execute();
    expect(traced.length).toBe(2);
  });
});

describe('the code flow (a patient and their own record)', () => {
  it('grants patient/ scopes: the token reads the patient’s own record, nothing of another patient, and creates nothing', async () => {
    const { tokens, back, started } = await authorise(setting.patient, 'patient/*.rs launch/patient offline_access openid');
    expect(back.origin + back.pathname).toBe(REDIRECT);
    expect(back.searchParams.get('state')).toBe(started.state);
    expect(back.searchParams.get('iss')).toBe(server.url);
    expect(tokens.token_type).toBe('bearer');
    expect(tokens.scope).toBe('patient/*.rs launch/patient offline_access');
    expect(tokens['patient']).toBe(setting.patient.userId);
    expect(tokens.refresh_token).toMatch(/^ausculta_rt_/);
    expect(tokens.expires_in).toBe(900);

    const own = await bearer(tokens.access_token, `Patient/${setting.patient.userId}`);
    expect(own.status).toBe(200);
    expect(own.headers.get('cache-control')).toBe('no-store');
    expectValidFhir(await own.json());
    const observations = await (await bearer(tokens.access_token, `Observation?patient=${setting.patient.userId}`)).json();
    expect(observations.total).toBe(1);
    expect((await bearer(tokens.access_token, `Observation?patient=${otherPatient.userId}`)).status).toBe(404);
    expect((await bearer(tokens.access_token, `Patient/${otherPatient.userId}`)).status).toBe(404);
    // Those refusals are the gate's, traced like any denial (and counted by incident detection).
    const outside = await server.services.db.selectFrom('audit_entries').select(['detail', 'patient_id']).where('kind', '=', 'access').where('outcome', '=', 'denied').where('actor_user_id', '=', setting.patient.userId).execute();
    expect(outside.filter((entry) => (entry.detail as Record<string, unknown>)['reason'] === 'outside_scope' && entry.patient_id === otherPatient.userId)).toHaveLength(2);
    // A search without criteria lists the patient only.
    expect((await (await bearer(tokens.access_token, 'Patient')).json()).total).toBe(1);

    const create = await bearer(tokens.access_token, 'Observation', { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(heartRate(setting.patient.userId)) });
    expect(create.status).toBe(403);
    expect(create.headers.get('www-authenticate')).toMatch(/error="insufficient_scope"/);
    expect((await create.json()).resourceType).toBe('OperationOutcome');

    // Each access is the gate's decision, traced with the application that asked.
    const traces = await server.services.db.selectFrom('audit_entries').select(['detail', 'outcome', 'actor_user_id']).where('kind', '=', 'access').where('actor_user_id', '=', setting.patient.userId).orderBy('id', 'desc').limit(3).execute();
    expect(traces.every((entry) => (entry.detail as Record<string, unknown>)['application'] === publicApp.clientId)).toBe(true);
    const authorised = await server.services.db.selectFrom('audit_entries').select(['detail']).where('type', '=', 'application.authorized').where('actor_user_id', '=', setting.patient.userId).execute();
    expect(authorised.length).toBeGreaterThan(0);
    // The patient's access history names the application.
    await server.services.audit.integrator.flush();
    const history = await setting.patient.client.get('/api/me/access-history');
    const throughApp = history.body.entries.filter((entry: { application: { name: string } | null }) => entry.application?.name === 'Agenda santé');
    expect(throughApp.length).toBeGreaterThanOrEqual(3);
  });

  it('lets a token create when the scope allows it, as the same user and through the same checks', async () => {
    const { tokens } = await authorise(setting.patient, 'patient/Observation.crs');
    const created = await bearer(tokens.access_token, 'Observation', { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(heartRate(setting.patient.userId)) });
    expect(created.status).toBe(201);
    // Bad input is still an OperationOutcome, and the type outside the scope is refused.
    const bad = await bearer(tokens.access_token, 'Observation', { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: '{"resourceType":"Observation"}' });
    expect(bad.status).toBeGreaterThanOrEqual(400);
    expect(bad.status).toBeLessThan(500);
    expect((await bearer(tokens.access_token, `Patient/${setting.patient.userId}`)).status).toBe(403);
    expect(tokens.refresh_token).toBeUndefined();
  });

  it('rotates refresh tokens; replaying a spent one revokes the grant and is traced', async () => {
    const { app, tokens } = await authorise(setting.patient, 'patient/Observation.rs offline_access');
    const refreshed = await oidc.refreshTokenGrant(app, tokens.refresh_token!);
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect((await bearer(refreshed.access_token, `Observation?patient=${setting.patient.userId}`)).status).toBe(200);
    // Narrowing is allowed, widening is not.
    await expect(oidc.refreshTokenGrant(app, refreshed.refresh_token!, { scope: 'patient/*.rs' })).rejects.toMatchObject({ error: 'invalid_scope' });
    const replay = await form('/oauth/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token!, client_id: publicApp.clientId });
    expect(replay.status).toBe(400);
    expect(await replay.json()).toMatchObject({ error: 'invalid_grant' });
    const revoked = await bearer(refreshed.access_token, `Observation?patient=${setting.patient.userId}`);
    expect(revoked.status).toBe(401);
    expect(revoked.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    const traced = await server.services.db.selectFrom('audit_entries').select(['detail', 'subject_user_id']).where('type', '=', 'application.token_replayed').execute();
    expect(traced.at(-1)).toMatchObject({ subject_user_id: setting.patient.userId, detail: { replayed: 'refresh_token' } });
  });

  it('accepts a code once, only with its verifier, redirect URI and client, within a minute', async () => {
    const app = await configure(publicApp.clientId);
    const exchange = (fields: Record<string, string>) => form('/oauth/token', { grant_type: 'authorization_code', client_id: publicApp.clientId, redirect_uri: REDIRECT, ...fields });
    const codeOf = async () => {
      const started = await startAuthorization(app, 'patient/*.rs');
      return { code: (await consent(setting.patient, started.url)).searchParams.get('code')!, verifier: started.verifier };
    };
    let { code, verifier } = await codeOf();
    expect(await (await exchange({ code, code_verifier: oidc.randomPKCECodeVerifier() })).json()).toMatchObject({ error: 'invalid_grant' });
    ({ code, verifier } = await codeOf());
    expect(await (await exchange({ code, code_verifier: verifier, redirect_uri: 'https://dpi.example.org/cb' })).json()).toMatchObject({ error: 'invalid_grant' });
    ({ code, verifier } = await codeOf());
    expect(await (await exchange({ code, code_verifier: verifier, client_id: confidentialApp.clientId, client_secret: confidentialApp.secret })).json()).toMatchObject({ error: 'invalid_grant' });
    ({ code, verifier } = await codeOf());
    server.advanceClock(61_000);
    expect(await (await exchange({ code, code_verifier: verifier })).json()).toMatchObject({ error: 'invalid_grant' });
    // Used twice: the second use fails and the tokens of the first stop working.
    ({ code, verifier } = await codeOf());
    const first = await exchange({ code, code_verifier: verifier });
    expect(first.status).toBe(200);
    const { access_token: token } = await first.json();
    expect((await bearer(token, `Patient/${setting.patient.userId}`)).status).toBe(200);
    expect(await (await exchange({ code, code_verifier: verifier })).json()).toMatchObject({ error: 'invalid_grant' });
    expect((await bearer(token, `Patient/${setting.patient.userId}`)).status).toBe(401);
  });
});

describe('a doctor’s application (user/ scopes)', () => {
  it('sees what the doctor may see, no more; $everything needs the * scope; the officer’s audit view is not reachable with patient scopes', async () => {
    const { tokens } = await authorise(setting.doctor, 'user/Patient.rs user/Observation.rs');
    expect((await bearer(tokens.access_token, `Observation?patient=${setting.patient.userId}`)).status).toBe(200);
    expect((await bearer(tokens.access_token, `Patient/${setting.patient.userId}`)).status).toBe(200);
    expect((await bearer(tokens.access_token, `Patient/${otherPatient.userId}`)).status).toBe(404);
    expect((await bearer(tokens.access_token, `Patient/${setting.patient.userId}/$everything`)).status).toBe(403);
    expect((await bearer(tokens.access_token, `Encounter?patient=${setting.patient.userId}`)).status).toBe(403);
    // An operation returns several types ($document: the report, the patient, the practitioner…): a * scope.
    const reports = await authorise(setting.doctor, 'user/Composition.rs');
    expect((await bearer(reports.tokens.access_token, 'Composition/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await bearer(reports.tokens.access_token, 'Composition/00000000-0000-4000-8000-000000000000/$document')).status).toBe(403);
    const everything = await authorise(setting.doctor, 'user/*.rs');
    const bundle = await bearer(everything.tokens.access_token, `Patient/${setting.patient.userId}/$everything`);
    expect(bundle.status).toBe(200);
    // The second grant to the same application replaced the first.
    expect((await bearer(tokens.access_token, `Patient/${setting.patient.userId}`)).status).toBe(401);
  });

  it('accepts a registered loopback redirect URI on another port (RFC 8252 §7.3), the token exchange then bound to it', async () => {
    const app = await configure(confidentialApp.clientId, oidc.ClientSecretPost(confidentialApp.secret));
    const verifier = oidc.randomPKCECodeVerifier();
    const redirect = 'http://127.0.0.1:40123/callback';
    const url = oidc.buildAuthorizationUrl(app, { redirect_uri: redirect, scope: 'user/Patient.r', state: 's', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    const back = await consent(setting.doctor, url);
    expect(back.origin).toBe('http://127.0.0.1:40123');
    const code = back.searchParams.get('code')!;
    const exchange = (redirectUri: string) => form('/oauth/token', { grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier, client_id: confidentialApp.clientId, client_secret: confidentialApp.secret });
    expect(await (await exchange(REDIRECT)).json()).toMatchObject({ error: 'invalid_grant' });
    const again = await consent(setting.doctor, url);
    const tokens = await oidc.authorizationCodeGrant(app, again, { pkceCodeVerifier: verifier, expectedState: 's' });
    expect((await bearer(tokens.access_token, `Patient/${setting.patient.userId}`)).status).toBe(200);
  });

  it('refuses patient/ scopes to an account that is not a patient', async () => {
    const app = await configure(publicApp.clientId);
    const started = await startAuthorization(app, 'patient/*.rs');
    const refused = await setting.doctor.client.get(`/api/oauth/authorization?${started.url.search.slice(1)}`);
    expect(refused.status).toBe(400);
    const redirect = new URL(refused.body.redirect);
    expect(redirect.searchParams.get('error')).toBe('invalid_scope');
    expect(redirect.searchParams.get('state')).toBe(started.state);
  });
});

describe('the consent API', () => {
  it('never redirects for an unknown client or an unregistered redirect URI; redirects other errors with the state; the refusal too', async () => {
    const app = await configure(publicApp.clientId);
    const started = await startAuthorization(app, 'patient/*.rs');
    const query = (change: (params: URLSearchParams) => void) => {
      const params = new URLSearchParams(started.url.search);
      change(params);
      return params.toString();
    };
    for (const bad of [query((p) => p.set('client_id', 'ausculta-unknown')), query((p) => p.set('redirect_uri', 'http://127.0.0.1:9999/other')), query((p) => p.delete('client_id'))]) {
      const answer = await setting.patient.client.get(`/api/oauth/authorization?${bad}`);
      expect(answer.status).toBe(400);
      expect(answer.body.redirect).toBeUndefined();
      expect((await setting.patient.client.post('/api/oauth/authorization', { query: bad, decision: 'allow' })).status).toBe(400);
    }
    for (const [bad, error] of [
      [query((p) => p.delete('code_challenge')), 'invalid_request'],
      [query((p) => p.set('code_challenge_method', 'plain')), 'invalid_request'],
      [query((p) => p.set('response_type', 'token')), 'unsupported_response_type'],
      [query((p) => p.set('scope', 'patient/Unknown.rs')), 'invalid_scope'],
      [query((p) => p.set('scope', 'offline_access')), 'invalid_scope'],
      [query((p) => p.set('aud', 'https://elsewhere.example.org/fhir')), 'invalid_request'],
      [`${query(() => undefined)}&state=twice`, null],
    ] as const) {
      const answer = await setting.patient.client.get(`/api/oauth/authorization?${bad}`);
      expect(answer.status, bad).toBe(400);
      expect(answer.headers.get('content-type')).toContain('application/problem+json');
      if (error) expect(new URL(answer.body.redirect).searchParams.get('error')).toBe(error);
    }
    expect((await new Client(server.url).get(`/api/oauth/authorization?${started.url.search.slice(1)}`)).status).toBe(401);
    const denied = await consent(setting.patient, started.url, 'deny');
    expect(denied.searchParams.get('error')).toBe('access_denied');
    expect(denied.searchParams.get('state')).toBe(started.state);
    expect(denied.searchParams.get('code')).toBeNull();
  });
});

describe('the token endpoint', () => {
  it('authenticates confidential clients (Basic or form), refuses a wrong secret and a secret from a public client, and answers RFC 6749 errors', async () => {
    const app = await configure(confidentialApp.clientId, oidc.ClientSecretBasic(confidentialApp.secret));
    const { tokens } = await authorise(otherPatient, 'patient/Patient.r', app);
    expect((await bearer(tokens.access_token, `Patient/${otherPatient.userId}`)).status).toBe(200);
    const wrong = await form('/oauth/token', { grant_type: 'authorization_code', code: 'x', redirect_uri: REDIRECT, code_verifier: oidc.randomPKCECodeVerifier() }, { authorization: `Basic ${Buffer.from(`${confidentialApp.clientId}:nope`).toString('base64')}` });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic/);
    expect(await wrong.json()).toMatchObject({ error: 'invalid_client' });
    expect(await (await form('/oauth/token', { grant_type: 'authorization_code', client_id: confidentialApp.clientId })).json()).toMatchObject({ error: 'invalid_client' });
    expect(await (await form('/oauth/token', { grant_type: 'authorization_code', client_id: publicApp.clientId, client_secret: 'x' })).json()).toMatchObject({ error: 'invalid_client' });
    expect(await (await form('/oauth/token', { grant_type: 'password', client_id: publicApp.clientId })).json()).toMatchObject({ error: 'unsupported_grant_type' });
    expect(await (await form('/oauth/token', { client_id: publicApp.clientId })).json()).toMatchObject({ error: 'invalid_request' });
    const repeated = await call(`${server.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `client_id=${publicApp.clientId}&grant_type=a&grant_type=b` });
    expect(repeated.status).toBe(400);
    expect(await repeated.json()).toMatchObject({ error: 'invalid_request' });
    const json = await call(`${server.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(json.status).toBe(400);
    expect(json.headers.get('cache-control')).toBe('no-store');
  });
});

describe('introspection (RFC 7662)', () => {
  it('tells a confidential client whether its own tokens are active; nothing of others’; refuses public clients', async () => {
    const app = await configure(confidentialApp.clientId, oidc.ClientSecretBasic(confidentialApp.secret));
    const { tokens } = await authorise(setting.patient, 'patient/Observation.rs launch/patient offline_access', app);
    const access = await oidc.tokenIntrospection(app, tokens.access_token);
    expect(access).toMatchObject({ active: true, scope: tokens.scope, client_id: confidentialApp.clientId, token_type: 'Bearer', sub: setting.patient.userId, patient: setting.patient.userId, aud: `${server.url}/fhir/R4`, iss: server.url });
    expect(access.exp! - access.iat!).toBe(15 * 60);
    expect(await oidc.tokenIntrospection(app, tokens.refresh_token!)).toMatchObject({ active: true, token_type: 'refresh_token', sub: setting.patient.userId });
    // Unknown, another client's (the public app's), then revoked: inactive alike, with nothing else said.
    expect(await oidc.tokenIntrospection(app, 'ausculta_at_unknown')).toEqual({ active: false });
    const other = await authorise(setting.patient, 'patient/Observation.rs');
    expect(await oidc.tokenIntrospection(app, other.tokens.access_token)).toEqual({ active: false });
    await oidc.tokenRevocation(app, tokens.refresh_token!);
    expect(await oidc.tokenIntrospection(app, tokens.access_token)).toEqual({ active: false });
    // A public client cannot ask; nor a wrong secret; nor without a token.
    const asPublic = await form('/oauth/introspect', { token: other.tokens.access_token, client_id: publicApp.clientId });
    expect(asPublic.status).toBe(401);
    expect(await asPublic.json()).toMatchObject({ error: 'invalid_client' });
    const wrongSecret = await form('/oauth/introspect', { token: other.tokens.access_token, client_id: confidentialApp.clientId, client_secret: 'nope' });
    expect(wrongSecret.status).toBe(401);
    expect(await (await form('/oauth/introspect', { client_id: confidentialApp.clientId, client_secret: confidentialApp.secret })).json()).toMatchObject({ error: 'invalid_request' });
  });
});

describe('revocation', () => {
  it('by the user (their list), by RFC 7009, and by the administrator; each stops the tokens at once', async () => {
    const first = await authorise(otherPatient, 'patient/Patient.r offline_access');
    const grants = await otherPatient.client.get('/api/oauth/grants');
    const grant = grants.body.grants.find((g: { clientName: string }) => g.clientName === 'Agenda santé');
    expect(grant).toMatchObject({ organisation: 'Centre de santé de test', scopes: ['patient/Patient.r', 'offline_access'] });
    // The patient's export lists it too.
    const exported = await otherPatient.client.bytes('/api/me/export');
    const inZip = JSON.parse(strFromU8(unzipSync(new Uint8Array(exported.body))['applications.json']!));
    expect(inZip.find((g: { id: string }) => g.id === grant.id)).toMatchObject({ clientName: 'Agenda santé', scopes: ['patient/Patient.r', 'offline_access'] });
    expect((await setting.patient.client.request('DELETE', `/api/oauth/grants/${grant.id}`)).status).toBe(404);
    expect((await otherPatient.client.request('DELETE', `/api/oauth/grants/${grant.id}`)).status).toBe(204);
    expect((await bearer(first.tokens.access_token, `Patient/${otherPatient.userId}`)).status).toBe(401);
    await expect(oidc.refreshTokenGrant(first.app, first.tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });

    const second = await authorise(otherPatient, 'patient/Patient.r offline_access');
    // The administrator sees how many people the application acts for.
    const listed = await setting.admin.client.get(`/api/admin/organisations/${setting.organisationId}/applications`);
    const activeGrants = await server.services.db.selectFrom('oauth_grants').select('user_id').where('client_id', '=', publicApp.id).where('revoked_at', 'is', null).execute();
    expect(listed.body.applications.find((a: { id: string }) => a.id === publicApp.id).activeGrants).toBe(activeGrants.length);
    expect(activeGrants.map((grant) => grant.user_id)).toContain(otherPatient.userId);
    await oidc.tokenRevocation(second.app, second.tokens.refresh_token!);
    expect((await bearer(second.tokens.access_token, `Patient/${otherPatient.userId}`)).status).toBe(401);

    const third = await authorise(otherPatient, 'patient/Patient.r');
    expect((await setting.admin.client.request('DELETE', `/api/admin/organisations/${setting.organisationId}/applications/${publicApp.id}`)).status).toBe(204);
    expect((await bearer(third.tokens.access_token, `Patient/${otherPatient.userId}`)).status).toBe(401);
    expect((await otherPatient.client.get('/api/oauth/grants')).body.grants.filter((g: { clientName: string }) => g.clientName === 'Agenda santé')).toEqual([]);
    const app = await configure(publicApp.clientId);
    const started = await startAuthorization(app, 'patient/*.rs');
    const refused = await otherPatient.client.get(`/api/oauth/authorization?${started.url.search.slice(1)}`);
    expect(refused.status).toBe(400);
    expect(refused.body.redirect).toBeUndefined();
  });

  it('refuses no credentials, a malformed Authorization header and an unknown token with 401 and a Bearer challenge', async () => {
    for (const header of [undefined, 'Bearer', 'Basic abc', 'Bearer a b', 'Bearer ausculta_at_unknown']) {
      const answer = await call(`${server.url}/fhir/R4/Patient/${setting.patient.userId}`, { headers: header ? { authorization: header } : {} });
      expect(answer.status, String(header)).toBe(401);
      expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer realm="ausculta"/);
      expect((await answer.json()).resourceType).toBe('OperationOutcome');
    }
  });
});

// Last: moving the clock ends the test accounts' sessions too.
describe('lifetimes', () => {
  it('expires access tokens after 15 minutes', async () => {
    const app = await configure(confidentialApp.clientId, oidc.ClientSecretPost(confidentialApp.secret));
    const { tokens } = await authorise(otherPatient, 'patient/Patient.r', app);
    expect((await bearer(tokens.access_token, `Patient/${otherPatient.userId}`)).status).toBe(200);
    server.advanceClock(15 * 60_000 + 1_000);
    expect((await bearer(tokens.access_token, `Patient/${otherPatient.userId}`)).status).toBe(401);
  });

  it('ends a grant a year after it was given, even when its refresh tokens are used every month', async () => {
    const patient = await signUpPatient(server, setting.organisationId);
    await enrolTotp(server, patient);
    const { app, tokens } = await authorise(patient, 'patient/Patient.r offline_access', await configure(confidentialApp.clientId, oidc.ClientSecretPost(confidentialApp.secret)));
    let refresh = tokens.refresh_token!;
    for (let month = 0; month < 12; month++) {
      server.advanceClock(29 * 24 * 3600_000);
      const refreshed = await oidc.refreshTokenGrant(app, refresh);
      expect((await bearer(refreshed.access_token, `Patient/${patient.userId}`)).status).toBe(200);
      refresh = refreshed.refresh_token!;
    }
    server.advanceClock(20 * 24 * 3600_000); // 368 days after the consent
    await expect(oidc.refreshTokenGrant(app, refresh)).rejects.toMatchObject({ error: 'invalid_grant' });
  });
});
