// Retention of the audit log (CNIL: 6 months to 1 year, up to 3 years when justified). An expired
// entry is pruned, not deleted: its contents (leaf bytes, who, which patient, from where) are erased and
// its leaf hash stays, so the tree, every checkpoint and every proof remain verifiable.
import type { Db } from '../kernel/db.js';

const DAY_MS = 24 * 3600_000;

export async function pruneExpiredAuditEntries(db: Db, now: number, retentionDays: number): Promise<number> {
  const result = await db
    .updateTable('audit_entries')
    .set({
      leaf_data: null,
      pruned_at: new Date(now),
      actor_user_id: null,
      subject_user_id: null,
      patient_id: null,
      organisation_id: null,
      resource_id: null,
      reason: null,
      request_id: null,
      source_address: null,
      detail: '{}',
    })
    .where('occurred_at', '<', new Date(now - retentionDays * DAY_MS))
    .where('leaf_index', 'is not', null)
    .where('pruned_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}
