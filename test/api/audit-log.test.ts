// The audit log as a transparency log: signed checkpoints, inclusion and consistency proofs verified
// with the RFC 9162 algorithms, and the integrity check catching every kind of tampering.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openNote } from '../../src/audit/checkpoint.js';
import { leafHash, verifyConsistency, verifyInclusion } from '../../src/audit/merkle.js';
import { pruneExpiredAuditEntries } from '../../src/audit/retention.js';
import { verifyLog } from '../../src/audit/verify.js';
import { Client } from '../support/client.js';
import { enrolTotp, setupOrganisation, signUpPatient, type Account } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
let officer: Account & { organisationId: string };
let patient: Account;
const anonymous = () => new Client(server.url);

beforeAll(async () => {
  server = await startTestServer();
  officer = await setupOrganisation(server);
  const granted = await officer.client.put(`/api/admin/organisations/${officer.organisationId}/members/${officer.userId}/roles`, { roles: ['org_admin', 'security_officer'] });
  expect(granted.status).toBe(200);
  patient = await signUpPatient(server, officer.organisationId);
  await enrolTotp(server, patient);
  await server.services.audit.integrator.flush();
});
afterAll(() => server?.close());

const verify = () => verifyLog(server.services.db, server.services.audit.key.verifierKey, server.services.audit.origin);

describe('transparency API', () => {
  it('publishes a signed checkpoint that verifies with the published key', async () => {
    const key = (await anonymous().get('/api/log/key')).body as string;
    const note = (await anonymous().get('/api/log/checkpoint')).body as string;
    const opened = openNote(note, [key.trim()], { origin: server.services.audit.origin });
    expect(opened.checkpoint.size).toBeGreaterThan(5);
    const forged = note.replace(/\n(\d+)\n/, (_m, size: string) => `\n${Number(size) + 1}\n`);
    expect(() => openNote(forged, [key.trim()])).toThrow();
  });

  it('serves inclusion proofs that verify against the checkpoint, for every entry', async () => {
    const note = (await anonymous().get('/api/log/checkpoint')).body as string;
    const { checkpoint } = openNote(note, [server.services.audit.key.verifierKey]);
    const rows = await server.services.db.selectFrom('audit_entries').select(['leaf_index', 'leaf_data']).where('leaf_index', '<', checkpoint.size).orderBy('leaf_index').execute();
    expect(rows).toHaveLength(checkpoint.size);
    for (const row of rows) {
      const answer = await anonymous().get(`/api/log/proof/inclusion?index=${Number(row.leaf_index)}&size=${checkpoint.size}`);
      expect(answer.status).toBe(200);
      const proof = (answer.body.proof as string[]).map((h) => Buffer.from(h, 'base64'));
      expect(proof.length).toBeLessThanOrEqual(Math.ceil(Math.log2(checkpoint.size)));
      expect(verifyInclusion(Number(row.leaf_index), checkpoint.size, leafHash(Buffer.from(row.leaf_data!, 'utf8')), proof, checkpoint.rootHash)).toBe(true);
    }
    expect((await anonymous().get(`/api/log/proof/inclusion?index=${checkpoint.size}&size=${checkpoint.size}`)).status).toBe(400);
    expect((await anonymous().get('/api/log/proof/inclusion?index=-1&size=2')).status).toBe(400);
  });

  it('proves each new checkpoint consistent with an older one', async () => {
    const older = openNote((await anonymous().get('/api/log/checkpoint')).body as string, [server.services.audit.key.verifierKey]).checkpoint;
    await anonymous().post('/api/login', { email: patient.email, password: 'Wrong-password-123!' });
    await server.services.audit.integrator.flush();
    const newer = openNote((await anonymous().get('/api/log/checkpoint')).body as string, [server.services.audit.key.verifierKey]).checkpoint;
    expect(newer.size).toBeGreaterThan(older.size);
    const answer = await anonymous().get(`/api/log/proof/consistency?from=${older.size}&to=${newer.size}`);
    const proof = (answer.body.proof as string[]).map((h) => Buffer.from(h, 'base64'));
    expect(verifyConsistency(older.size, newer.size, older.rootHash, newer.rootHash, proof)).toBe(true);
    expect(verifyConsistency(older.size, newer.size, Buffer.alloc(32), newer.rootHash, proof)).toBe(false);
  });

  it('never publishes an entry: no route returns leaf data to an anonymous caller', async () => {
    const answer = await anonymous().get('/api/me/access-history');
    expect(answer.status).toBe(401);
  });
});

describe('a patient sees the accesses to their data, with proofs', () => {
  it('lists each access with an inclusion proof in the latest checkpoint', async () => {
    await patient.client.get('/api/me/access-history');
    await server.services.audit.integrator.flush();
    const history = await patient.client.get('/api/me/access-history');
    expect(history.status).toBe(200);
    const { checkpoint } = openNote(history.body.checkpoint, [history.body.verifierKey], { origin: history.body.origin });
    expect(history.body.entries.length).toBeGreaterThanOrEqual(1);
    for (const entry of history.body.entries) {
      expect(JSON.parse(entry.leafData).patient).toBe(patient.userId);
      const proof = (entry.proof as string[]).map((h) => Buffer.from(h, 'base64'));
      expect(verifyInclusion(entry.leafIndex, checkpoint.size, leafHash(Buffer.from(entry.leafData, 'utf8')), proof, checkpoint.rootHash)).toBe(true);
    }
  });
});

describe('search and export for the security officer', () => {
  it('finds the traces about a patient, exports them as NDJSON, and both are traced', async () => {
    await server.services.audit.integrator.flush();
    const found = await officer.client.get(`/api/audit/entries?patient=${patient.userId}`);
    expect(found.status).toBe(200);
    expect(found.body.length).toBeGreaterThan(0);
    expect(found.body.every((row: { patient_id: string }) => row.patient_id === patient.userId)).toBe(true);
    const failures = await officer.client.get('/api/audit/entries?outcome=failure');
    expect(failures.body.every((row: { outcome: string }) => row.outcome === 'failure')).toBe(true);

    const exported = await officer.client.get(`/api/audit/export?actor=${patient.userId}`);
    expect(exported.status).toBe(200);
    expect(exported.headers.get('content-type')).toMatch(/application\/x-ndjson/);
    const lines = (exported.body as string).trim().split('\n').map((line) => JSON.parse(line));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(JSON.parse(line.leafData).actor).toBe(patient.userId);

    expect((await patient.client.get('/api/audit/export')).status).toBeGreaterThanOrEqual(403);
    expect((await officer.client.get('/api/audit/entries?outcome=bogus')).status).toBe(400);
    const traced = await server.services.db.selectFrom('audit_entries').select('type').where('actor_user_id', '=', officer.userId).where('type', 'in', ['audit.searched', 'audit.exported']).execute();
    expect(traced.length).toBeGreaterThanOrEqual(3);
  });
});

describe('integrity check', () => {
  it('passes on an untouched log, over HTTP for the security officer only', async () => {
    const report = await officer.client.post('/api/audit/verify');
    expect(report.status).toBe(200);
    expect(report.body).toMatchObject({ ok: true, problems: [] });
    expect(report.body.entries).toBeGreaterThan(5);
    expect((await patient.client.post('/api/audit/verify')).status).toBe(404);
  });

  async function tampered(change: string, restore: string): Promise<string[]> {
    await server.services.audit.integrator.flush();
    await sql.raw(change).execute(server.services.db);
    try {
      const report = await verify();
      expect(report.ok).toBe(false);
      return report.problems.map((p) => p.problem);
    } finally {
      await sql.raw(restore).execute(server.services.db);
      expect((await verify()).ok).toBe(true);
    }
  }

  it('detects a changed entry (its data, or only a searchable column)', async () => {
    expect(await tampered(
      `UPDATE audit_entries SET leaf_data = replace(leaf_data, '"outcome":"failure"', '"outcome":"success"') WHERE leaf_index = (SELECT min(leaf_index) FROM audit_entries WHERE outcome = 'failure')`,
      `UPDATE audit_entries SET leaf_data = replace(leaf_data, '"outcome":"success"', '"outcome":"failure"') WHERE outcome = 'failure'`,
    )).toContainEqual(expect.stringMatching(/does not match its hash/));
    expect(await tampered(
      `UPDATE audit_entries SET actor_user_id = NULL WHERE leaf_index = 3`,
      `UPDATE audit_entries SET actor_user_id = (leaf_data::jsonb->>'actor')::uuid WHERE leaf_index = 3`,
    )).toContainEqual(expect.stringMatching(/actor_user_id/));
  });

  it('detects a deleted, a reordered and a truncated log, and a forged checkpoint', async () => {
    const { db } = server.services;
    await server.services.audit.integrator.flush();
    await server.services.audit.integrator.stop(); // nothing moves while the tables are tampered with
    await sql.raw('CREATE TABLE saved_entries AS SELECT * FROM audit_entries').execute(db);
    await sql.raw('CREATE TABLE saved_checkpoints AS SELECT * FROM audit_checkpoints').execute(db);
    const cases: Array<[string[], RegExp]> = [
      [['DELETE FROM audit_entries WHERE leaf_index = 2'], /missing/],
      [['UPDATE audit_entries SET leaf_index = -leaf_index - 1 WHERE leaf_index IN (1, 2)', 'UPDATE audit_entries SET leaf_index = CASE leaf_index WHEN -2 THEN 2 ELSE 1 END WHERE leaf_index IN (-2, -3)'], /altered|differs/],
      [['DELETE FROM audit_entries WHERE leaf_index >= (SELECT max(leaf_index) - 1 FROM audit_entries)'], /truncated|missing/],
      [[`UPDATE audit_checkpoints SET note = regexp_replace(note, '\n[A-Za-z0-9+/]{43}=\n', E'\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n') WHERE size = (SELECT max(size) FROM audit_checkpoints)`], /checkpoint signature invalid/],
      [['UPDATE audit_tree_nodes SET hash = decode(repeat(\'00\', 32), \'hex\') WHERE level = 1 AND idx = 0'], /tree node level 1 index 0 is altered/],
    ];
    try {
      for (const [statements, expected] of cases) {
        await sql.raw('DELETE FROM audit_entries').execute(db);
        await sql.raw('INSERT INTO audit_entries OVERRIDING SYSTEM VALUE SELECT * FROM saved_entries').execute(db);
        await sql.raw('DELETE FROM audit_checkpoints').execute(db);
        await sql.raw('INSERT INTO audit_checkpoints SELECT * FROM saved_checkpoints').execute(db);
        for (const statement of statements) await sql.raw(statement).execute(db);
        const change = statements.join('; ');
        const report = await verify();
        expect(report.ok, change).toBe(false);
        expect(report.problems.map((p) => p.problem).join(' | '), change).toMatch(expected);
        if (change.startsWith('UPDATE audit_tree_nodes')) {
          // Put the node back as it was: its hash is recomputed from its two children.
          await sql.raw("UPDATE audit_tree_nodes SET hash = (SELECT sha256(E'\\x01'::bytea || (SELECT hash FROM audit_tree_nodes WHERE level = 0 AND idx = 0) || (SELECT hash FROM audit_tree_nodes WHERE level = 0 AND idx = 1))) WHERE level = 1 AND idx = 0").execute(db);
        }
      }
    } finally {
      await sql.raw('DELETE FROM audit_entries').execute(db);
      await sql.raw('INSERT INTO audit_entries OVERRIDING SYSTEM VALUE SELECT * FROM saved_entries').execute(db);
      await sql.raw('DELETE FROM audit_checkpoints').execute(db);
      await sql.raw('INSERT INTO audit_checkpoints SELECT * FROM saved_checkpoints').execute(db);
      await sql.raw('DROP TABLE saved_entries').execute(db);
      await sql.raw('DROP TABLE saved_checkpoints').execute(db);
    }
    expect((await verify()).ok).toBe(true);
  });
});

describe('retention', () => {
  it('pruning expired entries erases their contents and keeps the log verifiable', async () => {
    const { db } = server.services;
    await server.services.audit.integrator.flush();
    const before = await db.selectFrom('audit_entries').select(['leaf_index', 'leaf_hash']).where('leaf_index', 'is not', null).orderBy('leaf_index').execute();
    // A year and a day later, with the default retention of 365 days, everything so far expires.
    const pruned = await pruneExpiredAuditEntries(db, server.services.now() + 366 * 24 * 3600_000, 365);
    expect(pruned).toBe(before.length);
    const after = await db.selectFrom('audit_entries').selectAll().where('leaf_index', 'is not', null).orderBy('leaf_index').execute();
    expect(after.every((row) => row.leaf_data === null && row.actor_user_id === null && row.patient_id === null && row.source_address === null)).toBe(true);
    expect(after.map((row) => Buffer.from(row.leaf_hash!).toString('hex'))).toEqual(before.map((row) => Buffer.from(row.leaf_hash!).toString('hex')));
    expect((await verify()).ok).toBe(true);
    const { checkpoint } = openNote((await anonymous().get('/api/log/checkpoint')).body as string, [server.services.audit.key.verifierKey]);
    const proof = (await anonymous().get(`/api/log/proof/inclusion?index=1&size=${checkpoint.size}`)).body.proof.map((h: string) => Buffer.from(h, 'base64'));
    expect(verifyInclusion(1, checkpoint.size, Buffer.from(after[1]!.leaf_hash!), proof, checkpoint.rootHash)).toBe(true);
  });
});
