// Anomalies in the audit log open incidents, which the security officer works: acknowledge, comment,
// close — each step traced.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAuditEntry } from '../../src/audit/log.js';
import { THRESHOLDS } from '../../src/audit/incidents.js';
import { Client } from '../support/client.js';
import { setupOrganisation, signUpPatient, uniqueEmail, type Account } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
let officer: Account & { organisationId: string };
let patient: Account;

beforeAll(async () => {
  server = await startTestServer();
  officer = await setupOrganisation(server);
  await officer.client.put(`/api/admin/organisations/${officer.organisationId}/members/${officer.userId}/roles`, { roles: ['org_admin', 'security_officer'] });
  patient = await signUpPatient(server, officer.organisationId);
});
afterAll(() => server?.close());

async function incidents() {
  await server.services.audit.integrator.flush();
  const answer = await officer.client.get('/api/incidents');
  expect(answer.status).toBe(200);
  return answer.body as Array<{ id: string; kind: string; status: string; actorUserId: string | null; sourceAddress: string | null; notes: unknown[] }>;
}

describe('incidents', () => {
  it('failed logins on many accounts from one address open one incident', async () => {
    const attacker = new Client(server.url);
    for (let i = 0; i < THRESHOLDS.loginFailures.accounts; i++) await attacker.post('/api/login', { email: uniqueEmail('target'), password: 'Wrong-guess-1234!' });
    const open = (await incidents()).filter((incident) => incident.kind === 'login_failures');
    expect(open).toHaveLength(1);
    expect(open[0]!.sourceAddress).toBe('127.0.0.1');
    // More failures do not open a second incident while the first is open.
    await attacker.post('/api/login', { email: uniqueEmail('target'), password: 'Wrong-guess-1234!' });
    expect((await incidents()).filter((incident) => incident.kind === 'login_failures')).toHaveLength(1);
  });

  it('a burst of denied decisions by one account opens an incident about that account', async () => {
    const context = { requestId: 'test', sourceAddress: '127.0.0.1' };
    await server.services.db.transaction().execute(async (tx) => {
      for (let i = 0; i < THRESHOLDS.denialBurst.count; i++) {
        await appendAuditEntry(tx, context, { kind: 'access', type: 'record.read', outcome: 'denied', actorUserId: patient.userId, patientId: crypto.randomUUID(), purpose: 'care', detail: { reason: 'no_relationship' } });
      }
    });
    const burst = (await incidents()).filter((incident) => incident.kind === 'denial_burst');
    expect(burst).toHaveLength(1);
    expect(burst[0]!.actorUserId).toBe(patient.userId);
  });

  it('the officer acknowledges, comments and closes, each step traced; others cannot see incidents', async () => {
    const [incident] = await incidents();
    for (const [action, text] of [['acknowledge', ''], ['comment', 'Adresse de test, faux positif.'], ['close', 'Clos.']] as const) {
      expect((await officer.client.post(`/api/incidents/${incident!.id}/notes`, { action, text })).status).toBe(201);
    }
    const after = (await incidents()).find((i) => i.id === incident!.id)!;
    expect(after.status).toBe('closed');
    expect(after.notes).toHaveLength(3);
    const traced = await server.services.db.selectFrom('audit_entries').select('type').where('actor_user_id', '=', officer.userId).where('type', 'like', 'incident.%').execute();
    expect(traced.map((row) => row.type).sort()).toEqual(['incident.acknowledge', 'incident.close', 'incident.comment']);
    expect((await patient.client.get('/api/incidents')).status).toBeGreaterThanOrEqual(403);
    expect((await officer.client.post(`/api/incidents/${crypto.randomUUID()}/notes`, { action: 'comment', text: 'x' })).status).toBe(404);
  });
});
