// The live channel of a teleconsultation (docs/signaling.md). Media never touches the server (DESIGN
// invariant 5): browsers exchange SDP and ICE candidates over this WebSocket and then talk peer to peer.
//   GET /api/consultations/:consultationId/signal — the two participants' signaling, presence, call
//     state and the consultation's live events (admitted, ended, chat, document);
//   GET /api/live — the signed-in person's own events (a patient is waiting…).
// Before the upgrade: session with a second factor, same origin (admission.ts), then for a consultation
// its participants only, while it is scheduled or in progress, and an access-gate decision
// `consultation.join` traced in the audit log (invariants 1, 2). Every refusal is a 404 like an unknown id.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type from 'typebox';
import type { WebSocket } from 'ws';
import { decide } from '../access/gate.js';
import { recordSecurityEvent } from '../audit/security-events.js';
import { SESSION_COOKIE } from '../identity/cookies.js';
import { sessionOf } from '../identity/guard.js';
import { AppError } from '../kernel/errors.js';
import { contextOf } from '../kernel/http.js';
import type { Services } from '../services.js';
import { backgroundTracer, refusalDetail, socketGuard } from './admission.js';
import { CallMember, CallRooms } from './call-room.js';
import { revokedSessionsOf, topics } from './hub.js';
import { LiveSocket, LiveSockets, type LiveEnvironment } from './live-socket.js';
import { LiveStreams } from './live.js';
import { findParticipation, type Participation } from './participation.js';
import { SIGNALING_MESSAGES } from './protocol.js';

const ConsultationParams = Type.Object({ consultationId: Type.String({ format: 'uuid' }) });
const OPEN_STATUSES = new Set(['scheduled', 'in_progress']);
/** WebSocket close code for an unexpected server failure (RFC 6455). */
const INTERNAL_ERROR = 1011;

const upgradeOnly = async (): Promise<never> => {
  throw new AppError('upgrade_required', { fr: 'Ouvrez cette adresse en WebSocket.', en: 'Open this address as a WebSocket.' });
};

export function signalingRoutes(app: FastifyInstance, services: Services): void {
  const { config, db, hub } = services;
  const env: LiveEnvironment = {
    sessions: services.sessions,
    now: services.now,
    limits: config.signaling,
    trace: backgroundTracer(db, services.background),
    log: app.log,
  };
  const registry = new LiveSockets(services.now);
  const rooms = new CallRooms(hub);
  const streams = new LiveStreams(hub, env, registry);
  /** The participation admitted by the preHandler, for the upgrade that follows. */
  const admitted = new WeakMap<FastifyRequest, Participation>();
  // Revocations close the sockets of ended sessions at once, whichever process revoked them.
  const stopHints = hub.subscribe(topics.sessions, (event) => {
    const hint = revokedSessionsOf(event);
    if (hint) registry.revoked(hint.revoked);
  });
  app.addHook('onClose', async () => {
    stopHints();
    registry.stop();
  });

  const guardOptions = { sessions: services.sessions, secureCookies: config.session.secureCookies, publicUrl: config.publicUrl, db };

  /** Participant, open consultation, then the gate: one transaction, one trace whatever the answer. */
  async function admit(request: FastifyRequest<{ Params: { consultationId: string } }>): Promise<void> {
    if (!request.ws) return upgradeOnly();
    const session = sessionOf(request);
    const { consultationId } = request.params;
    const context = contextOf(request);
    const participation = await db.transaction().execute(async (tx) => {
      const refuse = async (reason: string) => {
        await recordSecurityEvent(tx, context, { type: 'signaling.refused', outcome: 'denied', actorUserId: session.userId, detail: refusalDetail(request, 'signal', reason) });
        return null;
      };
      const found = await findParticipation(tx, consultationId, session.userId);
      if (!found) return refuse('not_participant');
      if (!OPEN_STATUSES.has(found.consultation.status)) return refuse(`consultation_${found.consultation.status}`);
      const decision = await decide(tx, {
        actor: { userId: session.userId, secondFactorVerified: session.secondFactorAt !== null },
        patientId: found.consultation.patientId,
        action: 'consultation.join',
        purpose: found.purpose,
        resource: { type: 'consultation', id: consultationId },
        context,
        now: new Date(services.now()),
      });
      if (!decision.allowed) return refuse(`access_${decision.reason}`);
      return found;
    });
    if (!participation) throw new AppError('not_found');
    admitted.set(request, participation);
  }

  async function join(ws: WebSocket, request: FastifyRequest): Promise<void> {
    const participation = admitted.get(request);
    admitted.delete(request);
    if (!participation) {
      ws.close(INTERNAL_ERROR, 'not admitted');
      return;
    }
    const consultationId = participation.consultation.id;
    let member: CallMember | null = null;
    const socket = new LiveSocket(
      ws,
      {
        endpoint: 'signal',
        userId: participation.role === 'doctor' ? participation.consultation.doctorId : participation.consultation.patientId,
        sessionId: sessionOf(request).id,
        sessionToken: request.cookies[SESSION_COOKIE] ?? '',
        context: contextOf(request),
        traceDetail: { consultationId },
        accepts: SIGNALING_MESSAGES,
        onMessage: (message, frame) => member?.onClientMessage(message, frame),
        onClose: () => {
          if (!member) return;
          rooms.leave(member);
          member.left();
        },
      },
      env,
      registry,
    );
    member = new CallMember(socket, participation, hub);
    await rooms.enter(member);
    // The status may have changed between the admission and the subscription: read it once more.
    const row = await db.selectFrom('consultations').select('status').where('id', '=', consultationId).executeTakeFirst();
    if (row && member.status === participation.consultation.status) member.status = row.status;
    if (!socket.open) {
      rooms.leave(member);
      return;
    }
    if (!OPEN_STATUSES.has(member.status)) {
      socket.close(1000, `consultation ${member.status}`);
      return;
    }
    member.start();
  }

  app.route<{ Params: { consultationId: string } }>({
    method: 'GET',
    url: '/api/consultations/:consultationId/signal',
    schema: {
      tags: ['consultation'],
      summary: 'Signaling WebSocket of a teleconsultation (docs/signaling.md)',
      description:
        'Upgrade to a WebSocket (JSON text frames). Refused before the upgrade with a problem+json: 401 without a session, 403 without a second factor or from another origin, 404 for anyone but the participants or a closed consultation. Without an upgrade: 426.',
      params: ConsultationParams,
    },
    preValidation: socketGuard({ ...guardOptions, endpoint: 'signal' }),
    preHandler: admit,
    handler: upgradeOnly,
    wsHandler: (ws, request) =>
      join(ws, request).catch((error: unknown) => {
        request.log.error({ err: error }, 'signaling join failed');
        ws.close(INTERNAL_ERROR, 'server error');
      }),
  });

  app.route({
    method: 'GET',
    url: '/api/live',
    schema: {
      tags: ['consultation'],
      summary: 'The signed-in person’s live events as a WebSocket (docs/signaling.md)',
      description: 'Upgrade to a WebSocket carrying identifiers only (e.g. a patient is waiting). 401/403 before the upgrade as for signaling; 426 without an upgrade.',
    },
    preValidation: socketGuard({ ...guardOptions, endpoint: 'live' }),
    handler: upgradeOnly,
    wsHandler: (ws, request) =>
      streams.open(ws, request).catch((error: unknown) => {
        request.log.error({ err: error }, 'live stream failed');
        ws.close(INTERNAL_ERROR, 'server error');
      }),
  });
}

