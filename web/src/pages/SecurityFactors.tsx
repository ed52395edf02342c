// The second factors on #/securite: authenticator app (TOTP), passkeys, recovery codes.
import { useEffect, useState, type FormEvent } from 'react';
import { api } from '../api';
import { useApp } from '../context';
import { formatDateTime, useI18n } from '../i18n';
import { ErrorAlert, Field, Submit, UiError, formValues, useAction } from '../ui';
import { passkeysSupported, registerPasskey, type PublicKeyCredentialCreationOptionsJSON } from '../webauthn';
import { useReauth } from './Reauth';

type OnCodes = (codes: string[]) => void;

interface TotpEnrolment {
  secret: string;
  otpauthUrl: string;
  qrCodeSvg: string;
}

export function TotpSection({ onCodes }: { onCodes: OnCodes }) {
  const { t } = useI18n();
  const { session, refresh, notify } = useApp();
  const [enrolment, setEnrolment] = useState<TotpEnrolment | null>(null);
  const { guard, prompt } = useReauth();
  const { busy, error, run } = useAction();
  const enabled = session?.factors.totp ?? false;

  const start = () => void run(async () => setEnrolment(await guard(() => api.post<TotpEnrolment>('/api/factors/totp'))));
  const remove = () =>
    void run(async () => {
      await guard(() => api.del('/api/factors/totp'));
      await refresh();
      notify(t.security.totpRemoved);
    });
  const confirm = (event: FormEvent<HTMLFormElement>) => {
    const { code = '' } = formValues(event);
    void run(async () => {
      const result = await api.post<{ recoveryCodes?: string[] }>('/api/factors/totp/confirm', { code: code.replace(/\s+/g, '') });
      setEnrolment(null);
      await refresh();
      notify(t.security.totpEnabled);
      if (result?.recoveryCodes?.length) onCodes(result.recoveryCodes);
    });
  };

  return (
    <section className="card" aria-labelledby="totp-title">
      <h2 id="totp-title">{t.security.totpTitle}</h2>
      <p>
        <span className={enabled ? 'badge on' : 'badge'}>{enabled ? t.security.totpOn : t.security.totpOff}</span>
      </p>
      <ErrorAlert error={error} />
      {prompt}
      {enrolment ? (
        <div className="stack">
          <p>{t.security.totpScan}</p>
          <img className="qr" src={`data:image/svg+xml;charset=utf-8,${encodeURIComponent(enrolment.qrCodeSvg)}`} alt={t.security.totpQrAlt} />
          <p>
            {t.security.totpManual}
            <br />
            <code className="secret" data-testid="totp-secret" aria-label={t.security.totpSecret}>
              {enrolment.secret}
            </code>
          </p>
          <form onSubmit={confirm} className="stack">
            <Field
              label={t.security.totpCode}
              name="code"
              autoComplete="one-time-code"
              inputMode="numeric"
              pattern="[0-9 ]{6,7}"
              maxLength={7}
              className="short"
              problem={error}
            />
            <div className="actions">
              <Submit busy={busy}>{t.security.totpConfirm}</Submit>
              <button type="button" className="button link" onClick={() => setEnrolment(null)}>
                {t.common.cancel}
              </button>
            </div>
          </form>
        </div>
      ) : enabled ? (
        <button type="button" className="button secondary" onClick={remove}>
          {t.security.totpRemove}
        </button>
      ) : (
        <button type="button" className="button" onClick={start}>
          {t.security.totpStart}
        </button>
      )}
    </section>
  );
}

interface Passkey {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
}

export function PasskeysSection({ onCodes }: { onCodes: OnCodes }) {
  const { t } = useI18n();
  const { refresh, notify } = useApp();
  const [passkeys, setPasskeys] = useState<Passkey[] | null>(null);
  const { guard, prompt } = useReauth();
  const { busy, error, run } = useAction();

  const reload = async () => setPasskeys(await api.get<Passkey[]>('/api/factors/passkeys'));
  useEffect(() => {
    void run(reload);
  }, []);

  const add = (event: FormEvent<HTMLFormElement>) => {
    const form = event.currentTarget;
    const { name = '' } = formValues(event);
    void run(async () => {
      if (!passkeysSupported()) throw new UiError(t.login.passkeyUnsupported);
      const result = await guard(async () => {
        const options = await api.post<PublicKeyCredentialCreationOptionsJSON>('/api/factors/passkeys/options');
        const response = await registerPasskey(options).catch(() => {
          throw new UiError(t.login.passkeyFailed);
        });
        return api.post<{ id: string; recoveryCodes?: string[] }>('/api/factors/passkeys', {
          response,
          name: name || t.security.passkeyDefault,
        });
      });
      form.reset();
      await Promise.all([reload(), refresh()]);
      notify(t.security.passkeyAdded);
      if (result?.recoveryCodes?.length) onCodes(result.recoveryCodes);
    });
  };

  const remove = (passkey: Passkey) => () =>
    void run(async () => {
      await guard(() => api.del(`/api/factors/passkeys/${encodeURIComponent(passkey.id)}`));
      await Promise.all([reload(), refresh()]);
      notify(t.security.passkeyRemoved);
    });

  return (
    <section className="card" aria-labelledby="passkeys-title">
      <h2 id="passkeys-title">{t.security.passkeysTitle}</h2>
      <p>{t.security.passkeysIntro}</p>
      <ErrorAlert error={error} />
      {prompt}
      {passkeys && passkeys.length === 0 && <p>{t.security.passkeysNone}</p>}
      <ul className="list">
        {passkeys?.map((p) => (
          <li key={p.id} className="row">
            <div>
              <strong>{p.name}</strong>
              <br />
              <span className="hint">
                {t.security.passkeyCreated} {formatDateTime(t, p.createdAt)} · {t.security.passkeyLastUsed}{' '}
                {p.lastUsedAt ? formatDateTime(t, p.lastUsedAt) : t.security.never}
              </span>
            </div>
            <button type="button" className="button secondary" onClick={remove(p)} aria-label={t.security.passkeyRemoveLabel(p.name)}>
              {t.security.passkeyRemove}
            </button>
          </li>
        ))}
      </ul>
      <form onSubmit={add} className="stack">
        <Field
          label={t.security.passkeyName}
          name="name"
          hint={t.security.passkeyNameHint}
          optional
          maxLength={64}
          autoComplete="off"
          problem={error}
        />
        <Submit busy={busy}>{t.security.passkeyAdd}</Submit>
      </form>
    </section>
  );
}

export function RecoverySection({ onCodes }: { onCodes: OnCodes }) {
  const { t } = useI18n();
  const { session, refresh } = useApp();
  const { guard, prompt } = useReauth();
  const { error, run } = useAction();

  const regenerate = () =>
    void run(async () => {
      const { recoveryCodes } = await guard(() => api.post<{ recoveryCodes: string[] }>('/api/factors/recovery-codes'));
      await refresh();
      onCodes(recoveryCodes);
    });

  return (
    <section className="card" aria-labelledby="recovery-section-title">
      <h2 id="recovery-section-title">{t.security.recoveryTitle}</h2>
      <p>{t.security.recoveryLeft(session?.factors.recoveryCodesLeft ?? 0)}</p>
      <ErrorAlert error={error} />
      {prompt}
      <p className="hint" id="regenerate-hint">
        {t.security.recoveryRegenerateHint}
      </p>
      <button type="button" className="button secondary" onClick={regenerate} aria-describedby="regenerate-hint">
        {t.security.recoveryRegenerate}
      </button>
    </section>
  );
}
