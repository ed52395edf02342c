// The record's observations (vital signs): the latest ones in a table, filtered by kind, and the form
// of a new one (a blood pressure takes two values). On a professional's patient page (#/patients/<id>,
// read-only in an emergency access) and on the patient's own page #/mesures.
import { useCallback, useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { api } from '../api';
import { useApp } from '../context';
import { formatDateTime, useI18n } from '../i18n';
import { ErrorAlert, Field, Page, Submit, useAction } from '../ui';
import { KINDS, useObservationTexts, type ObservationKind } from './observation-texts';

export interface Observation {
  id: string;
  kind: string;
  value: number;
  value2: number | null;
  unit: string;
  effectiveAt: string;
  recordedAt: string;
  authorId: string | null;
}

const LIMIT = 50;
/** UCUM units (the API's) as people write them. */
const UNITS: Record<string, string> = { kg: 'kg', 'mm[Hg]': 'mmHg', Cel: '°C', '%': '%', '/min': 'bpm', 'mg/dL': 'mg/dL' };

/** Now, to the minute, as a datetime-local value (local time). */
function localNow(): string {
  const now = new Date();
  now.setSeconds(0, 0);
  return new Date(now.getTime() - now.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

function useNumber() {
  const { t } = useI18n();
  const format = new Intl.NumberFormat(t.common.dateTime, { maximumFractionDigits: 2 });
  return (n: number) => format.format(n);
}

/** #/mesures: the signed-in patient's own measures. */
export function MyObservations() {
  const p = useObservationTexts();
  const { session } = useApp();
  return (
    <Page title={p.pageTitle} wide>
      <p className="lead">{p.pageIntro}</p>
      {session && <Observations patientId={session.user.id} canWrite />}
    </Page>
  );
}

export function Observations({ patientId, purpose = 'care', canWrite }: { patientId: string; purpose?: 'care' | 'emergency'; canWrite: boolean }) {
  const { t } = useI18n();
  const p = useObservationTexts();
  const { session } = useApp();
  const number = useNumber();
  const titleId = useId();
  const filterId = useId();
  const [filter, setFilter] = useState<ObservationKind | ''>('');
  const [list, setList] = useState<{ total: number; observations: Observation[] } | null>(null);
  const [status, setStatus] = useState('');
  const load = useAction();
  const latest = useRef(0);

  const reload = useCallback(async () => {
    const asked = ++latest.current;
    const query = new URLSearchParams({ limit: String(LIMIT), ...(filter ? { kind: filter } : {}), ...(purpose === 'emergency' ? { purpose } : {}) });
    const answer = await api.get<{ total: number; observations: Observation[] }>(`/api/patients/${encodeURIComponent(patientId)}/observations?${query}`);
    if (asked === latest.current) setList({ total: answer.total, observations: answer.observations });
  }, [patientId, purpose, filter]);
  useEffect(() => void load.run(reload), [reload]);

  const kindName = (kind: string) => p.kinds[kind] ?? kind;
  const valueText = (o: Pick<Observation, 'value' | 'value2' | 'unit'>) => `${number(o.value)}${o.value2 === null ? '' : `/${number(o.value2)}`} ${UNITS[o.unit] ?? o.unit}`;
  const authorText = (authorId: string | null) =>
    authorId === null ? p.authors.unknown : authorId === session?.user.id ? p.authors.you : authorId === patientId ? p.authors.patient : p.authors.professional;

  return (
    <section aria-labelledby={titleId} className="card observations">
      <h2 id={titleId}>{p.title}</h2>
      <div role="status" aria-live="polite">
        {status && <p className="alert alert-success">{status}</p>}
      </div>
      <div className="field observation-filter">
        <label htmlFor={filterId}>{p.filter}</label>
        <select id={filterId} value={filter} onChange={(event) => setFilter(event.target.value as ObservationKind | '')}>
          <option value="">{p.filterAll}</option>
          {KINDS.map(({ kind }) => (
            <option key={kind} value={kind}>
              {kindName(kind)}
            </option>
          ))}
        </select>
      </div>
      <ErrorAlert error={load.error} />
      {!list && !load.error ? (
        <p>{t.common.loading}</p>
      ) : list && list.observations.length === 0 ? (
        <p>{filter ? p.noneOfKind : p.none}</p>
      ) : list ? (
        <div className="table-wrap" tabIndex={0} role="region" aria-label={p.caption(list.observations.length, list.total)}>
          <table className="data" data-testid="observations">
            <caption>{p.caption(list.observations.length, list.total)}</caption>
            <thead>
              <tr>
                <th scope="col">{p.date}</th>
                <th scope="col">{p.measure}</th>
                <th scope="col">{p.value}</th>
                <th scope="col">{p.author}</th>
              </tr>
            </thead>
            <tbody>
              {list.observations.map((o) => (
                <tr key={o.id}>
                  <th scope="row">{formatDateTime(t, o.effectiveAt)}</th>
                  <td>{kindName(o.kind)}</td>
                  <td className="number">{valueText(o)}</td>
                  <td>{authorText(o.authorId)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {canWrite && purpose !== 'emergency' && (
        <NewObservation
          patientId={patientId}
          onRecorded={async (observation) => {
            setStatus(p.recorded(kindName(observation.kind), valueText(observation)));
            await load.run(reload);
          }}
          onStart={() => setStatus('')}
          number={number}
        />
      )}
    </section>
  );
}

function NewObservation({ patientId, onRecorded, onStart, number }: { patientId: string; onRecorded: (created: Observation) => Promise<void>; onStart: () => void; number: (n: number) => string }) {
  const p = useObservationTexts();
  const titleId = useId();
  const kindId = useId();
  const [kind, setKind] = useState<ObservationKind>('weight');
  const [value, setValue] = useState('');
  const [value2, setValue2] = useState('');
  const [effectiveAt, setEffectiveAt] = useState(localNow);
  const save = useAction();
  const errorRef = useRef<HTMLDivElement>(null);
  const def = KINDS.find((k) => k.kind === kind) ?? KINDS[0]!;
  const range = p.range(number(def.min), number(def.max), def.unit);

  // A refusal takes the focus, so that it is read at once.
  useEffect(() => {
    if (save.error) errorRef.current?.focus();
  }, [save.error]);

  // The browser has already refused empty or out-of-range fields (required, min, max).
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    void save.run(async () => {
      onStart();
      const body = { kind, value: Number(value), ...(def.twoValues ? { value2: Number(value2) } : {}), effectiveAt: new Date(effectiveAt).toISOString() };
      const { observation } = await api.post<{ observation: Observation }>(`/api/patients/${encodeURIComponent(patientId)}/observations`, body);
      setValue('');
      setValue2('');
      setEffectiveAt(localNow());
      await onRecorded(observation);
    });
  };

  const numberProps = { type: 'number', inputMode: 'decimal', step: 'any', min: def.min, max: def.max, autoComplete: 'off', className: 'short' } as const;
  return (
    <form onSubmit={submit} className="observation-form" aria-labelledby={titleId}>
      <h3 id={titleId}>{p.formTitle}</h3>
      <p className="hint">{p.formHint}</p>
      <div ref={errorRef} tabIndex={-1} className="focus-target">
        <ErrorAlert error={save.error} />
      </div>
      <div className="field">
        <label htmlFor={kindId}>{p.kind}</label>
        <select
          id={kindId}
          name="kind"
          required
          value={kind}
          onChange={(event) => {
            setKind(event.target.value as ObservationKind);
            setValue2('');
          }}
        >
          {KINDS.map((k) => (
            <option key={k.kind} value={k.kind}>
              {p.kinds[k.kind]}
            </option>
          ))}
        </select>
      </div>
      <div className="observation-values">
        <Field label={def.twoValues ? p.systolic : p.valueLabel(def.unit)} name="value" hint={range} {...numberProps} value={value} onChange={(event) => setValue(event.target.value)} />
        {def.twoValues && <Field label={p.diastolic} name="value2" hint={`${range} ${p.diastolicHint}`} {...numberProps} value={value2} onChange={(event) => setValue2(event.target.value)} />}
      </div>
      <Field label={p.effectiveAt} name="effectiveAt" hint={p.effectiveAtHint} type="datetime-local" max={localNow()} className="short-date" value={effectiveAt} onChange={(event) => setEffectiveAt(event.target.value)} />
      <Submit busy={save.busy}>{p.submit}</Submit>
    </form>
  );
}
