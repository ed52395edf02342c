// The prescription as a PDF for people: who prescribes (name, profession, RPPS, organisation), for whom
// (names, birth date, INS when the identity is qualified), what, when, its number, and its signed 2D
// code (QR) for the pharmacist. Standard Helvetica (WinAnsi: French accents, œ, €; other characters spelled
// or replaced, records/pdf-text.ts); nothing embedded.
import bwipjs from 'bwip-js';
import PDFDocument from 'pdfkit';
import { toWinAnsi } from '../records/pdf-text.js';
import { isAct, type PrescriptionRecord } from './prescriptions.js';

const DATE = new Intl.DateTimeFormat('fr-FR', { dateStyle: 'long', timeZone: 'Europe/Paris' });
const BIRTH = new Intl.DateTimeFormat('fr-FR', { dateStyle: 'short', timeZone: 'UTC' });

export async function prescriptionPdf(record: PrescriptionRecord, verifyUrl: string): Promise<Buffer> {
  const { content } = record;
  // Error correction M (15 %): the paper may be creased. (`eclevel` is a BWIPP option the typings omit.)
  const options = { bcid: 'qrcode', text: record.signedNote, scale: 3, paddingwidth: 6, paddingheight: 6, backgroundcolor: 'FFFFFF', eclevel: 'M' };
  const qr = await (bwipjs.toBuffer(options) as Promise<Buffer>);
  const doc = new PDFDocument({
    size: 'A4',
    margin: 50,
    lang: 'fr-FR',
    info: { Title: `Ordonnance ${record.number}`, Author: toWinAnsi(content.prescriber.name), Subject: 'Ordonnance', Creator: 'Ausculta' },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<void>((resolve, reject) => {
    doc.on('end', resolve);
    doc.on('error', reject);
  });

  const { prescriber, organisation, patient } = content;
  doc.font('Helvetica-Bold').fontSize(13).text(toWinAnsi(prescriber.name));
  doc.font('Helvetica').fontSize(10);
  if (prescriber.profession) doc.text(toWinAnsi(prescriber.profession));
  doc.text(prescriber.rpps ? `RPPS : ${prescriber.rpps}` : 'RPPS : non renseigné');
  doc.text(toWinAnsi(organisation.finess ? `${organisation.name} — FINESS ${organisation.finess}` : organisation.name));
  doc.moveDown(1.5);
  doc.font('Helvetica-Bold').fontSize(18).text('Ordonnance', { align: 'center' });
  doc.font('Helvetica').fontSize(10).text(`Téléconsultation du ${DATE.format(record.issuedAt)}`, { align: 'center' });
  doc.moveDown(1.5);

  doc.font('Helvetica-Bold').fontSize(11).text('Patient');
  doc.font('Helvetica').fontSize(10);
  doc.text(toWinAnsi(`${patient.firstNames} ${patient.birthName.toUpperCase()}, né(e) le ${BIRTH.format(new Date(`${patient.birthDate}T00:00:00Z`))}, sexe ${patient.sex}`));
  if (patient.insNir) doc.text(`INS (NIR) : ${patient.insNir} — identité qualifiée`);
  doc.moveDown(1);

  doc.font('Helvetica-Bold').fontSize(11).text('Prescription');
  doc.moveDown(0.3);
  content.lines.forEach((line, i) => {
    if (isAct(line)) {
      doc.font('Helvetica-Bold').fontSize(10.5).text(toWinAnsi(`${i + 1}. Acte : ${line.act}`));
      doc.font('Helvetica').fontSize(10);
      if (line.instructions) doc.text(toWinAnsi(line.instructions), { indent: 14 });
      if (line.count > 1) doc.text(`${line.count} séances / fois`, { indent: 14 });
    } else {
      doc.font('Helvetica-Bold').fontSize(10.5).text(toWinAnsi(`${i + 1}. ${line.medication}${line.dosage ? ` — ${line.dosage}` : ''}`));
      doc.font('Helvetica').fontSize(10);
      doc.text(toWinAnsi(line.posology), { indent: 14 });
      doc.text(`Pendant ${line.durationDays} jour${line.durationDays > 1 ? 's' : ''} — quantité : ${line.quantity} boîte${line.quantity > 1 ? 's' : ''}`, { indent: 14 });
    }
    doc.moveDown(0.5);
  });

  doc.moveDown(1);
  const top = doc.y;
  doc.image(qr, 50, top, { width: 150 });
  doc.font('Helvetica-Bold').fontSize(10).text(`N° ${record.number}`, 215, top);
  doc.font('Helvetica').fontSize(9);
  doc.text(`Émise le ${record.issuedAt.toISOString().replace('T', ' ').slice(0, 16)} UTC, signée électroniquement par l’instance (Ed25519).`, 215, doc.y + 4, { width: 330 });
  doc.text(`Pharmacien : vérifiez le code 2D et marquez la délivrance sur ${verifyUrl}`, 215, doc.y + 4, { width: 330 });
  doc.end();
  await done;
  return Buffer.concat(chunks);
}
