// Login throttling, named after the threats it stops.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../support/client.js';
import { logIn, setupOrganisation, signUpPatient, enrolTotp, totpCode, type Account } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
let organisationId: string;

beforeAll(async () => {
  // A small budget keeps the test fast; the mechanism is the same at the default 100.
  server = await startTestServer({ LOGIN_GUESSES_PER_ACCOUNT_PER_HOUR: '20', LOGIN_GUESSES_PER_ADDRESS_PER_HOUR: '60' });
  organisationId = (await setupOrganisation(server)).organisationId;
  // The delays are seconds long: on a slow machine real time would let guesses through that the test
  // expects refused. The server's clock moves only when the test moves it.
  server.freezeClock();
});
afterAll(() => server?.close());

async function guess(client: Client, email: string, password = 'Wrong-guess-1234!') {
  return client.post('/api/login', { email, password });
}

async function evaluatedGuesses(email: string): Promise<number> {
  const rows = await server.services.db.selectFrom('login_attempts').select('outcome').where('account_key', '=', email).where('outcome', '!=', 'pending').execute();
  return rows.length;
}

describe('login throttling', () => {
  it('a concurrent burst of wrong guesses cannot exceed the free attempts', async () => {
    const victim = await signUpPatient(server, organisationId);
    const attacker = new Client(server.url);
    const answers = await Promise.all(Array.from({ length: 30 }, () => guess(attacker, victim.email)));
    const evaluated = answers.filter((answer) => answer.status === 401).length;
    const refused = answers.filter((answer) => answer.status === 429);
    expect(evaluated).toBeLessThanOrEqual(5);
    expect(evaluated + refused.length).toBe(30);
    expect(refused[0]!.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(refused[0]!.body.code).toBe('too_many_attempts');
    expect(refused[0]!.body.retryAfterSeconds).toBeGreaterThan(0);
    expect(await evaluatedGuesses(victim.email)).toBe(evaluated);
    const throttledEvents = await server.services.db.selectFrom('security_events').select('id').where('type', '=', 'login.throttled').where('subject_user_id', '=', victim.userId).execute();
    expect(throttledEvents.length).toBe(refused.length);
  });

  it('delays grow after consecutive failures, then the hourly budget closes the account to unknown devices', async () => {
    const victim = await signUpPatient(server, organisationId);
    const attacker = new Client(server.url);
    let evaluated = 0;
    let last: Awaited<ReturnType<typeof guess>> | undefined;
    const delays: number[] = [];
    for (let i = 0; i < 40; i++) {
      last = await guess(attacker, victim.email);
      if (last.status === 401) evaluated += 1;
      else if (last.status === 429 && last.body.retryAfterSeconds < 600) {
        delays.push(last.body.retryAfterSeconds);
        server.advanceClock(last.body.retryAfterSeconds * 1000);
      } else break;
    }
    // 20 per hour in all, 10 of them kept for devices the account already used.
    expect(evaluated).toBe(10);
    expect(delays.slice(0, 4)).toEqual([1, 2, 4, 8]);
    expect(last!.status).toBe(429);
    expect(last!.body.retryAfterSeconds).toBeGreaterThan(3000);
    // Even the right password is not evaluated now from an unknown device.
    expect((await guess(new Client(server.url), victim.email, victim.password)).status).toBe(429);
    expect(await evaluatedGuesses(victim.email)).toBe(10);
    // An hour later, the budget is back.
    server.advanceClock(3_600_000);
    expect((await guess(new Client(server.url), victim.email, victim.password)).status).toBe(200);
  });

  it('an attacker spending the budget cannot lock the real user out of their usual device', async () => {
    const user: Account = await signUpPatient(server, organisationId);
    await enrolTotp(server, user);
    const usualDevice = await logIn(server, user); // gets the device cookie
    expect(usualDevice.cookies.get('ausculta_device')).toBeTruthy();
    await usualDevice.post('/api/logout');

    const attacker = new Client(server.url);
    for (let i = 0; i < 40; i++) {
      const answer = await guess(attacker, user.email);
      if (answer.status === 429 && answer.body.retryAfterSeconds > 600) break;
      if (answer.status === 429) server.advanceClock(answer.body.retryAfterSeconds * 1000);
    }
    expect((await guess(attacker, user.email, user.password)).status).toBe(429);

    const back = await usualDevice.post('/api/login', { email: user.email, password: user.password });
    expect(back.status).toBe(200);
    expect(back.body.status).toBe('second_factor_required');
    await usualDevice.refreshSession();
    server.advanceClock(30_000);
    expect((await usualDevice.post('/api/login/totp', { code: totpCode(user.totpSecret!, server.services.now()) })).status).toBe(200);
  });

  it('second-factor guesses are throttled too', async () => {
    const user: Account = await signUpPatient(server, organisationId);
    await enrolTotp(server, user);
    const client = new Client(server.url);
    await client.post('/api/login', { email: user.email, password: user.password });
    await client.refreshSession();
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await client.post('/api/login/totp', { code: '000000' })).status);
    expect(statuses.slice(0, 5).every((status) => status === 401)).toBe(true);
    expect(statuses.slice(5).every((status) => status === 429)).toBe(true);
  });
});
