// THE authorization matrix of the access gate: every kind of actor × every action × {the patient they
// care for, a patient of their organisation they do not, a patient of another organisation, a random
// id}. The gate is called directly (one transaction per decision, counting audit entries around it),
// then a subset goes through HTTP. Expected cells are written out by hand below; the table is printed.
import { randomUUID } from 'node:crypto';
import { Secret } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTIONS, decide, type Action, type Purpose } from '../../src/access/gate.js';
import { createAccount } from '../../src/identity/accounts.js';
import { hashToken } from '../../src/kernel/crypto.js';
import { installConfirmedTotp } from '../../src/identity/totp.js';
import type { Role } from '../../src/kernel/schema.js';
import { Client } from '../support/client.js';
import { enrolTotp, inviteMember, logIn, PATIENT_IDENTITY, setupOrganisation, signUpPatient, strongPassword, uniqueEmail, type Account } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';

/** A Luhn-valid RPPS number per professional (an RPPS belongs to one account). */
function rpps(n: number): string {
  const body = `1000${String(n).padStart(6, '0')}`;
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let digit = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
    sum += digit;
  }
  return body + String((10 - (sum % 10)) % 10);
}

type ActorName =
  | 'patient_self' | 'attending_doctor' | 'care_team_nurse' | 'doctor_without_relationship' | 'doctor_of_other_org'
  | 'org_admin' | 'security_officer' | 'doctor_after_break_glass' | 'opposed_professional' | 'without_second_factor';
type TargetName = 'cared_for' | 'not_cared_for' | 'other_org' | 'random_id';
const TARGETS: TargetName[] = ['cared_for', 'not_cared_for', 'other_org', 'random_id'];

interface Actor {
  account: Account;
  purpose: Purpose;
  secondFactorVerified: boolean;
  /** Patient id per target column, from this actor's point of view. */
  targets: Record<TargetName, string>;
}

let server: TestServer;
const actors = {} as Record<ActorName, Actor>;

/** A member of another organisation, created in the database (one setup per instance), logged in over HTTP. */
async function foreignMember(organisationId: string, roles: Role[], extra: { rpps?: string; patient?: boolean } = {}): Promise<Account> {
  const { db, hasher, box } = server.services;
  const email = uniqueEmail(roles[0]);
  const password = strongPassword();
  const userId = await db.transaction().execute((tx) =>
    createAccount(tx, hasher, {
      email, displayName: `Membre B ${roles.join(' ')}`, password, organisationId, roles,
      ...(extra.rpps ? { rpps: extra.rpps, profession: 'Médecin' } : {}),
      ...(extra.patient ? { identity: { ...PATIENT_IDENTITY, insNir: undefined } } : {}),
    }),
  );
  const totpSecret = new Secret({ size: 20 }).base32;
  await installConfirmedTotp(db, box, userId, totpSecret, new Date(server.services.now()));
  const account: Account = { client: new Client(server.url), email, password, userId, totpSecret };
  return { ...account, client: await logIn(server, account) };
}

async function expectCreated(response: Promise<{ status: number; body: unknown }>): Promise<void> {
  const { status, body } = await response;
  expect(status, JSON.stringify(body)).toBe(201);
}

beforeAll(async () => {
  server = await startTestServer();
  const admin = await setupOrganisation(server, 'Centre A');
  const professional = async (roles: string[], n: number, withTotp = true) => {
    const account = await inviteMember(server, admin, { roles, rpps: rpps(n), profession: roles[0] === 'doctor' ? 'Médecin' : 'Infirmier' });
    if (withTotp) await enrolTotp(server, account);
    return account;
  };
  const patient = await signUpPatient(server, admin.organisationId);
  await enrolTotp(server, patient);
  const otherPatient = await signUpPatient(server, admin.organisationId);
  await enrolTotp(server, otherPatient);
  const attending = await professional(['doctor'], 1);
  const nurse = await professional(['health_professional'], 2);
  const unrelated = await professional(['doctor'], 3);
  const opposed = await professional(['doctor'], 4);
  const emergencyDoctor = await professional(['doctor'], 5);
  const without2fa = await professional(['doctor'], 6, false);
  const securityOfficer = await inviteMember(server, admin, { roles: ['security_officer'] });
  await enrolTotp(server, securityOfficer);

  const orgB = (await server.services.db.insertInto('organisations').values({ name: 'Centre B' }).returning('id').executeTakeFirstOrThrow()).id;
  const doctorB = await foreignMember(orgB, ['doctor'], { rpps: rpps(7) });
  const patientB = await foreignMember(orgB, ['patient'], { patient: true });

  // The relationships, as their users make them.
  await expectCreated(patient.client.post('/api/me/attending-doctor', { professionalId: attending.userId }));
  await expectCreated(patient.client.post('/api/me/care-team', { professionalId: nurse.userId }));
  await expectCreated(patient.client.post('/api/me/care-team', { professionalId: opposed.userId }));
  await expectCreated(patient.client.post('/api/me/oppositions', { professionalId: opposed.userId }));
  await expectCreated(patient.client.post('/api/me/care-team', { professionalId: without2fa.userId }));
  await expectCreated(patientB.client.post('/api/me/attending-doctor', { professionalId: doctorB.userId }));
  await expectCreated(emergencyDoctor.client.post(`/api/patients/${patient.userId}/break-the-glass`, { reason: 'Patient inconscient aux urgences, antécédents inconnus' }));

  const random = randomUUID();
  const inA = { cared_for: patient.userId, not_cared_for: otherPatient.userId, other_org: patientB.userId, random_id: random };
  const actor = (account: Account, purpose: Purpose, targets = inA, secondFactorVerified = true): Actor => ({ account, purpose, targets, secondFactorVerified });
  Object.assign(actors, {
    patient_self: actor(patient, 'patient_self'),
    attending_doctor: actor(attending, 'care'),
    care_team_nurse: actor(nurse, 'care'),
    doctor_without_relationship: actor(unrelated, 'care'),
    doctor_of_other_org: actor(doctorB, 'care', { cared_for: patientB.userId, not_cared_for: otherPatient.userId, other_org: patient.userId, random_id: random }),
    org_admin: actor(admin, 'care'),
    security_officer: actor(securityOfficer, 'care'),
    doctor_after_break_glass: actor(emergencyDoctor, 'emergency'),
    opposed_professional: actor(opposed, 'care'),
    without_second_factor: actor(without2fa, 'care', inA, false),
  } satisfies Record<ActorName, Actor>);
});
afterAll(() => server?.close());

// ---------------------------------------------------------------------------------------------------
// The expected table. A cell is "allowed:<basis>" or "denied:<reason>".
// ---------------------------------------------------------------------------------------------------

type Cell = `allowed:${string}` | `denied:${string}`;
const NONE: Cell = 'denied:no_relationship';
const cells = (byAction: Partial<Record<Action, Cell>>, otherwise: Cell): Record<Action, Cell> =>
  Object.fromEntries(ACTIONS.map((action) => [action, byAction[action] ?? otherwise])) as Record<Action, Cell>;
const nothing = cells({}, NONE);
/** Any doctor of the patient's organisation may break the glass; nothing else opens without a relationship. */
const onlyBreakGlass = cells({ 'emergency_access.open': 'allowed:break_the_glass' }, NONE);
const doctorOn = (basis: string) =>
  cells({
    'patient.read': `allowed:${basis}`, 'care_team.read': `allowed:${basis}`, 'record.read': `allowed:${basis}`, 'record.write': `allowed:${basis}`,
    'consultation.schedule': `allowed:${basis}`, 'consultation.join': `allowed:${basis}`,
    'care_team.manage': basis === 'attending_doctor' ? `allowed:${basis}` : 'denied:action_not_permitted',
    'emergency_access.open': 'allowed:break_the_glass',
  }, 'denied:action_not_permitted');

const EXPECTED: Record<ActorName, Record<TargetName, Record<Action, Cell>>> = {
  patient_self: { cared_for: cells({ 'emergency_access.open': 'denied:action_not_permitted' }, 'allowed:self'), not_cared_for: nothing, other_org: nothing, random_id: nothing },
  attending_doctor: { cared_for: doctorOn('attending_doctor'), not_cared_for: onlyBreakGlass, other_org: nothing, random_id: nothing },
  care_team_nurse: {
    cared_for: cells({ 'patient.read': 'allowed:care_team', 'care_team.read': 'allowed:care_team', 'record.read': 'allowed:care_team', 'consultation.join': 'allowed:care_team', 'emergency_access.open': NONE }, 'denied:action_not_permitted'),
    not_cared_for: nothing, other_org: nothing, random_id: nothing,
  },
  doctor_without_relationship: { cared_for: onlyBreakGlass, not_cared_for: onlyBreakGlass, other_org: nothing, random_id: nothing },
  doctor_of_other_org: { cared_for: doctorOn('attending_doctor'), not_cared_for: nothing, other_org: nothing, random_id: nothing },
  org_admin: { cared_for: nothing, not_cared_for: nothing, other_org: nothing, random_id: nothing },
  security_officer: { cared_for: nothing, not_cared_for: nothing, other_org: nothing, random_id: nothing },
  doctor_after_break_glass: {
    cared_for: cells({ 'patient.read': 'allowed:break_the_glass', 'care_team.read': 'allowed:break_the_glass', 'record.read': 'allowed:break_the_glass', 'emergency_access.open': 'allowed:break_the_glass' }, 'denied:action_not_permitted'),
    not_cared_for: onlyBreakGlass, other_org: nothing, random_id: nothing,
  },
  // The opposition closes every care access; breaking the glass stays possible (and is shown to the patient).
  opposed_professional: { cared_for: cells({ 'emergency_access.open': 'allowed:break_the_glass' }, 'denied:opposed'), not_cared_for: onlyBreakGlass, other_org: nothing, random_id: nothing },
  without_second_factor: Object.fromEntries(TARGETS.map((target) => [target, cells({}, 'denied:second_factor_required')])) as Record<TargetName, Record<Action, Cell>>,
};
const ACTOR_NAMES = Object.keys(EXPECTED) as ActorName[];

/** Breaking the glass is always asked with the emergency purpose; everything else with the actor's own. */
const purposeFor = (actor: Actor, action: Action): Purpose => (action === 'emergency_access.open' ? 'emergency' : actor.purpose);

const SHORT: Record<string, string> = {
  self: 'self', attending_doctor: 'attending', care_team: 'care team', break_the_glass: 'glass',
  no_relationship: '-', second_factor_required: '2FA', action_not_permitted: 'not perm.', opposed: 'OPPOSED', purpose_mismatch: 'purpose',
};
const shortCell = (cell: string) => {
  const [outcome, why = ''] = cell.split(':');
  return outcome === 'allowed' ? `✓ ${SHORT[why] ?? why}` : `✗ ${SHORT[why] ?? why}`;
};

function printTable(target: TargetName, got: Record<ActorName, Record<Action, string>>): string {
  const width = Math.max(...ACTOR_NAMES.map((name) => name.length));
  const column = Math.max(...ACTIONS.map((action) => action.length));
  const line = (first: string, rest: string[]) => `${first.padEnd(width)} | ${rest.map((cell) => cell.padEnd(column)).join(' | ')}`;
  return [`target: ${target}`, line('actor \\ action', [...ACTIONS]), ...ACTOR_NAMES.map((name) => line(name, ACTIONS.map((action) => got[name][action])))].join('\n');
}

async function accessEntryCount(): Promise<number> {
  const row = await server.services.db.selectFrom('audit_entries').select((eb) => eb.fn.countAll<string>().as('n')).where('kind', '=', 'access').executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('the access gate’s authorization matrix', () => {
  it('every actor × action × patient gives the expected decision, each with exactly one audit entry; zero mismatches', async () => {
    const mismatches: string[] = [];
    const tables: string[] = [];
    let decisions = 0;
    for (const target of TARGETS) {
      const got = {} as Record<ActorName, Record<Action, string>>;
      for (const name of ACTOR_NAMES) {
        const actor = actors[name];
        got[name] = {} as Record<Action, string>;
        for (const action of ACTIONS) {
          const patientId = actor.targets[target];
          const purpose = purposeFor(actor, action);
          const requestId = `matrix-${name}-${target}-${action}`;
          const { decision, before, after, entry } = await server.services.db.transaction().execute(async (tx) => {
            const count = async () => Number((await tx.selectFrom('audit_entries').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);
            const before = await count();
            const decision = await decide(tx, {
              actor: { userId: actor.account.userId, secondFactorVerified: actor.secondFactorVerified },
              patientId, action, purpose,
              context: { requestId, sourceAddress: '192.0.2.10' },
              now: new Date(server.services.now()),
            });
            const after = await count();
            const entry = await tx.selectFrom('audit_entries').selectAll().where('request_id', '=', requestId).executeTakeFirst();
            return { decision, before, after, entry };
          });
          decisions++;
          const cell: Cell = decision.allowed ? `allowed:${decision.basis}` : `denied:${decision.reason}`;
          const expected = EXPECTED[name][target][action];
          got[name][action] = `${shortCell(cell)}${cell === expected ? '' : ` ≠ ${shortCell(expected)}`}`;
          if (cell !== expected) mismatches.push(`${name} × ${action} × ${target}: got ${cell}, expected ${expected}`);
          // Exactly one audit entry per decision, describing it.
          expect(after - before, requestId).toBe(1);
          expect(entry, requestId).toMatchObject({
            kind: 'access', type: action, outcome: decision.allowed ? 'allowed' : 'denied',
            actor_user_id: actor.account.userId, actor_role: decision.allowed ? decision.basis : null,
            patient_id: patientId, purpose, source_address: '192.0.2.10',
          });
          expect(entry!.detail, requestId).toMatchObject({ reason: decision.allowed ? 'granted' : decision.reason });
        }
      }
      tables.push(printTable(target, got));
    }
    console.log(`\nAccess gate matrix: ${decisions} decisions, ${mismatches.length} mismatch(es)\n\n${tables.join('\n\n')}\n`);
    expect(mismatches).toEqual([]);
    expect(decisions).toBe(ACTOR_NAMES.length * ACTIONS.length * TARGETS.length);
  });

  it('over HTTP, GET /api/patients/:id answers as the gate decides, one audit entry per request, and unknown ids look like other patients', async () => {
    const mismatches: string[] = [];
    for (const name of ACTOR_NAMES) {
      const actor = actors[name];
      const answers: Partial<Record<TargetName, { status: number; body: any }>> = {};
      for (const target of TARGETS) {
        const expected = EXPECTED[name][target]['patient.read'];
        const before = await accessEntryCount();
        const response = await actor.account.client.get(`/api/patients/${actor.targets[target]}?purpose=${actor.purpose}`);
        expect(await accessEntryCount(), `${name} × ${target}`).toBe(before + 1);
        const want = expected.startsWith('allowed') ? 200 : expected === 'denied:second_factor_required' ? 403 : 404;
        if (response.status !== want) mismatches.push(`${name} × ${target}: got ${response.status}, expected ${want}`);
        if (want === 404) expect(response.body, `${name} × ${target}`).toMatchObject({ status: 404, code: 'not_found' });
        if (want === 403) expect(response.body.code, `${name} × ${target}`).toBe('second_factor_enrolment_required');
        if (want === 200) expect(response.body).toMatchObject({ id: actor.targets[target], access: { basis: expected.slice('allowed:'.length) } });
        answers[target] = response;
      }
      // No existence oracle: another patient and a random id give the same answer (but for the `instance`).
      const strip = (answer: { status: number; body: any }) => ({ status: answer.status, body: { ...answer.body, instance: undefined } });
      if (answers.not_cared_for!.status !== 200) expect(strip(answers.not_cared_for!), name).toEqual(strip(answers.random_id!));
      expect(strip(answers.other_org!), name).toEqual(strip(answers.random_id!));
    }
    expect(mismatches).toEqual([]);
  });

  it('over HTTP, a patient’s reports (GET /api/patients/:id/reports) follow record.read, one audit entry per request', async () => {
    const mismatches: string[] = [];
    for (const name of ACTOR_NAMES) {
      const actor = actors[name];
      for (const target of TARGETS) {
        const expected = EXPECTED[name][target]['record.read'];
        const before = await accessEntryCount();
        const response = await actor.account.client.get(`/api/patients/${actor.targets[target]}/reports?purpose=${actor.purpose}`);
        expect(await accessEntryCount(), `${name} × ${target}`).toBe(before + 1);
        const want = expected.startsWith('allowed') ? 200 : expected === 'denied:second_factor_required' ? 403 : 404;
        if (response.status !== want) mismatches.push(`${name} × ${target}: got ${response.status}, expected ${want}`);
        if (want === 200) expect(response.body).toMatchObject({ total: expect.any(Number), reports: expect.any(Array) });
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('over HTTP, care-team management follows the same table (patient.read is not care_team.manage)', async () => {
    const { attending_doctor: attending, care_team_nurse: nurse, org_admin: admin, doctor_of_other_org: doctorB } = actors;
    const patientId = attending.targets.cared_for;
    const newcomer = actors.doctor_without_relationship.account.userId;
    // The nurse reads the patient but may not manage the care team; neither may the admin nor another organisation.
    for (const actor of [nurse, admin, doctorB]) {
      const response = await actor.account.client.post(`/api/patients/${patientId}/care-team`, { professionalId: newcomer });
      expect(response.status).toBe(404);
    }
    const added = await attending.account.client.post(`/api/patients/${patientId}/care-team`, { professionalId: newcomer });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    const seen = await actors.doctor_without_relationship.account.client.get(`/api/patients/${patientId}`);
    expect(seen.body.access).toEqual({ basis: 'care_team', purpose: 'care' });
    // Put the world back as the matrix expects it.
    const ended = await attending.account.client.delete(`/api/patients/${patientId}/care-team/${added.body.id}`);
    expect(ended.status).toBe(204);
    expect((await actors.doctor_without_relationship.account.client.get(`/api/patients/${patientId}`)).status).toBe(404);
  });
});

describe('the same matrix over every FHIR interaction', () => {
  /** FHIR interactions and the action each asks of the gate (the FHIR API asks with the `care` purpose, or `patient_self`). */
  const INTERACTIONS = [
    { name: 'read Patient', action: 'patient.read', request: (client: Client, id: string) => client.get(`/fhir/R4/Patient/${id}`) },
    { name: 'search Patient?_id', action: 'patient.read', search: true, request: (client: Client, id: string) => client.get(`/fhir/R4/Patient?_id=${id}`) },
    { name: 'search Encounter', action: 'record.read', request: (client: Client, id: string) => client.get(`/fhir/R4/Encounter?patient=${id}`) },
    { name: 'search Observation', action: 'record.read', request: (client: Client, id: string) => client.get(`/fhir/R4/Observation?patient=${id}`) },
    { name: 'search MedicationRequest', action: 'record.read', request: (client: Client, id: string) => client.get(`/fhir/R4/MedicationRequest?patient=${id}`) },
    { name: 'search DocumentReference', action: 'record.read', request: (client: Client, id: string) => client.get(`/fhir/R4/DocumentReference?patient=${id}`) },
    { name: 'search AllergyIntolerance', action: 'record.read', request: (client: Client, id: string) => client.get(`/fhir/R4/AllergyIntolerance?patient=${id}`) },
    { name: 'search Condition', action: 'record.read', request: (client: Client, id: string) => client.get(`/fhir/R4/Condition?patient=${id}`) },
    { name: 'search Consent', action: 'care_team.read', request: (client: Client, id: string) => client.get(`/fhir/R4/Consent?patient=${id}`) },
    { name: 'search Composition', action: 'record.read', request: (client: Client, id: string) => client.get(`/fhir/R4/Composition?patient=${id}`) },
    { name: 'Patient/$everything', action: 'record.read', request: (client: Client, id: string) => client.get(`/fhir/R4/Patient/${id}/$everything`) },
    {
      name: 'create Observation',
      action: 'record.write',
      request: (client: Client, id: string) =>
        client.post('/fhir/R4/Observation', JSON.stringify({
          resourceType: 'Observation', status: 'final',
          code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
          subject: { reference: `Patient/${id}` },
          effectiveDateTime: new Date(server.services.now() - 60_000).toISOString(),
          valueQuantity: { value: 72, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
        }), { 'content-type': 'application/fhir+json' }),
    },
  ] as const;

  /** Runs every interaction for every actor and target with the client `clientOf` gives (null: the actor is skipped). */
  async function matrixMismatches(clientOf: (actor: Actor) => Client | null): Promise<string[]> {
    const mismatches: string[] = [];
    for (const name of ACTOR_NAMES) {
      const actor = actors[name];
      const client = clientOf(actor);
      if (!client) continue;
      for (const target of TARGETS) {
        const patientId = actor.targets[target];
        const readable = (await client.get(`/fhir/R4/Patient/${patientId}`)).status === 200;
        for (const interaction of INTERACTIONS) {
          const expected = EXPECTED[name][target][interaction.action];
          // The FHIR API has no emergency purpose: a break-the-glass access does not open it.
          const allowed = expected.startsWith('allowed') && actor.purpose !== 'emergency';
          const want = expected === 'denied:second_factor_required' ? 403 : allowed ? (interaction.action === 'record.write' ? 201 : 200) : 'search' in interaction ? 200 : 404;
          const before = await accessEntryCount();
          const answer = await interaction.request(client, patientId);
          const traced = (await accessEntryCount()) - before;
          if (answer.status !== want) mismatches.push(`${name} × ${interaction.name} × ${target}: got ${answer.status}, expected ${want}`);
          if (want !== 201 && want !== 200) expect(answer.body.resourceType, `${name} × ${interaction.name}`).toBe('OperationOutcome');
          expect(traced, `${name} × ${interaction.name} × ${target}`).toBe(want === 403 && 'search' in interaction ? 0 : 1);
          if ('search' in interaction && answer.status === 200) {
            // Search = read: the patient is in the results exactly when the single read lets them be seen.
            expect(answer.body.total === 1, `${name} × search × ${target}`).toBe(readable);
          }
        }
      }
    }
    return mismatches;
  }

  it('answers as the gate decides (404 alike for others and random ids, 403 without a second factor), one audit entry each; a search returns exactly what the read allows', async () => {
    expect(await matrixMismatches((actor) => actor.account.client)).toEqual([]);
  });

  it('answers exactly the same to an application holding a bearer token with every scope (user/*.crs): a token never widens its user’s rights', async () => {
    // Tokens are minted straight into the database here (the flow that issues them is test/api/oauth.test.ts);
    // an account without a second factor cannot give a grant, so it has no token to try.
    const { db } = server.services;
    const now = new Date(server.services.now());
    const organisation = await db.selectFrom('organisations').select('id').executeTakeFirstOrThrow();
    const clientRow = randomUUID();
    await db.insertInto('oauth_clients').values({ id: clientRow, client_id: `matrix-${clientRow}`, organisation_id: organisation.id, name: 'Matrice', redirect_uris: JSON.stringify(['https://matrix.example.org/cb']), created_at: now }).execute();
    const tokens = new Map<string, Client>();
    for (const name of ACTOR_NAMES) {
      const actor = actors[name];
      if (!actor.secondFactorVerified) continue;
      const grant = randomUUID();
      const token = `ausculta_at_${randomUUID()}`;
      await db.insertInto('oauth_grants').values({ id: grant, client_id: clientRow, user_id: actor.account.userId, scope: 'user/*.crs', second_factor_at: now, created_at: now }).execute();
      await db.insertInto('oauth_tokens').values({ token_hash: hashToken(token), grant_id: grant, kind: 'access', scope: 'user/*.crs', created_at: now, expires_at: new Date(now.getTime() + 24 * 3600_000) }).execute();
      tokens.set(actor.account.userId, new Client(server.url, { authorization: `Bearer ${token}` }));
    }
    expect(tokens.size).toBe(ACTOR_NAMES.length - 1);
    expect(await matrixMismatches((actor) => tokens.get(actor.account.userId) ?? null)).toEqual([]);
  });
});
