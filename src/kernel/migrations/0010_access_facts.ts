// The access gate's facts query as a PL/pgSQL function: what `decide` reads about (actor, patient) at a
// time, as one canonical text (a word per fact, sorted; see src/access/gate.ts). The query is the one the
// gate sent inline before; in a PL/pgSQL function its plan is prepared once per connection and reused,
// where the inline text was parsed and planned on every decision (the larger part of its cost, three
// times more on PGlite). STABLE: it reads with the snapshot of the statement that calls it, so the gate's
// facts and its conditional audit entry are still read and written in one snapshot.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement (its body holds semicolons): not through runStatements.
  await sql
    .raw(
      `CREATE FUNCTION access_facts(actor_arg uuid, patient_arg uuid, at_arg timestamptz) RETURNS text
      LANGUAGE plpgsql STABLE AS $body$
      BEGIN
        RETURN (
          WITH fact AS (
            SELECT CASE role WHEN 'patient' THEN 'p' ELSE 'r' END AS tag, organisation_id AS org, role AS value FROM member_roles
              WHERE (user_id = patient_arg AND role = 'patient') OR (user_id = actor_arg AND role IN ('doctor', 'health_professional'))
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
}
