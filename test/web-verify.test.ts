// The web app's in-browser verifier (web/src/verify.ts, WebCrypto only) against the server's own Merkle
// tree and checkpoint signer: the same proofs and notes must verify, and tampered ones must not.
import { describe, expect, it } from 'vitest';
import { generateLogKey, signCheckpoint } from '../src/audit/checkpoint.js';
import { inclusionProof, leafHash, MemoryTree } from '../src/audit/merkle.js';
import { leafHash as webLeafHash, verifyCheckpoint, verifyEntry, verifyInclusion } from '../web/src/verify.js';

const ORIGIN = 'localhost:3000/audit-log';
const leaves = Array.from({ length: 13 }, (_, i) => JSON.stringify({ v: 1, kind: 'access', type: 'patient.read', n: i, purpose: 'patient_self', note: 'é' }));
const tree = MemoryTree.fromLeafHashes(leaves.map((leaf) => leafHash(Buffer.from(leaf, 'utf8'))));

describe('web verifier', () => {
  it('computes the same leaf hash as the server', async () => {
    for (const leaf of leaves) expect(Buffer.from(await webLeafHash(leaf))).toEqual(leafHash(Buffer.from(leaf, 'utf8')));
  });

  it('verifies every inclusion proof, for every tree size, and rejects tampered ones', async () => {
    for (let size = 1; size <= leaves.length; size++) {
      const root = tree.root(size);
      for (let index = 0; index < size; index++) {
        const proof = await inclusionProof(index, size, tree);
        const leaf = await webLeafHash(leaves[index] ?? '');
        expect(await verifyInclusion(index, size, leaf, proof, root), `${index}/${size}`).toBe(true);
        // Tampered leaf, wrong root, wrong index, wrong size, truncated or extended proof.
        expect(await verifyInclusion(index, size, await webLeafHash(`${leaves[index]} `), proof, root)).toBe(false);
        const wrongRoot = Buffer.from(root);
        wrongRoot[0] = (wrongRoot[0] ?? 0) ^ 1;
        expect(await verifyInclusion(index, size, leaf, proof, wrongRoot)).toBe(false);
        if (size > 1) {
          expect(await verifyInclusion((index + 1) % size, size, leaf, proof, root)).toBe(false);
          expect(await verifyInclusion(index, size, leaf, proof.slice(0, -1), root)).toBe(false);
        }
        expect(await verifyInclusion(index, size, leaf, [...proof, Buffer.alloc(32)], root)).toBe(false);
        // (A proof alone does not pin the size — docs/audit-log.md — hence size and root from one checkpoint.)
        expect(await verifyInclusion(size, size, leaf, proof, root)).toBe(false);
      }
    }
  });

  it('verifies a checkpoint signed by the server and each entry against it', async () => {
    const key = generateLogKey(ORIGIN);
    const size = leaves.length;
    const note = signCheckpoint({ origin: ORIGIN, size, rootHash: tree.root(size) }, key);
    const result = await verifyCheckpoint(note, key.verifierKey, ORIGIN);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.checkpoint.size).toBe(size);
    expect(Buffer.from(result.checkpoint.root)).toEqual(tree.root(size));
    const proof = (await inclusionProof(5, size, tree)).map((hash) => hash.toString('base64'));
    expect(await verifyEntry(result.checkpoint, { leafIndex: 5, leafData: leaves[5] ?? '', proof })).toBe(true);
    expect(await verifyEntry(result.checkpoint, { leafIndex: 5, leafData: (leaves[5] ?? '').replace('patient_self', 'care'), proof })).toBe(false);
    expect(await verifyEntry(result.checkpoint, { leafIndex: 5, leafData: leaves[5] ?? '', proof: ['not base64!'] })).toBe(false);
  });

  it('rejects a bad signature, another key, another origin and an altered checkpoint', async () => {
    const key = generateLogKey(ORIGIN);
    const other = generateLogKey(ORIGIN);
    const note = signCheckpoint({ origin: ORIGIN, size: 3, rootHash: tree.root(3) }, key);
    // One bit of the signature flipped.
    const [text = '', signatureLine = ''] = note.split('\n\n');
    const signature = Buffer.from(signatureLine.split(' ').at(-1) ?? '', 'base64');
    signature[10] = (signature[10] ?? 0) ^ 1;
    const forged = `${text}\n\n\u2014 ${ORIGIN} ${signature.toString('base64')}\n`;
    expect(await verifyCheckpoint(forged, key.verifierKey, ORIGIN)).toEqual({ ok: false, problem: 'bad_signature' });
    // The size changed after signing.
    expect(await verifyCheckpoint(note.replace(`${ORIGIN}\n3\n`, `${ORIGIN}\n4\n`), key.verifierKey, ORIGIN)).toEqual({ ok: false, problem: 'bad_signature' });
    // Signed by another key (with the same name): not ours.
    expect(await verifyCheckpoint(note, other.verifierKey, ORIGIN)).toEqual({ ok: false, problem: 'bad_signature' });
    expect(await verifyCheckpoint(note, key.verifierKey, 'example.org/audit-log')).toEqual({ ok: false, problem: 'origin_mismatch' });
    expect(await verifyCheckpoint(note, `${key.verifierKey.slice(0, -4)}AAA=`, ORIGIN)).toEqual({ ok: false, problem: 'malformed_key' });
    expect(await verifyCheckpoint('not a note', key.verifierKey, ORIGIN)).toEqual({ ok: false, problem: 'malformed_note' });
  });
});
