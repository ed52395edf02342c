// Envelope encryption (DESIGN invariant 3). Every document and every piece of clinical free text has a
// data key of its own (random, AES-256-GCM), stored beside it *wrapped* by a master key from a key
// provider; the master keys never encrypt data themselves. Rotating a master key re-wraps the small
// wrapped keys and leaves every ciphertext (blobs on disk, sealed columns) untouched.
//
// Formats (base64url parts; the object's identity, `context`, is authenticated data and never stored):
//   wrapped data key  k1.<masterKeyId>.<iv ‖ AES-256-GCM(master key, data key) ‖ tag>
//   sealed text       s1:<wrapped data key>:<iv ‖ AES-256-GCM(data key, UTF-8 text) ‖ tag>
// Large objects are encrypted as a stream of chunks with the same data key: see envelope-stream.ts.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from './config.js';
import { loadMasterKey } from './crypto.js';

export const DATA_KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
const WRAPPED_PREFIX = 'k1';
const SEALED_PREFIX = 's1';

/** Ciphertext that does not open: wrong key or context, tampered, reordered, truncated or extended. */
export class IntegrityError extends Error {
  readonly code = 'ENVELOPE_INTEGRITY';
}

/**
 * Where master keys live. Small on purpose: a KMS or Vault transit engine implements it with its own
 * wrap/unwrap calls, and the master keys never leave it.
 */
export interface KeyProvider {
  /** The master key that wraps new data keys. */
  readonly currentKeyId: string;
  /** Wraps a data key under the current master key, bound to `context` (the object's identity). */
  wrap(dataKey: Buffer, context: string): Promise<string>;
  /** Any master key of the provider unwraps; a wrong context, a tampered string or an unknown key throws. */
  unwrap(wrapped: string, context: string): Promise<Buffer>;
}

export interface MasterKey {
  id: string;
  key: Buffer;
}

function wrapAad(keyId: string, context: string): Buffer {
  return Buffer.from(`ausculta/data-key/v1\0${keyId}\0${context}`, 'utf8');
}

function gcmSeal(key: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  return Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

function gcmOpen(key: Buffer, sealed: Buffer, aad: Buffer): Buffer {
  if (sealed.length < IV_BYTES + TAG_BYTES) throw new IntegrityError('sealed value too short');
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES));
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new IntegrityError('sealed value does not open (wrong key or context, or tampered)');
  }
}

/** The master key a wrapped data key (or a sealed text) names. */
export function keyIdOf(wrappedOrSealed: string): string {
  const wrapped = wrappedOrSealed.startsWith(`${SEALED_PREFIX}:`) ? parseSealed(wrappedOrSealed).wrapped : wrappedOrSealed;
  const [prefix, keyId, body, ...rest] = wrapped.split('.');
  if (prefix !== WRAPPED_PREFIX || !keyId || !body || rest.length > 0) throw new IntegrityError('unknown wrapped key format');
  return keyId;
}

function parseSealed(sealed: string): { wrapped: string; body: string } {
  const [prefix, wrapped, body, ...rest] = sealed.split(':');
  if (prefix !== SEALED_PREFIX || !wrapped || !body || rest.length > 0) throw new IntegrityError('unknown sealed format');
  return { wrapped, body };
}

/**
 * The built-in provider: master keys held in memory, each with an id. The current one wraps, all of
 * them unwrap. When asked for a key id it does not know (another process added a key during a
 * rotation), it reloads its sources once before giving up.
 */
export class KeyRing implements KeyProvider {
  readonly currentKeyId: string;
  #keys = new Map<string, Buffer>();
  readonly #reload: (() => Promise<MasterKey[]>) | undefined;

  constructor(keys: MasterKey[], currentKeyId?: string | null, reload?: () => Promise<MasterKey[]>) {
    this.#add(keys);
    const current = currentKeyId ?? keys.at(-1)?.id;
    if (!current || !this.#keys.has(current)) throw new Error(`master key "${current ?? ''}" is not in the key ring`);
    this.currentKeyId = current;
    this.#reload = reload;
  }

  keyIds(): string[] {
    return [...this.#keys.keys()];
  }

  async wrap(dataKey: Buffer, context: string): Promise<string> {
    if (dataKey.length !== DATA_KEY_BYTES) throw new Error('a data key is 32 bytes');
    const keyId = this.currentKeyId;
    return `${WRAPPED_PREFIX}.${keyId}.${gcmSeal(this.#keys.get(keyId)!, dataKey, wrapAad(keyId, context)).toString('base64url')}`;
  }

  async unwrap(wrapped: string, context: string): Promise<Buffer> {
    const keyId = keyIdOf(wrapped);
    let master = this.#keys.get(keyId);
    if (!master && this.#reload) {
      this.#add(await this.#reload());
      master = this.#keys.get(keyId);
    }
    if (!master) throw new IntegrityError(`master key "${keyId}" is not in the key ring`);
    const dataKey = gcmOpen(master, Buffer.from(wrapped.slice(wrapped.lastIndexOf('.') + 1), 'base64url'), wrapAad(keyId, context));
    if (dataKey.length !== DATA_KEY_BYTES) throw new IntegrityError('wrapped data key has the wrong length');
    return dataKey;
  }

  #add(keys: MasterKey[]): void {
    for (const { id, key } of keys) {
      if (!KEY_ID.test(id)) throw new Error(`invalid master key id "${id}"`);
      if (key.length !== 32) throw new Error(`master key "${id}" must be 32 bytes`);
      const known = this.#keys.get(id);
      if (known && !known.equals(key)) throw new Error(`two different master keys share the id "${id}"`);
      this.#keys.set(id, key);
    }
  }
}

/** Data keys and sealed text over a key provider. */
export class Envelope {
  constructor(readonly keys: KeyProvider) {}

  /** A fresh data key for one object, and its wrapped form to store with it. */
  async newDataKey(context: string): Promise<{ key: Buffer; wrapped: string }> {
    const key = randomBytes(DATA_KEY_BYTES);
    return { key, wrapped: await this.keys.wrap(key, context) };
  }

  openDataKey(wrapped: string, context: string): Promise<Buffer> {
    return this.keys.unwrap(wrapped, context);
  }

  /** Small clinical text (a message, a report, a file name), with a data key of its own. */
  async sealText(plaintext: string, context: string): Promise<string> {
    const { key, wrapped } = await this.newDataKey(context);
    return `${SEALED_PREFIX}:${wrapped}:${gcmSeal(key, Buffer.from(plaintext, 'utf8'), textAad(context)).toString('base64url')}`;
  }

  async openText(sealed: string, context: string): Promise<string> {
    const { wrapped, body } = parseSealed(sealed);
    const key = await this.keys.unwrap(wrapped, context);
    return gcmOpen(key, Buffer.from(body, 'base64url'), textAad(context)).toString('utf8');
  }

  /** The same data key wrapped under the current master key (unchanged when it already is). */
  async rewrapKey(wrapped: string, context: string): Promise<string> {
    if (keyIdOf(wrapped) === this.keys.currentKeyId) return wrapped;
    return this.keys.wrap(await this.keys.unwrap(wrapped, context), context);
  }

  /** A sealed text whose embedded data key is re-wrapped; its ciphertext is kept byte for byte. */
  async rewrapSealed(sealed: string, context: string): Promise<string> {
    const { wrapped, body } = parseSealed(sealed);
    const rewrapped = await this.rewrapKey(wrapped, context);
    return rewrapped === wrapped ? sealed : `${SEALED_PREFIX}:${rewrapped}:${body}`;
  }
}

function textAad(context: string): Buffer {
  return Buffer.from(`ausculta/text/v1\0${context}`, 'utf8');
}

/**
 * The identity an encrypted value is bound to: `<table>/<primary key>` for an object's data key and
 * stream, `<table>/<primary key>/<column>` for a sealed column. A value copied to another row or
 * column does not open. Key rotation (src/records/rotation.ts) rebuilds contexts with this same rule.
 */
export function objectContext(table: string, id: string, column?: string): string {
  return column ? `${table}/${id}/${column}` : `${table}/${id}`;
}

// --- The key ring's sources -------------------------------------------------------------------------

/** Lines "id:base64" (blank lines and # comments allowed), mode 0600, under DATA_DIR. */
export const KEY_RING_FILE = 'master-keys';

/** The instance key (MASTER_KEY or DATA_DIR/master.key) is named by a fingerprint, stable across restarts. */
export function instanceKeyId(key: Buffer): string {
  return `mk-${createHash('sha256').update('ausculta master key id\0').update(key).digest('hex').slice(0, 12)}`;
}

function parseKeyLines(text: string, source: string): MasterKey[] {
  const keys: MasterKey[] = [];
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [id = '', key = '', ...rest] = line.split(':');
    const bytes = Buffer.from(key, 'base64');
    if (rest.length > 0 || !KEY_ID.test(id) || bytes.length !== 32) throw new Error(`${source}, line ${index + 1}: expected "id:base64 of 32 bytes"`);
    keys.push({ id, key: bytes });
  }
  return keys;
}

async function readKeyFile(dataDir: string): Promise<MasterKey[]> {
  const path = join(dataDir, KEY_RING_FILE);
  try {
    return parseKeyLines(await readFile(path, 'utf8'), path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

type KeySettings = Pick<Config, 'masterKey' | 'masterKeys' | 'masterKeyId' | 'dataDir'>;

/**
 * The key ring, in order: the instance key (MASTER_KEY or DATA_DIR/master.key), MASTER_KEYS, then
 * DATA_DIR/master-keys. MASTER_KEY_ID names the key that wraps; by default the last one listed.
 */
export async function loadKeyRing(config: KeySettings): Promise<KeyRing> {
  const instanceKey = await loadMasterKey(config.masterKey, config.dataDir);
  const fixed: MasterKey[] = [
    { id: instanceKeyId(instanceKey), key: instanceKey },
    ...config.masterKeys.map(({ id, key }) => ({ id, key: Buffer.from(key, 'base64') })),
  ];
  const all = async () => [...fixed, ...(await readKeyFile(config.dataDir))];
  return new KeyRing(await all(), config.masterKeyId, all);
}

/** Appends a fresh master key to DATA_DIR/master-keys; processes that load the ring afterwards wrap with it. */
export async function addMasterKeyToFile(dataDir: string, now: Date): Promise<string> {
  const id = `${now.toISOString().slice(0, 10)}-${randomBytes(3).toString('hex')}`;
  const line = `${id}:${randomBytes(32).toString('base64')}\n`;
  await appendFile(join(dataDir, KEY_RING_FILE), line, { mode: 0o600 });
  return id;
}
