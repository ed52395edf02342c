// Migration 0014 rewrites access_facts and makes two audit indexes partial: the facts of every kind of pair
// must read the same text before and after, and leaf indexes must stay unique. On TEST_DB's database.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { auditRow } from '../../audit/log.js';
import { emptyDatabaseForMigrations } from '../../../test/support/migrations.js';

const database = emptyDatabaseForMigrations();

describe('migration 0014 (cheaper decisions)', () => {
  it('reads the same facts for every kind of pair, and keeps leaf indexes unique', async () => {
    const { handle, migrator } = database();
    const { db } = handle;
    expect((await migrator.migrateTo('0013_signed_reports_guard')).error).toBeUndefined();

    const [a, b] = [randomUUID(), randomUUID()];
    const [doctor, nurse, patient, other, both] = [randomUUID(), randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    const now = new Date('2026-11-27T10:00:00Z');
    const hour = 3600_000;
    await sql`INSERT INTO organisations (id, name) VALUES (${a}, 'A'), (${b}, 'B')`.execute(db);
    for (const [id, name] of [[doctor, 'doctor'], [nurse, 'nurse'], [patient, 'patient'], [other, 'other'], [both, 'both']] as const) {
      await sql`INSERT INTO users (id, email, display_name, password_hash) VALUES (${id}, ${`${name}@example.test`}, ${name}, 'x')`.execute(db);
    }
    // Memberships of every kind, including a person who is patient and doctor at once, and roles the facts ignore.
    const roles: Array<[string, string, string]> = [
      [a, doctor, 'doctor'], [b, doctor, 'health_professional'], [a, doctor, 'org_admin'],
      [b, nurse, 'health_professional'], [a, patient, 'patient'], [b, patient, 'patient'], [a, other, 'patient'],
      [a, both, 'patient'], [a, both, 'doctor'], [b, both, 'security_officer'],
    ];
    for (const [organisation, user, role] of roles) await sql`INSERT INTO member_roles (organisation_id, user_id, role) VALUES (${organisation}, ${user}, ${role})`.execute(db);
    const relationship = (patientId: string, professional: string, organisation: string, kind: string, starts: number, ends: number | null) =>
      sql`INSERT INTO care_relationships (patient_id, professional_id, organisation_id, kind, starts_at, ends_at)
        VALUES (${patientId}, ${professional}, ${organisation}, ${kind}, ${new Date(now.getTime() + starts * hour)}, ${ends === null ? null : new Date(now.getTime() + ends * hour)})`.execute(db);
    await relationship(patient, doctor, a, 'attending_doctor', -100, null);
    await relationship(patient, doctor, b, 'consultation', -2, 2);
    await relationship(patient, nurse, b, 'care_team', -10, -5); // ended
    await relationship(other, doctor, a, 'care_team', 1, null); // not yet
    await sql`INSERT INTO emergency_accesses (actor_id, patient_id, reason, starts_at, ends_at) VALUES (${nurse}, ${patient}, 'urgence', ${new Date(now.getTime() - hour)}, ${new Date(now.getTime() + hour)})`.execute(db);
    await sql`INSERT INTO patient_oppositions (patient_id, professional_id, created_at) VALUES (${other}, ${doctor}, ${now})`.execute(db);
    await sql`INSERT INTO patient_oppositions (patient_id, professional_id, created_at, withdrawn_at) VALUES (${patient}, ${nurse}, ${now}, ${now})`.execute(db);

    const people = [doctor, nurse, patient, other, both, randomUUID()];
    const pairs = people.flatMap((actor) => people.map((patientId) => [actor, patientId] as const));
    const factsOfEveryPair = async () => {
      const texts: string[] = [];
      for (const [actor, patientId] of pairs) {
        const { rows } = await sql<{ facts: string }>`SELECT access_facts(${actor}::uuid, ${patientId}::uuid, ${now}::timestamptz) AS facts`.execute(db);
        texts.push(rows[0]!.facts);
      }
      return texts;
    };
    const before = await factsOfEveryPair();
    expect(before.filter((text) => text !== '').length).toBeGreaterThan(10); // the pairs do have facts
    expect(before[pairs.findIndex(([actor, patientId]) => actor === nurse && patientId === patient)]).toContain('e');

    const entry = (i: number) => auditRow({ requestId: `r${i}`, sourceAddress: '127.0.0.1' }, { kind: 'security', type: 'test.entry', outcome: 'success' }, now);
    await db.insertInto('audit_entries' as never).values([{ ...entry(0), leaf_index: 0 }, { ...entry(1), leaf_index: 1 }, entry(2)] as never).execute();

    expect((await migrator.migrateTo('0014_cheaper_decisions')).error).toBeUndefined();
    expect(await factsOfEveryPair()).toEqual(before);
    // Pending entries (NULL) stay many; an index given twice is refused.
    await db.insertInto('audit_entries' as never).values([entry(3), entry(4)] as never).execute();
    await expect(db.insertInto('audit_entries' as never).values({ ...entry(5), leaf_index: 1 } as never).execute()).rejects.toThrow(/duplicate key|unique/);
  });
});
