// The report the doctor writes after the call (free text for now; the structured FHIR report comes
// with the records capability). Sealed at rest; the patient reads it once the doctor publishes it.
import { assertDecision, type AllowedDecision } from '../access/gate.js';
import type { Queryable } from '../kernel/db.js';
import { objectContext, type Envelope } from '../kernel/envelope.js';
import { AppError } from '../kernel/errors.js';

export const REPORT_MAX_LENGTH = 20_000;

export interface ReportView {
  consultationId: string;
  authorId: string | null;
  authorName: string;
  text: string;
  createdAt: string;
  updatedAt: string;
  publishedAt: string | null;
}

const contextOf = (consultationId: string) => objectContext('consultation_reports', consultationId, 'body_sealed');

/** Writes (or rewrites, until published) the report of an ended consultation. Doctor only. */
export async function saveReport(
  q: Queryable,
  decision: AllowedDecision<'record.write'>,
  envelope: Envelope,
  report: { consultationId: string; doctorId: string; text: string; publish: boolean; now: Date },
): Promise<void> {
  assertDecision(decision, 'record.write');
  const consultation = await q.selectFrom('consultations').select(['status', 'doctor_id']).where('id', '=', report.consultationId).where('patient_id', '=', decision.patientId).forUpdate().executeTakeFirst();
  if (!consultation || consultation.doctor_id !== decision.actorId) throw new AppError('not_found');
  if (consultation.status !== 'ended') throw new AppError('consultation_state', { fr: 'Le compte rendu s’écrit une fois la consultation terminée.', en: 'The report is written once the consultation has ended.' });
  const existing = await q.selectFrom('consultation_reports').select('published_at').where('consultation_id', '=', report.consultationId).executeTakeFirst();
  if (existing?.published_at) throw new AppError('consultation_state', { fr: 'Ce compte rendu est déjà transmis au patient.', en: 'This report has already been sent to the patient.' });
  const sealed = await envelope.sealText(report.text, contextOf(report.consultationId));
  const publishedAt = report.publish ? report.now : null;
  if (existing) {
    await q.updateTable('consultation_reports').set({ body_sealed: sealed, updated_at: report.now, published_at: publishedAt }).where('consultation_id', '=', report.consultationId).execute();
  } else {
    await q
      .insertInto('consultation_reports')
      .values({ consultation_id: report.consultationId, patient_id: decision.patientId, author_id: decision.actorId, body_sealed: sealed, created_at: report.now, updated_at: report.now, published_at: publishedAt })
      .execute();
  }
}

/** The doctor sees their draft; the patient sees the report once published. */
export async function readReport(q: Queryable, decision: AllowedDecision<'record.read'>, envelope: Envelope, consultationId: string): Promise<ReportView | null> {
  assertDecision(decision, 'record.read');
  const row = await q
    .selectFrom('consultation_reports as r')
    .leftJoin('users as author', 'author.id', 'r.author_id')
    .select(['r.consultation_id', 'r.author_id', 'author.display_name', 'r.body_sealed', 'r.created_at', 'r.updated_at', 'r.published_at'])
    .where('r.consultation_id', '=', consultationId)
    .where('r.patient_id', '=', decision.patientId)
    .executeTakeFirst();
  if (!row) return null;
  if (decision.basis === 'self' && !row.published_at) return null;
  return {
    consultationId: row.consultation_id,
    authorId: row.author_id,
    authorName: row.display_name ?? '',
    text: await envelope.openText(row.body_sealed, contextOf(row.consultation_id)),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    publishedAt: row.published_at?.toISOString() ?? null,
  };
}
