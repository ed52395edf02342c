// The "Compte rendu" card of an ended consultation (#/consultations/<id>). The doctor writes the first
// version, signs it, then corrects it by new versions; the patient reads the signed versions (the latest
// first, replaced ones marked and folded) and downloads their PDF, refreshed live when one is signed.
import { useCallback, useEffect, useRef, useState } from 'react';
import { api } from '../api';
import { useLiveEvents } from '../consultation/model';
import { useI18n } from '../i18n';
import { ErrorAlert, useAction } from '../ui';
import type { ReportView } from './model';
import { ReportArticle } from './ReportDocument';
import { ReportEditor } from './ReportEditor';
import { useReportTexts } from './report-texts';

type Focus = 'card' | 'current' | null;

export function ConsultationReport({ consultationId, role }: { consultationId: string; role: 'doctor' | 'patient' }) {
  const { t } = useI18n();
  const r = useReportTexts();
  const [reports, setReports] = useState<ReportView[] | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [correcting, setCorrecting] = useState(false);
  const [generation, setGeneration] = useState(0);
  const [focus, setFocus] = useState<Focus>(null);
  const load = useAction();
  const cardHeading = useRef<HTMLHeadingElement>(null);
  const currentHeading = useRef<HTMLHeadingElement>(null);

  const reload = useCallback(async () => {
    setReports((await api.get<{ reports: ReportView[] }>(`/api/consultations/${encodeURIComponent(consultationId)}/reports`)).reports);
  }, [consultationId]);
  useEffect(() => void load.run(reload), [reload]);

  useEffect(() => {
    if (!focus) return;
    (focus === 'current' ? currentHeading : cardHeading).current?.focus();
    setFocus(null);
  }, [focus]);

  const doctor = role === 'doctor';
  const draft = reports?.find((report) => report.status === 'draft') ?? null;
  const signed = reports?.filter((report) => report.status === 'signed') ?? [];
  const current = signed.find((report) => !report.replacedBy) ?? null;
  const editing = doctor && reports !== null && (draft !== null || current === null || correcting);
  // The version a correction starts from: the one the open draft replaces, else the current one.
  const base = draft?.replaces ? (signed.find((report) => report.id === draft.replaces?.id) ?? null) : correcting ? current : null;

  const saved = (report: ReportView) => setReports((previous) => [report, ...(previous ?? []).filter((each) => each.id !== report.id)]);

  const signedNow = async (report: ReportView) => {
    // Shown at once; then the list as the server keeps it (it may fail: the signature stands).
    setReports((previous) => [
      report,
      ...(previous ?? [])
        .filter((each) => each.id !== report.id)
        .map((each) => (report.replaces && each.id === report.replaces.id ? { ...each, replacedBy: { id: report.id, version: report.version } } : each)),
    ]);
    setCorrecting(false);
    setStatus(r.signed(report.version));
    setFocus('current');
    await reload().catch(() => undefined);
  };

  const discarded = () => {
    setReports((previous) => (previous ?? []).filter((each) => each.status !== 'draft'));
    setCorrecting(false);
    setGeneration((n) => n + 1);
    setStatus(r.discarded);
    setFocus(current ? 'current' : 'card');
  };

  return (
    <section aria-labelledby="report" className="report">
      <h2 id="report" ref={cardHeading} tabIndex={-1} className="focus-target">
        {r.title}
      </h2>
      {role === 'patient' && (
        <LiveReports
          consultationId={consultationId}
          onSigned={() => {
            setStatus(r.newOne);
            void load.run(reload);
          }}
        />
      )}
      <ErrorAlert error={load.error} />
      <div role="status" aria-live="polite">
        {status && <p className="alert alert-success">{status}</p>}
      </div>
      {reports === null ? (
        !load.error && <p>{t.common.loading}</p>
      ) : (
        <>
          {editing && (
            <ReportEditor
              key={`${generation}-${base?.id ?? 'first'}`}
              consultationId={consultationId}
              draft={draft}
              base={draft ? null : base}
              focusOnMount={correcting}
              onSaved={saved}
              onSigned={signedNow}
              onDiscarded={discarded}
              onStatus={setStatus}
            />
          )}
          {signed.length === 0 ? (
            !doctor && <p>{r.none}</p>
          ) : (
            <div className="report-versions" data-testid="report-versions">
              {signed.map((report) => (
                <ReportArticle
                  key={report.id}
                  report={report}
                  level={3}
                  title={r.version(report.version)}
                  collapsed={report !== current}
                  headingRef={report === current ? currentHeading : undefined}
                >
                  {doctor && !editing && report === current && (
                    <p>
                      <button
                        type="button"
                        className="button secondary"
                        aria-label={r.correctLabel(report.version)}
                        onClick={() => {
                          setStatus(null);
                          setCorrecting(true);
                        }}
                      >
                        {r.correct}
                      </button>
                    </p>
                  )}
                </ReportArticle>
              ))}
            </div>
          )}
        </>
      )}
    </section>
  );
}

/** The patient hears that a version of this consultation's report was signed. */
function LiveReports({ consultationId, onSigned }: { consultationId: string; onSigned: () => void }) {
  useLiveEvents((event) => {
    if (event.type === 'report-signed' && event['consultationId'] === consultationId) onSigned();
  });
  return null;
}
