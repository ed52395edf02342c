// Who calls the FHIR API: a bearer token's holder (an application acting for a user, within its scopes),
// or the web app's session. Either way the access gate then decides for the user, as for any request.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { authenticate, sessionOf } from '../identity/guard.js';
import type { Db } from '../kernel/db.js';
import { AppError } from '../kernel/errors.js';
import type { SessionStore } from '../identity/sessions.js';
import { tokenHolder } from './authorization.js';
import { allowance, type GrantedScopes, type Interaction } from './scopes.js';

export interface FhirCaller {
  userId: string;
  secondFactorVerified: boolean;
  /** The application acting for the user (bearer token), or null for the web app's session. */
  application: { id: string; clientId: string; name: string } | null;
  granted: GrantedScopes | null;
  /** This request's scopes reach the user's own record only (a patient/ scope). */
  selfOnly: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    fhirCaller: FhirCaller | null;
  }
}

const BEARER = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i;
const CHALLENGE = 'Bearer realm="ausculta"';

/** A 401 with its RFC 6750 challenge (the descriptions hold no double quote: they are quoted-strings). */
function bearerError(error: 'invalid_request' | 'invalid_token', fr: string, en: string): AppError {
  return new AppError('unauthenticated', { fr, en }, { headers: { 'www-authenticate': `${CHALLENGE}, error="${error}", error_description="${en}"` } });
}

/** The hook of the FHIR API's authenticated routes: a bearer token if one is sent, else the session. */
export function fhirAuthenticate(db: Db, sessions: SessionStore, secureCookies: boolean, now: () => Date) {
  const sessionGuard = authenticate(sessions, secureCookies);
  return async function guard(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const header = request.headers.authorization;
    // Only the Bearer scheme is a token: another scheme (a proxy's Basic) leaves the session to decide.
    if (header === undefined || !/^bearer(\s|$)/i.test(header)) {
      try {
        await sessionGuard(request, reply);
      } catch (error) {
        // No credentials at all: the challenge tells other software how to authenticate (RFC 6750 §3).
        if (error instanceof AppError && error.status === 401) throw new AppError(error.code, error.detail, { extra: error.extra, headers: { ...error.headers, 'www-authenticate': CHALLENGE } });
        throw error;
      }
      const session = sessionOf(request);
      request.fhirCaller = { userId: session.userId, secondFactorVerified: session.secondFactorAt !== null, application: null, granted: null, selfOnly: false };
      return;
    }
    const match = BEARER.exec(header);
    if (!match) throw bearerError('invalid_request', 'En-tête Authorization invalide : « Bearer <jeton> » attendu.', 'malformed Authorization header: expected Bearer and a token');
    const holder = await tokenHolder(db, match[1]!, now());
    if (!holder) throw bearerError('invalid_token', 'Jeton d’accès inconnu, expiré ou révoqué.', 'the access token is unknown, expired or revoked');
    request.fhirCaller = { userId: holder.userId, secondFactorVerified: true, application: holder.application, granted: holder.granted, selfOnly: false };
  };
}

/** The caller of a request that went through `fhirAuthenticate`. */
export function callerOf(request: FastifyRequest): FhirCaller {
  if (!request.fhirCaller) throw new AppError('unauthenticated');
  return request.fhirCaller;
}

/**
 * Checks an application's scopes against the interaction the route serves (`/fhir/R4/<Type>` and
 * `/fhir/R4/<Type>/:id[/$op]`; an operation reads several types: `*`). The session needs no scope.
 */
export function requireScope(request: FastifyRequest, prefix: string): void {
  const caller = callerOf(request);
  if (!caller.granted) return;
  const segments = (request.routeOptions.url ?? '').slice(prefix.length + 1).split('/');
  // What we serve: GET (read, search) and POST (create). Any other method has no scope (none exists yet).
  const interaction: Interaction | null = request.method === 'POST' ? 'c' : request.method === 'GET' || request.method === 'HEAD' ? (segments.length === 1 ? 's' : 'r') : null;
  // An operation ($everything, $document) returns resources of several types: it needs a * scope.
  const type = segments.some((segment) => segment.startsWith('$')) ? '*' : segments[0]!;
  const allowed = interaction ? allowance(caller.granted, type, interaction) : null;
  if (!allowed) {
    const needed = `${type}.${interaction ?? request.method}`;
    throw new AppError(
      'forbidden',
      { fr: `Les autorisations de l’application ne couvrent pas ${needed}.`, en: `The application's scopes do not cover ${needed}.` },
      { headers: { 'www-authenticate': `Bearer realm="ausculta", error="insufficient_scope", scope="user/${needed}"` } },
    );
  }
  caller.selfOnly = allowed === 'self';
}
