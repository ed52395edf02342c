// The doctor's form of a report: six labelled sections, "save the draft", "sign and send" behind an
// explicit confirmation (signing is final), "discard the draft" behind one too. The same form writes the
// first version and a correction (prefilled with the signed text; saving it creates version n+1).
// The server saves THE open draft (PUT …/reports/draft) and signs the version the doctor saw.
import { useEffect, useId, useRef, useState, type FormEvent, type KeyboardEvent, type RefObject } from 'react';
import { api } from '../api';
import { formatDateTime, useI18n } from '../i18n';
import { ErrorAlert, Submit, UiError, useAction } from '../ui';
import { emptySections, missingToSign, REQUIRED_TO_SIGN, SECTION_KEYS, SECTION_MAX_LENGTH, type ReportView, type SectionKey, type Sections } from './model';
import { useReportTexts } from './report-texts';

const ROWS: Record<SectionKey, number> = { reason: 2, history: 5, findings: 5, conclusion: 3, plan: 4, followUp: 4 };

export interface EditorProps {
  consultationId: string;
  /** The open draft on the server, if any. */
  draft: ReportView | null;
  /** The signed version being corrected (when there is no open draft yet), prefilling the form. */
  base: ReportView | null;
  /** Whether the form takes the focus when it appears (opened by "Corriger", not on page load). */
  focusOnMount: boolean;
  onSaved: (report: ReportView) => void;
  onSigned: (report: ReportView) => Promise<void>;
  onDiscarded: () => void;
  onStatus: (message: string | null) => void;
}

export function ReportEditor({ consultationId, draft, base, focusOnMount, onSaved, onSigned, onDiscarded, onStatus }: EditorProps) {
  const { t } = useI18n();
  const r = useReportTexts();
  const titleId = useId();
  const [values, setValues] = useState<Sections>(() => ({ ...emptySections(), ...(draft ?? base)?.sections }));
  const [missing, setMissing] = useState<SectionKey[]>([]);
  const [step, setStep] = useState<'edit' | 'confirm-sign' | 'confirm-discard'>('edit');
  const action = useAction();
  const heading = useRef<HTMLHeadingElement>(null);
  const errorRef = useRef<HTMLDivElement>(null);
  const questionRef = useRef<HTMLParagraphElement>(null);
  const signRef = useRef<HTMLButtonElement>(null);
  const discardRef = useRef<HTMLButtonElement>(null);
  const previousStep = useRef(step);
  const path = `/api/consultations/${encodeURIComponent(consultationId)}/reports/draft`;

  const replaces = draft ? draft.replaces : base ? { id: base.id, version: base.version } : null;
  const version = draft?.version ?? (base ? base.version + 1 : 1);
  const title = replaces ? r.correctionTitle(replaces.version, version) : draft ? r.draftTitle(version) : r.newTitle;

  useEffect(() => {
    if (focusOnMount) heading.current?.focus();
  }, [focusOnMount]);
  // A refusal takes the focus, so that it is read at once.
  useEffect(() => {
    if (action.error) errorRef.current?.focus();
  }, [action.error]);
  // A confirmation takes the focus on its question; cancelled, the focus goes back to its button.
  useEffect(() => {
    if (step !== 'edit') questionRef.current?.focus();
    else if (previousStep.current === 'confirm-sign') signRef.current?.focus();
    else if (previousStep.current === 'confirm-discard') discardRef.current?.focus();
    previousStep.current = step;
  }, [step]);

  const change = (key: SectionKey, value: string) => {
    const next = { ...values, [key]: value };
    setValues(next);
    if (missing.length === 0) return;
    const still = missingToSign(next);
    setMissing(still);
    // Every missing section filled: the message about them is over.
    if (still.length === 0 && action.error instanceof UiError) action.setError(null);
  };

  const save = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    void action.run(async () => {
      onStatus(null);
      const { report } = await api.put<{ report: ReportView }>(path, { sections: values });
      onSaved(report);
      onStatus(r.saved(report.version));
    });
  };

  const askToSign = () => {
    onStatus(null);
    const absent = missingToSign(values);
    setMissing(absent);
    if (absent.length > 0) {
      action.setError(new UiError(r.missing(absent.map((key) => r.sections[key].title).join(', '))));
      return;
    }
    action.setError(null);
    setStep('confirm-sign');
  };

  // What is signed is what is on screen: saved first, then signed as that very version.
  const sign = () =>
    void action.run(async () => {
      try {
        const { report: saved } = await api.put<{ report: ReportView }>(path, { sections: values });
        onSaved(saved);
        const { report: signed } = await api.post<{ report: ReportView }>(`${path}/sign`, { version: saved.version });
        await onSigned(signed);
      } finally {
        previousStep.current = 'edit'; // the focus goes to the error or to the signed version, not back to the button
        setStep('edit');
      }
    });

  const discard = () =>
    void action.run(async () => {
      try {
        onStatus(null);
        if (draft) await api.del(path);
        onDiscarded();
      } finally {
        previousStep.current = 'edit';
        setStep('edit');
      }
    });

  const cancelOnEscape = (event: KeyboardEvent<HTMLDivElement>) => {
    if (event.key === 'Escape') setStep('edit');
  };

  return (
    <form onSubmit={save} className="report-form" aria-labelledby={titleId} noValidate>
      <h3 id={titleId} ref={heading} tabIndex={-1} className="focus-target">
        {title}
      </h3>
      <p className="hint">{replaces ? r.correctionIntro(replaces.version) : r.formIntro}</p>
      <p className="hint">{r.limits}</p>
      <div ref={errorRef} tabIndex={-1} className="focus-target">
        <ErrorAlert error={action.error} />
      </div>
      {SECTION_KEYS.map((key) => (
        <SectionField key={key} name={key} value={values[key]} invalid={missing.includes(key)} onChange={(value) => change(key, value)} />
      ))}
      <p className="hint">{draft ? r.draftSavedAt(formatDateTime(t, draft.updatedAt)) : r.notSavedYet}</p>
      {step === 'edit' ? (
        <div className="actions">
          <Submit busy={action.busy} secondary>
            {r.save}
          </Submit>
          <button ref={signRef} type="button" className="button" onClick={askToSign} aria-disabled={action.busy || undefined}>
            {r.sign}
          </button>
          {(draft || replaces) && (
            <button ref={discardRef} type="button" className="button danger" onClick={() => setStep('confirm-discard')} aria-disabled={action.busy || undefined}>
              {replaces && !draft ? r.discardCorrection : r.discard}
            </button>
          )}
        </div>
      ) : (
        <Confirmation
          question={step === 'confirm-sign' ? r.confirmQuestion(version) : r.discardQuestion}
          text={step === 'confirm-sign' ? r.confirmText : null}
          confirm={step === 'confirm-sign' ? r.confirmSign : r.discardConfirm}
          danger={step === 'confirm-discard'}
          busy={action.busy}
          questionRef={questionRef}
          onConfirm={step === 'confirm-sign' ? sign : discard}
          onCancel={() => setStep('edit')}
          onKeyDown={cancelOnEscape}
        />
      )}
    </form>
  );
}

function SectionField({ name, value, invalid, onChange }: { name: SectionKey; value: string; invalid: boolean; onChange: (value: string) => void }) {
  const r = useReportTexts();
  const id = useId();
  const required = REQUIRED_TO_SIGN.includes(name);
  const described = [`${id}-hint`, invalid ? `${id}-error` : ''].filter(Boolean).join(' ');
  return (
    <div className={invalid ? 'field field-invalid' : 'field'}>
      <label htmlFor={id}>{r.sections[name].title}</label>
      <p className="hint" id={`${id}-hint`}>
        {r.sections[name].hint}
        {required && ` ${r.requiredToSign}`}
      </p>
      {invalid && (
        <p className="field-error" id={`${id}-error`}>
          {r.missingField}
        </p>
      )}
      <textarea
        id={id}
        name={name}
        rows={ROWS[name]}
        maxLength={SECTION_MAX_LENGTH}
        value={value}
        aria-invalid={invalid || undefined}
        aria-describedby={described}
        onChange={(event) => onChange(event.target.value)}
      />
    </div>
  );
}

/** The question in place of the form's buttons, with confirm and cancel; Escape cancels. */
function Confirmation(props: {
  question: string;
  text: string | null;
  confirm: string;
  danger: boolean;
  busy: boolean;
  questionRef: RefObject<HTMLParagraphElement | null>;
  onConfirm: () => void;
  onCancel: () => void;
  onKeyDown: (event: KeyboardEvent<HTMLDivElement>) => void;
}) {
  const r = useReportTexts();
  const questionId = useId();
  return (
    <div className={props.danger ? 'confirm' : 'confirm confirm-sign'} role="group" aria-labelledby={questionId} onKeyDown={props.onKeyDown}>
      <p id={questionId} ref={props.questionRef} tabIndex={-1} className="focus-target">
        <strong>{props.question}</strong>
      </p>
      {props.text && <p>{props.text}</p>}
      <div className="actions">
        <button type="button" className={props.danger ? 'button danger' : 'button'} onClick={props.onConfirm} aria-disabled={props.busy || undefined}>
          {props.confirm}
        </button>
        <button type="button" className="button secondary" onClick={props.onCancel}>
          {r.cancel}
        </button>
      </div>
    </div>
  );
}
