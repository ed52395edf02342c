// A signed version, read-only: its heading (current or replaced), who signed it and when, its sections
// (shown, or folded in a native <details> to expand), and its PDF link. Used on the consultation's page,
// on #/comptes-rendus, on a professional's patient page and on a doctor's home.
import { useId, type ReactNode, type Ref } from 'react';
import { formatDateTime, useI18n, type Dict } from '../i18n';
import { SECTION_KEYS, pdfFileName, type ReportView } from './model';
import { useReportTexts } from './report-texts';
import './reports.css';

export type Level = 2 | 3 | 4;

/** A date without its time, in the reader's language ("12 mars 2026"). */
export function formatDate(t: Dict, iso: string | null): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : new Intl.DateTimeFormat(t.common.dateTime, { dateStyle: 'long' }).format(date);
}

function Heading({ level, id, children, headingRef }: { level: Level | 5; id?: string; children: ReactNode; headingRef?: Ref<HTMLHeadingElement> }) {
  const Tag = `h${level}` as 'h2';
  return (
    <Tag id={id} ref={headingRef} tabIndex={headingRef ? -1 : undefined} className={headingRef ? 'focus-target' : undefined}>
      {children}
    </Tag>
  );
}

/** The filled sections, each under its title (one level below `level`). */
export function ReportSections({ report, level }: { report: Pick<ReportView, 'sections'>; level: Level }) {
  const r = useReportTexts();
  const filled = SECTION_KEYS.filter((key) => report.sections[key].trim() !== '');
  return (
    <div className="report-sections">
      {filled.map((key) => (
        <section key={key} className="report-section">
          <Heading level={(level + 1) as Level | 5}>{r.sections[key].title}</Heading>
          <p className="report-text">{report.sections[key]}</p>
        </section>
      ))}
    </div>
  );
}

export function ReportArticle({
  report,
  level,
  title,
  collapsed,
  meta,
  children,
  headingRef,
  versionInMeta = false,
}: {
  report: ReportView;
  level: Level;
  title: string;
  /** Says the version number under the title (when the title does not). */
  versionInMeta?: boolean;
  /** Folded in a <details>, to expand: replaced versions, and the reports of a list. */
  collapsed: boolean;
  meta?: ReactNode;
  children?: ReactNode;
  headingRef?: Ref<HTMLHeadingElement>;
}) {
  const { t } = useI18n();
  const r = useReportTexts();
  const id = useId();
  const when = formatDateTime(t, report.signedAt);
  return (
    <article className={report.replacedBy ? 'report-version replaced' : 'report-version'} aria-labelledby={id} data-version={report.version}>
      <Heading level={level} id={id} headingRef={headingRef}>
        {title}{' '}
        {report.replacedBy ? <span className="badge badge-warning">{r.replacedBy(report.replacedBy.version)}</span> : <span className="badge badge-ok">{r.current}</span>}
      </Heading>
      <p className="hint">
        {versionInMeta ? r.versionSignedBy(report.version, when, report.authorName) : r.signedBy(when, report.authorName)}
        {report.replaces && ` ${r.corrects(report.replaces.version)}`}
      </p>
      {meta}
      {collapsed ? (
        <details className="report-details">
          <summary>
            {r.read}
            <span className="visually-hidden">{r.readWhich(report.version, when)}</span>
          </summary>
          <ReportSections report={report} level={level} />
        </details>
      ) : (
        <ReportSections report={report} level={level} />
      )}
      {report.pdfUrl && (
        <p>
          <a href={report.pdfUrl} download={pdfFileName(report)}>
            {r.pdf}
            <span className="visually-hidden">{r.pdfWhich(report.version, when)}</span>
          </a>
        </p>
      )}
      {children}
    </article>
  );
}

/** Signed reports of several consultations, newest first, each folded. */
export function ReportList({ reports, level, titleOf, extra }: { reports: ReportView[]; level: Level; titleOf: (report: ReportView) => string; extra?: (report: ReportView) => ReactNode }) {
  return (
    <ul className="items reports" data-testid="reports">
      {reports.map((report) => (
        <li key={report.id} className="item">
          <ReportArticle report={report} level={level} title={titleOf(report)} collapsed versionInMeta meta={extra?.(report)} />
        </li>
      ))}
    </ul>
  );
}
