// The rows of #/acces. A professional who opens their patient list, their agenda or a patient search ten
// times a day leaves ten list views in each listed patient's history (src/audit/log.ts LIST_VIEW): shown
// one per line, they bury the reads of the record that matter. Consecutive list views that differ only by
// their time within one day are shown as one row that counts them; each stays listed and verified inside it.

/** What a row needs of an entry (AccessEntry in pages/Access.tsx). */
export interface GroupableEntry {
  at: string;
  action: string;
  outcome: string;
  actor: { id: string } | null;
  basis: string | null;
  resourceType: string | null;
  purpose: string | null;
  reason: string | null;
  application?: { clientId: string } | null;
}

/** Indexes into the entries (newest first), in their order: one for a single entry, several for a group. */
export type AccessRow = { kind: 'single'; index: number } | { kind: 'group'; indexes: number[] };

/** The local calendar day of a timestamp (the patient reads days in their own time zone). */
function localDay(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : `${date.getFullYear()}-${date.getMonth()}-${date.getDate()}`;
}

/** Everything that must be equal for two list views to share a row: all that a row shows but the time. */
function groupKey(entry: GroupableEntry, listViews: ReadonlySet<string>): string | null {
  if (entry.resourceType === null || !listViews.has(entry.resourceType)) return null;
  return JSON.stringify([localDay(entry.at), entry.actor?.id ?? null, entry.action, entry.outcome, entry.basis, entry.resourceType, entry.purpose, entry.reason, entry.application?.clientId ?? null]);
}

export function accessRows(entries: readonly GroupableEntry[], listViews: ReadonlySet<string>): AccessRow[] {
  const rows: AccessRow[] = [];
  let previousKey: string | null = null;
  entries.forEach((entry, index) => {
    const key = groupKey(entry, listViews);
    const last = rows.at(-1);
    if (key !== null && key === previousKey && last) {
      if (last.kind === 'group') last.indexes.push(index);
      else rows[rows.length - 1] = { kind: 'group', indexes: [last.index, index] };
    } else {
      rows.push({ kind: 'single', index });
    }
    previousKey = key;
  });
  return rows;
}
