// Migration 0008 turns each free-text report into version 1 of a versioned report: its id is its
// consultation's (so its sealed body still opens under the same context), a published report counts
// as signed, and the new rules hold (one draft per consultation, versions unique). On TEST_DB's database.
import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { Envelope, KeyRing, objectContext } from '../envelope.js';
import { emptyDatabaseForMigrations } from '../../../test/support/migrations.js';

const database = emptyDatabaseForMigrations();

describe('migration 0008 (report versions)', () => {
  it('keeps earlier reports readable as version 1, published ones signed, and enforces one draft per consultation', async () => {
    const { handle, migrator } = database();
    const { db } = handle;
    expect((await migrator.migrateTo('0007_observations')).error).toBeUndefined();

    const envelope = new Envelope(new KeyRing([{ id: 'k-test', key: randomBytes(32) }]));
    const [organisation, doctor, patient] = [randomUUID(), randomUUID(), randomUUID()];
    await sql`INSERT INTO organisations (id, name) VALUES (${organisation}, 'Centre')`.execute(db);
    await sql`INSERT INTO users (id, email, display_name, password_hash) VALUES (${doctor}, 'doc@example.test', 'Dr Test', 'x'), (${patient}, 'pat@example.test', 'Patient', 'x')`.execute(db);
    const at = new Date('2026-11-01T10:00:00Z');
    const consultations = [randomUUID(), randomUUID()];
    for (const id of consultations) {
      await sql`INSERT INTO consultations (id, organisation_id, doctor_id, patient_id, starts_at, ends_at, mode, status, booked_at, pathway_role)
        VALUES (${id}, ${organisation}, ${doctor}, ${patient}, ${at}, ${new Date(at.getTime() + 20 * 60_000)}, 'video', 'ended', ${at}, 'attending_doctor')`.execute(db);
    }
    const [published, draft] = consultations as [string, string];
    const seal = (id: string, text: string) => envelope.sealText(text, objectContext('consultation_reports', id, 'body_sealed'));
    await sql`INSERT INTO consultation_reports (consultation_id, patient_id, author_id, body_sealed, created_at, updated_at, published_at)
      VALUES (${published}, ${patient}, ${doctor}, ${await seal(published, 'Eczéma de contact.')}, ${at}, ${at}, ${at}),
             (${draft}, ${patient}, ${doctor}, ${await seal(draft, 'Brouillon')}, ${at}, ${at}, NULL)`.execute(db);

    expect((await migrator.migrateToLatest()).error).toBeUndefined();
    const rows = await db.selectFrom('consultation_reports').selectAll().orderBy('signed_at').execute();
    expect(rows.map((row) => [row.id, row.consultation_id, row.version, row.format, row.replaces_id, row.signed_at?.toISOString() ?? null, row.digest])).toEqual([
      [published, published, 1, 'text', null, at.toISOString(), null],
      [draft, draft, 1, 'text', null, null, null],
    ]);
    expect(await envelope.openText(rows[0]!.body_sealed, objectContext('consultation_reports', rows[0]!.id, 'body_sealed'))).toBe('Eczéma de contact.');

    // One draft per consultation; one row per version.
    const second = (version: number, signedAt: Date | null) =>
      db.insertInto('consultation_reports').values({ id: randomUUID(), consultation_id: draft, patient_id: patient, author_id: doctor, version, format: 'json', body_sealed: 'x', created_at: at, updated_at: at, signed_at: signedAt }).execute();
    await expect(second(2, null)).rejects.toThrow();
    await expect(second(1, at)).rejects.toThrow();
    await second(2, at);
  });
});
