// The audit log over HTTP. Public, for outside auditors (witnesses): the log key, the latest signed
// checkpoint, inclusion and consistency proofs — hashes only, never an entry. For a patient: the
// accesses to their own data, each with its inclusion proof. For a security officer: search, export
// and the integrity check. Reading the log is itself traced.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { AppError } from '../kernel/errors.js';
import { contextOf } from '../kernel/http.js';
import type { Services } from '../services.js';
import { organisationsWatchedBy, searchEntries, type SearchFilters } from './search.js';
import { authenticate, sessionOf } from '../identity/guard.js';
import { gatedRead } from '../access/gated.js';
import type { AllowedDecision } from '../access/gate.js';
import type { Queryable } from '../kernel/db.js';
import { appendAuditEntry } from './log.js';
import { checkpointAt, consistencyProofFor, inclusionProofFor, latestCheckpoint } from './transparency.js';
import { verifyLog } from './verify.js';

/** Older pages of one's access history: entries before leaf `before`, proven in the checkpoint of `size` (the first page's). */
const HistoryQuery = Type.Object({ before: Type.Optional(Type.String({ pattern: '^\\d{1,15}$' })), size: Type.Optional(Type.String({ pattern: '^\\d{1,15}$' })) }, { additionalProperties: false });
/** Entries of one's access history per page. */
const HISTORY_PAGE = 200;
const InclusionQuery = Type.Object({ index: Type.String({ pattern: '^\\d{1,15}$' }), size: Type.String({ pattern: '^\\d{1,15}$' }) }, { additionalProperties: false });
const ConsistencyQuery = Type.Object({ from: Type.String({ pattern: '^\\d{1,15}$' }), to: Type.String({ pattern: '^\\d{1,15}$' }) }, { additionalProperties: false });
const SearchQuery = Type.Object(
  {
    actor: Type.Optional(Type.String({ format: 'uuid' })),
    patient: Type.Optional(Type.String({ format: 'uuid' })),
    outcome: Type.Optional(Type.Enum(['allowed', 'denied', 'success', 'failure'])),
    from: Type.Optional(Type.String({ format: 'date-time' })),
    to: Type.Optional(Type.String({ format: 'date-time' })),
    limit: Type.Optional(Type.String({ pattern: '^\\d{1,4}$' })),
  },
  { additionalProperties: false },
);

const IncidentParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const IncidentNoteBody = Type.Object(
  { action: Type.Enum(['comment', 'acknowledge', 'close', 'reopen']), text: Type.Optional(Type.String({ maxLength: 2000, pattern: '^[^\\u0000]*$' })) },
  { additionalProperties: false },
);
const NEXT_STATUS = { comment: null, acknowledge: 'acknowledged', close: 'closed', reopen: 'open' } as const;

const EXPORT_LIMIT = 100_000;

const b64 = (hashes: Buffer[]) => hashes.map((hash) => hash.toString('base64'));

export function auditRoutes(app: FastifyInstance, services: Services): void {
  const { db } = services;

  async function checkpointOrFail() {
    const checkpoint = await latestCheckpoint(db);
    if (!checkpoint) throw new AppError('unavailable', { fr: 'Le journal n’a pas encore de point de contrôle.', en: 'The log has no checkpoint yet.' });
    return checkpoint;
  }

  app.get('/api/log/key', { schema: { tags: ['audit'] } }, async (_request, reply) => reply.type('text/plain; charset=utf-8').send(services.audit.key.verifierKey + '\n'));

  app.get('/api/log/checkpoint', { schema: { tags: ['audit'] } }, async (_request, reply) => reply.type('text/plain; charset=utf-8').send((await checkpointOrFail()).note));

  app.get('/api/log/proof/inclusion', { schema: { tags: ['audit'], querystring: InclusionQuery } }, async (request) => {
    const { index, size } = request.query as { index: string; size: string };
    const [leaf, treeSize] = [Number(index), Number(size)];
    const latest = await checkpointOrFail();
    if (treeSize < 1 || treeSize > latest.size || leaf >= treeSize) throw new AppError('validation_failed', { fr: 'Index ou taille hors du journal.', en: 'Index or size outside the log.' });
    return { index: leaf, size: treeSize, proof: b64(await inclusionProofFor(db, leaf, treeSize, services.audit.tiles)) };
  });

  app.get('/api/log/proof/consistency', { schema: { tags: ['audit'], querystring: ConsistencyQuery } }, async (request) => {
    const { from, to } = request.query as { from: string; to: string };
    const [m, n] = [Number(from), Number(to)];
    const latest = await checkpointOrFail();
    if (m < 1 || m > n || n > latest.size) throw new AppError('validation_failed', { fr: 'Tailles hors du journal.', en: 'Sizes outside the log.' });
    return { from: m, to: n, proof: b64(await consistencyProofFor(db, m, n, services.audit.tiles)) };
  });

  app.register(async (scope) => {
    scope.addHook('preValidation', authenticate(services.sessions, services.config.session.secureCookies, { requireSecondFactor: true }));

    /** The accesses to my data, each with its leaf data and its inclusion proof in the latest checkpoint. */
    scope.get('/api/me/access-history', { schema: { tags: ['audit'], querystring: HistoryQuery } }, async (request) => {
      const session = sessionOf(request);
      const { before, size } = request.query as { before?: string; size?: string };
      const input = {
        actor: { userId: session.userId, secondFactorVerified: session.secondFactorAt !== null },
        patientId: session.userId,
        action: 'access_history.read' as const,
        purpose: 'patient_self' as const,
        context: contextOf(request),
        now: new Date(services.now()),
      };
      return gatedRead(db, input, async (tx, decision) => {
        // An older page is proven in the same checkpoint as the first, so that the page verifies it alike.
        const checkpoint = size === undefined ? await latestCheckpoint(tx) : await checkpointAt(tx, Number(size));
        if (size !== undefined && !checkpoint) throw new AppError('validation_failed', { fr: 'Point de contrôle inconnu.', en: 'Unknown checkpoint.' });
        const found = await accessesTo(tx, decision, checkpoint?.size ?? 0, before === undefined ? undefined : Number(before));
        const rows = found.slice(0, HISTORY_PAGE);
        const actors = await namesOf(tx, rows.map((row) => row.actor_user_id));
        const applications = await applicationNamesOf(tx, rows.map((row) => applicationOf(row.detail)));
        const entries = await Promise.all(
          rows.map(async (row) => ({
            leafIndex: Number(row.leaf_index),
            leafData: row.leaf_data,
            at: row.occurred_at.toISOString(),
            action: row.type,
            outcome: row.outcome,
            actor: row.actor_user_id ? { id: row.actor_user_id, displayName: actors.get(row.actor_user_id) ?? null } : null,
            basis: row.actor_role,
            // What was opened when not the record as a whole: e.g. a list of patients (LIST_VIEW).
            resourceType: row.resource_type,
            purpose: row.purpose,
            reason: row.reason,
            // The software that acted for the actor (an OAuth application), if any.
            application: applicationEntry(applicationOf(row.detail), applications),
            proof: checkpoint ? b64(await inclusionProofFor(tx, Number(row.leaf_index), checkpoint.size, services.audit.tiles)) : [],
          })),
        );
        // Where the next (older) page starts, if there is one.
        const nextBefore = found.length > HISTORY_PAGE ? Number(rows.at(-1)!.leaf_index) : null;
        return { checkpoint: checkpoint?.note ?? null, verifierKey: services.audit.key.verifierKey, origin: services.audit.origin, entries, nextBefore };
      });
    });
  });

  app.register(async (scope) => {
    scope.addHook('preValidation', authenticate(services.sessions, services.config.session.secureCookies, { requireSecondFactor: true }));
    scope.addHook('preHandler', async (request) => {
      await officerOrganisations(request);
    });

    scope.post('/api/audit/verify', { schema: { tags: ['audit'] } }, async (request) => {
      await services.audit.integrator.flush();
      const report = await verifyLog(db, services.audit.key.verifierKey, services.audit.origin);
      await appendAuditEntry(db, contextOf(request), { kind: 'security', type: 'audit.verified', outcome: report.ok ? 'success' : 'failure', actorUserId: sessionOf(request).userId, detail: { entries: report.entries, problems: report.problems.length } }, new Date(services.now()));
      return report;
    });

    scope.get('/api/audit/entries', { schema: { tags: ['audit'], querystring: SearchQuery } }, async (request) => {
      const query = request.query as SearchFilters;
      await appendAuditEntry(db, contextOf(request), { kind: 'security', type: 'audit.searched', outcome: 'success', actorUserId: sessionOf(request).userId, detail: { actor: query.actor ?? null, patient: query.patient ?? null } }, new Date(services.now()));
      const rows = await searchEntries(db, await officerOrganisations(request), query, Math.min(Number(query.limit ?? 200), 1000));
      return rows.map((row) => ({ ...row, leaf_index: row.leaf_index === null ? null : Number(row.leaf_index), occurred_at: row.occurred_at.toISOString() }));
    });

    /** The same search as NDJSON, each line with its leaf index and leaf bytes, for archiving or analysis. */
    scope.get('/api/audit/export', { schema: { tags: ['audit'], querystring: SearchQuery } }, async (request, reply) => {
      const query = request.query as SearchFilters;
      await appendAuditEntry(db, contextOf(request), { kind: 'security', type: 'audit.exported', outcome: 'success', actorUserId: sessionOf(request).userId, detail: { actor: query.actor ?? null, patient: query.patient ?? null } }, new Date(services.now()));
      const rows = await searchEntries(db, await officerOrganisations(request), query, EXPORT_LIMIT);
      const lines = rows.map((row) => JSON.stringify({ leafIndex: row.leaf_index === null ? null : Number(row.leaf_index), leafData: row.leaf_data, prunedAt: row.pruned_at?.toISOString() ?? null }));
      return reply
        .type('application/x-ndjson; charset=utf-8')
        .header('content-disposition', `attachment; filename="ausculta-audit-${new Date(services.now()).toISOString().slice(0, 10)}.ndjson"`)
        .send(lines.join('\n') + (lines.length > 0 ? '\n' : ''));
    });
  });

  app.register(async (scope) => {
    scope.addHook('preValidation', authenticate(services.sessions, services.config.session.secureCookies, { requireSecondFactor: true }));

    /** Incidents about members of the officer's organisations, and those tied to no account (an address). */
    async function visibleIncidents(request: FastifyRequest) {
      const organisations = await officerOrganisations(request);
      const members = db.selectFrom('member_roles').select('user_id').where('organisation_id', 'in', organisations);
      return db
        .selectFrom('incidents')
        .selectAll()
        .where((eb) =>
          eb.or([
            eb('actor_user_id', 'in', members),
            eb('patient_id', 'in', members),
            eb.and([eb('actor_user_id', 'is', null), eb('patient_id', 'is', null)]),
          ]),
        );
    }

    scope.get('/api/incidents', { schema: { tags: ['audit'] } }, async (request) => {
      const rows = await (await visibleIncidents(request)).orderBy('opened_at', 'desc').limit(500).execute();
      const ids = rows.map((row) => row.id);
      const notes = ids.length === 0 ? [] : await db.selectFrom('incident_notes').selectAll().where('incident_id', 'in', ids).orderBy('created_at').execute();
      return rows.map((row) => ({
        id: row.id,
        kind: row.kind,
        status: row.status,
        summary: row.summary,
        actorUserId: row.actor_user_id,
        patientId: row.patient_id,
        sourceAddress: row.source_address,
        openedAt: row.opened_at.toISOString(),
        closedAt: row.closed_at?.toISOString() ?? null,
        notes: notes.filter((note) => note.incident_id === row.id).map((note) => ({ action: note.action, text: note.text, authorId: note.author_id, at: note.created_at.toISOString() })),
      }));
    });

    scope.post('/api/incidents/:id/notes', { schema: { tags: ['audit'], params: IncidentParams, body: IncidentNoteBody } }, async (request, reply) => {
      const { id } = request.params as { id: string };
      const { action, text = '' } = request.body as { action: keyof typeof NEXT_STATUS; text?: string };
      const incident = await (await visibleIncidents(request)).where('id', '=', id).executeTakeFirst();
      if (!incident) throw new AppError('not_found');
      const officer = sessionOf(request).userId;
      const at = new Date(services.now());
      await db.transaction().execute(async (tx) => {
        await tx.insertInto('incident_notes').values({ incident_id: id, author_id: officer, action, text, created_at: at }).execute();
        const status = NEXT_STATUS[action];
        if (status) await tx.updateTable('incidents').set({ status, closed_at: status === 'closed' ? at : null }).where('id', '=', id).execute();
        await appendAuditEntry(tx, contextOf(request), { kind: 'security', type: `incident.${action}`, outcome: 'success', actorUserId: officer, detail: { incidentId: id } }, at);
      });
      return reply.code(201).send({ ok: true });
    });
  });

  /**
   * A page of the integrated accesses to the patient's data within the checkpoint of `size`, before leaf
   * `before` if given, newest first — and one more, to tell whether there are older ones.
   */
  function accessesTo(q: Queryable, decision: AllowedDecision<'access_history.read'>, size: number, before: number | undefined) {
    return q
      .selectFrom('audit_entries')
      .select(['leaf_index', 'leaf_data', 'occurred_at', 'type', 'outcome', 'actor_user_id', 'actor_role', 'resource_type', 'purpose', 'reason', 'detail'])
      .where('patient_id', '=', decision.patientId)
      .where('kind', '=', 'access')
      .where('leaf_index', 'is not', null)
      .where('leaf_index', '<', before === undefined ? size : Math.min(size, before))
      .orderBy('leaf_index', 'desc')
      .limit(HISTORY_PAGE + 1)
      .execute();
  }

  const officerOrganisations = (request: FastifyRequest) => organisationsWatchedBy(db, sessionOf(request).userId);

  const applicationOf = (detail: unknown): string | null => {
    const application = (detail as Record<string, unknown> | null)?.['application'];
    return typeof application === 'string' ? application : null;
  };

  const applicationEntry = (clientId: string | null, names: Map<string, string>) => (clientId ? { clientId, name: names.get(clientId) ?? null } : null);

  async function applicationNamesOf(q: Queryable, clientIds: Array<string | null>): Promise<Map<string, string>> {
    const unique = [...new Set(clientIds.filter((id): id is string => id !== null))];
    if (unique.length === 0) return new Map();
    const clients = await q.selectFrom('oauth_clients').select(['client_id', 'name']).where('client_id', 'in', unique).execute();
    return new Map(clients.map((client) => [client.client_id, client.name]));
  }

  async function namesOf(q: Queryable, ids: Array<string | null>): Promise<Map<string, string>> {
    const unique = [...new Set(ids.filter((id): id is string => id !== null))];
    if (unique.length === 0) return new Map();
    const users = await q.selectFrom('users').select(['id', 'display_name']).where('id', 'in', unique).execute();
    return new Map(users.map((user) => [user.id, user.display_name]));
  }
}
