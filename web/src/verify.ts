// Checks, in the browser and with WebCrypto only, what the server says about the audit log
// (docs/audit-log.md): the signed checkpoint (C2SP signed note, Ed25519), then each entry's inclusion
// in the tree of that checkpoint (RFC 9162 §2.1.3.2). No library, no trust in the server's verdict.

const encoder = new TextEncoder();

export type Bytes = Uint8Array<ArrayBuffer>;

export function fromBase64(text: string): Bytes | null {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return null;
  try {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch {
    return null;
  }
}

function concat(...parts: Uint8Array[]): Bytes {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

async function sha256(data: Bytes): Promise<Bytes> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', data));
}

/** RFC 9162 §2.1.1: SHA-256(0x00 ‖ leaf bytes); the leaf is the UTF-8 of the entry's JSON. */
export function leafHash(leafData: string): Promise<Bytes> {
  return sha256(concat(Uint8Array.of(0), encoder.encode(leafData)));
}

function nodeHash(left: Uint8Array, right: Uint8Array): Promise<Bytes> {
  return sha256(concat(Uint8Array.of(1), left, right));
}

/** RFC 9162 §2.1.3.2: does `proof` prove that `leaf` is at `index` in the tree of `size` with `root`? */
export async function verifyInclusion(index: number, size: number, leaf: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): Promise<boolean> {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false;
  // Sizes stay below 2^53: plain numbers with Math.floor halving, never 32-bit bit operators.
  let fn = index;
  let sn = size - 1;
  let r: Uint8Array = leaf;
  for (const p of proof) {
    if (p.length !== 32) return false;
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      while (fn !== 0 && fn % 2 === 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equal(r, root);
}

export interface VerifierKey {
  name: string;
  keyId: Bytes;
  key: Awaited<ReturnType<typeof crypto.subtle.importKey>>;
}

/** `<name>+<hex key id>+<base64(0x01 ‖ 32-byte Ed25519 public key)>`, its key id checked. */
export async function parseVerifierKey(encoded: string): Promise<VerifierKey | null> {
  const match = /^([^\s+]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/=]+)$/.exec(encoded.trim());
  if (!match) return null;
  const [, name = '', hex = '', b64 = ''] = match;
  const raw = fromBase64(b64);
  if (!raw || raw.length !== 33 || raw[0] !== 0x01) return null;
  const keyId = Uint8Array.from(hex.match(/../g) ?? [], (pair) => parseInt(pair, 16));
  // The key id is the first 4 bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key).
  const expected = (await sha256(concat(encoder.encode(`${name}\n`), raw))).slice(0, 4);
  if (!equal(keyId, expected)) return null;
  try {
    const key = await crypto.subtle.importKey('raw', raw.slice(1), { name: 'Ed25519' }, false, ['verify']);
    return { name, keyId, key };
  } catch {
    return null;
  }
}

export interface VerifiedCheckpoint {
  origin: string;
  size: number;
  root: Bytes;
}

export type CheckpointProblem = 'malformed_key' | 'malformed_note' | 'bad_signature' | 'origin_mismatch' | 'malformed_checkpoint' | 'unsupported';

export type CheckpointResult = { ok: true; checkpoint: VerifiedCheckpoint } | { ok: false; problem: CheckpointProblem };

/**
 * A C2SP signed note (`text` ‖ "\n" ‖ signature lines) signed by `verifierKey`, whose text is a
 * tlog-checkpoint for `origin`: its size and root hash, or why not.
 */
export async function verifyCheckpoint(note: string, verifierKey: string, origin: string): Promise<CheckpointResult> {
  if (typeof crypto === 'undefined' || !crypto.subtle) return { ok: false, problem: 'unsupported' };
  const key = await parseVerifierKey(verifierKey);
  if (!key) return { ok: false, problem: 'malformed_key' };
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) return { ok: false, problem: 'malformed_note' };
  const text = note.slice(0, split + 1);
  const signatureLines = note.slice(split + 2, -1).split('\n');
  let verified = false;
  for (const line of signatureLines) {
    const match = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
    if (!match) return { ok: false, problem: 'malformed_note' };
    const signature = fromBase64(match[2] ?? '');
    if (!signature || signature.length < 5) return { ok: false, problem: 'malformed_note' };
    // Signatures from other keys (witnesses) are ignored; ours must verify.
    if (match[1] !== key.name || !equal(signature.slice(0, 4), key.keyId)) continue;
    let good = false;
    try {
      good = signature.length === 68 && (await crypto.subtle.verify({ name: 'Ed25519' }, key.key, signature.slice(4), encoder.encode(text)));
    } catch {
      good = false;
    }
    if (!good) return { ok: false, problem: 'bad_signature' };
    verified = true;
  }
  if (!verified) return { ok: false, problem: 'bad_signature' };
  const [noteOrigin = '', size = '', root = ''] = text.slice(0, -1).split('\n');
  if (noteOrigin !== origin) return { ok: false, problem: 'origin_mismatch' };
  const rootHash = fromBase64(root);
  if (!/^(?:0|[1-9][0-9]*)$/.test(size) || !Number.isSafeInteger(Number(size)) || rootHash?.length !== 32) {
    return { ok: false, problem: 'malformed_checkpoint' };
  }
  return { ok: true, checkpoint: { origin: noteOrigin, size: Number(size), root: rootHash } };
}

/** One entry of the access history: is its leaf, as shown, in the verified checkpoint's tree? */
export async function verifyEntry(checkpoint: VerifiedCheckpoint, entry: { leafIndex: number; leafData: string; proof: readonly string[] }): Promise<boolean> {
  const proof = entry.proof.map(fromBase64);
  if (proof.some((hash) => hash === null)) return false;
  return verifyInclusion(entry.leafIndex, checkpoint.size, await leafHash(entry.leafData), proof as Bytes[], checkpoint.root);
}
