// The one place where security events are recorded (logins, factor and role changes, resets…).
// Callers pass the transaction of the change they describe, so the trace and the change commit together.
// The access-gate issue turns this table into the leaves of the tamper-evident log.
import type { Queryable } from '../kernel/db.js';

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

export async function recordSecurityEvent(db: Queryable, context: RequestContext, event: SecurityEvent): Promise<void> {
  await db
    .insertInto('security_events')
    .values({
      type: event.type,
      outcome: event.outcome,
      actor_user_id: event.actorUserId ?? null,
      subject_user_id: event.subjectUserId ?? event.actorUserId ?? null,
      organisation_id: event.organisationId ?? null,
      request_id: context.requestId,
      source_address: context.sourceAddress,
      detail: JSON.stringify(event.detail ?? {}),
    })
    .execute();
}
