// E-prescriptions (ordonnances): what the doctor prescribed, sealed (DESIGN invariant 3); the signed
// note printed as the prescription's 2D code; whether (and by whom) it was dispensed.
import type { Kysely } from 'kysely';
import { runStatements } from './statements.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, `
    CREATE TABLE prescriptions (
      id uuid PRIMARY KEY,
      number text NOT NULL UNIQUE,
      consultation_id uuid REFERENCES consultations (id) ON DELETE SET NULL,
      patient_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      prescriber_id uuid REFERENCES users (id) ON DELETE SET NULL,
      organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
      body_sealed text NOT NULL,
      digest text NOT NULL,
      signed_note text NOT NULL,
      issued_at timestamptz NOT NULL,
      dispensed_at timestamptz,
      dispensed_by uuid REFERENCES users (id) ON DELETE SET NULL
    );
    CREATE INDEX prescriptions_patient ON prescriptions (patient_id, issued_at);
    CREATE INDEX prescriptions_consultation ON prescriptions (consultation_id);
  `);
}
