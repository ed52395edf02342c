// Master key rotation without downtime: every stored data key that a retired master key wraps is
// re-wrapped under the current one, in small batches, each in a short transaction of its own; the
// ciphertexts (blobs, the encrypted part of sealed strings) are not touched. The server keeps serving
// throughout: a row reads the same before and after (every key of the ring unwraps), and a row changed
// meanwhile is skipped (the update requires the value it read), already under the current key.
// Once a run reports nothing left under a retired key, that key can leave the ring.
import { sql } from 'kysely';
import type { Db } from '../kernel/db.js';
import { objectContext, type Envelope } from '../kernel/envelope.js';

/**
 * Every column holding a wrapped data key, with the rule that names its context (kernel/envelope.ts
 * objectContext): `<table>/<key>` for an object's own data key, `<table>/<key>/<column>` for a sealed
 * column. Whoever adds an encrypted column adds it here.
 */
export const WRAPPED_COLUMNS = [
  { table: 'documents', key: 'id', column: 'wrapped_key', kind: 'wrapped' },
  { table: 'documents', key: 'id', column: 'file_name_sealed', kind: 'sealed' },
  { table: 'consultation_messages', key: 'id', column: 'body_sealed', kind: 'sealed' },
  { table: 'consultation_reports', key: 'id', column: 'body_sealed', kind: 'sealed' },
  { table: 'prescriptions', key: 'id', column: 'body_sealed', kind: 'sealed' },
  { table: 'record_conditions', key: 'id', column: 'body_sealed', kind: 'sealed' },
] as const;

type WrappedColumn = (typeof WRAPPED_COLUMNS)[number];

export interface RotationReport {
  currentKeyId: string;
  /** Per "table.column": values re-wrapped, values that could not be (unknown key, corrupt). */
  columns: Record<string, { rewrapped: number; failed: number }>;
  rewrapped: number;
  failed: number;
}

const FIRST_UUID = '00000000-0000-0000-0000-000000000000';

export async function rotateDataKeys(db: Db, envelope: Envelope, options: { batchSize?: number; onProgress?: (column: string, rewrapped: number) => void } = {}): Promise<RotationReport> {
  const batchSize = options.batchSize ?? 500;
  const current = envelope.keys.currentKeyId;
  const report: RotationReport = { currentKeyId: current, columns: {}, rewrapped: 0, failed: 0 };
  for (const target of WRAPPED_COLUMNS) {
    const name = `${target.table}.${target.column}`;
    const counts = { rewrapped: 0, failed: 0 };
    report.columns[name] = counts;
    const currentPrefix = target.kind === 'wrapped' ? `k1.${current}.` : `s1:k1.${current}.`;
    let after = FIRST_UUID;
    for (;;) {
      // Keyset pagination: a row that fails is passed over, never read again in this run.
      const { rows } = await sql<{ id: string; value: string }>`
        SELECT ${sql.ref(target.key)} AS id, ${sql.ref(target.column)} AS value FROM ${sql.table(target.table)}
        WHERE ${sql.ref(target.key)} > ${after}::uuid AND NOT starts_with(${sql.ref(target.column)}, ${currentPrefix})
        ORDER BY ${sql.ref(target.key)} LIMIT ${batchSize}`.execute(db);
      if (rows.length === 0) break;
      after = rows.at(-1)!.id;
      const updates: { id: string; from: string; to: string }[] = [];
      for (const row of rows) {
        try {
          updates.push({ id: row.id, from: row.value, to: await rewrap(envelope, target, row.id, row.value) });
        } catch {
          counts.failed += 1;
        }
      }
      await db.transaction().execute(async (tx) => {
        for (const update of updates) {
          const result = await sql`UPDATE ${sql.table(target.table)} SET ${sql.ref(target.column)} = ${update.to}
            WHERE ${sql.ref(target.key)} = ${update.id}::uuid AND ${sql.ref(target.column)} = ${update.from}`.execute(tx);
          if (Number(result.numAffectedRows ?? 0) > 0) counts.rewrapped += 1;
        }
      });
      options.onProgress?.(name, counts.rewrapped);
    }
    report.rewrapped += counts.rewrapped;
    report.failed += counts.failed;
  }
  return report;
}

function rewrap(envelope: Envelope, target: WrappedColumn, id: string, value: string): Promise<string> {
  if (target.kind === 'wrapped') return envelope.rewrapKey(value, objectContext(target.table, id));
  return envelope.rewrapSealed(value, objectContext(target.table, id, target.column));
}

/** How many stored values each master key wraps: tells when a retired key can leave the ring. */
export async function wrappedKeyCensus(db: Db): Promise<Record<string, number>> {
  const census: Record<string, number> = {};
  for (const target of WRAPPED_COLUMNS) {
    // The key id is the second field of "k1.<id>.…", or of "s1:k1.<id>.…".
    const { rows } = await sql<{ value: string; count: string | number }>`
      SELECT split_part(${sql.ref(target.column)}, '.', 2) AS value, count(*) AS count FROM ${sql.table(target.table)} GROUP BY 1`.execute(db);
    for (const row of rows) census[row.value] = (census[row.value] ?? 0) + Number(row.count);
  }
  return census;
}
