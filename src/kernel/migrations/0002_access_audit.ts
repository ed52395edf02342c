// The access gate's relationships, consents and emergency accesses; the tamper-evident audit log
// (leaves, tree nodes, signed checkpoints) and incidents. Security events become audit leaves: the
// old table is folded into the log and kept as a view.
import type { Kysely } from 'kysely';
import { runStatements } from './statements.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, `
    CREATE TABLE care_relationships (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      patient_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      professional_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
      kind text NOT NULL CHECK (kind IN ('attending_doctor', 'care_team', 'consultation', 'expertise', 'monitoring')),
      starts_at timestamptz NOT NULL,
      ends_at timestamptz,
      created_by uuid REFERENCES users (id) ON DELETE SET NULL,
      ended_by uuid REFERENCES users (id) ON DELETE SET NULL,
      CHECK (ends_at IS NULL OR ends_at > starts_at)
    );
    CREATE INDEX care_relationships_pair ON care_relationships (professional_id, patient_id);
    CREATE INDEX care_relationships_patient ON care_relationships (patient_id);

    CREATE TABLE patient_oppositions (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      patient_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      professional_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      created_at timestamptz NOT NULL,
      withdrawn_at timestamptz
    );
    CREATE INDEX patient_oppositions_pair ON patient_oppositions (patient_id, professional_id);

    CREATE TABLE incidents (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      kind text NOT NULL CHECK (kind IN ('break_the_glass', 'denial_burst', 'unusual_volume', 'login_failures')),
      status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged', 'closed')),
      summary text NOT NULL,
      actor_user_id uuid,
      patient_id uuid,
      source_address text,
      opened_at timestamptz NOT NULL,
      closed_at timestamptz
    );
    CREATE INDEX incidents_status ON incidents (status, opened_at);

    CREATE TABLE incident_notes (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      incident_id uuid NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
      author_id uuid REFERENCES users (id) ON DELETE SET NULL,
      action text NOT NULL CHECK (action IN ('comment', 'acknowledge', 'close', 'reopen')),
      text text NOT NULL DEFAULT '',
      created_at timestamptz NOT NULL
    );

    CREATE TABLE emergency_accesses (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      actor_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      patient_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      reason text NOT NULL,
      starts_at timestamptz NOT NULL,
      ends_at timestamptz NOT NULL,
      incident_id uuid REFERENCES incidents (id) ON DELETE SET NULL
    );
    CREATE INDEX emergency_accesses_pair ON emergency_accesses (actor_id, patient_id, ends_at);

    CREATE TABLE audit_entries (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      leaf_index bigint UNIQUE,
      leaf_hash bytea,
      leaf_data text,
      pruned_at timestamptz,
      occurred_at timestamptz NOT NULL,
      kind text NOT NULL CHECK (kind IN ('access', 'security')),
      type text NOT NULL,
      outcome text NOT NULL,
      actor_user_id uuid,
      actor_role text,
      subject_user_id uuid,
      patient_id uuid,
      organisation_id uuid,
      resource_type text,
      resource_id text,
      purpose text,
      reason text,
      request_id text,
      source_address text,
      detail jsonb NOT NULL DEFAULT '{}'
    );
    CREATE INDEX audit_entries_pending ON audit_entries (id) WHERE leaf_index IS NULL;
    CREATE INDEX audit_entries_patient ON audit_entries (patient_id, occurred_at);
    CREATE INDEX audit_entries_actor ON audit_entries (actor_user_id, occurred_at);
    CREATE INDEX audit_entries_subject ON audit_entries (subject_user_id, occurred_at);
    CREATE INDEX audit_entries_time ON audit_entries (occurred_at);

    CREATE TABLE audit_tree_nodes (
      level smallint NOT NULL,
      idx bigint NOT NULL,
      hash bytea NOT NULL,
      PRIMARY KEY (level, idx)
    );

    CREATE TABLE audit_checkpoints (
      size bigint PRIMARY KEY,
      root_hash bytea NOT NULL,
      note text NOT NULL,
      created_at timestamptz NOT NULL
    );

    CREATE TABLE audit_log_state (
      id integer PRIMARY KEY CHECK (id = 1),
      size bigint NOT NULL,
      frontier jsonb NOT NULL
    );
    INSERT INTO audit_log_state (id, size, frontier) VALUES (1, 0, '{"size":0,"hashes":[]}');

    INSERT INTO audit_entries (occurred_at, kind, type, outcome, actor_user_id, subject_user_id, organisation_id, request_id, source_address, detail)
      SELECT occurred_at, 'security', type, outcome, actor_user_id, subject_user_id, organisation_id, request_id, source_address, detail
      FROM security_events ORDER BY id;
    DROP TABLE security_events;
    CREATE VIEW security_events AS
      SELECT id, occurred_at, type, outcome, actor_user_id, subject_user_id, organisation_id, request_id, source_address, detail
      FROM audit_entries WHERE kind = 'security';
  `);
}
