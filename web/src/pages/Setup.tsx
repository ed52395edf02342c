// #/installation — first run: organisation and administrator, with the token printed on the server console.
import type { FormEvent } from 'react';
import { api } from '../api';
import { useApp } from '../context';
import { useI18n } from '../i18n';
import { navigate } from '../router';
import { ErrorAlert, Field, Page, Submit, formValues, useAction } from '../ui';

export function Setup() {
  const { t } = useI18n();
  const { refresh, notify, markSetupDone } = useApp();
  const { busy, error, run } = useAction();

  const submit = (event: FormEvent<HTMLFormElement>) => {
    const v = formValues(event);
    void run(async () => {
      await api.post('/api/setup', {
        setupToken: v.setupToken,
        organisation: v.finess ? { name: v.orgName, finess: v.finess } : { name: v.orgName },
        admin: { email: v.email, displayName: v.displayName, password: v.password },
      });
      await refresh();
      notify(t.setup.done, '/securite');
      navigate('/securite');
      markSetupDone();
    });
  };

  return (
    <Page title={t.setup.title}>
      <p>{t.setup.intro}</p>
      <p className="hint">{t.common.requiredNote}</p>
      <form onSubmit={submit} className="stack">
        <ErrorAlert error={error} />
        <Field label={t.setup.token} name="setupToken" hint={t.setup.tokenHint} autoComplete="off" spellCheck={false} problem={error} />
        <fieldset>
          <legend>{t.setup.orgLegend}</legend>
          <Field label={t.setup.orgName} name="orgName" pointer="/organisation/name" autoComplete="organization" problem={error} />
          <Field
            label={t.setup.finess}
            name="finess"
            pointer="/organisation/finess"
            hint={t.setup.finessHint}
            optional
            maxLength={9}
            className="short"
            autoComplete="off"
            problem={error}
          />
        </fieldset>
        <fieldset>
          <legend>{t.setup.adminLegend}</legend>
          <Field label={t.fields.email} name="email" pointer="/admin/email" type="email" autoComplete="username" problem={error} />
          <Field
            label={t.fields.displayName}
            name="displayName"
            pointer="/admin/displayName"
            hint={t.fields.displayNameHint}
            autoComplete="name"
            problem={error}
          />
          <Field
            label={t.fields.password}
            name="password"
            pointer="/admin/password"
            type="password"
            autoComplete="new-password"
            hint={t.fields.passwordRule}
            minLength={12}
            problem={error}
          />
        </fieldset>
        <Submit busy={busy}>{t.setup.submit}</Submit>
      </form>
    </Page>
  );
}
