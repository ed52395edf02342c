import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  NoteError,
  encodeSignerKey,
  encodeVerifierKey,
  formatCheckpoint,
  generateLogKey,
  noteKeyId,
  openNote,
  parseCheckpoint,
  parseSignerKey,
  parseVerifierKey,
  signCheckpoint,
  signNote,
  verifyNote,
  type NoteErrorCode,
} from './checkpoint.js';
import { emptyRoot, leafHash, rootFromLeafHashes } from './merkle.js';

function expectNoteError(run: () => unknown, code: NoteErrorCode, what = ''): void {
  let error: unknown;
  try {
    run();
  } catch (e) {
    error = e;
  }
  expect(error, `${what}: no error`).toBeInstanceOf(NoteError);
  expect((error as NoteError).code, what).toBe(code);
}
const hex8 = (id: number): string => id.toString(16).padStart(8, '0');

// golang.org/x/mod/sumdb/note note_test.go (TestNewVerifier, TestNewSigner, TestSign, TestOpen).
const PETER_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const PETER_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const ENOCH_VKEY = 'EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop';
const TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG =
  '— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
const ENOCH_SIG =
  '— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';
const PETER = { name: 'PeterNeumann', keyId: 0xc74f20a3 };
const ENOCH = { name: 'EnochRoot', keyId: 0xaf0cfe78 };
/** Go slices notes by byte offset: do the same (the em dash is 3 bytes in UTF-8, 1 unit in JS). */
const insertAtByte = (s: string, at: number, extra: string): string => {
  const b = Buffer.from(s);
  return Buffer.concat([b.subarray(0, at), Buffer.from(extra), b.subarray(at)]).toString();
};

describe('the golang.org/x/mod/sumdb/note vectors', () => {
  it('parses the PeterNeumann verifier key and reproduces its key ID c74f20a3', () => {
    const key = parseVerifierKey(PETER_VKEY);
    expect(key.name).toBe('PeterNeumann');
    expect(hex8(key.keyId)).toBe('c74f20a3');
    const raw = Buffer.from(key.publicKey.export({ format: 'jwk' }).x!, 'base64url');
    expect(hex8(noteKeyId('PeterNeumann', raw))).toBe('c74f20a3');
    expect(encodeVerifierKey('PeterNeumann', key.publicKey)).toBe(PETER_VKEY);
    expect(hex8(parseVerifierKey(ENOCH_VKEY).keyId)).toBe('af0cfe78');
  });

  it('refuses every mangling of the keys (TestNewVerifier, TestNewSigner)', () => {
    for (const [key, parse] of [[PETER_VKEY, parseVerifierKey], [PETER_SKEY, parseSignerKey]] as const) {
      const bytes = Buffer.from(key);
      for (let i = 0; i <= bytes.length; i++) {
        for (let j = i + 1; j <= bytes.length; j++) {
          if (i !== 0 || j !== bytes.length) expectNoteError(() => parse(key.slice(i, j)), 'malformed_key', key.slice(i, j));
        }
      }
      for (let i = 0; i < bytes.length; i++) {
        const mangled = Buffer.from(bytes);
        mangled[i]! += 1;
        expectNoteError(() => parse(mangled.toString()), 'malformed_key', mangled.toString());
      }
    }
    // Wrong key length, and unknown algorithm, each with a key ID computed to match.
    expectNoteError(() => parseVerifierKey('PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=='), 'malformed_key');
    expectNoteError(() => parseVerifierKey('PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'), 'malformed_key');
  });

  it('signs the PeterNeumann note byte for byte (Ed25519 is deterministic)', () => {
    const signer = parseSignerKey(PETER_SKEY);
    expect(signer.verifierKey).toBe(PETER_VKEY);
    expect(encodeSignerKey(signer)).toBe(PETER_SKEY);
    expect(signNote(TEXT, signer)).toBe(`${TEXT}\n${PETER_SIG}`);
    expectNoteError(() => signNote('abc', signer), 'malformed_note');
    expectNoteError(() => signNote(TEXT, { ...signer, name: 'a+b' }), 'malformed_key');
  });

  it('opens the notes as Go does (TestOpen)', () => {
    const note = `${TEXT}\n${PETER_SIG}${ENOCH_SIG}`;
    expect(verifyNote(note, [PETER_VKEY])).toEqual({ text: TEXT, signatures: [PETER], unverified: [ENOCH] });
    expect(verifyNote(Buffer.from(note), [PETER_VKEY, ENOCH_VKEY])).toEqual({
      text: TEXT,
      signatures: [PETER, ENOCH],
      unverified: [],
    });
    expectNoteError(() => verifyNote(note, []), 'unverified_note');
    expectNoteError(() => verifyNote(`${TEXT}\n${ENOCH_SIG}`, [ENOCH_VKEY, PETER_VKEY, ENOCH_VKEY]), 'ambiguous_key');
    expect(verifyNote(`${TEXT}\n${PETER_SIG}`, [ENOCH_VKEY, PETER_VKEY, ENOCH_VKEY]).signatures).toEqual([PETER]);
    expectNoteError(() => verifyNote(`${TEXT}\n${PETER_SIG.repeat(101)}`, [PETER_VKEY]), 'malformed_note');
    expectNoteError(() => verifyNote(`${TEXT}\n${PETER_SIG.repeat(101)}`, []), 'malformed_note');
    expectNoteError(() => verifyNote(`${TEXT}\n${insertAtByte(PETER_SIG, 60, 'ABCD')}`, [PETER_VKEY]), 'invalid_signature');

    const enochABCD = insertAtByte(ENOCH_SIG, 60, 'ABCD');
    const repeated = `${TEXT}\n${PETER_SIG}${PETER_SIG}${ENOCH_SIG}${ENOCH_SIG}${enochABCD}`;
    expect(verifyNote(repeated, [PETER_VKEY])).toEqual({ text: TEXT, signatures: [PETER], unverified: [ENOCH, ENOCH] });

    const bad: Array<string | Uint8Array> = [
      TEXT,
      `${TEXT}\n`,
      `${TEXT}\n${PETER_SIG.slice(0, -1)}`,
      `\x01${TEXT}\n${PETER_SIG}`,
      Buffer.concat([Buffer.from([0xff]), Buffer.from(`${TEXT}\n${PETER_SIG}`)]), // not UTF-8
      `${TEXT}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=`,
      `${TEXT}\n${PETER_SIG}Unexpected line.\n`,
    ];
    for (const msg of bad) expectNoteError(() => verifyNote(msg, [PETER_VKEY]), 'malformed_note', String(msg));
  });
});

describe('published checkpoints', () => {
  it('verifies a real sum.golang.org checkpoint (sigsum-go pkg/checkpoint TestGoSumDBCheckpoint)', () => {
    const body = 'go.sum database tree\n30055305\nmXfgRcJ0bG0j3CPdKwgGWtUzBUbX67saZGRmFuJGGsM=\n';
    const note = `${body}\n— sum.golang.org Az3grpgEild5qw7+5dtV13Kf1C2Xurm8q4fhdxvcsDHnqNTaxL2AFjBY+2TyGKevucFcAAlWFJJYle3EJlDCrQ+y3A8=\n`;
    const key = 'sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8'; // '+' in the key: split twice only
    const opened = openNote(note, [key], { origin: 'go.sum database tree' });
    expect(opened.signatures).toEqual([{ name: 'sum.golang.org', keyId: 0x033de0ae }]);
    expect(opened.checkpoint).toEqual({
      origin: 'go.sum database tree',
      size: 30055305,
      rootHash: Buffer.from('mXfgRcJ0bG0j3CPdKwgGWtUzBUbX67saZGRmFuJGGsM=', 'base64'),
      extensions: [],
    });
    expect(formatCheckpoint(opened.checkpoint)).toBe(body);
    expectNoteError(() => openNote(note, [key], { origin: 'Go rocks but I might have the wrong ID' }), 'origin_mismatch');
    expectNoteError(() => openNote(note.replace('30055305', '30055306'), [key]), 'invalid_signature');
  });

  it('reproduces the signed checkpoint of sigsum-go pkg/checkpoint TestCheckpointSigned byte for byte', () => {
    const seed = Buffer.alloc(32);
    seed[0] = 17; // crypto.PrivateKey{17}
    const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
    const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    const raw = Buffer.from(createPublicKey(privateKey).export({ format: 'jwk' }).x!, 'base64url');
    const origin = `sigsum.org/v1/tree/${createHash('sha256').update(raw).digest('hex')}`;
    expect(origin).toBe('sigsum.org/v1/tree/e796172b92befd62d9dc67e41c2f5bc9d3100a3023b20b1ca40288dd1c679e69');
    const rootHash = Buffer.alloc(32);
    rootHash.set([28, 14, 71]); // Base64 "HA5H"
    const note = signCheckpoint({ origin, size: 10, rootHash }, { name: origin, privateKey });
    expect(note).toBe(
      `${origin}\n10\nHA5HAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n— ${origin} ` +
        'gJ2ho0n8F8olcerUF1FFdv235A/5as/coWrpLrtE7ovMeP5whgwouYExowG/lTznxu6OUGjjt5yJQ6bXtTcf718MqAQ=\n',
    );
    expect(openNote(note, [encodeVerifierKey(origin, createPublicKey(privateKey))], { origin }).checkpoint.size).toBe(10);
  });
});

describe('our own tree heads', () => {
  const ORIGIN = 'ausculta.example/audit';
  const log = generateLogKey(ORIGIN);
  const rootHash = rootFromLeafHashes(['a', 'b', 'c'].map((s) => leafHash(Buffer.from(s))));
  const note = signCheckpoint({ origin: ORIGIN, size: 3, rootHash }, log);
  const [body = '', signature = ''] = note.split('\n\n');

  it('round-trips: sign, verify, parse', () => {
    expect(body).toBe(`${ORIGIN}\n3\n${rootHash.toString('base64')}`);
    expect(log.verifierKey).toMatch(/^ausculta\.example\/audit\+[0-9a-f]{8}\+A[A-Za-z0-9+/]{43}$/);
    expect(encodeSignerKey(parseSignerKey(encodeSignerKey(log)))).toBe(encodeSignerKey(log));
    const opened = openNote(note, [log.verifierKey], { origin: ORIGIN });
    expect(opened.checkpoint).toEqual({ origin: ORIGIN, size: 3, rootHash, extensions: [] });
    expect(opened.signatures).toEqual([{ name: ORIGIN, keyId: parseVerifierKey(log.verifierKey).keyId }]);
    const empty = signCheckpoint({ origin: ORIGIN, size: 0, rootHash: emptyRoot(), extensions: ['x y', 'z'] }, log);
    expect(openNote(empty, [log.verifierKey]).checkpoint).toEqual({
      origin: ORIGIN,
      size: 0,
      rootHash: emptyRoot(),
      extensions: ['x y', 'z'],
    });
  });

  it('ignores signatures from keys not given (witnesses)', () => {
    const witness = generateLogKey('witness.example/w1');
    const cosigned = signCheckpoint({ origin: ORIGIN, size: 3, rootHash }, [log, witness]);
    const opened = openNote(cosigned, [log.verifierKey]);
    expect(opened.unverified).toEqual([{ name: 'witness.example/w1', keyId: parseVerifierKey(witness.verifierKey).keyId }]);
    expect(openNote(cosigned, [log.verifierKey, witness.verifierKey]).signatures).toHaveLength(2);
    // Any one trusted key suffices (signed-note semantics): give only the log key to check a log's heads.
    expect(openNote(cosigned, [witness.verifierKey]).unverified).toEqual([{ name: ORIGIN, keyId: opened.signatures[0]!.keyId }]);
  });

  it('rejects a forged root, a changed size or origin, a wrong key, a truncated signature', () => {
    const other = rootFromLeafHashes(['a', 'b', 'd'].map((s) => leafHash(Buffer.from(s))));
    const forgedRoot = note.replace(rootHash.toString('base64'), other.toString('base64'));
    expectNoteError(() => openNote(forgedRoot, [log.verifierKey]), 'invalid_signature', 'forged root');
    expectNoteError(() => openNote(note.replace('\n3\n', '\n4\n'), [log.verifierKey]), 'invalid_signature', 'size');
    expectNoteError(() => openNote(note.replace(`${ORIGIN}\n`, 'ausculta.example/audit2\n'), [log.verifierKey]), 'invalid_signature');
    const impostor = generateLogKey(ORIGIN); // same name, another key: another key ID
    expectNoteError(() => openNote(note, [impostor.verifierKey]), 'unverified_note', 'wrong key');
    const colliding = { ...parseVerifierKey(log.verifierKey), publicKey: impostor.publicKey }; // same name and ID
    expectNoteError(() => openNote(note, [colliding]), 'invalid_signature', 'colliding key');
    const b64 = signature.slice(signature.indexOf(' ', 2) + 1, -1);
    for (const cut of [1, 2, 4, 8, b64.length - 8]) {
      const truncated = `${body}\n\n— ${ORIGIN} ${b64.slice(0, -cut)}\n`;
      expect(() => openNote(truncated, [log.verifierKey]), `cut ${cut}`).toThrow(NoteError);
    }
    expectNoteError(() => openNote(`${body}\n\n— ${ORIGIN} ${b64.slice(0, -4)}\n`, [log.verifierKey]), 'invalid_signature');
    expectNoteError(() => openNote(`${body}\n`, [log.verifierKey]), 'malformed_note', 'no signature');
  });

  it('parses and formats checkpoints strictly', () => {
    const root = rootHash.toString('base64');
    const parses = (text: string): boolean => {
      try {
        parseCheckpoint(text);
        return true;
      } catch (e) {
        expect((e as NoteError).code).toBe('malformed_checkpoint');
        return false;
      }
    };
    expect(parses(`${ORIGIN}\n3\n${root}\n`)).toBe(true);
    expect(parses(`${ORIGIN}\n3\n${root}\next\n`)).toBe(true);
    for (const text of [
      `${ORIGIN}\n3\n${root}`, // no final newline
      `${ORIGIN}\n03\n${root}\n`,
      `${ORIGIN}\n+3\n${root}\n`,
      `${ORIGIN}\n3.0\n${root}\n`,
      `${ORIGIN}\n9007199254740992\n${root}\n`, // beyond 2^53 - 1
      `\n3\n${root}\n`,
      `${ORIGIN}\n3\n${rootHash.subarray(1).toString('base64')}\n`,
      `${ORIGIN}\n3\n${root.slice(0, -2)}B=\n`, // non-canonical base64
      `${ORIGIN}\n3\n${root}\n\next\n`,
      `${ORIGIN}\r\n3\n${root}\n`,
      `${ORIGIN}\n3\n`,
    ]) {
      expect(parses(text), JSON.stringify(text)).toBe(false);
    }
    for (const bad of [
      { origin: ORIGIN, size: -1, rootHash },
      { origin: ORIGIN, size: 1.5, rootHash },
      { origin: ORIGIN, size: 3, rootHash: rootHash.subarray(1) },
      { origin: `${ORIGIN}\n4`, size: 3, rootHash },
      { origin: '', size: 3, rootHash },
      { origin: ORIGIN, size: 3, rootHash, extensions: [''] },
    ]) {
      expectNoteError(() => formatCheckpoint(bad), 'malformed_checkpoint', JSON.stringify(bad));
    }
  });

  it('refuses keys that are not Ed25519 or badly named', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expectNoteError(() => signNote('x\n', { name: 'ec', privateKey }), 'malformed_key');
    expectNoteError(() => generateLogKey('has space'), 'malformed_key');
    expectNoteError(() => generateLogKey('has+plus'), 'malformed_key');
    expectNoteError(() => generateLogKey(''), 'malformed_key');
  });
});
