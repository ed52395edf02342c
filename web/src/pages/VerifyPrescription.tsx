// #/ordonnance/verifier — public: a pharmacist scans (or pastes) the text of a prescription's 2D code and
// learns whether it is genuine, who issued it and whether it was dispensed. A signed-in pharmacist whose
// session passed a second factor can then mark it as dispensed (the server refuses anyone else, 403);
// a second dispensing is refused (409). Other signed-in members are told that only a pharmacist may.
import { useRef, useState, type FormEvent } from 'react';
import { api, ApiError } from '../api';
import { hasSecondFactor, rolesOf, useApp } from '../context';
import { formatDateTime, useI18n } from '../i18n';
import { usePrescriptionTexts } from '../consultation/prescription-texts';
import { ErrorAlert, Heading, Page, Submit, useAction } from '../ui';

/** The server's limit on a code's text (a signed note is about 200 characters). */
const CODE_MAX_LENGTH = 1000;

type Verification =
  | { valid: true; number: string; issuedAt: string; prescriber: { name: string; rpps: string | null }; dispensedAt: string | null }
  | { valid: false; reason: string };

export function VerifyPrescription() {
  const { t } = useI18n();
  const v = usePrescriptionTexts().verify;
  const { session } = useApp();
  const [code, setCode] = useState('');
  const [result, setResult] = useState<{ code: string; verification: Verification; key: number } | null>(null);
  const [message, setMessage] = useState<{ text: string; tone: 'success' | 'warning' } | null>(null);
  const messageRef = useRef<HTMLParagraphElement>(null);
  const check = useAction();
  const dispense = useAction();

  const signedIn = !!session && !session.secondFactorPending;
  const pharmacist = signedIn && rolesOf(session).has('pharmacist');
  const canDispense = pharmacist && session.secondFactorVerified && hasSecondFactor(session);
  // Why there is no button: signed out, a pharmacist without a second factor, or not a pharmacist.
  const noDispenseHint = !signedIn ? v.signInHint : pharmacist ? v.secondFactorHint : v.pharmacistOnly;

  const verify = async (text: string) => api.post<Verification>('/api/prescriptions/verify', { code: text });

  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    void check.run(async () => {
      setMessage(null);
      dispense.setError(null);
      const verification = await verify(code);
      // A new key: the result's heading appears again and takes the focus.
      setResult((previous) => ({ code, verification, key: (previous?.key ?? 0) + 1 }));
    });
  };

  const markDispensed = (text: string) =>
    void dispense.run(async () => {
      setMessage(null);
      try {
        const done = await api.post<{ number: string; dispensedAt: string }>('/api/prescriptions/dispense', { code: text });
        setResult((previous) => (previous && previous.verification.valid ? { ...previous, verification: { ...previous.verification, dispensedAt: done.dispensedAt } } : previous));
        setMessage({ text: v.dispensedDone(done.number, formatDateTime(t, done.dispensedAt)), tone: 'success' });
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 409)) throw error;
        setMessage({ text: v.dispensedConflict, tone: 'warning' });
        // Someone dispensed it since the check: show when.
        const verification = await verify(text).catch(() => null);
        if (verification) setResult((previous) => (previous ? { ...previous, verification } : previous));
      }
      // The button is gone: the focus goes to the message rather than to the page's start.
      requestAnimationFrame(() => messageRef.current?.focus());
    });

  const outcome = result?.verification;
  return (
    <Page title={v.title}>
      <p>{v.intro}</p>
      <form onSubmit={submit}>
        <div className="field">
          <label htmlFor="prescription-code">{v.codeLabel}</label>
          <p className="hint" id="prescription-code-hint">
            {v.codeHint}
          </p>
          <textarea
            id="prescription-code"
            name="code"
            rows={8}
            required
            maxLength={CODE_MAX_LENGTH}
            spellCheck={false}
            autoComplete="off"
            autoCapitalize="off"
            className="rx-code"
            aria-describedby="prescription-code-hint"
            value={code}
            onChange={(event) => {
              setCode(event.target.value);
              setResult(null);
              setMessage(null);
            }}
          />
        </div>
        <ErrorAlert error={check.error} />
        <div className="actions">
          <Submit busy={check.busy}>{v.submit}</Submit>
        </div>
      </form>

      {result && outcome && (
        <section key={result.key} aria-labelledby="verification-result" className="verification">
          <div id="verification-result">
            <Heading level={2}>{v.resultTitle}</Heading>
          </div>
          {outcome.valid ? (
            <>
              <div className="alert alert-success">
                <p className="alert-title">{v.valid}</p>
              </div>
              {outcome.dispensedAt && !message && (
                <div className="alert alert-warning">
                  <p>{v.alreadyDispensed(formatDateTime(t, outcome.dispensedAt))}</p>
                </div>
              )}
              <dl className="facts">
                <dt>{v.number}</dt>
                <dd>{outcome.number}</dd>
                <dt>{v.issuedAt}</dt>
                <dd>{formatDateTime(t, outcome.issuedAt)}</dd>
                <dt>{v.prescriber}</dt>
                <dd>{outcome.prescriber.name}</dd>
                <dt>{v.rpps}</dt>
                <dd>{outcome.prescriber.rpps ?? v.noRpps}</dd>
                <dt>{v.dispensing}</dt>
                <dd>{outcome.dispensedAt ? v.dispensedAt(formatDateTime(t, outcome.dispensedAt)) : v.notDispensed}</dd>
              </dl>
            </>
          ) : (
            <div className="alert alert-error">
              <p className="alert-title">{v.invalid[outcome.reason] ?? v.invalidOther}</p>
            </div>
          )}
          <div role="status" aria-live="polite">
            {message && (
              <p ref={messageRef} tabIndex={-1} className={`alert alert-${message.tone}`}>
                {message.text}
              </p>
            )}
          </div>
          <ErrorAlert error={dispense.error} />
          {outcome.valid && !outcome.dispensedAt && (canDispense ? (
            <div className="actions">
              <button type="button" className="button" onClick={() => markDispensed(result.code)} aria-disabled={dispense.busy || undefined}>
                {v.dispense}
              </button>
            </div>
          ) : (
            <p className="hint">{noDispenseHint}</p>
          ))}
        </section>
      )}
    </Page>
  );
}
