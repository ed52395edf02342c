// HTTP routes of teleconsultation reports. The consultation's doctor writes, discards and signs drafts
// (gate: record.write); its two participants list its versions; whoever the gate lets read the patient's
// record reads a signed version, its PDF and its FHIR document; a patient's reports are listed for the
// patient and their professionals; an attending doctor sees the reports that colleagues signed for
// their patients. Every route asks the gate; a refusal answers as an unknown id.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { askGate } from '../access/ask.js';
import { decideEach, PURPOSES, type AllowedDecision, type Purpose } from '../access/gate.js';
import { gated, gatedRead } from '../access/gated.js';
import { recordSecurityEvent } from '../audit/security-events.js';
import { topics } from '../consultation/hub.js';
import { findParticipation, type Participation } from '../consultation/participation.js';
import { authenticate, sessionOf } from '../identity/guard.js';
import type { Queryable } from '../kernel/db.js';
import { AppError } from '../kernel/errors.js';
import { contextOf } from '../kernel/http.js';
import type { Services } from '../services.js';
import { reportDocument } from './fhir.js';
import { reportPdf } from './pdf.js';
import { discardDraft, readReport, reportOwner, reportsOfConsultation, saveDraft, signDraft, signedReportsOfPatient, viewOf, type ReportRecord } from './reports.js';
import { SECTION_KEYS, SECTION_MAX_LENGTH, SECTIONS, type Sections } from './sections.js';

const Uuid = Type.String({ format: 'uuid' });
/** Several lines allowed (tabs too), no other control characters; may be empty in a draft. */
const SectionText = Type.String({ maxLength: SECTION_MAX_LENGTH, pattern: '^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F]*$' });
const SectionsBody = Type.Object(Object.fromEntries(SECTION_KEYS.map((key) => [key, Type.Optional(SectionText)])) as Record<(typeof SECTION_KEYS)[number], ReturnType<typeof Type.Optional<typeof SectionText>>>, {
  additionalProperties: false,
});
const DraftBody = Type.Object({ sections: SectionsBody }, { additionalProperties: false });
const SignBody = Type.Object({ version: Type.Integer({ minimum: 1 }) }, { additionalProperties: false });
const ConsultationParams = Type.Object({ consultationId: Uuid });
const ReportParams = Type.Object({ reportId: Uuid });
const PatientParams = Type.Object({ patientId: Uuid });
const ListQuery = Type.Object(
  {
    // Query strings are not coerced (server.ts): numbers arrive as text.
    limit: Type.Optional(Type.String({ pattern: '^(?:[1-9]\\d?|100)$' })),
    offset: Type.Optional(Type.String({ pattern: '^\\d{1,6}$' })),
    /** 'emergency' after breaking the glass; otherwise the patient's own data or care. */
    purpose: Type.Optional(Type.Enum([...PURPOSES])),
  },
  { additionalProperties: false },
);

/** Reports an attending doctor's inbox shows at most (each distinct patient is one traced decision). */
const RECEIVED_MAX = 50;

export function reportRoutes(app: FastifyInstance, services: Services): void {
  const { db } = services;
  const now = () => new Date(services.now());
  const me = (request: FastifyRequest) => sessionOf(request).userId;
  const publish = (topic: string, event: { type: string; [field: string]: unknown }) => void services.hub.publish(topic, event);

  /** The caller's part in the consultation, or a traced 404 that says nothing about whether it exists. */
  async function participationOf(request: FastifyRequest, consultationId: string, intent: string): Promise<Participation> {
    const participation = await findParticipation(db, consultationId, me(request));
    if (participation) return participation;
    await recordSecurityEvent(db, contextOf(request), { type: 'consultation.refused', outcome: 'denied', actorUserId: me(request), detail: { consultationId, intent, reason: 'not_a_participant' } });
    throw new AppError('not_found');
  }

  /** The consultation's doctor, about to change its report. */
  async function doctorOf(request: FastifyRequest, consultationId: string, intent: string): Promise<Participation> {
    const participation = await participationOf(request, consultationId, intent);
    if (participation.role !== 'doctor') throw new AppError('not_found');
    return participation;
  }

  /** One version, through the gate: unknown id, refusal and someone else's draft answer alike (404). */
  async function readableReport(request: FastifyRequest, reportId: string, view: string): Promise<ReportRecord> {
    // Asked before the owner is looked up: without a second factor, known and unknown ids answer alike.
    if (sessionOf(request).secondFactorAt === null) throw new AppError('second_factor_enrolment_required');
    const patientId = await reportOwner(db, reportId);
    if (!patientId) throw new AppError('not_found');
    const input = askGate(request, now(), patientId, 'record.read', undefined, { resource: { type: 'consultation_report', id: reportId }, detail: { view } });
    const record = await gatedRead(db, input, (tx, decision) => readReport(tx, decision, services.envelope, reportId));
    if (!record) throw new AppError('not_found');
    return record;
  }

  function signedOnly(record: ReportRecord) {
    if (record.status !== 'signed' || !record.header || !record.signedAt) {
      throw new AppError('consultation_state', { fr: 'Un brouillon n’a pas de version imprimable : signez-le d’abord.', en: 'A draft has no printable version: sign it first.' });
    }
    return { ...record, header: record.header, signedAt: record.signedAt };
  }

  app.register(async (scope) => {
    scope.addHook('preValidation', authenticate(services.sessions, services.config.session.secureCookies));

    // --- A consultation's report: its versions, the draft, the signature. ---
    scope.get('/api/consultations/:consultationId/reports', { schema: { tags: ['reports'], params: ConsultationParams } }, async (request) => {
      const { consultationId } = request.params as { consultationId: string };
      const participation = await participationOf(request, consultationId, 'read_report');
      const input = askGate(request, now(), participation.consultation.patientId, 'record.read', participation.purpose, { resource: { type: 'consultation_report', id: consultationId } });
      const records = await gatedRead(db, input, (tx, decision) => reportsOfConsultation(tx, decision, services.envelope, consultationId));
      return { reports: records.map(viewOf) };
    });

    scope.put('/api/consultations/:consultationId/reports/draft', { schema: { tags: ['reports'], params: ConsultationParams, body: DraftBody } }, async (request) => {
      const { consultationId } = request.params as { consultationId: string };
      const { sections } = request.body as { sections: Partial<Sections> };
      const participation = await doctorOf(request, consultationId, 'write_report');
      const input = askGate(request, now(), participation.consultation.patientId, 'record.write', 'care', { resource: { type: 'consultation_report', id: consultationId }, detail: { change: 'report.draft_saved' } });
      const record = await gated(db, input, (tx, decision) => saveDraft(tx, decision, services.envelope, { consultationId, sections: sections as Sections, now: input.now }));
      return { report: viewOf(record) };
    });

    scope.delete('/api/consultations/:consultationId/reports/draft', { schema: { tags: ['reports'], params: ConsultationParams } }, async (request, reply) => {
      const { consultationId } = request.params as { consultationId: string };
      const participation = await doctorOf(request, consultationId, 'write_report');
      const input = askGate(request, now(), participation.consultation.patientId, 'record.write', 'care', { resource: { type: 'consultation_report', id: consultationId }, detail: { change: 'report.draft_discarded' } });
      await gated(db, input, (tx, decision) => discardDraft(tx, decision, consultationId));
      return reply.code(204).send();
    });

    scope.post('/api/consultations/:consultationId/reports/draft/sign', { schema: { tags: ['reports'], params: ConsultationParams, body: SignBody } }, async (request) => {
      const { consultationId } = request.params as { consultationId: string };
      const { version } = request.body as { version: number };
      const participation = await doctorOf(request, consultationId, 'sign_report');
      const { patientId, organisationId } = participation.consultation;
      const input = askGate(request, now(), patientId, 'record.write', 'care', { resource: { type: 'consultation_report', id: consultationId }, detail: { change: 'report.signed', version: String(version) } });
      const record = await gated(db, input, async (tx, decision) => {
        const signed = await signDraft(tx, decision, services.envelope, { consultationId, version, now: input.now });
        // The digest of what was signed joins the tamper-evident log, in the signature's transaction.
        await recordSecurityEvent(tx, contextOf(request), {
          type: 'report.signed',
          outcome: 'success',
          actorUserId: decision.actorId,
          subjectUserId: patientId,
          organisationId,
          detail: { reportId: signed.id, consultationId, version: signed.version, replaces: signed.replaces?.id ?? null, digest: signed.digest },
        });
        return signed;
      });
      publish(topics.user(patientId), { type: 'report-signed', consultationId, reportId: record.id });
      const attending = await attendingDoctorOf(db, patientId, input.now);
      if (attending && attending !== record.authorId) publish(topics.user(attending), { type: 'report-received', reportId: record.id });
      return { report: viewOf(record) };
    });

    // --- One version, its PDF, its FHIR document. ---
    scope.get('/api/reports/:reportId', { schema: { tags: ['reports'], params: ReportParams } }, async (request) => {
      const { reportId } = request.params as { reportId: string };
      return { report: viewOf(await readableReport(request, reportId, 'report')) };
    });

    scope.get('/api/reports/:reportId/pdf', { schema: { tags: ['reports'], params: ReportParams } }, async (request, reply) => {
      const { reportId } = request.params as { reportId: string };
      const record = signedOnly(await readableReport(request, reportId, 'pdf'));
      const pdf = await reportPdf(record);
      return reply
        .type('application/pdf')
        .header('content-disposition', `attachment; filename="compte-rendu-${record.signedAt.toISOString().slice(0, 10)}-v${record.version}.pdf"`)
        .header('cache-control', 'no-store')
        .send(pdf);
    });

    scope.get('/api/reports/:reportId/fhir', { schema: { tags: ['reports'], params: ReportParams } }, async (request, reply) => {
      const { reportId } = request.params as { reportId: string };
      const record = signedOnly(await readableReport(request, reportId, 'fhir'));
      return reply.type('application/fhir+json').header('cache-control', 'no-store').send(reportDocument(record, services.config.publicUrl));
    });

    // --- A patient's signed reports (the patient themself, or a professional the gate lets read). ---
    scope.get('/api/patients/:patientId/reports', { schema: { tags: ['reports'], params: PatientParams, querystring: ListQuery } }, async (request) => {
      const { patientId } = request.params as { patientId: string };
      const query = request.query as { limit?: string; offset?: string; purpose?: Purpose };
      const [limit, offset, purpose] = [Number(query.limit ?? 20), Number(query.offset ?? 0), query.purpose];
      const input = askGate(request, now(), patientId, 'record.read', purpose, { resource: { type: 'patient_reports', id: patientId } });
      const found = await gatedRead(db, input, (tx, decision) => signedReportsOfPatient(tx, decision, services.envelope, { limit, offset }));
      return { total: found.total, reports: found.records.map(viewOf) };
    });

    // --- The attending doctor's inbox: reports colleagues signed for their patients. ---
    scope.get('/api/reports/received', { schema: { tags: ['reports'] } }, async (request) => {
      if (sessionOf(request).secondFactorAt === null) throw new AppError('second_factor_enrolment_required');
      const at = now();
      const candidates = await receivedCandidates(db, me(request), at);
      const patients = [...new Set(candidates.map((row) => row.patient_id))];
      // One traced decision per patient, all in two statements, committed together; then the allowed patients' reports are read.
      const inputs = patients.map((patientId) => askGate(request, at, patientId, 'record.read', 'care', { resource: { type: 'received_reports', id: patientId } }));
      const decided = await db.transaction().execute((tx) => decideEach(tx, inputs));
      const allowed = decided.filter((decision): decision is AllowedDecision<'record.read'> => decision.allowed);
      const reports: ReportRecord[] = [];
      for (const decision of allowed) {
        for (const row of candidates.filter((candidate) => candidate.patient_id === decision.patientId)) {
          const record = await readReport(db, decision, services.envelope, row.id);
          if (record) reports.push(record);
        }
      }
      reports.sort((a, b) => b.signedAt!.getTime() - a.signedAt!.getTime());
      const names = await patientNames(db, allowed.map((decision) => decision.patientId));
      return { reports: reports.map((record) => ({ ...viewOf(record), patient: { id: record.patientId, name: names.get(record.patientId) ?? '' } })) };
    });

    scope.get('/api/report-sections', { schema: { tags: ['reports'] } }, async () => ({ sections: SECTION_KEYS.map((key) => ({ key, ...SECTIONS[key] })) }));
  });
}

/** The patient's active attending doctor, if any. */
async function attendingDoctorOf(q: Queryable, patientId: string, at: Date): Promise<string | null> {
  const row = await q
    .selectFrom('care_relationships')
    .select('professional_id')
    .where('patient_id', '=', patientId)
    .where('kind', '=', 'attending_doctor')
    .where('starts_at', '<=', at)
    .where((eb) => eb.or([eb('ends_at', 'is', null), eb('ends_at', '>', at)]))
    .executeTakeFirst();
  return row?.professional_id ?? null;
}

/**
 * The latest signed reports, by someone else, about patients whose attending doctor this professional is
 * now and who do not oppose them: the gate refuses an opposed patient anyway, and leaving them out here
 * keeps their reports from taking places in the capped list that readable ones should have.
 */
function receivedCandidates(q: Queryable, doctorId: string, at: Date) {
  return q
    .selectFrom('consultation_reports as r')
    .innerJoin('care_relationships as c', 'c.patient_id', 'r.patient_id')
    .select(['r.id', 'r.patient_id'])
    .where('c.professional_id', '=', doctorId)
    .where('c.kind', '=', 'attending_doctor')
    .where('c.starts_at', '<=', at)
    .where((eb) => eb.or([eb('c.ends_at', 'is', null), eb('c.ends_at', '>', at)]))
    .where('r.signed_at', 'is not', null)
    .where((eb) => eb.or([eb('r.author_id', 'is', null), eb('r.author_id', '!=', doctorId)]))
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('patient_oppositions as o').select('o.id').whereRef('o.patient_id', '=', 'r.patient_id').where('o.professional_id', '=', doctorId).where('o.withdrawn_at', 'is', null))),
    )
    .orderBy('r.signed_at', 'desc')
    .limit(RECEIVED_MAX)
    .execute();
}

/** Display names of patients the gate already let the reader see. */
async function patientNames(q: Queryable, patientIds: string[]): Promise<Map<string, string>> {
  if (patientIds.length === 0) return new Map();
  const rows = await q.selectFrom('users').select(['id', 'display_name']).where('id', 'in', patientIds).execute();
  return new Map(rows.map((row) => [row.id, row.display_name]));
}
