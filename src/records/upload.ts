// An upload streamed from the request to an encrypted blob, in constant memory: the body is checked
// (size limit, magic bytes of its first bytes against the declared type) on the way, encrypted in
// 64 KiB STREAM chunks under a fresh data key, and written to a temporary file renamed into place only
// when everything succeeded. Any refusal or abort leaves no file behind.
import type { IncomingMessage } from 'node:http';
import { PassThrough, Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { encryptStream, STREAM_BUFFER_BYTES } from '../kernel/envelope-stream.js';
import type { AllowedDecision } from '../access/gate.js';
import type { Db } from '../kernel/db.js';
import type { Envelope } from '../kernel/envelope.js';
import type { BlobStore } from './blobs.js';
import { documentKeyContext, fileNameContext, insertDocument, type NewDocument } from './documents.js';
import { matchesSignature, SNIFF_BYTES, type DocumentMediaType } from './media-types.js';

export type UploadRefusalReason = 'too_large' | 'type_mismatch' | 'empty' | 'aborted';

export class UploadRefused extends Error {
  constructor(readonly reason: UploadRefusalReason) {
    super(`upload refused: ${reason}`);
  }
}

/** Counts and sniffs the plaintext on its way to encryption. */
class ContentGuard extends Transform {
  #bytes = 0;
  #head: Buffer[] = [];
  #headBytes = 0;
  #sniffed = false;

  constructor(
    readonly mediaType: DocumentMediaType,
    readonly maxBytes: number,
  ) {
    super({ readableHighWaterMark: STREAM_BUFFER_BYTES, writableHighWaterMark: STREAM_BUFFER_BYTES });
  }

  get bytes(): number {
    return this.#bytes;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#bytes += chunk.length;
    if (this.#bytes > this.maxBytes) return done(new UploadRefused('too_large'));
    if (this.#sniffed) return done(null, chunk);
    this.#head.push(chunk);
    this.#headBytes += chunk.length;
    done(this.#headBytes >= SNIFF_BYTES ? this.#sniff() : null);
  }

  override _flush(done: TransformCallback): void {
    if (this.#bytes === 0) return done(new UploadRefused('empty'));
    done(this.#sniffed ? null : this.#sniff());
  }

  #sniff(): UploadRefused | null {
    const head = Buffer.concat(this.#head, this.#headBytes);
    this.#head = [];
    if (!matchesSignature(this.mediaType, head.subarray(0, SNIFF_BYTES))) return new UploadRefused('type_mismatch');
    this.#sniffed = true;
    this.push(head);
    return null;
  }
}

export interface DetachedBody {
  /** The body's bytes; errors with UploadRefused('aborted') if the client goes away mid-way. */
  stream: Readable;
  /**
   * After a refusal: stop reading into `stream` and discard what the client still sends, so that it
   * can read our answer; past `limit` more bytes the connection is cut.
   */
  discardRest(limit: number): void;
}

/**
 * The request body behind a stream of our own: a refused upload destroys that stream, never the
 * request (destroying the request would reset the socket before the 413/415 reaches the client).
 */
export function detachBody(body: IncomingMessage | Readable): DetachedBody {
  const stream = new PassThrough({ highWaterMark: STREAM_BUFFER_BYTES });
  const onError = () => stream.destroy(new UploadRefused('aborted'));
  const onClose = () => {
    if (!body.readableEnded) stream.destroy(new UploadRefused('aborted'));
  };
  body.on('error', onError);
  body.on('close', onClose);
  body.pipe(stream);
  return {
    stream,
    discardRest(limit) {
      body.off('close', onClose);
      body.off('error', onError);
      body.on('error', () => undefined);
      body.unpipe(stream);
      if (body.readableEnded || body.destroyed) return;
      let discarded = 0;
      body.on('data', (chunk: Buffer) => {
        discarded += chunk.length;
        if (discarded > limit) body.destroy();
      });
      body.resume();
    },
  };
}

export interface StoredBlob {
  storageKey: string;
  wrappedKey: string;
  sizeBytes: number;
}

/** Streams `source` through the checks and encryption into a new blob; throws UploadRefused when refused. */
export async function storeEncrypted(
  blobs: BlobStore,
  envelope: Envelope,
  source: Readable,
  upload: { documentId: string; mediaType: DocumentMediaType; maxBytes: number },
): Promise<StoredBlob> {
  const context = documentKeyContext(upload.documentId);
  const { key, wrapped } = await envelope.newDataKey(context);
  const storageKey = blobs.newKey();
  const guard = new ContentGuard(upload.mediaType, upload.maxBytes);
  await blobs.write(storageKey, (file) => pipeline(source, guard, encryptStream(key, context), file));
  return { storageKey, wrappedKey: wrapped, sizeBytes: guard.bytes };
}

/**
 * Files a stored blob into the decision's patient's record: its name sealed, its row inserted in a
 * transaction of its own. A failed write removes the blob (nothing left behind) and throws; the caller
 * traces the failure. Returns the row as inserted.
 */
export async function fileDocument(
  services: { db: Db; blobs: BlobStore; envelope: Envelope },
  decision: AllowedDecision<'record.write'>,
  document: { id: string; consultationId: string | null; fileName: string; mediaType: DocumentMediaType; now: Date },
  stored: StoredBlob,
): Promise<NewDocument> {
  try {
    const fileNameSealed = await services.envelope.sealText(document.fileName, fileNameContext(document.id));
    const row: NewDocument = { id: document.id, consultationId: document.consultationId, fileNameSealed, mediaType: document.mediaType, ...stored, now: document.now };
    await services.db.transaction().execute((tx) => insertDocument(tx, decision, row));
    return row;
  } catch (error) {
    await services.blobs.remove(stored.storageKey);
    throw error;
  }
}
