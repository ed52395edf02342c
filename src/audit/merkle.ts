// The Merkle tree of the audit transparency log, exactly as RFC 9162 §2.1 (CT v2, hashing as RFC 6962)
// defines it: pure functions, no storage. Sizes and indices are numbers checked to be safe integers
// (< 2^53); no bitwise operator touches them, as those truncate to 32 bits.
import { hash } from 'node:crypto';

export const HASH_SIZE = 32;
const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);
const MAX_PROOF = 64; // no tree of < 2^53 leaves has a longer proof: cheap rejection of junk input

/** RFC 9162 §2.1.1: the hash of a leaf, MTH({d}) = SHA-256(0x00 || d). */
export function leafHash(data: Uint8Array): Buffer {
  return hash('sha256', Buffer.concat([LEAF_PREFIX, data]), 'buffer');
}

const scratch = Buffer.alloc(1 + 2 * HASH_SIZE, NODE_PREFIX);
/** RFC 9162 §2.1.1: an interior node, SHA-256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  if (left.length !== HASH_SIZE || right.length !== HASH_SIZE) {
    return hash('sha256', Buffer.concat([NODE_PREFIX, left, right]), 'buffer');
  }
  scratch.set(left, 1); // one-shot hashing of a reused buffer: the hot path of 10^6-leaf trees
  scratch.set(right, 1 + HASH_SIZE);
  return hash('sha256', scratch, 'buffer');
}

/** RFC 9162 §2.1.1: the root of the empty tree, MTH({}) = SHA-256(""). */
export function emptyRoot(): Buffer {
  return hash('sha256', Buffer.alloc(0), 'buffer');
}

/** [start, end): the leaves D[start:end]. */
export type Range = readonly [start: number, end: number];

/**
 * Where proofs get their hashes: the hash of the *perfect* subtree over leaves [start, end), where
 * end - start is a power of two and start is a multiple of it (a node of the tree: level log2(end -
 * start), index start / (end - start)). Store every node the Frontier reports, or all leaf hashes in
 * a MemoryTree; a proof needs at most 2·log2(n) lookups.
 */
export interface SubtreeSource {
  subtreeHash(start: number, end: number): Promise<Buffer> | Buffer;
}

/** A node completed by an append: covers leaves [index·2^level, (index+1)·2^level). */
export interface CompletedNode { level: number; index: number; hash: Buffer }

function check(ok: boolean, message: string): asserts ok {
  if (!ok) throw new RangeError(message);
}
const isCount = (v: number): boolean => Number.isSafeInteger(v) && v >= 0;
const isHash = (h: unknown): h is Uint8Array => h instanceof Uint8Array && h.length === HASH_SIZE;
const half = (v: number): number => Math.floor(v / 2);
const odd = (v: number): boolean => v % 2 === 1;
/** RFC 9162 §2.1.1: k, the largest power of two smaller than n (n > 1). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}
const isPowerOfTwo = (n: number): boolean => n === 1 || (n > 1 && splitPoint(n) * 2 === n);
const copy = (h: Uint8Array): Buffer => Buffer.concat([h]); // Buffer.from(Uint8Array) is much slower
function item<T>(list: readonly T[], i: number): T {
  const value = list[i];
  if (value === undefined) throw new RangeError(`no element ${i}`);
  return value;
}

/** MTH of consecutive perfect subtrees of decreasing size: RFC 9162 §2.1.1 recursion, right to left. */
function foldRight(hashes: readonly Buffer[]): Buffer {
  let root = item(hashes, hashes.length - 1);
  for (let i = hashes.length - 2; i >= 0; i--) root = nodeHash(item(hashes, i), root);
  return root;
}

/**
 * The perfect subtrees whose MTH fold gives MTH(D[start:end]), left to right: the RFC 9162 §2.1.1 split
 * "k = largest power of two < n" applied until the right part is perfect. Each must be a node of the tree.
 */
export function perfectSubtrees(start: number, end: number): Range[] {
  check(isCount(start) && isCount(end) && start < end, `bad range [${start}, ${end})`);
  const out: Range[] = [];
  for (let s = start, n = end - start; n > 0; ) {
    let k = 1;
    while (k * 2 <= n) k *= 2;
    check(s % k === 0, `[${start}, ${end}) is not a subtree of the log`);
    out.push([s, s + k]);
    s += k;
    n -= k;
  }
  return out;
}

/** MTH(D[start:end]) from a source of perfect subtrees. */
export async function rangeHash(source: SubtreeSource, start: number, end: number): Promise<Buffer> {
  if (start === end) return emptyRoot();
  const parts = await Promise.all(perfectSubtrees(start, end).map(([s, e]) => source.subtreeHash(s, e)));
  parts.forEach((h, i) => check(isHash(h), `subtree source returned no 32-byte hash for part ${i}`));
  return foldRight(parts);
}

/** MTH of the consecutive perfect subtrees of a range (perfectSubtrees order), given their hashes. */
export function foldHashes(hashes: readonly Buffer[]): Buffer {
  hashes.forEach((h, i) => check(isHash(h), `no 32-byte hash for part ${i}`));
  return foldRight(hashes);
}

/** RFC 9162 §2.1.1, iteratively: MTH of a list of leaf hashes in O(n) time and O(log n) memory. */
export function rootFromLeafHashes(hashes: readonly Uint8Array[]): Buffer {
  const frontier = new Frontier();
  frontier.appendAll(hashes);
  return frontier.root();
}

/**
 * RFC 9162 §2.1.3.1 PATH(m, D[n]) as ranges: each element of the audit path is MTH of one range, deepest
 * first. All are perfect subtrees except at most one (the right edge, a fold of ≤ log2 n nodes).
 */
export function inclusionPathRanges(index: number, size: number): Range[] {
  check(isCount(index) && isCount(size) && index < size, `leaf ${index} is not in a tree of ${size}`);
  const path: Range[] = [];
  let [start, end] = [0, size];
  while (end - start > 1) {
    const mid = start + splitPoint(end - start);
    if (index < mid) {
      path.push([mid, end]); // PATH(m, D[0:k]) : MTH(D[k:n])
      end = mid;
    } else {
      path.push([start, mid]); // PATH(m - k, D[k:n]) : MTH(D[0:k])
      start = mid;
    }
  }
  return path.reverse();
}

/**
 * RFC 9162 §2.1.4.1 PROOF(m, D[n]) = SUBPROOF(m, D[n], true) as ranges, in proof order. Empty for m = 0 or
 * m = n (outside the RFC, which defines 0 < m < n: nothing to prove).
 */
export function consistencyPathRanges(m: number, n: number): Range[] {
  check(isCount(m) && isCount(n) && m <= n, `no consistency proof from ${m} to ${n}`);
  const out: Range[] = [];
  if (m === 0 || m === n) return out;
  let [start, end, complete] = [0, n, true]; // complete: the b flag of SUBPROOF
  for (let rest = m; ; ) {
    if (rest === end - start) {
      if (!complete) out.push([start, end]); // SUBPROOF(m, D[m], false) = {MTH(D[m])}
      break;
    }
    const k = splitPoint(end - start);
    if (rest <= k) {
      out.push([start + k, end]); // SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
      end = start + k;
    } else {
      out.push([start, start + k]); // SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
      start += k;
      rest -= k;
      complete = false;
    }
  }
  return out.reverse();
}

/** RFC 9162 §2.1.3.1: the audit path of leaf `index` in the tree of `size` leaves. */
export async function inclusionProof(index: number, size: number, source: SubtreeSource): Promise<Buffer[]> {
  return Promise.all(inclusionPathRanges(index, size).map(([s, e]) => rangeHash(source, s, e)));
}

/** RFC 9162 §2.1.4.1: the consistency proof from the tree of m leaves to the tree of n leaves. */
export async function consistencyProof(m: number, n: number, source: SubtreeSource): Promise<Buffer[]> {
  return Promise.all(consistencyPathRanges(m, n).map(([s, e]) => rangeHash(source, s, e)));
}

const bitLength = (v: bigint): number => (v === 0n ? 0 : v.toString(2).length);
const popCount = (v: bigint): number => v.toString(2).replaceAll('0', '').length;

/**
 * The exact audit path length: with inner = bitLength(index XOR (size - 1)) (the levels below the point
 * where the paths to `index` and to the last leaf part), it is inner + popCount(index >> inner). Always
 * ≤ ceil(log2 size); 0 for a tree of one leaf.
 */
export function inclusionProofLength(index: number, size: number): number {
  check(isCount(index) && isCount(size) && index < size, `leaf ${index} is not in a tree of ${size}`);
  const inner = bitLength(BigInt(index) ^ BigInt(size - 1));
  return inner + popCount(BigInt(index) >> BigInt(inner));
}

/**
 * The exact consistency proof length for 0 < m < n: the inclusion path length of leaf m - 1 in the tree
 * of n, minus the trailing zero bits of m (those levels are inside the old tree's last perfect subtree),
 * plus 1 unless m is a power of two (then the verifier seeds with the old root itself). 0 if m = 0 or n.
 */
export function consistencyProofLength(m: number, n: number): number {
  check(isCount(m) && isCount(n) && m <= n, `no consistency proof from ${m} to ${n}`);
  if (m === 0 || m === n) return 0;
  const shift = bitLength(BigInt(m) & -BigInt(m)) - 1; // trailing zero bits of m
  return inclusionProofLength(m - 1, n) - shift + (isPowerOfTwo(m) ? 0 : 1);
}

/**
 * RFC 9162 §2.1.3.2: is `leaf` (a leaf hash) at `index` in the tree of `size` with this root? Never throws.
 * The proof does not pin the size by itself (size ± 1 may pass with the same root): take size and root
 * together from one verified checkpoint, as for verifyConsistency.
 */
export function verifyInclusion(index: number, size: number, leaf: Uint8Array,
  proof: readonly Uint8Array[], root: Uint8Array): boolean {
  if (!isCount(index) || !isCount(size) || !isHash(leaf) || !isHash(root)) return false;
  if (proof.length > MAX_PROOF || !proof.every(isHash)) return false;
  if (index >= size) return false; // 1.
  let [fn, sn] = [index, size - 1]; // 2.
  let r = copy(leaf); // 3.
  for (const p of proof) { // 4.
    if (sn === 0) return false; // 4a.
    if (odd(fn) || fn === sn) {
      r = nodeHash(p, r); // 4b.i.
      while (!odd(fn) && fn !== 0) [fn, sn] = [half(fn), half(sn)]; // 4b.ii.
    } else {
      r = nodeHash(r, p); // 4b, otherwise
    }
    [fn, sn] = [half(fn), half(sn)]; // 4c.
  }
  return sn === 0 && r.equals(root); // 5.
}

/**
 * RFC 9162 §2.1.4.2: is the tree of n leaves with `newRoot` an append-only extension of the tree of m
 * leaves with `oldRoot`? Beyond the RFC's 0 < m < n: m = n holds iff the proof is empty and the roots are
 * equal; m = 0 holds iff the proof is empty and oldRoot is the empty-tree root. Never throws.
 */
export function verifyConsistency(m: number, n: number, oldRoot: Uint8Array, newRoot: Uint8Array,
  proof: readonly Uint8Array[]): boolean {
  if (!isCount(m) || !isCount(n) || m > n || !isHash(oldRoot) || !isHash(newRoot)) return false;
  if (proof.length > MAX_PROOF || !proof.every(isHash)) return false;
  if (m === n) return proof.length === 0 && Buffer.compare(oldRoot, newRoot) === 0;
  if (m === 0) return proof.length === 0 && emptyRoot().equals(oldRoot);
  if (proof.length === 0) return false; // 1.
  const path = isPowerOfTwo(m) ? [oldRoot, ...proof] : [...proof]; // 2.
  let [fn, sn] = [m - 1, n - 1]; // 3.
  while (odd(fn)) [fn, sn] = [half(fn), half(sn)]; // 4.
  let fr = copy(item(path, 0)); // 5.
  let sr = fr;
  for (const c of path.slice(1)) { // 6.
    if (sn === 0) return false; // 6a.
    if (odd(fn) || fn === sn) {
      fr = nodeHash(c, fr); // 6b.i.
      sr = nodeHash(c, sr); // 6b.ii.
      while (!odd(fn) && fn !== 0) [fn, sn] = [half(fn), half(sn)]; // 6b.iii.
    } else {
      sr = nodeHash(sr, c); // 6b, otherwise
    }
    [fn, sn] = [half(fn), half(sn)]; // 6c.
  }
  return fr.equals(oldRoot) && sr.equals(newRoot) && sn === 0; // 7.
}

/** The serialised Frontier: the tree size and the roots of its perfect subtrees, left to right, in hex. */
export interface FrontierJSON { size: number; hashes: string[] }

/**
 * The right edge of the tree (a "compact range" [0, size)): one hash per set bit of size, largest
 * subtree first. Appending is amortised O(1) hashes, the root O(log n); this is what computes new tree
 * heads. `onNode` sees every node completed by an append (the leaf first): persist them to serve proofs.
 */
export class Frontier {
  #size = 0;
  readonly #hashes: Buffer[] = [];

  get size(): number { return this.#size; }

  append(leaf: Uint8Array, onNode?: (node: CompletedNode) => void): void {
    check(isHash(leaf), 'a leaf hash is 32 bytes');
    check(this.#size < Number.MAX_SAFE_INTEGER, 'tree is full');
    let node = copy(leaf);
    let level = 0;
    let index = this.#size;
    onNode?.({ level, index, hash: node });
    this.#hashes.push(node);
    this.#size += 1;
    for (let s = this.#size; s % 2 === 0; s /= 2) {
      const right = this.#hashes.pop();
      const left = this.#hashes.pop();
      if (right === undefined || left === undefined) throw new Error('frontier corrupted');
      node = nodeHash(left, right);
      this.#hashes.push(node);
      level += 1;
      index = half(index);
      onNode?.({ level, index, hash: node });
    }
  }

  appendAll(leaves: Iterable<Uint8Array>, onNode?: (node: CompletedNode) => void): void {
    for (const leaf of leaves) this.append(leaf, onNode);
  }

  /** RFC 9162 §2.1.1: MTH(D[0:size]). */
  root(): Buffer {
    return this.#size === 0 ? emptyRoot() : foldRight(this.#hashes);
  }

  toJSON(): FrontierJSON {
    return { size: this.#size, hashes: this.#hashes.map((h) => h.toString('hex')) };
  }

  static fromJSON(json: unknown): Frontier {
    const value = json as Partial<FrontierJSON> | null;
    const size = value?.size;
    const hashes = value?.hashes;
    check(typeof size === 'number' && isCount(size), 'frontier: bad size');
    check(Array.isArray(hashes) && hashes.length === popCount(BigInt(size)), 'frontier: wrong number of hashes');
    const frontier = new Frontier();
    for (const h of hashes) {
      check(typeof h === 'string' && /^[0-9a-f]{64}$/.test(h), 'frontier: bad hash');
      frontier.#hashes.push(Buffer.from(h, 'hex'));
    }
    frontier.#size = size;
    return frontier;
  }
}

/** Every node of the tree in memory (2n hashes): a SubtreeSource for tests, tools and small logs. */
export class MemoryTree implements SubtreeSource {
  readonly #levels: Buffer[][] = [[]];
  readonly #frontier = new Frontier();

  static fromLeafHashes(leaves: Iterable<Uint8Array>): MemoryTree {
    const tree = new MemoryTree();
    for (const leaf of leaves) tree.append(leaf);
    return tree;
  }

  get size(): number { return this.#frontier.size; }

  append(leaf: Uint8Array): void {
    this.#frontier.append(leaf, ({ level, hash }) => {
      while (this.#levels.length <= level) this.#levels.push([]);
      item(this.#levels, level).push(hash);
    });
  }

  subtreeHash(start: number, end: number): Buffer {
    const width = end - start;
    check(isCount(start) && end <= this.size && isPowerOfTwo(width) && start % width === 0, 'not a node');
    let level = 0;
    for (let w = width; w > 1; w /= 2) level++;
    return item(item(this.#levels, level), start / width);
  }

  /** MTH(D[0:size]) for any past size. */
  root(size = this.size): Buffer {
    check(isCount(size) && size <= this.size, `no tree of size ${size}`);
    return size === 0 ? emptyRoot() : foldRight(perfectSubtrees(0, size).map(([s, e]) => this.subtreeHash(s, e)));
  }
}
