// "Comptes rendus reçus" on a doctor's home (#/accueil): the reports colleagues signed for the patients
// whose attending doctor (médecin traitant) the doctor is, each readable in place and as PDF, refreshed
// when the server says a new one arrived (live event 'report-received'). GET /api/reports/received.
import { useCallback, useEffect, useState } from 'react';
import { api } from '../api';
import { useLiveEvents } from '../consultation/model';
import { useI18n } from '../i18n';
import { ErrorAlert, useAction } from '../ui';
import type { ReceivedReport } from './model';
import { formatDate, ReportList } from './ReportDocument';
import { useReportTexts } from './report-texts';

export function ReceivedReports() {
  const { t } = useI18n();
  const r = useReportTexts();
  const [reports, setReports] = useState<ReceivedReport[] | null>(null);
  const [status, setStatus] = useState('');
  const load = useAction();
  const reload = useCallback(async () => setReports((await api.get<{ reports: ReceivedReport[] }>('/api/reports/received')).reports), []);
  useEffect(() => void load.run(reload), [reload]);
  useLiveEvents((event) => {
    if (event.type !== 'report-received') return;
    setStatus(r.receivedNew);
    void load.run(reload);
  });

  const patientOf = new Map(reports?.map((report) => [report.id, report.patient]) ?? []);
  return (
    <section aria-labelledby="received-reports" className="received-reports">
      <h2 id="received-reports">{r.receivedTitle}</h2>
      <p className="hint">{r.receivedIntro}</p>
      <div role="status" aria-live="polite">
        {status && <p className="alert alert-info">{status}</p>}
      </div>
      <ErrorAlert error={load.error} />
      {!reports ? (
        !load.error && <p>{t.common.loading}</p>
      ) : reports.length === 0 ? (
        <p>{r.receivedNone}</p>
      ) : (
        <ReportList
          reports={reports}
          level={3}
          titleOf={(report) => r.receivedItemTitle(patientOf.get(report.id)?.name ?? '', formatDate(t, report.signedAt))}
          extra={(report) => {
            const patient = patientOf.get(report.id);
            return patient ? (
              <p>
                <a href={`#/patients/${patient.id}`}>{r.patientRecord(patient.name)}</a>
              </p>
            ) : null;
          }}
        />
      )}
    </section>
  );
}
