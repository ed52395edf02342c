// The access capability's one-at-a-time rules, held by the database so two concurrent requests cannot
// both win: one open attending-doctor relationship per patient, one open care-team membership per
// (patient, professional), one active opposition per (patient, professional). A lost race is a 23505,
// which the HTTP kernel answers as 409 conflict. Open rows are those with no end yet.
import type { Kysely } from 'kysely';
import { runStatements } from './statements.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, `
    CREATE UNIQUE INDEX care_relationships_one_attending ON care_relationships (patient_id)
      WHERE kind = 'attending_doctor' AND ends_at IS NULL;
    CREATE UNIQUE INDEX care_relationships_one_care_team ON care_relationships (patient_id, professional_id)
      WHERE kind = 'care_team' AND ends_at IS NULL;
    CREATE UNIQUE INDEX patient_oppositions_one_active ON patient_oppositions (patient_id, professional_id)
      WHERE withdrawn_at IS NULL;
    CREATE INDEX emergency_accesses_patient ON emergency_accesses (patient_id, starts_at)
  `);
}
