import { describe, expect, it } from 'vitest';
import { Frontier, HASH_SIZE, leafHash, MemoryTree, type CompletedNode } from './merkle.js';
import { TreeRebuild } from './verify.js';

const leaf = (i: number) => leafHash(Buffer.from(`leaf ${i}`));

describe('TreeRebuild (the integrity check rebuilding the tree a batch at a time)', () => {
  it('completes the same nodes as the Frontier, in index order per level, and keeps its frontier, for any batch cut', () => {
    for (const total of [1, 2, 3, 7, 8, 9, 31, 64, 100, 130]) {
      for (const batch of [1, 2, 3, 5, 8, 13, 64, 1000]) {
        const frontier = new Frontier();
        const tree = new TreeRebuild();
        const memory = new MemoryTree();
        for (let from = 0; from < total; from += batch) {
          const to = Math.min(from + batch, total);
          const expected: CompletedNode[] = [];
          const leaves: Buffer[] = [];
          for (let i = from; i < to; i++) {
            leaves.push(leaf(i));
            frontier.append(leaf(i), (node) => expected.push(node));
            memory.append(leaf(i));
          }
          const { levels } = tree.append(Buffer.concat(leaves));
          const byLevel = new Map<number, CompletedNode[]>();
          for (const node of expected) byLevel.set(node.level, [...(byLevel.get(node.level) ?? []), node]);
          expect(levels.length, `${total}/${batch} from ${from}`).toBe(byLevel.size);
          for (const [level, nodes] of byLevel) {
            const got = levels[level]!;
            expect(got.length).toBe(nodes.length * HASH_SIZE);
            nodes.forEach((node, i) => expect(got.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE).equals(node.hash)).toBe(true));
          }
          expect(tree.size).toBe(to);
          expect(TreeRebuild.root(tree.carry)!.equals(memory.root())).toBe(true);
        }
      }
    }
  });
});
