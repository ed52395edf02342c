// The teleconsultation report (compte rendu): structured sections, written by the consultation's doctor
// once the call has ended, sealed at rest. A draft stays with its author; signing makes it immutable,
// snapshots who/where/for whom (records/snapshot.ts) and fixes its digest, and only then does the
// patient (and their attending doctor) see it. A correction is a new version, itself a draft until
// signed, that names the version it replaces; the replaced one stays readable, marked as replaced.
import { createHash, randomUUID } from 'node:crypto';
import { assertDecision, type AllowedDecision } from '../access/gate.js';
import type { Queryable } from '../kernel/db.js';
import { objectContext, type Envelope } from '../kernel/envelope.js';
import { AppError } from '../kernel/errors.js';
import type { ConsultationMode } from '../kernel/schema.js';
import {
  organisationSnapshot,
  patientSnapshot,
  professionalSnapshot,
  type OrganisationSnapshot,
  type PatientSnapshot,
  type ProfessionalSnapshot,
} from '../records/snapshot.js';
import { emptySections, normaliseSections, REQUIRED_TO_SIGN, SECTIONS, type Sections } from './sections.js';

/** Who, where, for whom and which consultation: fixed at signing, printed on the PDF. */
export interface ReportHeader {
  author: ProfessionalSnapshot;
  organisation: OrganisationSnapshot;
  patient: PatientSnapshot;
  consultation: { id: string; mode: ConsultationMode; startedAt: string; endedAt: string | null };
}

/** The sealed body of a signed version: what its digest covers. */
interface SignedBody {
  v: 1;
  header: ReportHeader;
  version: number;
  replaces: { id: string; version: number } | null;
  sections: Sections;
}

export interface ReportRecord {
  id: string;
  consultationId: string;
  patientId: string;
  authorId: string | null;
  /** As signed (the header's), else as the author is named now. */
  authorName: string;
  version: number;
  status: 'draft' | 'signed';
  /** The earlier signed version this one corrects. */
  replaces: { id: string; version: number } | null;
  /** The signed version that corrects this one, if any. */
  replacedBy: { id: string; version: number } | null;
  sections: Sections;
  /** Set for a signed version (read live for a report signed before structured reports). */
  header: ReportHeader | null;
  createdAt: Date;
  updatedAt: Date;
  signedAt: Date | null;
  digest: string | null;
}

export interface ReportView {
  id: string;
  consultationId: string;
  version: number;
  status: 'draft' | 'signed';
  replaces: { id: string; version: number } | null;
  replacedBy: { id: string; version: number } | null;
  authorName: string;
  sections: Sections;
  createdAt: string;
  updatedAt: string;
  signedAt: string | null;
  digest: string | null;
  pdfUrl: string | null;
}

const bodyContext = (id: string) => objectContext('consultation_reports', id, 'body_sealed');
export const reportDigest = (body: string): string => createHash('sha256').update(body, 'utf8').digest('base64');

const NOT_ENDED = { fr: 'Le compte rendu s’écrit une fois la consultation terminée.', en: 'The report is written once the consultation has ended.' };

/** The consultation, locked, if the decision's actor is its doctor and it has ended. */
async function ownEndedConsultation(q: Queryable, decision: AllowedDecision<'record.write'>, consultationId: string) {
  const consultation = await q
    .selectFrom('consultations')
    .select(['id', 'status', 'doctor_id', 'organisation_id', 'mode', 'starts_at', 'admitted_at', 'ended_at'])
    .where('id', '=', consultationId)
    .where('patient_id', '=', decision.patientId)
    .forUpdate()
    .executeTakeFirst();
  if (!consultation || consultation.doctor_id !== decision.actorId) throw new AppError('not_found');
  if (consultation.status !== 'ended') throw new AppError('consultation_state', NOT_ENDED);
  return consultation;
}

/**
 * Saves the doctor's draft: the open one if there is one, else a new version — the first, or a
 * correction of the latest signed version.
 */
export async function saveDraft(
  q: Queryable,
  decision: AllowedDecision<'record.write'>,
  envelope: Envelope,
  input: { consultationId: string; sections: Sections; now: Date },
): Promise<ReportRecord> {
  assertDecision(decision, 'record.write');
  await ownEndedConsultation(q, decision, input.consultationId);
  const sections = normaliseSections(input.sections);
  const body = JSON.stringify({ v: 1, sections });
  const latest = await q
    .selectFrom('consultation_reports')
    .select(['id', 'version', 'signed_at'])
    .where('consultation_id', '=', input.consultationId)
    .orderBy('version', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (latest && latest.signed_at === null) {
    await q
      .updateTable('consultation_reports')
      .set({ body_sealed: await envelope.sealText(body, bodyContext(latest.id)), format: 'json', author_id: decision.actorId, updated_at: input.now })
      .where('id', '=', latest.id)
      .execute();
    return (await readVersion(q, envelope, latest.id))!;
  }
  const id = randomUUID();
  await q
    .insertInto('consultation_reports')
    .values({
      id,
      consultation_id: input.consultationId,
      patient_id: decision.patientId,
      author_id: decision.actorId,
      version: (latest?.version ?? 0) + 1,
      replaces_id: latest?.id ?? null,
      format: 'json',
      body_sealed: await envelope.sealText(body, bodyContext(id)),
      created_at: input.now,
      updated_at: input.now,
    })
    .execute();
  return (await readVersion(q, envelope, id))!;
}

/** Drops the open draft (a correction given up, or a first draft started by mistake). */
export async function discardDraft(q: Queryable, decision: AllowedDecision<'record.write'>, consultationId: string): Promise<void> {
  assertDecision(decision, 'record.write');
  await ownEndedConsultation(q, decision, consultationId);
  const result = await q.deleteFrom('consultation_reports').where('consultation_id', '=', consultationId).where('signed_at', 'is', null).executeTakeFirst();
  if (Number(result.numDeletedRows) === 0) throw new AppError('not_found', { fr: 'Aucun brouillon à abandonner.', en: 'No draft to discard.' });
}

/**
 * Signs the open draft, which must be the version the doctor saw (`version`): from then on it is
 * immutable. Returns the signed record; its digest is what the caller traces.
 */
export async function signDraft(
  q: Queryable,
  decision: AllowedDecision<'record.write'>,
  envelope: Envelope,
  input: { consultationId: string; version: number; now: Date },
): Promise<ReportRecord> {
  assertDecision(decision, 'record.write');
  const consultation = await ownEndedConsultation(q, decision, input.consultationId);
  const draft = await readVersion(q, envelope, null, { consultationId: input.consultationId, draft: true });
  if (!draft) throw new AppError('not_found', { fr: 'Aucun brouillon à signer.', en: 'No draft to sign.' });
  if (draft.version !== input.version) {
    throw new AppError('conflict', { fr: `Le brouillon ouvert est la version ${draft.version}, pas la ${input.version}.`, en: `The open draft is version ${draft.version}, not ${input.version}.` });
  }
  const missing = REQUIRED_TO_SIGN.filter((key) => draft.sections[key].trim() === '');
  if (missing.length > 0) {
    throw new AppError('validation_failed', {
      fr: `À remplir avant de signer : ${missing.map((key) => SECTIONS[key].fr).join(', ')}.`,
      en: `To fill in before signing: ${missing.map((key) => SECTIONS[key].en).join(', ')}.`,
    });
  }
  const header: ReportHeader = {
    author: await professionalSnapshot(q, decision.actorId),
    organisation: await organisationSnapshot(q, consultation.organisation_id),
    patient: await patientSnapshot(q, decision.patientId),
    consultation: {
      id: consultation.id,
      mode: consultation.mode,
      startedAt: (consultation.admitted_at ?? consultation.starts_at).toISOString(),
      endedAt: consultation.ended_at?.toISOString() ?? null,
    },
  };
  const signed: SignedBody = { v: 1, header, version: draft.version, replaces: draft.replaces, sections: draft.sections };
  const body = JSON.stringify(signed);
  await q
    .updateTable('consultation_reports')
    .set({ body_sealed: await envelope.sealText(body, bodyContext(draft.id)), format: 'json', author_id: decision.actorId, signed_at: input.now, updated_at: input.now, digest: reportDigest(body) })
    .where('id', '=', draft.id)
    .where('signed_at', 'is', null)
    .execute();
  return (await readVersion(q, envelope, draft.id))!;
}

// --- Reading ---

const COLUMNS = [
  'r.id',
  'r.consultation_id',
  'r.patient_id',
  'r.author_id',
  'r.version',
  'r.format',
  'r.body_sealed',
  'r.created_at',
  'r.updated_at',
  'r.signed_at',
  'r.digest',
  'replaced.id as replaces_id',
  'replaced.version as replaces_version',
  'next.id as replaced_by_id',
  'next.version as replaced_by_version',
  'author.display_name as author_name',
] as const;

function selectReports(q: Queryable) {
  return q
    .selectFrom('consultation_reports as r')
    .leftJoin('consultation_reports as replaced', 'replaced.id', 'r.replaces_id')
    .leftJoin('consultation_reports as next', (join) => join.onRef('next.replaces_id', '=', 'r.id').on('next.signed_at', 'is not', null))
    .leftJoin('users as author', 'author.id', 'r.author_id')
    .select(COLUMNS);
}

type Row = Awaited<ReturnType<ReturnType<typeof selectReports>['executeTakeFirstOrThrow']>>;

async function recordOf(q: Queryable, envelope: Envelope, row: Row): Promise<ReportRecord> {
  const text = await envelope.openText(row.body_sealed, bodyContext(row.id));
  let sections: Sections;
  let header: ReportHeader | null = null;
  if (row.format === 'text') {
    // A report written before structured reports: its free text, whole, as the conclusion.
    sections = { ...emptySections(), conclusion: text };
  } else {
    const body = JSON.parse(text) as { sections: Sections; header?: ReportHeader };
    sections = normaliseSections(body.sections);
    header = body.header ?? null;
  }
  // The body of a signed version must still be the one signed.
  if (row.signed_at && row.digest && reportDigest(text) !== row.digest) throw new AppError('internal');
  if (row.signed_at && !header && row.author_id) header = await liveHeader(q, row.consultation_id, row.author_id, row.patient_id);
  return {
    id: row.id,
    consultationId: row.consultation_id,
    patientId: row.patient_id,
    authorId: row.author_id,
    authorName: header?.author.name ?? row.author_name ?? '',
    version: row.version,
    status: row.signed_at ? 'signed' : 'draft',
    replaces: row.replaces_id !== null && row.replaces_version !== null ? { id: row.replaces_id, version: row.replaces_version } : null,
    replacedBy: row.replaced_by_id !== null && row.replaced_by_version !== null ? { id: row.replaced_by_id, version: row.replaced_by_version } : null,
    sections,
    header,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    signedAt: row.signed_at,
    digest: row.digest,
  };
}

/** The header of a report signed before headers were kept: who and for whom as they are now. */
async function liveHeader(q: Queryable, consultationId: string, authorId: string, patientId: string): Promise<ReportHeader | null> {
  const consultation = await q.selectFrom('consultations').select(['organisation_id', 'mode', 'starts_at', 'admitted_at', 'ended_at']).where('id', '=', consultationId).executeTakeFirst();
  const identity = await q.selectFrom('patient_identities').select('user_id').where('user_id', '=', patientId).executeTakeFirst();
  if (!consultation || !identity) return null;
  return {
    author: await professionalSnapshot(q, authorId),
    organisation: await organisationSnapshot(q, consultation.organisation_id),
    patient: await patientSnapshot(q, patientId),
    consultation: { id: consultationId, mode: consultation.mode, startedAt: (consultation.admitted_at ?? consultation.starts_at).toISOString(), endedAt: consultation.ended_at?.toISOString() ?? null },
  };
}

async function readVersion(q: Queryable, envelope: Envelope, id: string | null, by?: { consultationId: string; draft: true }): Promise<ReportRecord | null> {
  let select = selectReports(q);
  select = id ? select.where('r.id', '=', id) : select.where('r.consultation_id', '=', by!.consultationId).where('r.signed_at', 'is', null);
  const row = await select.executeTakeFirst();
  return row ? recordOf(q, envelope, row) : null;
}

/** What the decision's actor may see: the patient, signed versions only; a professional, also their own drafts. */
function visibleTo(decision: AllowedDecision<'record.read'>, record: { status: 'draft' | 'signed'; authorId: string | null }): boolean {
  return record.status === 'signed' || (decision.basis !== 'self' && record.authorId === decision.actorId);
}

/** Every version of a consultation's report the actor may see, newest first. */
export async function reportsOfConsultation(q: Queryable, decision: AllowedDecision<'record.read'>, envelope: Envelope, consultationId: string): Promise<ReportRecord[]> {
  assertDecision(decision, 'record.read');
  const rows = await selectReports(q).where('r.consultation_id', '=', consultationId).where('r.patient_id', '=', decision.patientId).orderBy('r.version', 'desc').execute();
  const records = await Promise.all(rows.map((row) => recordOf(q, envelope, row)));
  return records.filter((record) => visibleTo(decision, record));
}

/** A patient's signed reports, newest first, within the bounds (on the signing time). */
export async function signedReportsOfPatient(
  q: Queryable,
  decision: AllowedDecision<'record.read'>,
  envelope: Envelope,
  filter: { from?: Date | null; to?: Date | null; limit?: number; offset?: number } = {},
): Promise<{ total: number; records: ReportRecord[] }> {
  assertDecision(decision, 'record.read');
  let select = q.selectFrom('consultation_reports as r').where('r.patient_id', '=', decision.patientId).where('r.signed_at', 'is not', null);
  if (filter.from) select = select.where('r.signed_at', '>=', filter.from);
  if (filter.to) select = select.where('r.signed_at', '<', filter.to);
  const { n } = await select.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  let ids = select.select('r.id').orderBy('r.signed_at', 'desc').orderBy('r.id');
  if (filter.limit !== undefined) ids = ids.limit(filter.limit).offset(filter.offset ?? 0);
  const wanted = (await ids.execute()).map((row) => row.id);
  if (wanted.length === 0) return { total: Number(n), records: [] };
  const rows = await selectReports(q).where('r.id', 'in', wanted).orderBy('r.signed_at', 'desc').orderBy('r.id').execute();
  return { total: Number(n), records: await Promise.all(rows.map((row) => recordOf(q, envelope, row))) };
}

/** One version, if the actor may see it. */
export async function readReport(q: Queryable, decision: AllowedDecision<'record.read'>, envelope: Envelope, reportId: string): Promise<ReportRecord | null> {
  assertDecision(decision, 'record.read');
  const row = await selectReports(q).where('r.id', '=', reportId).where('r.patient_id', '=', decision.patientId).executeTakeFirst();
  if (!row) return null;
  const record = await recordOf(q, envelope, row);
  return visibleTo(decision, record) ? record : null;
}

/** Whose report this is (to ask the gate), or null for an unknown id. */
export async function reportOwner(q: Queryable, reportId: string): Promise<string | null> {
  const row = await q.selectFrom('consultation_reports').select('patient_id').where('id', '=', reportId).executeTakeFirst();
  return row?.patient_id ?? null;
}

export function viewOf(record: ReportRecord): ReportView {
  return {
    id: record.id,
    consultationId: record.consultationId,
    version: record.version,
    status: record.status,
    replaces: record.replaces,
    replacedBy: record.replacedBy,
    authorName: record.authorName,
    sections: record.sections,
    createdAt: record.createdAt.toISOString(),
    updatedAt: record.updatedAt.toISOString(),
    signedAt: record.signedAt?.toISOString() ?? null,
    digest: record.digest,
    pdfUrl: record.status === 'signed' ? `/api/reports/${record.id}/pdf` : null,
  };
}
