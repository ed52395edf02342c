// Teleconsultation: a doctor's availability, consultations (booking, care pathway, waiting room, call,
// end), in-call messages, documents and the report. Clinical free text (messages, report) and file
// names are stored sealed under per-object data keys (DESIGN invariant 3); document bytes live in
// encrypted blobs outside the database, the row holding their wrapped data key.
import type { Kysely } from 'kysely';
import { runStatements } from './statements.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, `
    CREATE TABLE availability_slots (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
      doctor_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      starts_at timestamptz NOT NULL,
      ends_at timestamptz NOT NULL,
      mode text NOT NULL CHECK (mode IN ('video', 'in_person')),
      created_at timestamptz NOT NULL,
      withdrawn_at timestamptz,
      CHECK (ends_at > starts_at)
    );
    CREATE UNIQUE INDEX availability_slots_one_start ON availability_slots (doctor_id, starts_at) WHERE withdrawn_at IS NULL;
    CREATE INDEX availability_slots_doctor ON availability_slots (doctor_id, starts_at);

    CREATE TABLE consultations (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
      doctor_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      patient_id uuid REFERENCES users (id) ON DELETE CASCADE,
      invitation_id uuid REFERENCES invitations (id) ON DELETE SET NULL,
      slot_id uuid REFERENCES availability_slots (id) ON DELETE SET NULL,
      starts_at timestamptz NOT NULL,
      ends_at timestamptz NOT NULL,
      mode text NOT NULL CHECK (mode IN ('video', 'in_person')),
      status text NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'in_progress', 'ended', 'cancelled')),
      booked_by uuid REFERENCES users (id) ON DELETE SET NULL,
      booked_at timestamptz NOT NULL,
      cancelled_by uuid REFERENCES users (id) ON DELETE SET NULL,
      cancelled_at timestamptz,
      pathway_role text NOT NULL CHECK (pathway_role IN ('attending_doctor', 'referred', 'exempt', 'outside_pathway')),
      pathway_exemption text,
      last_in_person_visit date,
      relationship_id uuid REFERENCES care_relationships (id) ON DELETE SET NULL,
      waiting_since timestamptz,
      admitted_at timestamptz,
      ended_at timestamptz,
      duration_seconds integer,
      reminder_day_before_at timestamptz,
      reminder_soon_at timestamptz,
      CHECK (ends_at > starts_at),
      CHECK (patient_id IS NOT NULL OR invitation_id IS NOT NULL)
    );
    CREATE UNIQUE INDEX consultations_one_per_slot ON consultations (slot_id) WHERE status <> 'cancelled';
    CREATE INDEX consultations_doctor ON consultations (doctor_id, starts_at);
    CREATE INDEX consultations_patient ON consultations (patient_id, starts_at);
    CREATE INDEX consultations_upcoming ON consultations (starts_at) WHERE status = 'scheduled';

    CREATE TABLE consultation_messages (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      consultation_id uuid NOT NULL REFERENCES consultations (id) ON DELETE CASCADE,
      patient_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      sender_id uuid REFERENCES users (id) ON DELETE SET NULL,
      sent_at timestamptz NOT NULL,
      body_sealed text NOT NULL
    );
    CREATE INDEX consultation_messages_consultation ON consultation_messages (consultation_id, sent_at);

    CREATE TABLE documents (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      patient_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      consultation_id uuid REFERENCES consultations (id) ON DELETE SET NULL,
      uploaded_by uuid REFERENCES users (id) ON DELETE SET NULL,
      file_name_sealed text NOT NULL,
      media_type text NOT NULL,
      size_bytes bigint NOT NULL,
      wrapped_key text NOT NULL,
      storage_key text NOT NULL UNIQUE,
      created_at timestamptz NOT NULL
    );
    CREATE INDEX documents_patient ON documents (patient_id, created_at);
    CREATE INDEX documents_consultation ON documents (consultation_id);

    CREATE TABLE consultation_reports (
      consultation_id uuid PRIMARY KEY REFERENCES consultations (id) ON DELETE CASCADE,
      patient_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      author_id uuid REFERENCES users (id) ON DELETE SET NULL,
      body_sealed text NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      published_at timestamptz
    )
  `);
}
