// #/audit — for security officers: the log's integrity check (server side, over every entry, node and
// checkpoint) and a search through the entries of their organisations.
import { useCallback, useEffect, useId, useState, type FormEvent } from 'react';
import { api } from '../api';
import { formatDateTime, useI18n } from '../i18n';
import { ErrorAlert, Field, Page, Submit, formValues, useAction } from '../ui';
import { useCareTexts } from './care-texts';

interface IntegrityReport {
  ok: boolean;
  entries: number;
  checkpoints: number;
  problems: Array<{ leafIndex?: number; checkpointSize?: number; problem: string }>;
}

interface AuditRow {
  leaf_index: number | null;
  occurred_at: string;
  kind: string;
  type: string;
  outcome: string;
  actor_user_id: string | null;
  actor_role: string | null;
  patient_id: string | null;
  purpose: string | null;
  reason: string | null;
  source_address: string | null;
}

interface Incident {
  id: string;
  kind: string;
  status: 'open' | 'acknowledged' | 'closed';
  summary: string;
  actorUserId: string | null;
  patientId: string | null;
  sourceAddress: string | null;
  openedAt: string;
  closedAt: string | null;
  notes: Array<{ action: string; text: string; authorId: string | null; at: string }>;
}

const OUTCOMES = ['allowed', 'denied', 'success', 'failure'] as const;

/** A date input (local day) as the instant it starts, for the API's date-time filters. */
function startOfDay(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const date = new Date(`${value}T00:00:00`);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

export function Audit() {
  const { t } = useI18n();
  return (
    <Page title={t.audit.title} wide>
      <IntegritySection />
      <IncidentsSection />
      <SearchSection />
    </Page>
  );
}

function IntegritySection() {
  const { t } = useI18n();
  const { busy, error, run } = useAction();
  const [report, setReport] = useState<IntegrityReport | null>(null);

  const verify = () =>
    run(async () => {
      setReport(null);
      setReport(await api.post<IntegrityReport>('/api/audit/verify'));
    });

  return (
    <section aria-labelledby="integrity-title" className="card audit-section">
      <h2 id="integrity-title">{t.audit.verifyTitle}</h2>
      <p>{t.audit.verifyIntro}</p>
      <p>
        <button type="button" className="button" aria-disabled={busy || undefined} onClick={() => void verify()}>
          {t.audit.verify}
        </button>
      </p>
      <ErrorAlert error={error} />
      <div role="status" aria-live="polite" aria-atomic="true">
        {busy && <p>{t.audit.verifying}</p>}
        {report && (
          <div className={`alert ${report.ok ? 'alert-success' : 'alert-error'}`}>
            <p className="alert-title">
              <span aria-hidden="true">{report.ok ? '✓ ' : '✗ '}</span>
              {report.ok ? t.audit.ok(report.entries, report.checkpoints) : t.audit.bad(report.problems.length)}
            </p>
            {report.problems.length > 0 && (
              <ul>
                {report.problems.map((problem, i) => (
                  <li key={i}>
                    {problem.leafIndex !== undefined
                      ? t.audit.problemEntry(problem.leafIndex)
                      : problem.checkpointSize !== undefined
                        ? t.audit.problemCheckpoint(problem.checkpointSize)
                        : t.audit.problemLog}{' '}
                    : <span lang="en">{problem.problem}</span>
                  </li>
                ))}
              </ul>
            )}
          </div>
        )}
      </div>
    </section>
  );
}

function SearchSection() {
  const { t } = useI18n();
  const outcomeId = useId();
  const { busy, error, run } = useAction();
  const [rows, setRows] = useState<AuditRow[] | null>(null);

  const search = (event: FormEvent<HTMLFormElement>) => {
    const values = formValues(event);
    const query = new URLSearchParams();
    if (values.actor) query.set('actor', values.actor);
    if (values.patient) query.set('patient', values.patient);
    if (values.outcome) query.set('outcome', values.outcome);
    const from = startOfDay(values.from);
    const to = startOfDay(values.to);
    if (from) query.set('from', from);
    if (to) query.set('to', to);
    void run(async () => {
      setRows(await api.get<AuditRow[]>(`/api/audit/entries${query.size ? `?${query}` : ''}`));
    });
  };

  return (
    <section aria-labelledby="search-title" className="audit-section">
      <h2 id="search-title">{t.audit.searchTitle}</h2>
      <form onSubmit={search} noValidate>
        <div className="filters">
          <Field label={t.audit.actor} name="actor" optional hint={t.audit.uuidHint} problem={error} autoComplete="off" spellCheck={false} />
          <Field label={t.audit.patient} name="patient" optional hint={t.audit.uuidHint} problem={error} autoComplete="off" spellCheck={false} />
          <div className="field">
            <label htmlFor={outcomeId}>{t.audit.outcome}</label>
            <select id={outcomeId} name="outcome" defaultValue="">
              <option value="">{t.audit.anyOutcome}</option>
              {OUTCOMES.map((outcome) => (
                <option key={outcome} value={outcome}>
                  {t.access.outcomes[outcome]}
                </option>
              ))}
            </select>
          </div>
          <Field label={t.audit.from} name="from" type="date" optional problem={error} />
          <Field label={t.audit.to} name="to" type="date" optional problem={error} />
        </div>
        <div className="actions">
          <Submit busy={busy}>{t.audit.search}</Submit>
        </div>
      </form>
      <ErrorAlert error={error} />
      <div role="status" aria-live="polite">
        {rows && <p>{t.audit.results(rows.length)}</p>}
      </div>
      {rows && rows.length > 0 && (
        <div className="table-wrap" tabIndex={0} role="region" aria-label={t.audit.caption}>
          <table className="data">
            <caption>{t.audit.caption}</caption>
            <thead>
              <tr>
                <th scope="col">{t.audit.index}</th>
                <th scope="col">{t.audit.when}</th>
                <th scope="col">{t.audit.kind}</th>
                <th scope="col">{t.audit.type}</th>
                <th scope="col">{t.audit.outcome}</th>
                <th scope="col">{t.audit.actorCol}</th>
                <th scope="col">{t.audit.patientCol}</th>
                <th scope="col">{t.audit.purposeCol}</th>
                <th scope="col">{t.audit.reasonCol}</th>
                <th scope="col">{t.audit.source}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row, i) => (
                <tr key={`${row.leaf_index ?? 'p'}-${i}`}>
                  <td>{row.leaf_index ?? t.audit.pending}</td>
                  <td>{formatDateTime(t, row.occurred_at)}</td>
                  <td>{t.audit.kinds[row.kind] ?? row.kind}</td>
                  <td>
                    <code>{row.type}</code>
                  </td>
                  <td>{t.access.outcomes[row.outcome] ?? row.outcome}</td>
                  <td className="id">
                    {row.actor_user_id ?? '—'}
                    {row.actor_role && ` (${t.access.bases[row.actor_role] ?? row.actor_role})`}
                  </td>
                  <td className="id">{row.patient_id ?? '—'}</td>
                  <td>{row.purpose ? (t.access.purposes[row.purpose] ?? row.purpose) : '—'}</td>
                  <td>{row.reason ?? '—'}</td>
                  <td>{row.source_address ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function IncidentsSection() {
  const { t } = useI18n();
  const c = useCareTexts();
  const [incidents, setIncidents] = useState<Incident[] | null>(null);
  const [message, setMessage] = useState('');
  const { busy, error, run } = useAction();

  const load = useCallback(async () => {
    setIncidents(await api.get<Incident[]>('/api/incidents'));
  }, []);
  useEffect(() => {
    void run(load);
  }, [load]);

  const act = (incident: Incident, action: 'comment' | 'acknowledge' | 'close' | 'reopen', text: string) =>
    run(async () => {
      setMessage('');
      await api.post(`/api/incidents/${incident.id}/notes`, { action, text });
      await load();
      setMessage(c.incidents.done);
    });

  return (
    <section aria-labelledby="incidents-title" className="audit-section">
      <h2 id="incidents-title">{c.incidents.title}</h2>
      <p>
        <button type="button" className="button secondary" aria-disabled={busy || undefined} onClick={() => void run(load)}>
          {c.incidents.refresh}
        </button>
      </p>
      <ErrorAlert error={error} />
      <div role="status" aria-live="polite">
        {message && <p className="alert alert-success">{message}</p>}
        {incidents && <p>{c.incidents.count(incidents.length)}</p>}
      </div>
      {incidents && incidents.length === 0 && <p>{c.incidents.none}</p>}
      {incidents && incidents.length > 0 && (
        <ul className="list" aria-label={c.incidents.title}>
          {incidents.map((incident) => (
            <IncidentItem key={incident.id} incident={incident} busy={busy} onAct={(action, text) => void act(incident, action, text)} />
          ))}
        </ul>
      )}
      {!incidents && !error && <p>{t.common.loading}</p>}
    </section>
  );
}

function IncidentItem({ incident, busy, onAct }: { incident: Incident; busy: boolean; onAct: (action: 'comment' | 'acknowledge' | 'close' | 'reopen', text: string) => void }) {
  const { t } = useI18n();
  const c = useCareTexts();
  const noteId = useId();
  const titleId = useId();
  const [text, setText] = useState('');
  const submit = (action: 'comment' | 'acknowledge' | 'close' | 'reopen') => (event?: FormEvent<HTMLFormElement>) => {
    event?.preventDefault();
    onAct(action, text.trim());
    setText('');
  };
  const kind = c.incidents.kinds[incident.kind] ?? incident.kind;
  return (
    <li className={incident.status === 'open' ? 'card incident emergency' : 'card incident'} data-testid="incident" aria-labelledby={titleId}>
      <h3 id={titleId}>
        {kind}
        <span className={incident.status === 'closed' ? 'badge' : incident.status === 'open' ? 'badge warn' : 'badge on'}>{c.incidents.statuses[incident.status] ?? incident.status}</span>
      </h3>
      <p>{incident.summary}</p>
      <dl className="facts">
        <dt>{c.incidents.status}</dt>
        <dd>{c.incidents.statuses[incident.status] ?? incident.status}</dd>
        <dt>{c.incidents.openedAt}</dt>
        <dd>{formatDateTime(t, incident.openedAt)}</dd>
        {incident.closedAt && (
          <>
            <dt>{c.incidents.closedAt}</dt>
            <dd>{formatDateTime(t, incident.closedAt)}</dd>
          </>
        )}
        {incident.actorUserId && (
          <>
            <dt>{t.audit.actorCol}</dt>
            <dd className="id">{incident.actorUserId}</dd>
          </>
        )}
        {incident.patientId && (
          <>
            <dt>{t.audit.patientCol}</dt>
            <dd className="id">{incident.patientId}</dd>
          </>
        )}
      </dl>
      {incident.notes.length > 0 && (
        <>
          <h4>{c.incidents.notes}</h4>
          <ul className="notes">
            {incident.notes.map((note, i) => (
              <li key={i}>
                {formatDateTime(t, note.at)} — <strong>{c.incidents.noteActions[note.action] ?? note.action}</strong>
                {note.text && ` : ${note.text}`}
              </li>
            ))}
          </ul>
        </>
      )}
      <form onSubmit={submit('comment')} noValidate>
        <div className="field">
          <label htmlFor={noteId}>{c.incidents.note}</label>
          <textarea id={noteId} rows={2} maxLength={2000} value={text} onChange={(event) => setText(event.target.value)} />
        </div>
        <div className="actions">
          <button type="submit" className="button secondary" aria-disabled={busy || undefined}>
            {c.incidents.comment}
          </button>
          {incident.status === 'open' && (
            <button type="button" className="button secondary" aria-disabled={busy || undefined} onClick={() => submit('acknowledge')()}>
              {c.incidents.acknowledge}
            </button>
          )}
          {incident.status !== 'closed' ? (
            <button type="button" className="button" aria-disabled={busy || undefined} onClick={() => submit('close')()}>
              {c.incidents.close}
            </button>
          ) : (
            <button type="button" className="button secondary" aria-disabled={busy || undefined} onClick={() => submit('reopen')()}>
              {c.incidents.reopen}
            </button>
          )}
        </div>
      </form>
    </li>
  );
}
