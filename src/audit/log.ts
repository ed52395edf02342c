// Appending to the audit log. An entry is written in the transaction of the change it describes, with
// its leaf data (canonical JSON) and leaf hash (RFC 9162 §2.1.1); the integrator later gives it its
// index in the Merkle tree and signs a new tree head. Entries name who, what, which patient, why and
// the outcome — never clinical content, never a secret.
import { sql, type RawBuilder } from 'kysely';
import type { Queryable } from '../kernel/db.js';
import { leafHash } from './merkle.js';

export type AuditKind = 'access' | 'security';

/**
 * Resource types of the decisions taken for a list of patients (a professional's patient list, a FHIR
 * Patient search, a doctor's agenda and waiting room — there the id is the consultation's): each listed
 * patient is decided and traced, but seeing a list of one's patients is not
 * reading each record, and the unusual-volume detection (incidents.ts) does not count them.
 */
export const LIST_VIEW = { patients: 'patient_list', fhirPatientSearch: 'fhir_search_patient', agenda: 'agenda' } as const;

export interface AuditEntryInput {
  kind: AuditKind;
  /** The gate's action ("record.read") or the security event's type ("login.password"). */
  type: string;
  /** Access: "allowed" | "denied". Security: "success" | "failure" | "denied". */
  outcome: string;
  actorUserId?: string | null;
  actorRole?: string | null;
  subjectUserId?: string | null;
  patientId?: string | null;
  organisationId?: string | null;
  resourceType?: string | null;
  resourceId?: string | null;
  purpose?: string | null;
  reason?: string | null;
  detail?: Record<string, string | number | boolean | null>;
}

export interface AuditContext {
  requestId: string;
  sourceAddress: string;
}

/** The exact bytes hashed into the tree: fixed key order, detail keys sorted. Version 1. */
export function leafDataOf(entry: AuditEntryInput, context: AuditContext, occurredAt: Date): string {
  const detail = entry.detail ?? {};
  const sortedDetail = Object.fromEntries(Object.keys(detail).sort().map((key) => [key, detail[key]]));
  return JSON.stringify({
    v: 1,
    kind: entry.kind,
    type: entry.type,
    outcome: entry.outcome,
    at: occurredAt.toISOString(),
    actor: entry.actorUserId ?? null,
    actorRole: entry.actorRole ?? null,
    subject: entry.subjectUserId ?? null,
    patient: entry.patientId ?? null,
    organisation: entry.organisationId ?? null,
    resourceType: entry.resourceType ?? null,
    resourceId: entry.resourceId ?? null,
    purpose: entry.purpose ?? null,
    reason: entry.reason ?? null,
    requestId: context.requestId,
    sourceAddress: context.sourceAddress,
    detail: sortedDetail,
  });
}

/** The row of one entry, leaf data and leaf hash included: what appendAuditEntry writes. */
export function auditRow(context: AuditContext, entry: AuditEntryInput, occurredAt: Date) {
  const data = leafDataOf(entry, context, occurredAt);
  return {
    occurred_at: occurredAt,
    kind: entry.kind,
    type: entry.type,
    outcome: entry.outcome,
    actor_user_id: entry.actorUserId ?? null,
    actor_role: entry.actorRole ?? null,
    subject_user_id: entry.subjectUserId ?? null,
    patient_id: entry.patientId ?? null,
    organisation_id: entry.organisationId ?? null,
    resource_type: entry.resourceType ?? null,
    resource_id: entry.resourceId ?? null,
    purpose: entry.purpose ?? null,
    reason: entry.reason ?? null,
    request_id: context.requestId,
    source_address: context.sourceAddress,
    detail: JSON.stringify(entry.detail ?? {}),
    leaf_data: data,
    leaf_hash: leafHash(Buffer.from(data, 'utf8')),
  };
}

export async function appendAuditEntry(q: Queryable, context: AuditContext, entry: AuditEntryInput, occurredAt: Date = new Date()): Promise<void> {
  await q.insertInto('audit_entries').values(auditRow(context, entry, occurredAt)).execute();
}

/** Column types, for parameters that no VALUES list types (INSERT … SELECT). */
const COLUMN_TYPES: Record<keyof ReturnType<typeof auditRow>, string> = {
  occurred_at: 'timestamptz',
  kind: 'text',
  type: 'text',
  outcome: 'text',
  actor_user_id: 'uuid',
  actor_role: 'text',
  subject_user_id: 'uuid',
  patient_id: 'uuid',
  organisation_id: 'uuid',
  resource_type: 'text',
  resource_id: 'text',
  purpose: 'text',
  reason: 'text',
  request_id: 'text',
  source_address: 'text',
  detail: 'jsonb',
  leaf_data: 'text',
  leaf_hash: 'bytea',
};

/**
 * The same entry as appendAuditEntry's, as an `INSERT … SELECT … FROM source WHERE condition RETURNING id`
 * to be used as a data-modifying CTE: the statement that checks the condition writes the entry, or not.
 * (The access gate writes its decision's entry in the statement that re-reads the facts it was judged on.)
 */
export function conditionalAuditInsert(context: AuditContext, entry: AuditEntryInput, occurredAt: Date, source: RawBuilder<unknown>, condition: RawBuilder<unknown>): RawBuilder<unknown> {
  const row = auditRow(context, entry, occurredAt);
  const columns = Object.keys(row) as Array<keyof typeof row>;
  return sql`INSERT INTO audit_entries (${sql.join(columns.map((column) => sql.ref(column)))})
    SELECT ${sql.join(columns.map((column) => sql`${row[column]}::${sql.raw(COLUMN_TYPES[column])}`))}
    FROM ${source} WHERE ${condition} RETURNING id`;
}
