// #/securite — second factors, recovery codes, password, e-mail, sessions and authorised applications.
import { Suspense, lazy, useState } from 'react';
import { hasSecondFactor, useApp } from '../context';
import { useI18n } from '../i18n';
import { Notice, Page } from '../ui';
import { RecoveryCodesPanel } from './Reauth';
import { EmailSection, PasswordSection, SessionsSection } from './SecurityAccount';
import { PasskeysSection, RecoverySection, TotpSection } from './SecurityFactors';

// The authorised applications (OAuth 2.0 / SMART) load on demand: the login page stays light.
const SecurityApplications = lazy(() => import('./SecurityApplications').then((m) => ({ default: m.SecurityApplications })));

export function Security() {
  const { t } = useI18n();
  const { session } = useApp();
  const [codes, setCodes] = useState<string[] | null>(null);
  if (!session) return null;

  return (
    <Page title={t.security.title} wide>
      {codes ? (
        <RecoveryCodesPanel codes={codes} onDone={() => setCodes(null)} />
      ) : (
        <>
          {!hasSecondFactor(session) && <Notice tone="warning">{t.security.noFactor}</Notice>}
          <div className="sections">
            <TotpSection onCodes={setCodes} />
            <PasskeysSection onCodes={setCodes} />
            {hasSecondFactor(session) && <RecoverySection onCodes={setCodes} />}
            <PasswordSection />
            <EmailSection />
            <SessionsSection />
            {hasSecondFactor(session) && (
              <Suspense fallback={null}>
                <SecurityApplications />
              </Suspense>
            )}
          </div>
        </>
      )}
    </Page>
  );
}
