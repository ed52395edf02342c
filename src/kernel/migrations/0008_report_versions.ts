// The teleconsultation report becomes structured and versioned: several versions per consultation, each
// a draft until its doctor signs it, immutable once signed; a correction is a new version that names the
// one it replaces. Existing reports become version 1 under an id equal to their consultation's, so
// their sealed body's context (`consultation_reports/<id>/body_sealed`) is unchanged; their free text
// stays as it was (format 'text'), a published one counts as signed.
import type { Kysely } from 'kysely';
import { runStatements } from './statements.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, `
    ALTER TABLE consultation_reports DROP CONSTRAINT consultation_reports_pkey;
    ALTER TABLE consultation_reports ADD COLUMN id uuid;
    UPDATE consultation_reports SET id = consultation_id;
    ALTER TABLE consultation_reports ALTER COLUMN id SET NOT NULL;
    ALTER TABLE consultation_reports ADD PRIMARY KEY (id);
    ALTER TABLE consultation_reports ADD COLUMN version integer NOT NULL DEFAULT 1;
    ALTER TABLE consultation_reports ALTER COLUMN version DROP DEFAULT;
    ALTER TABLE consultation_reports ADD COLUMN replaces_id uuid REFERENCES consultation_reports (id);
    ALTER TABLE consultation_reports ADD COLUMN format text NOT NULL DEFAULT 'text' CHECK (format IN ('text', 'json'));
    ALTER TABLE consultation_reports ALTER COLUMN format DROP DEFAULT;
    ALTER TABLE consultation_reports RENAME COLUMN published_at TO signed_at;
    ALTER TABLE consultation_reports ADD COLUMN digest text;
    CREATE UNIQUE INDEX consultation_reports_version ON consultation_reports (consultation_id, version);
    CREATE UNIQUE INDEX consultation_reports_one_draft ON consultation_reports (consultation_id) WHERE signed_at IS NULL;
    CREATE INDEX consultation_reports_patient ON consultation_reports (patient_id, signed_at);
  `);
}
