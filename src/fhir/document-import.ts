// DocumentReference create: other software files a document (PDF, image, text) into a patient's record,
// the bytes inline (`content[0].attachment.data`, base64; at most INLINE_MAX_BYTES, as the whole body is
// held in memory, three times over while it is parsed and decoded). It lands where the app's import puts it:
// encrypted under its own data key, its name sealed, its type checked against its first bytes.
import { Readable } from 'node:stream';
import type { AllowedDecision } from '../access/gate.js';
import { recordSecurityEvent, type RequestContext } from '../audit/security-events.js';
import type { StoredDocument } from '../records/documents.js';
import { DOCUMENT_MEDIA_TYPES, parseFileName, type DocumentMediaType } from '../records/media-types.js';
import { fileDocument, storeEncrypted, UploadRefused } from '../records/upload.js';
import type { Services } from '../services.js';
import { FhirError } from './search.js';

export interface IncomingDocument {
  patientId: string;
  mediaType: DocumentMediaType;
  fileName: string;
  bytes: Buffer;
}

/** Inline documents stay small: larger files go through the streaming import (POST /api/patients/:id/documents). */
export const INLINE_MAX_BYTES = 10 * 1024 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const unprocessable = (message: string) => new FhirError(422, 'invalid', message);

export function documentFromFhir(body: unknown, maxBytes: number): IncomingDocument {
  const resource = body as Record<string, unknown> | null;
  if (typeof resource !== 'object' || resource === null || resource['resourceType'] !== 'DocumentReference') throw new FhirError(400, 'invalid', 'the body must be a DocumentReference');
  if (resource['status'] !== undefined && resource['status'] !== 'current') throw unprocessable('status must be "current"');
  const reference = (resource['subject'] as { reference?: unknown } | undefined)?.reference;
  const patientId = typeof reference === 'string' ? reference.replace(/^Patient\//, '') : '';
  if (typeof reference !== 'string' || !reference.startsWith('Patient/') || !UUID.test(patientId)) throw unprocessable('subject must reference a Patient of this server (Patient/<id>)');
  const content = resource['content'];
  if (!Array.isArray(content) || content.length !== 1) throw unprocessable('content must hold exactly one attachment');
  const attachment = (content[0] as { attachment?: Record<string, unknown> } | null)?.attachment;
  if (typeof attachment !== 'object' || attachment === null) throw unprocessable('content[0].attachment is required');
  const contentType = attachment['contentType'];
  if (typeof contentType !== 'string' || !(DOCUMENT_MEDIA_TYPES as readonly string[]).includes(contentType)) {
    throw new FhirError(415, 'not-supported', `attachment.contentType must be one of ${DOCUMENT_MEDIA_TYPES.join(', ')}`);
  }
  if (attachment['url'] !== undefined) throw unprocessable('attachment.url is not fetched: send the bytes in attachment.data');
  const data = attachment['data'];
  if (typeof data !== 'string' || data.length === 0 || data.length % 4 !== 0 || !BASE64.test(data)) throw unprocessable('attachment.data must be the document in base64');
  const bytes = Buffer.from(data, 'base64');
  if (bytes.length > maxBytes) throw new FhirError(413, 'too-costly', `the document exceeds ${Math.floor(maxBytes / (1024 * 1024))} MB`);
  const title = attachment['title'] ?? 'document';
  let fileName: string | null = null;
  try {
    fileName = typeof title === 'string' ? parseFileName(encodeURIComponent(title)) : null;
  } catch {
    // A lone surrogate (valid JSON, not a string we can store): refused below like any bad name.
  }
  if (fileName === null) throw unprocessable('attachment.title must be a file name (at most 255 characters, no / or \\ or control characters)');
  return { patientId, mediaType: contentType as DocumentMediaType, fileName, bytes };
}

/**
 * Stores an allowed import: the bytes through the upload's checks and encryption, then the row in its
 * own transaction. A refused content or a failed write leaves no blob behind and is traced.
 */
export async function importDocument(
  services: Services,
  decision: AllowedDecision<'record.write'>,
  id: string,
  incoming: IncomingDocument,
  now: Date,
  context: RequestContext,
  via: Record<string, string>,
): Promise<StoredDocument> {
  const { db, blobs, envelope } = services;
  const refused = async (reason: string) => recordSecurityEvent(db, context, { type: 'document.refused', outcome: 'failure', actorUserId: decision.actorId, detail: { reason, documentId: id, patientId: decision.patientId, ...via } });
  let stored;
  try {
    stored = await storeEncrypted(blobs, envelope, Readable.from([incoming.bytes]), { documentId: id, mediaType: incoming.mediaType, maxBytes: services.config.documents.maxBytes });
  } catch (error) {
    if (!(error instanceof UploadRefused)) {
      await refused('storage_failed');
      throw error;
    }
    await refused(error.reason);
    if (error.reason === 'type_mismatch') throw new FhirError(415, 'not-supported', `the bytes are not a ${incoming.mediaType} document`);
    throw unprocessable(error.reason === 'empty' ? 'the document is empty' : `the document was refused (${error.reason})`);
  }
  let document;
  try {
    document = await fileDocument(services, decision, { id, consultationId: null, fileName: incoming.fileName, mediaType: incoming.mediaType, now }, stored);
  } catch (error) {
    await refused('storage_failed');
    throw error;
  }
  return { ...document, patientId: decision.patientId, uploadedBy: decision.actorId, createdAt: now };
}
