// A patient's signed reports, the newest first: the patient's own page #/comptes-rendus
// (purpose patient_self) and the "Comptes rendus" card of a professional's patient page (purpose care,
// or emergency after breaking the glass). GET /api/patients/<id>/reports.
import { useCallback, useEffect, useId, useRef, useState } from 'react';
import { api } from '../api';
import { useApp } from '../context';
import { useLiveEvents } from '../consultation/model';
import { useI18n } from '../i18n';
import { ErrorAlert, Page, useAction } from '../ui';
import type { ReportView } from './model';
import { formatDate, ReportList, type Level } from './ReportDocument';
import { useReportTexts } from './report-texts';

type Purpose = 'patient_self' | 'care' | 'emergency';

/**
 * The newest reports (the server's first page, 20) and their total. The route's limit and offset are
 * not usable yet: the server validates them as integers without coercing the query string, so any
 * value is refused (400) — no paging until it accepts them.
 */
function usePatientReports(patientId: string, purpose: Purpose) {
  const [list, setList] = useState<{ total: number; reports: ReportView[] } | null>(null);
  const load = useAction();
  const latest = useRef(0);
  const reload = useCallback(async () => {
    const asked = ++latest.current;
    const answer = await api.get<{ total: number; reports: ReportView[] }>(`/api/patients/${encodeURIComponent(patientId)}/reports?${new URLSearchParams({ purpose })}`);
    if (asked === latest.current) setList(answer);
  }, [patientId, purpose]);
  useEffect(() => void load.run(reload), [reload]);
  return { list, load, reload };
}

/** The list and, when not all are shown, how many there are. Headings of each report at `level`. */
function Reports({ patientId, purpose, level, none, linkToConsultation, refresh }: { patientId: string; purpose: Purpose; level: Level; none: string; linkToConsultation: boolean; refresh?: number }) {
  const { t } = useI18n();
  const r = useReportTexts();
  const { list, load, reload } = usePatientReports(patientId, purpose);
  useEffect(() => {
    if (refresh) void load.run(reload);
  }, [refresh]);
  return (
    <>
      <ErrorAlert error={load.error} />
      {!list ? (
        !load.error && <p>{t.common.loading}</p>
      ) : list.reports.length === 0 ? (
        <p>{none}</p>
      ) : (
        <>
          <ReportList
            reports={list.reports}
            level={level}
            titleOf={(report) => r.itemTitle(formatDate(t, report.signedAt), report.authorName)}
            extra={
              linkToConsultation
                ? (report) => (
                    <p>
                      <a href={`#/consultations/${report.consultationId}`}>{r.consultation}</a>
                    </p>
                  )
                : undefined
            }
          />
          {list.total > list.reports.length && <p className="hint">{r.shown(list.reports.length, list.total)}</p>}
        </>
      )}
    </>
  );
}

/** #/comptes-rendus: the signed-in patient's reports, refreshed when a new one is signed. */
export function MyReports() {
  const r = useReportTexts();
  const { session } = useApp();
  const [refresh, setRefresh] = useState(0);
  const [status, setStatus] = useState('');
  useLiveEvents((event) => {
    if (event.type === 'report-signed') {
      setStatus(r.newOne);
      setRefresh((n) => n + 1);
    }
  });
  return (
    <Page title={r.pageTitle} wide>
      <p className="lead">{r.pageIntro}</p>
      <div role="status" aria-live="polite">
        {status && <p className="alert alert-info">{status}</p>}
      </div>
      {session && <Reports patientId={session.user.id} purpose="patient_self" level={2} none={r.pageNone} linkToConsultation refresh={refresh} />}
    </Page>
  );
}

/** The "Comptes rendus" card of a professional's patient page. */
export function PatientReports({ patientId, purpose }: { patientId: string; purpose: 'care' | 'emergency' }) {
  const r = useReportTexts();
  const titleId = useId();
  return (
    <section aria-labelledby={titleId} className="card reports-card">
      <h2 id={titleId}>{r.listTitle}</h2>
      <Reports patientId={patientId} purpose={purpose} level={3} none={r.listNone} linkToConsultation={false} />
    </section>
  );
}
