// #/mot-de-passe-oublie (ask for a link) and #/reinitialisation?token=… (choose the new password).
import { useState, type FormEvent } from 'react';
import { api } from '../api';
import { useI18n } from '../i18n';
import { ErrorAlert, Field, Notice, Page, Submit, formValues, useAction } from '../ui';

export function ForgotPassword() {
  const { t } = useI18n();
  const [sent, setSent] = useState(false);
  const { busy, error, run } = useAction();

  const submit = (event: FormEvent<HTMLFormElement>) => {
    const { email } = formValues(event);
    void run(async () => {
      await api.post('/api/password-reset/request', { email });
      setSent(true);
    });
  };

  return (
    <Page title={t.forgot.title}>
      <div role="status">{sent && <Notice tone="success">{t.forgot.sent}</Notice>}</div>
      {!sent && (
        <form onSubmit={submit} className="stack">
          <p>{t.forgot.intro}</p>
          <ErrorAlert error={error} />
          <Field label={t.fields.email} name="email" type="email" autoComplete="username" spellCheck={false} problem={error} />
          <Submit busy={busy}>{t.forgot.submit}</Submit>
        </form>
      )}
      <p className="aside">
        <a href="#/connexion">{t.common.backToLogin}</a>
      </p>
    </Page>
  );
}

export function ResetPassword({ token }: { token: string | null }) {
  const { t } = useI18n();
  const [done, setDone] = useState(false);
  const { busy, error, run } = useAction();

  const submit = (event: FormEvent<HTMLFormElement>) => {
    const { password } = formValues(event);
    void run(async () => {
      await api.post('/api/password-reset/complete', { token, password });
      setDone(true);
    });
  };

  return (
    <Page title={t.reset.title}>
      <div role="status">{done && <Notice tone="success">{t.reset.done}</Notice>}</div>
      {!token ? (
        <Notice tone="warning">
          {t.reset.missing} <a href="#/mot-de-passe-oublie">{t.reset.askAgain}</a>
        </Notice>
      ) : (
        !done && (
          <form onSubmit={submit} className="stack">
            <ErrorAlert error={error} />
            <Field
              label={t.fields.newPassword}
              name="password"
              type="password"
              autoComplete="new-password"
              hint={t.fields.passwordRule}
              minLength={12}
              problem={error}
            />
            <Submit busy={busy}>{t.reset.submit}</Submit>
          </form>
        )
      )}
      <p className="aside">
        <a href="#/connexion">{t.common.backToLogin}</a>
      </p>
    </Page>
  );
}
