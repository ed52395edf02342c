// Observations of a patient's record: vital signs and measurements (weight, blood pressure,
// temperature, SpO2, heart rate, glucose), by a professional or by the patient. Structured numbers,
// searchable by patient, code and time (FHIR Observation); no free text, so not sealed.
import type { Kysely } from 'kysely';
import { runStatements } from './statements.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, `
    CREATE TABLE observations (
      id uuid PRIMARY KEY,
      patient_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      author_id uuid REFERENCES users (id) ON DELETE SET NULL,
      encounter_id uuid REFERENCES consultations (id) ON DELETE SET NULL,
      kind text NOT NULL,
      code text NOT NULL,
      value numeric NOT NULL,
      value2 numeric,
      unit text NOT NULL,
      effective_at timestamptz NOT NULL,
      recorded_at timestamptz NOT NULL
    );
    CREATE INDEX observations_patient_time ON observations (patient_id, effective_at);
    CREATE INDEX observations_patient_code_time ON observations (patient_id, code, effective_at);
  `);
}
