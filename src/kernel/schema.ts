// Row types of the tables the migrations create, for the typed query layer (Kysely).
import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

export const ROLES = ['patient', 'doctor', 'health_professional', 'pharmacist', 'org_admin', 'security_officer'] as const;
export type Role = (typeof ROLES)[number];
/** Roles of health professionals, who need an RPPS number (pharmacists are in the RPPS too). */
export const PROFESSIONAL_ROLES: readonly Role[] = ['doctor', 'health_professional', 'pharmacist'];

export const IDENTITY_STATUSES = ['provisional', 'retrieved', 'validated', 'qualified'] as const;
export type IdentityStatus = (typeof IDENTITY_STATUSES)[number];

export interface OrganisationsTable {
  id: Generated<string>;
  name: string;
  finess: string | null;
  open_patient_signup: Generated<boolean>;
  created_at: Generated<Date>;
}

export interface UsersTable {
  id: Generated<string>;
  email: string;
  display_name: string;
  password_hash: string;
  locale: Generated<'fr' | 'en'>;
  rpps: string | null;
  profession: string | null;
  password_changed_at: Timestamp;
  created_at: Generated<Date>;
}

export interface PatientIdentitiesTable {
  user_id: string;
  birth_name: string;
  first_names: string;
  birth_date: ColumnType<string, string, string>;
  sex: 'F' | 'M' | 'U';
  birthplace_code: string;
  ins_nir: string | null;
  identity_status: Generated<IdentityStatus>;
}

export interface MemberRolesTable {
  organisation_id: string;
  user_id: string;
  role: Role;
  granted_at: Generated<Date>;
}

export interface InvitationsTable {
  id: Generated<string>;
  organisation_id: string;
  email: string;
  roles: Role[];
  rpps: string | null;
  profession: string | null;
  token_hash: string;
  invited_by: string | null;
  expires_at: Timestamp;
  accepted_at: NullableTimestamp;
  created_at: Generated<Date>;
}

export interface TotpFactorsTable {
  user_id: string;
  secret_sealed: string;
  confirmed_at: NullableTimestamp;
  last_step: number | null;
  created_at: Generated<Date>;
}

export interface RecoveryCodesTable {
  id: Generated<string>;
  user_id: string;
  code_hash: string;
  used_at: NullableTimestamp;
}

export interface WebauthnCredentialsTable {
  id: string;
  user_id: string;
  public_key: Uint8Array;
  counter: ColumnType<string | number | bigint, number, number>;
  transports: string;
  name: string;
  created_at: Generated<Date>;
  last_used_at: NullableTimestamp;
}

export interface SessionsTable {
  id: Generated<string>;
  token_hash: string;
  user_id: string;
  csrf_token: string;
  second_factor_pending: boolean;
  second_factor_at: NullableTimestamp;
  reauthenticated_at: Generated<Date>;
  created_at: Generated<Date>;
  last_seen_at: Timestamp;
  absolute_expires_at: Timestamp;
  source_address: string;
  user_agent: string;
  revoked_at: NullableTimestamp;
  revoked_reason: string | null;
}

export interface AuthChallengesTable {
  id: Generated<string>;
  purpose: 'webauthn-register' | 'webauthn-login';
  challenge: string;
  user_id: string | null;
  session_id: string | null;
  expires_at: Timestamp;
}

export interface TrustedDevicesTable {
  token_hash: string;
  user_id: string;
  created_at: Generated<Date>;
  expires_at: Timestamp;
}

export interface LoginThrottleKeysTable {
  key: string;
}

export interface LoginAttemptsTable {
  id: Generated<string>;
  account_key: string;
  source_address: string;
  trusted_device: boolean;
  outcome: 'pending' | 'success' | 'failure';
  attempted_at: Generated<Date>;
}

export interface PasswordResetsTable {
  id: Generated<string>;
  user_id: string;
  token_hash: string;
  expires_at: Timestamp;
  used_at: NullableTimestamp;
  created_at: Generated<Date>;
}

export interface SetupTokensTable {
  token_hash: string;
  expires_at: Timestamp;
  used_at: NullableTimestamp;
}

type BigIntColumn = ColumnType<string | number | bigint, number | bigint | string, number | bigint | string>;

export const RELATIONSHIP_KINDS = ['attending_doctor', 'care_team', 'consultation', 'expertise', 'monitoring'] as const;
export type RelationshipKind = (typeof RELATIONSHIP_KINDS)[number];

export interface CareRelationshipsTable {
  id: Generated<string>;
  patient_id: string;
  professional_id: string;
  organisation_id: string;
  kind: RelationshipKind;
  starts_at: Timestamp;
  ends_at: NullableTimestamp;
  created_by: string | null;
  ended_by: string | null;
}

export interface PatientOppositionsTable {
  id: Generated<string>;
  patient_id: string;
  professional_id: string;
  created_at: Timestamp;
  withdrawn_at: NullableTimestamp;
}

export const INCIDENT_KINDS = ['break_the_glass', 'denial_burst', 'unusual_volume', 'login_failures'] as const;
export type IncidentKind = (typeof INCIDENT_KINDS)[number];

export interface IncidentsTable {
  id: Generated<string>;
  kind: IncidentKind;
  status: Generated<'open' | 'acknowledged' | 'closed'>;
  summary: string;
  actor_user_id: string | null;
  patient_id: string | null;
  source_address: string | null;
  opened_at: Timestamp;
  closed_at: NullableTimestamp;
}

export interface IncidentNotesTable {
  id: Generated<string>;
  incident_id: string;
  author_id: string | null;
  action: 'comment' | 'acknowledge' | 'close' | 'reopen';
  text: string;
  created_at: Timestamp;
}

export interface EmergencyAccessesTable {
  id: Generated<string>;
  actor_id: string;
  patient_id: string;
  reason: string;
  starts_at: Timestamp;
  ends_at: Timestamp;
  incident_id: string | null;
}

export interface AuditEntriesTable {
  id: ColumnType<string | number | bigint, never, never>;
  leaf_index: ColumnType<string | number | bigint | null, never, number | bigint | string | null>;
  leaf_hash: Uint8Array | null;
  leaf_data: string | null;
  pruned_at: NullableTimestamp;
  occurred_at: Timestamp;
  kind: 'access' | 'security';
  type: string;
  outcome: string;
  actor_user_id: string | null;
  actor_role: string | null;
  subject_user_id: string | null;
  patient_id: string | null;
  organisation_id: string | null;
  resource_type: string | null;
  resource_id: string | null;
  purpose: string | null;
  reason: string | null;
  request_id: string | null;
  source_address: string | null;
  detail: ColumnType<Record<string, unknown>, string | undefined, string>;
}

export interface AuditTreeTilesTable {
  level: number;
  idx: BigIntColumn;
  width: number;
  hashes: Uint8Array;
}

export interface PrescriptionsTable {
  id: string;
  number: string;
  consultation_id: string | null;
  patient_id: string;
  prescriber_id: string | null;
  organisation_id: string;
  body_sealed: string;
  digest: string;
  signed_note: string;
  issued_at: Timestamp;
  dispensed_at: NullableTimestamp;
  dispensed_by: string | null;
}

export interface ObservationsTable {
  id: string;
  patient_id: string;
  author_id: string | null;
  encounter_id: string | null;
  kind: string;
  code: string;
  /** numeric: read back as text by both drivers. */
  value: ColumnType<string, number | string, number | string>;
  value2: ColumnType<string | null, number | string | null | undefined, number | string | null>;
  unit: string;
  effective_at: Timestamp;
  recorded_at: Timestamp;
}

export interface AuditCheckpointsTable {
  size: BigIntColumn;
  root_hash: Uint8Array;
  note: string;
  created_at: Timestamp;
}

export interface AuditLogStateTable {
  id: number;
  size: BigIntColumn;
  frontier: ColumnType<unknown, string, string>;
}

export interface SecurityEventsTable {
  id: Generated<number>;
  occurred_at: Generated<Date>;
  type: string;
  outcome: 'success' | 'failure' | 'denied';
  actor_user_id: string | null;
  subject_user_id: string | null;
  organisation_id: string | null;
  request_id: string | null;
  source_address: string | null;
  detail: ColumnType<Record<string, unknown>, string | undefined, string>;
}

export const CONSULTATION_MODES = ['video', 'in_person'] as const;
export type ConsultationMode = (typeof CONSULTATION_MODES)[number];
export const CONSULTATION_STATUSES = ['scheduled', 'in_progress', 'ended', 'cancelled'] as const;
export type ConsultationStatus = (typeof CONSULTATION_STATUSES)[number];
/** How the consultation sits in the care pathway (parcours de soins), recorded at booking. */
export const PATHWAY_ROLES = ['attending_doctor', 'referred', 'exempt', 'outside_pathway'] as const;
export type PathwayRole = (typeof PATHWAY_ROLES)[number];

export interface AvailabilitySlotsTable {
  id: Generated<string>;
  organisation_id: string;
  doctor_id: string;
  starts_at: Timestamp;
  ends_at: Timestamp;
  mode: ConsultationMode;
  created_at: Timestamp;
  withdrawn_at: NullableTimestamp;
}

export interface ConsultationsTable {
  id: Generated<string>;
  organisation_id: string;
  doctor_id: string;
  patient_id: string | null;
  invitation_id: string | null;
  slot_id: string | null;
  starts_at: Timestamp;
  ends_at: Timestamp;
  mode: ConsultationMode;
  status: Generated<ConsultationStatus>;
  booked_by: string | null;
  booked_at: Timestamp;
  cancelled_by: string | null;
  cancelled_at: NullableTimestamp;
  pathway_role: PathwayRole;
  pathway_exemption: string | null;
  /** ISO date (YYYY-MM-DD), as declared at booking. */
  last_in_person_visit: ColumnType<string | null, string | null | undefined, string | null>;
  relationship_id: string | null;
  waiting_since: NullableTimestamp;
  admitted_at: NullableTimestamp;
  ended_at: NullableTimestamp;
  duration_seconds: number | null;
  reminder_day_before_at: NullableTimestamp;
  reminder_soon_at: NullableTimestamp;
}

export interface ConsultationMessagesTable {
  id: Generated<string>;
  consultation_id: string;
  patient_id: string;
  sender_id: string | null;
  sent_at: Timestamp;
  body_sealed: string;
}

export interface DocumentsTable {
  id: Generated<string>;
  patient_id: string;
  consultation_id: string | null;
  uploaded_by: string | null;
  file_name_sealed: string;
  media_type: string;
  size_bytes: BigIntColumn;
  wrapped_key: string;
  storage_key: string;
  created_at: Timestamp;
}

export interface ConsultationReportsTable {
  id: string;
  consultation_id: string;
  patient_id: string;
  author_id: string | null;
  /** 1, 2, … per consultation; a version > 1 replaces an earlier signed one. */
  version: number;
  replaces_id: string | null;
  /** 'text': a free-text report written before structured reports; 'json': sections (and, once signed, the header). */
  format: 'text' | 'json';
  body_sealed: string;
  created_at: Timestamp;
  updated_at: Timestamp;
  /** Null while a draft; set once, when the doctor signs. */
  signed_at: NullableTimestamp;
  /** SHA-256 (base64) of the signed body, also in the signing's audit entry. */
  digest: string | null;
}

export interface RecordConditionsTable {
  id: string;
  patient_id: string;
  author_id: string | null;
  category: 'allergy' | 'problem';
  /** Sealed JSON: { label, note, reaction } (reaction: allergies only). */
  body_sealed: string;
  status: 'active' | 'resolved';
  criticality: 'low' | 'high' | 'unable-to-assess' | null;
  /** YYYY-MM-DD (read as text). */
  onset_date: ColumnType<string | null, string | null | undefined, string | null>;
  recorded_at: Timestamp;
  updated_at: Timestamp;
  updated_by: string | null;
}

export interface OauthClientsTable {
  id: string;
  /** The public identifier the application sends (random, not the row id). */
  client_id: string;
  organisation_id: string;
  name: string;
  redirect_uris: ColumnType<string[], string, string>;
  /** SHA-256 of the secret of a confidential client; null for a public one (PKCE only). */
  secret_hash: string | null;
  created_by: string | null;
  created_at: Timestamp;
  revoked_at: NullableTimestamp;
}

export interface OauthGrantsTable {
  id: string;
  client_id: string;
  user_id: string;
  scope: string;
  /** When the user proved their second factor in the session that gave the grant. */
  second_factor_at: Timestamp;
  created_at: Timestamp;
  last_used_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
}

export interface OauthCodesTable {
  code_hash: string;
  grant_id: string;
  redirect_uri: string;
  code_challenge: string;
  expires_at: Timestamp;
  used_at: NullableTimestamp;
}

export interface OauthTokensTable {
  token_hash: string;
  grant_id: string;
  kind: 'access' | 'refresh';
  /** The token's scope: the grant's, or narrower (RFC 6749 §6). */
  scope: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  /** A refresh token is used once (rotation); a second use revokes the grant. */
  used_at: NullableTimestamp;
}

export interface Database {
  organisations: OrganisationsTable;
  users: UsersTable;
  patient_identities: PatientIdentitiesTable;
  member_roles: MemberRolesTable;
  invitations: InvitationsTable;
  totp_factors: TotpFactorsTable;
  recovery_codes: RecoveryCodesTable;
  webauthn_credentials: WebauthnCredentialsTable;
  sessions: SessionsTable;
  auth_challenges: AuthChallengesTable;
  trusted_devices: TrustedDevicesTable;
  login_throttle_keys: LoginThrottleKeysTable;
  login_attempts: LoginAttemptsTable;
  password_resets: PasswordResetsTable;
  setup_tokens: SetupTokensTable;
  /** A view over the security leaves of audit_entries (read-only). */
  security_events: SecurityEventsTable;
  care_relationships: CareRelationshipsTable;
  patient_oppositions: PatientOppositionsTable;
  incidents: IncidentsTable;
  incident_notes: IncidentNotesTable;
  emergency_accesses: EmergencyAccessesTable;
  audit_entries: AuditEntriesTable;
  audit_tree_tiles: AuditTreeTilesTable;
  audit_checkpoints: AuditCheckpointsTable;
  prescriptions: PrescriptionsTable;
  observations: ObservationsTable;
  audit_log_state: AuditLogStateTable;
  availability_slots: AvailabilitySlotsTable;
  consultations: ConsultationsTable;
  consultation_messages: ConsultationMessagesTable;
  documents: DocumentsTable;
  consultation_reports: ConsultationReportsTable;
  record_conditions: RecordConditionsTable;
  oauth_clients: OauthClientsTable;
  oauth_grants: OauthGrantsTable;
  oauth_codes: OauthCodesTable;
  oauth_tokens: OauthTokensTable;
}
