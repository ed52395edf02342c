// The audit log as a transparency log: signed checkpoints, inclusion and consistency proofs verified
// with the RFC 9162 algorithms, and the integrity check catching every kind of tampering.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openNote } from '../../src/audit/checkpoint.js';
import { appendAuditEntry, auditRow } from '../../src/audit/log.js';
import { leafHash, MemoryTree, verifyConsistency, verifyInclusion } from '../../src/audit/merkle.js';
import { pruneExpiredAuditEntries } from '../../src/audit/retention.js';
import { tileCount } from '../../src/audit/tiles.js';
import { consistencyProofFor, inclusionProofFor, latestCheckpoint, TileCache } from '../../src/audit/transparency.js';
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

describe('the patient’s access history, page by page', () => {
  it('pages older accesses, each page proven in the first page’s checkpoint, none twice, none left out', async () => {
    const { db } = server.services;
    const context = { requestId: 'history-paging', sourceAddress: '127.0.0.1' };
    await db.transaction().execute(async (tx) => {
      for (let i = 0; i < 230; i++) {
        await appendAuditEntry(tx, context, { kind: 'access', type: 'record.read', outcome: 'allowed', actorUserId: officer.userId, actorRole: 'care_team', patientId: patient.userId, purpose: 'care', detail: { reason: 'granted', n: String(i) } });
      }
    });
    await server.services.audit.integrator.flush();
    const first = await patient.client.get('/api/me/access-history');
    expect(first.status).toBe(200);
    const { checkpoint } = openNote(first.body.checkpoint, [first.body.verifierKey], { origin: first.body.origin });
    expect(first.body.entries).toHaveLength(200);
    expect(first.body.nextBefore).toBe(first.body.entries.at(-1).leafIndex);
    // Meanwhile the log grows (this visit is an access too): the older page still answers in the first checkpoint.
    await server.services.audit.integrator.flush();
    const older = await patient.client.get(`/api/me/access-history?before=${first.body.nextBefore}&size=${checkpoint.size}`);
    expect(older.status).toBe(200);
    expect(older.body.checkpoint).toBe(first.body.checkpoint);
    expect(older.body.nextBefore).toBeNull();
    const all = [...first.body.entries, ...older.body.entries];
    const indexes = all.map((entry: { leafIndex: number }) => entry.leafIndex);
    expect(new Set(indexes).size).toBe(indexes.length);
    expect(indexes).toEqual([...indexes].sort((a, b) => b - a));
    const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM audit_entries WHERE patient_id = ${patient.userId} AND kind = 'access' AND leaf_index < ${checkpoint.size}`.execute(db);
    expect(all).toHaveLength(Number(rows[0]!.n));
    for (const entry of older.body.entries) {
      const proof = (entry.proof as string[]).map((h) => Buffer.from(h, 'base64'));
      expect(verifyInclusion(entry.leafIndex, checkpoint.size, leafHash(Buffer.from(entry.leafData, 'utf8')), proof, checkpoint.rootHash)).toBe(true);
    }
    expect((await patient.client.get(`/api/me/access-history?before=1&size=999999999999`)).status).toBe(400);
    expect((await patient.client.get('/api/me/access-history?before=-1')).status).toBe(400);
    expect((await patient.client.get('/api/me/access-history?page=2')).status).toBe(400);
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
    const { rows: [original] } = await sql<{ leaf_data: string }>`SELECT leaf_data FROM audit_entries WHERE leaf_index = 4`.execute(server.services.db);
    expect(await tampered(
      `UPDATE audit_entries SET leaf_data = NULL WHERE leaf_index = 4`,
      `UPDATE audit_entries SET leaf_data = '${original!.leaf_data.replaceAll("'", "''")}' WHERE leaf_index = 4`,
    )).toEqual(['leaf data is missing']);
  });

  it('names only the changed entry when its leaf holds a raw separator of the check (chr(29), chr(30))', async () => {
    await server.services.audit.integrator.flush();
    const { db } = server.services;
    const { rows: [original] } = await sql<{ leaf_data: string }>`SELECT leaf_data FROM audit_entries WHERE leaf_index = 5`.execute(db);
    try {
      for (const control of [29, 30]) {
        await sql`UPDATE audit_entries SET leaf_data = replace(leaf_data, '"outcome":', chr(${control}) || '"outcome":') WHERE leaf_index = 5`.execute(db);
        const report = await verify();
        expect(report.ok).toBe(false);
        expect(report.problems).toContainEqual({ leafIndex: 5, problem: 'leaf data does not match its hash' });
        expect(report.problems.filter((p) => p.leafIndex !== 5)).toEqual([]);
        await sql`UPDATE audit_entries SET leaf_data = ${original!.leaf_data} WHERE leaf_index = 5`.execute(db);
      }
    } finally {
      await sql`UPDATE audit_entries SET leaf_data = ${original!.leaf_data} WHERE leaf_index = 5`.execute(db);
    }
    expect(await verify()).toMatchObject({ ok: true, problems: [] });
  });

  it('checks the columns of entries whose text needs JSON escapes, non-ASCII text or a detail, and catches a column holding the escaped form', async () => {
    const { db } = server.services;
    const reasons = ['il a dit "urgent"', 'C:\\dossiers\\patient', 'ligne 1\nligne 2', 'détresse respiratoire — SpO₂ 85 %', '"', ',"detail":{}}'];
    for (const [i, reason] of reasons.entries()) {
      await appendAuditEntry(db, { requestId: `req-escape-${i}`, sourceAddress: '127.0.0.1' }, {
        kind: 'security', type: 'test.escape', outcome: 'success', actorUserId: officer.userId, reason,
        detail: i % 2 === 0 ? { note: `n° ${i} "cité"`, count: i } : {},
      });
    }
    await server.services.audit.integrator.flush();
    expect(await verify()).toMatchObject({ ok: true, problems: [] });
    // The column holds the leaf's escaped text instead of the value: the bytes line up, the value does not.
    expect(await tampered(
      `UPDATE audit_entries SET reason = 'il a dit \\"urgent\\"' WHERE request_id = 'req-escape-0'`,
      `UPDATE audit_entries SET reason = 'il a dit "urgent"' WHERE request_id = 'req-escape-0'`,
    )).toContainEqual(expect.stringMatching(/column reason differs/));
    // A value swallowing the next key and its value.
    expect(await tampered(
      `UPDATE audit_entries SET reason = reason || '","requestId":"req-escape-3', request_id = NULL WHERE request_id = 'req-escape-3'`,
      `UPDATE audit_entries SET reason = 'détresse respiratoire — SpO₂ 85 %', request_id = 'req-escape-3' WHERE request_id IS NULL AND type = 'test.escape'`,
    )).toContainEqual(expect.stringMatching(/column (reason|request_id) differs/));
    expect(await tampered(
      `UPDATE audit_entries SET reason = 'détresse respiratoire — SpO₂ 86 %' WHERE request_id = 'req-escape-3'`,
      `UPDATE audit_entries SET reason = 'détresse respiratoire — SpO₂ 85 %' WHERE request_id = 'req-escape-3'`,
    )).toContainEqual(expect.stringMatching(/column reason differs/));
  });

  it('detects a deleted, a reordered and a truncated log, and a forged checkpoint', async () => {
    const { db } = server.services;
    await server.services.audit.integrator.flush();
    await server.services.audit.integrator.stop(); // nothing moves while the tables are tampered with
    await sql.raw('CREATE TABLE saved_entries AS SELECT * FROM audit_entries').execute(db);
    await sql.raw('CREATE TABLE saved_checkpoints AS SELECT * FROM audit_checkpoints').execute(db);
    const cases: Array<[string[], RegExp]> = [
      [['DELETE FROM audit_entries WHERE leaf_index = 2'], /missing/],
      [['UPDATE audit_entries SET leaf_index = -leaf_index - 1 WHERE leaf_index IN (1, 2)', 'UPDATE audit_entries SET leaf_index = CASE leaf_index WHEN -2 THEN 2 ELSE 1 END WHERE leaf_index IN (-2, -3)'], /altered|differs|does not match its hash/],
      [['DELETE FROM audit_entries WHERE leaf_index >= (SELECT max(leaf_index) - 1 FROM audit_entries)'], /truncated|missing/],
      [[`UPDATE audit_checkpoints SET note = regexp_replace(note, '\n[A-Za-z0-9+/]{43}=\n', E'\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n') WHERE size = (SELECT max(size) FROM audit_checkpoints)`], /checkpoint signature invalid/],
      // Node (level 1, index 0) is the first hash of the first bottom tile's second row (after its width of leaves).
      [[`UPDATE audit_tree_tiles SET hashes = overlay(hashes PLACING decode(repeat('00', 32), 'hex') FROM width * 32 + 1 FOR 32) WHERE level = 0 AND idx = 0`], /tree node level 1 index 0 is altered/],
      [['DELETE FROM audit_tree_tiles WHERE level = 0 AND idx = 0'], /tree tile 0\/0 is missing/],
    ];
    await sql.raw('CREATE TABLE saved_tiles AS SELECT * FROM audit_tree_tiles').execute(db);
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
        await sql.raw('DELETE FROM audit_tree_tiles').execute(db);
        await sql.raw('INSERT INTO audit_tree_tiles SELECT * FROM saved_tiles').execute(db);
      }
    } finally {
      await sql.raw('DELETE FROM audit_entries').execute(db);
      await sql.raw('INSERT INTO audit_entries OVERRIDING SYSTEM VALUE SELECT * FROM saved_entries').execute(db);
      await sql.raw('DELETE FROM audit_checkpoints').execute(db);
      await sql.raw('INSERT INTO audit_checkpoints SELECT * FROM saved_checkpoints').execute(db);
      await sql.raw('DELETE FROM audit_tree_tiles').execute(db);
      await sql.raw('INSERT INTO audit_tree_tiles SELECT * FROM saved_tiles').execute(db);
      await sql.raw('DROP TABLE saved_entries').execute(db);
      await sql.raw('DROP TABLE saved_checkpoints').execute(db);
      await sql.raw('DROP TABLE saved_tiles').execute(db);
    }
    expect((await verify()).ok).toBe(true);
  });
});

describe('retention', () => {
  it('pruning expired entries erases their contents and keeps the log verifiable', async () => {
    const { db } = server.services;
    await server.services.audit.integrator.flush();
    const before = await db.selectFrom('audit_entries').select(['leaf_index', 'leaf_data', 'leaf_hash']).where('leaf_index', 'is not', null).orderBy('leaf_index').execute();
    expect(before.every((row) => row.leaf_hash === null)).toBe(true); // once integrated, a leaf hash lives in its tree tile
    // A year and a day later, with the default retention of 365 days, everything so far expires.
    const pruned = await pruneExpiredAuditEntries(db, server.services.now() + 366 * 24 * 3600_000, 365);
    expect(pruned).toBe(before.length);
    const after = await db.selectFrom('audit_entries').selectAll().where('leaf_index', 'is not', null).orderBy('leaf_index').execute();
    expect(after.every((row) => row.leaf_data === null && row.actor_user_id === null && row.patient_id === null && row.source_address === null)).toBe(true);
    expect((await verify()).ok).toBe(true);
    const { checkpoint } = openNote((await anonymous().get('/api/log/checkpoint')).body as string, [server.services.audit.key.verifierKey]);
    const proof = (await anonymous().get(`/api/log/proof/inclusion?index=1&size=${checkpoint.size}`)).body.proof.map((h: string) => Buffer.from(h, 'base64'));
    expect(verifyInclusion(1, checkpoint.size, leafHash(Buffer.from(before[1]!.leaf_data!, 'utf8')), proof, checkpoint.rootHash)).toBe(true);
  });
});

describe('tree tiles at scale', () => {
  it('serves every proof of a 5 000-entry log integrated in uneven batches, from cold and warm caches', async () => {
    const { db } = server.services;
    const integrator = server.services.audit.integrator;
    await integrator.flush();
    const at = new Date(server.services.now());
    for (let chunk = 0; chunk < 10; chunk++) {
      const rows = Array.from({ length: 500 }, (_, i) => auditRow({ requestId: `bulk-${chunk}-${i}`, sourceAddress: '127.0.0.1' }, { kind: 'security', type: 'test.bulk', outcome: 'success' }, at));
      await db.insertInto('audit_entries').values(rows).execute();
    }
    for (const batch of [1, 63, 700, 2, 4096]) await integrator.integrate(batch);
    const size = await integrator.flush();
    const leaves = await db.selectFrom('audit_entries').select(['leaf_index', 'leaf_data']).where('leaf_index', 'is not', null).orderBy('leaf_index').execute();
    expect(leaves).toHaveLength(size);
    // Entries pruned by the retention test above keep only their hash, in their bottom tile.
    const bottoms = await db.selectFrom('audit_tree_tiles').select(['idx', 'width', 'hashes']).where('level', '=', 0).execute();
    const storedLeaf = (index: number) => {
      const tile = bottoms.find((row) => Number(row.idx) === Math.floor(index / 64))!;
      return Buffer.from(tile.hashes).subarray((index % 64) * 32, (index % 64) * 32 + 32);
    };
    const tree = MemoryTree.fromLeafHashes(leaves.map((row) => (row.leaf_data === null ? storedLeaf(Number(row.leaf_index)) : leafHash(Buffer.from(row.leaf_data, 'utf8')))));
    expect(leaves.filter((row) => row.leaf_data !== null).length).toBeGreaterThanOrEqual(5000);
    expect(tree.root().equals((await latestCheckpoint(db))!.rootHash)).toBe(true);

    let seed = 7;
    const random = (below: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % below;
    };
    const warm = new TileCache();
    for (let k = 0; k < 300; k++) {
      const n = k === 0 ? size : 1 + random(size);
      const index = k === 1 ? n - 1 : random(n);
      for (const cache of [undefined, warm]) {
        const proof = await inclusionProofFor(db, index, n, cache);
        expect(verifyInclusion(index, n, tree.subtreeHash(index, index + 1), proof, tree.root(n)), `leaf ${index} of ${n}`).toBe(true);
      }
      const m = 1 + random(n);
      const consistency = await consistencyProofFor(db, m, n, warm);
      expect(verifyConsistency(m, n, tree.root(m), tree.root(n), consistency), `${m} → ${n}`).toBe(true);
    }
    // Through the API, at the latest checkpoint.
    const answer = await anonymous().get(`/api/log/proof/inclusion?index=4097&size=${size}`);
    const proof = (answer.body.proof as string[]).map((h) => Buffer.from(h, 'base64'));
    expect(verifyInclusion(4097, size, tree.subtreeHash(4097, 4098), proof, tree.root())).toBe(true);
    const tiles = await db.selectFrom('audit_tree_tiles').select(['level', 'idx', 'width']).execute();
    expect(tiles.length).toBe([0, 1, 2].reduce((sum, level) => sum + tileCount(size, level), 0));
    expect((await verify()).ok).toBe(true);
  });
});

describe('the integrity check on a live log', () => {
  it('reports nothing when the integrator extends the tree after the check has read the size', async () => {
    const { db } = server.services;
    const integrator = server.services.audit.integrator;
    await integrator.flush();
    const at = new Date(server.services.now());
    let sizeBefore = await integrator.flush();
    if (sizeBefore % 64 === 0) {
      // A right-edge tile to grow.
      await db.insertInto('audit_entries').values(auditRow({ requestId: 'live-edge', sourceAddress: '127.0.0.1' }, { kind: 'security', type: 'test.live', outcome: 'success' }, at)).execute();
      sizeBefore = await integrator.flush();
    }
    let grown = 0;
    const report = await verifyLog(db, server.services.audit.key.verifierKey, server.services.audit.origin, 100, async () => {
      // The right-edge tiles get wider, and a new bottom tile appears, past the size being checked.
      await db.insertInto('audit_entries').values(Array.from({ length: 70 }, (_, i) => auditRow({ requestId: `live-${i}`, sourceAddress: '127.0.0.1' }, { kind: 'security', type: 'test.live', outcome: 'success' }, at))).execute();
      grown = (await integrator.integrate(70)).integrated;
    });
    expect(grown).toBe(70);
    expect(report.problems).toEqual([]);
    expect(report.entries).toBe(sizeBefore);
    expect((await verify()).ok).toBe(true);
    // A tile narrower than the log says is still reported.
    await sql`UPDATE audit_tree_tiles SET width = width - 1, hashes = substring(hashes FROM 1 FOR (width - 1) * 32) WHERE level = 0 AND idx = (SELECT max(idx) FROM audit_tree_tiles WHERE level = 0) AND width > 2`.execute(db);
    expect((await verify()).problems.map((p) => p.problem).join(' | ')).toMatch(/holds \d+ nodes, not \d+|malformed/);
  });
});
