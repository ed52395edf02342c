// HTTP routes of e-prescriptions. The consultation's doctor issues (gate: record.write), its two
// participants list them, anyone the gate lets read the patient's record downloads the PDF or the FHIR
// Bundle (record.read). Public: the instance's verifier key, and the pharmacist's check of a 2D code.
// A signed-in pharmacist marks a prescription dispensed, once, by presenting its code.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type from 'typebox';
import type { Purpose } from '../access/gate.js';
import { gated, gatedRead } from '../access/gated.js';
import { recordSecurityEvent } from '../audit/security-events.js';
import { findParticipation } from '../consultation/participation.js';
import { authenticate, sessionOf } from '../identity/guard.js';
import { AppError } from '../kernel/errors.js';
import { contextOf, publicLimit } from '../kernel/http.js';
import type { Services } from '../services.js';
import { prescriptionBundle } from './fhir.js';
import { prescriptionPdf } from './pdf.js';
import {
  issuePrescription,
  markDispensed,
  MAX_LINES,
  newPrescriptionId,
  prescriptionOfCode,
  prescriptionOwner,
  prescriptionsOfConsultation,
  readPrescription,
  viewOf,
} from './prescriptions.js';
import { CODE_MAX_LENGTH, openPrescriptionCode } from './signed-code.js';
import { askGate } from '../access/ask.js';

const Uuid = Type.String({ format: 'uuid' });
/** One line of text, no control characters, not blank. */
const line = (minLength: number, maxLength: number) => Type.String({ minLength, maxLength, pattern: minLength > 0 ? '^(?=.*\\S)[^\\u0000-\\u001F\\u007F]*$' : '^[^\\u0000-\\u001F\\u007F]*$' });
const MedicationLineBody = Type.Object(
  {
    kind: Type.Optional(Type.Literal('medication')),
    medication: line(1, 200),
    dosage: line(0, 200),
    posology: line(1, 500),
    durationDays: Type.Integer({ minimum: 1, maximum: 365 }),
    quantity: Type.Integer({ minimum: 1, maximum: 99 }),
  },
  { additionalProperties: false },
);
const ActLineBody = Type.Object(
  {
    kind: Type.Literal('act'),
    act: line(1, 300),
    instructions: line(0, 500),
    count: Type.Integer({ minimum: 1, maximum: 99 }),
  },
  { additionalProperties: false },
);
const IssueBody = Type.Object({ lines: Type.Array(Type.Union([MedicationLineBody, ActLineBody]), { minItems: 1, maxItems: MAX_LINES }) }, { additionalProperties: false });
const CodeBody = Type.Object({ code: Type.String({ minLength: 1, maxLength: CODE_MAX_LENGTH }) }, { additionalProperties: false });

export function prescriptionRoutes(app: FastifyInstance, services: Services): void {
  const { db, config } = services;
  const { key, origin } = services.prescriptions;
  const now = () => new Date(services.now());
  const verifyUrl = `${config.publicUrl}/#/ordonnance/verifier`;


  /** The prescription's patient, then the gate: unknown id and refusal answer alike (404). */
  async function readableRecord(request: FastifyRequest, prescriptionId: string, view: string) {
    const session = sessionOf(request);
    const patientId = await prescriptionOwner(db, prescriptionId);
    if (!patientId) throw new AppError('not_found');
    const purpose: Purpose = patientId === session.userId ? 'patient_self' : 'care';
    const input = askGate(request, now(), patientId, 'record.read', purpose, { resource: { type: 'prescription', id: prescriptionId }, detail: { view } });
    const record = await gatedRead(db, input, (tx, decision) => readPrescription(tx, decision, services.envelope, prescriptionId));
    if (!record) throw new AppError('not_found');
    return record;
  }

  app.get('/api/prescriptions/key', { schema: { tags: ['prescriptions'] } }, async (_request, reply) => reply.type('text/plain; charset=utf-8').send(key.verifierKey + '\n'));

  // Public: what a pharmacist holding the paper may know. Never the content: validity, by whom, when, dispensed.
  app.post('/api/prescriptions/verify', { schema: { tags: ['prescriptions'], body: CodeBody }, config: { rateLimit: publicLimit('challenge', config.rateLimitScale) } }, async (request) => {
    const { code } = request.body as { code: string };
    const signed = openPrescriptionCode(code, key.verifierKey, origin);
    if (!signed) return { valid: false, reason: 'signature' };
    const record = await prescriptionOfCode(db, services.envelope, signed);
    if (!record) return { valid: false, reason: 'unknown' };
    await recordSecurityEvent(db, contextOf(request), { type: 'prescription.verified', outcome: 'success', subjectUserId: record.patientId, organisationId: record.organisationId, detail: { prescriptionId: record.id } });
    return {
      valid: true,
      number: record.number,
      issuedAt: record.issuedAt.toISOString(),
      prescriber: { name: record.content.prescriber.name, rpps: record.content.prescriber.rpps },
      dispensedAt: record.dispensedAt?.toISOString() ?? null,
    };
  });

  app.register(async (scope) => {
    scope.addHook('preValidation', authenticate(services.sessions, config.session.secureCookies));

    scope.post('/api/consultations/:consultationId/prescriptions', { schema: { tags: ['prescriptions'], params: Type.Object({ consultationId: Uuid }), body: IssueBody } }, async (request, reply) => {
      const { consultationId } = request.params as { consultationId: string };
      const { lines } = request.body as { lines: Parameters<typeof issuePrescription>[4]['lines'] };
      const participation = await findParticipation(db, consultationId, sessionOf(request).userId);
      if (!participation || participation.role !== 'doctor') throw new AppError('not_found');
      const id = newPrescriptionId();
      const input = askGate(request, now(), participation.consultation.patientId, 'record.write', 'care', { resource: { type: 'prescription', id }, detail: { change: 'prescription.issued' } });
      const record = await gated(db, input, (tx, decision) => issuePrescription(tx, decision, services.envelope, { ...key, origin }, { id, consultationId, lines, now: input.now }));
      return reply.code(201).send({ prescription: viewOf(record) });
    });

    scope.get('/api/consultations/:consultationId/prescriptions', { schema: { tags: ['prescriptions'], params: Type.Object({ consultationId: Uuid }) } }, async (request) => {
      const { consultationId } = request.params as { consultationId: string };
      const participation = await findParticipation(db, consultationId, sessionOf(request).userId);
      if (!participation) throw new AppError('not_found');
      const input = askGate(request, now(), participation.consultation.patientId, 'record.read', participation.purpose, { resource: { type: 'consultation_prescriptions', id: consultationId } });
      const records = await gatedRead(db, input, (tx, decision) => prescriptionsOfConsultation(tx, decision, services.envelope, consultationId));
      return { prescriptions: records.map(viewOf) };
    });

    scope.get('/api/prescriptions/:prescriptionId/pdf', { schema: { tags: ['prescriptions'], params: Type.Object({ prescriptionId: Uuid }) } }, async (request, reply) => {
      const { prescriptionId } = request.params as { prescriptionId: string };
      const record = await readableRecord(request, prescriptionId, 'pdf');
      const pdf = await prescriptionPdf(record, verifyUrl);
      return reply
        .type('application/pdf')
        .header('content-disposition', `attachment; filename="ordonnance-${record.number}.pdf"`)
        .header('cache-control', 'no-store')
        .send(pdf);
    });

    scope.get('/api/prescriptions/:prescriptionId/fhir', { schema: { tags: ['prescriptions'], params: Type.Object({ prescriptionId: Uuid }) } }, async (request, reply) => {
      const { prescriptionId } = request.params as { prescriptionId: string };
      const record = await readableRecord(request, prescriptionId, 'fhir');
      return reply.type('application/fhir+json').header('cache-control', 'no-store').send(prescriptionBundle(record, config.publicUrl));
    });
  });

  // Dispensing: a signed-in pharmacist (two factors) who holds the code.
  app.register(async (scope) => {
    scope.addHook('preValidation', authenticate(services.sessions, config.session.secureCookies, { requireSecondFactor: true }));

    scope.post('/api/prescriptions/dispense', { schema: { tags: ['prescriptions'], body: CodeBody } }, async (request) => {
      const { code } = request.body as { code: string };
      const userId = sessionOf(request).userId;
      // Refusals are traced too: a second dispensing of the same paper is what fraud looks like.
      const refuse = async (outcome: 'denied' | 'failure', reason: string, record?: { id: string; patientId: string }) =>
        recordSecurityEvent(db, contextOf(request), { type: 'prescription.dispensed', outcome, actorUserId: userId, ...(record ? { subjectUserId: record.patientId } : {}), detail: { reason, ...(record ? { prescriptionId: record.id } : {}) } });
      const pharmacist = await db.selectFrom('member_roles').select('role').where('user_id', '=', userId).where('role', '=', 'pharmacist').executeTakeFirst();
      if (!pharmacist) {
        await refuse('denied', 'not_a_pharmacist');
        throw new AppError('forbidden', { fr: 'Seul un pharmacien peut marquer une ordonnance délivrée.', en: 'Only a pharmacist can mark a prescription dispensed.' });
      }
      const signed = openPrescriptionCode(code, key.verifierKey, origin);
      const record = signed ? await prescriptionOfCode(db, services.envelope, signed) : null;
      if (!record) {
        await refuse('failure', 'invalid_code');
        throw new AppError('not_found', { fr: 'Ce code ne correspond à aucune ordonnance valide.', en: 'This code matches no valid prescription.' });
      }
      const at = now();
      const dispensed = await db.transaction().execute(async (tx) => {
        if (!(await markDispensed(tx, record.id, userId, at))) return false;
        await recordSecurityEvent(tx, contextOf(request), { type: 'prescription.dispensed', outcome: 'success', actorUserId: userId, subjectUserId: record.patientId, organisationId: record.organisationId, detail: { prescriptionId: record.id } });
        return true;
      });
      if (!dispensed) {
        await refuse('denied', 'already_dispensed', record);
        throw new AppError('conflict', { fr: 'Cette ordonnance a déjà été délivrée.', en: 'This prescription has already been dispensed.' });
      }
      return { number: record.number, dispensedAt: at.toISOString() };
    });
  });
}
