// #/acces — who accessed my data: the accesses the server lists, each verified here, in the browser, against
// the log's signed checkpoint (web/src/verify.ts), so that the server cannot show the patient a history
// other than the one in the log everyone can audit.
import { useEffect, useState } from 'react';
import { api } from '../api';
import { formatDateTime, useI18n, type Dict } from '../i18n';
import { accessRows } from '../access-rows';
import { verifyCheckpoint, verifyEntry, type CheckpointProblem, type VerifiedCheckpoint } from '../verify';
import { ErrorAlert, Page } from '../ui';

export interface AccessEntry {
  leafIndex: number;
  leafData: string;
  at: string;
  action: string;
  outcome: string;
  actor: { id: string; displayName: string | null } | null;
  basis: string | null;
  /** What was opened when not the record as a whole (patient_list, fhir_search_patient, agenda: a list: src/audit/log.ts LIST_VIEW). */
  resourceType: string | null;
  purpose: string | null;
  reason: string | null;
  /** The application (OAuth) that acted for the actor, if any. */
  application?: { clientId: string; name: string | null } | null;
  proof: string[];
}

interface AccessHistory {
  checkpoint: string | null;
  verifierKey: string;
  origin: string;
  entries: AccessEntry[];
  /** Where the next, older page starts (GET …?before=&size=), or null when this is the last. */
  nextBefore: number | null;
}

type Verification =
  | { state: 'pending' }
  | { state: 'no_checkpoint' }
  | { state: 'checkpoint_failed'; problem: CheckpointProblem }
  | { state: 'done'; size: number; checkpoint: VerifiedCheckpoint; verified: boolean[] };

/** The fields shown must be the ones the verified leaf says, not only the server's columns. */
function matchesLeaf(entry: AccessEntry): boolean {
  try {
    const leaf = JSON.parse(entry.leafData) as Record<string, unknown>;
    return (
      leaf.type === entry.action &&
      leaf.outcome === entry.outcome &&
      leaf.at === entry.at &&
      (leaf.purpose ?? null) === entry.purpose &&
      (leaf.actorRole ?? null) === entry.basis &&
      (leaf.resourceType ?? null) === entry.resourceType &&
      (leaf.reason ?? null) === entry.reason &&
      (leaf.actor ?? null) === (entry.actor?.id ?? null)
    );
  } catch {
    return false;
  }
}

async function verifyHistory(history: AccessHistory): Promise<Verification> {
  if (!history.checkpoint) return { state: 'no_checkpoint' };
  const result = await verifyCheckpoint(history.checkpoint, history.verifierKey, history.origin);
  if (!result.ok) return { state: 'checkpoint_failed', problem: result.problem };
  return { state: 'done', size: result.checkpoint.size, checkpoint: result.checkpoint, verified: await verifyEntries(result.checkpoint, history.entries) };
}

function verifyEntries(checkpoint: VerifiedCheckpoint, entries: AccessEntry[]): Promise<boolean[]> {
  return Promise.all(entries.map(async (entry) => matchesLeaf(entry) && (await verifyEntry(checkpoint, entry))));
}

const label = (map: Record<string, string>, key: string | null) => (key === null ? '—' : (map[key] ?? key));

/** The resource types of list views (src/audit/log.ts LIST_VIEW): those repeated in a day share a row. */
const LIST_VIEWS: ReadonlySet<string> = new Set(['patient_list', 'fhir_search_patient', 'agenda']);

export function Access() {
  const { t } = useI18n();
  const [history, setHistory] = useState<AccessHistory | null>(null);
  const [verification, setVerification] = useState<Verification>({ state: 'pending' });
  const [error, setError] = useState<unknown>(null);
  const [loadingOlder, setLoadingOlder] = useState(false);

  /** The next, older page: proven in the same checkpoint, verified against it like the first. */
  async function loadOlder() {
    if (!history || history.nextBefore === null || verification.state !== 'done') return;
    setLoadingOlder(true);
    try {
      const older = await api.get<AccessHistory>(`/api/me/access-history?before=${history.nextBefore}&size=${verification.size}`);
      // The server must answer in the checkpoint already verified; any other note fails every new row.
      const verified = older.checkpoint === history.checkpoint ? await verifyEntries(verification.checkpoint, older.entries) : older.entries.map(() => false);
      setHistory({ ...history, entries: [...history.entries, ...older.entries], nextBefore: older.nextBefore });
      setVerification({ ...verification, verified: [...verification.verified, ...verified] });
    } catch (caught) {
      setError(caught);
    } finally {
      setLoadingOlder(false);
    }
  }

  useEffect(() => {
    let live = true;
    api
      .get<AccessHistory>('/api/me/access-history')
      .then(async (loaded) => {
        if (!live) return;
        setHistory(loaded);
        const checked = await verifyHistory(loaded);
        if (live) setVerification(checked);
      })
      .catch((caught: unknown) => live && setError(caught));
    return () => {
      live = false;
    };
  }, []);

  const summary = summaryOf(t, history, verification);
  return (
    <Page title={t.access.title} wide>
      <p>{t.access.intro}</p>
      <ErrorAlert error={error} />
      <div role="status" aria-live="polite" className="verification-summary">
        {summary && <p className={`alert ${summary.ok ? 'alert-success' : summary.ok === false ? 'alert-error' : 'alert-info'}`}>{summary.text}</p>}
      </div>
      {!history && !error && <p>{t.common.loading}</p>}
      {history && history.entries.length === 0 && <p>{t.access.none}</p>}
      {history && history.entries.length > 0 && (
        <div className="table-wrap" tabIndex={0} role="region" aria-label={t.access.caption}>
          <table className="data">
            <caption>{t.access.caption}</caption>
            <thead>
              <tr>
                <th scope="col">{t.access.when}</th>
                <th scope="col">{t.access.who}</th>
                <th scope="col">{t.access.basis}</th>
                <th scope="col">{t.access.action}</th>
                <th scope="col">{t.access.purpose}</th>
                <th scope="col">{t.access.outcome}</th>
                <th scope="col">{t.access.check}</th>
              </tr>
            </thead>
            <tbody>
              {accessRows(history.entries, LIST_VIEWS).map((row) =>
                row.kind === 'single' ? (
                  <AccessRowView key={history.entries[row.index]!.leafIndex} entry={history.entries[row.index]!} verification={verification} indexes={[row.index]} />
                ) : (
                  <AccessRowView key={history.entries[row.indexes[0]!]!.leafIndex} entry={history.entries[row.indexes[0]!]!} verification={verification} indexes={row.indexes} entries={history.entries} />
                ),
              )}
            </tbody>
          </table>
        </div>
      )}
      {history && history.nextBefore !== null && verification.state === 'done' && (
        <p>
          <button type="button" onClick={() => void loadOlder()} disabled={loadingOlder}>
            {loadingOlder ? t.common.loading : t.access.older}
          </button>
        </p>
      )}
      <section aria-labelledby="export-title" className="card">
        <h2 id="export-title">{t.access.exportTitle}</h2>
        <p>{t.access.exportIntro}</p>
        <p>
          <a className="button" href="/api/me/export" download>
            {t.access.exportLink}
          </a>
        </p>
      </section>
    </Page>
  );
}

/**
 * One row: an entry, or (`entries` given) the repeated list views of one day at `indexes`, shown once with
 * their count; their times, each with its own check, are listed in the row. The row is verified only if
 * every entry in it is.
 */
function AccessRowView({ entry, verification, indexes, entries }: { entry: AccessEntry; verification: Verification; indexes: number[]; entries?: AccessEntry[] }) {
  const { t, lang } = useI18n();
  const group = entries && indexes.length > 1 ? indexes.map((index) => ({ index, entry: entries[index]! })) : null;
  return (
    <tr data-leaf-index={group ? undefined : entry.leafIndex} data-leaf-indexes={group ? group.map((member) => member.entry.leafIndex).join(' ') : undefined}>
      <td>
        {formatDateTime(t, entry.at)}
        {group && (
          <details className="repeated">
            <summary>{t.access.repeated(group.length)}</summary>
            <ul>
              {group.map((member) => (
                <li key={member.entry.leafIndex} data-leaf-index={member.entry.leafIndex}>
                  {formatDateTime(t, member.entry.at)} — <VerificationCell verification={verification} indexes={[member.index]} />
                </li>
              ))}
            </ul>
          </details>
        )}
      </td>
      <th scope="row">
        {entry.basis === 'self' ? t.access.you : (entry.actor?.displayName ?? t.access.unknown)}
        {entry.application && (
          <span className="via">
            {' '}
            {lang === 'en' ? 'through the application' : 'par l’application'} « {entry.application.name ?? entry.application.clientId} »
          </span>
        )}
      </th>
      <td>{label(t.access.bases, entry.basis)}</td>
      <td>
        {label(t.access.actions, entry.action)}
        {entry.resourceType !== null && t.access.listViews[entry.resourceType] && <span className="via"> {t.access.listViews[entry.resourceType]}</span>}
        {entry.reason && (
          <span className="reason">
            {' '}
            — {t.access.reason} <q lang={lang === 'en' ? 'fr' : undefined}>{entry.reason}</q>
          </span>
        )}
      </td>
      <td>{label(t.access.purposes, entry.purpose)}</td>
      <td>{label(t.access.outcomes, entry.outcome)}</td>
      <td>
        <VerificationCell verification={verification} indexes={indexes} />
      </td>
    </tr>
  );
}

function VerificationCell({ verification, indexes }: { verification: Verification; indexes: number[] }) {
  const { t } = useI18n();
  if (verification.state === 'pending') return <span className="check check-pending">{t.access.verifying}</span>;
  const ok = verification.state === 'done' && indexes.every((index) => verification.verified[index] === true);
  return ok ? (
    <span className="check check-ok">
      {t.access.verified} <span aria-hidden="true">✓</span>
    </span>
  ) : (
    <span className="check check-bad" title={t.access.notVerifiedHint}>
      <span aria-hidden="true">✗ </span>
      {t.access.notVerified}
    </span>
  );
}

function summaryOf(t: Dict, history: AccessHistory | null, verification: Verification): { ok: boolean | null; text: string } | null {
  if (!history) return null;
  switch (verification.state) {
    case 'pending':
      return { ok: null, text: t.access.verifying };
    case 'no_checkpoint':
      return { ok: null, text: t.access.noCheckpoint };
    case 'checkpoint_failed':
      return { ok: false, text: t.access.checkpointProblem[verification.problem] };
    case 'done': {
      const bad = verification.verified.filter((ok) => !ok).length;
      const n = verification.verified.length;
      return bad === 0 ? { ok: true, text: t.access.summaryOk(n, verification.size) } : { ok: false, text: t.access.summaryBad(n, bad, verification.size) };
    }
  }
}
