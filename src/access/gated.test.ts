// gatedRead, trace first (on the database TEST_DB names): each decision has exactly one entry, committed
// before the work reads anything; a denial is "not found" with its entry; a failing read keeps its entry.
// gatedSelect: with a guess, decision, entry and the first read in one prepared statement on PostgreSQL
// (PGlite: the read right after); rows only with an entry written by that statement, never on a refusal;
// the order of the read kept.
import { randomBytes, randomUUID } from 'node:crypto';
import { sql, type KyselyPlugin, type PluginTransformQueryArgs, type PluginTransformResultArgs, type QueryResult, type RootOperationNode, type UnknownRow } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, openDatabase, type DatabaseHandle, type Db } from '../kernel/db.js';
import { AppError } from '../kernel/errors.js';
import { foundObservations, newObservation, observationsOf, observationsRead, recordObservation } from '../records/observations.js';
import { decide, decideEach, forgetFactsGuesses, GuardedInsert, GuardedRead, type Decision, type DecisionInput } from './gate.js';
import { gated, gatedInsert, gatedRead, gatedSelect } from './gated.js';
import { patientSummary, readPatientSummary } from './patients.js';

const onPostgres = process.env['TEST_DB'] === 'postgres';
let handle: DatabaseHandle;
let db: Db;
let schema: string;
const organisation = randomUUID();
const doctor = randomUUID();
const stranger = randomUUID();
const patient = randomUUID();
const secondPatient = randomUUID();

beforeAll(async () => {
  schema = onPostgres ? `g_${randomBytes(6).toString('hex')}` : 'public';
  handle = await openDatabase({ url: onPostgres ? (process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test') : null, pgliteDir: 'memory://', ...(onPostgres ? { schema } : {}) });
  db = handle.db;
  await migrate(db, handle.schema);
  const yesterday = new Date(Date.now() - 86_400_000);
  await db.insertInto('organisations').values({ id: organisation, name: 'Cabinet' }).execute();
  await db
    .insertInto('users')
    .values([
      { id: doctor, email: 'doctor@gated.test', display_name: 'Dr Gated', password_hash: 'x', rpps: '10000000001', profession: 'doctor', password_changed_at: yesterday },
      { id: stranger, email: 'stranger@gated.test', display_name: 'Dr Stranger', password_hash: 'x', rpps: '10000000002', profession: 'doctor', password_changed_at: yesterday },
      { id: patient, email: 'patient@gated.test', display_name: 'Patient', password_hash: 'x', rpps: null, profession: null, password_changed_at: yesterday },
      { id: secondPatient, email: 'second@gated.test', display_name: 'Second', password_hash: 'x', rpps: null, profession: null, password_changed_at: yesterday },
    ])
    .execute();
  await db
    .insertInto('patient_identities')
    .values([
      { user_id: patient, birth_name: 'NOM', first_names: 'Prénom', birth_date: '1970-01-01', sex: 'F', birthplace_code: '75056', ins_nir: '2700175056001', identity_status: 'qualified' },
      { user_id: secondPatient, birth_name: 'AUTRE', first_names: 'Deux', birth_date: '1980-02-02', sex: 'M', birthplace_code: '75056', ins_nir: null, identity_status: 'provisional' },
    ])
    .execute();
  await db
    .insertInto('member_roles')
    .values([
      { organisation_id: organisation, user_id: doctor, role: 'doctor' },
      { organisation_id: organisation, user_id: patient, role: 'patient' },
      { organisation_id: organisation, user_id: secondPatient, role: 'patient' },
    ])
    .execute();
  await db
    .insertInto('care_relationships')
    .values([patient, secondPatient].map((id) => ({ patient_id: id, professional_id: doctor, organisation_id: organisation, kind: 'attending_doctor', starts_at: yesterday, ends_at: null, created_by: id })))
    .execute();
});
afterAll(async () => {
  if (onPostgres) await sql`DROP SCHEMA ${sql.id(schema)} CASCADE`.execute(handle.db);
  await handle?.close();
});

const read = (actor: string, patientId = patient): DecisionInput<'patient.read'> => ({
  actor: { userId: actor, secondFactorVerified: true },
  patientId,
  action: 'patient.read',
  purpose: 'care',
  context: { requestId: randomUUID(), sourceAddress: '127.0.0.1' },
  now: new Date(),
});

const entriesOf = (requestId: string) => db.selectFrom('audit_entries').select(['outcome', 'type', 'actor_user_id', 'patient_id']).where('request_id', '=', requestId).execute();

describe('gatedRead (trace first)', () => {
  it('commits the decision’s entry before the work reads, and writes exactly one per read (with a guess or not)', async () => {
    for (const guess of [false, true]) {
      if (!guess) forgetFactsGuesses();
      const input = read(doctor);
      const summary = await gatedRead(db, input, async (q, decision) => {
        // The work runs after the entry's commit: the entry is there, and not as a write of the transaction
        // the work reads in (that one has written nothing: no transaction id assigned).
        const seen = await q.selectFrom('audit_entries').select('outcome').where('request_id', '=', input.context.requestId).execute();
        expect(seen).toEqual([{ outcome: 'allowed' }]);
        const { rows } = await sql<{ wrote: boolean }>`SELECT txid_current_if_assigned() IS NOT NULL AS wrote`.execute(q);
        expect(rows[0]?.wrote).toBe(false);
        return patientSummary(q, decision, input.now);
      });
      expect(summary.id).toBe(patient);
      expect(await entriesOf(input.context.requestId)).toEqual([{ outcome: 'allowed', type: 'patient.read', actor_user_id: doctor, patient_id: patient }]);
    }
  });

  it('keeps exactly one entry when the work fails after an allowed decision', async () => {
    for (const failure of ['thrown', 'sql'] as const) {
      const input = read(doctor);
      const work = gatedRead(db, input, async (q) => {
        if (failure === 'thrown') throw new Error('work failed');
        await sql`SELECT no_such_column FROM users`.execute(q);
      });
      await expect(work).rejects.toThrow(failure === 'thrown' ? 'work failed' : /no_such_column/);
      expect(await entriesOf(input.context.requestId)).toEqual([{ outcome: 'allowed', type: 'patient.read', actor_user_id: doctor, patient_id: patient }]);
    }
  });

  it('answers a refusal as "not found", with its one entry, without running the work', async () => {
    for (const patientId of [patient, randomUUID()]) {
      const input = { ...read(stranger), patientId };
      let ran = false;
      const error = await gatedRead(db, input, async () => {
        ran = true;
      }).catch((caught: unknown) => caught);
      expect(ran).toBe(false);
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).code).toBe('not_found');
      expect(await entriesOf(input.context.requestId)).toEqual([{ outcome: 'denied', type: 'patient.read', actor_user_id: stranger, patient_id: patientId }]);
    }
  });
});

/**
 * The statements a Kysely instance runs, as text (BEGIN/COMMIT of transactions are not seen). A query
 * builder embedded in another statement is transformed too, but never gets a result of its own.
 */
function counting(target: Db): { db: Db; statements: string[] } {
  const statements: string[] = [];
  const texts = new Map<object, string>();
  const plugin: KyselyPlugin = {
    transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
      texts.set(args.queryId, target.getExecutor().compileQuery(args.node, args.queryId).sql);
      return args.node;
    },
    async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
      statements.push(texts.get(args.queryId)!);
      return args.result;
    },
  };
  return { db: target.withPlugin(plugin), statements };
}

describe('gatedSelect (decision, trace and read in one statement)', () => {
  it('answers as gatedRead does, with the guess in one prepared statement for the decision, its entry and the identity', async () => {
    forgetFactsGuesses();
    const before = read(doctor);
    const reference = await gatedRead(db, before, (q, decision) => patientSummary(q, decision, before.now));
    const input = read(doctor);
    const counted = counting(db);
    const summary = await readPatientSummary(counted.db, input);
    expect(summary).toEqual(reference);
    // PostgreSQL: the gate's statement (facts, conditional entry, the identity read) and the care team's.
    // PGlite (nothing prepared): the identity read comes as a statement of its own after the gate's.
    expect(counted.statements).toHaveLength(onPostgres ? 2 : 3);
    expect(counted.statements[0]).toMatch(/^\/\* prepared \*\/ WITH facts AS/);
    expect(counted.statements[0]).toContain('INSERT INTO audit_entries');
    expect(counted.statements[0]!.includes('LATERAL')).toBe(onPostgres);
    expect(await entriesOf(input.context.requestId)).toEqual([{ outcome: 'allowed', type: 'patient.read', actor_user_id: doctor, patient_id: patient }]);
  });

  it('guesses a pair it has not seen from the actor’s last facts: still one statement for the decision and the read', async () => {
    forgetFactsGuesses();
    await readPatientSummary(db, read(doctor, patient));
    const input = read(doctor, secondPatient);
    const counted = counting(db);
    const summary = await readPatientSummary(counted.db, input);
    expect(summary.identity.birthName).toBe('AUTRE');
    expect(counted.statements).toHaveLength(onPostgres ? 2 : 3);
    expect(counted.statements[0]).toContain('INSERT INTO audit_entries');
    expect(await entriesOf(input.context.requestId)).toEqual([{ outcome: 'allowed', type: 'patient.read', actor_user_id: doctor, patient_id: secondPatient }]);
  });

  it('returns no row when the facts changed since the guess: the refusal is judged on the facts read, traced once', async () => {
    await readPatientSummary(db, read(doctor, secondPatient)); // the guess: allowed
    await db.updateTable('care_relationships').set({ ends_at: new Date(Date.now() - 1000) }).where('patient_id', '=', secondPatient).execute();
    try {
      const input = read(doctor, secondPatient);
      const counted = counting(db);
      const error = await readPatientSummary(counted.db, input).catch((caught: unknown) => caught);
      expect((error as AppError).code).toBe('not_found');
      // The guessed statement wrote nothing and read nothing; the denial's entry came second.
      expect(counted.statements).toHaveLength(2);
      expect(counted.statements[1]).toMatch(/^insert into "audit_entries"/);
      expect(await entriesOf(input.context.requestId)).toEqual([{ outcome: 'denied', type: 'patient.read', actor_user_id: doctor, patient_id: secondPatient }]);
    } finally {
      await db.updateTable('care_relationships').set({ ends_at: null }).where('patient_id', '=', secondPatient).execute();
    }
    const again = read(doctor, secondPatient);
    expect((await readPatientSummary(db, again)).id).toBe(secondPatient);
  });

  it('never carries the read in a statement whose guess is a refusal', async () => {
    for (let attempt = 0; attempt < 2; attempt++) {
      const input = read(stranger);
      const counted = counting(db);
      const error = await readPatientSummary(counted.db, input).catch((caught: unknown) => caught);
      expect((error as AppError).code).toBe('not_found');
      for (const statement of counted.statements) expect(statement).not.toContain('LATERAL');
      expect(await entriesOf(input.context.requestId)).toEqual([{ outcome: 'denied', type: 'patient.read', actor_user_id: stranger, patient_id: patient }]);
    }
  });

  it('keeps the read’s order and paging, and counts the total apart only past the last page', async () => {
    const write = { ...read(doctor), action: 'record.write' as const };
    for (let day = 1; day <= 5; day++) {
      await gated(db, { ...write, context: { requestId: randomUUID(), sourceAddress: '127.0.0.1' } }, (tx, decision) =>
        recordObservation(tx, decision, { kind: 'weight', value: 60 + day, effectiveAt: new Date(Date.now() - day * 86_400_000) }, new Date()),
      );
    }
    const input = (): DecisionInput<'record.read'> => ({ ...read(doctor), action: 'record.read' });
    for (const filter of [{ limit: 3, offset: 1 }, {}, { limit: 2, offset: 10 }]) {
      const reference = await gatedRead(db, input(), (q, decision) => observationsOf(q, decision, filter));
      const selected = await gatedSelect(db, input(), observationsRead(db, patient, filter));
      const found = await foundObservations(db, selected.decision, filter, selected.rows);
      expect(found).toEqual(reference);
      expect(found.total).toBe(5);
    }
    const page = await gatedSelect(db, input(), observationsRead(db, patient, { limit: 3, offset: 1 }));
    expect(page.rows.map((row) => Number(row.value))).toEqual([62, 63, 64]); // newest first, from the second
  });

  it('refuses a guarded read prepared for another patient or another action', async () => {
    const identity = (patientId: string) => db.selectFrom('users').select('id').where('id', '=', patientId);
    await expect(gatedSelect(db, read(doctor), new GuardedRead(['patient.read'], secondPatient, identity(secondPatient)))).rejects.toThrow(/another patient or action/);
    await expect(gatedSelect(db, read(doctor), new GuardedRead(['record.read'], patient, identity(patient)) as never)).rejects.toThrow(/another patient or action/);
  });

  it.runIf(onPostgres)('sends the gate’s statement as a named prepared statement on PostgreSQL', async () => {
    const single = await openDatabase({ url: process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test', pgliteDir: 'memory://', schema, poolSize: 1 });
    try {
      await readPatientSummary(single.db, read(doctor));
      await readPatientSummary(single.db, read(doctor));
      const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement LIKE '/* prepared */ WITH facts AS%'`.execute(single.db);
      expect(rows[0]?.n).toBeGreaterThanOrEqual(1);
    } finally {
      await single.close();
    }
  });
});

describe('gatedInsert (decision, trace and new row in one statement)', () => {
  const write = (patientId = patient): DecisionInput<'record.write'> => ({ ...read(doctor, patientId), action: 'record.write' });
  const weight = (value: number, id = randomUUID()) => ({ id, kind: 'weight' as const, value, effectiveAt: new Date(Date.now() - 60_000) });
  const stored = (id: string) => db.selectFrom('observations').select(['id', 'patient_id', 'author_id', 'value']).where('id', '=', id).execute();

  it('writes the row with its one entry: on PostgreSQL with a guess, in one statement; else through gated', async () => {
    for (const guess of [false, true]) {
      if (!guess) forgetFactsGuesses();
      const input = write();
      const counted = counting(db);
      const row = await gatedInsert(counted.db, input, newObservation(patient, doctor, weight(70), input.now));
      expect(await stored(row.id)).toEqual([{ id: row.id, patient_id: patient, author_id: doctor, value: '70' }]);
      expect(await entriesOf(input.context.requestId)).toEqual([{ outcome: 'allowed', type: 'record.write', actor_user_id: doctor, patient_id: patient }]);
      const inOne = guess && onPostgres;
      expect(counted.statements.some((statement) => /^\/\* prepared \*\/ WITH facts AS[\s\S]*change AS \(INSERT INTO "observations"/.test(statement))).toBe(inOne);
      if (inOne) expect(counted.statements).toHaveLength(1);
      else expect(counted.statements.at(-1)).toMatch(/^INSERT INTO "observations"/);
    }
  });

  it('writes nothing when the facts changed since the guess: the refusal is judged on the facts read, traced once', async () => {
    await gatedInsert(db, write(secondPatient), newObservation(secondPatient, doctor, weight(71), new Date())); // the guess: allowed
    await db.updateTable('care_relationships').set({ ends_at: new Date(Date.now() - 1000) }).where('patient_id', '=', secondPatient).execute();
    try {
      const input = write(secondPatient);
      const measure = weight(72);
      const error = await gatedInsert(db, input, newObservation(secondPatient, doctor, measure, input.now)).catch((caught: unknown) => caught);
      expect((error as AppError).code).toBe('not_found');
      expect(await stored(measure.id)).toEqual([]);
      expect(await entriesOf(input.context.requestId)).toEqual([{ outcome: 'denied', type: 'record.write', actor_user_id: doctor, patient_id: secondPatient }]);
    } finally {
      await db.updateTable('care_relationships').set({ ends_at: null }).where('patient_id', '=', secondPatient).execute();
    }
  });

  it('keeps the decision’s one entry and writes nothing when the row itself is refused by the database', async () => {
    const first = weight(73);
    await gatedInsert(db, write(), newObservation(patient, doctor, first, new Date()));
    const input = write();
    await expect(gatedInsert(db, input, newObservation(patient, doctor, weight(74, first.id), input.now))).rejects.toThrow(/duplicate key|unique/i);
    expect(await stored(first.id)).toEqual([{ id: first.id, patient_id: patient, author_id: doctor, value: '73' }]);
    expect(await entriesOf(input.context.requestId)).toEqual([{ outcome: 'allowed', type: 'record.write', actor_user_id: doctor, patient_id: patient }]);
  });

  it('refuses a guarded insert prepared for another patient or another action, before anything is written', async () => {
    const input = write();
    const measure = weight(75);
    await expect(gatedInsert(db, input, newObservation(secondPatient, doctor, measure, input.now))).rejects.toThrow(/another patient or action/);
    const otherAction = new GuardedInsert(['record.read'] as never, patient, 'observations', { id: measure.id });
    await expect(gatedInsert(db, input, otherAction)).rejects.toThrow(/another patient or action/);
    expect(() => new GuardedInsert(['record.write'], patient, 'observations', { id: measure.id, patient_id: secondPatient })).toThrow(/another patient/);
    expect(await stored(measure.id)).toEqual([]);
    expect(await entriesOf(input.context.requestId)).toEqual([]);
  });
});

describe('decideEach (the patients of a list: a decision and an entry each, in few statements)', () => {
  it('takes the decisions decide takes, one entry each, in two statements whatever their number', async () => {
    const cases = (): Array<DecisionInput<'patient.read'>> => [
      read(doctor, patient),
      read(doctor, secondPatient),
      read(stranger, patient),
      read(doctor, randomUUID()), // not a patient at all
      { ...read(doctor, patient), actor: { userId: doctor, secondFactorVerified: false } },
      { ...read(doctor, patient), actor: { userId: doctor, secondFactorVerified: true, ownRecordOnly: true } },
      { ...read(patient, patient), purpose: 'patient_self' },
    ];
    const shape = (decision: Decision) => (decision.allowed ? { allowed: true, basis: decision.basis, patientId: decision.patientId } : { allowed: false, reason: decision.reason, patientId: decision.patientId });
    const expected = [];
    for (const input of cases()) expected.push(shape(await decide(db, input)));
    expect(expected.filter((decision) => decision.allowed)).toHaveLength(3);

    const inputs = cases();
    const counted = counting(db);
    const decisions = await decideEach(counted.db, inputs);
    expect(decisions.map(shape)).toEqual(expected.map((decision, index) => ({ ...decision, patientId: inputs[index]!.patientId })));
    expect(counted.statements).toHaveLength(2); // the facts of the five pairs to look up; the seven entries
    for (const [index, input] of inputs.entries()) {
      const entries = await entriesOf(input.context.requestId);
      expect(entries, `case ${index}`).toEqual([{ outcome: decisions[index]!.allowed ? 'allowed' : 'denied', type: 'patient.read', actor_user_id: input.actor.userId, patient_id: input.patientId }]);
    }
    expect(await decideEach(db, [])).toEqual([]);
  });
});
