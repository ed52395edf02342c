// Shapes of the reports API (src/reports/reports.ts, ReportView) and small helpers shared by the
// report views: the section keys in the server's order, and the signed versions of a list.

/** In the server's order (GET /api/report-sections). */
export const SECTION_KEYS = ['reason', 'history', 'findings', 'conclusion', 'plan', 'followUp'] as const;
export type SectionKey = (typeof SECTION_KEYS)[number];
export type Sections = Record<SectionKey, string>;

/** Must be non-blank to sign (the server checks it too). */
export const REQUIRED_TO_SIGN: readonly SectionKey[] = ['reason', 'conclusion'];
/** Characters per section, as the server allows. */
export const SECTION_MAX_LENGTH = 10_000;

export interface VersionRef {
  id: string;
  version: number;
}

export interface ReportView {
  id: string;
  consultationId: string;
  version: number;
  status: 'draft' | 'signed';
  replaces: VersionRef | null;
  replacedBy: VersionRef | null;
  authorName: string;
  sections: Sections;
  createdAt: string;
  updatedAt: string;
  signedAt: string | null;
  digest: string | null;
  pdfUrl: string | null;
}

/** A report in the attending doctor's inbox. */
export interface ReceivedReport extends ReportView {
  patient: { id: string; name: string };
}

export function emptySections(): Sections {
  return { reason: '', history: '', findings: '', conclusion: '', plan: '', followUp: '' };
}

/** The sections a signature still needs. */
export function missingToSign(sections: Sections): SectionKey[] {
  return REQUIRED_TO_SIGN.filter((key) => sections[key].trim() === '');
}

/** The file name the server gives the PDF (content-disposition), for the link's `download`. */
export function pdfFileName(report: ReportView): string {
  return `compte-rendu-${(report.signedAt ?? report.updatedAt).slice(0, 10)}-v${report.version}.pdf`;
}
