// #/autoriser — the consent page of OAuth 2.0 / SMART on FHIR: an application registered by an
// organisation asks to act on the user's behalf. The server's /oauth/authorize sends the browser here with
// its query string unchanged; this page reads the request (GET /api/oauth/authorization), says in plain
// words what the application would be allowed to do, and posts the user's decision, then follows the
// redirect back to the application (RFC 6749 §4.1.2). Without a redirect from the server (unknown client,
// unregistered redirect URI) it never sends the browser anywhere (RFC 6749 §4.1.2.1).
// Also the scope wording shared with the "Applications autorisées" card of #/securite.
import { useEffect, useRef, useState } from 'react';
import { ApiError, api } from '../api';
import { useI18n, type Lang } from '../i18n';
import { ErrorAlert, Page, useAction } from '../ui';

export interface ScopeGrant {
  scope: string;
  context: 'patient' | 'user';
  /** A FHIR type, or '*' for every type. */
  resource: string;
  read: boolean;
  search: boolean;
  create: boolean;
}

interface AuthorizationRequest {
  client: { clientId: string; name: string; organisation: string | null };
  redirectUri: string;
  scopes: ScopeGrant[];
  offlineAccess: boolean;
}

/** How a type is named: the user's own (`own`), anyone's (`any`), some new ones (`some`). */
type Nouns = { own: string; any: string; some: string };

const fr = {
  title: 'Autoriser une application',
  errorTitle: 'Demande d’autorisation',
  asks: (organisation: string | null) => (organisation ? `, enregistrée par ${organisation}, demande à agir en votre nom.` : ' demande à agir en votre nom.'),
  canTitle: 'Ce qu’elle pourra faire',
  never: 'Elle n’aura jamais plus de droits que vous : chaque accès suit les mêmes règles que dans Ausculta et figure dans le journal des accès.',
  durationTitle: 'Pendant combien de temps',
  offline: 'Elle gardera cet accès même quand vous n’êtes pas connecté, jusqu’à ce que vous le révoquiez dans « Sécurité ».',
  online: 'Pour une courte durée seulement : ensuite, elle devra vous le demander à nouveau. Vous pouvez aussi le révoquer dans « Sécurité ».',
  destination: 'Après votre réponse, vous serez renvoyé vers :',
  unknownHint: 'Si vous ne connaissez pas cette application ou ne l’avez pas ouverte vous-même, refusez.',
  allow: 'Autoriser',
  deny: 'Refuser',
  leaving: (host: string) => `Redirection vers ${host}…`,
  backToApp: 'Retourner à l’application',
  verbs: (read: boolean, search: boolean): string => (read && search ? 'Lire et rechercher' : read ? 'Lire' : 'Rechercher'),
  readOwn: (verbs: string, nouns: Nouns) => `${verbs} ${nouns.own}`,
  readAny: (verbs: string, nouns: Nouns) => `${verbs} ${nouns.any} des dossiers que vous êtes autorisé à consulter`,
  createOwn: (nouns: Nouns) => `Créer ${nouns.some} dans votre dossier`,
  createAny: (nouns: Nouns) => `Créer ${nouns.some} dans les dossiers que vous êtes autorisé à consulter`,
  allOwn: (what: string) => `Tout votre dossier (${what})`,
  allAny: (what: string) => `Tous les dossiers que vous êtes autorisé à consulter (${what})`,
  reading: 'lecture',
  writing: 'ajout de données',
  offlineScope: 'Garder l’accès sans votre présence, jusqu’à révocation',
  launchScope: 'Connaître l’identifiant de votre dossier',
  types: {
    Patient: { own: 'votre fiche d’identité', any: 'les fiches d’identité', some: 'des fiches d’identité' },
    Practitioner: { own: 'les fiches de vos professionnels de santé', any: 'les fiches des professionnels de santé', some: 'des fiches de professionnels' },
    Organization: { own: 'les fiches de vos établissements', any: 'les fiches des établissements', some: 'des fiches d’établissements' },
    Encounter: { own: 'vos consultations', any: 'les consultations', some: 'des consultations' },
    Observation: { own: 'vos observations (mesures et constantes)', any: 'les observations (mesures et constantes)', some: 'des observations (mesures et constantes)' },
    AllergyIntolerance: { own: 'vos allergies et intolérances', any: 'les allergies et intolérances', some: 'des allergies et intolérances' },
    Condition: { own: 'vos antécédents et problèmes de santé', any: 'les antécédents et problèmes de santé', some: 'des antécédents et problèmes de santé' },
    DocumentReference: { own: 'vos documents', any: 'les documents', some: 'des documents' },
    Composition: { own: 'vos comptes rendus', any: 'les comptes rendus', some: 'des comptes rendus' },
    MedicationRequest: { own: 'vos ordonnances de médicaments', any: 'les ordonnances de médicaments', some: 'des ordonnances de médicaments' },
    ServiceRequest: { own: 'vos prescriptions d’examens et d’actes', any: 'les prescriptions d’examens et d’actes', some: 'des prescriptions d’examens et d’actes' },
    Consent: { own: 'vos consentements et oppositions', any: 'les consentements et oppositions', some: 'des consentements et oppositions' },
    AuditEvent: { own: 'la liste des accès à vos données', any: 'la liste des accès aux données', some: 'des traces d’accès' },
  } as Record<string, Nouns>,
  otherType: (type: string): Nouns => ({ own: `vos données de type ${type}`, any: `les données de type ${type}`, some: `des données de type ${type}` }),
};

const en: typeof fr = {
  title: 'Authorise an application',
  errorTitle: 'Authorisation request',
  asks: (organisation) => (organisation ? `, registered by ${organisation}, asks to act on your behalf.` : ' asks to act on your behalf.'),
  canTitle: 'What it will be able to do',
  never: 'It will never have more rights than you: every access follows the same rules as in Ausculta and is listed in the access log.',
  durationTitle: 'For how long',
  offline: 'It will keep this access even when you are not signed in, until you revoke it under “Security”.',
  online: 'For a short time only: then it will have to ask you again. You can also revoke it under “Security”.',
  destination: 'After your answer, you will be sent back to:',
  unknownHint: 'If you do not know this application or did not open it yourself, deny.',
  allow: 'Allow',
  deny: 'Deny',
  leaving: (host) => `Redirecting to ${host}…`,
  backToApp: 'Return to the application',
  verbs: (read, search) => (read && search ? 'Read and search' : read ? 'Read' : 'Search'),
  readOwn: (verbs, nouns) => `${verbs} ${nouns.own}`,
  readAny: (verbs, nouns) => `${verbs} ${nouns.any} of the records you are allowed to see`,
  createOwn: (nouns) => `Create ${nouns.some} in your record`,
  createAny: (nouns) => `Create ${nouns.some} in the records you are allowed to see`,
  allOwn: (what) => `Your whole record (${what})`,
  allAny: (what) => `All the records you are allowed to see (${what})`,
  reading: 'read',
  writing: 'adding data',
  offlineScope: 'Keep access without you, until revoked',
  launchScope: 'Know the identifier of your record',
  types: {
    Patient: { own: 'your identity record', any: 'identity records', some: 'identity records' },
    Practitioner: { own: 'the details of your health professionals', any: 'the details of health professionals', some: 'professionals’ details' },
    Organization: { own: 'the details of your healthcare organisations', any: 'the details of healthcare organisations', some: 'organisations’ details' },
    Encounter: { own: 'your consultations', any: 'consultations', some: 'consultations' },
    Observation: { own: 'your observations (measurements and vital signs)', any: 'observations (measurements and vital signs)', some: 'observations (measurements and vital signs)' },
    AllergyIntolerance: { own: 'your allergies and intolerances', any: 'allergies and intolerances', some: 'allergies and intolerances' },
    Condition: { own: 'your medical history and health problems', any: 'medical history and health problems', some: 'medical history and health problems' },
    DocumentReference: { own: 'your documents', any: 'documents', some: 'documents' },
    Composition: { own: 'your reports', any: 'reports', some: 'reports' },
    MedicationRequest: { own: 'your medicine prescriptions', any: 'medicine prescriptions', some: 'medicine prescriptions' },
    ServiceRequest: { own: 'your prescriptions of tests and procedures', any: 'prescriptions of tests and procedures', some: 'prescriptions of tests and procedures' },
    Consent: { own: 'your consents and objections', any: 'consents and objections', some: 'consents and objections' },
    AuditEvent: { own: 'the list of accesses to your data', any: 'the list of accesses to data', some: 'access traces' },
  },
  otherType: (type) => ({ own: `your ${type} data`, any: `${type} data`, some: `${type} data` }),
};

const texts: Record<Lang, typeof fr> = { fr, en };

export function useOAuthTexts(): typeof fr {
  return texts[useI18n().lang];
}

/** A granted scope string (SMART 2.0 `patient/Observation.rs`, or 1.0 `.read`) in the consent page's shape; null for other scopes. */
export function parseScope(scope: string): ScopeGrant | null {
  const match = /^(patient|user)\/(\*|[A-Za-z]+)\.(read|write|\*|c?r?u?d?s?)$/.exec(scope);
  if (!match) return null;
  const [, context, resource = '', access = ''] = match;
  const letters = ({ read: 'rs', write: 'cud', '*': 'cruds' } as Record<string, string>)[access] ?? access;
  return { scope, context: context === 'user' ? 'user' : 'patient', resource, read: letters.includes('r'), search: letters.includes('s'), create: letters.includes('c') };
}

/** What one scope allows, in plain words: a line for reading, a line for creating. */
export function describeScope(o: typeof fr, grant: ScopeGrant): string[] {
  const own = grant.context === 'patient';
  const lines: string[] = [];
  if (grant.resource === '*') {
    if (grant.read || grant.search) lines.push(own ? o.allOwn(o.reading) : o.allAny(o.reading));
    if (grant.create) lines.push(own ? o.allOwn(o.writing) : o.allAny(o.writing));
    return lines;
  }
  const nouns = o.types[grant.resource] ?? o.otherType(grant.resource);
  if (grant.read || grant.search) {
    const verbs = o.verbs(grant.read, grant.search);
    lines.push(own ? o.readOwn(verbs, nouns) : o.readAny(verbs, nouns));
  }
  if (grant.create) lines.push(own ? o.createOwn(nouns) : o.createAny(nouns));
  return lines;
}

function hostOf(uri: string): string {
  try {
    return new URL(uri).host;
  } catch {
    return uri;
  }
}

/** The application's address carrying the error, when the server gives one (an http(s) URL only). */
function redirectOf(error: unknown): string | null {
  if (!(error instanceof ApiError)) return null;
  const redirect = error.problem['redirect'];
  return typeof redirect === 'string' && /^https?:\/\//i.test(redirect) ? redirect : null;
}

/** An error that takes the focus when it appears, with the way back to the application when there is one. */
function FocusedError({ error }: { error: unknown }) {
  const o = useOAuthTexts();
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (error) ref.current?.focus();
  }, [error]);
  const redirect = redirectOf(error);
  return (
    <div ref={ref} tabIndex={-1} className="focus-target">
      <ErrorAlert error={error} />
      {error && redirect ? (
        <p>
          <a href={redirect}>{o.backToApp}</a>
        </p>
      ) : null}
    </div>
  );
}

/** `query`: the raw query string of /oauth/authorize, without '?', as the server passed it on. */
export function Authorize({ query }: { query: string }) {
  const { t } = useI18n();
  const o = useOAuthTexts();
  const [request, setRequest] = useState<AuthorizationRequest | null>(null);
  const [leaving, setLeaving] = useState(false);
  const load = useAction();
  const decide = useAction();

  useEffect(() => {
    void load.run(async () => setRequest(await api.get<AuthorizationRequest>(`/api/oauth/authorization?${query}`)));
    // `load` changes at each render; the request only with the query.
  }, [query]);

  if (!request) {
    return (
      <Page title={load.error ? o.errorTitle : o.title}>
        {load.error ? <FocusedError error={load.error} /> : <p>{t.common.loading}</p>}
      </Page>
    );
  }

  const host = hostOf(request.redirectUri);
  const answer = (decision: 'allow' | 'deny') => () => {
    // The answer is given once: the request is spent, the browser is leaving.
    if (leaving) return;
    void decide.run(async () => {
      const { redirect } = await api.post<{ redirect: string }>('/api/oauth/authorization', { query, decision });
      setLeaving(true);
      window.location.assign(redirect);
    });
  };
  const lines = request.scopes.flatMap((grant) => describeScope(o, grant).map((line) => ({ key: `${grant.scope}:${line}`, line })));

  return (
    <Page title={o.title}>
      <p className="lead">
        <strong>{request.client.name}</strong>
        {o.asks(request.client.organisation)}
      </p>
      <section aria-labelledby="authorize-can">
        <h2 id="authorize-can">{o.canTitle}</h2>
        <ul data-testid="authorize-scopes">
          {lines.map(({ key, line }) => (
            <li key={key}>{line}</li>
          ))}
        </ul>
        <p className="hint">{o.never}</p>
      </section>
      <section aria-labelledby="authorize-duration">
        <h2 id="authorize-duration">{o.durationTitle}</h2>
        <p>{request.offlineAccess ? o.offline : o.online}</p>
      </section>
      <p>
        {o.destination} <strong data-testid="authorize-host">{host}</strong>
      </p>
      <p className="hint">{o.unknownHint}</p>
      <FocusedError error={decide.error} />
      <div className="actions">
        <button type="button" className="button" aria-disabled={decide.busy || leaving || undefined} onClick={answer('allow')}>
          {o.allow}
        </button>
        <button type="button" className="button secondary" aria-disabled={decide.busy || leaving || undefined} onClick={answer('deny')}>
          {o.deny}
        </button>
      </div>
      <div role="status" aria-live="polite">
        {leaving && <p>{o.leaving(host)}</p>}
      </div>
    </Page>
  );
}
