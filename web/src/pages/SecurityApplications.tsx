// The "Applications autorisées" card of #/securite: the applications the user allowed to act on their
// behalf (OAuth 2.0 / SMART on FHIR grants), what each may do, and a way to revoke each at once (the
// server revokes the grant and all its tokens).
import { useCallback, useEffect, useRef, useState } from 'react';
import { api } from '../api';
import { formatDateTime, useI18n, type Lang } from '../i18n';
import { ErrorAlert, useAction } from '../ui';
import { describeScope, parseScope, useOAuthTexts } from './Authorize';
import { ConfirmButton } from './care-ui';

interface Grant {
  id: string;
  clientName: string;
  organisation: string | null;
  scopes: string[];
  createdAt: string;
  lastUsedAt: string | null;
}

const fr = {
  title: 'Applications autorisées',
  intro: 'Les applications que vous avez autorisées à agir en votre nom. Révoquez un accès pour l’arrêter aussitôt.',
  none: 'Aucune application n’a accès à votre compte.',
  registeredBy: (organisation: string) => `Enregistrée par ${organisation}`,
  allowed: 'Autorisée le',
  lastUsed: 'dernière utilisation',
  never: 'jamais',
  revoke: 'Révoquer l’accès',
  revokeLabel: (name: string) => `Révoquer l’accès de ${name}`,
  question: (name: string) => `Révoquer l’accès de « ${name} » ? Elle ne pourra plus rien lire ni écrire en votre nom.`,
  revoked: (name: string) => `L’accès de « ${name} » est révoqué.`,
};

const en: typeof fr = {
  title: 'Authorised applications',
  intro: 'The applications you allowed to act on your behalf. Revoke an access to stop it at once.',
  none: 'No application has access to your account.',
  registeredBy: (organisation) => `Registered by ${organisation}`,
  allowed: 'Allowed on',
  lastUsed: 'last used',
  never: 'never',
  revoke: 'Revoke access',
  revokeLabel: (name) => `Revoke the access of ${name}`,
  question: (name) => `Revoke the access of “${name}”? It will no longer read or write anything on your behalf.`,
  revoked: (name) => `The access of “${name}” is revoked.`,
};

const texts: Record<Lang, typeof fr> = { fr, en };

export function SecurityApplications() {
  const { t, lang } = useI18n();
  const s = texts[lang];
  const o = useOAuthTexts();
  const [grants, setGrants] = useState<Grant[] | null>(null);
  const [status, setStatus] = useState('');
  const load = useAction();
  const revoke = useAction();
  const headingRef = useRef<HTMLHeadingElement>(null);
  const errorRef = useRef<HTMLDivElement>(null);

  const reload = useCallback(async () => setGrants((await api.get<{ grants: Grant[] }>('/api/oauth/grants')).grants), []);
  useEffect(() => {
    void load.run(reload);
    // `load` changes at each render.
  }, [reload]);
  // A refusal takes the focus, so that it is read at once.
  useEffect(() => {
    if (revoke.error) errorRef.current?.focus();
  }, [revoke.error]);

  const revokeGrant = (grant: Grant) => () =>
    void revoke.run(async () => {
      setStatus('');
      await api.del(`/api/oauth/grants/${encodeURIComponent(grant.id)}`);
      await reload();
      setStatus(s.revoked(grant.clientName));
      // Its button is gone: the focus goes back to the card.
      headingRef.current?.focus();
    });

  /** The scopes in plain words; a scope this page does not know is shown as written. */
  const abilities = (scopes: string[]) =>
    scopes.flatMap((scope) => {
      if (scope === 'offline_access') return [o.offlineScope];
      if (scope === 'launch/patient') return [o.launchScope];
      const grant = parseScope(scope);
      return grant ? describeScope(o, grant) : [scope];
    });

  return (
    <section className="card" aria-labelledby="applications-title">
      <h2 id="applications-title" ref={headingRef} tabIndex={-1} className="focus-target">
        {s.title}
      </h2>
      <p>{s.intro}</p>
      <div role="status" aria-live="polite">
        {status && <p className="alert alert-success">{status}</p>}
      </div>
      <ErrorAlert error={load.error} />
      <div ref={errorRef} tabIndex={-1} className="focus-target">
        <ErrorAlert error={revoke.error} />
      </div>
      {grants === null && !load.error && <p>{t.common.loading}</p>}
      {grants?.length === 0 && <p>{s.none}</p>}
      <ul className="list" data-testid="oauth-grants">
        {grants?.map((grant) => (
          <li key={grant.id}>
            <strong>{grant.clientName}</strong>
            {grant.organisation && (
              <>
                <br />
                <span className="hint">{s.registeredBy(grant.organisation)}</span>
              </>
            )}
            <ul>
              {abilities(grant.scopes).map((line, index) => (
                <li key={`${index}-${line}`}>{line}</li>
              ))}
            </ul>
            <p className="hint">
              {s.allowed} {formatDateTime(t, grant.createdAt)} · {s.lastUsed} {grant.lastUsedAt ? formatDateTime(t, grant.lastUsedAt) : s.never}
            </p>
            <ConfirmButton label={s.revoke} accessibleLabel={s.revokeLabel(grant.clientName)} question={s.question(grant.clientName)} onConfirm={revokeGrant(grant)} busy={revoke.busy} />
          </li>
        ))}
      </ul>
    </section>
  );
}
