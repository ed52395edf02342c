// The form of a new allergy or problem: the category first (radio buttons), then the wording; the
// reaction and the criticality only for an allergy. A refusal (ours or the server's) takes the focus.
import { useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { ApiError, api } from '../api';
import { useI18n } from '../i18n';
import { ErrorAlert, Submit, UiError, useAction } from '../ui';
import type { Condition } from './Conditions';
import { today } from './model';
import { useRecordTexts, type Category, type Criticality } from './record-texts';

const CATEGORIES: readonly Category[] = ['allergy', 'problem'];
const CRITICALITIES: readonly Criticality[] = ['low', 'high', 'unable-to-assess'];

/** A labelled control with its hint and error, described by both. */
function Labelled({ id, label, hint, error, optional, children }: { id: string; label: string; hint?: string | undefined; error?: string | undefined; optional?: boolean; children: (described: string | undefined) => ReactNode }) {
  const { t } = useI18n();
  const described = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div className={error ? 'field field-invalid' : 'field'}>
      <label htmlFor={id}>
        {label}
        {optional && <span className="optional"> {t.common.optional}</span>}
      </label>
      {hint && (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {error && (
        <p className="field-error" id={`${id}-error`}>
          {error}
        </p>
      )}
      {children(described)}
    </div>
  );
}

export function ConditionForm({ patientId, onRecorded, onStart }: { patientId: string; onRecorded: (created: Condition) => Promise<void>; onStart: () => void }) {
  const { t } = useI18n();
  const r = useRecordTexts().conditions;
  const id = useId();
  const [category, setCategory] = useState<Category>('allergy');
  const [label, setLabel] = useState('');
  const [reaction, setReaction] = useState('');
  const [criticality, setCriticality] = useState<Criticality | ''>('');
  const [onsetDate, setOnsetDate] = useState('');
  const [note, setNote] = useState('');
  const [labelMissing, setLabelMissing] = useState(false);
  const save = useAction();
  const errorRef = useRef<HTMLDivElement>(null);
  const allergy = category === 'allergy';

  useEffect(() => {
    if (save.error) errorRef.current?.focus();
  }, [save.error]);

  const serverError = (pointer: string) => (save.error instanceof ApiError && save.error.fieldError(pointer) !== undefined ? t.common.invalidField : undefined);

  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    void save.run(async () => {
      onStart();
      const wording = label.trim();
      setLabelMissing(wording === '');
      if (wording === '') throw new UiError(r.labelRequired[category]);
      const body = {
        category,
        label: wording,
        ...(note.trim() ? { note: note.trim() } : {}),
        ...(allergy && reaction.trim() ? { reaction: reaction.trim() } : {}),
        ...(allergy && criticality ? { criticality } : {}),
        ...(onsetDate ? { onsetDate } : {}),
      };
      const { condition } = await api.post<{ condition: Condition }>(`/api/patients/${encodeURIComponent(patientId)}/conditions`, body);
      setLabel('');
      setReaction('');
      setCriticality('');
      setOnsetDate('');
      setNote('');
      await onRecorded(condition);
    });
  };

  return (
    <form onSubmit={submit} noValidate className="record-form" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>{r.formTitle}</h3>
      <p className="hint">{r.formHint}</p>
      <div ref={errorRef} tabIndex={-1} className="focus-target">
        <ErrorAlert error={save.error} />
      </div>
      <fieldset className="field inline-choices">
        <legend>{r.category}</legend>
        {CATEGORIES.map((value) => (
          <label key={value} className="choice">
            <input type="radio" name="category" value={value} checked={category === value} onChange={() => setCategory(value)} />
            {r.categories[value]}
          </label>
        ))}
      </fieldset>
      <Labelled id={`${id}-label`} label={r.label[category]} hint={r.labelHint[category]} error={labelMissing ? r.labelRequired[category] : serverError('/label')}>
        {(described) => (
          <input
            id={`${id}-label`}
            name="label"
            required
            maxLength={200}
            autoComplete="off"
            value={label}
            onChange={(event) => {
              setLabel(event.target.value);
              setLabelMissing(false);
            }}
            aria-invalid={labelMissing || serverError('/label') ? true : undefined}
            aria-describedby={described}
          />
        )}
      </Labelled>
      {allergy && (
        <>
          <Labelled id={`${id}-reaction`} label={r.reactionField} hint={r.reactionHint} optional error={serverError('/reaction')}>
            {(described) => <input id={`${id}-reaction`} name="reaction" maxLength={300} autoComplete="off" value={reaction} onChange={(event) => setReaction(event.target.value)} aria-describedby={described} />}
          </Labelled>
          <Labelled id={`${id}-criticality`} label={r.criticalityField} optional>
            {() => (
              <select id={`${id}-criticality`} name="criticality" value={criticality} onChange={(event) => setCriticality(event.target.value as Criticality | '')}>
                <option value="">{r.criticalityUnknown}</option>
                {CRITICALITIES.map((value) => (
                  <option key={value} value={value}>
                    {r.criticalityOptions[value]}
                  </option>
                ))}
              </select>
            )}
          </Labelled>
        </>
      )}
      <Labelled id={`${id}-onset`} label={r.onsetField} hint={r.onsetHint} optional error={serverError('/onsetDate')}>
        {(described) => <input id={`${id}-onset`} name="onsetDate" type="date" className="short-date" max={today()} value={onsetDate} onChange={(event) => setOnsetDate(event.target.value)} aria-describedby={described} />}
      </Labelled>
      <Labelled id={`${id}-note`} label={r.noteField} optional error={serverError('/note')}>
        {(described) => <textarea id={`${id}-note`} name="note" rows={2} maxLength={1000} value={note} onChange={(event) => setNote(event.target.value)} aria-describedby={described} />}
      </Labelled>
      <Submit busy={save.busy}>{r.submit}</Submit>
    </form>
  );
}
