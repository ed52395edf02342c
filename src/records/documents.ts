// The documents repository: a patient's files (lab results, prescriptions, photos) sent during a
// consultation, or imported into the record by a professional (no consultation). Every function that reads or writes one takes the gate's allowed decision for that
// patient (DESIGN invariant 1); the row holds only the wrapped data key, the sealed file name and
// metadata, the bytes live encrypted in the blob store (invariant 3).
import { assertDecision, type AllowedDecision } from '../access/gate.js';
import type { Envelope } from '../kernel/envelope.js';
import { objectContext } from '../kernel/envelope.js';
import type { Queryable } from '../kernel/db.js';

/** The identity a document's data key and blob are bound to. */
export const documentKeyContext = (documentId: string) => objectContext('documents', documentId);
/** The identity of its sealed file name. */
export const fileNameContext = (documentId: string) => objectContext('documents', documentId, 'file_name_sealed');

export interface StoredDocument {
  id: string;
  patientId: string;
  consultationId: string | null;
  uploadedBy: string | null;
  fileNameSealed: string;
  mediaType: string;
  sizeBytes: number;
  wrappedKey: string;
  storageKey: string;
  createdAt: Date;
}

export interface DocumentSummary {
  id: string;
  /** Null for a document imported into the record outside any consultation. */
  consultationId: string | null;
  fileName: string;
  mediaType: string;
  sizeBytes: number;
  createdAt: string;
  uploadedBy: string | null;
}

export interface NewDocument {
  id: string;
  consultationId: string | null;
  fileNameSealed: string;
  mediaType: string;
  sizeBytes: number;
  wrappedKey: string;
  storageKey: string;
  now: Date;
}

const COLUMNS = ['id', 'patient_id', 'consultation_id', 'uploaded_by', 'file_name_sealed', 'media_type', 'size_bytes', 'wrapped_key', 'storage_key', 'created_at'] as const;

type Row = {
  id: string;
  patient_id: string;
  consultation_id: string | null;
  uploaded_by: string | null;
  file_name_sealed: string;
  media_type: string;
  size_bytes: string | number | bigint;
  wrapped_key: string;
  storage_key: string;
  created_at: Date;
};

function fromRow(row: Row): StoredDocument {
  return {
    id: row.id,
    patientId: row.patient_id,
    consultationId: row.consultation_id,
    uploadedBy: row.uploaded_by,
    fileNameSealed: row.file_name_sealed,
    mediaType: row.media_type,
    sizeBytes: Number(row.size_bytes),
    wrappedKey: row.wrapped_key,
    storageKey: row.storage_key,
    createdAt: row.created_at,
  };
}

/** Files the decision's patient's record: the uploader is the decision's actor. */
export async function insertDocument(q: Queryable, decision: AllowedDecision<'record.write'>, document: NewDocument): Promise<void> {
  assertDecision(decision, 'record.write');
  await q
    .insertInto('documents')
    .values({
      id: document.id,
      patient_id: decision.patientId,
      consultation_id: document.consultationId,
      uploaded_by: decision.actorId,
      file_name_sealed: document.fileNameSealed,
      media_type: document.mediaType,
      size_bytes: document.sizeBytes,
      wrapped_key: document.wrappedKey,
      storage_key: document.storageKey,
      created_at: document.now,
    })
    .execute();
}

/** The patient a document belongs to, so that the gate can be asked; nothing else is read. */
export async function documentOwner(q: Queryable, documentId: string): Promise<string | null> {
  const row = await q.selectFrom('documents').select('patient_id').where('id', '=', documentId).executeTakeFirst();
  return row?.patient_id ?? null;
}

export async function readDocument(q: Queryable, decision: AllowedDecision<'record.read'>, documentId: string): Promise<StoredDocument | null> {
  assertDecision(decision, 'record.read');
  const row = await q.selectFrom('documents').select(COLUMNS).where('id', '=', documentId).where('patient_id', '=', decision.patientId).executeTakeFirst();
  return row ? fromRow(row) : null;
}

export async function documentsOfConsultation(q: Queryable, decision: AllowedDecision<'record.read'>, consultationId: string): Promise<StoredDocument[]> {
  assertDecision(decision, 'record.read');
  const rows = await q
    .selectFrom('documents')
    .select(COLUMNS)
    .where('consultation_id', '=', consultationId)
    .where('patient_id', '=', decision.patientId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map(fromRow);
}

/** A patient's documents, newest first, within the bounds (FHIR search by date), one page. */
export async function documentsOfPatient(
  q: Queryable,
  decision: AllowedDecision<'record.read'>,
  filter: { id?: string; from?: Date | null; to?: Date | null; limit: number; offset: number },
): Promise<{ total: number; documents: StoredDocument[] }> {
  assertDecision(decision, 'record.read');
  let select = q.selectFrom('documents').where('patient_id', '=', decision.patientId);
  if (filter.id) select = select.where('id', '=', filter.id);
  if (filter.from) select = select.where('created_at', '>=', filter.from);
  if (filter.to) select = select.where('created_at', '<', filter.to);
  const { n } = await select.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  const rows = await select.select(COLUMNS).orderBy('created_at', 'desc').orderBy('id').limit(filter.limit).offset(filter.offset).execute();
  return { total: Number(n), documents: rows.map(fromRow) };
}

/** The answer's shape, file name opened (after the transaction: the key provider may be remote). */
export async function summarise(envelope: Envelope, document: StoredDocument): Promise<DocumentSummary> {
  return {
    id: document.id,
    consultationId: document.consultationId,
    fileName: await envelope.openText(document.fileNameSealed, fileNameContext(document.id)),
    mediaType: document.mediaType,
    sizeBytes: document.sizeBytes,
    createdAt: document.createdAt.toISOString(),
    uploadedBy: document.uploadedBy,
  };
}
