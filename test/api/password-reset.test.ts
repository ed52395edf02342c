// Password reset by mailed link, over real HTTP and a real SMTP capture: no account enumeration, a
// single-use link valid 30 minutes, every session ended, the second factor still asked, no health data
// in the mail.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Mailer } from '../../src/kernel/mail.js';
import { Client, type Response } from '../support/client.js';
import { enrolTotp, logIn, setupOrganisation, signUpPatient, strongPassword, totpCode, uniqueEmail, type Account } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
let organisationId: string;

beforeAll(async () => {
  server = await startTestServer();
  organisationId = (await setupOrganisation(server)).organisationId;
});
afterAll(() => server?.close());

const anonymous = () => new Client(server.url);
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

function expectProblem(response: Response<any>, status: number, code: string): void {
  expect({ status: response.status, code: response.body?.code }, JSON.stringify(response.body)).toEqual({ status, code });
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
}

function mailsTo(email: string) {
  return server.smtp.mails.filter((mail) => mail.to.includes(email.toLowerCase()));
}

/** The mail as a reader sees it: quoted-printable soft breaks and escapes undone. */
function decoded(raw: string): string {
  const unfolded = raw.replace(/=\r?\n/g, '');
  const bytes: number[] = [];
  for (let i = 0; i < unfolded.length; i += 1) {
    const hex = unfolded.slice(i + 1, i + 3);
    if (unfolded[i] === '=' && /^[0-9A-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(unfolded[i]!, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function tokenOf(link: string): string {
  const token = new URL(link.replace('/#/', '/')).searchParams.get('token');
  expect(token).toBeTruthy();
  return token!;
}

/** Asks for a reset and returns the token from the mailed link. */
async function requestReset(email: string): Promise<string> {
  const before = mailsTo(email).length;
  const response = await anonymous().post('/api/password-reset/request', { email });
  expect(response.status).toBe(202);
  // The mail leaves after the answer: wait for this one, not an earlier one.
  await expect.poll(() => mailsTo(email).length, { timeout: 5_000 }).toBe(before + 1);
  const link = await server.smtp.waitForLink(email);
  expect(link.startsWith(`${server.url}/#/reinitialisation?token=`)).toBe(true);
  return tokenOf(link);
}

async function patientWithTotp(overrides: Record<string, unknown> = {}): Promise<Account> {
  const account = await signUpPatient(server, organisationId, overrides);
  await enrolTotp(server, account);
  return account;
}

async function liveSessionsOf(userId: string): Promise<number> {
  const rows = await server.services.db.selectFrom('sessions').select('id').where('user_id', '=', userId).where('revoked_at', 'is', null).execute();
  return rows.length;
}

describe('password reset', () => {
  it('an unknown e-mail gets the same 202 as a real account, and no mail', async () => {
    const unknown = uniqueEmail('nobody');
    const account = await patientWithTotp();
    const forUnknown = await anonymous().post('/api/password-reset/request', { email: unknown });
    const forReal = await anonymous().post('/api/password-reset/request', { email: account.email });
    expect(forUnknown.status).toBe(202);
    expect(forReal.status).toBe(202);
    expect(forUnknown.body).toEqual(forReal.body);
    expect(forUnknown.headers.get('content-type')).toBe(forReal.headers.get('content-type'));
    await server.smtp.waitForLink(account.email);
    await sleep(300);
    expect(mailsTo(unknown)).toEqual([]);
    expect(await server.services.db.selectFrom('password_resets').select('id').where('user_id', '=', account.userId).execute()).toHaveLength(1);
  });

  it('the mailed link works once; then every session is ended, the old password fails, the new one works and the second factor is still asked', async () => {
    const account = await patientWithTotp();
    const other = await logIn(server, account);
    expect(await liveSessionsOf(account.userId)).toBe(2);

    const token = await requestReset(account.email);
    const newPassword = strongPassword();
    const completed = await anonymous().post('/api/password-reset/complete', { token, password: newPassword });
    expect(completed.status).toBe(200);
    // Completing a reset does not sign anyone in.
    expect(completed.headers.getSetCookie().some((cookie) => cookie.startsWith('ausculta_session=') && !cookie.startsWith('ausculta_session=;'))).toBe(false);

    // Single use.
    expectProblem(await anonymous().post('/api/password-reset/complete', { token, password: strongPassword() }), 400, 'invalid_token');

    // Every session ended, including ones that were fully signed in with two factors.
    expectProblem(await account.client.get('/api/session'), 401, 'unauthenticated');
    expectProblem(await other.get('/api/session'), 401, 'unauthenticated');
    expect(await liveSessionsOf(account.userId)).toBe(0);

    expectProblem(await anonymous().post('/api/login', { email: account.email, password: account.password }), 401, 'invalid_credentials');
    const client = anonymous();
    const login = await client.post('/api/login', { email: account.email, password: newPassword });
    expect(login.status).toBe(200);
    expect(login.body).toEqual({ status: 'second_factor_required', methods: ['totp', 'recovery_code'] });
    await client.refreshSession();
    expectProblem(await client.get('/api/sessions'), 403, 'second_factor_required');
    server.advanceClock(30_000);
    expect((await client.post('/api/login/totp', { code: totpCode(account.totpSecret!, server.services.now()) })).status).toBe(200);
    await client.refreshSession();
    expect((await client.get('/api/sessions')).status).toBe(200);

    const events = await server.services.db.selectFrom('security_events').select('type').where('subject_user_id', '=', account.userId).where('type', 'like', 'password.reset.%').orderBy('id').execute();
    expect(events.map((event) => event.type)).toEqual(['password.reset.requested', 'password.reset.completed']);
  });

  it('a weak new password is refused and leaves the link usable', async () => {
    const account = await patientWithTotp();
    const token = await requestReset(account.email);
    for (const password of ['Password1234!', 'aaaaaaaaaaaaaaaaaaaa', 'Ab1!xyz']) {
      expectProblem(await anonymous().post('/api/password-reset/complete', { token, password }), 422, 'weak_password');
    }
    expect((await account.client.get('/api/session')).status).toBe(200);
    expect((await anonymous().post('/api/password-reset/complete', { token, password: strongPassword() })).status).toBe(200);
  });

  it('using one link voids the other links of the account', async () => {
    const account = await patientWithTotp();
    const first = await requestReset(account.email);
    const second = await requestReset(account.email);
    expect(first).not.toBe(second);
    expect((await anonymous().post('/api/password-reset/complete', { token: second, password: strongPassword() })).status).toBe(200);
    expectProblem(await anonymous().post('/api/password-reset/complete', { token: first, password: strongPassword() }), 400, 'invalid_token');
  });

  it('a forged token is refused', async () => {
    expectProblem(await anonymous().post('/api/password-reset/complete', { token: 'A'.repeat(43), password: strongPassword() }), 400, 'invalid_token');
    expectProblem(await anonymous().post('/api/password-reset/complete', { token: 'short', password: strongPassword() }), 400, 'validation_failed');
  });

  it('the mail carries the link and nothing about the patient (no birth name, first names, birth date or NIR)', async () => {
    const identity = { birthName: 'Zabulonovitch', firstNames: 'Philomène Eulalie', birthDate: '1980-05-17', sex: 'F', birthplaceCode: '75056', insNir: '280057505612389' };
    const account = await patientWithTotp({ identity, displayName: 'P. Z.' });
    await requestReset(account.email);
    const mail = mailsTo(account.email).at(-1)!;
    const text = decoded(mail.raw);
    expect(text).toContain('/#/reinitialisation?token=');
    for (const secret of ['Zabulonovitch', 'ZABULONOVITCH', 'Philomène', 'Eulalie', '1980-05-17', '17/05/1980', '280057505612389', '2 80 05 75 056 123 89', '75056']) {
      expect(text.includes(secret), `mail mentions ${secret}`).toBe(false);
    }
    const body = text.slice(text.search(/\r?\n\r?\n/));
    expect(body).not.toMatch(/patient|consultation|rendez-vous|ordonnance|Zabulon/i);
  });

  it('a link is valid 30 minutes: at 29 minutes it works, at 31 minutes → 400 invalid_token', async () => {
    const onTime = await patientWithTotp();
    const onTimeToken = await requestReset(onTime.email);
    server.advanceClock(29 * 60_000);
    expect((await anonymous().post('/api/password-reset/complete', { token: onTimeToken, password: strongPassword() })).status).toBe(200);

    const late = await patientWithTotp();
    const lateToken = await requestReset(late.email);
    server.advanceClock(31 * 60_000);
    expectProblem(await anonymous().post('/api/password-reset/complete', { token: lateToken, password: strongPassword() }), 400, 'invalid_token');
    // The password did not change.
    expect((await anonymous().post('/api/login', { email: late.email, password: late.password })).status).toBe(200);
  });

  it('answers as fast for a real account as for an unknown one, even when mail is slow (no timing oracle)', async () => {
    const account = await patientWithTotp();
    const realMailer = server.services.mailer;
    const slowMailer: Mailer = {
      send: async (mail) => {
        await sleep(600);
        await realMailer.send(mail);
      },
      close: () => realMailer.close(),
    };
    server.services.mailer = slowMailer;
    try {
      const timed = async (email: string) => {
        const started = performance.now();
        const response = await anonymous().post('/api/password-reset/request', { email });
        expect(response.status).toBe(202);
        return performance.now() - started;
      };
      await timed(uniqueEmail('warm-up'));
      const unknown = await timed(uniqueEmail('nobody'));
      const real = await timed(account.email);
      expect(real - unknown, `real ${real.toFixed(0)} ms vs unknown ${unknown.toFixed(0)} ms`).toBeLessThan(300);
      // The mail still goes out.
      await server.smtp.waitForLink(account.email, 5_000);
    } finally {
      server.services.mailer = realMailer;
    }
  });
});
