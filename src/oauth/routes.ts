// The OAuth 2.0 / SMART endpoints: discovery, /oauth/authorize (sends the browser to the consent page of
// the web app), the consent API behind that page, /oauth/token, /oauth/revoke; the user's list of
// authorised applications; the administrators' registration of applications for their organisation.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { requireOrganisationRole } from '../admin/guard.js';
import { OrgParams } from '../admin/members.js';
import { authenticate, sessionOf } from '../identity/guard.js';
import { AppError } from '../kernel/errors.js';
import { contextOf, publicLimit } from '../kernel/http.js';
import type { Services } from '../services.js';
import { listApplications, registerApplication, revokeApplication } from './applications.js';
import {
  ACCESS_TOKEN_TTL_S,
  answerAuthorization,
  authenticateClient,
  checkAuthorizationRequest,
  exchangeCode,
  grantsOf,
  introspectToken,
  OAuthError,
  refreshTokens,
  revokeGrant,
  revokeToken,
  type Params,
} from './authorization.js';
import { describeScopes } from './describe.js';

const FORM = 'application/x-www-form-urlencoded';
const ApplicationParams = Type.Object({ orgId: Type.String({ format: 'uuid' }), id: Type.String({ format: 'uuid' }) });
const ApplicationBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' }),
    redirectUris: Type.Array(Type.String({ minLength: 1, maxLength: 500 }), { minItems: 1, maxItems: 5 }),
    confidential: Type.Boolean(),
  },
  { additionalProperties: false },
);
const ConsentBody = Type.Object({ query: Type.String({ maxLength: 8_000 }), decision: Type.Enum(['allow', 'deny']) }, { additionalProperties: false });

/** A query string's parameters; a repeated one is an invalid request (RFC 6749 §3.1). */
function paramsOf(query: string): Params {
  const params: Params = {};
  for (const [name, value] of new URLSearchParams(query)) {
    if (name in params) throw new AppError('oauth_request_invalid', { fr: `Paramètre « ${name} » répété.`, en: `Parameter "${name}" is repeated.` });
    params[name] = value;
  }
  return params;
}

export function oauthRoutes(app: FastifyInstance, services: Services): void {
  const { db, config } = services;
  const issuer = config.publicUrl;
  const fhirBase = `${config.publicUrl}/fhir/R4`;
  const now = () => new Date(services.now());

  const metadata = {
    issuer,
    authorization_endpoint: `${issuer}/oauth/authorize`,
    token_endpoint: `${issuer}/oauth/token`,
    revocation_endpoint: `${issuer}/oauth/revoke`,
    introspection_endpoint: `${issuer}/oauth/introspect`,
    response_types_supported: ['code'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
    revocation_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    scopes_supported: ['patient/*.rs', 'user/*.rs', 'user/*.crs', 'patient/Observation.crs', 'user/Observation.crs', 'launch/patient', 'offline_access'],
    authorization_response_iss_parameter_supported: true,
    service_documentation: `${issuer}/api/docs`,
  };
  // RFC 8414 metadata, and the SMART App Launch discovery document (same endpoints, SMART capabilities).
  app.get('/.well-known/oauth-authorization-server', async (_request, reply) => reply.header('cache-control', 'public, max-age=3600').send(metadata));
  const smart = {
    ...metadata,
    capabilities: ['launch-standalone', 'client-public', 'client-confidential-symmetric', 'context-standalone-patient', 'permission-offline', 'permission-patient', 'permission-user', 'permission-v1', 'permission-v2'],
  };
  app.get('/fhir/R4/.well-known/smart-configuration', async (_request, reply) => reply.header('cache-control', 'public, max-age=3600').send(smart));

  // The browser arrives from the application: the web app's consent page takes over (it signs the user in first if needed).
  app.get('/oauth/authorize', async (request, reply) => {
    const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '';
    return reply.redirect(`/#/autoriser?${query}`, 302);
  });

  // --- The token and revocation endpoints: form bodies, RFC 6749 §5.2 JSON errors, never cached ---
  app.register(async (scope) => {
    scope.addContentTypeParser(FORM, { parseAs: 'string', bodyLimit: 16_384 }, (_request, body, done) => {
      try {
        done(null, paramsOf(body as string));
      } catch (error) {
        done(error as Error, undefined);
      }
    });
    scope.addHook('onSend', async (_request, reply) => {
      void reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    });
    scope.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
      if (error instanceof OAuthError) {
        if (error.status === 401 && request.headers.authorization?.startsWith('Basic ')) void reply.header('www-authenticate', 'Basic realm="ausculta"');
        return reply.code(error.status).send({ error: error.error, error_description: error.description });
      }
      if (error instanceof AppError && error.code === 'too_many_attempts') return reply.code(429).headers(error.headers).send({ error: 'slow_down', error_description: error.message });
      if (error instanceof AppError || (error.statusCode !== undefined && error.statusCode < 500)) {
        return reply.code(400).send({ error: 'invalid_request', error_description: error instanceof AppError && error.detail ? error.detail.en : 'malformed request' });
      }
      request.log.error({ err: error }, 'unhandled error (OAuth)');
      return reply.code(500).send({ error: 'server_error' });
    });
    const formOf = (request: FastifyRequest): Params => {
      if (!request.headers['content-type']?.startsWith(FORM)) throw new OAuthError('invalid_request', `the body must be ${FORM}`);
      return (request.body ?? {}) as Params;
    };
    const limit = { rateLimit: publicLimit('token', config.rateLimitScale) };

    scope.post('/oauth/token', { config: limit }, async (request, reply: FastifyReply) => {
      const form = formOf(request);
      const client = await authenticateClient(db, request.headers.authorization, form);
      const grantType = form['grant_type'];
      if (grantType === 'authorization_code') return reply.send(await exchangeCode(db, contextOf(request), client, form, now()));
      if (grantType === 'refresh_token') return reply.send(await refreshTokens(db, contextOf(request), client, form, now()));
      throw new OAuthError(grantType ? 'unsupported_grant_type' : 'invalid_request', grantType ? `grant_type "${grantType}" is not supported` : 'grant_type is required');
    });

    scope.post('/oauth/revoke', { config: limit }, async (request, reply) => {
      const form = formOf(request);
      const client = await authenticateClient(db, request.headers.authorization, form);
      await revokeToken(db, client, form['token'], now());
      return reply.code(200).send({});
    });

    scope.post('/oauth/introspect', { config: limit }, async (request, reply) => {
      const form = formOf(request);
      const client = await authenticateClient(db, request.headers.authorization, form);
      return reply.send(await introspectToken(db, client, form['token'], now(), issuer, fhirBase));
    });
  });

  // --- The consent page's API and the user's authorised applications (session, second factor) ---
  app.register(async (scope) => {
    scope.addHook('preValidation', authenticate(services.sessions, config.session.secureCookies, { requireSecondFactor: true }));
    const checked = (request: FastifyRequest, query: string) => checkAuthorizationRequest(db, paramsOf(query), { id: sessionOf(request).userId }, issuer, fhirBase);

    scope.get('/api/oauth/authorization', { schema: { tags: ['oauth'] } }, async (request) => {
      const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '';
      const authorization = await checked(request, query);
      return {
        client: { clientId: authorization.client.clientId, name: authorization.client.name, organisation: authorization.client.organisationName },
        redirectUri: authorization.redirectUri,
        scopes: describeScopes(authorization.granted),
        offlineAccess: authorization.granted.offlineAccess,
        accessTokenLifetimeSeconds: ACCESS_TOKEN_TTL_S,
      };
    });

    scope.post('/api/oauth/authorization', { schema: { tags: ['oauth'], body: ConsentBody } }, async (request) => {
      const body = request.body as { query: string; decision: 'allow' | 'deny' };
      const session = sessionOf(request);
      const authorization = await checked(request, body.query);
      const redirect = await answerAuthorization(db, contextOf(request), authorization, { id: session.userId, secondFactorAt: session.secondFactorAt! }, body.decision === 'allow', issuer, now());
      return { redirect };
    });

    scope.get('/api/oauth/grants', { schema: { tags: ['oauth'] } }, async (request) => ({ grants: await grantsOf(db, sessionOf(request).userId, now()) }));

    scope.delete('/api/oauth/grants/:id', { schema: { tags: ['oauth'], params: Type.Object({ id: Type.String({ format: 'uuid' }) }) } }, async (request, reply) => {
      const { id } = request.params as { id: string };
      await revokeGrant(db, contextOf(request), sessionOf(request).userId, id, now());
      return reply.code(204).send();
    });
  });

  // --- Registration of applications by an organisation's administrators ---
  app.register(async (scope) => {
    scope.addHook('preValidation', authenticate(services.sessions, config.session.secureCookies, { requireSecondFactor: true }));
    scope.addHook('preHandler', async (request) => {
      const { orgId } = request.params as { orgId: string };
      await requireOrganisationRole(db, sessionOf(request).userId, orgId, 'org_admin');
    });

    scope.get('/api/admin/organisations/:orgId/applications', { schema: { tags: ['admin'], params: OrgParams } }, async (request) => {
      const { orgId } = request.params as { orgId: string };
      return { applications: await listApplications(db, orgId, now()) };
    });

    scope.post('/api/admin/organisations/:orgId/applications', { schema: { tags: ['admin'], params: OrgParams, body: ApplicationBody } }, async (request, reply) => {
      const { orgId } = request.params as { orgId: string };
      const body = request.body as { name: string; redirectUris: string[]; confidential: boolean };
      const created = await registerApplication(db, contextOf(request), orgId, sessionOf(request).userId, body, now());
      return reply.code(201).send(created);
    });

    scope.delete('/api/admin/organisations/:orgId/applications/:id', { schema: { tags: ['admin'], params: ApplicationParams } }, async (request, reply) => {
      const { orgId, id } = request.params as { orgId: string; id: string };
      await revokeApplication(db, contextOf(request), orgId, sessionOf(request).userId, id, now());
      return reply.code(204).send();
    });
  });
}
