// Envelope encryption: data keys wrapped by a key ring, sealed text, the STREAM construction over
// 64 KiB chunks (tampering, reordering, truncation, extension, wrong context), and key rotation.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { addMasterKeyToFile, Envelope, instanceKeyId, IntegrityError, keyIdOf, KeyRing, loadKeyRing, objectContext } from './envelope.js';
import { decryptStream, encryptedSize, encryptStream, STREAM_HEADER_BYTES } from './envelope-stream.js';

const CHUNK = 64 * 1024;
const SEALED_CHUNK = CHUNK + 16;

function ring(...ids: string[]): { ring: KeyRing; keys: { id: string; key: Buffer }[] } {
  const keys = ids.map((id) => ({ id, key: randomBytes(32) }));
  return { ring: new KeyRing(keys), keys };
}

/** Feeds `data` in pieces of `pieceBytes` (not aligned with chunks) and collects the output. */
async function run(transform: NodeJS.ReadWriteStream, data: Buffer, pieceBytes = 10_000): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += pieceBytes) pieces.push(data.subarray(offset, offset + pieceBytes));
  const out: Buffer[] = [];
  const source = Readable.from(pieces);
  source.pipe(transform as NodeJS.WritableStream);
  for await (const chunk of transform as AsyncIterable<Buffer>) out.push(chunk);
  return Buffer.concat(out);
}

const encrypt = (key: Buffer, data: Buffer, context = 'documents/1') => run(encryptStream(key, context), data);
const decrypt = (key: Buffer, data: Buffer, context = 'documents/1') => run(decryptStream(key, context), data, 7_777);

describe('data keys', () => {
  it('wraps under the current master key and unwraps with the same context only', async () => {
    const { ring: keys } = ring('old', 'new');
    const envelope = new Envelope(keys);
    const { key, wrapped } = await envelope.newDataKey('documents/a');
    expect(key).toHaveLength(32);
    expect(keyIdOf(wrapped)).toBe('new');
    expect(wrapped).not.toContain(key.toString('base64url'));
    expect(await envelope.openDataKey(wrapped, 'documents/a')).toEqual(key);
    await expect(envelope.openDataKey(wrapped, 'documents/b')).rejects.toBeInstanceOf(IntegrityError);
    const tampered = wrapped.slice(0, -2) + (wrapped.endsWith('A') ? 'BA' : 'AA');
    await expect(envelope.openDataKey(tampered, 'documents/a')).rejects.toBeInstanceOf(IntegrityError);
    await expect(envelope.openDataKey(wrapped.replace('k1.new.', 'k1.old.'), 'documents/a')).rejects.toBeInstanceOf(IntegrityError);
  });

  it('refuses a key id it does not hold, and a ring whose current key is missing', async () => {
    const a = ring('a').ring;
    const b = ring('b').ring;
    const wrapped = await a.wrap(randomBytes(32), 'x');
    await expect(b.unwrap(wrapped, 'x')).rejects.toThrow(/not in the key ring/);
    expect(() => new KeyRing([{ id: 'a', key: randomBytes(32) }], 'b')).toThrow(/not in the key ring/);
    expect(() => new KeyRing([{ id: 'a', key: randomBytes(32) }, { id: 'a', key: randomBytes(32) }])).toThrow(/share the id/);
  });
});

describe('sealed text', () => {
  it('round-trips Unicode with a data key of its own, bound to its context', async () => {
    const envelope = new Envelope(ring('k').ring);
    const text = 'Éruption cutanée depuis 3 jours — photo jointe 📷';
    const context = objectContext('consultation_messages', 'm1', 'body');
    const sealed = await envelope.sealText(text, context);
    const again = await envelope.sealText(text, context);
    expect(sealed).not.toBe(again);
    expect(sealed).toMatch(/^s1:k1\.k\.[\w-]+:[\w-]+$/);
    expect(sealed).not.toContain('ruption');
    expect(await envelope.openText(sealed, context)).toBe(text);
    await expect(envelope.openText(sealed, objectContext('consultation_messages', 'm2', 'body'))).rejects.toBeInstanceOf(IntegrityError);
    const body = sealed.split(':')[2]!;
    const flipped = Buffer.from(body, 'base64url');
    flipped[20]! ^= 1;
    await expect(envelope.openText(sealed.replace(body, flipped.toString('base64url')), context)).rejects.toBeInstanceOf(IntegrityError);
    expect(await envelope.openText(await envelope.sealText('', context), context)).toBe('');
  });
});

describe('streaming encryption (STREAM, 64 KiB chunks)', () => {
  const key = randomBytes(32);

  it.each([0, 1, 1000, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 12_345])('round-trips %i bytes', async (size) => {
    const data = randomBytes(size);
    const sealed = await encrypt(key, data);
    expect(sealed.length).toBe(encryptedSize(size));
    // Buffer.equals: toEqual compares byte by byte through the matcher, slowly.
    expect((await decrypt(key, sealed)).equals(data)).toBe(true);
  });

  it('does not contain the plaintext', async () => {
    const marker = Buffer.from('MARKER-lab-result-glycemie-7.2-mmol');
    const data = Buffer.concat([randomBytes(100_000), marker, randomBytes(100_000)]);
    const sealed = await encrypt(key, data);
    expect(sealed.includes(marker)).toBe(false);
  });

  const sealedChunks = async () => {
    const data = randomBytes(3 * CHUNK + 500);
    const sealed = await encrypt(key, data);
    const header = sealed.subarray(0, STREAM_HEADER_BYTES);
    const chunks = [0, 1, 2, 3].map((i) => sealed.subarray(STREAM_HEADER_BYTES + i * SEALED_CHUNK, STREAM_HEADER_BYTES + (i + 1) * SEALED_CHUNK));
    return { data, sealed, header, chunks };
  };

  it('detects a tampered chunk, header or tag', async () => {
    const { sealed } = await sealedChunks();
    for (const offset of [3, STREAM_HEADER_BYTES + 5, STREAM_HEADER_BYTES + SEALED_CHUNK + 100, sealed.length - 1]) {
      const copy = Buffer.from(sealed);
      copy[offset]! ^= 0x40;
      await expect(decrypt(key, copy), `offset ${offset}`).rejects.toBeInstanceOf(IntegrityError);
    }
  });

  it('detects reordered chunks', async () => {
    const { header, chunks } = await sealedChunks();
    await expect(decrypt(key, Buffer.concat([header, chunks[1]!, chunks[0]!, chunks[2]!, chunks[3]!]))).rejects.toBeInstanceOf(IntegrityError);
  });

  it('detects truncation, at a chunk boundary or inside a chunk', async () => {
    const { header, chunks, sealed } = await sealedChunks();
    await expect(decrypt(key, Buffer.concat([header, chunks[0]!, chunks[1]!]))).rejects.toBeInstanceOf(IntegrityError);
    await expect(decrypt(key, sealed.subarray(0, sealed.length - 100))).rejects.toBeInstanceOf(IntegrityError);
    await expect(decrypt(key, header)).rejects.toBeInstanceOf(IntegrityError);
    await expect(decrypt(key, header.subarray(0, 10))).rejects.toBeInstanceOf(IntegrityError);
  });

  it('detects appended chunks, from this stream or another one', async () => {
    const { sealed, chunks } = await sealedChunks();
    await expect(decrypt(key, Buffer.concat([sealed, chunks[1]!]))).rejects.toBeInstanceOf(IntegrityError);
    // A whole chunk-aligned stream, then data: its full last chunk was sealed as last.
    const aligned = await encrypt(key, randomBytes(2 * CHUNK));
    await expect(decrypt(key, Buffer.concat([aligned, aligned.subarray(STREAM_HEADER_BYTES, STREAM_HEADER_BYTES + SEALED_CHUNK)]))).rejects.toBeInstanceOf(IntegrityError);
  });

  it('refuses the wrong context or the wrong key', async () => {
    const { sealed } = await sealedChunks();
    await expect(decrypt(key, sealed, 'documents/2')).rejects.toBeInstanceOf(IntegrityError);
    await expect(decrypt(randomBytes(32), sealed)).rejects.toBeInstanceOf(IntegrityError);
  });

  it('releases no plaintext of a chunk whose tag fails', async () => {
    const { sealed } = await sealedChunks();
    const copy = Buffer.from(sealed);
    copy[STREAM_HEADER_BYTES + 10]! ^= 1; // first chunk
    const received: Buffer[] = [];
    const stream = decryptStream(key, 'documents/1');
    stream.on('data', (chunk: Buffer) => received.push(chunk));
    const failed = new Promise((resolve) => stream.on('error', resolve));
    stream.end(copy);
    expect(await failed).toBeInstanceOf(IntegrityError);
    expect(received).toHaveLength(0);
  });
});

describe('rotation', () => {
  it('the old key unwraps, the new one wraps; after re-wrapping the old key can go', async () => {
    const old = { id: 'old', key: randomBytes(32) };
    const fresh = { id: 'new', key: randomBytes(32) };
    const before = new Envelope(new KeyRing([old]));
    const { key: dataKey, wrapped } = await before.newDataKey('documents/d1');
    const blob = await encrypt(dataKey, Buffer.from('compte rendu'), 'documents/d1');
    const sealed = await before.sealText('ordonnance', 'consultation_reports/c1/body');

    const during = new Envelope(new KeyRing([old, fresh]));
    expect(await during.openText(sealed, 'consultation_reports/c1/body')).toBe('ordonnance');
    expect(keyIdOf(await during.sealText('x', 'c'))).toBe('new');
    const rewrapped = await during.rewrapKey(wrapped, 'documents/d1');
    const resealed = await during.rewrapSealed(sealed, 'consultation_reports/c1/body');
    expect([keyIdOf(rewrapped), keyIdOf(resealed)]).toEqual(['new', 'new']);
    // The ciphertext is untouched: only the wrapped key changed.
    expect(resealed.split(':')[2]).toBe(sealed.split(':')[2]);
    expect(await during.rewrapKey(rewrapped, 'documents/d1')).toBe(rewrapped);

    const after = new Envelope(new KeyRing([fresh]));
    await expect(after.openDataKey(wrapped, 'documents/d1')).rejects.toThrow(/not in the key ring/);
    const reopened = await after.openDataKey(rewrapped, 'documents/d1');
    expect((await decrypt(reopened, blob, 'documents/d1')).toString()).toBe('compte rendu');
    expect(await after.openText(resealed, 'consultation_reports/c1/body')).toBe('ordonnance');
  });

  it('loads the instance key, MASTER_KEYS and DATA_DIR/master-keys; picks up keys added to the file later', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'ausculta-keys-'));
    try {
      const envKey = randomBytes(32);
      const settings = { masterKey: null, masterKeys: [{ id: 'env-1', key: envKey.toString('base64') }], masterKeyId: null, dataDir };
      const first = await loadKeyRing(settings);
      const instance = Buffer.from((await readFile(join(dataDir, 'master.key'), 'utf8')).trim(), 'base64');
      expect(first.keyIds()).toEqual([instanceKeyId(instance), 'env-1']);
      expect(first.currentKeyId).toBe('env-1');

      const added = await addMasterKeyToFile(dataDir, new Date('2026-11-25T10:00:00Z'));
      expect(added).toMatch(/^2026-11-25-[0-9a-f]{6}$/);
      expect((await stat(join(dataDir, 'master-keys'))).mode & 0o777).toBe(0o600);
      const second = await loadKeyRing(settings);
      expect(second.currentKeyId).toBe(added);
      const wrapped = await second.wrap(randomBytes(32), 'c');
      // A process started before the key was added learns it from the file when it meets it.
      expect(await first.unwrap(wrapped, 'c')).toHaveLength(32);
      expect(first.currentKeyId).toBe('env-1');

      const pinned = await loadKeyRing({ ...settings, masterKeyId: 'env-1' });
      expect(pinned.currentKeyId).toBe('env-1');
      await writeFile(join(dataDir, 'master-keys'), 'not a key\n');
      await expect(loadKeyRing(settings)).rejects.toThrow(/line 1/);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
