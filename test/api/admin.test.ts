// Organisation administration over real HTTP: who may do what on organisation A (a table of roles ×
// actions, printed), invitations by mail, role changes and their trace, the last-administrator rule.
import { randomUUID } from 'node:crypto';
import { Secret } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from '../../src/identity/accounts.js';
import { installConfirmedTotp } from '../../src/identity/totp.js';
import { Client, type Response } from '../support/client.js';
import { enrolTotp, inviteMember, logIn, PATIENT_IDENTITY, setupOrganisation, signUpPatient, strongPassword, uniqueEmail, type Account } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';

const ORG_A_NAME = 'Centre A';
/** Luhn-valid RPPS numbers, one per professional (an RPPS belongs to one account). */
const RPPS = { doctor: '10001234565', healthProfessional: '10007654329', invited: '10003456786' };

let server: TestServer;
let adminA: Account & { organisationId: string };
let orgA: string;

type Actor = 'org_admin' | 'patient' | 'doctor' | 'health_professional' | 'security_officer' | 'org_admin_of_B' | 'anonymous' | 'org_admin_without_2fa';
const actors: Partial<Record<Actor, { client: Client; userId: string | null }>> = {};
let adminB: Account & { organisationId: string };

beforeAll(async () => {
  server = await startTestServer();
  adminA = await setupOrganisation(server, ORG_A_NAME);
  orgA = adminA.organisationId;

  const patient = await signUpPatient(server, orgA);
  await enrolTotp(server, patient);
  const doctor = await inviteMember(server, adminA, { roles: ['doctor'], rpps: RPPS.doctor, profession: 'Médecin' });
  await enrolTotp(server, doctor);
  const healthProfessional = await inviteMember(server, adminA, { roles: ['health_professional'], rpps: RPPS.healthProfessional, profession: 'Infirmier' });
  await enrolTotp(server, healthProfessional);
  const securityOfficer = await inviteMember(server, adminA, { roles: ['security_officer'] });
  await enrolTotp(server, securityOfficer);
  // An administrator of A who has not enrolled a second factor yet.
  const adminWithout2fa = await inviteMember(server, adminA, { roles: ['org_admin'] });

  adminB = await foreignAdmin('Centre B');

  actors.org_admin = { client: adminA.client, userId: adminA.userId };
  actors.patient = { client: patient.client, userId: patient.userId };
  actors.doctor = { client: doctor.client, userId: doctor.userId };
  actors.health_professional = { client: healthProfessional.client, userId: healthProfessional.userId };
  actors.security_officer = { client: securityOfficer.client, userId: securityOfficer.userId };
  actors.org_admin_of_B = { client: adminB.client, userId: adminB.userId };
  actors.anonymous = { client: new Client(server.url), userId: null };
  actors.org_admin_without_2fa = { client: adminWithout2fa.client, userId: adminWithout2fa.userId };
});
afterAll(() => server?.close());

/**
 * Another organisation and its administrator, created in the database (there is one setup per
 * instance), with a confirmed TOTP factor, then logged in over HTTP with password and TOTP.
 */
async function foreignAdmin(organisationName: string, organisationId?: string): Promise<Account & { organisationId: string }> {
  const { db, hasher, box } = server.services;
  const orgId = organisationId ?? (await db.insertInto('organisations').values({ name: organisationName }).returning('id').executeTakeFirstOrThrow()).id;
  const email = uniqueEmail('admin-b');
  const password = strongPassword();
  const userId = await db.transaction().execute((tx) => createAccount(tx, hasher, { email, displayName: `Admin ${organisationName}`, password, organisationId: orgId, roles: ['org_admin'] }));
  const totpSecret = new Secret({ size: 20 }).base32;
  await installConfirmedTotp(db, box, userId, totpSecret, new Date(server.services.now()));
  const account: Account = { client: new Client(server.url), email, password, userId, totpSecret };
  const client = await logIn(server, account);
  return { ...account, client, organisationId: orgId };
}

function tokenOf(link: string): string {
  const token = new URL(link.replace('/#/', '/')).searchParams.get('token');
  expect(token).toBeTruthy();
  return token!;
}

async function rolesIn(organisationId: string, userId: string): Promise<string[]> {
  const rows = await server.services.db.selectFrom('member_roles').select('role').where('organisation_id', '=', organisationId).where('user_id', '=', userId).execute();
  return rows.map((row) => row.role).sort();
}

async function memberRolesSnapshot(organisationId: string) {
  return server.services.db.selectFrom('member_roles').select(['user_id', 'role']).where('organisation_id', '=', organisationId).orderBy('user_id').orderBy('role').execute();
}

function expectProblem(response: Response<any>, status: number, code: string): void {
  expect({ status: response.status, code: response.body?.code }, JSON.stringify(response.body)).toEqual({ status, code });
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
}

// ---------------------------------------------------------------------------------------------------
// The authorization matrix
// ---------------------------------------------------------------------------------------------------

type Action = 'GET org' | 'PATCH org' | 'list members' | 'set roles' | 'list invitations' | 'create invitation';
const ACTIONS: Action[] = ['GET org', 'PATCH org', 'list members', 'set roles', 'list invitations', 'create invitation'];

interface Expectation {
  status: number;
  code?: string;
}

const ALLOWED: Record<Action, Expectation> = {
  'GET org': { status: 200 },
  'PATCH org': { status: 200 },
  'list members': { status: 200 },
  'set roles': { status: 200 },
  'list invitations': { status: 200 },
  'create invitation': { status: 201 },
};
const everywhere = (expectation: Expectation) => Object.fromEntries(ACTIONS.map((action) => [action, expectation])) as Record<Action, Expectation>;

/** Expected answer per cell, on organisation A. Only A's administrator with two factors gets through. */
const EXPECTED: Record<Actor, Record<Action, Expectation>> = {
  org_admin: ALLOWED,
  patient: everywhere({ status: 404, code: 'not_found' }),
  doctor: everywhere({ status: 404, code: 'not_found' }),
  health_professional: everywhere({ status: 404, code: 'not_found' }),
  security_officer: everywhere({ status: 404, code: 'not_found' }),
  org_admin_of_B: everywhere({ status: 404, code: 'not_found' }),
  anonymous: everywhere({ status: 401, code: 'unauthenticated' }),
  org_admin_without_2fa: everywhere({ status: 403, code: 'second_factor_enrolment_required' }),
};
const ACTORS = Object.keys(EXPECTED) as Actor[];

describe('authorization matrix on organisation A', () => {
  it('only A’s administrator with a second factor may administer A; zero mismatches', async () => {
    const membersBefore = await memberRolesSnapshot(orgA);
    const invitationEmails: Record<string, Actor> = {};
    const securityOfficerId = actors.security_officer!.userId!;

    const send = (actor: Actor, action: Action): Promise<Response<any>> => {
      const { client, userId } = actors[actor]!;
      const base = `/api/admin/organisations/${orgA}`;
      const isAdmin = actor === 'org_admin';
      switch (action) {
        case 'GET org':
          return client.get(base);
        case 'PATCH org':
          // The administrator's change is a no-op; anyone else tries to rename A.
          return client.patch(base, { name: isAdmin ? ORG_A_NAME : `Renamed by ${actor}` });
        case 'list members':
          return client.get(`${base}/members`);
        case 'set roles':
          // The administrator re-sets a member's roles unchanged; anyone else tries to make themselves admin of A.
          return isAdmin || !userId
            ? client.put(`${base}/members/${securityOfficerId}/roles`, { roles: ['security_officer'] })
            : client.put(`${base}/members/${userId}/roles`, { roles: ['org_admin'] });
        case 'list invitations':
          return client.get(`${base}/invitations`);
        case 'create invitation': {
          const email = uniqueEmail(`matrix-${actor.replace(/_/g, '-')}`);
          invitationEmails[email] = actor;
          return client.post(`${base}/invitations`, { email, roles: ['org_admin'] });
        }
      }
    };

    const cells: Record<string, Record<string, string>> = {};
    const mismatches: string[] = [];
    for (const actor of ACTORS) {
      cells[actor] = {};
      for (const action of ACTIONS) {
        const expected = EXPECTED[actor][action];
        const response = await send(actor, action);
        const code = typeof response.body === 'object' && response.body ? (response.body.code as string | undefined) : undefined;
        const ok = response.status === expected.status && (expected.code === undefined || code === expected.code);
        cells[actor]![action] = `${response.status}${code ? ` ${code}` : ''}${ok ? '' : ` ✗ want ${expected.status}${expected.code ? ` ${expected.code}` : ''}`}`;
        if (!ok) mismatches.push(`${actor} × ${action}: got ${response.status} ${code ?? ''}, expected ${expected.status} ${expected.code ?? ''}`);
        if (response.status >= 400) expect(response.headers.get('content-type'), `${actor} × ${action}`).toMatch(/^application\/problem\+json/);
      }
    }

    const width = Math.max(...ACTORS.map((actor) => actor.length));
    const columnWidth = Math.max(...ACTIONS.map((action) => action.length), ...Object.values(cells).flatMap((row) => Object.values(row).map((cell) => cell.length)));
    const line = (first: string, rest: string[]) => `${first.padEnd(width)} | ${rest.map((cell) => cell.padEnd(columnWidth)).join(' | ')}`;
    const table = [line('role \\ action', ACTIONS), '-'.repeat(width + ACTIONS.length * (columnWidth + 3)), ...ACTORS.map((actor) => line(actor, ACTIONS.map((action) => cells[actor]![action]!)))];
    console.log(`\nAuthorization matrix on organisation A (${mismatches.length} mismatch${mismatches.length === 1 ? '' : 'es'})\n${table.join('\n')}\n`);
    expect(mismatches).toEqual([]);

    // Nobody but the administrator changed anything.
    expect(await memberRolesSnapshot(orgA)).toEqual(membersBefore);
    const organisation = await server.services.db.selectFrom('organisations').select('name').where('id', '=', orgA).executeTakeFirstOrThrow();
    expect(organisation.name).toBe(ORG_A_NAME);
    const invitations = await server.services.db.selectFrom('invitations').select('email').where('email', 'in', Object.keys(invitationEmails)).execute();
    expect(invitations.map((row) => invitationEmails[row.email])).toEqual(['org_admin']);
  });

  it('B’s administrator administers B, and A answers B like an organisation that does not exist', async () => {
    expect((await adminB.client.get(`/api/admin/organisations/${adminB.organisationId}`)).body).toMatchObject({ id: adminB.organisationId, name: 'Centre B' });
    const foreign = await adminB.client.get(`/api/admin/organisations/${orgA}`);
    const unknown = await adminB.client.get(`/api/admin/organisations/${randomUUID()}`);
    expectProblem(foreign, 404, 'not_found');
    expectProblem(unknown, 404, 'not_found');
    expect({ ...foreign.body, instance: undefined }).toEqual({ ...unknown.body, instance: undefined });
    // And A's administrator does not see B either.
    expectProblem(await adminA.client.get(`/api/admin/organisations/${adminB.organisationId}/members`), 404, 'not_found');
  });

  it('the member list of A holds A’s members only', async () => {
    const members = await adminA.client.get(`/api/admin/organisations/${orgA}/members`);
    expect(members.status).toBe(200);
    const ids = (members.body as Array<{ userId: string }>).map((member) => member.userId);
    expect(ids).not.toContain(adminB.userId);
    for (const actor of ['org_admin', 'patient', 'doctor', 'health_professional', 'security_officer', 'org_admin_without_2fa'] as const) {
      expect(ids).toContain(actors[actor]!.userId);
    }
    const doctor = (members.body as Array<Record<string, unknown>>).find((member) => member.userId === actors.doctor!.userId);
    expect(doctor).toMatchObject({ roles: ['doctor'], rpps: RPPS.doctor, profession: 'Médecin' });
    // The administrator sees accounts, no identity traits or health data.
    for (const member of members.body as Array<Record<string, unknown>>) {
      expect(Object.keys(member).sort()).toEqual(['displayName', 'email', 'profession', 'roles', 'rpps', 'userId']);
    }
    expect(JSON.stringify(members.body)).not.toContain(PATIENT_IDENTITY.birthDate);
  });
});

// ---------------------------------------------------------------------------------------------------
// Invitations and roles
// ---------------------------------------------------------------------------------------------------

describe('invitations and roles', () => {
  it('a doctor invited with a valid RPPS gets the mail, accepts, and is signed in as doctor', async () => {
    const email = uniqueEmail('doctor');
    const created = await adminA.client.post(`/api/admin/organisations/${orgA}/invitations`, { email, roles: ['doctor'], rpps: RPPS.invited, profession: 'Médecin généraliste' });
    expect(created.status).toBe(201);
    expect(Date.parse(created.body.expiresAt) - server.services.now()).toBeGreaterThan(6.9 * 24 * 3600_000);

    const link = await server.smtp.waitForLink(email);
    expect(link.startsWith(`${server.url}/#/invitation?token=`)).toBe(true);
    const token = tokenOf(link);
    const preview = await new Client(server.url).get(`/api/invitations/${token}`);
    expect(preview.body).toEqual({ organisationName: ORG_A_NAME, email, roles: ['doctor'], accountExists: false });

    const client = new Client(server.url);
    const accepted = await client.post('/api/invitations/accept', { token, password: strongPassword(), displayName: 'Dr Invité' });
    expect(accepted.status).toBe(201);
    const session = await client.refreshSession();
    expect(session.status).toBe(200);
    expect(session.body.user).toMatchObject({ email, rpps: RPPS.invited, profession: 'Médecin généraliste' });
    expect(session.body.memberships).toEqual([{ organisationId: orgA, organisationName: ORG_A_NAME, roles: ['doctor'] }]);
    expect(session.body.secondFactorVerified).toBe(false);

    const listed = await adminA.client.get(`/api/admin/organisations/${orgA}/invitations`);
    expect(listed.body.find((row: { email: string }) => row.email === email)).toMatchObject({ id: created.body.id, roles: ['doctor'], acceptedAt: expect.any(String) });
  });

  it('inviting a professional without an RPPS is refused: no invitation, no mail', async () => {
    for (const roles of [['doctor'], ['health_professional'], ['security_officer', 'doctor']]) {
      const email = uniqueEmail('no-rpps');
      const before = await server.services.db.selectFrom('invitations').select('id').execute();
      const response = await adminA.client.post(`/api/admin/organisations/${orgA}/invitations`, { email, roles });
      expect([400, 422], JSON.stringify(response.body)).toContain(response.status);
      expect(response.body.code).toMatch(/^(validation_failed|invalid_identifier)$/);
      expect(response.body.errors).toEqual([expect.objectContaining({ pointer: '/rpps' })]);
      expect(await server.services.db.selectFrom('invitations').select('id').execute()).toHaveLength(before.length);
      expect(server.smtp.mails.filter((mail) => mail.to.includes(email))).toEqual([]);
    }
  });

  it('role changes are recorded as role.granted / role.revoked with actor, subject and organisation', async () => {
    const doctorId = actors.doctor!.userId!;
    const path = `/api/admin/organisations/${orgA}/members/${doctorId}/roles`;
    const granted = await adminA.client.put(path, { roles: ['doctor', 'security_officer'] });
    expect(granted.status).toBe(200);
    expect(granted.body).toEqual({ roles: ['doctor', 'security_officer'] });
    expect(await rolesIn(orgA, doctorId)).toEqual(['doctor', 'security_officer']);
    const revoked = await adminA.client.put(path, { roles: ['doctor'] });
    expect(revoked.status).toBe(200);
    expect(await rolesIn(orgA, doctorId)).toEqual(['doctor']);

    const events = await server.services.db
      .selectFrom('security_events')
      .select(['type', 'outcome', 'actor_user_id', 'subject_user_id', 'organisation_id', 'detail'])
      .where('type', 'in', ['role.granted', 'role.revoked'])
      .where('subject_user_id', '=', doctorId)
      .orderBy('id')
      .execute();
    expect(events).toEqual([
      { type: 'role.granted', outcome: 'success', actor_user_id: adminA.userId, subject_user_id: doctorId, organisation_id: orgA, detail: { role: 'security_officer' } },
      { type: 'role.revoked', outcome: 'success', actor_user_id: adminA.userId, subject_user_id: doctorId, organisation_id: orgA, detail: { role: 'security_officer' } },
    ]);
    // The doctor's own session sees the change.
    expect((await actors.doctor!.client.get('/api/session')).body.memberships[0].roles).toEqual(['doctor']);
  });

  it('a professional role needs an RPPS, a patient role needs identity traits, and a member keeps a role', async () => {
    const officerId = actors.security_officer!.userId!;
    const path = `/api/admin/organisations/${orgA}/members/${officerId}/roles`;
    const noRpps = await adminA.client.put(path, { roles: ['security_officer', 'doctor'] });
    expect(noRpps.status).toBe(400);
    expect(noRpps.body.errors).toEqual([expect.objectContaining({ pointer: '/rpps' })]);
    expectProblem(await adminA.client.put(path, { roles: ['security_officer', 'patient'] }), 400, 'validation_failed');
    expectProblem(await adminA.client.put(path, { roles: [] }), 400, 'validation_failed');
    expectProblem(await adminA.client.put(path, { roles: ['superuser'] }), 400, 'validation_failed');
    expect(await rolesIn(orgA, officerId)).toEqual(['security_officer']);
  });

  it('an administrator cannot hand roles in A to a user who is not a member of A', async () => {
    const response = await adminA.client.put(`/api/admin/organisations/${orgA}/members/${adminB.userId}/roles`, { roles: ['org_admin'] });
    expectProblem(response, 404, 'not_found');
    expect(await rolesIn(orgA, adminB.userId)).toEqual([]);
  });

  it('the last administrator cannot drop org_admin (409)', async () => {
    // B has a single administrator.
    const selfDemotion = await adminB.client.put(`/api/admin/organisations/${adminB.organisationId}/members/${adminB.userId}/roles`, { roles: ['security_officer'] });
    expectProblem(selfDemotion, 409, 'conflict');
    expect(await rolesIn(adminB.organisationId, adminB.userId)).toEqual(['org_admin']);

    // A has two (one without a second factor): A's administrator can remove the other one, then not itself.
    const otherAdmin = actors.org_admin_without_2fa!.userId!;
    const demoted = await adminA.client.put(`/api/admin/organisations/${orgA}/members/${otherAdmin}/roles`, { roles: ['security_officer'] });
    expect(demoted.status).toBe(200);
    expect(await rolesIn(orgA, otherAdmin)).toEqual(['security_officer']);
    expectProblem(await adminA.client.put(`/api/admin/organisations/${orgA}/members/${adminA.userId}/roles`, { roles: ['security_officer'] }), 409, 'conflict');
    expect(await rolesIn(orgA, adminA.userId)).toEqual(['org_admin']);
    const revokedEvents = await server.services.db.selectFrom('security_events').select(['actor_user_id', 'detail']).where('type', '=', 'role.revoked').where('subject_user_id', '=', otherAdmin).execute();
    expect(revokedEvents).toEqual([{ actor_user_id: adminA.userId, detail: { role: 'org_admin' } }]);
    const selfRevoked = await server.services.db.selectFrom('security_events').select('id').where('type', '=', 'role.revoked').where('subject_user_id', '=', adminA.userId).execute();
    expect(selfRevoked).toEqual([]);
  });

  it('two administrators removing each other at the same moment still leave one administrator', async () => {
    const first = await foreignAdmin('Centre C');
    const orgC = first.organisationId;
    const second = await foreignAdmin('Centre C', orgC);
    const path = (userId: string) => `/api/admin/organisations/${orgC}/members/${userId}/roles`;
    for (let round = 0; round < 10; round += 1) {
      // Both are administrators at the start of each round.
      for (const admin of [first, second]) {
        await server.services.db.insertInto('member_roles').values({ organisation_id: orgC, user_id: admin.userId, role: 'org_admin' }).onConflict((oc) => oc.doNothing()).execute();
        await server.services.db.deleteFrom('member_roles').where('organisation_id', '=', orgC).where('user_id', '=', admin.userId).where('role', '=', 'security_officer').execute();
      }
      const [a, b] = await Promise.all([
        first.client.put(path(second.userId), { roles: ['security_officer'] }),
        second.client.put(path(first.userId), { roles: ['security_officer'] }),
      ]);
      const admins = await server.services.db.selectFrom('member_roles').select('user_id').where('organisation_id', '=', orgC).where('role', '=', 'org_admin').execute();
      expect(admins.length, `round ${round}: answers ${a.status} / ${b.status}`).toBeGreaterThanOrEqual(1);
      expect([a.status, b.status].filter((status) => status === 200).length, `round ${round}`).toBeLessThanOrEqual(1);
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// Invitation links: single use, 7 days (this moves the clock by days: last in the file)
// ---------------------------------------------------------------------------------------------------

describe('invitation links', () => {
  it('a link works once', async () => {
    const email = uniqueEmail('once');
    expect((await adminA.client.post(`/api/admin/organisations/${orgA}/invitations`, { email, roles: ['security_officer'] })).status).toBe(201);
    const token = tokenOf(await server.smtp.waitForLink(email));
    const accepted = await new Client(server.url).post('/api/invitations/accept', { token, password: strongPassword(), displayName: 'Première fois' });
    expect(accepted.status).toBe(201);

    const users = await server.services.db.selectFrom('users').select('id').execute();
    expectProblem(await new Client(server.url).post('/api/invitations/accept', { token, password: strongPassword(), displayName: 'Seconde fois' }), 400, 'invalid_token');
    expectProblem(await new Client(server.url).get(`/api/invitations/${token}`), 400, 'invalid_token');
    expect(await server.services.db.selectFrom('users').select('id').execute()).toHaveLength(users.length);
  });

  it('a link no longer works after 7 days', async () => {
    const email = uniqueEmail('late');
    expect((await adminA.client.post(`/api/admin/organisations/${orgA}/invitations`, { email, roles: ['security_officer'] })).status).toBe(201);
    const token = tokenOf(await server.smtp.waitForLink(email));
    expect((await new Client(server.url).get(`/api/invitations/${token}`)).status).toBe(200);
    server.advanceClock(8 * 24 * 3600_000);
    expectProblem(await new Client(server.url).get(`/api/invitations/${token}`), 400, 'invalid_token');
    expectProblem(await new Client(server.url).post('/api/invitations/accept', { token, password: strongPassword(), displayName: 'Trop tard' }), 400, 'invalid_token');
    expect(await server.services.db.selectFrom('users').select('id').where('email', '=', email).execute()).toEqual([]);
  });

  it('an unknown token is refused like a used one', async () => {
    const response = await new Client(server.url).post('/api/invitations/accept', { token: 'x'.repeat(43), password: strongPassword(), displayName: 'Personne' });
    expectProblem(response, 400, 'invalid_token');
  });
});
