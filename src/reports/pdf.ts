// A signed report as a PDF for people: who wrote it (name, profession, RPPS, organisation/FINESS), for
// whom (names, birth date, INS when qualified), which teleconsultation, the sections, and how it stands:
// its version, when it was signed, what it replaces or what replaced it, and its digest.
import PDFDocument from 'pdfkit';
import { toWinAnsi } from '../records/pdf-text.js';
import { REPORT_TITLE } from './fhir.js';
import type { ReportHeader, ReportRecord } from './reports.js';
import { SECTION_KEYS, SECTIONS } from './sections.js';

const DATE_TIME = new Intl.DateTimeFormat('fr-FR', { dateStyle: 'long', timeStyle: 'short', timeZone: 'Europe/Paris' });
const BIRTH = new Intl.DateTimeFormat('fr-FR', { dateStyle: 'short', timeZone: 'UTC' });

export async function reportPdf(record: ReportRecord & { header: ReportHeader; signedAt: Date }): Promise<Buffer> {
  const { author, organisation, patient, consultation } = record.header;
  const doc = new PDFDocument({
    size: 'A4',
    margin: 50,
    lang: 'fr-FR',
    info: { Title: toWinAnsi(`${REPORT_TITLE} — version ${record.version}`), Author: toWinAnsi(author.name), Subject: REPORT_TITLE, Creator: 'Ausculta' },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<void>((resolve, reject) => {
    doc.on('end', resolve);
    doc.on('error', reject);
  });
  const text = (value: string, options?: PDFKit.Mixins.TextOptions) => doc.text(toWinAnsi(value), options);

  doc.font('Helvetica-Bold').fontSize(13);
  text(author.name);
  doc.font('Helvetica').fontSize(10);
  if (author.profession) text(author.profession);
  text(author.rpps ? `RPPS : ${author.rpps}` : 'RPPS : non renseigné');
  text(organisation.finess ? `${organisation.name} — FINESS ${organisation.finess}` : organisation.name);
  doc.moveDown(1.5);
  doc.font('Helvetica-Bold').fontSize(17);
  text(REPORT_TITLE, { align: 'center' });
  doc.font('Helvetica').fontSize(10);
  text(`${consultation.mode === 'video' ? 'Téléconsultation' : 'Consultation'} du ${DATE_TIME.format(new Date(consultation.startedAt))}`, { align: 'center' });
  if (record.replacedBy) {
    doc.moveDown(0.5).font('Helvetica-Bold').fillColor('#8a1c1c');
    text(`Version remplacée par la version ${record.replacedBy.version} : ne plus s’y fier.`, { align: 'center' });
    doc.fillColor('black').font('Helvetica');
  }
  doc.moveDown(1.5);

  doc.font('Helvetica-Bold').fontSize(11);
  text('Patient');
  doc.font('Helvetica').fontSize(10);
  text(`${patient.firstNames} ${patient.birthName.toUpperCase()}, né(e) le ${BIRTH.format(new Date(`${patient.birthDate}T00:00:00Z`))}, sexe ${patient.sex}`);
  if (patient.insNir) text(`INS (NIR) : ${patient.insNir} — identité qualifiée`);
  doc.moveDown(1);

  for (const key of SECTION_KEYS) {
    const body = record.sections[key].trim();
    if (body === '') continue;
    doc.font('Helvetica-Bold').fontSize(11);
    text(SECTIONS[key].fr);
    doc.font('Helvetica').fontSize(10);
    text(body, { paragraphGap: 2 });
    doc.moveDown(0.8);
  }

  doc.moveDown(1).fontSize(9).fillColor('#333333');
  text(`Version ${record.version}, signée le ${DATE_TIME.format(record.signedAt)} par ${author.name} (authentification à deux facteurs).`);
  if (record.replaces) text(`Cette version remplace la version ${record.replaces.version}.`);
  if (record.digest) text(`Empreinte SHA-256 du contenu signé : ${record.digest} — la signature est inscrite au journal d’audit de l’instance.`);
  doc.end();
  await done;
  return Buffer.concat(chunks);
}
