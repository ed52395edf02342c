// The prescriptions of an ended consultation, under its report: the list (both roles), each with its
// signed PDF, and for the doctor the form of a new prescription, one fieldset per line — a medicine or an
// act (lab test, nursing care, physiotherapy…), numbered as the PDF numbers them. Issuing signs it: there
// is no edit afterwards, so the form says so before the button.
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { api } from '../api';
import { formatDateTime, useI18n } from '../i18n';
import { ErrorAlert, Field, Submit, useAction } from '../ui';
import { usePrescriptionTexts } from './prescription-texts';

/** A medicine; the server echoes it without `kind` (its shape from before acts). */
export interface MedicationLine {
  kind?: 'medication';
  medication: string;
  dosage: string;
  posology: string;
  durationDays: number;
  quantity: number;
}

/** An act to perform: "Bilan sanguin : NFS, glycémie à jeun", done `count` times (sessions). */
export interface ActLine {
  kind: 'act';
  act: string;
  instructions: string;
  count: number;
}

export type PrescriptionLine = MedicationLine | ActLine;

export interface PrescriptionView {
  id: string;
  number: string;
  issuedAt: string;
  prescriber: { name: string; rpps: string | null };
  lines: PrescriptionLine[];
  dispensedAt: string | null;
  pdfUrl: string;
}

/** A line being typed: the numbers stay text until sent, so that an empty field stays empty. */
interface MedicationDraft {
  kind: 'medication';
  key: number;
  medication: string;
  dosage: string;
  posology: string;
  durationDays: string;
  quantity: string;
}
interface ActDraft {
  kind: 'act';
  key: number;
  act: string;
  instructions: string;
  count: string;
}
type Draft = MedicationDraft | ActDraft;
/** The text fields of one kind of line. */
type DraftField<D extends Draft> = Exclude<keyof D, 'kind' | 'key'>;

/** What the server receives for a line (a medicine without `kind`, as before acts). */
function lineOf(draft: Draft): PrescriptionLine {
  switch (draft.kind) {
    case 'medication':
      return { medication: draft.medication.trim(), dosage: draft.dosage.trim(), posology: draft.posology.trim(), durationDays: Number(draft.durationDays), quantity: Number(draft.quantity) };
    case 'act':
      return { kind: 'act', act: draft.act.trim(), instructions: draft.instructions.trim(), count: Number(draft.count) };
  }
}

const MAX_LINES = 20;

export function Prescriptions({ consultationId, role }: { consultationId: string; role: 'doctor' | 'patient' }) {
  const { t } = useI18n();
  const p = usePrescriptionTexts();
  const [prescriptions, setPrescriptions] = useState<PrescriptionView[]>([]);
  const [loaded, setLoaded] = useState(false);
  const [status, setStatus] = useState<string | null>(null);
  const load = useAction();
  const reload = useCallback(async () => {
    setPrescriptions((await api.get<{ prescriptions: PrescriptionView[] }>(`/api/consultations/${consultationId}/prescriptions`)).prescriptions);
    setLoaded(true);
  }, [consultationId]);
  useEffect(() => void load.run(reload), [reload]);

  return (
    <section aria-labelledby="prescriptions" className="prescriptions">
      <h2 id="prescriptions">{p.title}</h2>
      <ErrorAlert error={load.error} />
      <div role="status" aria-live="polite">
        {status && <p className="alert alert-success">{status}</p>}
      </div>
      {!loaded && !load.error ? (
        <p>{t.common.loading}</p>
      ) : prescriptions.length === 0 ? (
        <p>{p.none}</p>
      ) : (
        <>
          {role === 'patient' && <p className="hint">{p.patientHint}</p>}
          <ul className="items" data-testid="prescriptions">
            {prescriptions.map((prescription) => (
              <li key={prescription.id} className="item prescription">
                <h3>{p.number(prescription.number)}</h3>
                <p className="hint">{p.issuedBy(prescription.prescriber.name, prescription.prescriber.rpps, formatDateTime(t, prescription.issuedAt))}</p>
                <ol className="rx-lines" aria-label={p.lineLabel}>
                  {prescription.lines.map((line, index) => (
                    <li key={index}>
                      {line.kind === 'act' ? (
                        <>
                          {p.actPrefix} <strong>{line.act}</strong>
                          {line.instructions && ` — ${line.instructions}`}
                          {line.count > 1 && ` (${p.actCount(line.count)})`}
                        </>
                      ) : (
                        <>
                          <strong>{line.medication}</strong>
                          {line.dosage && `, ${line.dosage}`} — {line.posology}, {p.lineDuration(line.durationDays)} ({p.lineQuantity(line.quantity)})
                        </>
                      )}
                    </li>
                  ))}
                </ol>
                <p>
                  {prescription.dispensedAt ? (
                    <span className="badge badge-ok">{p.dispensed(formatDateTime(t, prescription.dispensedAt))}</span>
                  ) : (
                    <span className="badge">{p.notDispensed}</span>
                  )}
                </p>
                <p>
                  <a href={prescription.pdfUrl} download={`ordonnance-${prescription.number}.pdf`}>
                    {p.download}
                    <span className="visually-hidden"> {prescription.number}</span>
                  </a>
                </p>
              </li>
            ))}
          </ul>
        </>
      )}
      {role === 'doctor' && (
        <NewPrescription
          consultationId={consultationId}
          onStatus={setStatus}
          onIssued={async (created) => {
            setStatus(p.issued(created.number));
            // The list as the server keeps it; the new one shows even if that read fails.
            setPrescriptions((previous) => [...previous.filter((each) => each.id !== created.id), created]);
            setLoaded(true);
            await reload().catch(() => undefined);
          }}
        />
      )}
    </section>
  );
}

function NewPrescription({ consultationId, onIssued, onStatus }: { consultationId: string; onIssued: (created: PrescriptionView) => Promise<void>; onStatus: (message: string | null) => void }) {
  const p = usePrescriptionTexts();
  const nextKey = useRef(1);
  const blank = (): MedicationDraft => ({ kind: 'medication', key: nextKey.current++, medication: '', dosage: '', posology: '', durationDays: '', quantity: '1' });
  const blankAct = (): ActDraft => ({ kind: 'act', key: nextKey.current++, act: '', instructions: '', count: '1' });
  const [lines, setLines] = useState<Draft[]>(() => [blank()]);
  const [focusKey, setFocusKey] = useState<number | null>(null);
  const fieldsets = useRef(new Map<number, HTMLFieldSetElement>());
  const issue = useAction();

  // After adding or removing a line, the focus goes to the first field of the line concerned.
  useEffect(() => {
    if (focusKey === null) return;
    fieldsets.current.get(focusKey)?.querySelector('input')?.focus();
    setFocusKey(null);
  }, [focusKey]);

  const change = <D extends Draft>(key: number, field: DraftField<D>, value: string) =>
    setLines((previous) => previous.map((line) => (line.key === key ? ({ ...line, [field]: value } as Draft) : line)));
  const add = (line: Draft) => {
    setLines((previous) => [...previous, line]);
    setFocusKey(line.key);
    onStatus(null);
  };
  const remove = (index: number) => {
    const removed = lines[index];
    const rest = lines.filter((_, i) => i !== index);
    setLines(rest);
    const next = rest[Math.min(index, rest.length - 1)];
    if (next) setFocusKey(next.key);
    onStatus(removed?.kind === 'act' ? p.actRemoved(index + 1) : p.removed(index + 1));
  };

  // The browser has already refused empty or out-of-range fields (required, min, max, pattern).
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    void issue.run(async () => {
      onStatus(null);
      const body = { lines: lines.map(lineOf) };
      const { prescription } = await api.post<{ prescription: PrescriptionView }>(`/api/consultations/${consultationId}/prescriptions`, body);
      setLines([blank()]);
      await onIssued(prescription);
    });
  };

  return (
    <form onSubmit={submit} className="rx-form" aria-labelledby="new-prescription">
      <h3 id="new-prescription">{p.formTitle}</h3>
      <p className="hint">{p.formHint}</p>
      <ErrorAlert error={issue.error} />
      {lines.map((line, index) => {
        const at = `/lines/${index}`;
        return (
          <fieldset
            key={line.key}
            className="rx-line"
            ref={(element) => {
              if (element) fieldsets.current.set(line.key, element);
              else fieldsets.current.delete(line.key);
            }}
          >
            {line.kind === 'act' ? (
              <>
                <legend>{p.actLine(index + 1)}</legend>
                <Field label={p.act} name={`act-${line.key}`} hint={p.actHint} problem={issue.error} pointer={`${at}/act`} maxLength={300} pattern={'.*\\S.*'} autoComplete="off" value={line.act} onChange={(event) => change<ActDraft>(line.key, 'act', event.target.value)} />
                <Field label={p.instructions} name={`instructions-${line.key}`} hint={p.instructionsHint} optional problem={issue.error} pointer={`${at}/instructions`} maxLength={500} autoComplete="off" value={line.instructions} onChange={(event) => change<ActDraft>(line.key, 'instructions', event.target.value)} />
                <div className="rx-numbers">
                  <Field label={p.count} name={`count-${line.key}`} hint={p.countHint} problem={issue.error} pointer={`${at}/count`} type="number" inputMode="numeric" min={1} max={99} step={1} className="short" value={line.count} onChange={(event) => change<ActDraft>(line.key, 'count', event.target.value)} />
                </div>
              </>
            ) : (
              <>
                <legend>{p.line(index + 1)}</legend>
                <Field label={p.medication} name={`medication-${line.key}`} hint={p.medicationHint} problem={issue.error} pointer={`${at}/medication`} maxLength={200} pattern={'.*\\S.*'} autoComplete="off" value={line.medication} onChange={(event) => change<MedicationDraft>(line.key, 'medication', event.target.value)} />
                <Field label={p.dosage} name={`dosage-${line.key}`} hint={p.dosageHint} optional problem={issue.error} pointer={`${at}/dosage`} maxLength={200} autoComplete="off" value={line.dosage} onChange={(event) => change<MedicationDraft>(line.key, 'dosage', event.target.value)} />
                <Field label={p.posology} name={`posology-${line.key}`} hint={p.posologyHint} problem={issue.error} pointer={`${at}/posology`} maxLength={500} pattern={'.*\\S.*'} autoComplete="off" value={line.posology} onChange={(event) => change<MedicationDraft>(line.key, 'posology', event.target.value)} />
                <div className="rx-numbers">
                  <Field label={p.durationDays} name={`durationDays-${line.key}`} problem={issue.error} pointer={`${at}/durationDays`} type="number" inputMode="numeric" min={1} max={365} step={1} className="short" value={line.durationDays} onChange={(event) => change<MedicationDraft>(line.key, 'durationDays', event.target.value)} />
                  <Field label={p.quantity} name={`quantity-${line.key}`} problem={issue.error} pointer={`${at}/quantity`} type="number" inputMode="numeric" min={1} max={99} step={1} className="short" value={line.quantity} onChange={(event) => change<MedicationDraft>(line.key, 'quantity', event.target.value)} />
                </div>
              </>
            )}
            {lines.length > 1 && (
              <button type="button" className="button danger" aria-label={line.kind === 'act' ? p.actRemoveLabel(index + 1) : p.removeLabel(index + 1)} onClick={() => remove(index)}>
                {p.remove}
              </button>
            )}
          </fieldset>
        );
      })}
      <div className="actions">
        {lines.length < MAX_LINES && (
          <>
            <button type="button" className="button secondary" onClick={() => add(blank())}>
              {p.add}
            </button>
            <button type="button" className="button secondary" onClick={() => add(blankAct())}>
              {p.addAct}
            </button>
          </>
        )}
        <Submit busy={issue.busy}>{p.issue}</Submit>
      </div>
    </form>
  );
}
