// Cross-origin access for other software running in a browser (SMART on FHIR apps: a JavaScript client
// with PKCE and bearer tokens, served from its own origin). Only the endpoints such an app calls answer
// cross-origin — the FHIR API, its discovery documents, the token and revocation endpoints — and never
// with credentials: any origin may send a bearer token it holds (`Access-Control-Allow-Origin: *`), none
// may use the session cookie, which is SameSite=Strict anyway. The app's own routes (/api/…) and the
// consent page (/oauth/authorize, a navigation) stay same-origin only.
import fastifyCors, { type FastifyCorsOptions } from '@fastify/cors';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SESSION_COOKIE } from '../identity/cookies.js';

/** Path prefixes open to cross-origin calls (with the query string cut off). */
const CROSS_ORIGIN_PATHS = ['/fhir/R4/', '/fhir/R4', '/.well-known/oauth-authorization-server', '/oauth/token', '/oauth/revoke'];

export function isCrossOriginPath(url: string): boolean {
  const path = url.split('?', 1)[0]!;
  return CROSS_ORIGIN_PATHS.some((prefix) => (prefix.endsWith('/') ? path.startsWith(prefix) : path === prefix));
}

const SESSION_COOKIE_SENT = new RegExp(`(?:^|;\\s*)${SESSION_COOKIE}=`);

/**
 * A state-changing request that any origin may send: to a cross-origin path, without the session cookie
 * (a bearer token, or the token endpoints' client credentials, are not sent by a browser on its own).
 * One with the session cookie keeps the same-origin check (and the CSRF token the routes ask for).
 */
export function openToAnyOrigin(request: FastifyRequest): boolean {
  return isCrossOriginPath(request.url) && !SESSION_COOKIE_SENT.test(request.headers.cookie ?? '');
}

const OPEN: FastifyCorsOptions = {
  origin: '*',
  credentials: false,
  methods: ['GET', 'POST'],
  allowedHeaders: ['Authorization', 'Content-Type', 'Accept'],
  // A FHIR create answers with where the resource is and its version.
  exposedHeaders: ['Location', 'ETag', 'Content-Location'],
  maxAge: 600,
};

export async function registerCors(app: FastifyInstance): Promise<void> {
  await app.register(fastifyCors, {
    delegator: (request, callback) => callback(null, isCrossOriginPath(request.url) ? OPEN : { origin: false }),
  });
}
