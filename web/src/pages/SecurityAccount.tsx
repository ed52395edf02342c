// Password, e-mail address and open sessions on #/securite.
import { useEffect, useState, type FormEvent } from 'react';
import { api, setCsrfToken } from '../api';
import { useApp } from '../context';
import { formatDateTime, useI18n } from '../i18n';
import { navigate } from '../router';
import { ErrorAlert, Field, Submit, formValues, useAction } from '../ui';
import { useReauth } from './Reauth';

export function PasswordSection() {
  const { t } = useI18n();
  const { session, refresh, notify } = useApp();
  const { busy, error, run } = useAction();

  const submit = (event: FormEvent<HTMLFormElement>) => {
    const form = event.currentTarget;
    const v = formValues(event);
    void run(async () => {
      await api.post('/api/account/password', { currentPassword: v.currentPassword, newPassword: v.newPassword });
      form.reset();
      await refresh();
      notify(t.security.passwordChanged);
    });
  };

  return (
    <section className="card" aria-labelledby="password-title">
      <h2 id="password-title">{t.security.passwordTitle}</h2>
      <form onSubmit={submit} className="stack">
        <ErrorAlert error={error} />
        <input type="hidden" name="username" value={session?.user.email ?? ''} autoComplete="username" />
        <Field label={t.fields.currentPassword} name="currentPassword" type="password" autoComplete="current-password" problem={error} />
        <Field
          label={t.fields.newPassword}
          name="newPassword"
          type="password"
          autoComplete="new-password"
          hint={t.fields.passwordRule}
          minLength={12}
          problem={error}
        />
        <Submit busy={busy}>{t.security.passwordSubmit}</Submit>
      </form>
    </section>
  );
}

export function EmailSection() {
  const { t } = useI18n();
  const { session, refresh, notify } = useApp();
  const { guard, prompt } = useReauth();
  const { busy, error, run } = useAction();

  const submit = (event: FormEvent<HTMLFormElement>) => {
    const form = event.currentTarget;
    const { email } = formValues(event);
    void run(async () => {
      await guard(() => api.post('/api/account/email', { email }));
      form.reset();
      await refresh();
      notify(t.security.emailChanged);
    });
  };

  return (
    <section className="card" aria-labelledby="email-title">
      <h2 id="email-title">{t.security.emailTitle}</h2>
      <p>
        {t.security.emailCurrent} <strong>{session?.user.email}</strong>
      </p>
      <ErrorAlert error={error} />
      {prompt}
      <form onSubmit={submit} className="stack">
        <Field label={t.security.emailNew} name="email" type="email" autoComplete="email" spellCheck={false} problem={error} />
        <Submit busy={busy}>{t.security.emailSubmit}</Submit>
      </form>
    </section>
  );
}

interface SessionInfo {
  id: string;
  current: boolean;
  createdAt: string;
  lastSeenAt: string;
  sourceAddress: string | null;
  userAgent: string | null;
}

/** "Firefox 128 · Linux" from a user agent, or the raw string when unknown. */
function describe(userAgent: string | null): string {
  if (!userAgent) return '—';
  const browser = /(Firefox|Edg|OPR|Chrome|Safari)\/(\d+)/.exec(userAgent);
  const system = /(Windows|Android|iPhone|iPad|Mac OS X|Linux)/.exec(userAgent);
  if (!browser) return userAgent.slice(0, 60);
  const name = browser[1] === 'Edg' ? 'Edge' : browser[1] === 'OPR' ? 'Opera' : browser[1];
  return `${name} ${browser[2]}${system ? ` · ${system[1] === 'Mac OS X' ? 'macOS' : system[1]}` : ''}`;
}

export function SessionsSection() {
  const { t } = useI18n();
  const { refresh, notify } = useApp();
  const [sessions, setSessions] = useState<SessionInfo[] | null>(null);
  const { error, run } = useAction();

  const reload = async () => setSessions(await api.get<SessionInfo[]>('/api/sessions'));
  useEffect(() => {
    void run(reload);
  }, []);

  const end = (s: SessionInfo) => () =>
    void run(async () => {
      await api.del(`/api/sessions/${encodeURIComponent(s.id)}`);
      if (s.current) {
        setCsrfToken(undefined);
        await refresh();
        navigate('/connexion');
        return;
      }
      await reload();
      notify(t.security.sessionEnded);
    });

  const everywhere = () =>
    void run(async () => {
      await api.post('/api/logout-everywhere');
      setCsrfToken(undefined);
      await refresh();
      navigate('/connexion');
    });

  return (
    <section className="card" aria-labelledby="sessions-title">
      <h2 id="sessions-title">{t.security.sessionsTitle}</h2>
      <ErrorAlert error={error} />
      <ul className="list">
        {sessions?.map((s) => (
          <li key={s.id} className="row">
            <div>
              <strong>{describe(s.userAgent)}</strong>
              {s.current && <span className="badge on">{t.security.sessionCurrent}</span>}
              <br />
              <span className="hint">
                {t.security.sessionStarted} {formatDateTime(t, s.createdAt)} · {t.security.sessionLastSeen}{' '}
                {formatDateTime(t, s.lastSeenAt)}
                {s.sourceAddress && ` · ${t.security.sessionAddress} ${s.sourceAddress}`}
              </span>
            </div>
            <button
              type="button"
              className="button secondary"
              onClick={end(s)}
              aria-label={t.security.sessionEndLabel(`${describe(s.userAgent)}${s.current ? ` (${t.security.sessionCurrent})` : ''}`)}
            >
              {t.security.sessionEnd}
            </button>
          </li>
        ))}
      </ul>
      <p className="hint" id="everywhere-hint">
        {t.security.everywhereHint}
      </p>
      <button type="button" className="button danger" onClick={everywhere} aria-describedby="everywhere-hint">
        {t.security.everywhere}
      </button>
    </section>
  );
}
