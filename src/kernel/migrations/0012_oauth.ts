// Applications that use the FHIR API on a user's behalf (OAuth 2.0, SMART App Launch): registered by an
// organisation's administrator, authorised by each user (a grant, revocable), holding short-lived access
// tokens and rotating refresh tokens. Codes, tokens and client secrets are stored as SHA-256 hashes only.
import type { Kysely } from 'kysely';
import { runStatements } from './statements.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, `
    CREATE TABLE oauth_clients (
      id uuid PRIMARY KEY,
      client_id text NOT NULL UNIQUE,
      organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
      name text NOT NULL,
      redirect_uris jsonb NOT NULL,
      secret_hash text,
      created_by uuid REFERENCES users (id) ON DELETE SET NULL,
      created_at timestamptz NOT NULL,
      revoked_at timestamptz
    );
    CREATE INDEX oauth_clients_organisation ON oauth_clients (organisation_id);
    CREATE TABLE oauth_grants (
      id uuid PRIMARY KEY,
      client_id uuid NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
      user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      scope text NOT NULL,
      second_factor_at timestamptz NOT NULL,
      created_at timestamptz NOT NULL,
      last_used_at timestamptz,
      revoked_at timestamptz
    );
    CREATE INDEX oauth_grants_user ON oauth_grants (user_id, client_id);
    CREATE TABLE oauth_codes (
      code_hash text PRIMARY KEY,
      grant_id uuid NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
      redirect_uri text NOT NULL,
      code_challenge text NOT NULL,
      expires_at timestamptz NOT NULL,
      used_at timestamptz
    );
    CREATE INDEX oauth_codes_grant ON oauth_codes (grant_id);
    CREATE TABLE oauth_tokens (
      token_hash text PRIMARY KEY,
      grant_id uuid NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
      kind text NOT NULL CHECK (kind IN ('access', 'refresh')),
      scope text NOT NULL,
      created_at timestamptz NOT NULL,
      expires_at timestamptz NOT NULL,
      used_at timestamptz
    );
    CREATE INDEX oauth_tokens_grant ON oauth_tokens (grant_id);
  `);
}
