// The prescription's 2D code is a C2SP signed note (the format of the audit log's checkpoints), signed
// with the instance's prescription key:
//
//   sante.example.fr/prescriptions          ← origin: the instance's host + "/prescriptions"
//   RX-7K3M-9QAZ-4TFD-WX2B                  ← the prescription's number
//   2026-11-26T10:15:00.000Z                ← when it was issued
//   <base64 SHA-256 of the prescription's content>
//
//   — sante.example.fr/prescriptions <base64(key id ‖ Ed25519 signature)>
//
// Anyone holding the paper and the published key (GET /api/prescriptions/key) can check it offline;
// the pharmacist's check online also says whether it was already dispensed. The content itself is
// not in the code: the digest only binds the number to what was prescribed.
import { createHash, randomBytes } from 'node:crypto';
import { signNote, verifyNote, type NoteSigner } from '../audit/checkpoint.js';

export interface SignedFields {
  origin: string;
  number: string;
  issuedAt: Date;
  /** Base64 SHA-256 of the canonical content. */
  digest: string;
}

export const CODE_MAX_LENGTH = 1_000;
const NUMBER_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'; // Crockford base 32: no I, L, O, U
const NUMBER_PATTERN = /^RX(-[0-9A-HJKMNP-TV-Z]{4}){4}$/;

export function prescriptionOrigin(publicUrl: string): string {
  return `${new URL(publicUrl).host}/prescriptions`;
}

/** A new prescription number: 80 random bits in Crockford base 32, e.g. RX-7K3M-9QAZ-4TFD-WX2B. */
export function newPrescriptionNumber(): string {
  const bytes = randomBytes(10);
  let bits = 0n;
  for (const byte of bytes) bits = (bits << 8n) | BigInt(byte);
  let digits = '';
  for (let i = 0; i < 16; i++) {
    digits = NUMBER_ALPHABET[Number(bits & 31n)]! + digits;
    bits >>= 5n;
  }
  return `RX-${digits.match(/.{4}/g)!.join('-')}`;
}

export function contentDigest(canonicalContent: string): string {
  return createHash('sha256').update(canonicalContent, 'utf8').digest('base64');
}

export function signPrescription(fields: SignedFields, signer: NoteSigner): string {
  return signNote(`${fields.origin}\n${fields.number}\n${fields.issuedAt.toISOString()}\n${fields.digest}\n`, signer);
}

/** The fields of a code signed by `verifierKey` for `origin`, or null if it is not one (bad signature, other origin, malformed). */
export function openPrescriptionCode(code: string, verifierKey: string, origin: string): SignedFields | null {
  let text: string;
  try {
    // Scanners and copy-paste may turn the newlines into CR LF or drop the last one.
    const normalised = code.replace(/\r\n?/g, '\n').replace(/\n*$/, '\n');
    text = verifyNote(normalised, [verifierKey]).text;
  } catch {
    return null;
  }
  const [first, number, issuedAt, digest, rest] = text.split('\n');
  if (first !== origin || !number || !NUMBER_PATTERN.test(number) || !issuedAt || !digest || rest !== '') return null;
  const at = new Date(issuedAt);
  if (Number.isNaN(at.getTime()) || at.toISOString() !== issuedAt || !/^[A-Za-z0-9+/]{43}=$/.test(digest)) return null;
  return { origin, number, issuedAt: at, digest };
}
