// HTTP routes of the access capability: the patient's side (who can open my data; attending doctor,
// care team, oppositions) and the professional's side (my patients, one patient, break-the-glass).
// Every route that touches patient data goes through `gated`: one decision, one audit entry, one
// transaction. The gate (not the guard) checks the second factor, so that refusal is traced too.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { AppError } from '../kernel/errors.js';
import type { Services } from '../services.js';
import { authenticate, sessionOf } from '../identity/guard.js';
import { openEmergencyAccess, REASON_MAX_LENGTH, REASON_MIN_LENGTH } from './break-glass.js';
import { LIST_VIEW } from '../audit/log.js';
import { decideEach, PURPOSES, type AllowedDecision, type Purpose } from './gate.js';
import { gated, gatedRead } from './gated.js';
import { candidatePatients, careOverview, patientSummaries, professionalsForPatient, readPatientSummary } from './patients.js';
import { addCareTeamMember, declareAttendingDoctor, endRelationship, opposeProfessional, withdrawOpposition } from './relationships.js';
import { askGate } from './ask.js';

const Uuid = Type.String({ format: 'uuid' });
const ProfessionalBody = Type.Object({ professionalId: Uuid }, { additionalProperties: false });
const PatientParams = Type.Object({ patientId: Uuid });
const PatientRelationshipParams = Type.Object({ patientId: Uuid, relationshipId: Uuid });
const RelationshipParams = Type.Object({ relationshipId: Uuid });
const OppositionParams = Type.Object({ id: Uuid });
const PurposeQuery = Type.Object({ purpose: Type.Optional(Type.Enum([...PURPOSES])) });
/** Free text, several lines allowed, no other control characters. */
const ReasonBody = Type.Object(
  { reason: Type.String({ minLength: REASON_MIN_LENGTH, maxLength: REASON_MAX_LENGTH, pattern: '^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F]*$' }) },
  { additionalProperties: false },
);

export function accessRoutes(app: FastifyInstance, services: Services): void {
  const { db } = services;

  const me = (request: FastifyRequest) => sessionOf(request).userId;

  app.register(async (scope) => {
    scope.addHook('preValidation', authenticate(services.sessions, services.config.session.secureCookies));

    // --- The patient's side: their own data, purpose patient_self. ---
    scope.get('/api/me/care', { schema: { tags: ['access'] } }, async (request) => {
      const input = askGate(request, new Date(services.now()), me(request), 'care_team.read', 'patient_self');
      return gatedRead(db, input, (tx, decision) => careOverview(tx, decision, input.now));
    });

    scope.get('/api/me/professionals', { schema: { tags: ['access'] } }, async (request) => {
      return gatedRead(db, askGate(request, new Date(services.now()), me(request), 'care_team.read', 'patient_self'), (tx, decision) => professionalsForPatient(tx, decision));
    });

    scope.post('/api/me/attending-doctor', { schema: { tags: ['access'], body: ProfessionalBody } }, async (request, reply) => {
      const { professionalId } = request.body as { professionalId: string };
      const id = randomUUID();
      const input = askGate(request, new Date(services.now()), me(request), 'care_team.manage', 'patient_self', { resource: { type: 'care_relationship', id }, detail: { change: 'attending_doctor.declared', professionalId } });
      await gated(db, input, (tx, decision) => declareAttendingDoctor(tx, decision, { id, professionalId, now: input.now }));
      return reply.code(201).send({ id, kind: 'attending_doctor', professionalId, startsAt: input.now.toISOString() });
    });

    scope.post('/api/me/care-team', { schema: { tags: ['access'], body: ProfessionalBody } }, async (request, reply) => {
      const { professionalId } = request.body as { professionalId: string };
      const id = randomUUID();
      const input = askGate(request, new Date(services.now()), me(request), 'care_team.manage', 'patient_self', { resource: { type: 'care_relationship', id }, detail: { change: 'care_team.added', professionalId } });
      await gated(db, input, (tx, decision) => addCareTeamMember(tx, decision, { id, professionalId, now: input.now }));
      return reply.code(201).send({ id, kind: 'care_team', professionalId, startsAt: input.now.toISOString() });
    });

    scope.delete('/api/me/care-team/:relationshipId', { schema: { tags: ['access'], params: RelationshipParams } }, async (request, reply) => {
      const { relationshipId } = request.params as { relationshipId: string };
      const input = askGate(request, new Date(services.now()), me(request), 'care_team.manage', 'patient_self', { resource: { type: 'care_relationship', id: relationshipId }, detail: { change: 'relationship.ended' } });
      await gated(db, input, (tx, decision) => endRelationship(tx, decision, relationshipId, input.now));
      return reply.code(204).send();
    });

    scope.post('/api/me/oppositions', { schema: { tags: ['access'], body: ProfessionalBody } }, async (request, reply) => {
      const { professionalId } = request.body as { professionalId: string };
      const id = randomUUID();
      const input = askGate(request, new Date(services.now()), me(request), 'consent.manage', 'patient_self', { resource: { type: 'patient_opposition', id }, detail: { change: 'opposition.created', professionalId } });
      await gated(db, input, (tx, decision) => opposeProfessional(tx, decision, { id, professionalId, now: input.now }));
      return reply.code(201).send({ id, professionalId, createdAt: input.now.toISOString() });
    });

    scope.delete('/api/me/oppositions/:id', { schema: { tags: ['access'], params: OppositionParams } }, async (request, reply) => {
      const { id } = request.params as { id: string };
      const input = askGate(request, new Date(services.now()), me(request), 'consent.manage', 'patient_self', { resource: { type: 'patient_opposition', id }, detail: { change: 'opposition.withdrawn' } });
      await gated(db, input, (tx, decision) => withdrawOpposition(tx, decision, id, input.now));
      return reply.code(204).send();
    });

    // --- The professional's side. ---
    scope.get('/api/patients', { schema: { tags: ['access'] } }, async (request) => {
      // No patient to decide about yet: the second factor is checked here, then each patient is decided.
      if (sessionOf(request).secondFactorAt === null) throw new AppError('second_factor_enrolment_required');
      const now = new Date(services.now());
      return db.transaction().execute(async (tx) => {
        // One traced decision per patient, all in two statements; traced as a list view (LIST_VIEW), which
        // the unusual-volume detection does not count as reading each record.
        const inputs = (await candidatePatients(tx, me(request), now)).map((patientId) =>
          askGate(request, now, patientId, 'patient.read', 'care', { resource: { type: LIST_VIEW.patients, id: patientId } }),
        );
        const allowed = (await decideEach(tx, inputs)).filter((decision): decision is AllowedDecision<'patient.read'> => decision.allowed);
        return { patients: await patientSummaries(tx, allowed, now) };
      });
    });

    scope.get('/api/patients/:patientId', { schema: { tags: ['access'], params: PatientParams, querystring: PurposeQuery } }, async (request) => {
      const { patientId } = request.params as { patientId: string };
      const { purpose = 'care' } = request.query as { purpose?: Purpose };
      const input = askGate(request, new Date(services.now()), patientId, 'patient.read', purpose);
      return readPatientSummary(db, input);
    });

    // The professionals of the patient's organisations, for the attending doctor choosing a care-team
    // member: `care_team.manage`, since the list names every organisation the patient belongs to.
    scope.get('/api/patients/:patientId/professionals', { schema: { tags: ['access'], params: PatientParams } }, async (request) => {
      const { patientId } = request.params as { patientId: string };
      // Traced as what it is: opening the list to choose from, not a change.
      const input = askGate(request, new Date(services.now()), patientId, 'care_team.manage', 'care', { detail: { view: 'professionals' } });
      return gatedRead(db, input, (tx, decision) => professionalsForPatient(tx, decision));
    });

    scope.post('/api/patients/:patientId/care-team', { schema: { tags: ['access'], params: PatientParams, body: ProfessionalBody } }, async (request, reply) => {
      const { patientId } = request.params as { patientId: string };
      const { professionalId } = request.body as { professionalId: string };
      const id = randomUUID();
      const input = askGate(request, new Date(services.now()), patientId, 'care_team.manage', 'care', { resource: { type: 'care_relationship', id }, detail: { change: 'care_team.added', professionalId } });
      await gated(db, input, (tx, decision) => addCareTeamMember(tx, decision, { id, professionalId, now: input.now }));
      return reply.code(201).send({ id, kind: 'care_team', professionalId, startsAt: input.now.toISOString() });
    });

    scope.delete('/api/patients/:patientId/care-team/:relationshipId', { schema: { tags: ['access'], params: PatientRelationshipParams } }, async (request, reply) => {
      const { patientId, relationshipId } = request.params as { patientId: string; relationshipId: string };
      const input = askGate(request, new Date(services.now()), patientId, 'care_team.manage', 'care', { resource: { type: 'care_relationship', id: relationshipId }, detail: { change: 'relationship.ended' } });
      await gated(db, input, (tx, decision) => endRelationship(tx, decision, relationshipId, input.now));
      return reply.code(204).send();
    });

    scope.post('/api/patients/:patientId/break-the-glass', { schema: { tags: ['access'], params: PatientParams, body: ReasonBody } }, async (request, reply) => {
      const { patientId } = request.params as { patientId: string };
      const reason = (request.body as { reason: string }).reason.trim();
      if (reason.length < REASON_MIN_LENGTH) {
        throw new AppError('validation_failed', { fr: 'Expliquez l’urgence (10 caractères au moins).', en: 'Explain the emergency (at least 10 characters).' }, { extra: { errors: [{ pointer: '/reason', message: 'too short' }] } });
      }
      const id = randomUUID();
      const input = askGate(request, new Date(services.now()), patientId, 'emergency_access.open', 'emergency', { resource: { type: 'emergency_access', id }, justification: reason });
      const access = await gated(db, input, (tx, decision) => openEmergencyAccess(tx, decision, { id, reason, now: input.now, sourceAddress: request.ip }));
      return reply.code(201).send({ id: access.id, expiresAt: access.expiresAt.toISOString() });
    });
  });
}
