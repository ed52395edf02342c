// #/inscription — patient sign-up, then straight to enrolling a second factor.
import { useEffect, useId, useState, type FormEvent } from 'react';
import { ApiError, api } from '../api';
import { useApp } from '../context';
import { useI18n } from '../i18n';
import { navigate } from '../router';
import { ErrorAlert, Field, Notice, Page, Submit, formValues, useAction } from '../ui';
import { IdentityFields, identityFrom } from './IdentityFields';

export function Signup() {
  const { t, lang } = useI18n();
  const { refresh, notify } = useApp();
  const [organisations, setOrganisations] = useState<Array<{ id: string; name: string }> | null>(null);
  const load = useAction();
  const { busy, error, run } = useAction();
  const orgId = useId();

  useEffect(() => {
    void load.run(async () => setOrganisations(await api.get('/api/organisations')));
  }, []);

  const submit = (event: FormEvent<HTMLFormElement>) => {
    const v = formValues(event);
    void run(async () => {
      await api.post('/api/signup', {
        organisationId: v.organisationId,
        email: v.email,
        password: v.password,
        displayName: v.displayName,
        locale: lang,
        identity: identityFrom(v),
      });
      await refresh();
      notify(t.signup.done, '/securite');
      navigate('/securite');
    });
  };

  const orgError = error instanceof ApiError ? error.fieldError('/organisationId') : undefined;
  return (
    <Page title={t.signup.title}>
      <p>{t.signup.intro}</p>
      <p className="hint">{t.common.requiredNote}</p>
      <ErrorAlert error={load.error} />
      {organisations === null ? (
        !load.error && <p>{t.common.loading}</p>
      ) : organisations.length === 0 ? (
        <Notice>{t.signup.noOrganisations}</Notice>
      ) : (
        <form onSubmit={submit} className="stack">
          <ErrorAlert error={error} />
          <div className={orgError ? 'field field-invalid' : 'field'}>
            <label htmlFor={orgId}>{t.signup.organisation}</label>
            <p className="hint" id={`${orgId}-hint`}>
              {t.signup.organisationHint}
            </p>
            {orgError && <p className="field-error">{orgError}</p>}
            <select id={orgId} name="organisationId" required aria-describedby={`${orgId}-hint`} defaultValue={organisations.length === 1 ? organisations[0]?.id : ''}>
              <option value="" disabled>
                {t.signup.choose}
              </option>
              {organisations.map((o) => (
                <option key={o.id} value={o.id}>
                  {o.name}
                </option>
              ))}
            </select>
          </div>
          <fieldset>
            <legend>{t.signup.accountLegend}</legend>
            <Field label={t.fields.email} name="email" type="email" autoComplete="email" spellCheck={false} problem={error} />
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
          </fieldset>
          <IdentityFields problem={error} />
          <Submit busy={busy}>{t.signup.submit}</Submit>
        </form>
      )}
      <p className="aside">
        {t.signup.haveAccount} <a href="#/connexion">{t.nav.login}</a>
      </p>
    </Page>
  );
}
