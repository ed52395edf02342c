// Streaming authenticated encryption of large objects (documents) with one data key, in constant
// memory: the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár, "Online Authenticated-Encryption
// and its Nonce-Reuse Misuse-Resistance", 2015), as used by age and Tink's streaming AEAD.
//
//   header  = "AUSCSTR1" ‖ chunk size (u32 BE) ‖ nonce prefix (7 random bytes)           19 bytes
//   chunk i = AES-256-GCM(data key, nonce = prefix ‖ i (u32 BE) ‖ last (1 byte: 0 or 1),
//                         aad = header ‖ context, plaintext[i·size … (i+1)·size)) ‖ tag   size + 16 bytes
//
// The last chunk (possibly empty) carries last = 1. A reordered chunk fails (its counter is in its
// nonce), a truncated stream fails (the chunk now last was sealed with last = 0), an appended one fails
// (the old last chunk was sealed with last = 1), and a blob moved to another object fails (context).
// Decryption releases a chunk's plaintext only after its tag checked; a stream cut short errors at
// its end, so a consumer must treat an errored stream as void.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { DATA_KEY_BYTES, IntegrityError } from './envelope.js';

export const DEFAULT_CHUNK_BYTES = 64 * 1024; // 64 KiB
const MAGIC = Buffer.from('AUSCSTR1', 'latin1');
const PREFIX_BYTES = 7;
export const STREAM_HEADER_BYTES = MAGIC.length + 4 + PREFIX_BYTES;
const TAG_BYTES = 16;
/** Chunk sizes a reader accepts: bounds the memory a crafted header can ask for. */
const MIN_CHUNK_BYTES = 1024;
const MAX_CHUNK_BYTES = 4 * 1024 * 1024;
const MAX_CHUNKS = 2 ** 32;
/**
 * Buffered on each side of the transforms: a few chunks, so that reading, encrypting and writing overlap
 * (Node's 16 KiB default stops the source after every 64 KiB chunk). Memory stays bounded by it.
 */
export const STREAM_BUFFER_BYTES = 256 * 1024;

/** Ciphertext size of `plaintextBytes` (header, one tag per chunk, at least one chunk). */
export function encryptedSize(plaintextBytes: number, chunkBytes = DEFAULT_CHUNK_BYTES): number {
  const chunks = Math.max(1, Math.ceil(plaintextBytes / chunkBytes));
  return STREAM_HEADER_BYTES + plaintextBytes + chunks * TAG_BYTES;
}

function nonceFor(prefix: Buffer, counter: number, last: boolean): Buffer {
  const nonce = Buffer.alloc(12);
  prefix.copy(nonce, 0);
  nonce.writeUInt32BE(counter, PREFIX_BYTES);
  nonce[11] = last ? 1 : 0;
  return nonce;
}

function checkKey(dataKey: Buffer): void {
  if (dataKey.length !== DATA_KEY_BYTES) throw new Error('a data key is 32 bytes');
}

/** Bytes queued between chunk boundaries, kept as the pieces that arrived (no copy until needed). */
class Pending {
  pieces: Buffer[] = [];
  bytes = 0;

  add(piece: Buffer): void {
    if (piece.length === 0) return;
    this.pieces.push(piece);
    this.bytes += piece.length;
  }

  /** Calls `each` on the next `length` bytes, piece by piece, and drops them. */
  take(length: number, each: (piece: Buffer) => void): void {
    let remaining = length;
    while (remaining > 0) {
      const piece = this.pieces[0]!;
      if (piece.length <= remaining) {
        this.pieces.shift();
        each(piece);
        remaining -= piece.length;
      } else {
        each(piece.subarray(0, remaining));
        this.pieces[0] = piece.subarray(remaining);
        remaining = 0;
      }
    }
    this.bytes -= length;
  }

  takeBuffer(length: number): Buffer {
    const parts: Buffer[] = [];
    this.take(length, (piece) => parts.push(piece));
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, length);
  }
}

class StreamEncrypter extends Transform {
  readonly #key: Buffer;
  readonly #chunkBytes: number;
  readonly #prefix = randomBytes(PREFIX_BYTES);
  readonly #header: Buffer;
  readonly #aad: Buffer;
  readonly #pending = new Pending();
  #counter = 0;

  constructor(dataKey: Buffer, context: string, chunkBytes: number) {
    super({ readableHighWaterMark: STREAM_BUFFER_BYTES, writableHighWaterMark: STREAM_BUFFER_BYTES });
    checkKey(dataKey);
    if (!Number.isInteger(chunkBytes) || chunkBytes < MIN_CHUNK_BYTES || chunkBytes > MAX_CHUNK_BYTES) throw new Error('invalid chunk size');
    this.#key = dataKey;
    this.#chunkBytes = chunkBytes;
    const size = Buffer.alloc(4);
    size.writeUInt32BE(chunkBytes);
    this.#header = Buffer.concat([MAGIC, size, this.#prefix]);
    this.#aad = Buffer.concat([this.#header, Buffer.from(context, 'utf8')]);
    this.push(this.#header);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#pending.add(chunk);
    // A full chunk is sealed only once more data follows: until then it may be the last one.
    try {
      while (this.#pending.bytes > this.#chunkBytes) this.#seal(this.#chunkBytes, false);
    } catch (error) {
      done(error as Error);
      return;
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    try {
      this.#seal(this.#pending.bytes, true);
    } catch (error) {
      done(error as Error);
      return;
    }
    done();
  }

  #seal(length: number, last: boolean): void {
    if (this.#counter >= MAX_CHUNKS) throw new Error('object too large for one data key');
    const cipher = createCipheriv('aes-256-gcm', this.#key, nonceFor(this.#prefix, this.#counter, last));
    cipher.setAAD(this.#aad);
    // Pushed as produced, not concatenated: a copy of every chunk costs as much as a third of AES-GCM.
    this.#pending.take(length, (piece) => this.push(cipher.update(piece)));
    const final = cipher.final();
    if (final.length > 0) this.push(final);
    this.push(cipher.getAuthTag());
    this.#counter += 1;
  }
}

class StreamDecrypter extends Transform {
  readonly #key: Buffer;
  readonly #context: Buffer;
  readonly #pending = new Pending();
  #prefix: Buffer | null = null;
  #aad: Buffer | null = null;
  #sealedChunkBytes = 0;
  #counter = 0;

  constructor(dataKey: Buffer, context: string) {
    super({ readableHighWaterMark: STREAM_BUFFER_BYTES, writableHighWaterMark: STREAM_BUFFER_BYTES });
    checkKey(dataKey);
    this.#key = dataKey;
    this.#context = Buffer.from(context, 'utf8');
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#pending.add(chunk);
    try {
      if (!this.#prefix && this.#pending.bytes >= STREAM_HEADER_BYTES) this.#readHeader();
      // A sealed chunk is opened once more data follows: until then it may be the last one.
      while (this.#prefix && this.#pending.bytes > this.#sealedChunkBytes) this.#open(this.#sealedChunkBytes, false);
    } catch (error) {
      done(error as Error);
      return;
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    try {
      if (!this.#prefix) throw new IntegrityError('encrypted stream truncated (no header)');
      if (this.#pending.bytes < TAG_BYTES) throw new IntegrityError('encrypted stream truncated');
      this.#open(this.#pending.bytes, true);
    } catch (error) {
      done(error as Error);
      return;
    }
    done();
  }

  #readHeader(): void {
    const header = this.#pending.takeBuffer(STREAM_HEADER_BYTES);
    if (!header.subarray(0, MAGIC.length).equals(MAGIC)) throw new IntegrityError('not an encrypted stream (bad magic)');
    const chunkBytes = header.readUInt32BE(MAGIC.length);
    if (chunkBytes < MIN_CHUNK_BYTES || chunkBytes > MAX_CHUNK_BYTES) throw new IntegrityError('encrypted stream header names an invalid chunk size');
    this.#sealedChunkBytes = chunkBytes + TAG_BYTES;
    this.#prefix = Buffer.from(header.subarray(MAGIC.length + 4));
    this.#aad = Buffer.concat([header, this.#context]);
  }

  #open(length: number, last: boolean): void {
    if (this.#counter >= MAX_CHUNKS) throw new IntegrityError('encrypted stream too long');
    const decipher = createDecipheriv('aes-256-gcm', this.#key, nonceFor(this.#prefix!, this.#counter, last));
    decipher.setAAD(this.#aad!);
    // Held back until the tag checks: no unauthenticated plaintext leaves this stream.
    const parts: Buffer[] = [];
    this.#pending.take(length - TAG_BYTES, (piece) => parts.push(decipher.update(piece)));
    decipher.setAuthTag(this.#pending.takeBuffer(TAG_BYTES));
    try {
      parts.push(decipher.final());
    } catch {
      throw new IntegrityError('encrypted stream corrupt, reordered, truncated or extended, or wrong key or context');
    }
    for (const part of parts) if (part.length > 0) this.push(part);
    this.#counter += 1;
  }
}

/** Plaintext in, header and sealed chunks out. */
export function encryptStream(dataKey: Buffer, context: string, chunkBytes = DEFAULT_CHUNK_BYTES): Transform {
  return new StreamEncrypter(dataKey, context, chunkBytes);
}

/** Header and sealed chunks in, authenticated plaintext out; errors with IntegrityError otherwise. */
export function decryptStream(dataKey: Buffer, context: string): Transform {
  return new StreamDecrypter(dataKey, context);
}
