// The "Applications connectées (OAuth 2.0 / SMART)" section of #/admin: the organisation's administrator
// registers the applications that may ask its members for access (name, exact redirect URIs, public or
// confidential), sees the client_id and, once, the secret of a confidential one, and revokes them.
import { useCallback, useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { ApiError, api } from '../api';
import { useApp } from '../context';
import { formatDateTime, useI18n, type Lang } from '../i18n';
import { ErrorAlert, Field, Submit, UiError, formValues, useAction } from '../ui';
import { ConfirmButton } from './care-ui';

interface Application {
  id: string;
  clientId: string;
  name: string;
  redirectUris: string[];
  confidential: boolean;
  createdAt: string;
  revokedAt: string | null;
  /** People whose authorisation is in force. */
  activeGrants?: number;
}

const MAX_REDIRECT_URIS = 5;

const fr = {
  title: 'Applications connectées (OAuth 2.0 / SMART)',
  intro:
    'Les applications enregistrées ici peuvent demander à vos patients et à vos professionnels l’autorisation d’agir en leur nom, par l’API FHIR (SMART on FHIR). Chacun décide pour lui-même et peut révoquer son accès ; l’application n’a jamais plus de droits que la personne.',
  fhirBase: 'Adresse du serveur FHIR',
  registerTitle: 'Enregistrer une application',
  name: 'Nom de l’application',
  nameHint: 'Tel que les utilisateurs le verront sur la page d’autorisation.',
  redirectUris: 'Adresses de retour (redirect_uri)',
  redirectUrisHint: `Une adresse par ligne, ${MAX_REDIRECT_URIS} au plus, exactement comme l’application les enverra : en https://, ou en http:// sur 127.0.0.1, [::1] ou localhost pour une application installée sur l’ordinateur.`,
  tooMany: `${MAX_REDIRECT_URIS} adresses de retour au plus.`,
  confidential: 'Application confidentielle (avec un secret client)',
  confidentialHint:
    'Pour une application hébergée sur un serveur, capable de garder un secret. Laissez décoché pour une application mobile, de bureau ou web sans serveur : elle utilisera PKCE.',
  register: 'Enregistrer l’application',
  createdTitle: (name: string) => `Application enregistrée : ${name}`,
  clientId: 'Identifiant client (client_id)',
  clientSecret: 'Secret client (client_secret)',
  secretWarning: 'Copiez ce secret maintenant et conservez-le en lieu sûr : il ne sera plus jamais affiché. Perdu, il faudra enregistrer l’application à nouveau.',
  secretDone: 'J’ai copié le secret',
  close: 'Fermer',
  listTitle: 'Applications enregistrées',
  none: 'Aucune application enregistrée.',
  confidentialBadge: 'Confidentielle',
  publicBadge: 'Publique (PKCE)',
  revokedBadge: 'Révoquée',
  created: 'Enregistrée le',
  grants: (n: number) => (n === 0 ? 'aucune personne ne l’a autorisée' : n === 1 ? 'autorisée par 1 personne' : `autorisée par ${n} personnes`),
  revokedOn: 'révoquée le',
  revoke: 'Révoquer',
  revokeLabel: (name: string) => `Révoquer l’application ${name}`,
  question: (name: string) => `Révoquer « ${name} » ? Tous ses accès cesseront aussitôt, pour tous les utilisateurs.`,
  revoked: (name: string) => `L’application « ${name} » est révoquée.`,
};

const en: typeof fr = {
  title: 'Connected applications (OAuth 2.0 / SMART)',
  intro:
    'The applications registered here may ask your patients and professionals for permission to act on their behalf, through the FHIR API (SMART on FHIR). Each person decides for themself and can revoke the access; an application never has more rights than the person.',
  fhirBase: 'FHIR server address',
  registerTitle: 'Register an application',
  name: 'Application name',
  nameHint: 'As users will see it on the authorisation page.',
  redirectUris: 'Redirect URIs (redirect_uri)',
  redirectUrisHint: `One per line, ${MAX_REDIRECT_URIS} at most, exactly as the application will send them: https://, or http:// on 127.0.0.1, [::1] or localhost for an application installed on the computer.`,
  tooMany: `${MAX_REDIRECT_URIS} redirect URIs at most.`,
  confidential: 'Confidential application (with a client secret)',
  confidentialHint: 'For an application hosted on a server, able to keep a secret. Leave unchecked for a mobile, desktop or server-less web application: it will use PKCE.',
  register: 'Register the application',
  createdTitle: (name) => `Application registered: ${name}`,
  clientId: 'Client identifier (client_id)',
  clientSecret: 'Client secret (client_secret)',
  secretWarning: 'Copy this secret now and keep it safe: it will never be shown again. If it is lost, the application must be registered again.',
  secretDone: 'I have copied the secret',
  close: 'Close',
  listTitle: 'Registered applications',
  none: 'No application registered.',
  confidentialBadge: 'Confidential',
  publicBadge: 'Public (PKCE)',
  revokedBadge: 'Revoked',
  created: 'Registered on',
  grants: (n: number) => (n === 0 ? 'authorised by nobody' : n === 1 ? 'authorised by 1 person' : `authorised by ${n} people`),
  revokedOn: 'revoked on',
  revoke: 'Revoke',
  revokeLabel: (name) => `Revoke the application ${name}`,
  question: (name) => `Revoke “${name}”? All its accesses will stop at once, for every user.`,
  revoked: (name) => `The application “${name}” is revoked.`,
};

const texts: Record<Lang, typeof fr> = { fr, en };

export function AdminApplications({ orgId }: { orgId: string }) {
  const { t, lang } = useI18n();
  const a = texts[lang];
  const { notify } = useApp();
  const base = `/api/admin/organisations/${encodeURIComponent(orgId)}/applications`;
  const [applications, setApplications] = useState<Application[] | null>(null);
  const [created, setCreated] = useState<{ application: Application; clientSecret: string | null } | null>(null);
  const load = useAction();
  const create = useAction();
  const revoke = useAction();
  const urisId = useId();
  const errorRef = useRef<HTMLDivElement>(null);
  const createdRef = useRef<HTMLHeadingElement>(null);
  const titleRef = useRef<HTMLHeadingElement>(null);

  const reload = useCallback(async () => setApplications((await api.get<{ applications: Application[] }>(base)).applications), [base]);
  useEffect(() => {
    void load.run(reload);
    // `load` changes at each render; `reload` only with the organisation.
  }, [reload]);
  // A refusal takes the focus, so that it is read at once; so does the new application's client_id.
  useEffect(() => {
    if (create.error || revoke.error) errorRef.current?.focus();
  }, [create.error, revoke.error]);
  useEffect(() => {
    if (created) createdRef.current?.focus();
  }, [created]);

  const register = (event: FormEvent<HTMLFormElement>) => {
    const form = event.currentTarget;
    const values = formValues(event);
    const confidential = new FormData(form).get('confidential') === 'on';
    const redirectUris = (values.redirectUris ?? '')
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter(Boolean);
    void create.run(async () => {
      setCreated(null);
      if (redirectUris.length > MAX_REDIRECT_URIS) throw new UiError(a.tooMany);
      const answer = await api.post<{ application: Application; clientSecret: string | null }>(base, { name: values.name ?? '', redirectUris, confidential });
      form.reset();
      setCreated(answer);
      await reload();
    });
  };

  const dismiss = () => {
    setCreated(null);
    titleRef.current?.focus();
  };

  const revokeApplication = (application: Application) => () =>
    void revoke.run(async () => {
      await api.del(`${base}/${encodeURIComponent(application.id)}`);
      notify(a.revoked(application.name));
      await reload();
    });

  // The only UiError of the form is about the redirect URIs' number.
  const urisInvalid = create.error instanceof UiError || (create.error instanceof ApiError && create.error.errors.some((e) => e.pointer.startsWith('/redirectUris')));
  return (
    <section aria-labelledby="applications-title" className="stack">
      <h2 id="applications-title" ref={titleRef} tabIndex={-1} className="focus-target">
        {a.title}
      </h2>
      <p>{a.intro}</p>
      <dl className="facts">
        <dt>{a.fhirBase}</dt>
        <dd>
          <code>{`${window.location.origin}/fhir/R4`}</code>
        </dd>
      </dl>
      <ErrorAlert error={load.error} />
      <div ref={errorRef} tabIndex={-1} className="focus-target">
        <ErrorAlert error={create.error ?? revoke.error} />
      </div>

      {created && (
        <div className={created.clientSecret ? 'alert alert-warning' : 'alert alert-success'} data-testid="application-created">
          <h3 ref={createdRef} tabIndex={-1} className="focus-target">
            {a.createdTitle(created.application.name)}
          </h3>
          <dl className="facts">
            <dt>{a.clientId}</dt>
            <dd>
              <code className="secret" data-testid="client-id">
                {created.application.clientId}
              </code>
            </dd>
            {created.clientSecret && (
              <>
                <dt>{a.clientSecret}</dt>
                <dd>
                  <code className="secret" data-testid="client-secret">
                    {created.clientSecret}
                  </code>
                </dd>
              </>
            )}
          </dl>
          {created.clientSecret && (
            <p>
              <strong>{a.secretWarning}</strong>
            </p>
          )}
          <button type="button" className="button secondary" onClick={dismiss}>
            {created.clientSecret ? a.secretDone : a.close}
          </button>
        </div>
      )}

      <form onSubmit={register} className="stack" aria-labelledby="application-register-title">
        <h3 id="application-register-title">{a.registerTitle}</h3>
        <Field label={a.name} name="name" hint={a.nameHint} maxLength={100} autoComplete="off" problem={create.error} />
        <div className={urisInvalid ? 'field field-invalid' : 'field'}>
          <label htmlFor={urisId}>{a.redirectUris}</label>
          <p className="hint" id={`${urisId}-hint`}>
            {a.redirectUrisHint}
          </p>
          <textarea
            id={urisId}
            name="redirectUris"
            rows={3}
            required
            spellCheck={false}
            autoCapitalize="none"
            autoComplete="off"
            aria-invalid={urisInvalid || undefined}
            aria-describedby={`${urisId}-hint`}
          />
        </div>
        <div>
          <label className="choice">
            <input type="checkbox" name="confidential" aria-describedby={`${urisId}-confidential`} />
            {a.confidential}
          </label>
          <p className="hint" id={`${urisId}-confidential`}>
            {a.confidentialHint}
          </p>
        </div>
        <Submit busy={create.busy}>{a.register}</Submit>
      </form>

      <h3>{a.listTitle}</h3>
      {applications === null && !load.error && <p>{t.common.loading}</p>}
      {applications?.length === 0 && <p>{a.none}</p>}
      <ul className="list" data-testid="applications">
        {applications?.map((application) => (
          <li key={application.id} className="row">
            <div>
              <strong>{application.name}</strong>{' '}
              <span className="badge">{application.confidential ? a.confidentialBadge : a.publicBadge}</span>
              {application.revokedAt && <span className="badge warn">{a.revokedBadge}</span>}
              <br />
              <code>{application.clientId}</code>
              <ul>
                {application.redirectUris.map((uri) => (
                  <li key={uri}>
                    <code>{uri}</code>
                  </li>
                ))}
              </ul>
              <span className="hint">
                {a.created} {formatDateTime(t, application.createdAt)}
                {application.revokedAt && ` · ${a.revokedOn} ${formatDateTime(t, application.revokedAt)}`}
                {!application.revokedAt && application.activeGrants !== undefined && ` · ${a.grants(application.activeGrants)}`}
              </span>
            </div>
            {!application.revokedAt && (
              <ConfirmButton
                label={a.revoke}
                accessibleLabel={a.revokeLabel(application.name)}
                question={a.question(application.name)}
                onConfirm={revokeApplication(application)}
                busy={revoke.busy}
              />
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
