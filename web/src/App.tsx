// The shell: session and language state, the header, hash routes and their guards.
import { Suspense, lazy, useCallback, useEffect, useMemo, useRef, useState, type MouseEvent, type ReactNode } from 'react';
import { api, fetchSession, onUnauthorizedResponse, setCsrfToken, setLanguage, type Role, type Session } from './api';
import { AppContext, hasSecondFactor, rolesOf, useApp, type AppState } from './context';
import { I18nContext, dictionaries, initialLang, storeLang, useI18n, type Lang } from './i18n';
import { navigate, parseHash, useHash } from './router';
import { useLiveEvents } from './consultation/model';
import { ErrorAlert, Page } from './ui';
import { Home } from './pages/Home';
import { Invitation } from './pages/Invitation';
import { Login } from './pages/Login';
import { ForgotPassword, ResetPassword } from './pages/PasswordReset';
import { Security } from './pages/Security';
import { Setup } from './pages/Setup';
import { Signup } from './pages/Signup';

// The organisation admin's page loads on demand too: the login page stays light.
const Admin = lazy(() => import('./pages/Admin').then((m) => ({ default: m.Admin })));
// The audit pages load on demand: the login page stays light.
const Access = lazy(() => import('./pages/Access').then((m) => ({ default: m.Access })));
const Audit = lazy(() => import('./pages/Audit').then((m) => ({ default: m.Audit })));
// The care pages too.
const CareTeam = lazy(() => import('./pages/CareTeam').then((m) => ({ default: m.CareTeam })));
const Patients = lazy(() => import('./pages/Patients').then((m) => ({ default: m.Patients })));
// The device check too: public, so that a patient can test from the reminder's link before signing in.
const DeviceCheck = lazy(() => import('./consultation/DeviceCheck').then((m) => ({ default: m.DeviceCheck })));
// Teleconsultation: booking, agenda, the call.
const Appointments = lazy(() => import('./consultation/Appointments').then((m) => ({ default: m.Appointments })));
const Agenda = lazy(() => import('./consultation/Agenda').then((m) => ({ default: m.Agenda })));
const Call = lazy(() => import('./consultation/Call').then((m) => ({ default: m.Call })));
// Prescription verification: public, for pharmacists (signed in or not).
const VerifyPrescription = lazy(() => import('./pages/VerifyPrescription').then((m) => ({ default: m.VerifyPrescription })));
// The patient's own measures (vital signs).
const MyObservations = lazy(() => import('./pages/Observations').then((m) => ({ default: m.MyObservations })));
/** The nav label of #/mesures, here so that the shell does not load the observations' texts. */
const MEASURES_LABEL: Record<Lang, string> = { fr: 'Mes mesures', en: 'My measurements' };
// The patient's signed reports.
const MyReports = lazy(() => import('./reports/PatientReports').then((m) => ({ default: m.MyReports })));
/** The nav label of #/comptes-rendus, here so that the shell does not load the reports' texts. */
const REPORTS_LABEL: Record<Lang, string> = { fr: 'Mes comptes rendus', en: 'My reports' };
// The patient's own record: allergies, problems, documents.
const MyRecord = lazy(() => import('./records/MyRecord').then((m) => ({ default: m.MyRecord })));
/** The nav label of #/dossier, here so that the shell does not load the record's texts. */
const RECORD_LABEL: Record<Lang, string> = { fr: 'Mon dossier', en: 'My record' };
// The consent page of OAuth 2.0 / SMART on FHIR (an application asks to act on the user's behalf).
const Authorize = lazy(() => import('./pages/Authorize').then((m) => ({ default: m.Authorize })));
const AUTHORIZE_LABEL: Record<Lang, string> = { fr: 'Autoriser une application', en: 'Authorise an application' };
/** The pharmacist's nav entry: the prescription check. */
const VERIFY_LABEL: Record<Lang, string> = { fr: 'Vérifier une ordonnance', en: 'Verify a prescription' };

const PROTECTED_PATHS = new Set(['/accueil', '/securite', '/admin', '/acces', '/audit', '/equipe', '/patients', '/rendez-vous', '/agenda', '/mesures', '/comptes-rendus', '/dossier', '/autoriser']);
const PROTECTED = { has: (path: string) => PROTECTED_PATHS.has(path) || path.startsWith('/patients/') || path.startsWith('/consultations/') };
const PUBLIC_ONLY = new Set(['/connexion', '/inscription']);

// A protected page opened while signed out (an application's authorization request, a bookmark) is
// remembered for this tab and shown again once signed in, instead of the home page.
const RETURN_KEY = 'ausculta.returnTo';
const RETURN_TTL_MS = 30 * 60_000; // 30 minutes

function rememberReturn(hash: string): void {
  try {
    sessionStorage.setItem(RETURN_KEY, JSON.stringify({ hash, at: Date.now() }));
  } catch {
    // Storage may be disabled: the home page after login, as before.
  }
}

/** The remembered page (path and query, without '#') when recent, else null. */
function pendingReturn(): string | null {
  try {
    const saved = JSON.parse(sessionStorage.getItem(RETURN_KEY) ?? 'null') as { hash?: unknown; at?: unknown } | null;
    const fresh = typeof saved?.at === 'number' && Date.now() - saved.at < RETURN_TTL_MS;
    // The home page itself is where login lands already: nothing to return to (and no loop).
    if (fresh && typeof saved?.hash === 'string' && saved.hash.startsWith('#/') && parseHash(saved.hash).path !== '/accueil') return saved.hash.slice(1);
  } catch {
    // Unreadable: nothing to return to.
  }
  return null;
}

function forgetReturn(): void {
  try {
    sessionStorage.removeItem(RETURN_KEY);
  } catch {
    // Nothing stored.
  }
}

export function App() {
  const [lang, setLangState] = useState<Lang>(initialLang);
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [setupNeeded, setSetupNeeded] = useState(false);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [flash, setFlash] = useState<{ message: string; path: string } | null>(null);
  const hash = useHash();
  const route = parseHash(hash);
  /** The last page seen signed in: the session ending there (logout, expiry) is not a page to return to. */
  const lastSignedInHash = useRef<string | null>(null);

  setLanguage(lang);
  useEffect(() => {
    document.documentElement.lang = lang;
  }, [lang]);

  const refresh = useCallback(async () => {
    const current = await fetchSession();
    setSession(current);
    return current;
  }, []);

  useEffect(() => {
    onUnauthorizedResponse(() => {
      void refresh()
        .then((current) => {
          if (!current && PROTECTED.has(parseHash(window.location.hash).path)) {
            setFlash({ message: dictionaries[initialLang()].common.sessionEnded, path: '/connexion' });
          }
        })
        .catch(() => undefined);
    });
    Promise.all([api.get<{ needed: boolean }>('/api/setup'), refresh()])
      .then(([setup]) => setSetupNeeded(setup.needed))
      .catch((error: unknown) => {
        setLoadError(error);
        setSession(null);
      });
  }, [refresh]);

  const signedIn = !!session && !session.secondFactorPending;
  let target: string | null = null;
  if (session !== undefined) {
    // The device check needs no account: it opens even before installation.
    if (setupNeeded && !signedIn && route.path !== '/installation' && route.path !== '/test-materiel') target = '/installation';
    else if (!setupNeeded && route.path === '/installation') target = signedIn ? '/accueil' : '/connexion';
    else if (route.path === '/') target = signedIn ? '/accueil' : '/connexion';
    else if (PROTECTED.has(route.path) && !signedIn) target = '/connexion';
    else if (PUBLIC_ONLY.has(route.path) && signedIn) target = '/accueil';
    // Login ends on the home page: go on to the page asked for before it.
    else if (route.path === '/accueil' && signedIn) target = pendingReturn();
  }
  useEffect(() => {
    if (signedIn) lastSignedInHash.current = hash;
  }, [signedIn, hash]);
  useEffect(() => {
    if (!target) return;
    if (target === '/connexion' && PROTECTED.has(route.path) && hash !== lastSignedInHash.current) rememberReturn(hash);
    else if (target === pendingReturn()) forgetReturn();
    navigate(target, true);
    // Runs once per redirection; `hash` and `route` are those that caused it.
  }, [target]);

  const i18n = useMemo(
    () => ({
      lang,
      t: dictionaries[lang],
      setLang: (next: Lang) => {
        storeLang(next);
        setLanguage(next);
        setLangState(next);
        if (session && !session.secondFactorPending) void api.patch('/api/account', { locale: next }).catch(() => undefined);
      },
    }),
    [lang, session],
  );

  const app: AppState = {
    session: session ?? null,
    setupNeeded,
    refresh,
    markSetupDone: () => setSetupNeeded(false),
    notify: (message, path) => setFlash({ message, path: path ?? parseHash(window.location.hash).path }),
  };

  const focusMain = (event: MouseEvent<HTMLAnchorElement>) => {
    event.preventDefault();
    document.getElementById('main')?.focus();
  };

  return (
    <I18nContext.Provider value={i18n}>
      <AppContext.Provider value={app}>
        <a className="skip-link" href="#main" onClick={focusMain}>
          {i18n.t.skip}
        </a>
        <Header signedIn={signedIn} pending={!!session?.secondFactorPending} />
        <main id="main" tabIndex={-1}>
          <div className="status" role="status" aria-live="polite">
            {flash && flash.path === route.path && <p className="alert alert-success">{flash.message}</p>}
            {signedIn && rolesOf(session).has('doctor') && hasSecondFactor(session) && route.path !== '/agenda' && <WaitingNotice />}
          </div>
          {loadError ? (
            <Page title={i18n.t.common.error}>
              <ErrorAlert error={loadError} />
            </Page>
          ) : session === undefined || target ? (
            <p className="page">{i18n.t.common.loading}</p>
          ) : (
            <Routes path={route.path} params={route.params} hash={hash} />
          )}
        </main>
      </AppContext.Provider>
    </I18nContext.Provider>
  );
}

function Routes({ path, params, hash }: { path: string; params: URLSearchParams; hash: string }) {
  const { t, lang } = useI18n();
  switch (path) {
    case '/connexion':
      return <Login />;
    case '/installation':
      return <Setup />;
    case '/inscription':
      return <Signup />;
    case '/mot-de-passe-oublie':
      return <ForgotPassword />;
    case '/reinitialisation':
      return <ResetPassword token={params.get('token')} />;
    case '/invitation':
      return <Invitation token={params.get('token')} />;
    case '/accueil':
      return <Home />;
    case '/securite':
      return <Security />;
    case '/admin':
      return <Suspense fallback={<p className="page">{t.common.loading}</p>}><Admin /></Suspense>;
    case '/acces':
      return <AccessGuard />;
    case '/audit':
      return <AuditGuard />;
    case '/equipe':
      return <CareTeamGuard />;
    case '/test-materiel':
      return <Suspense fallback={<p className="page">{t.common.loading}</p>}><DeviceCheck /></Suspense>;
    case '/ordonnance/verifier':
      return <Suspense fallback={<p className="page">{t.common.loading}</p>}><VerifyPrescription /></Suspense>;
    case '/rendez-vous':
      return <WithSecondFactor role="patient" title={t.nav.appointments}><Appointments /></WithSecondFactor>;
    case '/mesures':
      return <WithSecondFactor role="patient" title={MEASURES_LABEL[lang]}><MyObservations /></WithSecondFactor>;
    case '/comptes-rendus':
      return <WithSecondFactor role="patient" title={REPORTS_LABEL[lang]}><MyReports /></WithSecondFactor>;
    case '/dossier':
      return <WithSecondFactor role="patient" title={RECORD_LABEL[lang]}><MyRecord /></WithSecondFactor>;
    case '/agenda':
      return <WithSecondFactor role="doctor" title={t.nav.agenda}><Agenda /></WithSecondFactor>;
    case '/autoriser':
      // The query string exactly as the server passed it on (parsing it again could change its encoding).
      return <WithSecondFactor title={AUTHORIZE_LABEL[lang]}><Authorize query={hash.includes('?') ? hash.slice(hash.indexOf('?') + 1) : ''} /></WithSecondFactor>;
    default:
      if (path.startsWith('/consultations/')) {
        return <WithSecondFactor title={t.nav.consultation}><Call consultationId={path.slice('/consultations/'.length)} /></WithSecondFactor>;
      }
      if (path === '/patients' || path.startsWith('/patients/')) {
        return <PatientsGuard patientId={path.slice('/patients/'.length) || null} purpose={params.get('purpose')} />;
      }
      return (
        <Page title={t.common.notFoundTitle}>
          <p>{t.common.notFoundText}</p>
          <p>
            <a href="#/">{t.nav.home}</a>
          </p>
        </Page>
      );
  }
}

/** The access history needs a second factor (the API refuses it otherwise). */
function AccessGuard() {
  const { t } = useI18n();
  const { session } = useApp();
  if (hasSecondFactor(session)) return <Suspense fallback={<p className="page">{t.common.loading}</p>}><Access /></Suspense>;
  return (
    <Page title={t.access.title}>
      <p>{t.home.noFactor}</p>
      <p>
        <a className="button" href="#/securite">
          {t.home.noFactorLink}
        </a>
      </p>
    </Page>
  );
}

/** The care team is health data: patients with a second factor. */
function CareTeamGuard() {
  const { t } = useI18n();
  const { session } = useApp();
  if (!rolesOf(session).has('patient')) return <NotFound />;
  if (hasSecondFactor(session)) return <Suspense fallback={<p className="page">{t.common.loading}</p>}><CareTeam /></Suspense>;
  return <NeedsSecondFactor title={t.nav.careTeam} />;
}

/** Patients are for doctors and health professionals, with a second factor. */
function PatientsGuard({ patientId, purpose }: { patientId: string | null; purpose: string | null }) {
  const { t } = useI18n();
  const { session } = useApp();
  const roles = rolesOf(session);
  if (!roles.has('doctor') && !roles.has('health_professional')) return <NotFound />;
  if (hasSecondFactor(session)) return <Suspense fallback={<p className="page">{t.common.loading}</p>}><Patients patientId={patientId} purpose={purpose} /></Suspense>;
  return <NeedsSecondFactor title={t.nav.patients} />;
}

/** A doctor anywhere in the app hears that a patient entered the waiting room (an identifier only). */
function WaitingNotice() {
  const { t } = useI18n();
  const [waiting, setWaiting] = useState<string | null>(null);
  useLiveEvents((event) => {
    if (event.type === 'patient-waiting' && typeof event['consultationId'] === 'string') setWaiting(event['consultationId']);
  });
  if (!waiting) return null;
  return (
    <p className="alert alert-info">
      {t.nav.patientWaiting} <a href={`#/consultations/${waiting}`}>{t.nav.openWaitingRoom}</a>
    </p>
  );
}

/** Health data: a second factor first; and, when given, the role the page is for. */
function WithSecondFactor({ role, title, children }: { role?: Role; title: string; children: ReactNode }) {
  const { t } = useI18n();
  const { session } = useApp();
  if (role && !rolesOf(session).has(role)) return <NotFound />;
  if (!hasSecondFactor(session)) return <NeedsSecondFactor title={title} />;
  return <Suspense fallback={<p className="page">{t.common.loading}</p>}>{children}</Suspense>;
}

function NeedsSecondFactor({ title }: { title: string }) {
  const { t } = useI18n();
  return (
    <Page title={title}>
      <p>{t.home.noFactor}</p>
      <p>
        <a className="button" href="#/securite">
          {t.home.noFactorLink}
        </a>
      </p>
    </Page>
  );
}

function NotFound() {
  const { t } = useI18n();
  return (
    <Page title={t.common.notFoundTitle}>
      <p>{t.common.notFoundText}</p>
      <p>
        <a href="#/">{t.nav.home}</a>
      </p>
    </Page>
  );
}

/** The audit log is for security officers only. */
function AuditGuard() {
  const { t } = useI18n();
  const { session } = useApp();
  if (rolesOf(session).has('security_officer') && hasSecondFactor(session)) return <Suspense fallback={<p className="page">{t.common.loading}</p>}><Audit /></Suspense>;
  return (
    <Page title={t.common.notFoundTitle}>
      <p>{t.common.notFoundText}</p>
      <p>
        <a href="#/">{t.nav.home}</a>
      </p>
    </Page>
  );
}

function Header({ signedIn, pending }: { signedIn: boolean; pending: boolean }) {
  const { t, lang, setLang } = useI18n();
  const { session, refresh } = useApp();
  const path = parseHash(useHash()).path;
  const roles = rolesOf(session);
  const admin = roles.has('org_admin');
  const officer = roles.has('security_officer');
  const professional = roles.has('doctor') || roles.has('health_professional');

  const logout = async () => {
    await api.post('/api/logout').catch(() => undefined);
    setCsrfToken(undefined);
    await refresh().catch(() => undefined);
    navigate('/connexion');
  };

  const links: Array<[string, string]> = signedIn
    ? [
        ['/accueil', t.nav.home],
        ...(hasSecondFactor(session) ? [['/acces', t.nav.access] as [string, string]] : []),
        ...(roles.has('patient') ? [['/rendez-vous', t.nav.appointments] as [string, string], ['/equipe', t.nav.careTeam] as [string, string], ['/mesures', MEASURES_LABEL[lang]] as [string, string], ['/comptes-rendus', REPORTS_LABEL[lang]] as [string, string], ['/dossier', RECORD_LABEL[lang]] as [string, string]] : []),
        ...(roles.has('doctor') ? [['/agenda', t.nav.agenda] as [string, string]] : []),
        ...(professional ? [['/patients', t.nav.patients] as [string, string]] : []),
        ...(roles.has('pharmacist') ? [['/ordonnance/verifier', VERIFY_LABEL[lang]] as [string, string]] : []),
        ['/securite', t.nav.security],
        ...(admin ? [['/admin', t.nav.admin] as [string, string]] : []),
        ...(officer ? [['/audit', t.nav.audit] as [string, string]] : []),
      ]
    : pending
      ? []
      : [['/connexion', t.nav.login], ['/inscription', t.nav.signup]];

  return (
    <header className="site-header">
      <div className="bar">
        <a className="brand" href={signedIn ? '#/accueil' : '#/connexion'}>
          <span className="brand-mark" aria-hidden="true" />
          {t.appName}
          <span className="visually-hidden"> — {t.tagline}</span>
        </a>
        {links.length > 0 && (
          <nav aria-label={t.nav.label}>
            <ul>
              {links.map(([href, label]) => (
                <li key={href}>
                  <a href={`#${href}`} aria-current={path === href || path.startsWith(`${href}/`) ? 'page' : undefined}>
                    {label}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
        )}
        <div className="tools">
          <button
            type="button"
            className="button link"
            lang={t.switchLang.code}
            aria-label={t.switchLang.title}
            onClick={() => setLang(t.switchLang.code)}
          >
            {t.switchLang.label}
          </button>
          {(signedIn || pending) && (
            <button type="button" className="button link" onClick={() => void logout()}>
              {t.nav.logout}
            </button>
          )}
        </div>
      </div>
    </header>
  );
}
