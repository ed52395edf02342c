// #/connexion — e-mail and password, then the second factor; or a username-less passkey.
import { useState, type FormEvent } from 'react';
import { api, type LoginResult, type SecondFactor, type Session } from '../api';
import { useApp } from '../context';
import { useI18n } from '../i18n';
import { navigate } from '../router';
import { ErrorAlert, Field, Heading, Page, Submit, UiError, formValues, useAction, useDocumentTitle } from '../ui';
import { authenticateWithPasskey, passkeysSupported, type PublicKeyCredentialRequestOptionsJSON } from '../webauthn';

function methodsOf(session: Session | null): SecondFactor[] {
  if (!session) return [];
  const methods: SecondFactor[] = [];
  if (session.factors.totp) methods.push('totp');
  if (session.factors.passkeys > 0) methods.push('passkey');
  if (session.factors.recoveryCodesLeft > 0) methods.push('recovery_code');
  return methods.length > 0 ? methods : ['totp', 'recovery_code'];
}

export function Login() {
  const { t } = useI18n();
  const { session, refresh, notify } = useApp();
  const [methods, setMethods] = useState<SecondFactor[] | null>(() =>
    session?.secondFactorPending ? methodsOf(session) : null,
  );
  const { busy, error, run } = useAction();
  const passkey = useAction();

  async function finish(result: LoginResult) {
    const current = await refresh();
    if (result.status === 'second_factor_required') {
      setMethods(result.methods.length > 0 ? result.methods : methodsOf(current));
      return;
    }
    if (result.recoveryCodesLeft !== undefined) notify(t.login.recoveryLeft(result.recoveryCodesLeft), '/accueil');
    else if (current) notify(t.login.welcome(current.user.displayName), '/accueil');
    navigate('/accueil');
  }

  const login = (event: FormEvent<HTMLFormElement>) => {
    const values = formValues(event);
    void run(async () => finish(await api.post<LoginResult>('/api/login', { email: values.email, password: values.password })));
  };

  const loginWithPasskey = () =>
    void passkey.run(async () => {
      if (!passkeysSupported()) throw new UiError(t.login.passkeyUnsupported);
      const { challengeId, options } = await api.post<{ challengeId: string; options: PublicKeyCredentialRequestOptionsJSON }>(
        '/api/passkey-login/options',
      );
      const response = await authenticateWithPasskey(options).catch(() => {
        throw new UiError(t.login.passkeyFailed);
      });
      await finish(await api.post<LoginResult>('/api/passkey-login', { challengeId, response }));
    });

  if (methods) return <SecondStep methods={methods} finish={finish} onCancel={() => setMethods(null)} />;

  return (
    <Page title={t.login.title}>
      <form onSubmit={login} className="stack">
        <ErrorAlert error={error} />
        <Field label={t.fields.email} name="email" type="email" autoComplete="username" spellCheck={false} problem={error} />
        <Field label={t.fields.password} name="password" type="password" autoComplete="current-password" problem={error} />
        <Submit busy={busy}>{t.login.submit}</Submit>
        <p>
          <a href="#/mot-de-passe-oublie">{t.login.forgot}</a>
        </p>
        <p>
          <a href="#/test-materiel">{t.login.deviceCheck}</a>
        </p>
      </form>
      <div className="separator" aria-hidden="true">
        {t.login.or}
      </div>
      <div className="stack">
        <ErrorAlert error={passkey.error} />
        <button type="button" className="button secondary" onClick={loginWithPasskey} aria-describedby="passkey-hint">
          {t.login.passkey}
        </button>
        <p className="hint" id="passkey-hint">
          {t.login.passkeyHint}
        </p>
      </div>
      <p className="aside">
        {t.login.noAccount} <a href="#/inscription">{t.login.createAccount}</a>
      </p>
    </Page>
  );
}

function SecondStep(props: { methods: SecondFactor[]; finish: (r: LoginResult) => Promise<void>; onCancel: () => void }) {
  const { methods, finish, onCancel } = props;
  const { t } = useI18n();
  const { refresh } = useApp();
  const [recovery, setRecovery] = useState(!methods.includes('totp') && !methods.includes('passkey'));
  const { busy, error, run } = useAction();

  const submitCode = (event: FormEvent<HTMLFormElement>) => {
    const { code = '' } = formValues(event);
    void run(async () =>
      finish(
        recovery
          ? await api.post<LoginResult>('/api/login/recovery-code', { code })
          : await api.post<LoginResult>('/api/login/totp', { code: code.replace(/\s+/g, '') }),
      ),
    );
  };

  const usePasskey = () =>
    void run(async () => {
      if (!passkeysSupported()) throw new UiError(t.login.passkeyUnsupported);
      const options = await api.post<PublicKeyCredentialRequestOptionsJSON>('/api/login/passkey/options');
      const response = await authenticateWithPasskey(options).catch(() => {
        throw new UiError(t.login.passkeyFailed);
      });
      await finish(await api.post<LoginResult>('/api/login/passkey', { response }));
    });

  const cancel = () =>
    void run(async () => {
      await api.post('/api/logout').catch(() => undefined);
      await refresh();
      onCancel();
    });

  useDocumentTitle(t.login.secondTitle);
  return (
    <div className="page">
      <Heading>{t.login.secondTitle}</Heading>
      <p>{t.login.secondIntro}</p>
      <ErrorAlert error={error} />
      {(methods.includes('totp') || recovery) && (
        <form onSubmit={submitCode} className="stack" key={recovery ? 'recovery' : 'totp'}>
          {recovery ? (
            <Field
              label={t.login.recovery}
              name="code"
              hint={t.login.recoveryHint}
              autoComplete="off"
              spellCheck={false}
              autoCapitalize="none"
              problem={error}
            />
          ) : (
            <Field
              label={t.login.totp}
              name="code"
              hint={t.login.totpHint}
              autoComplete="one-time-code"
              inputMode="numeric"
              pattern="[0-9 ]{6,7}"
              maxLength={7}
              className="short"
              problem={error}
            />
          )}
          <Submit busy={busy}>{t.login.verify}</Submit>
        </form>
      )}
      <div className="actions">
        {methods.includes('passkey') && (
          <button type="button" className="button secondary" onClick={usePasskey}>
            {t.login.usePasskey}
          </button>
        )}
        {!recovery && methods.includes('recovery_code') && (
          <button type="button" className="button link" onClick={() => setRecovery(true)}>
            {t.login.useRecovery}
          </button>
        )}
        {recovery && methods.includes('totp') && (
          <button type="button" className="button link" onClick={() => setRecovery(false)}>
            {t.login.useTotp}
          </button>
        )}
        <button type="button" className="button link" onClick={cancel}>
          {t.common.cancel}
        </button>
      </div>
    </div>
  );
}
