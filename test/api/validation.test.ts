// Bad input and session hygiene, end to end over real HTTP: every refusal is an RFC 9457 problem with
// the right status and code, never a stack trace, and leaves the database untouched. Then CSRF, cookie
// theft after logout, idle and absolute timeouts, and the sessions ended by logout-everywhere, password
// and factor changes; e-mail changes need a recent re-authentication.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, type Response } from '../support/client.js';
import { enrolTotp, logIn, PATIENT_IDENTITY, setupOrganisation, signUpPatient, strongPassword, uniqueEmail, type Account } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
let admin: Account & { organisationId: string };
let organisationId: string;

beforeAll(async () => {
  server = await startTestServer();
  admin = await setupOrganisation(server);
  watch(admin.client);
  organisationId = admin.organisationId;
});
afterAll(() => server?.close());

// ---------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------

const COUNTED_TABLES = ['users', 'sessions', 'patient_identities', 'member_roles', 'invitations'] as const;

async function rowCounts(): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of COUNTED_TABLES) {
    const row = await server.services.db
      .selectFrom(table as 'users')
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .executeTakeFirstOrThrow();
    counts[table] = Number(row.n);
  }
  return counts;
}

/** Runs `action` and checks that it added or removed no row in the counted tables. */
async function expectNothingWritten<T>(action: () => Promise<T>): Promise<T> {
  const before = await rowCounts();
  const result = await action();
  expect(await rowCounts()).toEqual(before);
  return result;
}

/** What an error body must never carry: stack frames, source paths, driver or SQL internals. */
const LEAK_PATTERNS: RegExp[] = [
  /"stack"/i,
  /\bat\s+[\w.<>$]+\s+\(/, // "at fn (file:line)"
  /file:\/\//,
  /node_modules/,
  /\/(src|test|work|home|usr)\//,
  /\.[cm]?[jt]sx?:\d+/,
  /\b(SELECT|INSERT INTO|UPDATE|DELETE FROM)\b/,
  /\b(errno|syscall|ECONNREFUSED|23505|22021|23514)\b/,
];

function leakIn(body: unknown): string | null {
  const text = typeof body === 'string' ? body : JSON.stringify(body ?? '');
  const hit = LEAK_PATTERNS.find((pattern) => pattern.test(text));
  return hit ? `${hit} in ${text.slice(0, 300)}` : null;
}

/** Every response this client receives is checked for leaks. */
function watch(client: Client): Client {
  const original = client.request.bind(client);
  client.request = (async (method: string, path: string, body?: unknown, headers?: Record<string, string>) => {
    const response = await original(method, path, body, headers);
    expect(leakIn(response.body), `${method} ${path}`).toBeNull();
    return response;
  }) as Client['request'];
  return client;
}

const anonymous = () => watch(new Client(server.url));
const english = () => watch(new Client(server.url, { 'accept-language': 'en-GB,en;q=0.9' }));

function expectProblem(response: Response<any>, status: number, code: string): void {
  expect({ status: response.status, code: response.body?.code }, JSON.stringify(response.body)).toEqual({ status, code });
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({ type: `urn:ausculta:problem:${code}`, status, code });
  expect(typeof response.body.title).toBe('string');
  expect(leakIn(response.body)).toBeNull();
}

function signupBody(overrides: Record<string, unknown> = {}) {
  return {
    organisationId,
    email: uniqueEmail('v'),
    password: strongPassword(),
    displayName: 'Jeanne Martin',
    identity: { ...PATIENT_IDENTITY },
    ...overrides,
  };
}

/** A new client carrying the same cookies as `client` but no CSRF token (an attacker's forged request). */
function sameCookiesNoCsrf(client: Client): Client {
  const forged = watch(new Client(server.url));
  for (const [name, value] of client.cookies) forged.cookies.set(name, value);
  return forged;
}

function stolenCookie(client: Client): string {
  const token = client.cookies.get('ausculta_session');
  expect(token).toBeTruthy();
  return `ausculta_session=${token}`;
}

async function displayNameOf(userId: string): Promise<string> {
  const row = await server.services.db.selectFrom('users').select('display_name').where('id', '=', userId).executeTakeFirstOrThrow();
  return row.display_name;
}

async function liveSessionsOf(userId: string): Promise<number> {
  const rows = await server.services.db.selectFrom('sessions').select('id').where('user_id', '=', userId).where('revoked_at', 'is', null).execute();
  return rows.length;
}

async function patient(overrides: Record<string, unknown> = {}): Promise<Account> {
  const account = await signUpPatient(server, organisationId, overrides);
  watch(account.client);
  return account;
}

/** A second, independent sign-in of the same account (password, and TOTP if it has one). */
async function anotherSession(account: Account): Promise<Client> {
  return watch(await logIn(server, account));
}

/** Computes a valid NIR key for a 13-character NIR body. */
function withNirKey(body13: string): string {
  const numeric = body13.replace('2A', '19').replace('2B', '18');
  return body13 + String(97n - (BigInt(numeric) % 97n)).padStart(2, '0');
}

// ---------------------------------------------------------------------------------------------------
// Bad input
// ---------------------------------------------------------------------------------------------------

describe('bad input is refused with a problem document and writes nothing', () => {
  it('malformed JSON → 400 malformed_body', async () => {
    const client = anonymous();
    await expectNothingWritten(async () => {
      expectProblem(await client.post('/api/signup', '{"email": "a@b.test", "password":'), 400, 'malformed_body');
      expectProblem(await client.post('/api/signup', '{"organisationId": 1,}'), 400, 'malformed_body');
      expectProblem(await client.post('/api/login', "{'email': 'x'}"), 400, 'malformed_body');
      // A JSON body announced but empty.
      expectProblem(await client.post('/api/signup', ''), 400, 'malformed_body');
    });
  });

  it('only JSON bodies: text/plain and form-urlencoded → 415', async () => {
    const client = anonymous();
    const json = JSON.stringify(signupBody());
    await expectNothingWritten(async () => {
      // A valid JSON document sent as text/plain (what a cross-site form could send) is still refused.
      expectProblem(await client.post('/api/signup', json, { 'content-type': 'text/plain' }), 415, 'unsupported_media_type');
      expectProblem(await client.post('/api/signup', json, { 'content-type': 'text/plain;charset=UTF-8' }), 415, 'unsupported_media_type');
      expectProblem(await client.post('/api/signup', 'email=a%40b.test&password=x', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'unsupported_media_type');
      expectProblem(await client.post('/api/login', '--b\r\n\r\n--b--', { 'content-type': 'multipart/form-data; boundary=b' }), 415, 'unsupported_media_type');
    });
    // The same body as application/json is accepted: the 415 was about the type, not the content.
    const accepted = await client.post('/api/signup', json);
    expect(accepted.status).toBe(201);
  });

  it('a body over 64 KiB → 413 body_too_large; just under the limit is parsed', async () => {
    const client = anonymous();
    await expectNothingWritten(async () => {
      const tooBig = await client.post('/api/signup', signupBody({ displayName: 'x'.repeat(66 * 1024) }));
      expectProblem(tooBig, 413, 'body_too_large');
      // 60 KiB is read and validated (the display name is too long), proving the limit is 64 KiB, not less.
      const underLimit = await client.post('/api/signup', signupBody({ displayName: 'x'.repeat(60 * 1024) }));
      expectProblem(underLimit, 400, 'validation_failed');
      expect(underLimit.body.errors).toEqual([expect.objectContaining({ pointer: '/displayName' })]);
    });
  });

  it('missing, extra and mistyped fields → 400 validation_failed with JSON pointers', async () => {
    const client = anonymous();
    await expectNothingWritten(async () => {
      const withoutIdentity: Record<string, unknown> = signupBody();
      delete withoutIdentity['identity'];
      const missing = await client.post('/api/signup', withoutIdentity);
      expectProblem(missing, 400, 'validation_failed');
      expect(missing.body.detail).toBe('Données invalides (body).');
      expect(missing.body.errors).toEqual([{ pointer: '/identity', message: expect.any(String) }]);

      const identityWithoutBirthDate: Record<string, string> = { ...PATIENT_IDENTITY };
      delete identityWithoutBirthDate['birthDate'];
      const nestedMissing = await client.post('/api/signup', signupBody({ identity: identityWithoutBirthDate }));
      expectProblem(nestedMissing, 400, 'validation_failed');
      expect(nestedMissing.body.errors).toEqual([{ pointer: '/identity/birthDate', message: expect.any(String) }]);

      // Mass assignment: a client cannot give itself a role or an identity status.
      const extra = await client.post('/api/signup', signupBody({ roles: ['org_admin'] }));
      expectProblem(extra, 400, 'validation_failed');
      expect(extra.body.errors).toEqual([{ pointer: '/roles', message: expect.any(String) }]);
      const nestedExtra = await client.post('/api/signup', signupBody({ identity: { ...PATIENT_IDENTITY, identityStatus: 'qualified' } }));
      expectProblem(nestedExtra, 400, 'validation_failed');
      expect(nestedExtra.body.errors).toEqual([{ pointer: '/identity/identityStatus', message: expect.any(String) }]);

      const mistyped = await client.post('/api/signup', signupBody({ email: 42 }));
      expectProblem(mistyped, 400, 'validation_failed');
      expect(mistyped.body.errors[0].pointer).toBe('/email');
      const notAnEmail = await client.post('/api/signup', signupBody({ email: 'not-an-email' }));
      expectProblem(notAnEmail, 400, 'validation_failed');
      expect(notAnEmail.body.errors[0].pointer).toBe('/email');
      const badSex = await client.post('/api/signup', signupBody({ identity: { ...PATIENT_IDENTITY, sex: 'X' } }));
      expectProblem(badSex, 400, 'validation_failed');
      expect(badSex.body.errors[0].pointer).toBe('/identity/sex');
      const notAUuid = await client.post('/api/signup', signupBody({ organisationId: 'org-1' }));
      expectProblem(notAUuid, 400, 'validation_failed');
      expect(notAUuid.body.errors[0].pointer).toBe('/organisationId');

      const englishAnswer = await english().post('/api/signup', withoutIdentity);
      expectProblem(englishAnswer, 400, 'validation_failed');
      expect(englishAnswer.body.title).toBe('Invalid request');
      expect(englishAnswer.body.detail).toBe('Invalid body.');
    });
  });

  it('weak passwords → 422 weak_password (short, common, repetitive, personal, too long)', async () => {
    const client = anonymous();
    await expectNothingWritten(async () => {
      for (const password of ['Ab1!xyz', 'Password1234!', 'aaaaaaaaaaaaaaaaaaaa', 'Azertyuiop123!', 'JeanneMartin1980!', `Qz7!${randomBytes(200).toString('base64url')}`]) {
        const response = await client.post('/api/signup', signupBody({ password }));
        expectProblem(response, 422, 'weak_password');
        expect(response.body.title).toBe('Mot de passe trop faible');
        expect(response.body.detail, password).toEqual(expect.stringMatching(/mot de passe|caractères/i));
        expect(typeof response.body.reason).toBe('string');
      }
      const inEnglish = await english().post('/api/signup', signupBody({ password: 'Password1234!' }));
      expectProblem(inEnglish, 422, 'weak_password');
      expect(inEnglish.body.title).toBe('Password too weak');
    });
    expect((await client.post('/api/signup', signupBody({ password: 'Ab1!xyz' }))).body.reason).toBe('too_simple');
  });

  it('a 64-character strong password is accepted, and works at login', async () => {
    const password = `Qz7!${randomBytes(45).toString('base64url')}`;
    expect(password).toHaveLength(64);
    const body = signupBody({ password });
    const created = await anonymous().post('/api/signup', body);
    expect(created.status).toBe(201);
    const login = await anonymous().post('/api/login', { email: body.email, password });
    expect(login.status).toBe(200);
    expect(login.body.status).toBe('authenticated');
  });

  it('an invalid NIR key → 422 invalid_identifier, in French by default and English on request', async () => {
    const good = withNirKey('2800575056123');
    const badKey = good.slice(0, 13) + String((Number(good.slice(13)) % 97) + 1).padStart(2, '0');
    await expectNothingWritten(async () => {
      const french = await anonymous().post('/api/signup', signupBody({ identity: { ...PATIENT_IDENTITY, insNir: badKey } }));
      expectProblem(french, 422, 'invalid_identifier');
      expect(french.body.title).toBe('Identifiant invalide');
      expect(french.body.detail).toBe('La clé de contrôle du NIR est incorrecte.');
      expect(french.body.errors).toEqual([expect.objectContaining({ pointer: '/identity/insNir' })]);
      const inEnglish = await english().post('/api/signup', signupBody({ identity: { ...PATIENT_IDENTITY, insNir: badKey } }));
      expectProblem(inEnglish, 422, 'invalid_identifier');
      expect(inEnglish.body.title).toBe('Invalid identifier');
      expect(inEnglish.body.detail).toBe('The NIR check key is incorrect.');
      const tooShort = await anonymous().post('/api/signup', signupBody({ identity: { ...PATIENT_IDENTITY, insNir: '28005750561' } }));
      expectProblem(tooShort, 422, 'invalid_identifier');
    });
    // The problem is never an echo of the NIR (personal data).
    const response = await anonymous().post('/api/signup', signupBody({ identity: { ...PATIENT_IDENTITY, insNir: badKey } }));
    expect(JSON.stringify(response.body)).not.toContain(badKey);
  });

  it('a Corsican NIR (2A) is accepted and stored normalised; the same NIR twice → 409', async () => {
    const identity = { birthName: 'Casanova', firstNames: 'Paul', birthDate: '1985-02-11', sex: 'M', birthplaceCode: '2A004', insNir: '185022A00412308' };
    const created = await anonymous().post('/api/signup', signupBody({ identity }));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const row = await server.services.db.selectFrom('patient_identities').selectAll().where('user_id', '=', created.body.userId).executeTakeFirstOrThrow();
    expect(row.ins_nir).toBe('185022A00412308');
    expect(row.birthplace_code).toBe('2A004');
    await expectNothingWritten(async () => {
      const again = await anonymous().post('/api/signup', signupBody({ identity: { ...identity, insNir: '1 85 02 2a 004 123 08' } }));
      expectProblem(again, 409, 'identifier_taken');
    });
  });

  it('an invalid RPPS in an invitation → 422 invalid_identifier (fr / en), no invitation, no mail', async () => {
    const email = uniqueEmail('doctor');
    const path = `/api/admin/organisations/${organisationId}/invitations`;
    await expectNothingWritten(async () => {
      const french = await admin.client.post(path, { email, roles: ['doctor'], rpps: '10003456787' });
      expectProblem(french, 422, 'invalid_identifier');
      expect(french.body.detail).toBe('La clé de contrôle du numéro RPPS est incorrecte (vérifiez la saisie).');
      expect(french.body.errors).toEqual([expect.objectContaining({ pointer: '/rpps' })]);
      const inEnglish = await admin.client.post(path, { email, roles: ['doctor'], rpps: '10003456787' }, { 'accept-language': 'en' });
      expectProblem(inEnglish, 422, 'invalid_identifier');
      expect(inEnglish.body.detail).toBe('The RPPS number check digit is incorrect (please check for typos).');
      const letters = await admin.client.post(path, { email, roles: ['doctor'], rpps: '1000345678A' });
      expectProblem(letters, 422, 'invalid_identifier');
    });
    await new Promise((done) => setTimeout(done, 200));
    expect(server.smtp.mails.filter((mail) => mail.to.includes(email))).toEqual([]);
  });

  it('an invalid FINESS in PATCH organisation → 422 invalid_identifier (fr / en), organisation unchanged', async () => {
    const path = `/api/admin/organisations/${organisationId}`;
    const before = await server.services.db.selectFrom('organisations').selectAll().where('id', '=', organisationId).executeTakeFirstOrThrow();
    const french = await admin.client.patch(path, { name: 'Renamed by a bad request', finess: '750000001' });
    expectProblem(french, 422, 'invalid_identifier');
    expect(french.body.detail).toBe('La clé de contrôle du numéro FINESS est incorrecte (vérifiez la saisie).');
    expect(french.body.errors).toEqual([expect.objectContaining({ pointer: '/finess' })]);
    const inEnglish = await admin.client.request('PATCH', path, { finess: '750000001' }, { 'accept-language': 'en-US' });
    expectProblem(inEnglish, 422, 'invalid_identifier');
    expect(inEnglish.body.detail).toBe('The FINESS number check key is incorrect (please check for typos).');
    expectProblem(await admin.client.patch(path, { finess: '75000' }), 422, 'invalid_identifier');
    const after = await server.services.db.selectFrom('organisations').selectAll().where('id', '=', organisationId).executeTakeFirstOrThrow();
    expect(after).toEqual(before);
    // A valid FINESS goes through.
    const valid = await admin.client.patch(path, { finess: '750000002' });
    expect(valid.status).toBe(200);
    expect(valid.body.finess).toBe('750000002');
  });

  it('an invalid birth date or birthplace code → 400 validation_failed pointing at the field', async () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ birthDate: '1980-02-30' }, '/identity/birthDate'],
      [{ birthDate: '1980-13-01' }, '/identity/birthDate'],
      [{ birthDate: '2999-01-01' }, '/identity/birthDate'],
      [{ birthDate: '1850-01-01' }, '/identity/birthDate'],
      [{ birthDate: '17/05/1980' }, '/identity/birthDate'],
      [{ birthplaceCode: 'ABCDE' }, '/identity/birthplaceCode'],
      [{ birthplaceCode: '7505' }, '/identity/birthplaceCode'],
      [{ birthplaceCode: '2C004' }, '/identity/birthplaceCode'],
    ];
    await expectNothingWritten(async () => {
      for (const [change, pointer] of cases) {
        const response = await anonymous().post('/api/signup', signupBody({ identity: { ...PATIENT_IDENTITY, ...change } }));
        expectProblem(response, 400, 'validation_failed');
        expect(response.body.errors?.[0]?.pointer, JSON.stringify(change)).toBe(pointer);
      }
    });
    // A birth abroad (99xxx) and a Corsican commune are valid codes.
    expect((await anonymous().post('/api/signup', signupBody({ identity: { ...PATIENT_IDENTITY, birthplaceCode: '99134' } }))).status).toBe(201);
    expect((await anonymous().post('/api/signup', signupBody({ identity: { ...PATIENT_IDENTITY, birthplaceCode: '2b033' } }))).status).toBe(201);
  });

  it('a duplicate e-mail → 409 email_taken, whatever its case', async () => {
    const body = signupBody();
    expect((await anonymous().post('/api/signup', body)).status).toBe(201);
    await expectNothingWritten(async () => {
      expectProblem(await anonymous().post('/api/signup', signupBody({ email: body.email })), 409, 'email_taken');
      expectProblem(await anonymous().post('/api/signup', signupBody({ email: body.email.toUpperCase() })), 409, 'email_taken');
    });
  });

  it('an unknown route → 404 problem', async () => {
    const client = anonymous();
    for (const [method, path] of [['GET', '/api/does-not-exist'], ['POST', '/api/signup/extra'], ['GET', '/api/admin'], ['DELETE', '/api/setup']] as const) {
      const response = await client.request(method, path, method === 'POST' ? {} : undefined);
      expectProblem(response, 404, 'not_found');
    }
  });

  it('an unexpected failure is a bare 500 problem: no message, stack or path', async () => {
    const mailer = server.services.mailer;
    server.services.mailer = {
      send: async () => {
        const error = new Error('connect ECONNREFUSED 10.0.0.9:25 at /work/main/src/kernel/mail.ts:24:11');
        error.stack = `${error.message}\n    at send (/work/main/src/kernel/mail.ts:24:11)`;
        throw error;
      },
      close: () => undefined,
    };
    try {
      // The invitation mail is sent inside the invitation's transaction: its failure writes nothing.
      const response = await expectNothingWritten(() =>
        watch(admin.client).post(`/api/admin/organisations/${organisationId}/invitations`, { email: uniqueEmail('invitee'), roles: ['patient'] }),
      );
      expectProblem(response, 500, 'internal');
      expect(Object.keys(response.body).sort()).toEqual(['code', 'instance', 'status', 'title', 'type']);
      expect(JSON.stringify(response.body)).not.toMatch(/ECONNREFUSED|mail\.ts|10\.0\.0\.9/);
    } finally {
      server.services.mailer = mailer;
    }
    // A database error (a NUL character PostgreSQL refuses) does not leak either.
    const databaseError = await anonymous().post('/api/login', { email: 'a\u0000b@example.test', password: 'x' });
    expect(databaseError.status).toBeGreaterThanOrEqual(400);
    expect(leakIn(databaseError.body)).toBeNull();
    expect(databaseError.body.detail ?? '').not.toMatch(/0x00|byte sequence|UTF8/i);
  });

  it('input a database cannot store (NUL character, blank organisation name) → 400, not a 500', async () => {
    const account = await patient();
    const path = `/api/admin/organisations/${organisationId}`;
    const before = await server.services.db.selectFrom('organisations').select('name').where('id', '=', organisationId).executeTakeFirstOrThrow();
    const cases: Array<[string, () => Promise<Response<any>>]> = [
      ['login, NUL in e-mail', () => anonymous().post('/api/login', { email: 'a\u0000b@example.test', password: 'x' })],
      ['signup, NUL in display name', () => anonymous().post('/api/signup', signupBody({ displayName: 'Jeanne\u0000Martin' }))],
      ['signup, NUL in birth name', () => anonymous().post('/api/signup', signupBody({ identity: { ...PATIENT_IDENTITY, birthName: 'Mar\u0000tin' } }))],
      ['PATCH account, NUL in display name', () => account.client.patch('/api/account', { displayName: 'Jeanne\u0000' })],
      ['signup, blank display name', () => anonymous().post('/api/signup', signupBody({ displayName: '   ' }))],
      ['PATCH organisation, blank name', () => admin.client.patch(path, { name: '   ' })],
      ['PATCH organisation, NUL in name', () => admin.client.patch(path, { name: 'Centre\u0000' })],
    ];
    const seen: Array<[string, number, string]> = [];
    const countsBefore = await rowCounts();
    for (const [label, send] of cases) {
      const response = await send();
      expect(leakIn(response.body), label).toBeNull();
      seen.push([label, response.status, response.body?.code]);
    }
    expect(seen).toEqual(cases.map(([label]) => [label, 400, 'validation_failed']));
    expect(await rowCounts()).toEqual(countsBefore);
    const after = await server.services.db.selectFrom('organisations').select('name').where('id', '=', organisationId).executeTakeFirstOrThrow();
    expect(after.name).toBe(before.name);
  });
});

// ---------------------------------------------------------------------------------------------------
// CSRF and cookies
// ---------------------------------------------------------------------------------------------------

describe('cross-site request forgery and stolen cookies', () => {
  it('a signed-in request without x-csrf-token, or with a wrong one, → 403 csrf_failed and no change', async () => {
    const account = await patient();
    const original = await displayNameOf(account.userId);

    const forged = sameCookiesNoCsrf(account.client);
    expectProblem(await forged.patch('/api/account', { displayName: 'Forged' }), 403, 'csrf_failed');
    expectProblem(await account.client.request('PATCH', '/api/account', { displayName: 'Forged' }, { 'x-csrf-token': 'not-the-token' }), 403, 'csrf_failed');
    expectProblem(await account.client.request('PATCH', '/api/account', { displayName: 'Forged' }, { 'x-csrf-token': '' }), 403, 'csrf_failed');
    // Another user's valid token does not fit this session.
    const other = await patient();
    expectProblem(await account.client.request('PATCH', '/api/account', { displayName: 'Forged' }, { 'x-csrf-token': other.client.csrfToken! }), 403, 'csrf_failed');
    expect(await displayNameOf(account.userId)).toBe(original);

    // State-changing routes beyond the profile are covered by the same rule.
    await expectNothingWritten(async () => {
      expectProblem(await forged.post('/api/logout-everywhere'), 403, 'csrf_failed');
      expectProblem(await forged.post('/api/logout'), 403, 'csrf_failed');
      expectProblem(await forged.post('/api/factors/totp', {}), 403, 'csrf_failed');
    });
    expect(await liveSessionsOf(account.userId)).toBe(1);
    const adminForged = sameCookiesNoCsrf(admin.client);
    await expectNothingWritten(async () => {
      expectProblem(await adminForged.post(`/api/admin/organisations/${organisationId}/invitations`, { email: uniqueEmail('x'), roles: ['security_officer'] }), 403, 'csrf_failed');
      expectProblem(await adminForged.put(`/api/admin/organisations/${organisationId}/members/${account.userId}/roles`, { roles: ['patient', 'security_officer'] }), 403, 'csrf_failed');
    });

    // The right token works: the refusals above were about the token only.
    const legit = await account.client.patch('/api/account', { displayName: 'Jeanne M.' });
    expect(legit.status).toBe(200);
    expect(await displayNameOf(account.userId)).toBe('Jeanne M.');
  });

  it('a request with a foreign Origin → 403, even with the right token, and even anonymous', async () => {
    const account = await patient();
    const original = await displayNameOf(account.userId);
    for (const origin of ['https://evil.example', 'null', `http://localhost:${server.port + 1}`, `${server.url}.evil.example`]) {
      const response = await account.client.request('PATCH', '/api/account', { displayName: 'Cross-site' }, { origin });
      expectProblem(response, 403, 'csrf_failed');
    }
    expect(await displayNameOf(account.userId)).toBe(original);
    await expectNothingWritten(async () => {
      expectProblem(await anonymous().post('/api/signup', signupBody(), { origin: 'https://evil.example' }), 403, 'csrf_failed');
      expectProblem(await anonymous().post('/api/login', { email: account.email, password: account.password }, { origin: 'https://evil.example' }), 403, 'csrf_failed');
    });
    // The application's own origin is accepted.
    const sameOrigin = await account.client.request('PATCH', '/api/account', { displayName: 'Same origin' }, { origin: server.url });
    expect(sameOrigin.status).toBe(200);
    expect(await displayNameOf(account.userId)).toBe('Same origin');
  });

  it('a cookie copied before logout → 401 after it', async () => {
    const account = await patient();
    const cookie = stolenCookie(account.client);
    expect((await anonymous().get('/api/session', { cookie })).status).toBe(200);
    const logout = await account.client.post('/api/logout');
    expect(logout.status).toBe(204);
    expect(logout.headers.getSetCookie().join(';')).toMatch(/ausculta_session=;/);
    expectProblem(await anonymous().get('/api/session', { cookie }), 401, 'unauthenticated');
    const thief = anonymous();
    expectProblem(await thief.request('PATCH', '/api/account', { displayName: 'Thief' }, { cookie, 'x-csrf-token': account.client.csrfToken! }), 401, 'unauthenticated');
    expect(await displayNameOf(account.userId)).not.toBe('Thief');
    expect(await liveSessionsOf(account.userId)).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------------
// Sessions ended by the user's own actions
// ---------------------------------------------------------------------------------------------------

describe('sessions ended by logout-everywhere, password and factor changes', () => {
  it('log out everywhere ends every session of the user', async () => {
    const account = await patient();
    const second = await anotherSession(account);
    const third = await anotherSession(account);
    const bystander = await patient();
    expect(await liveSessionsOf(account.userId)).toBe(3);
    const cookies = [account.client, second, third].map(stolenCookie);

    expect((await second.post('/api/logout-everywhere')).status).toBe(204);
    for (const cookie of cookies) expectProblem(await anonymous().get('/api/session', { cookie }), 401, 'unauthenticated');
    expect(await liveSessionsOf(account.userId)).toBe(0);
    // Other users are not affected.
    expect((await bystander.client.get('/api/session')).status).toBe(200);
    const event = await server.services.db.selectFrom('security_events').select(['actor_user_id', 'detail']).where('type', '=', 'logout.everywhere').where('actor_user_id', '=', account.userId).executeTakeFirstOrThrow();
    expect(event.detail).toMatchObject({ sessionsEnded: 3 });
  });

  it('a password change ends the other sessions but keeps the current one', async () => {
    const account = await patient();
    const other = await anotherSession(account);
    const newPassword = strongPassword();

    // A wrong current password or a weak new one changes nothing.
    expectProblem(await account.client.post('/api/account/password', { currentPassword: 'Wrong-password-42!', newPassword }), 401, 'invalid_credentials');
    expectProblem(await account.client.post('/api/account/password', { currentPassword: account.password, newPassword: 'Password1234!' }), 422, 'weak_password');
    expect((await other.get('/api/session')).status).toBe(200);

    expect((await account.client.post('/api/account/password', { currentPassword: account.password, newPassword })).status).toBe(204);
    expect((await account.client.get('/api/session')).status).toBe(200);
    expectProblem(await other.get('/api/session'), 401, 'unauthenticated');
    expect(await liveSessionsOf(account.userId)).toBe(1);

    expectProblem(await anonymous().post('/api/login', { email: account.email, password: account.password }), 401, 'invalid_credentials');
    expect((await anonymous().post('/api/login', { email: account.email, password: newPassword })).status).toBe(200);
  });

  it('enrolling a second factor ends the other sessions but keeps the current one', async () => {
    const account = await patient();
    const other = await anotherSession(account);
    expect((await other.get('/api/session')).status).toBe(200);
    await enrolTotp(server, account);
    const current = await account.client.get('/api/session');
    expect(current.status).toBe(200);
    expect(current.body.secondFactorVerified).toBe(true);
    expectProblem(await other.get('/api/session'), 401, 'unauthenticated');
    expect(await liveSessionsOf(account.userId)).toBe(1);
  });

  it('removing a factor ends the other sessions; removing the last one is refused and ends nothing', async () => {
    const account = await patient();
    await enrolTotp(server, account);
    const other = await anotherSession(account);
    // The session that removes must have proven the password recently: take a fresh one.
    const remover = await anotherSession(account);

    expectProblem(await remover.delete('/api/factors/totp'), 409, 'conflict');
    expect((await other.get('/api/session')).status).toBe(200);
    expect((await remover.get('/api/session')).body.factors.totp).toBe(true);

    // With a passkey on the account (inserted directly: the browser ceremony is not what is tested here),
    // the TOTP factor can go, and the other sessions end with it.
    await server.services.db
      .insertInto('webauthn_credentials')
      .values({ id: `test-${randomBytes(8).toString('hex')}`, user_id: account.userId, public_key: new Uint8Array([1, 2, 3]), counter: 0, transports: '[]', name: 'Test key' })
      .execute();
    expect((await remover.delete('/api/factors/totp')).status).toBe(204);
    const after = await remover.get('/api/session');
    expect(after.status).toBe(200);
    expect(after.body.factors).toMatchObject({ totp: false, passkeys: 1 });
    expectProblem(await other.get('/api/session'), 401, 'unauthenticated');
    expectProblem(await account.client.get('/api/session'), 401, 'unauthenticated');
    expect(await liveSessionsOf(account.userId)).toBe(1);
  });

  it('changing e-mail needs a re-authentication after 5 minutes', async () => {
    const account = await patient();
    const other = await anotherSession(account);
    const newEmail = uniqueEmail('moved');
    server.advanceClock(6 * 60_000);
    expect((await account.client.get('/api/session')).status).toBe(200);

    expectProblem(await account.client.post('/api/account/email', { email: newEmail }), 403, 'reauthentication_required');
    expectProblem(await account.client.post('/api/reauthenticate', { password: 'Wrong-password-42!' }), 401, 'invalid_credentials');
    expectProblem(await account.client.post('/api/account/email', { email: newEmail }), 403, 'reauthentication_required');
    const unchanged = await server.services.db.selectFrom('users').select('email').where('id', '=', account.userId).executeTakeFirstOrThrow();
    expect(unchanged.email).toBe(account.email);

    expect((await account.client.post('/api/reauthenticate', { password: account.password })).status).toBe(204);
    expect((await account.client.post('/api/account/email', { email: newEmail })).status).toBe(204);
    expect((await account.client.get('/api/session')).body.user.email).toBe(newEmail);
    expectProblem(await other.get('/api/session'), 401, 'unauthenticated');
    // The previous address is told, by a mail sent after the answer.
    await expect.poll(() => server.smtp.mails.filter((mail) => mail.to.includes(account.email.toLowerCase())).length, { timeout: 5_000 }).toBe(1);

    // The re-authentication itself expires after 5 minutes.
    server.advanceClock(6 * 60_000);
    expectProblem(await account.client.post('/api/account/email', { email: uniqueEmail('again') }), 403, 'reauthentication_required');
  });

  it('changing e-mail right after login needs no extra step', async () => {
    const account = await patient();
    const newEmail = uniqueEmail('fresh');
    expect((await account.client.post('/api/account/email', { email: newEmail })).status).toBe(204);
    expect((await anonymous().post('/api/login', { email: newEmail, password: account.password })).status).toBe(200);
  });
});

// ---------------------------------------------------------------------------------------------------
// Timeouts (these move the clock by hours: last in the file)
// ---------------------------------------------------------------------------------------------------

describe('idle and absolute timeouts', () => {
  it('after 16 idle minutes the session is refused with session_expired', async () => {
    const account = await patient();
    const cookie = stolenCookie(account.client);
    server.advanceClock(16 * 60_000);
    expectProblem(await account.client.get('/api/session'), 401, 'session_expired');
    // Ended for good, not just refused once.
    expect((await anonymous().get('/api/session', { cookie })).status).toBe(401);
    const row = await server.services.db.selectFrom('sessions').select(['revoked_at', 'revoked_reason']).where('user_id', '=', account.userId).executeTakeFirstOrThrow();
    expect(row.revoked_at).not.toBeNull();
  });

  it('activity inside the idle window keeps the session alive', async () => {
    const account = await patient();
    server.advanceClock(10 * 60_000);
    const first = await account.client.get('/api/session');
    expect(first.status).toBe(200);
    server.advanceClock(10 * 60_000);
    const second = await account.client.get('/api/session');
    expect(second.status).toBe(200);
    expect(Date.parse(second.body.idleExpiresAt)).toBeGreaterThan(Date.parse(first.body.idleExpiresAt));
    expect(Date.parse(second.body.idleExpiresAt) - server.services.now()).toBeLessThanOrEqual(15 * 60_000);
    // A POST counts as activity too.
    server.advanceClock(10 * 60_000);
    expect((await account.client.patch('/api/account', { locale: 'en' })).status).toBe(200);
    server.advanceClock(10 * 60_000);
    expect((await account.client.get('/api/sessions')).status).toBe(200);
  });

  it('the absolute timeout of 12 hours ends the session even with steady activity', async () => {
    const account = await patient();
    const started = server.services.now();
    const session = await account.client.get('/api/session');
    expect(Date.parse(session.body.absoluteExpiresAt) - started).toBeLessThanOrEqual(12 * 3600_000);
    expect(Date.parse(session.body.absoluteExpiresAt) - started).toBeGreaterThan(12 * 3600_000 - 60_000);
    for (let step = 1; step <= 71; step += 1) {
      server.advanceClock(10 * 60_000);
      const ping = await account.client.get('/api/session/ping');
      expect(ping.status, `after ${step * 10} minutes`).toBe(200);
    }
    // 11 h 50 min of activity so far; 11 more minutes crosses 12 hours.
    server.advanceClock(11 * 60_000);
    expectProblem(await account.client.get('/api/session'), 401, 'session_expired');
  });
});
