// Signed tree heads of the audit log: C2SP tlog-checkpoint bodies (c2sp.org/tlog-checkpoint) in C2SP
// signed notes (c2sp.org/signed-note) with Ed25519 signatures, the format of Go's sumdb, Sigsum and
// Trillian Tessera, so that outside witnesses and auditors can check our log with their own tools.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { HASH_SIZE } from './merkle.js';

export type NoteErrorCode =
  | 'malformed_note' // not a signed note (syntax, characters, too many signatures)
  | 'malformed_checkpoint' // a verified note whose text is not a checkpoint
  | 'malformed_key' // a verifier or signer key that does not parse or whose key ID does not match
  | 'unverified_note' // no signature from any of the given keys
  | 'invalid_signature' // a signature from a given key does not verify: the note is forged or corrupted
  | 'ambiguous_key' // two given keys share name and key ID
  | 'origin_mismatch'; // verified, but the checkpoint is for another log

export class NoteError extends Error {
  override readonly name = 'NoteError';
  readonly code: NoteErrorCode;

  constructor(code: NoteErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

function fail(code: NoteErrorCode, message: string): never {
  throw new NoteError(code, message);
}

/** A tree head: RFC 9162 MTH of the first `size` leaves, under the log identity `origin`. */
export interface Checkpoint {
  origin: string;
  size: number;
  rootHash: Buffer;
  extensions: string[];
}
export interface CheckpointInput {
  origin: string;
  size: number;
  rootHash: Uint8Array;
  extensions?: readonly string[];
}
export interface NoteSigner {
  name: string;
  privateKey: KeyObject;
}
export interface VerifierKey {
  name: string;
  keyId: number;
  publicKey: KeyObject;
  encoded: string;
}
export interface NoteSignature {
  name: string;
  keyId: number;
}
export interface OpenedNote {
  text: string;
  signatures: NoteSignature[]; // verified
  unverified: NoteSignature[]; // from keys not given (witnesses, rotated keys…): ignored, as the spec requires
}

const ALG_ED25519 = 0x01; // signed-note §Signature types
const MAX_SIGNATURES = 100; // signed-note: verifiers SHOULD cap, MUST accept at least 16 (Go's cap is 100)
const SIGNATURE_PREFIX = '\u2014 '; // em dash, space
const PKCS8_ED25519_SEED = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');

/** signed-note §Format: key names are non-empty and contain neither Unicode spaces nor '+'. */
export const isValidKeyName = (name: string): boolean => /^[^\p{White_Space}+]+$/u.test(name);

/** signed-note §Format: valid UTF-8 (no lone surrogate here), no ASCII control character but newline. */
function isWellFormed(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 && c !== 0x0a) return false;
    if (c >= 0xdc00 && c <= 0xdfff) return false;
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
      i++;
    }
  }
  return true;
}

/** RFC 4648 §4 standard base64, padded, canonical (Buffer.from alone skips junk characters). */
function base64(text: string): Buffer | undefined {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}

const hex8 = (id: number): string => id.toString(16).padStart(8, '0');

/** signed-note §Ed25519 signatures: key ID = SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4]. */
export function noteKeyId(name: string, rawPublicKey: Uint8Array): number {
  const digest = createHash('sha256').update(name).update('\n').update(Buffer.from([ALG_ED25519]));
  return digest.update(rawPublicKey).digest().readUInt32BE(0);
}

/** The 32-byte RFC 8032 encoding of an Ed25519 public key (or of the public half of a private key). */
function rawPublicKey(key: KeyObject): Buffer {
  if (key.asymmetricKeyType !== 'ed25519') fail('malformed_key', 'not an Ed25519 key');
  const { x } = (key.type === 'private' ? createPublicKey(key) : key).export({ format: 'jwk' });
  if (typeof x !== 'string') fail('malformed_key', 'no public key');
  return Buffer.from(x, 'base64url');
}

/** "<name>+<hex key ID>+<base64(0x01 || key)>", the key formats of golang.org/x/mod/sumdb/note. */
function splitKey(encoded: string, keyLength: number): { name: string; keyId: number; key: Buffer } {
  const first = encoded.indexOf('+');
  const second = encoded.indexOf('+', first + 1);
  const name = encoded.slice(0, first);
  const id = encoded.slice(first + 1, second);
  const key = base64(encoded.slice(second + 1));
  if (first < 0 || second < 0 || !isValidKeyName(name) || !/^[0-9a-fA-F]{8}$/.test(id)) {
    fail('malformed_key', 'expected <name>+<key ID>+<key>');
  }
  if (key?.length !== 1 + keyLength || key[0] !== ALG_ED25519) fail('malformed_key', 'not an Ed25519 key');
  return { name, keyId: Number.parseInt(id, 16), key: key.subarray(1) };
}

/** The verifier key string that auditors configure: "<name>+<hex key ID>+<base64(0x01 || public key)>". */
export function encodeVerifierKey(name: string, publicKey: KeyObject): string {
  if (!isValidKeyName(name)) fail('malformed_key', 'invalid key name');
  const raw = rawPublicKey(publicKey);
  return `${name}+${hex8(noteKeyId(name, raw))}+${Buffer.concat([Buffer.from([ALG_ED25519]), raw]).toString('base64')}`;
}

export function parseVerifierKey(encoded: string): VerifierKey {
  const { name, keyId, key } = splitKey(encoded, 32);
  if (noteKeyId(name, key) !== keyId) fail('malformed_key', 'key ID does not match the key');
  const publicKey = createPublicKey({ key: Buffer.concat([SPKI_ED25519, key]), format: 'der', type: 'spki' });
  return { name, keyId, publicKey, encoded };
}

/** The signer key format of golang.org/x/mod/sumdb/note: "PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || seed)>". */
export function encodeSignerKey({ name, privateKey }: NoteSigner): string {
  const { d } = privateKey.export({ format: 'jwk' });
  if (privateKey.asymmetricKeyType !== 'ed25519' || typeof d !== 'string') fail('malformed_key', 'not Ed25519');
  const seed = Buffer.concat([Buffer.from([ALG_ED25519]), Buffer.from(d, 'base64url')]).toString('base64');
  return `PRIVATE+KEY+${encodeVerifierKey(name, privateKey).split('+', 2).join('+')}+${seed}`;
}

export function parseSignerKey(encoded: string): NoteSigner & { verifierKey: string } {
  if (!encoded.startsWith('PRIVATE+KEY+')) fail('malformed_key', 'expected PRIVATE+KEY+…');
  const { name, keyId, key } = splitKey(encoded.slice('PRIVATE+KEY+'.length), 32);
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_SEED, key]), format: 'der', type: 'pkcs8' });
  if (noteKeyId(name, rawPublicKey(privateKey)) !== keyId) fail('malformed_key', 'key ID does not match the key');
  return { name, privateKey, verifierKey: encodeVerifierKey(name, createPublicKey(privateKey)) };
}

/** A new Ed25519 log key. Name it after the log's origin (tlog-checkpoint: the key name SHOULD match it). */
export function generateLogKey(name: string): NoteSigner & { publicKey: KeyObject; verifierKey: string } {
  if (!isValidKeyName(name)) fail('malformed_key', 'invalid key name');
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { name, privateKey, publicKey, verifierKey: encodeVerifierKey(name, publicKey) };
}

/** tlog-checkpoint §Note text: origin, decimal size, base64 root hash, optional extension lines. */
export function formatCheckpoint({ origin, size, rootHash, extensions = [] }: CheckpointInput): string {
  const lines = [origin, String(size), Buffer.from(rootHash).toString('base64'), ...extensions];
  const ok = Number.isSafeInteger(size) && size >= 0 && rootHash.length === HASH_SIZE && isWellFormed(lines.join(''));
  if (!ok || lines.some((line) => line === '' || line.includes('\n'))) fail('malformed_checkpoint', 'bad checkpoint');
  return `${lines.join('\n')}\n`;
}

/** tlog-checkpoint §Note text, strictly: ≥ 3 non-empty lines, size without leading zeros, a 32-byte root. */
export function parseCheckpoint(text: string): Checkpoint {
  const lines = text.slice(0, -1).split('\n');
  const [origin = '', size = '', root = '', ...extensions] = lines;
  if (!text.endsWith('\n') || !isWellFormed(text) || lines.length < 3 || lines.includes('')) {
    fail('malformed_checkpoint', 'a checkpoint is at least three non-empty lines');
  }
  if (!/^(?:0|[1-9][0-9]*)$/.test(size) || !Number.isSafeInteger(Number(size))) {
    fail('malformed_checkpoint', 'invalid tree size');
  }
  const rootHash = base64(root);
  if (rootHash?.length !== HASH_SIZE) fail('malformed_checkpoint', 'invalid root hash');
  return { origin, size: Number(size), rootHash, extensions };
}

/** signed-note §Format: the text (ending in a newline), a blank line, one signature line per signer. */
export function signNote(text: string, signers: NoteSigner | readonly NoteSigner[]): string {
  if (!text.endsWith('\n') || !isWellFormed(text)) fail('malformed_note', 'note text must end in a newline');
  const message = Buffer.from(text, 'utf8');
  const lines = [signers].flat().map(({ name, privateKey }) => {
    if (!isValidKeyName(name)) fail('malformed_key', 'invalid key name');
    const keyId = Buffer.alloc(4);
    keyId.writeUInt32BE(noteKeyId(name, rawPublicKey(privateKey)));
    const signature = Buffer.concat([keyId, sign(null, message, privateKey)]);
    return `${SIGNATURE_PREFIX}${name} ${signature.toString('base64')}\n`;
  });
  if (lines.length === 0) fail('malformed_note', 'no signer');
  return `${text}\n${lines.join('')}`;
}

/** Sign a tree head: the checkpoint text in a signed note. */
export function signCheckpoint(checkpoint: CheckpointInput, signers: NoteSigner | readonly NoteSigner[]): string {
  return signNote(formatCheckpoint(checkpoint), signers);
}

/**
 * signed-note §Signatures: verify a note against trusted keys. Signatures from other keys are ignored; one
 * from a trusted key that fails rejects the whole note; at least one must verify. Throws a NoteError.
 */
export function verifyNote(note: string | Uint8Array, keys: readonly (string | VerifierKey)[]): OpenedNote {
  let message = '';
  try {
    message = typeof note === 'string' ? note : new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(note);
  } catch {
    fail('malformed_note', 'not UTF-8');
  }
  const split = message.lastIndexOf('\n\n');
  const text = message.slice(0, split + 1);
  const block = message.slice(split + 2);
  if (!isWellFormed(message) || split < 0 || !block.endsWith('\n')) fail('malformed_note', 'not a signed note');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) fail('malformed_note', 'too many signatures');

  const trusted = keys.map((key) => (typeof key === 'string' ? parseVerifierKey(key) : key));
  const bytes = Buffer.from(text, 'utf8');
  const opened: OpenedNote = { text, signatures: [], unverified: [] };
  const seen = new Set<string>();
  for (const line of lines) {
    const space = line.indexOf(' ', SIGNATURE_PREFIX.length);
    const name = line.slice(SIGNATURE_PREFIX.length, space < 0 ? undefined : space);
    const raw = space < 0 ? undefined : base64(line.slice(space + 1));
    if (!line.startsWith(SIGNATURE_PREFIX) || !isValidKeyName(name) || raw === undefined || raw.length < 5) {
      fail('malformed_note', 'malformed signature line');
    }
    const keyId = raw.readUInt32BE(0);
    const id = `${name}+${hex8(keyId)}`;
    const [key, ...others] = trusted.filter((k) => k.name === name && k.keyId === keyId);
    if (key === undefined) {
      if (!seen.has(line)) opened.unverified.push({ name, keyId }); // repeats dropped, as Go's note.Open
      seen.add(line);
      continue;
    }
    if (others.length > 0) fail('ambiguous_key', `ambiguous key ${id}`);
    if (seen.has(id)) continue; // only the first signature of a key counts, as in Go's note.Open
    seen.add(id);
    const signature = raw.subarray(4);
    if (signature.length !== 64 || !verify(null, bytes, key.publicKey, signature)) {
      fail('invalid_signature', `invalid signature for key ${id}`);
    }
    opened.signatures.push({ name, keyId });
  }
  if (opened.signatures.length === 0) fail('unverified_note', 'note has no verifiable signatures');
  return opened;
}

/**
 * Verify a signed checkpoint, then parse it (the text is untrusted until a signature verifies). Pass the
 * expected origin: a checkpoint of another log signed by the same key must not be taken for ours.
 */
export function openNote(
  note: string | Uint8Array,
  keys: readonly (string | VerifierKey)[],
  options: { origin?: string } = {},
): OpenedNote & { checkpoint: Checkpoint } {
  const opened = verifyNote(note, keys);
  const checkpoint = parseCheckpoint(opened.text);
  if (options.origin !== undefined && checkpoint.origin !== options.origin) {
    fail('origin_mismatch', `checkpoint of ${JSON.stringify(checkpoint.origin)}, not ${JSON.stringify(options.origin)}`);
  }
  return { ...opened, checkpoint };
}
