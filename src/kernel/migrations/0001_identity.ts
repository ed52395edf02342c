// Accounts, organisations, roles, factors, sessions and the security-event record.
import type { Kysely } from 'kysely';
import { runStatements } from './statements.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, `
    CREATE TABLE organisations (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      finess text UNIQUE,
      open_patient_signup boolean NOT NULL DEFAULT true,
      created_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE users (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      email text NOT NULL UNIQUE CHECK (email = lower(email)),
      display_name text NOT NULL,
      password_hash text NOT NULL,
      locale text NOT NULL DEFAULT 'fr' CHECK (locale IN ('fr', 'en')),
      rpps text UNIQUE,
      profession text,
      password_changed_at timestamptz NOT NULL DEFAULT now(),
      created_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE patient_identities (
      user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
      birth_name text NOT NULL,
      first_names text NOT NULL,
      birth_date date NOT NULL,
      sex text NOT NULL CHECK (sex IN ('F', 'M', 'U')),
      birthplace_code text NOT NULL,
      ins_nir text UNIQUE,
      identity_status text NOT NULL DEFAULT 'provisional'
        CHECK (identity_status IN ('provisional', 'retrieved', 'validated', 'qualified'))
    );

    CREATE TABLE member_roles (
      organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
      user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      role text NOT NULL
        CHECK (role IN ('patient', 'doctor', 'health_professional', 'org_admin', 'security_officer')),
      granted_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (organisation_id, user_id, role)
    );
    CREATE INDEX member_roles_user ON member_roles (user_id);

    CREATE TABLE invitations (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
      email text NOT NULL CHECK (email = lower(email)),
      roles text[] NOT NULL,
      rpps text,
      profession text,
      token_hash text NOT NULL UNIQUE,
      invited_by uuid REFERENCES users (id) ON DELETE SET NULL,
      expires_at timestamptz NOT NULL,
      accepted_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE totp_factors (
      user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
      secret_sealed text NOT NULL,
      confirmed_at timestamptz,
      last_step integer,
      created_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE recovery_codes (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      code_hash text NOT NULL,
      used_at timestamptz
    );
    CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

    CREATE TABLE webauthn_credentials (
      id text PRIMARY KEY,
      user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      public_key bytea NOT NULL,
      counter bigint NOT NULL DEFAULT 0,
      transports text NOT NULL DEFAULT '[]',
      name text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      last_used_at timestamptz
    );
    CREATE INDEX webauthn_credentials_user ON webauthn_credentials (user_id);

    CREATE TABLE sessions (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      token_hash text NOT NULL UNIQUE,
      user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      csrf_token text NOT NULL,
      second_factor_pending boolean NOT NULL,
      second_factor_at timestamptz,
      reauthenticated_at timestamptz NOT NULL DEFAULT now(),
      created_at timestamptz NOT NULL DEFAULT now(),
      last_seen_at timestamptz NOT NULL DEFAULT now(),
      absolute_expires_at timestamptz NOT NULL,
      source_address text NOT NULL,
      user_agent text NOT NULL DEFAULT '',
      revoked_at timestamptz,
      revoked_reason text
    );
    CREATE INDEX sessions_user ON sessions (user_id) WHERE revoked_at IS NULL;

    CREATE TABLE auth_challenges (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      purpose text NOT NULL CHECK (purpose IN ('webauthn-register', 'webauthn-login')),
      challenge text NOT NULL,
      user_id uuid REFERENCES users (id) ON DELETE CASCADE,
      session_id uuid REFERENCES sessions (id) ON DELETE CASCADE,
      expires_at timestamptz NOT NULL
    );

    CREATE TABLE trusted_devices (
      token_hash text PRIMARY KEY,
      user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL
    );

    CREATE TABLE login_throttle_keys (
      key text PRIMARY KEY
    );

    CREATE TABLE login_attempts (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      account_key text NOT NULL,
      source_address text NOT NULL,
      trusted_device boolean NOT NULL,
      outcome text NOT NULL CHECK (outcome IN ('pending', 'success', 'failure')),
      attempted_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX login_attempts_account ON login_attempts (account_key, attempted_at);
    CREATE INDEX login_attempts_address ON login_attempts (source_address, attempted_at);

    CREATE TABLE password_resets (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      token_hash text NOT NULL UNIQUE,
      expires_at timestamptz NOT NULL,
      used_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE setup_tokens (
      token_hash text PRIMARY KEY,
      expires_at timestamptz NOT NULL,
      used_at timestamptz
    );

    CREATE TABLE security_events (
      id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      occurred_at timestamptz NOT NULL DEFAULT now(),
      type text NOT NULL,
      outcome text NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
      actor_user_id uuid,
      subject_user_id uuid,
      organisation_id uuid,
      request_id text,
      source_address text,
      detail jsonb NOT NULL DEFAULT '{}'
    );
    CREATE INDEX security_events_actor ON security_events (actor_user_id, occurred_at);
  `);
}
