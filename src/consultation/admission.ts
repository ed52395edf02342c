// Who may open a live WebSocket, decided before the HTTP upgrade: a session with a proven second factor
// (the same `authenticate` guard as every route), and a page of our own origin — a browser sends
// cookies with a cross-site WebSocket handshake too (cross-site WebSocket hijacking), so `Origin` must
// be PUBLIC_URL's. A refusal answers the upgrade request with a problem+json (no upgrade) and is traced.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { recordSecurityEvent, type RequestContext, type SecurityEventType } from '../audit/security-events.js';
import { SESSION_COOKIE } from '../identity/cookies.js';
import { authenticate } from '../identity/guard.js';
import type { BackgroundTasks } from '../kernel/background.js';
import type { Db } from '../kernel/db.js';
import { AppError } from '../kernel/errors.js';
import { contextOf } from '../kernel/http.js';
import type { SessionStore } from '../identity/sessions.js';
import type { TraceDetail, Tracer } from './live-socket.js';

/** Refusals of unauthenticated upgrade requests are traced at most once per address and reason per minute. */
const ANONYMOUS_TRACE_EVERY_MS = 60_000;
const ANONYMOUS_TRACE_KEYS = 10_000;

/** Security events written in the background: the socket never waits for the audit log. */
export function backgroundTracer(db: Db, background: BackgroundTasks): Tracer {
  return (type, outcome, actorUserId, detail, context) => {
    background.run(`trace ${type}`, () => recordSecurityEvent(db, context, { type, outcome, actorUserId, detail }));
  };
}

/** Remembers when something was last traced for a key, so that a loop of refusals leaves one entry a minute. */
class TraceLimiter {
  readonly #last = new Map<string, number>();

  allow(key: string, now: number): boolean {
    const last = this.#last.get(key);
    if (last !== undefined && now - last < ANONYMOUS_TRACE_EVERY_MS) return false;
    if (this.#last.size >= ANONYMOUS_TRACE_KEYS) this.#last.clear();
    this.#last.set(key, now);
    return true;
  }
}

export interface SocketGuardOptions {
  endpoint: 'signal' | 'live';
  sessions: SessionStore;
  secureCookies: boolean;
  publicUrl: string;
  db: Db;
}

export function refusalDetail(request: FastifyRequest, endpoint: 'signal' | 'live', reason: string): TraceDetail {
  const consultationId = (request.params as { consultationId?: unknown } | undefined)?.consultationId;
  return { endpoint, reason, ...(typeof consultationId === 'string' ? { consultationId: consultationId.slice(0, 64) } : {}) };
}

/** preValidation hook of the live WebSocket routes. */
export function socketGuard(options: SocketGuardOptions) {
  const guard = authenticate(options.sessions, options.secureCookies, { requireSecondFactor: true });
  const allowedOrigin = new URL(options.publicUrl).origin;
  const limiter = new TraceLimiter();

  async function trace(request: FastifyRequest, type: SecurityEventType, actorUserId: string | null, reason: string): Promise<void> {
    const context: RequestContext = contextOf(request);
    if (actorUserId === null && !limiter.allow(`${reason}|${context.sourceAddress}`, performance.now())) return;
    await recordSecurityEvent(options.db, context, { type, outcome: 'denied', actorUserId, detail: refusalDetail(request, options.endpoint, reason) });
  }

  return async function socketAdmission(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    try {
      await guard(request, reply);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      // A session still waiting for (or never given) a second factor names its user: trace who it was.
      const token = request.cookies[SESSION_COOKIE];
      const lookup = token && error.code.startsWith('second_factor') ? await options.sessions.lookup(token) : null;
      await trace(request, 'signaling.refused', lookup?.status === 'valid' ? lookup.session.userId : null, error.code);
      throw error;
    }
    const session = request.session!;
    if (request.headers.origin !== allowedOrigin) {
      await trace(request, 'signaling.refused', session.userId, 'cross_origin');
      throw new AppError('forbidden', { fr: 'Origine de la connexion refusée.', en: 'Connection origin refused.' });
    }
  };
}
