// HTTP routes of the record's observations (vital signs), for the web app: list (record.read) and
// record one (record.write): a professional caring for the patient, or the patient themself. The same
// data are in the FHIR API as Observation (src/fhir).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { gatedInsert, gatedRead } from '../access/gated.js';
import type { DecisionInput, Purpose } from '../access/gate.js';
import type { Action } from '../access/rules.js';
import { authenticate, sessionOf } from '../identity/guard.js';
import { contextOf } from '../kernel/http.js';
import type { Services } from '../services.js';
import { checkObservation, KIND_NAMES, OBSERVATION_KINDS, newObservation, observationsOf, observationView, type ObservationKindName } from './observations.js';

const PatientParams = Type.Object({ patientId: Type.String({ format: 'uuid' }) });
const ListQuery = Type.Object(
  { kind: Type.Optional(Type.Enum([...KIND_NAMES])), purpose: Type.Optional(Type.Enum(['care', 'emergency'])), limit: Type.Optional(Type.String({ pattern: '^(?:[1-9]\\d{0,1}|[1-4]\\d{2}|500)$' })) },
  { additionalProperties: false },
);
const NewBody = Type.Object(
  {
    kind: Type.Enum([...KIND_NAMES]),
    value: Type.Number(),
    value2: Type.Optional(Type.Number()),
    effectiveAt: Type.String({ format: 'date-time', maxLength: 40 }),
  },
  { additionalProperties: false },
);

export function observationRoutes(app: FastifyInstance, services: Services): void {
  const { db, config } = services;

  function ask<A extends Action>(request: FastifyRequest, patientId: string, action: A, asked: Purpose | undefined, detail?: Record<string, string>): DecisionInput<A> {
    const session = sessionOf(request);
    const purpose: Purpose = patientId === session.userId ? 'patient_self' : (asked ?? 'care');
    return { actor: { userId: session.userId, secondFactorVerified: session.secondFactorAt !== null }, patientId, action, purpose, context: contextOf(request), now: new Date(services.now()), resource: { type: 'observations', id: patientId }, ...(detail ? { detail } : {}) };
  }

  app.register(async (scope) => {
    scope.addHook('preValidation', authenticate(services.sessions, config.session.secureCookies));

    scope.get('/api/observation-kinds', { schema: { tags: ['records'] } }, async () => ({
      kinds: KIND_NAMES.map((name) => ({ kind: name, code: OBSERVATION_KINDS[name].code, unit: OBSERVATION_KINDS[name].unit, display: OBSERVATION_KINDS[name].display, twoValues: 'components' in OBSERVATION_KINDS[name] })),
    }));

    scope.get('/api/patients/:patientId/observations', { schema: { tags: ['records'], params: PatientParams, querystring: ListQuery } }, async (request) => {
      const { patientId } = request.params as { patientId: string };
      // Query strings are not coerced (server.ts): the limit arrives as text, 1 to 500.
      const { kind, purpose, limit = '100' } = request.query as { kind?: ObservationKindName; purpose?: Purpose; limit?: string };
      const found = await gatedRead(db, ask(request, patientId, 'record.read', purpose), (tx, decision) =>
        observationsOf(tx, decision, { codes: kind ? [OBSERVATION_KINDS[kind].code] : undefined, limit: Number(limit) }),
      );
      return { total: found.total, observations: found.rows.map(observationView) };
    });

    scope.post('/api/patients/:patientId/observations', { schema: { tags: ['records'], params: PatientParams, body: NewBody } }, async (request, reply) => {
      const { patientId } = request.params as { patientId: string };
      const body = request.body as { kind: ObservationKindName; value: number; value2?: number; effectiveAt: string };
      const measure = { kind: body.kind, value: body.value, value2: body.value2, effectiveAt: new Date(body.effectiveAt) };
      const input = ask(request, patientId, 'record.write', 'care', { change: 'observation.recorded', kind: body.kind });
      checkObservation(measure, input.now); // bad input is refused before the gate is asked
      const row = await gatedInsert(db, input, newObservation(patientId, input.actor.userId, measure, input.now));
      return reply.code(201).send({ observation: observationView(row) });
    });
  });
}
