// databases: pglite postgres
// access-gated-read: gated and audited reads of a patient per second — readPatientSummary(db, { doctor with an
// active care relationship, patient, 'patient.read', 'care' }), what GET /api/patients/:id runs — against the
// same read without gate and audit (patientSummary's two SELECTs, identity and active care team, sent directly
// on the database), same run, same concurrency: 8 callers in flight (a pool of 8 connections on PostgreSQL;
// PGlite's one connection serialises them).
// The integrator runs in the background during the gated phases (every 100 ms, with the incident
// detection createServices wires) and is flushed at the end of each, the flush counted.
// Phases A B S G C T T C G S B A after a warm-up: A the route (gatedSelect: on PostgreSQL decision, entry and
// identity SELECT in one prepared statement, then the care team), B baseline, S gatedRead + patientSummary
// (the route before: decision and entry in one statement, then the two SELECTs), G `gated` (one transaction
// with the savepoint kept for changes) on the same read, C the route with the gate's facts guesses forgotten
// before every read (facts and entry in two statements), T (for the record: gatedRead before 2026-11-26)
// decision, entry and SELECTs in one transaction without savepoint.
// Goal and ratio are A / B.
// Then, one caller, the statements of each kind are counted and timed (Kysely plugin).
// Goal: ratio (gated / baseline) >= 0.40.
import { randomUUID } from 'node:crypto';
import { sql, type KyselyPlugin, type PluginTransformQueryArgs, type PluginTransformResultArgs, type QueryResult, type RootOperationNode, type UnknownRow } from 'kysely';
import { detectIncidents } from '../src/audit/incidents.js';
import { decide, forgetFactsGuesses, type DecisionInput } from '../src/access/gate.js';
import { gated, gatedRead } from '../src/access/gated.js';
import { patientSummary, readPatientSummary } from '../src/access/patients.js';
import type { Db, Queryable } from '../src/kernel/db.js';
import { report } from './report.js';
import { DATABASE_KIND, openAuditBenchDatabase } from './support/audit-log.js';

const CALLERS = 8;
const PATIENTS = 200;
const PHASE_MS = 2_500;
const PHASE_MAX = 20_000;
const WARMUP_MS = 800;
const FLUSH_MAX_MS = 20_000;
const DIAGNOSTIC_OPS = 100;

const bench = await openAuditBenchDatabase(CALLERS);
const { db, integrator } = bench;
try {
  integrator.onIntegrated = async (fromId, toId) => {
    await detectIncidents(db, fromId, toId, new Date());
  };

  // --- Data, written directly: one organisation, 200 patients (identity, role 'patient'), one doctor with
  // a care relationship (attending doctor) to each of them, started yesterday, no end.
  const organisation = randomUUID();
  const doctor = randomUUID();
  const patients = Array.from({ length: PATIENTS }, () => randomUUID());
  const yesterday = new Date(Date.now() - 86_400_000);
  await db.insertInto('organisations').values({ id: organisation, name: 'Bench practice' }).execute();
  await db
    .insertInto('users')
    .values([
      { id: doctor, email: 'doctor@bench.test', display_name: 'Dr Bench', password_hash: 'x', rpps: '10000000001', profession: 'doctor', password_changed_at: yesterday },
      ...patients.map((id, i) => ({ id, email: `patient${i}@bench.test`, display_name: `Patient ${i}`, password_hash: 'x', rpps: null, profession: null, password_changed_at: yesterday })),
    ])
    .execute();
  await db
    .insertInto('patient_identities')
    .values(patients.map((id, i) => ({ user_id: id, birth_name: `NOM${i}`, first_names: `Prénom ${i}`, birth_date: '1970-01-01', sex: i % 2 ? 'F' : 'M', birthplace_code: '75056', ins_nir: String(1700175056000 + i), identity_status: 'qualified' as const })))
    .execute();
  await db
    .insertInto('member_roles')
    .values([{ organisation_id: organisation, user_id: doctor, role: 'doctor' as const }, ...patients.map((id) => ({ organisation_id: organisation, user_id: id, role: 'patient' as const }))])
    .execute();
  await db
    .insertInto('care_relationships')
    .values(patients.map((id) => ({ patient_id: id, professional_id: doctor, organisation_id: organisation, kind: 'attending_doctor', starts_at: yesterday, ends_at: null, created_by: id })))
    .execute();
  if (bench.handle.kind === 'postgres') await sql`VACUUM ANALYZE`.execute(db);
  else await sql`ANALYZE`.execute(db);

  const inputFor = (caller: number, n: number): DecisionInput<'patient.read'> => ({
    actor: { userId: doctor, secondFactorVerified: true },
    patientId: patients[(caller * 31 + n) % PATIENTS]!,
    action: 'patient.read',
    purpose: 'care',
    context: { requestId: randomUUID(), sourceAddress: '127.0.0.1' },
    now: new Date(),
  });

  // --- A: the route's work (G: the same under `gated`, with its savepoint; C: A without the facts guesses). ---
  const readOf = (run: typeof gatedRead) => (q: Db, caller: number, n: number) => {
    const input = inputFor(caller, n);
    return run(q, input, (tx, decision) => patientSummary(tx, decision, input.now));
  };
  // The route: readPatientSummary (gatedSelect: decision, entry and identity SELECT in one statement, then
  // the care team's SELECT).
  const routeRead = (q: Db, caller: number, n: number) => readPatientSummary(q, inputFor(caller, n));
  // The route before (gatedRead: decision and entry in one statement, then the two SELECTs).
  const twoStepRead = readOf(gatedRead);
  const savepointRead = readOf(gated);
  const coldRead = (q: Db, caller: number, n: number) => {
    forgetFactsGuesses();
    return routeRead(q, caller, n);
  };
  // T, for the record only: what gatedRead did before (BEGIN, facts + entry, the SELECTs, COMMIT; its
  // re-trace of a failed read left out, no read fails here).
  const inTransactionRead = (q: Db, caller: number, n: number) => {
    const input = inputFor(caller, n);
    return q.transaction().execute(async (tx) => {
      const decision = await decide(tx, input);
      if (!decision.allowed) throw new Error(`denied: ${decision.reason}`);
      return patientSummary(tx, decision, input.now);
    });
  };

  // --- B: patientSummary's SELECTs, the same text, directly (no transaction, no gate, no audit). ---
  async function summaryQueries(q: Queryable, patientId: string, now: Date) {
    const row = await q
      .selectFrom('users')
      .innerJoin('patient_identities', 'patient_identities.user_id', 'users.id')
      .select(['users.id', 'users.display_name', 'birth_name', 'first_names', sql<string>`to_char(birth_date, 'YYYY-MM-DD')`.as('birth_date'), 'sex', 'birthplace_code', 'ins_nir', 'identity_status'])
      .where('users.id', '=', patientId)
      .executeTakeFirstOrThrow();
    const team = await q
      .selectFrom('care_relationships')
      .innerJoin('users', 'users.id', 'care_relationships.professional_id')
      .select(['care_relationships.id', 'kind', 'starts_at', 'ends_at', 'users.id as pro_id', 'users.display_name as pro_name', 'users.profession as pro_profession', 'users.rpps as pro_rpps'])
      .where('patient_id', '=', patientId)
      .where('starts_at', '<=', now)
      .where((eb) => eb.or([eb('ends_at', 'is', null), eb('ends_at', '>', now)]))
      .orderBy('starts_at', 'desc')
      .orderBy('care_relationships.id')
      .execute();
    return {
      id: row.id,
      displayName: row.display_name,
      identity: { birthName: row.birth_name, firstNames: row.first_names, birthDate: row.birth_date, sex: row.sex, birthplaceCode: row.birthplace_code },
      ins: { status: row.identity_status, nir: row.ins_nir },
      careTeam: team.map((t) => ({ id: t.id, kind: t.kind, professional: { id: t.pro_id, displayName: t.pro_name, profession: t.pro_profession, rpps: t.pro_rpps }, startsAt: t.starts_at.toISOString(), endsAt: t.ends_at?.toISOString() ?? null, active: true })),
    };
  }
  const plainRead = (q: Db, caller: number, n: number) => {
    const input = inputFor(caller, n);
    return summaryQueries(q, input.patientId, input.now);
  };

  // The three gated kinds answer alike, each with exactly one audit entry (with a guess and without).
  {
    const countEntries = async () => Number((await db.selectFrom('audit_entries').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);
    const before = await countEntries();
    const answers = [await coldRead(db, 0, 0), await routeRead(db, 0, 0), await twoStepRead(db, 0, 0), await savepointRead(db, 0, 0), await inTransactionRead(db, 0, 0)].map((answer) => JSON.stringify(answer));
    if (new Set(answers).size !== 1) throw new Error(`gated reads disagree:\n${answers.join('\n')}`);
    const after = await countEntries();
    if (after - before !== 5) throw new Error(`${after - before} audit entries for 5 gated reads`);
  }

  type Kind = 'gated' | 'plain' | 'twoStep' | 'savepoint' | 'cold' | 'inTransaction';
  const operations: Record<Kind, (q: Db, caller: number, n: number) => Promise<unknown>> = { gated: routeRead, plain: plainRead, twoStep: twoStepRead, savepoint: savepointRead, cold: coldRead, inTransaction: inTransactionRead };
  let integratorError: unknown;
  async function phase(kind: Kind, durationMs: number, maxOps: number): Promise<{ ops: number; ms: number; flushMs: number }> {
    const op = operations[kind];
    const audited = kind !== 'plain';
    if (audited) integrator.start(100, (error) => (integratorError ??= error));
    const started = performance.now();
    let ops = 0;
    await Promise.all(
      Array.from({ length: CALLERS }, async (_, caller) => {
        while (ops < maxOps && performance.now() - started < durationMs) {
          const n = ops++;
          await op(db, caller, n);
          // Back to the event loop between operations, as a server between requests (see audit-append).
          await new Promise((resolve) => setImmediate(resolve));
        }
      }),
    );
    let flushMs = 0;
    if (audited) {
      const flushStarted = performance.now();
      await integrator.stop();
      await Promise.race([integrator.flush(), new Promise((_, reject) => setTimeout(() => reject(new Error('integrator flush too slow')), FLUSH_MAX_MS).unref())]);
      flushMs = performance.now() - flushStarted;
      if (integratorError) throw integratorError;
    }
    return { ops, ms: performance.now() - started, flushMs };
  }

  // Steady state: the gate has decided about each (doctor, patient) pair once, as a running server has.
  const seeAllPatients = async () => {
    for (let n = 0; n < PATIENTS; n++) await routeRead(db, 0, n);
    await integrator.flush(); // their entries are not the next phase's work
  };
  const KINDS = ['gated', 'plain', 'twoStep', 'savepoint', 'cold', 'inTransaction'] as const;
  for (const kind of KINDS) await phase(kind, WARMUP_MS, PHASE_MAX);
  await seeAllPatients();
  const totals = Object.fromEntries(KINDS.map((kind) => [kind, { ops: 0, ms: 0, flushMs: 0 }])) as Record<Kind, { ops: number; ms: number; flushMs: number }>;
  let previous: Kind | undefined;
  for (const kind of [...KINDS, ...[...KINDS].reverse()]) {
    if (previous === 'cold' && kind !== 'cold') await seeAllPatients(); // a cold phase leaves the guesses forgotten
    previous = kind;
    const result = await phase(kind, PHASE_MS, PHASE_MAX);
    totals[kind].ops += result.ops;
    totals[kind].ms += result.ms;
    totals[kind].flushMs += result.flushMs;
    console.log(`  ${kind}: ${result.ops} in ${result.ms.toFixed(0)} ms → ${((result.ops * 1000) / result.ms).toFixed(0)}/s${kind !== 'plain' ? ` (final flush ${result.flushMs.toFixed(0)} ms)` : ''}`);
  }
  const state = await db.selectFrom('audit_log_state').select('size').where('id', '=', 1).executeTakeFirstOrThrow();
  const entries = await db.selectFrom('audit_entries').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  if (Number(state.size) !== Number(entries.n)) throw new Error(`log size ${state.size} but ${entries.n} entries: the flush left some out`);

  // --- Diagnostic, one caller, integrator stopped: statements per operation and their time. ---
  const timed = new WeakMap<object, { label: string; started: number }>();
  const perLabel = new Map<string, { count: number; ms: number }>();
  const labelOf = (node: RootOperationNode): string => {
    const anyNode = node as unknown as { kind: string; from?: { froms: Array<{ table?: { identifier?: { name: string } } }> }; into?: { table: { identifier: { name: string } } }; sqlFragments?: readonly string[] };
    if (anyNode.kind === 'SelectQueryNode') return `SELECT ${anyNode.from?.froms[0]?.table?.identifier?.name ?? '?'}`;
    if (anyNode.kind === 'InsertQueryNode') return `INSERT ${anyNode.into?.table.identifier.name ?? '?'}`;
    if (anyNode.kind === 'RawNode') {
      const text = (anyNode.sqlFragments?.[0] ?? '').trim().replace(/\s+/g, ' ');
      // The gate's statement: its facts, with its entry when it holds a guess, and a guarded read (nested nodes).
      const whole = JSON.stringify(node);
      if (whole.includes('access_facts(')) return `facts${whole.includes('INSERT INTO audit_entries') ? ' + entry' : ''}${whole.includes('LATERAL') ? ' + read' : ''}`;
      return text.slice(0, 24);
    }
    return anyNode.kind;
  };
  const counter: KyselyPlugin = {
    transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
      timed.set(args.queryId, { label: labelOf(args.node), started: performance.now() });
      return args.node;
    },
    async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
      const entry = timed.get(args.queryId);
      if (entry) {
        const slot = perLabel.get(entry.label) ?? { count: 0, ms: 0 };
        slot.count++;
        slot.ms += performance.now() - entry.started;
        perLabel.set(entry.label, slot);
      }
      return args.result;
    },
  };
  const counted = db.withPlugin(counter);
  const sequential: Partial<Record<Kind, number>> = {};
  await seeAllPatients();
  for (const kind of ['plain', 'gated', 'twoStep', 'savepoint', 'inTransaction', 'cold'] as const) {
    perLabel.clear();
    const started = performance.now();
    for (let n = 0; n < DIAGNOSTIC_OPS; n++) await operations[kind](counted, 0, n);
    const perOp = (performance.now() - started) / DIAGNOSTIC_OPS;
    sequential[kind] = perOp;
    let statements = 0;
    let statementMs = 0;
    const parts: string[] = [];
    for (const [label, slot] of perLabel) {
      statements += slot.count;
      statementMs += slot.ms;
      parts.push(`${label} ×${(slot.count / DIAGNOSTIC_OPS).toFixed(0)} ${((slot.ms / slot.count) * 1000).toFixed(0)} µs`);
    }
    const transaction = kind === 'savepoint' || kind === 'inTransaction' ? 2 : 0; // BEGIN and COMMIT, sent by the driver, not seen by plugins
    const line = `${kind}: ${(statements / DIAGNOSTIC_OPS + transaction).toFixed(0)} statements${transaction ? ' (incl. BEGIN/COMMIT)' : ''}, ${(perOp * 1000).toFixed(0)} µs/op sequential, of which statements ${((statementMs / DIAGNOSTIC_OPS) * 1000).toFixed(0)} µs: ${parts.join('; ')}`;
    console.log(`  ${line}`);
  }
  await integrator.flush();

  const rate = (kind: Kind) => (totals[kind].ops * 1000) / totals[kind].ms;
  report({
    name: 'access-gated-read',
    value: rate('gated'),
    unit: 'reads/s',
    baseline: 'same SELECTs without gate or audit, reads/s',
    baselineValue: rate('plain'),
    goal: { on: 'ratio', op: '>=', target: 0.4 },
    database: DATABASE_KIND,
    notes: `${CALLERS} callers${bench.handle.kind === 'postgres' ? ` on ${CALLERS} connections` : ' on PGlite’s one connection'}; gatedRead in two steps (before gatedSelect): ${rate('twoStep').toFixed(0)}/s → ratio ${(rate('twoStep') / rate('plain')).toFixed(3)}; gated (savepoint): ${rate('savepoint').toFixed(0)}/s → ratio ${(rate('savepoint') / rate('plain')).toFixed(3)}; without facts guesses: ${rate('cold').toFixed(0)}/s → ratio ${(rate('cold') / rate('plain')).toFixed(3)}; in one transaction (gatedRead before): ${rate('inTransaction').toFixed(0)}/s → ratio ${(rate('inTransaction') / rate('plain')).toFixed(3)}; one caller: ratio ${(sequential.plain! / sequential.gated!).toFixed(3)} (${(sequential.gated! * 1000).toFixed(0)} vs ${(sequential.plain! * 1000).toFixed(0)} µs/read); gatedRead final flushes ${totals.gated.flushMs.toFixed(0)} ms of ${totals.gated.ms.toFixed(0)} ms`,
  });
} finally {
  await integrator.stop();
  await bench.close();
}
