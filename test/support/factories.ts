// Typed factories for test data, built through the public API like a real user would.
import { randomBytes } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import { issueSetupToken } from '../../src/admin/setup.js';
import { Client } from './client.js';
import type { TestServer } from './server.js';

export function strongPassword(): string {
  return `Qz7!${randomBytes(12).toString('base64url')}`;
}

export function uniqueEmail(prefix = 'user'): string {
  return `${prefix}-${randomBytes(5).toString('hex')}@example.test`;
}

/** A code for `secret` at `timeMs` (the server's clock), computed by otpauth like an authenticator app. */
export function totpCode(secret: string, timeMs: number): string {
  return new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30, algorithm: 'SHA1' }).generate({ timestamp: timeMs });
}

export const PATIENT_IDENTITY = {
  birthName: 'Martin',
  firstNames: 'Jeanne Louise',
  birthDate: '1980-05-17',
  sex: 'F',
  birthplaceCode: '75056',
} as const;

export interface Account {
  client: Client;
  email: string;
  password: string;
  userId: string;
  totpSecret?: string;
  recoveryCodes?: string[];
}

/** First run: the setup token, the first organisation and its administrator (already with TOTP). */
export async function setupOrganisation(server: TestServer, name = 'Centre de santé de test'): Promise<Account & { organisationId: string }> {
  const token = await issueSetupToken(server.services.db, server.services.now());
  if (!token) throw new Error('setup already done');
  const client = new Client(server.url);
  const email = uniqueEmail('admin');
  const password = strongPassword();
  const response = await client.post('/api/setup', { setupToken: token, organisation: { name }, admin: { email, displayName: 'Admin Test', password } });
  if (response.status !== 201) throw new Error(`setup failed: ${JSON.stringify(response.body)}`);
  await client.refreshSession();
  const account: Account & { organisationId: string } = { client, email, password, userId: response.body.userId, organisationId: response.body.organisationId };
  await enrolTotp(server, account);
  return account;
}

export async function signUpPatient(server: TestServer, organisationId: string, overrides: Record<string, unknown> = {}): Promise<Account> {
  const client = new Client(server.url);
  const email = uniqueEmail('patient');
  const password = strongPassword();
  const response = await client.post('/api/signup', { organisationId, email, password, displayName: 'Jeanne Martin', identity: PATIENT_IDENTITY, ...overrides });
  if (response.status !== 201) throw new Error(`signup failed: ${JSON.stringify(response.body)}`);
  await client.refreshSession();
  return { client, email, password, userId: response.body.userId };
}

export async function enrolTotp(server: TestServer, account: Account): Promise<void> {
  const setup = await account.client.post('/api/factors/totp', {});
  if (setup.status !== 200) throw new Error(`totp setup failed: ${JSON.stringify(setup.body)}`);
  const confirm = await account.client.post('/api/factors/totp/confirm', { code: totpCode(setup.body.secret, server.services.now()) });
  if (confirm.status !== 200) throw new Error(`totp confirm failed: ${JSON.stringify(confirm.body)}`);
  account.totpSecret = setup.body.secret;
  account.recoveryCodes = confirm.body.recoveryCodes;
  await account.client.refreshSession();
}

/** Invites someone into the organisation and accepts the invitation through the mailed link. */
export async function inviteMember(
  server: TestServer,
  admin: Account & { organisationId: string },
  invite: { roles: string[]; rpps?: string; profession?: string; identity?: Record<string, string> },
): Promise<Account> {
  const email = uniqueEmail(invite.roles[0]);
  const created = await admin.client.post(`/api/admin/organisations/${admin.organisationId}/invitations`, {
    email,
    roles: invite.roles,
    ...(invite.rpps ? { rpps: invite.rpps } : {}),
    ...(invite.profession ? { profession: invite.profession } : {}),
  });
  if (created.status !== 201) throw new Error(`invitation failed: ${JSON.stringify(created.body)}`);
  const link = await server.smtp.waitForLink(email);
  const token = new URL(link.replace('/#/', '/')).searchParams.get('token');
  const client = new Client(server.url);
  const password = strongPassword();
  const accepted = await client.post('/api/invitations/accept', {
    token,
    password,
    displayName: `Membre ${invite.roles.join(' ')}`,
    ...(invite.identity ? { identity: invite.identity } : {}),
  });
  if (accepted.status !== 201) throw new Error(`accept failed: ${JSON.stringify(accepted.body)}`);
  await client.refreshSession();
  return { client, email, password, userId: accepted.body.userId };
}

/** Logs in with password and TOTP from a fresh client. */
export async function logIn(server: TestServer, account: Account): Promise<Client> {
  const client = new Client(server.url);
  const first = await client.post('/api/login', { email: account.email, password: account.password });
  if (first.status !== 200) throw new Error(`login failed: ${JSON.stringify(first.body)}`);
  await client.refreshSession();
  if (first.body.status === 'second_factor_required') {
    if (!account.totpSecret) throw new Error('account has no TOTP secret');
    // Each step is single-use: move the clock to a fresh time step.
    server.advanceClock(30_000);
    const second = await client.post('/api/login/totp', { code: totpCode(account.totpSecret, server.services.now()) });
    if (second.status !== 200) throw new Error(`second factor failed: ${JSON.stringify(second.body)}`);
    await client.refreshSession();
  }
  return client;
}
