// Re-authentication for sensitive changes, and the one-time display of recovery codes.
import { useRef, useState, type FormEvent, type ReactNode } from 'react';
import { ApiError, api } from '../api';
import { useApp } from '../context';
import { useI18n } from '../i18n';
import { Cancelled, ErrorAlert, Field, Heading, Submit, formValues, useAction } from '../ui';

interface Pending {
  retry: () => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  returnFocus: Element | null;
}

/**
 * `guard(action)` runs the action; when the server answers 403 `reauthentication_required`, it shows an
 * inline password prompt (`prompt`), calls POST /api/reauthenticate and runs the action again.
 */
export function useReauth(): { guard: <T>(action: () => Promise<T>) => Promise<T>; prompt: ReactNode } {
  const [pending, setPending] = useState<Pending | null>(null);
  const pendingRef = useRef<Pending | null>(null);

  async function guard<T>(action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      if (!(error instanceof ApiError) || error.code !== 'reauthentication_required') throw error;
      return new Promise<T>((resolve, reject) => {
        const next: Pending = {
          retry: action,
          resolve: resolve as (value: unknown) => void,
          reject,
          returnFocus: document.activeElement,
        };
        pendingRef.current = next;
        setPending(next);
      });
    }
  }

  function close(outcome: () => void) {
    const current = pendingRef.current;
    pendingRef.current = null;
    setPending(null);
    outcome();
    if (current?.returnFocus instanceof HTMLElement && current.returnFocus.isConnected) current.returnFocus.focus();
  }

  const prompt = pending && (
    <ReauthPrompt
      onConfirmed={async () => {
        try {
          const value = await pending.retry();
          close(() => pending.resolve(value));
        } catch (error) {
          close(() => pending.reject(error));
        }
      }}
      onCancel={() => close(() => pending.reject(new Cancelled()))}
    />
  );
  return { guard, prompt };
}

function ReauthPrompt({ onConfirmed, onCancel }: { onConfirmed: () => Promise<void>; onCancel: () => void }) {
  const { t } = useI18n();
  const { session } = useApp();
  const { busy, error, run } = useAction();

  const submit = (event: FormEvent<HTMLFormElement>) => {
    const { password } = formValues(event);
    void run(async () => {
      await api.post('/api/reauthenticate', { password });
      await onConfirmed();
    });
  };

  return (
    <form onSubmit={submit} className="reauth stack" aria-labelledby="reauth-title">
      <h3 id="reauth-title">{t.security.reauthTitle}</h3>
      <p>{t.security.reauthIntro}</p>
      <ErrorAlert error={error} />
      <input type="hidden" name="username" value={session?.user.email ?? ''} autoComplete="username" />
      <Field
        label={t.fields.password}
        name="password"
        type="password"
        autoComplete="current-password"
        autoFocus
        problem={error}
      />
      <div className="actions">
        <Submit busy={busy}>{t.security.reauthSubmit}</Submit>
        <button type="button" className="button link" onClick={onCancel}>
          {t.common.cancel}
        </button>
      </div>
    </form>
  );
}

export function RecoveryCodesPanel({ codes, onDone }: { codes: string[]; onDone: () => void }) {
  const { t } = useI18n();
  const { session } = useApp();

  const download = () => {
    const text = t.security.recoveryFile(session?.user.email ?? '') + codes.join('\n') + '\n';
    const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }));
    const link = document.createElement('a');
    link.href = url;
    link.download = 'ausculta-recovery-codes.txt';
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };

  return (
    <section className="recovery-panel" aria-labelledby="recovery-title">
      <Heading level={2}>
        <span id="recovery-title">{t.security.recoveryShown}</span>
      </Heading>
      <p className="alert alert-warning">{t.security.recoveryOnce}</p>
      <ol className="codes" data-testid="recovery-codes">
        {codes.map((code) => (
          <li key={code}>
            <code>{code}</code>
          </li>
        ))}
      </ol>
      <p>
        <button type="button" className="button secondary" onClick={download}>
          {t.security.recoveryDownload}
        </button>
      </p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          onDone();
        }}
        className="stack"
      >
        <label className="choice">
          <input type="checkbox" name="saved" required />
          {t.security.recoverySavedCheck}
        </label>
        <button type="submit" className="button">
          {t.security.recoverySavedButton}
        </button>
      </form>
    </section>
  );
}
