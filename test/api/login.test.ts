// Sign-up, second factor enrolment and login, end to end over real HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../support/client.js';
import { enrolTotp, logIn, setupOrganisation, signUpPatient, totpCode, type Account } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
let organisationId: string;

beforeAll(async () => {
  server = await startTestServer();
  organisationId = (await setupOrganisation(server)).organisationId;
});
afterAll(() => server?.close());

async function eventsOf(userId: string, type: string) {
  return server.services.db.selectFrom('security_events').selectAll().where('type', '=', type).where((eb) => eb.or([eb('actor_user_id', '=', userId), eb('subject_user_id', '=', userId)])).execute();
}

describe('sign-up and login', () => {
  let patient: Account;

  it('a patient signs up, is signed in, and has no second factor yet', async () => {
    patient = await signUpPatient(server, organisationId);
    const session = await patient.client.get('/api/session');
    expect(session.status).toBe(200);
    expect(session.body.memberships).toEqual([{ organisationId, organisationName: 'Centre de santé de test', roles: ['patient'] }]);
    expect(session.body.secondFactorVerified).toBe(false);
    expect(session.body.factors).toEqual({ totp: false, passkeys: 0, recoveryCodesLeft: 0 });
    const cookie = (await new Client(server.url).post('/api/login', { email: patient.email, password: patient.password })).headers.getSetCookie()[0] ?? '';
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/Secure/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
  });

  it('stores the password as Argon2id with the OWASP parameters', async () => {
    const row = await server.services.db.selectFrom('users').select('password_hash').where('id', '=', patient.userId).executeTakeFirstOrThrow();
    expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });

  it('enrolling TOTP gives ten single-use recovery codes and raises the session to two factors', async () => {
    await enrolTotp(server, patient);
    expect(patient.recoveryCodes).toHaveLength(10);
    const session = await patient.client.get('/api/session');
    expect(session.body.secondFactorVerified).toBe(true);
    expect(session.body.factors).toEqual({ totp: true, passkeys: 0, recoveryCodesLeft: 10 });
    expect(await eventsOf(patient.userId, 'factor.totp.enrolled')).toHaveLength(1);
  });

  it('login then asks for the second factor, and the pending session reaches nothing else', async () => {
    const client = new Client(server.url);
    const first = await client.post('/api/login', { email: patient.email, password: patient.password });
    expect(first.body).toEqual({ status: 'second_factor_required', methods: ['totp', 'recovery_code'] });
    const pendingSession = await client.refreshSession();
    expect(pendingSession.body.secondFactorPending).toBe(true);
    expect(pendingSession.body.memberships).toEqual([]);
    const blocked = await client.get('/api/sessions');
    expect(blocked.status).toBe(403);
    expect(blocked.body.code).toBe('second_factor_required');
    expect(blocked.headers.get('content-type')).toMatch(/application\/problem\+json/);

    const pendingCookie = client.cookies.get('ausculta_session');
    server.advanceClock(30_000);
    const second = await client.post('/api/login/totp', { code: totpCode(patient.totpSecret!, server.services.now()) });
    expect(second.status).toBe(200);
    expect(client.cookies.get('ausculta_session')).not.toBe(pendingCookie);
    // The token seen before the second factor is worth nothing now.
    const stale = await new Client(server.url).get('/api/session', { cookie: `ausculta_session=${pendingCookie}` });
    expect(stale.status).toBe(401);
    expect((await client.get('/api/sessions')).status).toBe(200);
  });

  it('refuses a wrong, an expired and a replayed TOTP code', async () => {
    const client = new Client(server.url);
    await client.post('/api/login', { email: patient.email, password: patient.password });
    await client.refreshSession();
    server.advanceClock(30_000);
    const now = server.services.now();
    const wrongCode = String((Number(totpCode(patient.totpSecret!, now)) + 1) % 1_000_000).padStart(6, '0');
    expect((await client.post('/api/login/totp', { code: wrongCode })).status).toBe(401);
    const expired = totpCode(patient.totpSecret!, now - 5 * 60_000);
    expect((await client.post('/api/login/totp', { code: expired })).body.code).toBe('invalid_second_factor');
    const good = totpCode(patient.totpSecret!, now);
    expect((await client.post('/api/login/totp', { code: good })).status).toBe(200);

    const other = new Client(server.url);
    await other.post('/api/login', { email: patient.email, password: patient.password });
    await other.refreshSession();
    const replay = await other.post('/api/login/totp', { code: good });
    expect(replay.status).toBe(401);
    const failures = (await eventsOf(patient.userId, 'login.second_factor')).filter((event) => event.outcome === 'failure');
    expect(failures.length).toBeGreaterThanOrEqual(3);
  });

  it('a recovery code works once', async () => {
    const code = patient.recoveryCodes![0]!;
    const first = new Client(server.url);
    await first.post('/api/login', { email: patient.email, password: patient.password });
    await first.refreshSession();
    const used = await first.post('/api/login/recovery-code', { code: code.toLowerCase() });
    expect(used.body).toEqual({ status: 'authenticated', recoveryCodesLeft: 9 });
    const again = new Client(server.url);
    await again.post('/api/login', { email: patient.email, password: patient.password });
    await again.refreshSession();
    expect((await again.post('/api/login/recovery-code', { code })).status).toBe(401);
  });

  it('a wrong password and an unknown account get the same answer, both traced', async () => {
    const client = new Client(server.url);
    const wrong = await client.post('/api/login', { email: patient.email, password: 'Not-the-password-123!' });
    const unknown = await client.post('/api/login', { email: 'nobody@example.test', password: 'Not-the-password-123!' });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body.detail).toBe(unknown.body.detail);
    const failures = await server.services.db.selectFrom('security_events').select('subject_user_id').where('type', '=', 'login.password').where('outcome', '=', 'failure').execute();
    expect(failures.some((event) => event.subject_user_id === patient.userId)).toBe(true);
    expect(failures.some((event) => event.subject_user_id === null)).toBe(true);
  });

  it('answers in English when asked', async () => {
    const response = await new Client(server.url, { 'accept-language': 'en-GB,en;q=0.9' }).post('/api/login', { email: 'nobody@example.test', password: 'x' });
    expect(response.body.title).toBe('Invalid credentials');
    const french = await new Client(server.url).post('/api/login', { email: 'nobody@example.test', password: 'x' });
    expect(french.body.title).toBe('Identifiants incorrects');
  });

  it('logIn helper: password and TOTP from a fresh client reach the sessions list', async () => {
    const client = await logIn(server, patient);
    const sessions = await client.get('/api/sessions');
    expect(sessions.status).toBe(200);
    expect(sessions.body.filter((s: { current: boolean }) => s.current)).toHaveLength(1);
  });
});
