// HTTP routes of the record's allergies and problems, for the web app: list (record.read), record one
// and mark it resolved or active again (record.write): a professional caring for the patient, or the
// patient themself. The same data are in the FHIR API as AllergyIntolerance and Condition (src/fhir).
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { askGate } from '../access/ask.js';
import type { Purpose } from '../access/gate.js';
import { gated, gatedRead } from '../access/gated.js';
import { authenticate } from '../identity/guard.js';
import type { Services } from '../services.js';
import { checkCondition, conditionsOf, conditionView, CONDITION_CATEGORIES, CRITICALITIES, newConditionId, recordCondition, setConditionStatus, type NewCondition } from './conditions.js';

const Uuid = Type.String({ format: 'uuid' });
const PatientParams = Type.Object({ patientId: Uuid });
const ConditionParams = Type.Object({ patientId: Uuid, conditionId: Uuid });
const ListQuery = Type.Object({ category: Type.Optional(Type.Enum([...CONDITION_CATEGORIES])), purpose: Type.Optional(Type.Enum(['care', 'emergency'])) }, { additionalProperties: false });
/** One line of text, no control characters. */
const text = (minLength: number, maxLength: number) => Type.String({ minLength, maxLength, pattern: minLength > 0 ? '^(?=.*\\S)[^\\u0000-\\u001F\\u007F]*$' : '^[^\\u0000-\\u001F\\u007F]*$' });
const NewBody = Type.Object(
  {
    category: Type.Enum([...CONDITION_CATEGORIES]),
    label: text(1, 200),
    note: Type.Optional(text(0, 1000)),
    reaction: Type.Optional(text(0, 300)),
    criticality: Type.Optional(Type.Union([Type.Enum([...CRITICALITIES]), Type.Null()])),
    onsetDate: Type.Optional(Type.Union([Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }), Type.Null()])),
  },
  { additionalProperties: false },
);
const LIST_MAX = 500;
const StatusBody = Type.Object({ status: Type.Enum(['active', 'resolved']) }, { additionalProperties: false });

export function conditionRoutes(app: FastifyInstance, services: Services): void {
  const { db, config, envelope } = services;
  const now = () => new Date(services.now());

  app.register(async (scope) => {
    scope.addHook('preValidation', authenticate(services.sessions, config.session.secureCookies));

    scope.get('/api/patients/:patientId/conditions', { schema: { tags: ['records'], params: PatientParams, querystring: ListQuery } }, async (request) => {
      const { patientId } = request.params as { patientId: string };
      const { category, purpose } = request.query as { category?: NewCondition['category']; purpose?: Purpose };
      const input = askGate(request, now(), patientId, 'record.read', purpose, { resource: { type: 'conditions', id: patientId } });
      // A record's allergies and problems are a short list; the cap only bounds the work.
      const found = await gatedRead(db, input, (q, decision) => conditionsOf(q, decision, envelope, { ...(category ? { category } : {}), limit: LIST_MAX }));
      return { total: found.total, conditions: found.records.map(conditionView) };
    });

    scope.post('/api/patients/:patientId/conditions', { schema: { tags: ['records'], params: PatientParams, body: NewBody } }, async (request, reply) => {
      const { patientId } = request.params as { patientId: string };
      const body = request.body as Partial<NewCondition> & Pick<NewCondition, 'category' | 'label'>;
      const condition: NewCondition = { category: body.category, label: body.label.trim(), note: body.note?.trim() ?? '', reaction: body.reaction?.trim() ?? '', criticality: body.criticality ?? null, onsetDate: body.onsetDate ?? null };
      const at = now();
      checkCondition(condition, at); // bad input is refused before the gate is asked
      const id = newConditionId();
      const input = askGate(request, at, patientId, 'record.write', undefined, { resource: { type: condition.category, id }, detail: { change: `${condition.category}.recorded` } });
      const record = await gated(db, input, (q, decision) => recordCondition(q, decision, envelope, { ...condition, id }, at));
      return reply.code(201).send({ condition: conditionView(record) });
    });

    scope.post('/api/patients/:patientId/conditions/:conditionId/status', { schema: { tags: ['records'], params: ConditionParams, body: StatusBody } }, async (request) => {
      const { patientId, conditionId } = request.params as { patientId: string; conditionId: string };
      const { status } = request.body as { status: 'active' | 'resolved' };
      const at = now();
      const input = askGate(request, at, patientId, 'record.write', undefined, { resource: { type: 'condition', id: conditionId }, detail: { change: `condition.${status}` } });
      const record = await gated(db, input, async (q, decision) => {
        await setConditionStatus(q, decision, conditionId, status, at);
        return (await conditionsOf(q, decision, envelope, { id: conditionId })).records[0]!;
      });
      return { condition: conditionView(record) };
    });
  });
}
