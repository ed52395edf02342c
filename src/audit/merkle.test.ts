import { describe, expect, it } from 'vitest';
import {
  Frontier,
  MemoryTree,
  consistencyPathRanges,
  consistencyProof,
  consistencyProofLength,
  emptyRoot,
  inclusionPathRanges,
  inclusionProof,
  inclusionProofLength,
  leafHash,
  nodeHash,
  rootFromLeafHashes,
  verifyConsistency,
  verifyInclusion,
  type CompletedNode,
  type Range,
  type SubtreeSource,
} from './merkle.js';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const hexes = (...s: string[]): Buffer[] => s.map(hex);

// Test vectors of transparency-dev/merkle proof/verify_test.go (also certificate-transparency-go's
// merkle tests, from the RFC 6962 reference implementation). Leaf numbers there are 1-based.
const LEAVES = hexes('', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f');
const ROOTS = hexes(
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
);
const H96 = '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7';
const H5F = '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e';
const H6B = '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4';
const HBC = 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b';
const HCA = 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0';
const HD3 = 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7';
const H0E = '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a';
const INCLUSION: Array<[index: number, size: number, proof: Buffer[]]> = [
  [0, 1, []],
  [0, 8, hexes(H96, H5F, H6B)],
  [5, 8, hexes(HBC, HCA, HD3)],
  [2, 3, hexes('fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125')],
  [1, 5, hexes('6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d', H5F, HBC)],
];
const CONSISTENCY: Array<[m: number, n: number, proof: Buffer[]]> = [
  [1, 1, []],
  [1, 8, hexes(H96, H5F, H6B)],
  [6, 8, hexes(H0E, HCA, HD3)],
  [2, 5, hexes(H5F, HBC)],
  [6, 7, hexes(H0E, 'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f', HD3)],
];

// An independent reference: the RFC 9162 §2.1 definitions transcribed literally (recursion, slices).
const split = (n: number): number => 2 ** Math.ceil(Math.log2(n) - 1);
function mth(d: Buffer[]): Buffer {
  if (d.length === 0) return emptyRoot();
  if (d.length === 1) return d[0]!;
  const k = split(d.length);
  return nodeHash(mth(d.slice(0, k)), mth(d.slice(k)));
}
function path(m: number, d: Buffer[]): Buffer[] {
  if (d.length === 1) return [];
  const k = split(d.length);
  return m < k ? [...path(m, d.slice(0, k)), mth(d.slice(k))] : [...path(m - k, d.slice(k)), mth(d.slice(0, k))];
}
function subproof(m: number, d: Buffer[], b: boolean): Buffer[] {
  if (m === d.length) return b ? [] : [mth(d)];
  const k = split(d.length);
  return m <= k
    ? [...subproof(m, d.slice(0, k), b), mth(d.slice(k))]
    : [...subproof(m - k, d.slice(k), false), mth(d.slice(0, k))];
}

const DATA = Array.from({ length: 300 }, (_, i) => leafHash(Buffer.from(`audit entry ${i}`)));
const TREE = MemoryTree.fromLeafHashes(DATA);
const ROOT = Array.from({ length: DATA.length + 1 }, (_, n) => TREE.root(n));
const flip = (proof: Buffer[], j: number, bit: number): Buffer[] =>
  proof.map((p, k) => (k === j ? Buffer.from(p.map((byte, b) => (b === bit >> 3 ? byte ^ (1 << (bit & 7)) : byte))) : p));
const bitsToFlip = (n: number, salt: number): number[] =>
  n <= 16 ? Array.from({ length: 256 }, (_, b) => b) : [salt % 256, (salt * 7 + 101) % 256];

describe('RFC 9162 hashing', () => {
  it('matches the transparency-dev rfc6962 hasher vectors', () => {
    expect(emptyRoot().toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(leafHash(Buffer.alloc(0)).toString('hex')).toBe(ROOTS[0]!.toString('hex'));
    expect(leafHash(Buffer.from('L123456')).toString('hex')).toBe(
      '395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56',
    );
    expect(nodeHash(Buffer.from('N123'), Buffer.from('N456')).toString('hex')).toBe(
      'aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb',
    );
  });

  it('gives the published roots for sizes 1 to 8', () => {
    const hashes = LEAVES.map(leafHash);
    const frontier = new Frontier();
    for (let n = 1; n <= 8; n++) {
      frontier.append(hashes[n - 1]!);
      expect(rootFromLeafHashes(hashes.slice(0, n))).toEqual(ROOTS[n - 1]);
      expect(frontier.root()).toEqual(ROOTS[n - 1]);
      expect(MemoryTree.fromLeafHashes(hashes).root(n)).toEqual(ROOTS[n - 1]);
    }
    expect(rootFromLeafHashes([])).toEqual(emptyRoot());
  });

  it('reproduces and verifies the published inclusion proofs', async () => {
    const tree = MemoryTree.fromLeafHashes(LEAVES.map(leafHash));
    for (const [index, size, proof] of INCLUSION) {
      expect(await inclusionProof(index, size, tree)).toEqual(proof);
      expect(verifyInclusion(index, size, leafHash(LEAVES[index]!), proof, ROOTS[size - 1]!)).toBe(true);
    }
  });

  it('reproduces and verifies the published consistency proofs', async () => {
    const tree = MemoryTree.fromLeafHashes(LEAVES.map(leafHash));
    for (const [m, n, proof] of CONSISTENCY) {
      expect(await consistencyProof(m, n, tree)).toEqual(proof);
      expect(verifyConsistency(m, n, ROOTS[m - 1]!, ROOTS[n - 1]!, proof)).toBe(true);
    }
  });

  // transparency-dev/merkle proof/proof_test.go: node IDs (level, index) per proof; rehash(b, e) folds
  // ids[b:e] into the one ephemeral node. Our proofs are lists of ranges; the two must describe the same nodes.
  const go = (ids: Array<[number, number]>, rehash?: [number, number]): Range[] => {
    const r: Range[] = ids.map(([level, i]) => [i * 2 ** level, (i + 1) * 2 ** level]);
    if (!rehash) return r;
    const group = r.slice(...rehash);
    const merged: Range = [Math.min(...group.map((x) => x[0])), Math.max(...group.map((x) => x[1]))];
    return [...r.slice(0, rehash[0]), merged, ...r.slice(rehash[1])];
  };
  it('needs the same tree nodes as transparency-dev/merkle for inclusion proofs', () => {
    const cases: Array<[number, number, Range[]]> = [
      [1, 0, []],
      [2, 0, go([[0, 1]])],
      [2, 1, go([[0, 0]])],
      [3, 1, go([[0, 0], [0, 2]])],
      [7, 0, go([[0, 1], [1, 1], [0, 6], [1, 2]], [2, 4])],
      [7, 1, go([[0, 0], [1, 1], [0, 6], [1, 2]], [2, 4])],
      [7, 2, go([[0, 3], [1, 0], [0, 6], [1, 2]], [2, 4])],
      [7, 3, go([[0, 2], [1, 0], [0, 6], [1, 2]], [2, 4])],
      [7, 4, go([[0, 5], [0, 6], [2, 0]])],
      [7, 5, go([[0, 4], [0, 6], [2, 0]])],
      [7, 6, go([[1, 2], [2, 0]])],
      [4, 2, go([[0, 3], [1, 0]])],
      [5, 3, go([[0, 2], [1, 0], [0, 4]])],
      [6, 3, go([[0, 2], [1, 0], [1, 2]])],
      [6, 4, go([[0, 5], [2, 0]])],
      [15, 10, go([[0, 11], [1, 4], [0, 14], [1, 6], [3, 0]], [2, 4])],
      [31, 24, go([[0, 25], [1, 13], [0, 30], [1, 14], [3, 2], [4, 0]], [2, 4])],
      [95, 81, go([[0, 80], [1, 41], [2, 21], [0, 94], [1, 46], [2, 22], [4, 4], [6, 0]], [3, 6])],
    ];
    for (const [size, index, want] of cases) expect(inclusionPathRanges(index, size), `${index}/${size}`).toEqual(want);
  });

  it('needs the same tree nodes as transparency-dev/merkle for consistency proofs', () => {
    const cases: Array<[number, number, Range[]]> = [
      [1, 2, go([[0, 1]])],
      [1, 4, go([[0, 1], [1, 1]])],
      [1, 6, go([[0, 1], [1, 1], [1, 2]])],
      [2, 3, go([[0, 2]])],
      [2, 8, go([[1, 1], [2, 1]])],
      [3, 7, go([[0, 2], [0, 3], [1, 0], [0, 6], [1, 2]], [3, 5])],
      [4, 7, go([[0, 6], [1, 2]], [0, 2])],
      [5, 7, go([[0, 4], [0, 5], [0, 6], [2, 0]])],
      [6, 7, go([[1, 2], [0, 6], [2, 0]])],
      [7, 8, go([[0, 6], [0, 7], [1, 2], [2, 0]])],
      [2, 4, go([[1, 1]])],
      [3, 5, go([[0, 2], [0, 3], [1, 0], [0, 4]])],
      [3, 6, go([[0, 2], [0, 3], [1, 0], [1, 2]])],
      [4, 6, go([[1, 2]])],
      [1, 7, go([[0, 1], [1, 1], [0, 6], [1, 2]], [2, 4])],
      [10, 15, go([[1, 4], [1, 5], [0, 14], [1, 6], [3, 0]], [2, 4])],
      [24, 31, go([[3, 2], [0, 30], [1, 14], [2, 6], [4, 0]], [1, 4])],
      [81, 95, go([[0, 80], [0, 81], [1, 41], [2, 21], [0, 94], [1, 46], [2, 22], [4, 4], [6, 0]], [4, 7])],
      ...[1, 2, 3, 4, 5, 7, 8].map((s): [number, number, Range[]] => [s, s, []]),
    ];
    for (const [m, n, want] of cases) expect(consistencyPathRanges(m, n), `${m}→${n}`).toEqual(want);
  });
});

describe('inclusion proofs, every leaf of every tree up to 70', () => {
  it('are the RFC audit paths, of the documented length, verify, and nothing else verifies', async () => {
    const failures: string[] = [];
    const fail = (ok: boolean, what: string): void => void (ok || failures.push(what));
    for (let n = 1; n <= 70; n++) {
      for (let i = 0; i < n; i++) {
        const at = `leaf ${i} of ${n}`;
        const leaf = DATA[i]!;
        const proof = await inclusionProof(i, n, TREE);
        fail(Buffer.concat(proof).equals(Buffer.concat(path(i, DATA.slice(0, n)))), `${at}: not PATH(m, D[n])`);
        fail(proof.length === inclusionProofLength(i, n), `${at}: length rule`);
        fail(proof.length <= Math.ceil(Math.log2(n)), `${at}: longer than ceil(log2 n)`);
        fail(verifyInclusion(i, n, leaf, proof, ROOT[n]!), `${at}: does not verify`);
        const bad = (what: string, ok: boolean): void => fail(!ok, `${at}: verifies with ${what}`);
        proof.forEach((_, j) => {
          for (const bit of bitsToFlip(n, i * 31 + j * 17 + n)) {
            bad(`bit ${bit} of hash ${j} flipped`, verifyInclusion(i, n, leaf, flip(proof, j, bit), ROOT[n]!));
          }
        });
        for (let other = 0; other <= n; other++) {
          if (other !== i) bad(`index ${other}`, verifyInclusion(other, n, leaf, proof, ROOT[n]!));
          if (other !== i && other < n) bad(`leaf ${other}`, verifyInclusion(i, n, DATA[other]!, proof, ROOT[n]!));
        }
        for (const size of [n - 1, n + 1, 2 * n, Math.floor(n / 2), n + 7]) {
          if (size === n || size <= i) continue;
          bad(`size ${size}, its true root`, verifyInclusion(i, size, leaf, proof, ROOT[size]!));
        }
        for (const size of [2 * n, Math.floor(n / 2)]) {
          if (size !== n && size > i) bad(`size ${size}, same root`, verifyInclusion(i, size, leaf, proof, ROOT[n]!));
        }
        for (const root of [ROOT[n - 1]!, ROOT[n + 1]!, emptyRoot()]) bad('a wrong root', verifyInclusion(i, n, leaf, proof, root));
        bad('a trailing hash', verifyInclusion(i, n, leaf, [...proof, ROOT[n]!], ROOT[n]!));
        bad('a leading hash', verifyInclusion(i, n, leaf, [ROOT[n]!, ...proof], ROOT[n]!));
        bad('a short hash', verifyInclusion(i, n, leaf, [...proof, Buffer.alloc(0)], ROOT[n]!));
        if (proof.length > 0) bad('a hash removed', verifyInclusion(i, n, leaf, proof.slice(0, -1), ROOT[n]!));
      }
    }
    expect(failures).toEqual([]);
  });

  it('rejects impossible requests', async () => {
    await expect(inclusionProof(3, 3, TREE)).rejects.toThrow(RangeError);
    await expect(inclusionProof(-1, 3, TREE)).rejects.toThrow(RangeError);
    await expect(inclusionProof(0.5, 3, TREE)).rejects.toThrow(RangeError);
    expect(verifyInclusion(0, 0, DATA[0]!, [], emptyRoot())).toBe(false);
    expect(verifyInclusion(Number.NaN, 1, DATA[0]!, [], DATA[0]!)).toBe(false);
    expect(verifyInclusion(0, 1, Buffer.from('WrongLeaf'), [], DATA[0]!)).toBe(false);
    expect(verifyInclusion(0, 1, DATA[0]!, [], DATA[0]!)).toBe(true);
  });
});

describe('consistency proofs, every pair of sizes up to 70', () => {
  it('are the RFC proofs, of the documented length, verify, and nothing else verifies', async () => {
    const failures: string[] = [];
    const fail = (ok: boolean, what: string): void => void (ok || failures.push(what));
    for (let n = 1; n <= 70; n++) {
      for (let m = 1; m < n; m++) {
        const at = `${m}→${n}`;
        const proof = await consistencyProof(m, n, TREE);
        fail(Buffer.concat(proof).equals(Buffer.concat(subproof(m, DATA.slice(0, n), true))), `${at}: not PROOF(m, D[n])`);
        fail(proof.length === consistencyProofLength(m, n), `${at}: length rule`);
        fail(proof.length <= Math.ceil(Math.log2(n)) + 1, `${at}: longer than ceil(log2 n) + 1`);
        fail(verifyConsistency(m, n, ROOT[m]!, ROOT[n]!, proof), `${at}: does not verify`);
        const bad = (what: string, ok: boolean): void => fail(!ok, `${at}: verifies with ${what}`);
        proof.forEach((_, j) => {
          for (const bit of bitsToFlip(n, m * 31 + j * 17 + n)) {
            bad(`bit ${bit} of hash ${j} flipped`, verifyConsistency(m, n, ROOT[m]!, ROOT[n]!, flip(proof, j, bit)));
          }
        });
        const sizes = [[m - 1, n], [m + 1, n], [m ^ 2, n], [m, n - 1], [m, n + 1], [m, 2 * n], [m, n >> 1]] as const;
        for (const [m2, n2] of sizes) {
          if ((m2 === m && n2 === n) || m2 < 0 || m2 > n2) continue;
          bad(`sizes ${m2}→${n2}, their true roots`, verifyConsistency(m2, n2, ROOT[m2]!, ROOT[n2]!, proof));
          // Only a signed tree head binds a size to a root: with the same roots, n ± 1 can verify.
          if (n2 === 2 * n || n2 === n >> 1 || m2 !== m) {
            bad(`sizes ${m2}→${n2}, same roots`, verifyConsistency(m2, n2, ROOT[m]!, ROOT[n]!, proof));
          }
        }
        bad('swapped roots', verifyConsistency(m, n, ROOT[n]!, ROOT[m]!, proof));
        bad('a wrong old root', verifyConsistency(m, n, ROOT[m - 1]!, ROOT[n]!, proof));
        bad('a wrong new root', verifyConsistency(m, n, ROOT[m]!, ROOT[n + 1]!, proof));
        bad('an empty proof', verifyConsistency(m, n, ROOT[m]!, ROOT[n]!, []));
        bad('a hash removed', verifyConsistency(m, n, ROOT[m]!, ROOT[n]!, proof.slice(0, -1)));
        bad('a trailing hash', verifyConsistency(m, n, ROOT[m]!, ROOT[n]!, [...proof, ROOT[n]!]));
        bad('a leading hash', verifyConsistency(m, n, ROOT[m]!, ROOT[n]!, [ROOT[m]!, ...proof]));
      }
    }
    expect(failures).toEqual([]);
  });

  it('handles the trivial cases outside 0 < m < n', async () => {
    expect(await consistencyProof(5, 5, TREE)).toEqual([]);
    expect(await consistencyProof(0, 5, TREE)).toEqual([]);
    await expect(consistencyProof(6, 5, TREE)).rejects.toThrow(RangeError);
    expect(verifyConsistency(5, 5, ROOT[5]!, ROOT[5]!, [])).toBe(true);
    expect(verifyConsistency(5, 5, ROOT[5]!, ROOT[6]!, [])).toBe(false);
    expect(verifyConsistency(5, 5, ROOT[5]!, ROOT[5]!, [ROOT[5]!])).toBe(false);
    expect(verifyConsistency(0, 5, emptyRoot(), ROOT[5]!, [])).toBe(true);
    expect(verifyConsistency(0, 5, ROOT[1]!, ROOT[5]!, [])).toBe(false);
    expect(verifyConsistency(0, 0, emptyRoot(), emptyRoot(), [])).toBe(true);
    expect(verifyConsistency(6, 5, ROOT[6]!, ROOT[5]!, [])).toBe(false);
  });
});

describe('Frontier', () => {
  it('gives MTH at every size up to 300, survives a JSON round trip at each, and reports every node', () => {
    const frontier = new Frontier();
    const nodes = new Map<string, Buffer>();
    const record = (node: CompletedNode): void => void nodes.set(`${node.level}/${node.index}`, node.hash);
    for (let n = 0; n <= DATA.length; n++) {
      const want = mth(DATA.slice(0, n));
      expect(frontier.size).toBe(n);
      expect(frontier.root(), `size ${n}`).toEqual(want);
      expect(rootFromLeafHashes(DATA.slice(0, n))).toEqual(want);
      expect(TREE.root(n)).toEqual(want);
      const revived = Frontier.fromJSON(JSON.parse(JSON.stringify(frontier)));
      expect(revived.toJSON()).toEqual(frontier.toJSON());
      expect(revived.root()).toEqual(want);
      revived.appendAll(DATA.slice(n));
      expect(revived.root()).toEqual(ROOT[DATA.length]);
      if (n < DATA.length) frontier.append(DATA[n]!, record);
    }
    // The reported nodes are exactly the perfect subtrees of the tree: enough to serve every proof.
    expect(nodes.size).toBe(2 * DATA.length - 4); // 2n - popcount(n): 300 = 256 + 32 + 8 + 4
    for (const [key, hash] of nodes) {
      const [level, index] = key.split('/').map(Number) as [number, number];
      expect(hash).toEqual(TREE.subtreeHash(index * 2 ** level, (index + 1) * 2 ** level));
    }
  });

  it('serves proofs from persisted nodes through an async source', async () => {
    const store = new Map<string, Buffer>();
    const frontier = new Frontier();
    frontier.appendAll(DATA.slice(0, 200), (node) => void store.set(`${node.level}/${node.index}`, node.hash));
    const source: SubtreeSource = {
      subtreeHash: async (start, end) => {
        const width = end - start;
        const hash = store.get(`${Math.log2(width)}/${start / width}`);
        if (!hash) throw new Error(`missing node [${start}, ${end})`);
        return Promise.resolve(hash);
      },
    };
    for (const [i, n] of [[0, 200], [199, 200], [77, 150], [128, 129]] as const) {
      expect(verifyInclusion(i, n, DATA[i]!, await inclusionProof(i, n, source), ROOT[n]!)).toBe(true);
    }
    expect(verifyConsistency(37, 200, ROOT[37]!, frontier.root(), await consistencyProof(37, 200, source))).toBe(true);
  });

  it('rejects malformed state and leaves', () => {
    const good = (() => {
      const f = new Frontier();
      f.appendAll(DATA.slice(0, 5));
      return f.toJSON();
    })();
    for (const bad of [
      null,
      'x',
      { ...good, size: 8 },
      { ...good, size: -1 },
      { ...good, size: 5.5 },
      { ...good, hashes: [good.hashes[0]] },
      { ...good, hashes: [good.hashes[0], 'zz'] },
      { ...good, hashes: [good.hashes[0], good.hashes[1]!.toUpperCase()] },
    ]) {
      expect(() => Frontier.fromJSON(bad), JSON.stringify(bad)).toThrow(RangeError);
    }
    expect(() => new Frontier().append(Buffer.alloc(31))).toThrow(RangeError);
    expect(() => TREE.subtreeHash(1, 3)).toThrow(RangeError);
    expect(() => TREE.subtreeHash(256, 512)).toThrow(RangeError);
  });
});
