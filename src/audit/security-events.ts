// The one place where security events are recorded (logins, factor and role changes, resets…).
// Callers pass the transaction of the change they describe, so the trace and the change commit together.
// Each event is a leaf of the tamper-evident audit log (log.ts).
import type { Queryable } from '../kernel/db.js';
import { appendAuditEntry } from './log.js';

export const SECURITY_EVENT_TYPES = [
  'setup.completed',
  'organisation.created',
  'account.created',
  'login.password',
  'login.second_factor',
  'login.passkey',
  'login.throttled',
  'logout',
  'logout.everywhere',
  'session.revoked',
  'reauthentication',
  'factor.totp.enrolled',
  'factor.totp.removed',
  'factor.passkey.added',
  'factor.passkey.removed',
  'factor.recovery_codes.generated',
  'factor.recovery_code.used',
  'password.changed',
  'password.reset.requested',
  'password.reset.completed',
  'email.changed',
  'invitation.created',
  'invitation.accepted',
  'role.granted',
  'role.revoked',
  'consultation.refused',
  'signaling.refused',
  'signaling.rate_limited',
  'signaling.invalid_message',
  'document.refused',
  'prescription.verified',
  'prescription.dispensed',
  'report.signed',
  'application.registered',
  'application.revoked',
  'application.authorized',
  'application.refused',
  'application.access_revoked',
  'application.token_replayed',
] as const;
export type SecurityEventType = (typeof SECURITY_EVENT_TYPES)[number];

/** Who asked and from where: carried on each request, never in a global. */
export interface RequestContext {
  requestId: string;
  sourceAddress: string;
}

export interface SecurityEvent {
  type: SecurityEventType;
  outcome: 'success' | 'failure' | 'denied';
  actorUserId?: string | null;
  subjectUserId?: string | null;
  organisationId?: string | null;
  /** Identifiers and reasons only: never a secret, never clinical content. */
  detail?: Record<string, string | number | boolean | null>;
}

/** A security event is an audit leaf of kind "security", appended in the caller's transaction. */
export async function recordSecurityEvent(db: Queryable, context: RequestContext, event: SecurityEvent): Promise<void> {
  await appendAuditEntry(db, context, {
    kind: 'security',
    type: event.type,
    outcome: event.outcome,
    actorUserId: event.actorUserId ?? null,
    subjectUserId: event.subjectUserId ?? event.actorUserId ?? null,
    organisationId: event.organisationId ?? null,
    ...(event.detail ? { detail: event.detail } : {}),
  });
}
