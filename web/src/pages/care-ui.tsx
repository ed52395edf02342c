// Shared by the care pages: the API shapes, a professional's name in words, a select field and an
// inline confirmation (no modal: the question appears in place and takes the focus).
import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { useCareTexts, type CareTexts } from './care-texts';

export interface Professional {
  id: string;
  displayName: string;
  profession: string | null;
  rpps: string | null;
}

/** A professional of the patient's organisations, as the lists to choose from give them. */
export interface Candidate extends Professional {
  roles: string[];
  organisationName: string;
}

export interface Relationship {
  id: string;
  kind: string;
  professional: Professional;
  startsAt: string;
  endsAt: string | null;
  active: boolean;
}

export function professionalName(c: CareTexts, pro: Professional, roles?: string[]): string {
  const profession = pro.profession ?? (roles?.includes('doctor') ? c.doctor : null);
  return profession ? c.professionalLabel(pro.displayName, profession) : pro.displayName;
}

/** The options of a "choose a professional" select: a blank prompt, then each one with their organisation. */
export function professionalOptions(c: CareTexts, list: Candidate[]): ReactNode[] {
  return [
    <option key="" value="">
      {c.team.choose}
    </option>,
    ...list.map((p) => (
      <option key={`${p.id}-${p.organisationName}`} value={p.id}>
        {professionalName(c, p, p.roles)} ({p.organisationName})
      </option>
    )),
  ];
}

export function SelectField({ label, name, hint, children, invalid }: { label: string; name: string; hint?: string; children: ReactNode; invalid?: string }) {
  const id = useId();
  const described = [hint ? `${id}-hint` : '', invalid ? `${id}-error` : ''].filter(Boolean).join(' ');
  return (
    <div className={invalid ? 'field field-invalid' : 'field'}>
      <label htmlFor={id}>{label}</label>
      {hint && (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {invalid && (
        <p className="field-error" id={`${id}-error`}>
          {invalid}
        </p>
      )}
      <select id={id} name={name} required defaultValue="" aria-invalid={invalid ? true : undefined} aria-describedby={described || undefined}>
        {children}
      </select>
    </div>
  );
}

/** A button that asks first: the question replaces it, with confirm and cancel; Escape cancels. */
export function ConfirmButton({ label, accessibleLabel, question, onConfirm, busy }: { label: string; accessibleLabel?: string; question: string; onConfirm: () => void; busy?: boolean }) {
  const c = useCareTexts();
  const [asking, setAsking] = useState(false);
  const confirmRef = useRef<HTMLButtonElement>(null);
  const openRef = useRef<HTMLButtonElement>(null);
  const wasAsking = useRef(false);
  useEffect(() => {
    if (asking) confirmRef.current?.focus();
    else if (wasAsking.current) openRef.current?.focus();
    wasAsking.current = asking;
  }, [asking]);
  if (!asking) {
    return (
      <button ref={openRef} type="button" className="button danger" aria-label={accessibleLabel} onClick={() => setAsking(true)}>
        {label}
      </button>
    );
  }
  return (
    <div className="confirm" role="group" aria-label={question} onKeyDown={(event) => event.key === 'Escape' && setAsking(false)}>
      <p>{question}</p>
      <div className="actions">
        <button
          ref={confirmRef}
          type="button"
          className="button danger"
          aria-disabled={busy || undefined}
          onClick={() => {
            wasAsking.current = false;
            onConfirm();
          }}
        >
          {c.confirm}
        </button>
        <button type="button" className="button secondary" onClick={() => setAsking(false)}>
          {c.cancel}
        </button>
      </div>
    </div>
  );
}
