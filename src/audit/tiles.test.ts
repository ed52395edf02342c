import { hash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Frontier, HASH_SIZE, MemoryTree } from './merkle.js';
import { nodeInTile, nodePlace, partialTiles, rowOffset, TILE_WIDTH, TileBuilder, tileCount, tileHashCount, tileWidth, type Tile } from './tiles.js';

const leaf = (i: number) => hash('sha256', `leaf ${i}`, 'buffer');

/** Integrates `sizes` leaves batch after batch as the integrator does: seeds the right edge, appends, stores what changed. */
function integrate(batches: number[]): { store: Map<string, Tile>; tree: MemoryTree; writes: number[] } {
  const store = new Map<string, Tile>();
  const tree = new MemoryTree();
  const frontier = new Frontier();
  const writes: number[] = [];
  for (const batch of batches) {
    const builder = new TileBuilder();
    for (const key of partialTiles(frontier.size)) builder.seed(store.get(`${key.level}:${key.index}`)!);
    for (let i = 0; i < batch; i++) {
      const hashOf = leaf(frontier.size);
      tree.append(hashOf);
      frontier.append(hashOf, (node) => builder.add(node.level, node.index, node.hash));
    }
    const changed = builder.take(true);
    writes.push(changed.length);
    for (const tile of changed) store.set(`${tile.level}:${tile.index}`, tile);
  }
  return { store, tree, writes };
}

describe('tree tiles', () => {
  it('places nodes: 64 bottom nodes and the 62 above them per tile, then the next tile-level', () => {
    expect(tileHashCount(64)).toBe(126);
    expect(tileHashCount(1)).toBe(1);
    expect(tileHashCount(5)).toBe(5 + 2 + 1);
    expect(rowOffset(64, 5)).toBe(64 + 32 + 16 + 8 + 4);
    expect(nodePlace(0, 130)).toEqual({ level: 0, index: 2, row: 0, position: 2 });
    expect(nodePlace(5, 3)).toEqual({ level: 0, index: 1, row: 5, position: 1 });
    expect(nodePlace(6, 0)).toEqual({ level: 1, index: 0, row: 0, position: 0 });
    expect(nodePlace(13, 70)).toEqual({ level: 2, index: 2, row: 1, position: 6 });
    expect(partialTiles(0)).toEqual([]);
    expect(partialTiles(4096)).toEqual([{ level: 2, index: 0, width: 1 }]); // the root of 4 096 leaves: bottom of tile-level 2
    expect(partialTiles(4096 + 65)).toEqual([{ level: 0, index: 65, width: 1 }, { level: 1, index: 1, width: 1 }, { level: 2, index: 0, width: 1 }]);
    expect(tileWidth(10 ** 6, 3, 0)).toBe(3);
    expect(tileCount(10 ** 6, 1)).toBe(245);
  });

  it('stores every node of the tree, whatever the batches, rewriting only the right edge', () => {
    for (const batches of [[1], [64], [63, 1, 1], [5000], [1, 2, 3, 4, 5, 100, 4000, 97], Array(300).fill(17)]) {
      const { store, tree, writes } = integrate(batches);
      const size = tree.size;
      for (let level = 0; 2 ** level <= size; level++) {
        for (let index = 0; (index + 1) * 2 ** level <= size; index++) {
          const place = nodePlace(level, index);
          const tile = store.get(`${place.level}:${place.index}`);
          expect(tile && nodeInTile(tile, level, index), `node ${level}:${index} of ${size}`).toEqual(tree.subtreeHash(index * 2 ** level, (index + 1) * 2 ** level));
        }
      }
      // Exactly the tiles of the tree, with their widths; each holds no node past its width.
      const expected = [];
      for (let level = 0; TILE_WIDTH ** level <= size; level++) {
        for (let index = 0; index < tileCount(size, level); index++) expected.push(`${level}:${index}:${tileWidth(size, level, index)}`);
      }
      expect([...store.values()].map((t) => `${t.level}:${t.index}:${t.width}`).sort()).toEqual(expected.sort());
      for (const tile of store.values()) expect(tile.hashes.length).toBe(tileHashCount(tile.width) * HASH_SIZE);
      // An integration writes the tiles it completes and the right edge's: few for small batches.
      if (batches.length === 300) expect(Math.max(...writes)).toBeLessThanOrEqual(4);
    }
  });

  it('refuses nodes out of order', () => {
    const builder = new TileBuilder();
    builder.add(0, 0, leaf(0));
    expect(() => builder.add(0, 2, leaf(2))).toThrow(/out of order/);
  });
});
