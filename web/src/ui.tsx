// Small building blocks: page frame, labelled fields, error and status messages, form actions.
import { useEffect, useId, useRef, useState, type FormEvent, type InputHTMLAttributes, type ReactNode } from 'react';
import { ApiError } from './api';
import { useI18n } from './i18n';

/** An error whose message is already written for the user. */
export class UiError extends Error {}
/** The user cancelled: nothing to show. */
export class Cancelled extends Error {}

export function useDocumentTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} — Ausculta`;
  }, [title]);
}

export function Page({ title, children, wide = false }: { title: string; children: ReactNode; wide?: boolean }) {
  useDocumentTitle(title);
  return (
    <div className={wide ? 'page page-wide' : 'page'}>
      <Heading>{title}</Heading>
      {children}
    </div>
  );
}

let firstHeading = true;

/** A page or step heading that takes the focus when it appears (not on the very first load). */
export function Heading({ children, level = 1 }: { children: ReactNode; level?: 1 | 2 }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (firstHeading) firstHeading = false;
    else ref.current?.focus();
  }, []);
  const Tag = level === 1 ? 'h1' : 'h2';
  return (
    <Tag ref={ref} tabIndex={-1} className="focus-target">
      {children}
    </Tag>
  );
}

export function ErrorAlert({ error }: { error: unknown }) {
  const { t } = useI18n();
  if (!error || error instanceof Cancelled) return null;
  let title = t.common.error;
  let detail: string | undefined;
  let extra: string | undefined;
  if (error instanceof ApiError) {
    title = error.title;
    detail = error.detail;
    if (error.retryAfterSeconds) extra = t.common.retryIn(error.retryAfterSeconds);
    else if (error.errors.length > 0 && !detail) extra = t.common.fixFields;
  } else if (error instanceof UiError) {
    title = error.message;
  }
  return (
    <div className="alert alert-error" role="alert">
      <p className="alert-title">{title}</p>
      {detail && <p>{detail}</p>}
      {extra && <p>{extra}</p>}
    </div>
  );
}

export function Notice({ children, tone = 'info' }: { children: ReactNode; tone?: 'info' | 'success' | 'warning' }) {
  return <div className={`alert alert-${tone}`}>{children}</div>;
}

type FieldProps = Omit<InputHTMLAttributes<HTMLInputElement>, 'id'> & {
  label: string;
  name: string;
  hint?: string;
  problem?: unknown;
  /** JSON pointer of the field in the request body, when not `/name`. */
  pointer?: string;
  optional?: boolean;
};

export function Field({ label, name, hint, problem, pointer, optional = false, ...input }: FieldProps) {
  const { t } = useI18n();
  const id = useId();
  // The server's field messages are technical (and English): show its localised detail when it is about
  // this field alone, else a generic hint; the field is marked invalid either way.
  const invalid = problem instanceof ApiError && problem.fieldError(pointer ?? `/${name}`) !== undefined;
  const message = !invalid
    ? undefined
    : problem.errors.length === 1 && problem.detail && problem.code !== 'validation_failed'
      ? problem.detail
      : t.common.invalidField;
  const described = [hint ? `${id}-hint` : '', message ? `${id}-error` : ''].filter(Boolean).join(' ');
  return (
    <div className={message ? 'field field-invalid' : 'field'}>
      <label htmlFor={id}>
        {label}
        {optional && <span className="optional"> {t.common.optional}</span>}
      </label>
      {hint && (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {message && (
        <p className="field-error" id={`${id}-error`}>
          {message}
        </p>
      )}
      <input
        id={id}
        name={name}
        required={!optional}
        aria-invalid={message ? true : undefined}
        aria-describedby={described || undefined}
        {...input}
      />
    </div>
  );
}

/** Runs an async action with a busy flag and keeps its error for display. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const running = useRef(false);
  async function run(action: () => Promise<void>): Promise<void> {
    if (running.current) return;
    running.current = true;
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (caught) {
      if (!(caught instanceof Cancelled)) setError(caught);
    } finally {
      running.current = false;
      setBusy(false);
    }
  }
  return { busy, error, setError, run };
}

/** The text values of a submitted form, trimmed except passwords. */
export function formValues(event: FormEvent<HTMLFormElement>): Record<string, string> {
  event.preventDefault();
  const values: Record<string, string> = {};
  for (const [key, value] of new FormData(event.currentTarget)) {
    if (typeof value === 'string') values[key] = /password|Password/.test(key) ? value : value.trim();
  }
  return values;
}

export function Submit({ busy, children, secondary = false }: { busy: boolean; children: ReactNode; secondary?: boolean }) {
  return (
    <button type="submit" className={secondary ? 'button secondary' : 'button'} aria-disabled={busy || undefined}>
      {children}
    </button>
  );
}
