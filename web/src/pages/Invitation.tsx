// #/invitation?token=… — join an organisation; patients also give their identity traits.
import { useEffect, useState, type FormEvent } from 'react';
import { api, type Role } from '../api';
import { hasSecondFactor, useApp } from '../context';
import { useI18n } from '../i18n';
import { navigate } from '../router';
import { ErrorAlert, Field, Notice, Page, Submit, formValues, useAction } from '../ui';
import { IdentityFields, identityFrom } from './IdentityFields';

interface InvitationInfo {
  organisationName: string;
  email: string;
  roles: Role[];
  accountExists: boolean;
}

export function Invitation({ token }: { token: string | null }) {
  const { t } = useI18n();
  const { refresh, notify } = useApp();
  const [info, setInfo] = useState<InvitationInfo | null>(null);
  const load = useAction();
  const { busy, error, run } = useAction();

  useEffect(() => {
    if (token) void load.run(async () => setInfo(await api.get(`/api/invitations/${encodeURIComponent(token)}`)));
  }, [token]);

  const patient = info?.roles.includes('patient') ?? false;
  const submit = (event: FormEvent<HTMLFormElement>) => {
    const v = formValues(event);
    void run(async () => {
      await api.post('/api/invitations/accept', {
        token,
        password: v.password,
        displayName: v.displayName ?? '',
        ...(patient ? { identity: identityFrom(v) } : {}),
      });
      const session = await refresh();
      if (hasSecondFactor(session)) {
        navigate('/accueil');
      } else {
        notify(t.invitation.done, '/securite');
        navigate('/securite');
      }
    });
  };

  return (
    <Page title={t.invitation.title}>
      {!token && <Notice tone="warning">{t.reset.missing}</Notice>}
      <ErrorAlert error={load.error} />
      {token && !info && !load.error && <p>{t.common.loading}</p>}
      {info && (
        <>
          <p className="lead">{t.invitation.intro(info.organisationName)}</p>
          <dl className="facts">
            <dt>{t.invitation.email}</dt>
            <dd>{info.email}</dd>
            <dt>{t.invitation.roles}</dt>
            <dd>{info.roles.map((r) => t.roles[r]).join(', ')}</dd>
          </dl>
          {info.accountExists ? (
            <Notice tone="warning">
              {t.invitation.exists} <a href="#/connexion">{t.nav.login}</a>
            </Notice>
          ) : (
            <form onSubmit={submit} className="stack">
              <ErrorAlert error={error} />
              <p className="hint">{t.common.requiredNote}</p>
              <input type="hidden" name="username" value={info.email} autoComplete="username" />
              <Field label={t.fields.displayName} name="displayName" hint={t.fields.displayNameHint} autoComplete="name" problem={error} />
              <Field
                label={t.fields.password}
                name="password"
                type="password"
                autoComplete="new-password"
                hint={t.fields.passwordRule}
                minLength={12}
                problem={error}
              />
              {patient && <IdentityFields problem={error} />}
              <Submit busy={busy}>{t.invitation.submit}</Submit>
            </form>
          )}
        </>
      )}
    </Page>
  );
}
