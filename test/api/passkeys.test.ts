// Passkeys over the real API with a software authenticator: enrolment, second step, username-less
// login, and the attacks: replayed assertion, another challenge, counter going back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../support/client.js';
import { setupOrganisation, signUpPatient, type Account } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { SoftAuthenticator } from '../support/soft-authenticator.js';

let server: TestServer;
let patient: Account;
let authenticator: SoftAuthenticator;

beforeAll(async () => {
  server = await startTestServer();
  const { organisationId } = await setupOrganisation(server);
  patient = await signUpPatient(server, organisationId);
  authenticator = new SoftAuthenticator(server.url);
});
afterAll(() => server?.close());

async function passwordStep(): Promise<Client> {
  const client = new Client(server.url);
  const first = await client.post('/api/login', { email: patient.email, password: patient.password });
  expect(first.body).toEqual({ status: 'second_factor_required', methods: ['passkey', 'recovery_code'] });
  await client.refreshSession();
  return client;
}

describe('passkeys', () => {
  it('enrolling a first passkey raises the session to two factors and gives recovery codes', async () => {
    const options = await patient.client.post('/api/factors/passkeys/options', {});
    expect(options.status).toBe(200);
    expect(options.body.authenticatorSelection).toMatchObject({ residentKey: 'required', userVerification: 'required' });
    const created = await patient.client.post('/api/factors/passkeys', { response: authenticator.register(options.body), name: 'Téléphone' });
    expect(created.status).toBe(201);
    expect(created.body.recoveryCodes).toHaveLength(10);
    const session = await patient.client.refreshSession();
    expect(session.body.secondFactorVerified).toBe(true);
    expect(session.body.factors.passkeys).toBe(1);
    const list = await patient.client.get('/api/factors/passkeys');
    expect(list.body).toEqual([expect.objectContaining({ id: created.body.id, name: 'Téléphone', lastUsedAt: null })]);
  });

  it('the same registration cannot be submitted twice', async () => {
    const options = await patient.client.post('/api/factors/passkeys/options', {});
    const other = new SoftAuthenticator(server.url);
    const response = other.register(options.body);
    expect((await patient.client.post('/api/factors/passkeys', { response, name: 'Clé' })).status).toBe(201);
    const again = await patient.client.post('/api/factors/passkeys', { response, name: 'Clé bis' });
    expect(again.status).toBe(401);
    expect(again.body.code).toBe('invalid_second_factor');
  });

  it('a passkey completes the login after the password', async () => {
    const client = await passwordStep();
    const options = await client.post('/api/login/passkey/options', {});
    expect(options.body.allowCredentials.map((c: { id: string }) => c.id)).toContain(Buffer.from(authenticator.credentialId).toString('base64url'));
    const done = await client.post('/api/login/passkey', { response: authenticator.assert(options.body) });
    expect(done.status).toBe(200);
    expect((await client.refreshSession()).body.secondFactorVerified).toBe(true);
  });

  it('username-less: a passkey alone signs in', async () => {
    const client = new Client(server.url);
    const { body } = await client.post('/api/passkey-login/options', {});
    expect(body.options.allowCredentials ?? []).toEqual([]);
    const done = await client.post('/api/passkey-login', { challengeId: body.challengeId, response: authenticator.assert(body.options) });
    expect(done.status).toBe(200);
    const session = await client.refreshSession();
    expect(session.body.user.id).toBe(patient.userId);
    expect(session.body.secondFactorVerified).toBe(true);
  });

  it('a replayed assertion is refused', async () => {
    const client = new Client(server.url);
    const { body } = await client.post('/api/passkey-login/options', {});
    const assertion = authenticator.assert(body.options);
    expect((await client.post('/api/passkey-login', { challengeId: body.challengeId, response: assertion })).status).toBe(200);
    const thief = new Client(server.url);
    const replay = await thief.post('/api/passkey-login', { challengeId: body.challengeId, response: assertion });
    expect(replay.status).toBe(401);
    // Nor against a fresh challenge: the signed challenge is the old one.
    const fresh = await thief.post('/api/passkey-login/options', {});
    expect((await thief.post('/api/passkey-login', { challengeId: fresh.body.challengeId, response: assertion })).status).toBe(401);
    const failures = await server.services.db.selectFrom('security_events').select('id').where('type', '=', 'login.passkey').where('outcome', '=', 'failure').execute();
    expect(failures.length).toBeGreaterThanOrEqual(2);
  });

  it('a cloned authenticator (counter going back) is refused', async () => {
    const client = new Client(server.url);
    const { body } = await client.post('/api/passkey-login/options', {});
    authenticator.counter = 0; // the assertion will carry counter 1, below the stored one
    expect((await client.post('/api/passkey-login', { challengeId: body.challengeId, response: authenticator.assert(body.options) })).status).toBe(401);
    authenticator.counter = 100;
  });

  it('removing a passkey needs a recent re-authentication, and the last factor cannot be removed', async () => {
    const list = await patient.client.get('/api/factors/passkeys');
    expect(list.body).toHaveLength(2);
    server.advanceClock(6 * 60_000);
    await patient.client.get('/api/session/ping');
    const stale = await patient.client.delete(`/api/factors/passkeys/${encodeURIComponent(list.body[1].id)}`);
    expect(stale.status).toBe(403);
    expect(stale.body.code).toBe('reauthentication_required');
    expect((await patient.client.post('/api/reauthenticate', { password: patient.password })).status).toBe(204);
    expect((await patient.client.delete(`/api/factors/passkeys/${encodeURIComponent(list.body[1].id)}`)).status).toBe(204);
    const last = await patient.client.delete(`/api/factors/passkeys/${encodeURIComponent(list.body[0].id)}`);
    expect(last.status).toBe(409);
    expect((await patient.client.get('/api/factors/passkeys')).body).toHaveLength(1);
  });
});
