// The integrator batches appended entries into the Merkle tree, as transparency logs such as Tessera do:
// in one transaction it gives pending entries their leaf index (in append order), stores the tree
// nodes they complete (in tiles, src/audit/tiles.ts), and signs a checkpoint (C2SP tlog-checkpoint)
// for the new size. Appends never wait for it; one integrator at a time holds the state row, so several processes can run it safely.
import { sql } from 'kysely';
import type { Db } from '../kernel/db.js';
import { signCheckpoint, type NoteSigner } from './checkpoint.js';
import { Frontier } from './merkle.js';
import { partialTiles, readTiles, TileBuilder, writeTiles } from './tiles.js';

const DEFAULT_BATCH = 5_000;

export interface IntegrationResult {
  integrated: number;
  size: number;
}

export class LogIntegrator {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> = Promise.resolve();
  /** Called with each integrated batch's id range, for anomaly detection. */
  onIntegrated: ((fromId: number, toId: number) => Promise<void>) | undefined;

  constructor(
    private readonly db: Db,
    private readonly signer: NoteSigner,
    readonly origin: string,
    private readonly now: () => number = Date.now,
  ) {}

  async integrate(batch = DEFAULT_BATCH): Promise<IntegrationResult> {
    const result = await this.db.transaction().execute(async (tx) => {
      const state = await tx.selectFrom('audit_log_state').select(['size', 'frontier']).where('id', '=', 1).forUpdate().executeTakeFirstOrThrow();
      const pending = await tx
        .selectFrom('audit_entries')
        .select(['id', 'leaf_hash'])
        .where('leaf_index', 'is', null)
        .orderBy('id')
        .limit(batch)
        .execute();
      const size = Number(state.size);
      if (pending.length === 0) return { integrated: 0, size, range: null };

      const frontier = Frontier.fromJSON(typeof state.frontier === 'string' ? JSON.parse(state.frontier) : state.frontier);
      const tiles = new TileBuilder();
      for (const tile of await readTiles(tx, partialTiles(size))) tiles.seed(tile);
      for (const entry of pending) frontier.append(Buffer.from(entry.leaf_hash!), (node) => tiles.add(node.level, node.index, node.hash));

      // The leaf hash now lives in its bottom tile, which proofs and the integrity check read: the
      // column only carried it until integration.
      const ids = pending.map((entry) => String(entry.id));
      const indexes = pending.map((_, i) => String(size + i));
      await sql`UPDATE audit_entries SET leaf_index = data.idx, leaf_hash = NULL
        FROM unnest(${ids}::bigint[], ${indexes}::bigint[]) AS data(id, idx)
        WHERE audit_entries.id = data.id`.execute(tx);
      await writeTiles(tx, tiles.take(true));

      const newSize = frontier.size;
      const root = frontier.root();
      const note = signCheckpoint({ origin: this.origin, size: newSize, rootHash: root }, this.signer);
      await tx.insertInto('audit_checkpoints').values({ size: newSize, root_hash: root, note, created_at: new Date(this.now()) }).execute();
      await tx.updateTable('audit_log_state').set({ size: newSize, frontier: JSON.stringify(frontier.toJSON()) }).where('id', '=', 1).execute();
      return { integrated: pending.length, size: newSize, range: [Number(pending[0]!.id), Number(pending[pending.length - 1]!.id)] as const };
    });
    if (result.range && this.onIntegrated) await this.onIntegrated(result.range[0], result.range[1]);
    return { integrated: result.integrated, size: result.size };
  }

  /** Integrates until nothing is pending (tests, shutdown). */
  async flush(): Promise<number> {
    await this.#running;
    let size = 0;
    for (;;) {
      const result = await this.integrate();
      size = result.size;
      if (result.integrated === 0) return size;
    }
  }

  start(intervalMs: number, onError: (error: unknown) => void): void {
    this.#timer = setInterval(() => {
      this.#running = this.#running.then(() => this.integrate()).catch(onError);
    }, intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.#running.catch(() => undefined);
  }
}
