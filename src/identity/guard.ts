// Who is calling: the session behind the cookie, checked once per request by a hook that the
// authenticated route scopes install. A route inside such a scope cannot forget to authenticate.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { safeEqual } from '../kernel/crypto.js';
import { AppError } from '../kernel/errors.js';
import { clearSessionCookie, SESSION_COOKIE } from './cookies.js';
import { REAUTHENTICATION_WINDOW_MS, type Session, type SessionStore } from './sessions.js';

declare module 'fastify' {
  interface FastifyRequest {
    session: Session | null;
    sessionIdleExpiresAt: Date | null;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface GuardOptions {
  /** Allow a session still waiting for its second factor (only the login steps use this). */
  allowPendingSecondFactor?: boolean;
  /** Require that a second factor was proven in this session (health data, administration). */
  requireSecondFactor?: boolean;
}

export function authenticate(sessions: SessionStore, secureCookies: boolean, options: GuardOptions = {}) {
  return async function guard(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const token = request.cookies[SESSION_COOKIE];
    if (!token) throw new AppError('unauthenticated');
    const lookup = await sessions.lookup(token);
    if (lookup.status !== 'valid') {
      clearSessionCookie(reply, secureCookies);
      throw new AppError(lookup.status === 'expired' ? 'session_expired' : 'unauthenticated');
    }
    const { session } = lookup;
    if (!SAFE_METHODS.has(request.method)) {
      const sent = request.headers['x-csrf-token'];
      if (typeof sent !== 'string' || !safeEqual(sent, session.csrfToken)) throw new AppError('csrf_failed');
    }
    if (session.secondFactorPending && !options.allowPendingSecondFactor) throw new AppError('second_factor_required');
    if (options.requireSecondFactor && !session.secondFactorAt) throw new AppError('second_factor_enrolment_required');
    request.session = session;
    request.sessionIdleExpiresAt = lookup.idleExpiresAt;
  };
}

/** The session of a request that went through `authenticate`. */
export function sessionOf(request: FastifyRequest): Session {
  if (!request.session) throw new AppError('unauthenticated');
  return request.session;
}

/** Changing e-mail, password or factors needs a recent proof of identity in this session. */
export function requireRecentAuthentication(session: Session, now: number): void {
  if (now - session.reauthenticatedAt.getTime() > REAUTHENTICATION_WINDOW_MS) {
    throw new AppError('reauthentication_required');
  }
}
