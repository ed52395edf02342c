// The patient's right to take their data away (GDPR art. 20): GET /api/me/export gives one zip holding
// everything the record has about them as a FHIR R4 Bundle (bundle.json, the same as Patient/$everything)
// their prescriptions and signed reports as PDFs, and the applications they authorised (applications.json). One gate decision (record.read, patient_self), traced as an export.
import type { FastifyInstance } from 'fastify';
import { zipSync, strToU8 } from 'fflate';
import { gatedRead } from '../access/gated.js';
import { authenticate, sessionOf } from '../identity/guard.js';
import { contextOf } from '../kernel/http.js';
import { prescriptionPdf } from '../prescriptions/pdf.js';
import { grantsOf } from '../oauth/authorization.js';
import { reportPdf } from '../reports/pdf.js';
import type { Services } from '../services.js';
import { patientEverything } from './everything.js';

const README = `Ausculta — export de vos données / export of your data

bundle.json   toutes les données de votre dossier au format FHIR R4 (Bundle), lisible par d'autres logiciels de santé
              all the data of your record as a FHIR R4 Bundle, readable by other health software
ordonnances/  vos ordonnances en PDF / your prescriptions as PDF
comptes-rendus/  vos comptes rendus de consultation signés en PDF / your signed consultation reports as PDF
applications.json  les applications que vous avez autorisées à accéder à vos données en votre nom (OAuth)
                   the applications you authorised to access your data on your behalf (OAuth)
`;

export function exportRoutes(app: FastifyInstance, services: Services): void {
  const { db, config } = services;
  app.register(async (scope) => {
    scope.addHook('preValidation', authenticate(services.sessions, config.session.secureCookies));

    scope.get('/api/me/export', { schema: { tags: ['records'] } }, async (request, reply) => {
      const session = sessionOf(request);
      const now = new Date(services.now());
      const input = {
        actor: { userId: session.userId, secondFactorVerified: session.secondFactorAt !== null },
        patientId: session.userId,
        action: 'record.read' as const,
        purpose: 'patient_self' as const,
        context: contextOf(request),
        now,
        resource: { type: 'Patient/$export', id: session.userId },
        detail: { export: 'archive' },
      };
      const { bundle, prescriptions, reports } = await gatedRead(db, input, (tx, decision) => patientEverything(tx, decision, services.envelope, config.publicUrl, now));
      const files: Record<string, Uint8Array> = {
        'LISEZMOI.txt': strToU8(README),
        'bundle.json': strToU8(JSON.stringify(bundle, null, 1)),
        // Not clinical data, but data about them: who may act on their behalf, since when, for what.
        'applications.json': strToU8(JSON.stringify(await grantsOf(db, session.userId, now), null, 1)),
      };
      const verifyUrl = `${config.publicUrl}/#/ordonnance/verifier`;
      for (const record of prescriptions) files[`ordonnances/ordonnance-${record.number}.pdf`] = await prescriptionPdf(record, verifyUrl);
      for (const record of reports) {
        if (!record.header || !record.signedAt) continue;
        files[`comptes-rendus/compte-rendu-${record.signedAt.toISOString().slice(0, 10)}-${record.id.slice(0, 8)}-v${record.version}.pdf`] = await reportPdf({ ...record, header: record.header, signedAt: record.signedAt });
      }
      const zip = zipSync(files, { level: 6, mtime: now });
      return reply
        .type('application/zip')
        .header('content-disposition', `attachment; filename="ausculta-export-${now.toISOString().slice(0, 10)}.zip"`)
        .send(Buffer.from(zip.buffer, zip.byteOffset, zip.byteLength));
    });
  });
}
