// Allergies and problems (the record's "antécédents et allergies"): what, since when, how severe, active
// or resolved, by whom. Their wording is clinical free text, sealed (DESIGN invariant 3); category,
// status and dates stay plain so that lists and FHIR searches need no decryption.
import type { Kysely } from 'kysely';
import { runStatements } from './statements.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, `
    CREATE TABLE record_conditions (
      id uuid PRIMARY KEY,
      patient_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      author_id uuid REFERENCES users (id) ON DELETE SET NULL,
      category text NOT NULL CHECK (category IN ('allergy', 'problem')),
      body_sealed text NOT NULL,
      status text NOT NULL CHECK (status IN ('active', 'resolved')),
      criticality text CHECK (criticality IN ('low', 'high', 'unable-to-assess')),
      onset_date date,
      recorded_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      updated_by uuid REFERENCES users (id) ON DELETE SET NULL
    );
    CREATE INDEX record_conditions_patient ON record_conditions (patient_id, category, recorded_at);
  `);
}
