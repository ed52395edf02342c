// #/accueil — one card per role held (a pharmacist's leads to the prescription check); a prominent notice
// while no second factor is enrolled; for a doctor, the reports colleagues signed for their patients
// (loaded on demand: the shell stays light).
import { Fragment, Suspense, lazy } from 'react';
import { ROLES } from '../api';
import { hasSecondFactor, rolesOf, useApp } from '../context';
import { useI18n } from '../i18n';
import { Page } from '../ui';

const ReceivedReports = lazy(() => import('../reports/ReceivedReports').then((m) => ({ default: m.ReceivedReports })));

export function Home() {
  const { t } = useI18n();
  const { session } = useApp();
  if (!session) return null;
  const roles = rolesOf(session);
  const held = ROLES.filter((role) => roles.has(role));
  const organisations = session.memberships.map((m) => m.organisationName).join(', ');

  return (
    <Page title={t.home.title} wide>
      <p className="lead">{t.home.hello(session.user.displayName)}</p>
      {organisations && <p className="hint">{organisations}</p>}
      {!hasSecondFactor(session) && (
        <section className="alert alert-warning callout" aria-labelledby="no-factor">
          <h2 id="no-factor">{t.home.noFactorTitle}</h2>
          <p>
            {t.home.noFactor}
            {roles.has('patient') && ` ${t.home.noFactorPatient}`}
          </p>
          <p>
            <a className="button" href="#/securite">
              {t.home.noFactorLink}
            </a>
          </p>
        </section>
      )}
      {held.length === 0 && <p>{t.home.noMembership}</p>}
      {held.map((role) => (
        <Fragment key={role}>
          <section className="role" aria-labelledby={`role-${role}`} data-role={role}>
            <h2 id={`role-${role}`}>{t.roles[role]}</h2>
            <ul className="cards">
              {t.home.cards[role].map((card) => (
                <li key={card.title} className="card">
                  <h3>{card.title}</h3>
                  <p>{card.text}</p>
                  {role === 'org_admin' ? (
                    <p>
                      <a href="#/admin">{t.home.adminLink}</a>
                    </p>
                  ) : role === 'security_officer' ? (
                    <p>
                      <a href="#/audit">{t.home.auditLink}</a>
                    </p>
                  ) : role === 'pharmacist' ? (
                    <p>
                      <a href="#/ordonnance/verifier">{t.home.verifyPrescriptionLink}</a>
                    </p>
                  ) : card.title === t.home.cards.doctor[1]?.title && (role === 'doctor' || role === 'health_professional') ? (
                    <p>
                      <a href="#/patients">{t.home.patientsLink}</a>
                    </p>
                  ) : role === 'patient' && card.title === t.home.cards.patient[1]?.title ? (
                    <p>
                      <a href="#/comptes-rendus">{t.home.reportsLink}</a>
                    </p>
                  ) : (
                    <p className="soon">{t.home.soon}</p>
                  )}
                </li>
              ))}
              {role === 'patient' && (
                <li className="card">
                  <h3>{t.home.careTeamCard.title}</h3>
                  <p>{t.home.careTeamCard.text}</p>
                  <p>
                    <a href="#/equipe">{t.home.careTeamLink}</a>
                  </p>
                </li>
              )}
              {role === 'health_professional' && (
                <li className="card">
                  <h3>{t.nav.patients}</h3>
                  <p>{t.home.cards.doctor[1]?.text}</p>
                  <p>
                    <a href="#/patients">{t.home.patientsLink}</a>
                  </p>
                </li>
              )}
              {role === 'patient' && (
                <li className="card">
                  <h3>{t.home.accessCard.title}</h3>
                  <p>{t.home.accessCard.text}</p>
                  <p>
                    <a href="#/acces">{t.home.accessLink}</a>
                  </p>
                </li>
              )}
            </ul>
          </section>
          {role === 'doctor' && hasSecondFactor(session) && (
            <Suspense fallback={<p>{t.common.loading}</p>}>
              <ReceivedReports />
            </Suspense>
          )}
        </Fragment>
      ))}
    </Page>
  );
}
