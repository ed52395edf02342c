// databases: pglite postgres
// audit-append: audit entries appended per second, each by appendAuditEntry in a transaction of its
// own, 8 callers in flight (8 pooled connections on PostgreSQL; PGlite is one connection, its callers
// queue), with the integrator running in the background as the server runs it (every 100 ms, with its
// incident detection) and flushed at the end of each phase, the flush counted in the phase's time.
// Baseline: plain single-row inserts, one per transaction, of the same columns into a scratch table
// (primary key only) in the same database at the same concurrency. Phases A B B A after a warm-up.
// Goal: ratio >= 0.5.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { detectIncidents } from '../src/audit/incidents.js';
import { appendAuditEntry, type AuditEntryInput } from '../src/audit/log.js';
import { report } from './report.js';
import { DATABASE_KIND, openAuditBenchDatabase } from './support/audit-log.js';

const CALLERS = 8;
const PHASE_MS = 3_000;
const PHASE_MAX = 20_000;
const WARMUP_MS = 800;
const FLUSH_MAX_MS = 20_000;

const bench = await openAuditBenchDatabase(CALLERS);
const { db, integrator } = bench;
try {
  // What createServices wires: each integrated batch goes through incident detection.
  integrator.onIntegrated = async (fromId, toId) => {
    await detectIncidents(db, fromId, toId, new Date());
  };
  await sql`CREATE TABLE bench_plain_entries (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      occurred_at timestamptz NOT NULL, kind text NOT NULL, type text NOT NULL, outcome text NOT NULL,
      actor_user_id uuid, actor_role text, subject_user_id uuid, patient_id uuid, organisation_id uuid,
      resource_type text, resource_id text, purpose text, reason text, request_id text, source_address text,
      detail jsonb NOT NULL DEFAULT '{}', leaf_data text, leaf_hash bytea)`.execute(db);

  const organisation = randomUUID();
  const actors = Array.from({ length: CALLERS }, () => randomUUID());
  const patients = Array.from({ length: 200 }, () => randomUUID());
  const entryFor = (caller: number, n: number): AuditEntryInput => ({
    kind: 'access',
    type: 'record.read',
    outcome: 'allowed',
    actorUserId: actors[caller]!,
    actorRole: 'doctor',
    patientId: patients[(caller * 31 + n) % patients.length]!,
    organisationId: organisation,
    resourceType: 'record',
    resourceId: randomUUID(),
    purpose: 'care',
    detail: { channel: 'web' },
  });
  const context = () => ({ requestId: randomUUID(), sourceAddress: '127.0.0.1' });

  const audit = (caller: number, n: number) => db.transaction().execute((tx) => appendAuditEntry(tx, context(), entryFor(caller, n)));
  const plain = (caller: number, n: number) =>
    db.transaction().execute(async (tx) => {
      const e = entryFor(caller, n);
      const c = context();
      await sql`INSERT INTO bench_plain_entries (occurred_at, kind, type, outcome, actor_user_id, actor_role, subject_user_id, patient_id,
          organisation_id, resource_type, resource_id, purpose, reason, request_id, source_address, detail)
        VALUES (${new Date()}, ${e.kind}, ${e.type}, ${e.outcome}, ${e.actorUserId}, ${e.actorRole}, ${null}, ${e.patientId},
          ${e.organisationId}, ${e.resourceType}, ${e.resourceId}, ${e.purpose}, ${null}, ${c.requestId}, ${c.sourceAddress}, ${JSON.stringify(e.detail)})`.execute(tx);
    });

  let integratorError: unknown;
  /** `CALLERS` closed loops for at most durationMs and maxOps; for the audit, integrator on then flushed. */
  async function phase(kind: 'audit' | 'plain', durationMs: number, maxOps: number): Promise<{ ops: number; ms: number; flushMs: number }> {
    const op = kind === 'audit' ? audit : plain;
    if (kind === 'audit') integrator.start(100, (error) => (integratorError ??= error));
    const started = performance.now();
    let ops = 0;
    await Promise.all(
      Array.from({ length: CALLERS }, async (_, caller) => {
        while (ops < maxOps && performance.now() - started < durationMs) {
          const n = ops++;
          await op(caller, n);
          // Back to the event loop, as a server between requests: PGlite answers in microtasks, and
          // closed loops that never yield would starve the integrator's timer.
          await new Promise((resolve) => setImmediate(resolve));
        }
      }),
    );
    let flushMs = 0;
    if (kind === 'audit') {
      const flushStarted = performance.now();
      await integrator.stop();
      await Promise.race([integrator.flush(), new Promise((_, reject) => setTimeout(() => reject(new Error('integrator flush too slow')), FLUSH_MAX_MS).unref())]);
      flushMs = performance.now() - flushStarted;
      if (integratorError) throw integratorError;
    }
    return { ops, ms: performance.now() - started, flushMs };
  }

  await phase('audit', WARMUP_MS, PHASE_MAX);
  await phase('plain', WARMUP_MS, PHASE_MAX);
  const totals = { audit: { ops: 0, ms: 0, flushMs: 0 }, plain: { ops: 0, ms: 0, flushMs: 0 } };
  for (const kind of ['audit', 'plain', 'plain', 'audit'] as const) {
    const result = await phase(kind, PHASE_MS, PHASE_MAX);
    totals[kind].ops += result.ops;
    totals[kind].ms += result.ms;
    totals[kind].flushMs += result.flushMs;
    console.log(`  ${kind}: ${result.ops} in ${result.ms.toFixed(0)} ms → ${((result.ops * 1000) / result.ms).toFixed(0)}/s${kind === 'audit' ? ` (final flush ${result.flushMs.toFixed(0)} ms)` : ''}`);
  }

  const state = await db.selectFrom('audit_log_state').select('size').where('id', '=', 1).executeTakeFirstOrThrow();
  const entries = await db.selectFrom('audit_entries').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  const checkpoints = await db.selectFrom('audit_checkpoints').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  if (Number(state.size) !== Number(entries.n)) throw new Error(`log size ${state.size} but ${entries.n} entries: the flush left some out`);

  const auditRate = (totals.audit.ops * 1000) / totals.audit.ms;
  const plainRate = (totals.plain.ops * 1000) / totals.plain.ms;
  report({
    name: 'audit-append',
    value: auditRate,
    unit: 'appends/s',
    baseline: 'plain single-row inserts/s',
    baselineValue: plainRate,
    goal: { on: 'ratio', op: '>=', target: 0.5 },
    database: DATABASE_KIND,
    notes: `${CALLERS} callers${bench.handle.kind === 'postgres' ? ` on ${CALLERS} connections` : ' on PGlite’s one connection'}; ${Number(state.size)} leaves integrated in ${checkpoints.n} checkpoints; final flushes ${totals.audit.flushMs.toFixed(0)} ms of the audit phases’ ${totals.audit.ms.toFixed(0)} ms`,
  });
} finally {
  await integrator.stop();
  await bench.close();
}
