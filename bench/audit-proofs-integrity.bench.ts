// databases: pglite postgres
// timeout-seconds: 600
// One filled log, four figures (the fill is the expensive part, so they share it). The log: n = 10^6
// access entries (AUDIT_BENCH_ENTRIES overrides) and their tree built in SQL by fillLog
// (bench/support/audit-log.ts: leaves by INSERT … SELECT generate_series, the tree's tiles built as the
// integrator builds them, checkpoints every 50 000 leaves signed with the log key). verifyLog recomputes all of
// it from the leaf bytes, and the run fails unless it finds the log intact.
// - audit-inclusion-proof-size: the largest inclusion proof (bytes) over a sample of leaves (first,
//   last, random) against 32 × ceil(log2 n), RFC 9162's bound. Goal: ratio <= 1.
// - audit-inclusion-proof: inclusionProofFor(random leaf) per second with the server's tile cache,
//   sequential, against raw primary-key selects of one tree node (32 bytes of a bottom tile) per
//   second. Phases A B B A.
//   Goal: ratio >= 0.5.
// - audit-proof-verify: verifyInclusion time per proof against ceil(log2 n) one-shot SHA-256 of
//   64 bytes. Goal: ratio <= 1.5.
// - audit-integrity: verifyLog entries/s against reading the same leaf data in the same batches
//   (VERIFY_BATCH leaf indexes per query) and SHA-256 hashing it. Goal: ratio >= 0.5.
import { hash } from 'node:crypto';
import { sql } from 'kysely';
import { leafHash, verifyInclusion } from '../src/audit/merkle.js';
import { tileCount, tileWidth } from '../src/audit/tiles.js';
import { inclusionProofFor, latestCheckpoint, TileCache } from '../src/audit/transparency.js';
import { verifyLog, VERIFY_BATCH } from '../src/audit/verify.js';
import { report } from './report.js';
import { DATABASE_KIND, fillLog, openAuditBenchDatabase } from './support/audit-log.js';

const ENTRIES = Number(process.env['AUDIT_BENCH_ENTRIES'] ?? 1_000_000);
const PROOF_SAMPLE = 1_000;
const SERVE_PHASE_MS = 1_500;
const SERVE_PHASE_MAX = 5_000;
const VERIFY_PHASE_MS = 400;

const bench = await openAuditBenchDatabase(4);
const { db } = bench;
try {
  const fill = await fillLog(bench, ENTRIES);
  const seconds = (ms: number) => (ms / 1000).toFixed(1);
  console.log(`  log of ${fill.size} entries: entries + leaves ${seconds(fill.appendMs)} s, indexes ${seconds(fill.indexMs)} s, tree ${seconds(fill.treeMs)} s, checkpoints + statistics ${seconds(fill.finishMs)} s`);
  const checkpoint = await latestCheckpoint(db);
  if (!checkpoint || checkpoint.size !== ENTRIES) throw new Error(`latest checkpoint is of size ${checkpoint?.size}`);
  const size = checkpoint.size;
  const depth = Math.ceil(Math.log2(size));

  // A fixed pseudo-random sequence, so that runs compare.
  let seed = 0x9e3779b9;
  const random = (below: number) => {
    seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return seed % below;
  };

  // Proof size, and proofs to verify later.
  const sample = [0, size - 1, ...Array.from({ length: PROOF_SAMPLE - 2 }, () => random(size))];
  const leafRows = await sql<{ leaf_index: string | number; leaf_data: string }>`
    SELECT leaf_index, leaf_data FROM audit_entries WHERE leaf_index = ANY(${sample.map(String)}::bigint[])`.execute(db);
  const leafOf = new Map(leafRows.rows.map((row) => [Number(row.leaf_index), leafHash(Buffer.from(row.leaf_data, 'utf8'))]));
  const proofs: Array<{ index: number; leaf: Buffer; proof: Buffer[] }> = [];
  for (const index of sample) proofs.push({ index, leaf: leafOf.get(index)!, proof: await inclusionProofFor(db, index, size) });
  const largest = Math.max(...proofs.map((p) => p.proof.length * 32));
  const bad = proofs.filter((p) => !verifyInclusion(p.index, size, p.leaf, p.proof, checkpoint.rootHash));
  if (bad.length > 0) throw new Error(`${bad.length} proofs do not verify (first: leaf ${bad[0]!.index})`);
  report({
    name: 'audit-inclusion-proof-size',
    value: largest,
    unit: 'bytes',
    baseline: '32 × ceil(log2 n) bytes',
    baselineValue: 32 * depth,
    goal: { on: 'ratio', op: '<=', target: 1 },
    database: DATABASE_KIND,
    notes: `n = ${size}; ${proofs.length} proofs (leaves 0, n − 1 and random), mean ${(proofs.reduce((s, p) => s + p.proof.length * 32, 0) / proofs.length).toFixed(0)} bytes, all verified against the signed checkpoint`,
  });

  // Proofs served per second vs primary-key selects per second, sequential.
  // As the server does: upper tiles are kept in memory once read.
  const tiles = new TileCache();
  const serveProof = () => inclusionProofFor(db, random(size), size, tiles);
  // The baseline: one tree node (32 bytes) by primary key, from the table that stores them.
  const bottomTiles = tileCount(size, 0);
  const selectNode = async () => {
    const tile = random(bottomTiles);
    const { rows } = await sql<{ hash: Uint8Array }>`
      SELECT substring(hashes FROM ${random(tileWidth(size, 0, tile)) * 32 + 1} FOR 32) AS hash FROM audit_tree_tiles WHERE level = 0 AND idx = ${tile}`.execute(db);
    if (rows.length !== 1 || rows[0]!.hash.length !== 32) throw new Error(`tile 0/${tile} not found`);
  };
  const timed = async (op: () => Promise<unknown>, durationMs: number, max: number) => {
    const started = performance.now();
    let ops = 0;
    while (ops < max && performance.now() - started < durationMs) {
      await op();
      ops += 1;
    }
    return { ops, ms: performance.now() - started };
  };
  await timed(serveProof, 300, 1_000);
  await timed(selectNode, 300, 1_000);
  const serve = { proof: { ops: 0, ms: 0 }, select: { ops: 0, ms: 0 } };
  for (const kind of ['proof', 'select', 'select', 'proof'] as const) {
    const result = await timed(kind === 'proof' ? serveProof : selectNode, SERVE_PHASE_MS, SERVE_PHASE_MAX);
    serve[kind].ops += result.ops;
    serve[kind].ms += result.ms;
  }
  const proofRate = (serve.proof.ops * 1000) / serve.proof.ms;
  const selectRate = (serve.select.ops * 1000) / serve.select.ms;
  report({
    name: 'audit-inclusion-proof',
    value: proofRate,
    unit: 'proofs/s',
    baseline: 'primary-key node selects/s',
    baselineValue: selectRate,
    goal: { on: 'ratio', op: '>=', target: 0.5 },
    database: DATABASE_KIND,
    notes: `n = ${size}, sequential, one connection in use; ${serve.proof.ops} proofs, ${serve.select.ops} selects`,
  });

  // Verification: verifyInclusion vs ceil(log2 n) one-shot SHA-256 of 64 bytes, per proof.
  const block = Buffer.alloc(64, 7);
  let sink = 0;
  const verifyAll = () => {
    for (const p of proofs) if (verifyInclusion(p.index, size, p.leaf, p.proof, checkpoint.rootHash)) sink += 1;
  };
  const hashAll = () => {
    for (let i = 0; i < proofs.length; i++) {
      for (let j = 0; j < depth; j++) {
        block[j] = i;
        sink += hash('sha256', block, 'buffer')[0]!;
      }
    }
  };
  const rounds = (op: () => void, durationMs: number) => {
    const started = performance.now();
    let passes = 0;
    while (passes < 200 && performance.now() - started < durationMs) {
      op();
      passes += 1;
    }
    return { count: passes * proofs.length, ms: performance.now() - started };
  };
  rounds(verifyAll, 200);
  rounds(hashAll, 200);
  const verification = { verify: { count: 0, ms: 0 }, hash: { count: 0, ms: 0 } };
  for (const kind of ['verify', 'hash', 'hash', 'verify', 'verify', 'hash'] as const) {
    const result = rounds(kind === 'verify' ? verifyAll : hashAll, VERIFY_PHASE_MS);
    verification[kind].count += result.count;
    verification[kind].ms += result.ms;
  }
  const verifyUs = (verification.verify.ms * 1000) / verification.verify.count;
  const hashUs = (verification.hash.ms * 1000) / verification.hash.count;
  report({
    name: 'audit-proof-verify',
    value: verifyUs,
    unit: 'µs/proof',
    baseline: `${depth} × SHA-256(64 bytes) µs`,
    baselineValue: hashUs,
    goal: { on: 'ratio', op: '<=', target: 1.5 },
    database: DATABASE_KIND,
    notes: `n = ${size}; mean proof ${(proofs.reduce((s, p) => s + p.proof.length, 0) / proofs.length).toFixed(1)} hashes; ${verification.verify.count} verifications (checksum ${sink % 10})`,
  });

  // Integrity: verifyLog vs reading the leaf data in the same batches and hashing it.
  const rawHash = async () => {
    const started = performance.now();
    let count = 0;
    const prefix = Buffer.from([0]);
    for (let from = 0; from < size; from += VERIFY_BATCH) {
      const { rows } = await sql<{ leaf_data: string }>`SELECT leaf_data FROM audit_entries WHERE leaf_index >= ${from} AND leaf_index < ${from + VERIFY_BATCH} ORDER BY leaf_index`.execute(db);
      for (const row of rows) sink += hash('sha256', Buffer.concat([prefix, Buffer.from(row.leaf_data, 'utf8')]), 'buffer')[0]!;
      count += rows.length;
    }
    if (count !== size) throw new Error(`read ${count} leaves, expected ${size}`);
    return performance.now() - started;
  };
  const rawBefore = await rawHash();
  const verifyStarted = performance.now();
  const integrity = await verifyLog(db, bench.key.verifierKey, bench.origin);
  const verifyMs = performance.now() - verifyStarted;
  if (!integrity.ok || integrity.entries !== size) throw new Error(`verifyLog: ${JSON.stringify(integrity).slice(0, 500)}`);
  const rawAfter = await rawHash();
  const rawMs = (rawBefore + rawAfter) / 2;
  report({
    name: 'audit-integrity',
    value: (size * 1000) / verifyMs,
    unit: 'entries/s',
    baseline: 'read + SHA-256 of leaf data entries/s',
    baselineValue: (size * 1000) / rawMs,
    goal: { on: 'ratio', op: '>=', target: 0.5 },
    database: DATABASE_KIND,
    notes: `n = ${size}, ${integrity.checkpoints} checkpoints; verifyLog ${(verifyMs / 1000).toFixed(1)} s, raw ${(rawBefore / 1000).toFixed(1)} s then ${(rawAfter / 1000).toFixed(1)} s`,
  });
} finally {
  await bench.close();
}
