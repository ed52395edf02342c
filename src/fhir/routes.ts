// The FHIR R4 REST API under /fhir/R4 (read, search, and create of Observation; JSON), for other software and for exports.
// Every resource about a patient passes the access gate exactly as the app's own routes do: a read asks
// for the patient's record, a search asks once per patient it would return and drops the refused ones,
// so a search never returns what the single read would refuse. Errors are OperationOutcomes.
// Authentication: the app's session cookie, or an OAuth 2.0 bearer token whose SMART scopes narrow which
// types and interactions the application may use (src/oauth/); the gate then decides for the token's user.
import { randomUUID } from 'node:crypto';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sql } from 'kysely';
import { assertDecision, decideEach, type AllowedDecision, type DecisionInput, type Purpose } from '../access/gate.js';
import { gated, gatedInsert, gatedRead, gatedSelect } from '../access/gated.js';
import { careOverview } from '../access/patients.js';
import type { Action } from '../access/rules.js';
import { appendAuditEntry, LIST_VIEW } from '../audit/log.js';
import { countEntries, ENTRY_COLUMNS, organisationsWatchedBy, searchEntries, type EntryRow, type SearchFilters } from '../audit/search.js';
import type { Queryable } from '../kernel/db.js';
import { AppError } from '../kernel/errors.js';
import { contextOf, frameworkProblem } from '../kernel/http.js';
import { medicationRequestsOf, serviceRequestsOf } from '../prescriptions/fhir.js';
import { prescriptionOwner, prescriptionsOfPatient, readPrescription } from '../prescriptions/prescriptions.js';
import { compositionResource, reportDocument } from '../reports/fhir.js';
import { readReport, reportOwner, signedReportsOfPatient } from '../reports/reports.js';
import { REPORT_TYPE } from '../reports/sections.js';
import { documentOwner, documentsOfPatient, summarise, type StoredDocument } from '../records/documents.js';
import { conditionOwner, conditionsOf } from '../records/conditions.js';
import { checkObservation, foundObservations, newObservation, observationOwner, observationsRead, recordObservation } from '../records/observations.js';
import { callerOf, fhirAuthenticate, requireScope } from '../oauth/bearer.js';
import type { Services } from '../services.js';
import { auditEventResource } from './audit-events.js';
import { documentFromFhir, importDocument, INLINE_MAX_BYTES } from './document-import.js';
import { consentsOf } from './consents.js';
import { capabilityStatement } from './capability.js';
import { patientEverything, patientRow } from './everything.js';
import { observationFromFhir, observationResource } from './observations.js';
import { allergyResource, conditionResource, documentReferenceResource, encounterResource, organizationResource, patientResource, practitionerResource, SYSTEMS, type Resource } from './resources.js';
import { dateBounds, FhirError, onlyParams, operationOutcome, page, searchset, single, token, type Query } from './search.js';

const FHIR_JSON = 'application/fhir+json; fhirVersion=4.0; charset=utf-8';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Patients a search considers at most: each is one gate decision. */
const MAX_CANDIDATES = 1_000;

const ISSUE_OF_STATUS: Record<number, string> = { 400: 'invalid', 401: 'login', 403: 'forbidden', 404: 'not-found', 409: 'conflict', 413: 'too-costly', 429: 'throttled' };

function sendOutcome(reply: FastifyReply, status: number, code: string, diagnostics: string): FastifyReply {
  return reply.code(status).type(FHIR_JSON).send(operationOutcome(code, diagnostics));
}

const NOT_FOUND = 'no such resource, or not yours to see';
/** The same answer for an unknown id and for someone else's resource. */
const notFound = (_type: string, _id: string) => new FhirError(404, 'not-found', NOT_FOUND);

export function fhirRoutes(app: FastifyInstance, services: Services): void {
  const { db, config } = services;
  const base = `${config.publicUrl}/fhir/R4`;
  const now = () => new Date(services.now());

  /** How the request came: the FHIR API, and the application acting for the user if any (in every trace). */
  function via(request: FastifyRequest): Record<string, string> {
    const { application } = callerOf(request);
    return application ? { via: 'fhir', application: application.clientId } : { via: 'fhir' };
  }

  function ask<A extends Action>(request: FastifyRequest, patientId: string, action: A, resource: { type: string; id: string }): DecisionInput<A> {
    const caller = callerOf(request);
    const purpose: Purpose = patientId === caller.userId ? 'patient_self' : 'care';
    // A patient/ scope reaches the user's own record only: the gate denies (and traces) any other patient.
    const actor = { userId: caller.userId, secondFactorVerified: caller.secondFactorVerified, ...(caller.selfOnly ? { ownRecordOnly: true } : {}) };
    return { actor, patientId, action, purpose, context: contextOf(request), now: now(), resource, detail: via(request) };
  }

  /**
   * Asks the gate about each candidate patient of a Patient search (one traced decision each, all in a
   * few statements, as a list view: see LIST_VIEW); keeps the allowed ones.
   */
  async function allowedPatients(request: FastifyRequest, candidates: string[]): Promise<string[]> {
    // As GET /api/patients: without a second factor, no patient data at all (and no decision to trace).
    const caller = callerOf(request);
    if (!caller.secondFactorVerified) throw new AppError('second_factor_enrolment_required');
    if (candidates.length === 0) return [];
    const inputs = candidates.map((patientId) => ask(request, patientId, 'patient.read', { type: LIST_VIEW.fhirPatientSearch, id: patientId }));
    const decisions = await db.transaction().execute((tx) => decideEach(tx, inputs));
    return decisions.filter((decision) => decision.allowed).map((decision) => decision.patientId);
  }

  /** The patient a search is about: `patient=<id>` or `patient=Patient/<id>`, required. */
  function patientParam(query: Query, name = 'patient'): string {
    const raw = single(query, name) ?? single(query, 'subject');
    if (!raw) throw new FhirError(400, 'invalid', `"${name}" is required for this search`);
    const id = raw.replace(/^Patient\//, '');
    if (!UUID.test(id)) throw new FhirError(400, 'invalid', `"${name}=${raw}" is not a patient reference`);
    return id;
  }

  app.register(
    async (scope) => {
      scope.setErrorHandler((error: FastifyError | FhirError | AppError, request, reply) => {
        let known = error instanceof FhirError ? null : error instanceof AppError ? error : frameworkProblem(error as FastifyError);
        const notFound = known?.code === 'not_found' || (error instanceof FhirError && error.status === 404 && error.message === NOT_FOUND);
        // Without a second factor the gate refuses an existing resource with 403: an unknown one answers
        // the same, so that neither tells whether it exists.
        if (notFound && request.fhirCaller && !request.fhirCaller.secondFactorVerified) known = new AppError('second_factor_enrolment_required');
        // A refusal of the gate answers exactly as an unknown id (no existence oracle).
        else if (notFound) return sendOutcome(reply, 404, 'not-found', NOT_FOUND);
        if (error instanceof FhirError && !known) return sendOutcome(reply, error.status, error.code, error.message);
        if (known) void reply.headers(known.headers);
        if (known) return sendOutcome(reply, known.status, ISSUE_OF_STATUS[known.status] ?? 'processing', known.detail?.en ?? known.message);
        request.log.error({ err: error }, 'unhandled error (FHIR)');
        return sendOutcome(reply, 500, 'exception', 'internal error');
      });
      scope.setNotFoundHandler((request, reply) => sendOutcome(reply, 404, 'not-supported', `${request.method} ${request.url.split('?')[0]} is not supported`));
      // FHIR clients send application/fhir+json: parsed like JSON (the size limit is Fastify's).
      scope.addContentTypeParser('application/fhir+json', { parseAs: 'string' }, (_request, body, done) => {
        try {
          done(null, JSON.parse(body as string));
        } catch {
          done(new FhirError(400, 'invalid', 'the body is not JSON'), undefined);
        }
      });
      scope.addHook('onSend', async (_request, reply) => {
        void reply.header('cache-control', 'no-store');
      });

      scope.get('/metadata', async (_request, reply) => reply.type(FHIR_JSON).send(capabilityStatement(config.publicUrl, now())));

      scope.register(async (authenticated) => {
        authenticated.addHook('preValidation', fhirAuthenticate(db, services.sessions, config.session.secureCookies, now));
        authenticated.addHook('preHandler', async (request) => requireScope(request, '/fhir/R4'));

        // --- Patient ---
        authenticated.get('/Patient/:id', async (request, reply) => {
          const { id } = request.params as { id: string };
          if (!UUID.test(id)) throw notFound('Patient', id);
          const row = await gatedRead(db, ask(request, id, 'patient.read', { type: 'Patient', id }), (tx) => patientRow(tx, id));
          if (!row) throw notFound('Patient', id);
          return reply.type(FHIR_JSON).send(patientResource(row));
        });

        authenticated.get('/Patient', async (request, reply) => {
          const query = request.query as Query;
          onlyParams(query, ['_id', 'identifier']);
          const paging = page(query);
          const me = callerOf(request).userId;
          const id = single(query, '_id');
          const identifier = single(query, 'identifier');
          let candidates: string[];
          if (id !== undefined) candidates = UUID.test(id) ? [id] : [];
          else if (identifier !== undefined) {
            const { system, code } = token(identifier);
            if (system !== undefined && system !== SYSTEMS.insNir) candidates = [];
            else {
              const rows = await db.selectFrom('patient_identities').select('user_id').where('ins_nir', '=', code).where('identity_status', '=', 'qualified').limit(MAX_CANDIDATES).execute();
              candidates = rows.map((row) => row.user_id);
            }
          } else {
            // No criterion: the caller themself, and the patients of their active care relationships.
            const rows = await sql<{ id: string }>`
              SELECT user_id AS id FROM patient_identities WHERE user_id = ${me}
              UNION SELECT patient_id FROM care_relationships
              WHERE professional_id = ${me} AND starts_at <= ${now()} AND (ends_at IS NULL OR ends_at > ${now()})
              ORDER BY id LIMIT ${MAX_CANDIDATES}`.execute(db);
            candidates = rows.rows.map((row) => row.id);
          }
          const allowed = await allowedPatients(request, candidates);
          const shown = allowed.slice(paging.offset, paging.offset + paging.count);
          const rows = await Promise.all(shown.map((patientId) => patientRow(db, patientId)));
          const resources = rows.filter((row): row is NonNullable<typeof row> => row !== undefined).map(patientResource);
          return reply.type(FHIR_JSON).send(searchset(base, 'Patient', query, paging, allowed.length, resources));
        });

        // Everything the record holds about the patient (the professional's export): one decision, traced as an export.
        authenticated.get('/Patient/:id/$everything', async (request, reply) => {
          const { id } = request.params as { id: string };
          if (!UUID.test(id)) throw notFound('Patient', id);
          const input = { ...ask(request, id, 'record.read', { type: 'Patient/$everything', id }), detail: { ...via(request), export: 'everything' } };
          const { bundle } = await gatedRead(db, input, (tx, decision) => patientEverything(tx, decision, services.envelope, config.publicUrl, input.now));
          return reply.type(FHIR_JSON).send(bundle);
        });

        // --- Encounter (consultations) ---
        authenticated.get('/Encounter/:id', async (request, reply) => {
          const { id } = request.params as { id: string };
          if (!UUID.test(id)) throw notFound('Encounter', id);
          const owner = await db.selectFrom('consultations').select('patient_id').where('id', '=', id).executeTakeFirst();
          if (!owner?.patient_id) throw notFound('Encounter', id);
          const patientId = owner.patient_id;
          const row = await gatedRead(db, ask(request, patientId, 'record.read', { type: 'Encounter', id }), (tx) => encounterRows(tx, patientId, { id }));
          if (row.rows.length === 0) throw notFound('Encounter', id);
          return reply.type(FHIR_JSON).send(encounterResource(row.rows[0]!, config.publicUrl));
        });

        authenticated.get('/Encounter', async (request, reply) => {
          const query = request.query as Query;
          onlyParams(query, ['patient', 'subject', 'date']);
          const paging = page(query);
          const patientId = patientParam(query);
          const bounds = dateBounds(query, 'date');
          const found = await gatedRead(db, ask(request, patientId, 'record.read', { type: 'fhir_search_Encounter', id: patientId }), (tx) => encounterRows(tx, patientId, { bounds, paging }));
          return reply.type(FHIR_JSON).send(searchset(base, 'Encounter', query, paging, found.total, found.rows.map((row) => encounterResource(row, config.publicUrl))));
        });

        // --- Composition (teleconsultation reports): read, search, $document ---
        // Signed versions only, as a draft stays with its author: a draft's id answers as an unknown id.
        async function signedReport(request: FastifyRequest, id: string, view: string) {
          const patientId = UUID.test(id) ? await reportOwner(db, id) : null;
          if (!patientId) throw notFound('Composition', id);
          const record = await gatedRead(db, { ...ask(request, patientId, 'record.read', { type: 'Composition', id }), detail: { ...via(request), view } }, (tx, decision) =>
            readReport(tx, decision, services.envelope, id),
          );
          if (!record || record.status !== 'signed' || !record.header || !record.signedAt) throw notFound('Composition', id);
          return { ...record, header: record.header, signedAt: record.signedAt };
        }

        authenticated.get('/Composition/:id', async (request, reply) => {
          const { id } = request.params as { id: string };
          return reply.type(FHIR_JSON).send(compositionResource(await signedReport(request, id, 'read'), config.publicUrl));
        });

        authenticated.get('/Composition/:id/$document', async (request, reply) => {
          const { id } = request.params as { id: string };
          return reply.type(FHIR_JSON).send(reportDocument(await signedReport(request, id, 'document'), config.publicUrl));
        });

        authenticated.get('/Composition', async (request, reply) => {
          const query = request.query as Query;
          onlyParams(query, ['patient', 'subject', 'date', 'type', 'status']);
          const paging = page(query);
          const patientId = patientParam(query);
          const bounds = dateBounds(query, 'date');
          const type = single(query, 'type');
          const status = single(query, 'status');
          // Every report is a consult note, final or amended: another type or status matches nothing.
          const typeMatches = type === undefined || type.split(',').map(token).some((t) => t.code === REPORT_TYPE.code && (t.system === undefined || t.system === REPORT_TYPE.system));
          const statuses = status?.split(',');
          const found = await gatedRead(db, ask(request, patientId, 'record.read', { type: 'fhir_search_Composition', id: patientId }), async (tx, decision) =>
            typeMatches ? signedReportsOfPatient(tx, decision, services.envelope, { from: bounds.from, to: bounds.to }) : { total: 0, records: [] },
          );
          // As the read: a version without its signed header (an old report whose author is gone) is not served.
          const matching = found.records
            .filter((record) => record.header !== null)
            .map((record) => compositionResource(record, config.publicUrl))
            .filter((resource) => statuses === undefined || statuses.includes(String(resource['status'])));
          return reply.type(FHIR_JSON).send(searchset(base, 'Composition', query, paging, matching.length, matching.slice(paging.offset, paging.offset + paging.count)));
        });

        // --- MedicationRequest and ServiceRequest (e-prescriptions: one per medicine, one per act) ---
        for (const [type, resourcesOf] of [['MedicationRequest', medicationRequestsOf], ['ServiceRequest', serviceRequestsOf]] as const) {
          authenticated.get(`/${type}/:id`, async (request, reply) => {
            const { id } = request.params as { id: string };
            const match = /^([0-9a-f-]{36})-(\d{1,2})$/.exec(id);
            if (!match || !UUID.test(match[1]!)) throw notFound(type, id);
            const prescriptionId = match[1]!;
            const patientId = await prescriptionOwner(db, prescriptionId);
            if (!patientId) throw notFound(type, id);
            const record = await gatedRead(db, ask(request, patientId, 'record.read', { type, id }), (tx, decision) => readPrescription(tx, decision, services.envelope, prescriptionId));
            const resource = record ? resourcesOf(record, config.publicUrl).find((r) => r['id'] === id) : undefined;
            if (!resource) throw notFound(type, id);
            return reply.type(FHIR_JSON).send(resource);
          });

          authenticated.get(`/${type}`, async (request, reply) => {
            const query = request.query as Query;
            onlyParams(query, ['patient', 'subject', 'authoredon']);
            const paging = page(query);
            const patientId = patientParam(query);
            const bounds = dateBounds(query, 'authoredon');
            const records = await gatedRead(db, ask(request, patientId, 'record.read', { type: `fhir_search_${type}`, id: patientId }), (tx, decision) =>
              prescriptionsOfPatient(tx, decision, services.envelope, bounds),
            );
            const all = records.flatMap((record) => resourcesOf(record, config.publicUrl)) as Resource[];
            return reply.type(FHIR_JSON).send(searchset(base, type, query, paging, all.length, all.slice(paging.offset, paging.offset + paging.count)));
          });
        }

        // --- Observation (vital signs): read, search, create ---
        authenticated.get('/Observation/:id', async (request, reply) => {
          const { id } = request.params as { id: string };
          const patientId = UUID.test(id) ? await observationOwner(db, id) : null;
          if (!patientId) throw notFound('Observation', id);
          // Decision, trace and read in one statement (gatedSelect); the owner lookup above is the other one.
          const read = await gatedSelect(db, ask(request, patientId, 'record.read', { type: 'Observation', id }), observationsRead(db, patientId, { id }));
          const { rows } = await foundObservations(db, read.decision, { id }, read.rows);
          if (rows.length === 0) throw notFound('Observation', id);
          return reply.type(FHIR_JSON).send(observationResource(rows[0]!));
        });

        authenticated.get('/Observation', async (request, reply) => {
          const query = request.query as Query;
          onlyParams(query, ['patient', 'subject', 'code', 'date']);
          const paging = page(query);
          const patientId = patientParam(query);
          const bounds = dateBounds(query, 'date');
          const code = single(query, 'code');
          // code=[system|]code[,…]: any of them (LOINC only).
          const codes = code?.split(',').map(token).filter((t) => t.system === undefined || t.system === 'http://loinc.org').map((t) => t.code);
          const filter = { codes, from: bounds.from, to: bounds.to, limit: paging.count, offset: paging.offset };
          const read = await gatedSelect(db, ask(request, patientId, 'record.read', { type: 'fhir_search_Observation', id: patientId }), observationsRead(db, patientId, filter));
          const found = await foundObservations(db, read.decision, filter, read.rows);
          return reply.type(FHIR_JSON).send(searchset(base, 'Observation', query, paging, found.total, found.rows.map(observationResource)));
        });

        authenticated.post('/Observation', async (request, reply) => {
          const { patientId, measure } = observationFromFhir(request.body);
          checkObservation(measure, now()); // bad input is refused before the gate is asked
          const id = randomUUID();
          const input = ask(request, patientId, 'record.write', { type: 'Observation', id });
          const change = { ...input, detail: { ...via(request), change: 'observation.created' } };
          // Of an encounter: recordObservation checks that it is the patient's, in gated's transaction.
          const row = measure.encounterId
            ? await gated(db, change, (tx, decision) => recordObservation(tx, decision, { ...measure, id }, input.now))
            : await gatedInsert(db, change, newObservation(patientId, input.actor.userId, { ...measure, id }, input.now));
          return reply.code(201).header('location', `${base}/Observation/${row.id}/_history/1`).header('etag', 'W/"1"').type(FHIR_JSON).send(observationResource(row));
        });

        // --- DocumentReference (documents of the record): read, search; the bytes at /api/documents/:id ---
        const documentResources = (documents: StoredDocument[]) =>
          Promise.all(documents.map(async (document) => documentReferenceResource(document, (await summarise(services.envelope, document)).fileName, config.publicUrl)));

        authenticated.get('/DocumentReference/:id', async (request, reply) => {
          const { id } = request.params as { id: string };
          const patientId = UUID.test(id) ? await documentOwner(db, id) : null;
          if (!patientId) throw notFound('DocumentReference', id);
          const found = await gatedRead(db, ask(request, patientId, 'record.read', { type: 'DocumentReference', id }), (tx, decision) => documentsOfPatient(tx, decision, { id, limit: 1, offset: 0 }));
          if (found.documents.length === 0) throw notFound('DocumentReference', id);
          return reply.type(FHIR_JSON).send((await documentResources(found.documents))[0]);
        });

        // Create: the document's bytes inline; the gate's decision is traced first, then the bytes are
        // checked and encrypted, then the document is listed. A refused content leaves nothing behind.
        const inlineMax = Math.min(config.documents.maxBytes, INLINE_MAX_BYTES);
        authenticated.post('/DocumentReference', { bodyLimit: Math.ceil((inlineMax * 4) / 3) + 64 * 1024 }, async (request, reply) => {
          const incoming = documentFromFhir(request.body, inlineMax);
          const id = randomUUID();
          const input = { ...ask(request, incoming.patientId, 'record.write', { type: 'DocumentReference', id }), detail: { ...via(request), change: 'document.imported' } };
          const document = await gatedRead(db, input, (_q, decision) => importDocument(services, decision, id, incoming, now(), contextOf(request), via(request)));
          const [resource] = await documentResources([document]);
          return reply.code(201).header('location', `${base}/DocumentReference/${id}`).type(FHIR_JSON).send(resource);
        });

        authenticated.get('/DocumentReference', async (request, reply) => {
          const query = request.query as Query;
          onlyParams(query, ['patient', 'subject', 'date']);
          const paging = page(query);
          const patientId = patientParam(query);
          const bounds = dateBounds(query, 'date');
          const found = await gatedRead(db, ask(request, patientId, 'record.read', { type: 'fhir_search_DocumentReference', id: patientId }), (tx, decision) =>
            documentsOfPatient(tx, decision, { from: bounds.from, to: bounds.to, limit: paging.count, offset: paging.offset }),
          );
          return reply.type(FHIR_JSON).send(searchset(base, 'DocumentReference', query, paging, found.total, await documentResources(found.documents)));
        });

        // --- Consent (who the patient let in, whom they oppose): read, search; the care team's view (care_team.read) ---
        authenticated.get('/Consent/:id', async (request, reply) => {
          const { id } = request.params as { id: string };
          const match = /^(rel|opp)-([0-9a-f-]{36})$/.exec(id);
          if (!match || !UUID.test(match[2]!)) throw notFound('Consent', id);
          const owner =
            match[1] === 'rel'
              ? await db.selectFrom('care_relationships').select('patient_id').where('id', '=', match[2]!).where('kind', 'in', ['attending_doctor', 'care_team']).executeTakeFirst()
              : await db.selectFrom('patient_oppositions').select('patient_id').where('id', '=', match[2]!).executeTakeFirst();
          if (!owner) throw notFound('Consent', id);
          const patientId = owner.patient_id;
          const { overview, self } = await gatedRead(db, ask(request, patientId, 'care_team.read', { type: 'Consent', id }), async (tx, decision) => ({ overview: await careOverview(tx, decision, now()), self: decision.basis === 'self' }));
          const resource = consentsOf(patientId, overview, config.publicUrl, self).find((consent) => consent.id === id);
          if (!resource) throw notFound('Consent', id);
          return reply.type(FHIR_JSON).send(resource);
        });

        authenticated.get('/Consent', async (request, reply) => {
          const query = request.query as Query;
          onlyParams(query, ['patient', 'subject', 'status']);
          const paging = page(query);
          const patientId = patientParam(query);
          const statuses = single(query, 'status')?.split(',');
          const { overview, self } = await gatedRead(db, ask(request, patientId, 'care_team.read', { type: 'fhir_search_Consent', id: patientId }), async (tx, decision) => ({ overview: await careOverview(tx, decision, now()), self: decision.basis === 'self' }));
          const all = consentsOf(patientId, overview, config.publicUrl, self).filter((consent) => statuses === undefined || statuses.includes(String(consent['status'])));
          return reply.type(FHIR_JSON).send(searchset(base, 'Consent', query, paging, all.length, all.slice(paging.offset, paging.offset + paging.count)));
        });

        // --- AllergyIntolerance and Condition (the record's allergies and problems): read, search ---
        for (const [type, category, toResource] of [['AllergyIntolerance', 'allergy', allergyResource], ['Condition', 'problem', conditionResource]] as const) {
          authenticated.get(`/${type}/:id`, async (request, reply) => {
            const { id } = request.params as { id: string };
            const owner = UUID.test(id) ? await conditionOwner(db, id) : null;
            if (!owner || owner.category !== category) throw notFound(type, id);
            const found = await gatedRead(db, ask(request, owner.patientId, 'record.read', { type, id }), (q, decision) => conditionsOf(q, decision, services.envelope, { id, category }));
            if (found.records.length === 0) throw notFound(type, id);
            return reply.type(FHIR_JSON).send(toResource(found.records[0]!));
          });

          authenticated.get(`/${type}`, async (request, reply) => {
            const query = request.query as Query;
            onlyParams(query, ['patient', 'subject', 'clinical-status']);
            const paging = page(query);
            const patientId = patientParam(query);
            const wanted = single(query, 'clinical-status')?.split(',').map((value) => token(value).code);
            const status = wanted?.filter((value): value is 'active' | 'resolved' => value === 'active' || value === 'resolved');
            const found = await gatedRead(db, ask(request, patientId, 'record.read', { type: `fhir_search_${type}`, id: patientId }), (q, decision) =>
              conditionsOf(q, decision, services.envelope, { category, ...(status ? { status } : {}), limit: paging.count, offset: paging.offset }),
            );
            return reply.type(FHIR_JSON).send(searchset(base, type, query, paging, found.total, found.records.map(toResource)));
          });
        }

        // --- AuditEvent (the audit log, read-only): the patient's own access history; an officer's search. ---
        /** The caller's organisations as security officer, or null. */
        async function watchedBy(request: FastifyRequest): Promise<string[] | null> {
          const caller = callerOf(request);
          // An application with a patient/ scope reads the user's own access history, never the officer's view.
          if (caller.selfOnly) return null;
          const organisations = await organisationsWatchedBy(db, caller.userId).catch(() => null);
          // As on the officer's pages: the audit log is read with a second factor proven.
          if (organisations && !caller.secondFactorVerified) throw new AppError('second_factor_enrolment_required');
          return organisations;
        }
        const OUTCOMES: Record<string, string[]> = { '0': ['allowed', 'success'], '4': ['denied', 'failure'] };

        authenticated.get('/AuditEvent', async (request, reply) => {
          const query = request.query as Query;
          onlyParams(query, ['patient', 'agent', 'date', 'outcome']);
          const paging = page(query);
          const bounds = dateBounds(query, 'date');
          const outcome = single(query, 'outcome');
          const agent = single(query, 'agent');
          if (agent !== undefined && !UUID.test(agent)) throw new FhirError(400, 'invalid', `"agent=${agent}" is not a user id`);
          const rawPatient = single(query, 'patient');
          const filters: SearchFilters = {
            ...(rawPatient !== undefined ? { patient: patientParam(query) } : {}),
            ...(agent ? { actor: agent } : {}),
            ...(outcome !== undefined ? { outcomes: outcome.split(',').flatMap((code) => OUTCOMES[code] ?? []) } : {}),
            ...(bounds.from ? { from: bounds.from.toISOString() } : {}),
            ...(bounds.to ? { to: bounds.to.toISOString() } : {}),
          };
          const organisations = await watchedBy(request);
          let total: number;
          let rows: EntryRow[];
          if (organisations) {
            await appendAuditEntry(db, contextOf(request), { kind: 'security', type: 'audit.searched', outcome: 'success', actorUserId: callerOf(request).userId, detail: { ...via(request), actor: agent ?? null, patient: filters.patient ?? null } }, now());
            [total, rows] = await Promise.all([countEntries(db, organisations, filters), searchEntries(db, organisations, filters, paging.count, paging.offset)]);
          } else {
            // Anyone else: the accesses to their own data (the gate decides, as for GET /api/me/access-history).
            const patientId = patientParam(query);
            ({ total, rows } = await gatedRead(db, ask(request, patientId, 'access_history.read', { type: 'fhir_search_AuditEvent', id: patientId }), (tx, decision) =>
              accessEntriesOf(tx, decision, filters, paging),
            ));
          }
          return reply.type(FHIR_JSON).send(searchset(base, 'AuditEvent', query, paging, total, rows.map((row) => auditEventResource(row, config.publicUrl))));
        });

        authenticated.get('/AuditEvent/:id', async (request, reply) => {
          const { id } = request.params as { id: string };
          if (!/^\d{1,18}$/.test(id)) throw notFound('AuditEvent', id);
          const organisations = await watchedBy(request);
          let row: EntryRow | undefined;
          if (organisations) {
            [row] = await searchEntries(db, organisations, { id }, 1);
          } else {
            const owner = await db.selectFrom('audit_entries').select('patient_id').where('id', '=', id).where('kind', '=', 'access').executeTakeFirst();
            if (!owner?.patient_id) throw notFound('AuditEvent', id);
            const patientId = owner.patient_id;
            ({ rows: [row] } = await gatedRead(db, ask(request, patientId, 'access_history.read', { type: 'AuditEvent', id }), (tx, decision) => accessEntriesOf(tx, decision, { id }, { count: 1, offset: 0 })));
          }
          if (!row) throw notFound('AuditEvent', id);
          return reply.type(FHIR_JSON).send(auditEventResource(row, config.publicUrl));
        });

        // --- Practitioner and Organization: not patient data; open to the members and patients of a shared organisation. ---
        authenticated.get('/Practitioner/:id', async (request, reply) => {
          const { id } = request.params as { id: string };
          const rows = UUID.test(id) ? await practitionersVisibleTo(db, callerOf(request).userId, { id }) : [];
          if (rows.length === 0) throw notFound('Practitioner', id);
          return reply.type(FHIR_JSON).send(practitionerResource(rows[0]!));
        });

        authenticated.get('/Practitioner', async (request, reply) => {
          const query = request.query as Query;
          onlyParams(query, ['identifier']);
          const paging = page(query);
          const identifier = single(query, 'identifier');
          let rpps: string | undefined;
          if (identifier !== undefined) {
            const { system, code } = token(identifier);
            rpps = system === undefined || system === SYSTEMS.rpps ? code : system === SYSTEMS.idnps && code.startsWith('8') ? code.slice(1) : '';
          }
          const rows = await practitionersVisibleTo(db, callerOf(request).userId, rpps === undefined ? {} : { rpps });
          return reply.type(FHIR_JSON).send(searchset(base, 'Practitioner', query, paging, rows.length, rows.slice(paging.offset, paging.offset + paging.count).map(practitionerResource)));
        });

        authenticated.get('/Organization/:id', async (request, reply) => {
          const { id } = request.params as { id: string };
          const row = UUID.test(id)
            ? await db
                .selectFrom('organisations as o')
                .innerJoin('member_roles as m', 'm.organisation_id', 'o.id')
                .select(['o.id', 'o.name', 'o.finess'])
                .where('o.id', '=', id)
                .where('m.user_id', '=', callerOf(request).userId)
                .executeTakeFirst()
            : undefined;
          if (!row) throw notFound('Organization', id);
          return reply.type(FHIR_JSON).send(organizationResource(row));
        });
      });
    },
    { prefix: '/fhir/R4' },
  );
}


async function encounterRows(
  q: Queryable,
  patientId: string,
  filter: { id?: string; bounds?: { from: Date | null; to: Date | null }; paging?: { count: number; offset: number } },
) {
  let select = q.selectFrom('consultations').where('patient_id', '=', patientId);
  if (filter.id) select = select.where('id', '=', filter.id);
  if (filter.bounds?.from) select = select.where('starts_at', '>=', filter.bounds.from);
  if (filter.bounds?.to) select = select.where('starts_at', '<', filter.bounds.to);
  const total = filter.paging ? Number((await select.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n) : 0;
  let rows = select
    .select(['id', 'organisation_id', 'doctor_id', 'patient_id', 'status', 'mode', 'starts_at', 'ends_at', 'admitted_at', 'ended_at'])
    .orderBy('starts_at')
    .orderBy('id');
  if (filter.paging) rows = rows.limit(filter.paging.count).offset(filter.paging.offset);
  const found = (await rows.execute()).map((row) => ({ ...row, patient_id: row.patient_id! }));
  return { total: filter.paging ? total : found.length, rows: found };
}

/** Professionals (doctor or health professional) of an organisation the reader belongs to, in any role. */
function practitionersVisibleTo(q: Queryable, readerId: string, filter: { id?: string; rpps?: string }) {
  let select = q
    .selectFrom('users as u')
    .select(['u.id', 'u.display_name', 'u.rpps', 'u.profession'])
    .where(({ exists, selectFrom }) =>
      exists(
        selectFrom('member_roles as pro')
          .innerJoin('member_roles as reader', 'reader.organisation_id', 'pro.organisation_id')
          .select('pro.user_id')
          .whereRef('pro.user_id', '=', 'u.id')
          .where('pro.role', 'in', ['doctor', 'health_professional'])
          .where('reader.user_id', '=', readerId),
      ),
    )
    .orderBy('u.id')
    .limit(MAX_CANDIDATES);
  if (filter.id) select = select.where('u.id', '=', filter.id);
  if (filter.rpps !== undefined) select = select.where('u.rpps', '=', filter.rpps);
  return select.execute();
}

/** The accesses to the decision's patient (what GET /api/me/access-history lists), newest first. */
async function accessEntriesOf(q: Queryable, decision: AllowedDecision<'access_history.read'>, filters: SearchFilters, paging: { count: number; offset: number }): Promise<{ total: number; rows: EntryRow[] }> {
  assertDecision(decision, 'access_history.read');
  let select = q.selectFrom('audit_entries').where('patient_id', '=', decision.patientId).where('kind', '=', 'access');
  if (filters.id) select = select.where('id', '=', filters.id);
  if (filters.actor) select = select.where('actor_user_id', '=', filters.actor);
  if (filters.outcomes) select = select.where('outcome', 'in', filters.outcomes.length > 0 ? filters.outcomes : ['-']);
  if (filters.from) select = select.where('occurred_at', '>=', new Date(filters.from));
  if (filters.to) select = select.where('occurred_at', '<', new Date(filters.to));
  const { n } = await select.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  const rows = await select.select(ENTRY_COLUMNS).orderBy('id', 'desc').limit(paging.count).offset(paging.offset).execute();
  return { total: Number(n), rows };
}
