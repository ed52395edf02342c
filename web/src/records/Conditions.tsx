// The "Allergies et antécédents" card: the record's allergies (set apart, a high criticality flagged by
// a symbol and words, not colour alone) and problems, active first, with who recorded them and when;
// "Marquer résolu" / "Réactiver"; the form of a new one. Read only after breaking the glass.
// GET/POST /api/patients/<id>/conditions, POST …/conditions/<id>/status.
import { useCallback, useEffect, useId, useRef, useState } from 'react';
import { api } from '../api';
import { useApp } from '../context';
import { formatDateTime, useI18n } from '../i18n';
import { ErrorAlert, useAction } from '../ui';
import { ConditionForm } from './ConditionForm';
import { formatDay, type RecordPurpose } from './model';
import { useRecordTexts, type Category, type Criticality } from './record-texts';

export interface Condition {
  id: string;
  patientId: string;
  category: Category;
  label: string;
  note: string;
  reaction: string;
  criticality: Criticality | null;
  onsetDate: string | null;
  status: 'active' | 'resolved';
  authorId: string | null;
  authorName: string;
  recordedAt: string;
  updatedAt: string;
}

export function Conditions({ patientId, purpose, canWrite }: { patientId: string; purpose?: RecordPurpose; canWrite: boolean }) {
  const { t } = useI18n();
  const r = useRecordTexts().conditions;
  const { session } = useApp();
  const titleId = useId();
  const toggleId = useId();
  const [list, setList] = useState<Condition[] | null>(null);
  const [status, setStatus] = useState('');
  const load = useAction();
  const change = useAction();
  const latest = useRef(0);
  const focusAfter = useRef<string | null>(null);
  const writable = canWrite && purpose !== 'emergency';

  const reload = useCallback(async () => {
    const asked = ++latest.current;
    const query = purpose ? `?${new URLSearchParams({ purpose })}` : '';
    const answer = await api.get<{ total: number; conditions: Condition[] }>(`/api/patients/${encodeURIComponent(patientId)}/conditions${query}`);
    if (asked === latest.current) setList(answer.conditions);
  }, [patientId, purpose]);
  useEffect(() => void load.run(reload), [reload]);

  // The item moves (active ones first): its button keeps the focus.
  useEffect(() => {
    if (!focusAfter.current) return;
    document.getElementById(`${toggleId}-${focusAfter.current}`)?.focus();
    focusAfter.current = null;
  }, [list, toggleId]);

  const toggle = (condition: Condition) =>
    void change.run(async () => {
      setStatus('');
      const next = condition.status === 'active' ? 'resolved' : 'active';
      await api.post(`/api/patients/${encodeURIComponent(patientId)}/conditions/${condition.id}/status`, { status: next });
      focusAfter.current = condition.id;
      await reload();
      setStatus(next === 'resolved' ? r.resolvedDone(condition.label) : r.reactivatedDone(condition.label));
    });

  const allergies = list?.filter((c) => c.category === 'allergy') ?? [];
  const problems = list?.filter((c) => c.category === 'problem') ?? [];

  const item = (c: Condition) => {
    const allergy = c.category === 'allergy';
    const high = allergy && c.criticality === 'high' && c.status === 'active';
    const resolvedText = allergy ? r.resolved : r.resolvedProblem;
    return (
      <li key={c.id} className={['condition', allergy ? 'condition-allergy' : '', high ? 'condition-high' : '', c.status === 'resolved' ? 'condition-resolved' : ''].filter(Boolean).join(' ')}>
        <div>
          <p className="condition-title">
            <strong>{c.label}</strong>{' '}
            {c.criticality && allergy && (
              <span className={c.criticality === 'high' ? 'badge warn' : 'badge'}>
                {c.criticality === 'high' && <span aria-hidden="true">⚠ </span>}
                {r.criticalities[c.criticality]}
              </span>
            )}{' '}
            <span className={c.status === 'active' ? 'badge on' : 'badge'}>{c.status === 'active' ? (allergy ? r.active : r.activeProblem) : resolvedText}</span>
          </p>
          {(c.reaction || c.onsetDate || c.note) && (
            <dl className="condition-facts">
              {c.reaction && (
                <>
                  <dt>{r.reaction}</dt>
                  <dd>{c.reaction}</dd>
                </>
              )}
              {c.onsetDate && (
                <>
                  <dt>{r.since}</dt>
                  <dd>{formatDay(t, c.onsetDate)}</dd>
                </>
              )}
              {c.note && (
                <>
                  <dt>{r.note}</dt>
                  <dd className="condition-note">{c.note}</dd>
                </>
              )}
            </dl>
          )}
          <p className="hint">{r.by(c.authorId === session?.user.id ? r.you : c.authorName, formatDateTime(t, c.recordedAt))}</p>
        </div>
        {writable && (
          <button type="button" id={`${toggleId}-${c.id}`} className="button secondary" aria-disabled={change.busy || undefined} onClick={() => toggle(c)}>
            {c.status === 'active' ? r.resolve : r.reactivate}
            <span className="visually-hidden"> : {c.label}</span>
          </button>
        )}
      </li>
    );
  };

  return (
    <section aria-labelledby={titleId} className="card record-card">
      <h2 id={titleId}>{r.title}</h2>
      <div role="status" aria-live="polite">
        {status && <p className="alert alert-success">{status}</p>}
      </div>
      {!writable && purpose === 'emergency' && <p className="hint">{r.readOnly}</p>}
      <ErrorAlert error={load.error ?? change.error} />
      {!list && !load.error ? (
        <p>{t.common.loading}</p>
      ) : list ? (
        <>
          <div className="allergies">
            <h3>
              <span aria-hidden="true">⚠ </span>
              {r.allergies}
            </h3>
            {allergies.length === 0 ? <p>{r.noAllergy}</p> : <ul className="list conditions">{allergies.map(item)}</ul>}
          </div>
          <h3>{r.problems}</h3>
          {problems.length === 0 ? <p>{r.noProblem}</p> : <ul className="list conditions">{problems.map(item)}</ul>}
        </>
      ) : null}
      {writable && (
        <ConditionForm
          patientId={patientId}
          onStart={() => setStatus('')}
          onRecorded={async (created) => {
            await load.run(reload);
            setStatus(r.recorded(created.label));
          }}
        />
      )}
    </section>
  );
}
