// Break-the-glass: a doctor of the patient's organisation, without a relationship (or opposed), opens
// the record in an emergency by writing why. The access lasts 30 minutes, reads only, is shown to the
// patient, and opens an incident for the security officer — all in the transaction of the decision.
import { openIncident } from '../audit/incidents.js';
import type { Queryable } from '../kernel/db.js';
import { assertDecision, type AllowedDecision } from './gate.js';

export const EMERGENCY_ACCESS_MS = 30 * 60_000;
export const REASON_MIN_LENGTH = 10;
export const REASON_MAX_LENGTH = 500;

export interface EmergencyRequest {
  /** Chosen before the decision so the audit entry names the access it opens. */
  id: string;
  reason: string;
  now: Date;
  sourceAddress: string;
}

export async function openEmergencyAccess(q: Queryable, decision: AllowedDecision<'emergency_access.open'>, request: EmergencyRequest): Promise<{ id: string; expiresAt: Date; incidentId: string }> {
  assertDecision(decision, 'emergency_access.open');
  const expiresAt = new Date(request.now.getTime() + EMERGENCY_ACCESS_MS);
  // The summary names who and whom, never the reason: the reason may hold clinical words and stays in
  // emergency_accesses (for the patient) and in the audit entry's reason field.
  const incidentId = await openIncident(q, {
    kind: 'break_the_glass',
    summary: `Break-the-glass: user ${decision.actorId} opened the record of patient ${decision.patientId} until ${expiresAt.toISOString()}`,
    actorUserId: decision.actorId,
    patientId: decision.patientId,
    sourceAddress: request.sourceAddress,
    now: request.now,
  });
  await q
    .insertInto('emergency_accesses')
    .values({
      id: request.id,
      actor_id: decision.actorId,
      patient_id: decision.patientId,
      reason: request.reason,
      starts_at: request.now,
      ends_at: expiresAt,
      incident_id: incidentId,
    })
    .execute();
  return { id: request.id, expiresAt, incidentId };
}
