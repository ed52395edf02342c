// Less work for PostgreSQL on every decision of the access gate (measured in bench/README.md, 2026-11-27):
// - access_facts reads the patient's and the actor's memberships as two index scans (UNION ALL) instead of
//   one scan whose OR condition made a bitmap heap scan: 36 µs a call instead of 42–53, same text;
// - two indexes of audit_entries hold only the rows they serve: the unique index on leaf_index skips the
//   entries not yet integrated (every entry is written with NULL there first), the index on
//   subject_user_id skips the entries without one (every access decision). An append then writes 5 index
//   entries instead of 7 (36 µs a row instead of 45) and the integrator's update 6 instead of 7. Every query
//   on these columns names a value, or `IS NOT NULL`, so the partial indexes serve them as before.
import { sql, type Kysely } from 'kysely';
import { runStatements } from './statements.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement (its body holds semicolons): not through runStatements.
  await sql
    .raw(
      `CREATE OR REPLACE FUNCTION access_facts(actor_arg uuid, patient_arg uuid, at_arg timestamptz) RETURNS text
      LANGUAGE plpgsql STABLE AS $body$
      BEGIN
        RETURN (
          WITH fact AS (
            SELECT 'p' AS tag, organisation_id AS org, 'patient' AS value FROM member_roles
              WHERE user_id = patient_arg AND role = 'patient'
            UNION ALL
            SELECT 'r', organisation_id, role FROM member_roles
              WHERE user_id = actor_arg AND role IN ('doctor', 'health_professional')
            UNION ALL
            SELECT 'c', organisation_id, kind FROM care_relationships
              WHERE patient_id = patient_arg AND professional_id = actor_arg AND starts_at <= at_arg AND (ends_at IS NULL OR ends_at > at_arg)
            UNION ALL
            (SELECT 'e', NULL::uuid, NULL FROM emergency_accesses
              WHERE actor_id = actor_arg AND patient_id = patient_arg AND starts_at <= at_arg AND ends_at > at_arg LIMIT 1)
            UNION ALL
            (SELECT 'x', NULL::uuid, NULL FROM patient_oppositions
              WHERE patient_id = patient_arg AND professional_id = actor_arg AND withdrawn_at IS NULL LIMIT 1)
          )
          SELECT coalesce(string_agg(tag || coalesce(org::text, '') || coalesce(':' || value, ''), ' ' ORDER BY tag, org, value), '') FROM fact
        );
      END
      $body$`,
    )
    .execute(db);
  await runStatements(
    db,
    `
    CREATE UNIQUE INDEX audit_entries_leaf_index ON audit_entries (leaf_index) WHERE leaf_index IS NOT NULL;
    ALTER TABLE audit_entries DROP CONSTRAINT audit_entries_leaf_index_key;
    DROP INDEX audit_entries_subject;
    CREATE INDEX audit_entries_subject ON audit_entries (subject_user_id, occurred_at) WHERE subject_user_id IS NOT NULL;
    `,
  );
}
