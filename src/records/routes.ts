// HTTP routes of documents: upload into a consultation (its participants), import into a patient's
// record (a professional the gate lets write it), list a consultation's documents (its participants) or
// a patient's (anyone the gate lets read the record), download (the same).
//
// An upload never holds a transaction while bytes flow (PGlite has one connection: a transaction open
// for a whole upload would stall the server): (1) a short transaction finds the participation and asks
// the gate (both traced), (2) the body streams through the checks and encryption to a temporary file,
// (3) a second short transaction inserts the row. Any refusal after (1) is traced as a
// `document.refused` security event and leaves neither row nor file.
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { decide, type AllowedDecision, type Purpose } from '../access/gate.js';
import { askGate } from '../access/ask.js';
import { denialError, gatedRead } from '../access/gated.js';
import { recordSecurityEvent } from '../audit/security-events.js';
import { findParticipation, type Participation } from '../consultation/participation.js';
import { authenticate, sessionOf } from '../identity/guard.js';
import { decryptStream } from '../kernel/envelope-stream.js';
import { AppError } from '../kernel/errors.js';
import type { Tx } from '../kernel/db.js';
import { contextOf } from '../kernel/http.js';
import type { Services } from '../services.js';
import { documentKeyContext, documentOwner, documentsOfConsultation, documentsOfPatient, fileNameContext, readDocument, summarise } from './documents.js';
import { contentDisposition, declaredMediaType, DOCUMENT_MEDIA_TYPES, parseFileName, servedContentType } from './media-types.js';
import { detachBody, fileDocument, storeEncrypted, UploadRefused, type UploadRefusalReason } from './upload.js';
import { topics } from '../consultation/hub.js';

const Uuid = Type.String({ format: 'uuid' });
const ConsultationParams = Type.Object({ consultationId: Uuid });
const DocumentParams = Type.Object({ documentId: Uuid });
const DownloadQuery = Type.Object({ purpose: Type.Optional(Type.Enum(['care', 'emergency'])) });
const PatientParams = Type.Object({ patientId: Uuid });
const PatientListQuery = Type.Object(
  // Query strings are not coerced (server.ts): numbers arrive as text.
  { purpose: Type.Optional(Type.Enum(['care', 'emergency'])), limit: Type.Optional(Type.String({ pattern: '^(?:[1-9]\\d?|100)$' })), offset: Type.Optional(Type.String({ pattern: '^\\d{1,6}$' })) },
  { additionalProperties: false },
);
const DocumentSummary = Type.Object({
  id: Uuid,
  consultationId: Type.Union([Uuid, Type.Null()]),
  fileName: Type.String(),
  mediaType: Type.String(),
  sizeBytes: Type.Integer(),
  createdAt: Type.String({ format: 'date-time' }),
  uploadedBy: Type.Union([Uuid, Type.Null()]),
});

/** What the client sent that we refuse, after the gate allowed the upload. */
type Refusal = UploadRefusalReason | 'invalid_file_name' | 'consultation_cancelled';

function refusalError(reason: Refusal, maxBytes: number): AppError {
  switch (reason) {
    case 'too_large': {
      const mb = Math.floor(maxBytes / (1024 * 1024));
      return new AppError('body_too_large', { fr: `Le fichier dépasse ${mb} Mo.`, en: `The file exceeds ${mb} MB.` }, { extra: { maxBytes } });
    }
    case 'type_mismatch':
      return new AppError('unsupported_media_type', {
        fr: 'Le contenu du fichier ne correspond pas à un type accepté (PDF, JPEG, PNG, WebP, HEIC, texte).',
        en: 'The file content does not match an accepted type (PDF, JPEG, PNG, WebP, HEIC, text).',
      }, { extra: { accepted: DOCUMENT_MEDIA_TYPES } });
    case 'empty':
      return new AppError('validation_failed', { fr: 'Le fichier est vide.', en: 'The file is empty.' });
    case 'invalid_file_name':
      return new AppError('validation_failed', {
        fr: 'En-tête X-File-Name manquant ou invalide (UTF-8 encodé en pourcent, 255 caractères au plus, sans / ni \\).',
        en: 'Missing or invalid X-File-Name header (percent-encoded UTF-8, at most 255 characters, no / or \\).',
      });
    case 'consultation_cancelled':
      return new AppError('conflict', { fr: 'La consultation est annulée.', en: 'The consultation is cancelled.' });
    case 'aborted':
      return new AppError('malformed_body', { fr: 'Envoi interrompu.', en: 'Upload interrupted.' });
  }
}

export function recordRoutes(app: FastifyInstance, services: Services): void {
  const { db, envelope, blobs, config } = services;
  const maxBytes = config.documents.maxBytes;

  /** A refusal traced on its own (no transaction of a change to join). Identifiers only, never the file name. */
  async function traceRefusal(request: FastifyRequest, outcome: 'denied' | 'failure', reason: string, ids: Record<string, string>): Promise<void> {
    await recordSecurityEvent(db, contextOf(request), { type: 'document.refused', outcome, actorUserId: sessionOf(request).userId, detail: { reason, ...ids } });
  }

  /**
   * One short transaction: is the caller a participant (a refusal is traced), then the gate's decision
   * about the consultation's patient (traced by the gate), then `work` if any (a read). Committed before
   * any error is thrown.
   */
  async function decideInConsultation<A extends 'record.read' | 'record.write', T = undefined>(
    request: FastifyRequest,
    consultationId: string,
    action: A,
    resource: { type: string; id: string },
    work?: (tx: Tx, decision: AllowedDecision<A>) => Promise<T>,
  ): Promise<{ participation: Participation; decision: AllowedDecision<A>; result: T | undefined }> {
    const session = sessionOf(request);
    const outcome = await db.transaction().execute(async (tx) => {
      const participation = await findParticipation(tx, consultationId, session.userId);
      if (!participation) {
        await recordSecurityEvent(tx, contextOf(request), { type: 'document.refused', outcome: 'denied', actorUserId: session.userId, detail: { reason: 'not_participant', consultationId, action } });
        return { error: new AppError('not_found') };
      }
      const decision = await decide(tx, {
        actor: { userId: session.userId, secondFactorVerified: session.secondFactorAt !== null },
        patientId: participation.consultation.patientId,
        action,
        purpose: participation.purpose,
        context: contextOf(request),
        now: new Date(services.now()),
        resource,
        detail: { consultationId },
      });
      if (!decision.allowed) return { error: denialError(decision) };
      return { participation, decision, result: work ? await work(tx, decision) : undefined };
    });
    if ('error' in outcome) throw outcome.error;
    return outcome;
  }

  app.register(async (scope) => {
    scope.addHook('preValidation', authenticate(services.sessions, config.session.secureCookies));

    // The upload route alone takes raw bodies, up to the document limit (the global limit stays 64 KiB).
    await scope.register(async (uploads) => {
      uploads.removeAllContentTypeParsers();
      const asStream = (_request: FastifyRequest, payload: Readable, done: (error: Error | null, body?: unknown) => void) => done(null, payload);
      uploads.addContentTypeParser([...DOCUMENT_MEDIA_TYPES], asStream);
      // Any other type reaches the handler too, so that its refusal (415) is traced like the others.
      uploads.addContentTypeParser('*', asStream);

      uploads.post(
        '/api/consultations/:consultationId/documents',
        {
          bodyLimit: maxBytes,
          schema: {
            tags: ['records'],
            summary: 'Upload a document (raw body, Content-Type = its media type, X-File-Name = its percent-encoded name)',
            params: ConsultationParams,
            response: { 201: DocumentSummary },
          },
        },
        async (request, reply) => uploadToConsultation(request, reply),
      );

      uploads.post(
        '/api/patients/:patientId/documents',
        {
          bodyLimit: maxBytes,
          schema: {
            tags: ['records'],
            summary: 'Import an external document into a patient’s record (raw body, Content-Type = its media type, X-File-Name = its percent-encoded name)',
            params: PatientParams,
            response: { 201: DocumentSummary },
          },
        },
        async (request, reply) => importToRecord(request, reply),
      );
    });

    scope.get(
      '/api/consultations/:consultationId/documents',
      { schema: { tags: ['records'], params: ConsultationParams, response: { 200: Type.Object({ documents: Type.Array(DocumentSummary) }) } } },
      async (request) => {
        const { consultationId } = request.params as { consultationId: string };
        const { result: documents = [] } = await decideInConsultation(request, consultationId, 'record.read', { type: 'consultation', id: consultationId }, (tx, decision) =>
          documentsOfConsultation(tx, decision, consultationId),
        );
        // File names are opened after the transaction: the key provider may be a remote service.
        return { documents: await Promise.all(documents.map((document) => summarise(envelope, document))) };
      },
    );

    scope.get(
      '/api/patients/:patientId/documents',
      { schema: { tags: ['records'], params: PatientParams, querystring: PatientListQuery, response: { 200: Type.Object({ total: Type.Integer(), documents: Type.Array(DocumentSummary) }) } } },
      async (request) => {
        const { patientId } = request.params as { patientId: string };
        const query = request.query as { purpose?: Purpose; limit?: string; offset?: string };
        const [purpose, limit, offset] = [query.purpose ?? 'care', Number(query.limit ?? 50), Number(query.offset ?? 0)];
        const input = askGate(request, new Date(services.now()), patientId, 'record.read', patientId === sessionOf(request).userId ? 'patient_self' : purpose, { resource: { type: 'patient_documents', id: patientId } });
        const found = await gatedRead(db, input, (tx, decision) => documentsOfPatient(tx, decision, { limit, offset }));
        return { total: found.total, documents: await Promise.all(found.documents.map((document) => summarise(envelope, document))) };
      },
    );

    scope.get(
      '/api/documents/:documentId',
      { schema: { tags: ['records'], summary: 'Download a document, decrypted', params: DocumentParams, querystring: DownloadQuery } },
      async (request, reply) => download(request, reply),
    );
  });

  /** Into a consultation: its participants, the gate asked about its patient. */
  function uploadToConsultation(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const { consultationId } = request.params as { consultationId: string };
    return upload(request, reply, { consultationId }, async (documentId) => {
      const { decision, participation } = await decideInConsultation(request, consultationId, 'record.write', { type: 'document', id: documentId });
      return { decision, cancelled: participation.consultation.status === 'cancelled' };
    });
  }

  /** Into a patient's record (an external document): whoever the gate lets write the record. */
  function importToRecord(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const { patientId } = request.params as { patientId: string };
    return upload(request, reply, { patientId }, async (documentId) => {
      const decision = await gatedDecision(request, patientId, 'record.write', 'care', { type: 'document', id: documentId }, { change: 'document.imported' });
      return { decision, cancelled: false };
    });
  }

  /** One traced decision, committed, in its own short transaction; a refusal thrown as the gate answers. */
  async function gatedDecision<A extends 'record.read' | 'record.write'>(request: FastifyRequest, patientId: string, action: A, purpose: Purpose, resource: { type: string; id: string }, detail?: Record<string, string>): Promise<AllowedDecision<A>> {
    const decision = await db.transaction().execute((tx) => decide(tx, { ...askGate(request, new Date(services.now()), patientId, action, patientId === sessionOf(request).userId ? 'patient_self' : purpose, { resource }), ...(detail ? { detail } : {}) }));
    if (!decision.allowed) throw denialError(decision);
    return decision;
  }

  async function upload(
    request: FastifyRequest,
    reply: FastifyReply,
    target: { consultationId?: string; patientId?: string },
    decideUpload: (documentId: string) => Promise<{ decision: AllowedDecision<'record.write'>; cancelled: boolean }>,
  ): Promise<FastifyReply> {
    const consultationId = target.consultationId ?? null;
    const documentId = randomUUID();
    const ids = { ...target, documentId } as Record<string, string>;
    const body = request.body instanceof Readable ? request.body : request.raw;
    const detached = detachBody(body);
    const refuse = async (reason: Refusal): Promise<never> => {
      detached.discardRest(4 * maxBytes);
      await traceRefusal(request, 'failure', reason, ids);
      throw refusalError(reason, maxBytes);
    };

    let allowed: { decision: AllowedDecision<'record.write'>; cancelled: boolean };
    try {
      allowed = await decideUpload(documentId);
    } catch (error) {
      detached.discardRest(4 * maxBytes);
      throw error;
    }
    const { decision } = allowed;
    if (allowed.cancelled) return refuse('consultation_cancelled');

    const mediaType = declaredMediaType(request.headers['content-type']);
    if (!mediaType) return refuse('type_mismatch');
    const fileName = parseFileName(request.headers['x-file-name']);
    if (fileName === null) return refuse('invalid_file_name');
    const declaredLength = Number(request.headers['content-length'] ?? 0);
    if (declaredLength > maxBytes) return refuse('too_large');

    let stored;
    try {
      stored = await storeEncrypted(blobs, envelope, detached.stream, { documentId, mediaType, maxBytes });
    } catch (error) {
      if (error instanceof UploadRefused) return refuse(error.reason);
      detached.discardRest(4 * maxBytes);
      await traceRefusal(request, 'failure', 'storage_failed', ids);
      throw error;
    }

    const now = new Date(services.now());
    try {
      await fileDocument(services, decision, { id: documentId, consultationId, fileName, mediaType, now }, stored);
    } catch (error) {
      await traceRefusal(request, 'failure', 'storage_failed', ids);
      throw error;
    }
    // The other participant's page lists documents again: an identifier only goes through the hub.
    if (consultationId) void services.hub.publish(topics.consultation(consultationId), { type: 'document', documentId });
    return reply.code(201).send({ id: documentId, consultationId, fileName, mediaType, sizeBytes: stored.sizeBytes, createdAt: now.toISOString(), uploadedBy: decision.actorId });
  }

  async function download(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const { documentId } = request.params as { documentId: string };
    const { purpose: asked } = request.query as { purpose?: 'care' | 'emergency' };
    const session = sessionOf(request);
    const outcome = await db.transaction().execute(async (tx) => {
      const patientId = await documentOwner(tx, documentId);
      if (!patientId) {
        await recordSecurityEvent(tx, contextOf(request), { type: 'document.refused', outcome: 'denied', actorUserId: session.userId, detail: { reason: 'unknown_document', documentId } });
        return { error: new AppError('not_found') };
      }
      const purpose: Purpose = patientId === session.userId ? 'patient_self' : (asked ?? 'care');
      const decision = await decide(tx, {
        actor: { userId: session.userId, secondFactorVerified: session.secondFactorAt !== null },
        patientId,
        action: 'record.read',
        purpose,
        context: contextOf(request),
        now: new Date(services.now()),
        resource: { type: 'document', id: documentId },
      });
      if (!decision.allowed) return { error: denialError(decision) };
      const document = await readDocument(tx, decision, documentId);
      return document ? { document } : { error: new AppError('not_found') };
    });
    if ('error' in outcome) throw outcome.error;
    const { document } = outcome;

    const key = await envelope.openDataKey(document.wrappedKey, documentKeyContext(document.id));
    const fileName = await envelope.openText(document.fileNameSealed, fileNameContext(document.id));
    const file = await blobs.openRead(document.storageKey);
    const plaintext = decryptStream(key, documentKeyContext(document.id));
    // A blob that fails to open mid-way (tampered, truncated) ends the response early: with the
    // Content-Length below, the client sees an incomplete body, never a forged one.
    pipeline(file, plaintext).catch((error: unknown) => request.log.error({ err: error, documentId }, 'document blob failed to decrypt'));
    return reply
      .header('content-type', servedContentType(document.mediaType))
      .header('content-length', String(document.sizeBytes))
      .header('content-disposition', contentDisposition(fileName))
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'no-store')
      .send(plaintext);
  }
}
