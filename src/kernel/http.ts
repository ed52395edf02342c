// The HTTP shell shared by every capability: problem+json errors (RFC 9457), JSON-only bodies, the
// same-origin check for state-changing requests, and the per-request context (request id, address).
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RequestContext } from '../audit/security-events.js';
import { AppError, languageOf, problemFor, type ErrorCode } from './errors.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function contextOf(request: FastifyRequest): RequestContext {
  return { requestId: request.id, sourceAddress: request.ip };
}

export function sendProblem(request: FastifyRequest, reply: FastifyReply, error: AppError): FastifyReply {
  const problem = problemFor(error, languageOf(request.headers['accept-language']), request.url.split('?')[0]);
  for (const [name, value] of Object.entries(error.headers)) void reply.header(name, value);
  return reply.code(error.status).type('application/problem+json; charset=utf-8').send(problem);
}

interface ValidationIssue {
  instancePath?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** Turns Ajv's report into JSON pointers the client can attach to its fields. */
function validationProblem(error: FastifyError): AppError {
  const issues = (error.validation ?? []) as ValidationIssue[];
  const errors = issues.map((issue) => {
    const missing = issue.params?.['missingProperty'];
    const extra = issue.params?.['additionalProperty'];
    const suffix = typeof missing === 'string' ? `/${missing}` : typeof extra === 'string' ? `/${extra}` : '';
    return { pointer: `${issue.instancePath ?? ''}${suffix}` || '/', message: issue.message ?? 'invalid' };
  });
  const where = error.validationContext ?? 'body';
  return new AppError(
    'validation_failed',
    { fr: `Données invalides (${where}).`, en: `Invalid ${where}.` },
    { extra: { errors } },
  );
}

/** PostgreSQL's unique_violation: a race between two requests lost by this one. */
const UNIQUE_VIOLATION = '23505';
/** Values the database refuses (NUL characters, a broken CHECK, too long): input the schemas let through. */
const REFUSED_VALUE = new Set(['22021', '22P05', '23514', '22001', '22P02', '22007', '22008']);

/** Fastify's and the database's errors that are the client's doing, as the AppError to answer with. */
export function frameworkProblem(error: FastifyError): AppError | null {
  if (error.validation) return validationProblem(error);
  const sqlState = (error as { code?: unknown }).code;
  if (sqlState === UNIQUE_VIOLATION) return new AppError('conflict');
  if (typeof sqlState === 'string' && REFUSED_VALUE.has(sqlState)) return new AppError('validation_failed');
  const byStatus: Partial<Record<number, ErrorCode>> = {
    400: 'malformed_body',
    404: 'not_found',
    405: 'method_not_allowed',
    413: 'body_too_large',
    415: 'unsupported_media_type',
  };
  const code = error.statusCode ? byStatus[error.statusCode] : undefined;
  return code ? new AppError(code) : null;
}

/**
 * Per-address limits of public routes that send mail or create things (applied with
 * `config: { rateLimit: publicLimit('mail', config.rateLimitScale) }`). Login has its own, finer throttle.
 */
const PUBLIC_LIMITS = {
  /** A mail is sent: keep a mailbox from being flooded. */
  mail: { max: 10, timeWindow: 15 * 60_000 },
  /** Creates an account or claims a token. */
  enrolment: { max: 30, timeWindow: 15 * 60_000 },
  /** Cheap but unauthenticated (WebAuthn challenges). */
  challenge: { max: 120, timeWindow: 60_000 },
  /** The OAuth token and revocation endpoints (client credentials, codes). */
  token: { max: 120, timeWindow: 60_000 },
} as const;

export function publicLimit(kind: keyof typeof PUBLIC_LIMITS, scale: number): { max: number; timeWindow: number } {
  return { max: PUBLIC_LIMITS[kind].max * scale, timeWindow: PUBLIC_LIMITS[kind].timeWindow };
}

export function tooManyRequests(retryAfterSeconds: number): AppError {
  return new AppError(
    'too_many_attempts',
    { fr: `Trop de requêtes. Réessayez dans ${retryAfterSeconds} s.`, en: `Too many requests. Try again in ${retryAfterSeconds} s.` },
    { extra: { retryAfterSeconds }, headers: { 'retry-after': String(retryAfterSeconds) } },
  );
}

/**
 * `openToAnyOrigin`: the state-changing requests that any origin may send, because they carry no
 * ambient credential (a bearer token or a client's own credentials: see src/oauth/cors.ts).
 */
export function installHttpKernel(app: FastifyInstance, publicUrl: string, openToAnyOrigin: (request: FastifyRequest) => boolean = () => false): void {
  // Only JSON bodies: a cross-site HTML form cannot send one without a CORS preflight.
  app.removeContentTypeParser('text/plain');

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const known = error instanceof AppError ? error : frameworkProblem(error);
    if (known) return sendProblem(request, reply, known);
    request.log.error({ err: error }, 'unhandled error');
    return sendProblem(request, reply, new AppError('internal'));
  });

  app.setNotFoundHandler((request, reply) => sendProblem(request, reply, new AppError('not_found')));

  // API answers carry sessions, codes and identities: never stored by a browser or proxy cache.
  app.addHook('onSend', async (request, reply) => {
    if (request.url.startsWith('/api/')) void reply.header('cache-control', 'no-store');
  });

  const allowedOrigin = new URL(publicUrl).origin;
  app.addHook('onRequest', async (request) => {
    if (SAFE_METHODS.has(request.method)) return;
    const origin = request.headers.origin;
    if (origin === undefined) return; // Non-browser clients; browsers always send Origin on these requests.
    if (openToAnyOrigin(request)) return;
    const sameHost = `${request.protocol}://${request.headers.host ?? ''}`;
    if (origin !== allowedOrigin && origin !== sameHost) {
      throw new AppError('csrf_failed', { fr: 'Origine de la requête refusée.', en: 'Request origin refused.' });
    }
  });
}
