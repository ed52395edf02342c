// In-call chat: short text messages between the consultation's participants, kept in the patient's
// record sealed under a data key of their own (DESIGN invariant 3). The live copy reaches the other
// side through the hub as an identifier; the text is fetched back through the gate.
import { assertDecision, type AllowedDecision } from '../access/gate.js';
import type { Queryable } from '../kernel/db.js';
import { objectContext, type Envelope } from '../kernel/envelope.js';

export const MESSAGE_MAX_LENGTH = 2000;

export interface MessageView {
  id: string;
  senderId: string | null;
  senderName: string;
  sentAt: string;
  text: string;
}

const contextOf = (id: string) => objectContext('consultation_messages', id, 'body_sealed');

export async function postMessage(q: Queryable, decision: AllowedDecision<'consultation.join'>, envelope: Envelope, message: { id: string; consultationId: string; text: string; now: Date }): Promise<void> {
  assertDecision(decision, 'consultation.join');
  await q
    .insertInto('consultation_messages')
    .values({ id: message.id, consultation_id: message.consultationId, patient_id: decision.patientId, sender_id: decision.actorId, sent_at: message.now, body_sealed: await envelope.sealText(message.text, contextOf(message.id)) })
    .execute();
}

export async function listMessages(q: Queryable, decision: AllowedDecision<'consultation.join'>, envelope: Envelope, consultationId: string): Promise<MessageView[]> {
  assertDecision(decision, 'consultation.join');
  const rows = await q
    .selectFrom('consultation_messages as m')
    .leftJoin('users as sender', 'sender.id', 'm.sender_id')
    .select(['m.id', 'm.sender_id', 'sender.display_name', 'm.sent_at', 'm.body_sealed'])
    .where('m.consultation_id', '=', consultationId)
    .where('m.patient_id', '=', decision.patientId)
    .orderBy('m.sent_at')
    .orderBy('m.id')
    .limit(1000)
    .execute();
  return Promise.all(
    rows.map(async (row) => ({ id: row.id, senderId: row.sender_id, senderName: row.display_name ?? '', sentAt: row.sent_at.toISOString(), text: await envelope.openText(row.body_sealed, contextOf(row.id)) })),
  );
}
