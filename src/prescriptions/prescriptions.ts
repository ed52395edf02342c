// E-prescriptions: the doctor of an ended consultation prescribes medicines and acts (lab tests, nursing
// care, physiotherapy…); the prescription is sealed
// at rest, gets a random number and a signed 2D code (signed-code.ts), and is immutable once issued.
// The patient and the prescriber read it (through the gate); a pharmacist holding the paper checks the
// code and marks it dispensed, once.
import { randomUUID } from 'node:crypto';
import { assertDecision, type AllowedDecision } from '../access/gate.js';
import type { NoteSigner } from '../audit/checkpoint.js';
import type { Queryable } from '../kernel/db.js';
import { objectContext, type Envelope } from '../kernel/envelope.js';
import { AppError } from '../kernel/errors.js';
import { organisationSnapshot, patientSnapshot, professionalSnapshot, type OrganisationSnapshot, type PatientSnapshot, type ProfessionalSnapshot } from '../records/snapshot.js';
import { contentDigest, newPrescriptionNumber, signPrescription } from './signed-code.js';

export const MAX_LINES = 20;

export interface MedicationLine {
  /** Absent on prescriptions issued before acts existed: a line without kind is a medicine. */
  kind?: 'medication';
  /** The medicine as the doctor names it (no drug database yet): "Amoxicilline". */
  medication: string;
  /** Strength and form: "500 mg, gélule". */
  dosage: string;
  /** "1 gélule matin, midi et soir". */
  posology: string;
  durationDays: number;
  /** Boxes to dispense. */
  quantity: number;
}

/** An act to perform (FHIR ServiceRequest): "Bilan sanguin : NFS, glycémie à jeun", "Kinésithérapie". */
export interface ActLine {
  kind: 'act';
  act: string;
  /** "À jeun, dans les 8 jours"; may be empty. */
  instructions: string;
  /** Sessions or times (1 for a one-off test). */
  count: number;
}

export type PrescriptionLine = MedicationLine | ActLine;
export const isAct = (line: PrescriptionLine): line is ActLine => line.kind === 'act';

/** The stored shape of a line: only its own fields (a medicine keeps the shape it had before acts). */
export function lineOf(line: PrescriptionLine): PrescriptionLine {
  if (isAct(line)) return { kind: 'act', act: line.act, instructions: line.instructions, count: line.count };
  const { medication, dosage, posology, durationDays, quantity } = line;
  return { medication, dosage, posology, durationDays, quantity };
}

/** What was prescribed and by whom for whom, as issued: sealed, and the digest the code signs. */
export interface PrescriptionContent {
  v: 1;
  prescriber: ProfessionalSnapshot;
  organisation: OrganisationSnapshot;
  patient: PatientSnapshot;
  consultationId: string;
  lines: PrescriptionLine[];
}

export interface PrescriptionView {
  id: string;
  number: string;
  issuedAt: string;
  prescriber: { name: string; rpps: string | null };
  lines: PrescriptionLine[];
  dispensedAt: string | null;
  pdfUrl: string;
}

export interface PrescriptionRecord {
  id: string;
  number: string;
  issuedAt: Date;
  dispensedAt: Date | null;
  signedNote: string;
  content: PrescriptionContent;
}

const bodyContext = (id: string) => objectContext('prescriptions', id, 'body_sealed');

/** Issues a prescription for the patient of an ended consultation, by its doctor. */
export async function issuePrescription(
  q: Queryable,
  decision: AllowedDecision<'record.write'>,
  envelope: Envelope,
  signer: NoteSigner & { origin: string },
  input: { id: string; consultationId: string; lines: PrescriptionLine[]; now: Date },
): Promise<PrescriptionRecord> {
  assertDecision(decision, 'record.write');
  const consultation = await q
    .selectFrom('consultations')
    .select(['status', 'doctor_id', 'organisation_id'])
    .where('id', '=', input.consultationId)
    .where('patient_id', '=', decision.patientId)
    .executeTakeFirst();
  if (!consultation || consultation.doctor_id !== decision.actorId) throw new AppError('not_found');
  if (consultation.status !== 'ended') {
    throw new AppError('consultation_state', { fr: 'L’ordonnance s’établit une fois la consultation terminée.', en: 'The prescription is issued once the consultation has ended.' });
  }
  const content: PrescriptionContent = {
    v: 1,
    prescriber: await professionalSnapshot(q, decision.actorId),
    organisation: await organisationSnapshot(q, consultation.organisation_id),
    patient: await patientSnapshot(q, decision.patientId),
    consultationId: input.consultationId,
    lines: input.lines.map(lineOf),
  };
  const body = JSON.stringify(content);
  const number = newPrescriptionNumber();
  const digest = contentDigest(body);
  const signedNote = signPrescription({ origin: signer.origin, number, issuedAt: input.now, digest }, signer);
  await q
    .insertInto('prescriptions')
    .values({
      id: input.id,
      number,
      consultation_id: input.consultationId,
      patient_id: decision.patientId,
      prescriber_id: decision.actorId,
      organisation_id: consultation.organisation_id,
      body_sealed: await envelope.sealText(body, bodyContext(input.id)),
      digest,
      signed_note: signedNote,
      issued_at: input.now,
    })
    .execute();
  return { id: input.id, number, issuedAt: input.now, dispensedAt: null, signedNote, content };
}

async function open(envelope: Envelope, row: { id: string; body_sealed: string; digest: string }): Promise<PrescriptionContent> {
  const body = await envelope.openText(row.body_sealed, bodyContext(row.id));
  // The row's digest is what the code signs: a body that no longer matches was altered at rest.
  if (contentDigest(body) !== row.digest) throw new AppError('internal');
  return JSON.parse(body) as PrescriptionContent;
}

export function viewOf(record: PrescriptionRecord): PrescriptionView {
  return {
    id: record.id,
    number: record.number,
    issuedAt: record.issuedAt.toISOString(),
    prescriber: { name: record.content.prescriber.name, rpps: record.content.prescriber.rpps },
    lines: record.content.lines,
    dispensedAt: record.dispensedAt?.toISOString() ?? null,
    pdfUrl: `/api/prescriptions/${record.id}/pdf`,
  };
}

const COLUMNS = ['id', 'number', 'issued_at', 'dispensed_at', 'signed_note', 'body_sealed', 'digest'] as const;

async function recordOf(envelope: Envelope, row: { id: string; number: string; issued_at: Date; dispensed_at: Date | null; signed_note: string; body_sealed: string; digest: string }): Promise<PrescriptionRecord> {
  return { id: row.id, number: row.number, issuedAt: row.issued_at, dispensedAt: row.dispensed_at, signedNote: row.signed_note, content: await open(envelope, row) };
}

/** The prescriptions of a consultation, oldest first. */
export async function prescriptionsOfConsultation(q: Queryable, decision: AllowedDecision<'record.read'>, envelope: Envelope, consultationId: string): Promise<PrescriptionRecord[]> {
  assertDecision(decision, 'record.read');
  const rows = await q
    .selectFrom('prescriptions')
    .select(COLUMNS)
    .where('consultation_id', '=', consultationId)
    .where('patient_id', '=', decision.patientId)
    .orderBy('issued_at')
    .orderBy('number')
    .execute();
  return Promise.all(rows.map((row) => recordOf(envelope, row)));
}

/** A patient's prescriptions issued within the bounds (FHIR search by authoredon), oldest first. */
export async function prescriptionsOfPatient(q: Queryable, decision: AllowedDecision<'record.read'>, envelope: Envelope, bounds: { from: Date | null; to: Date | null }): Promise<PrescriptionRecord[]> {
  assertDecision(decision, 'record.read');
  let select = q.selectFrom('prescriptions').select(COLUMNS).where('patient_id', '=', decision.patientId);
  if (bounds.from) select = select.where('issued_at', '>=', bounds.from);
  if (bounds.to) select = select.where('issued_at', '<', bounds.to);
  const rows = await select.orderBy('issued_at').orderBy('number').execute();
  return Promise.all(rows.map((row) => recordOf(envelope, row)));
}

/** Whose prescription this is (to ask the gate), or null for an unknown id. */
export async function prescriptionOwner(q: Queryable, prescriptionId: string): Promise<string | null> {
  const row = await q.selectFrom('prescriptions').select('patient_id').where('id', '=', prescriptionId).executeTakeFirst();
  return row?.patient_id ?? null;
}

export async function readPrescription(q: Queryable, decision: AllowedDecision<'record.read'>, envelope: Envelope, prescriptionId: string): Promise<PrescriptionRecord | null> {
  assertDecision(decision, 'record.read');
  const row = await q.selectFrom('prescriptions').select(COLUMNS).where('id', '=', prescriptionId).where('patient_id', '=', decision.patientId).executeTakeFirst();
  return row ? recordOf(envelope, row) : null;
}

/** The row a valid code names (by number, issued at the signed time with the signed digest), or null. */
export async function prescriptionOfCode(q: Queryable, envelope: Envelope, signed: { number: string; issuedAt: Date; digest: string }): Promise<(PrescriptionRecord & { patientId: string; organisationId: string }) | null> {
  const row = await q.selectFrom('prescriptions').select([...COLUMNS, 'patient_id', 'organisation_id']).where('number', '=', signed.number).executeTakeFirst();
  if (!row || row.issued_at.getTime() !== signed.issuedAt.getTime() || row.digest !== signed.digest) return null;
  return { ...(await recordOf(envelope, row)), patientId: row.patient_id, organisationId: row.organisation_id };
}

/** Marks a prescription dispensed, once: false if it already was. */
export async function markDispensed(q: Queryable, prescriptionId: string, by: string, now: Date): Promise<boolean> {
  const result = await q.updateTable('prescriptions').set({ dispensed_at: now, dispensed_by: by }).where('id', '=', prescriptionId).where('dispensed_at', 'is', null).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export const newPrescriptionId = (): string => randomUUID();
