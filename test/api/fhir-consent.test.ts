// The patient's choices as FHIR Consents over real HTTP: declaring an attending doctor and a care-team
// member (permit), opposing a professional (deny) and withdrawing it (inactive); read and search by
// the patient (all) and the care team (active permits only), valid R4 for an independent validator; refused alike to others.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrolTotp, inviteMember, setupOrganisation, signUpPatient, type Account } from '../support/factories.js';
import { expectValidFhir } from '../support/fhir.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
let patient: Account;
let attending: Account;
let nurse: Account;
let opposed: Account;
let stranger: Account;


beforeAll(async () => {
  server = await startTestServer();
  const admin = await setupOrganisation(server, 'Maison de santé');
  const member = async (roles: string[], rpps: string) => {
    const account = await inviteMember(server, admin, { roles, rpps, profession: roles[0] === 'doctor' ? 'médecin généraliste' : 'infirmier' });
    await enrolTotp(server, account);
    return account;
  };
  attending = await member(['doctor'], '10000000124');
  nurse = await member(['health_professional'], '10000000132');
  opposed = await member(['doctor'], '10000000140');
  stranger = await member(['doctor'], '10000000157');
  patient = await signUpPatient(server, admin.organisationId);
  await enrolTotp(server, patient);
  expect((await patient.client.post('/api/me/attending-doctor', { professionalId: attending.userId })).status).toBe(201);
  expect((await patient.client.post('/api/me/care-team', { professionalId: nurse.userId })).status).toBe(201);
  expect((await patient.client.post('/api/me/care-team', { professionalId: opposed.userId })).status).toBe(201);
  expect((await patient.client.post('/api/me/oppositions', { professionalId: opposed.userId })).status).toBe(201);
});
afterAll(() => server?.close());

type Consent = { id: string; status: string; provision: { type: string; actor: Array<{ reference: { reference: string } }> } };
const consents = async (account: Account, query = '') => {
  const answer = await account.client.get(`/fhir/R4/Consent?patient=${patient.userId}${query}`);
  expect(answer.status).toBe(200);
  expectValidFhir(answer.body);
  return (answer.body.entry ?? []).map((e: { resource: Consent }) => e.resource) as Consent[];
};
const about = (list: Consent[], account: Account, type: string) => list.filter((c) => c.provision.type === type && c.provision.actor[0]!.reference.reference === `Practitioner/${account.userId}`);

describe('Consent', () => {
  it('shows the attending doctor and care team as permits, an opposition as a deny, each valid R4', async () => {
    const list = await consents(patient);
    for (const consent of list) expectValidFhir(consent);
    expect(about(list, attending, 'permit')).toHaveLength(1);
    expect(about(list, nurse, 'permit')).toHaveLength(1);
    expect(about(list, opposed, 'deny')).toMatchObject([{ status: 'active' }]);
    const one = await patient.client.get(`/fhir/R4/Consent/${about(list, opposed, 'deny')[0]!.id}`);
    expect(one.status).toBe(200);
    expect(one.body.policyRule.coding[0].code).toBe('OPTOUT');
    // The attending doctor (care_team.read) sees who else is let in, never whom the patient opposes.
    const seen = await consents(attending);
    expect(seen.map((c) => c.id).sort()).toEqual(list.filter((c) => c.provision.type === 'permit' && c.status === 'active').map((c) => c.id).sort());
    expect((await attending.client.get(`/fhir/R4/Consent/${about(list, opposed, 'deny')[0]!.id}`)).status).toBe(404);
  });

  it('a withdrawn opposition becomes inactive; status filters', async () => {
    const opposition = (await patient.client.get('/api/me/care')).body.oppositions.find((o: { professional: { id: string }; active: boolean }) => o.professional.id === opposed.userId && o.active);
    expect((await patient.client.delete(`/api/me/oppositions/${opposition.id}`)).status).toBe(204);
    const list = await consents(patient);
    expect(about(list, opposed, 'deny')).toMatchObject([{ id: `opp-${opposition.id}`, status: 'inactive' }]);
    expect((await consents(patient, '&status=inactive')).map((c) => c.id)).toEqual([`opp-${opposition.id}`]);
    expect((await consents(patient, '&status=active')).every((c) => c.status === 'active')).toBe(true);
  });

  it('answers anyone the gate refuses as it answers an unknown id', async () => {
    const id = (await consents(patient))[0]!.id;
    for (const someone of [stranger]) {
      const refused = await someone.client.get(`/fhir/R4/Consent/${id}`);
      const unknown = await someone.client.get('/fhir/R4/Consent/opp-00000000-0000-4000-8000-000000000000');
      expect(refused.status).toBe(404);
      expect(refused.body).toEqual(unknown.body);
      expect((await someone.client.get(`/fhir/R4/Consent?patient=${patient.userId}`)).status).toBe(404);
    }
    expect((await patient.client.get('/fhir/R4/Consent/not-an-id')).status).toBe(404);
    expect((await patient.client.get('/fhir/R4/Consent')).status).toBe(400);
  });
});
