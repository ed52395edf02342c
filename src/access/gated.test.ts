// gatedRead, trace first (on the database TEST_DB names): each decision has exactly one entry, committed
// before the work reads anything; a denial is "not found" with its entry; a failing read keeps its entry.
import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, openDatabase, type DatabaseHandle, type Db } from '../kernel/db.js';
import { AppError } from '../kernel/errors.js';
import { forgetFactsGuesses, type DecisionInput } from './gate.js';
import { gatedRead } from './gated.js';
import { patientSummary } from './patients.js';

const onPostgres = process.env['TEST_DB'] === 'postgres';
let handle: DatabaseHandle;
let db: Db;
let schema: string;
const organisation = randomUUID();
const doctor = randomUUID();
const stranger = randomUUID();
const patient = randomUUID();

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
    ])
    .execute();
  await db.insertInto('patient_identities').values({ user_id: patient, birth_name: 'NOM', first_names: 'Prénom', birth_date: '1970-01-01', sex: 'F', birthplace_code: '75056', ins_nir: '2700175056001', identity_status: 'qualified' }).execute();
  await db
    .insertInto('member_roles')
    .values([
      { organisation_id: organisation, user_id: doctor, role: 'doctor' },
      { organisation_id: organisation, user_id: patient, role: 'patient' },
    ])
    .execute();
  await db.insertInto('care_relationships').values({ patient_id: patient, professional_id: doctor, organisation_id: organisation, kind: 'attending_doctor', starts_at: yesterday, ends_at: null, created_by: patient }).execute();
});
afterAll(async () => {
  if (onPostgres) await sql`DROP SCHEMA ${sql.id(schema)} CASCADE`.execute(handle.db);
  await handle?.close();
});

const read = (actor: string): DecisionInput<'patient.read'> => ({
  actor: { userId: actor, secondFactorVerified: true },
  patientId: patient,
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
