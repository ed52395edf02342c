// The application, read as a table of contents: HTTP shell, security headers, API description, then
// each capability's routes, then the web app.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import fastifyCookie from '@fastify/cookie';
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { type FastifyInstance } from 'fastify';
import { accessRoutes } from './access/routes.js';
import { invitationRoutes } from './admin/invitations.js';
import { memberRoutes } from './admin/members.js';
import { setupRoutes } from './admin/setup.js';
import { auditRoutes } from './audit/routes.js';
import { consultationRoutes } from './consultation/routes.js';
import { signalingRoutes } from './consultation/signaling.js';
import { accountRoutes } from './identity/routes/account.js';
import { factorRoutes } from './identity/routes/factors.js';
import { loginRoutes } from './identity/routes/login.js';
import { passwordResetRoutes } from './identity/routes/password-reset.js';
import { exportRoutes } from './fhir/export.js';
import { fhirRoutes } from './fhir/routes.js';
import { openToAnyOrigin, registerCors } from './oauth/cors.js';
import { oauthRoutes } from './oauth/routes.js';
import { prescriptionRoutes } from './prescriptions/routes.js';
import { conditionRoutes } from './records/condition-routes.js';
import { observationRoutes } from './records/observation-routes.js';
import { recordRoutes } from './records/routes.js';
import { reportRoutes } from './reports/routes.js';
import { signupRoutes } from './identity/routes/signup.js';
import { installHttpKernel, tooManyRequests } from './kernel/http.js';
import type { Services } from './services.js';

type RouteModule = (app: FastifyInstance, services: Services) => void;

const ROUTE_MODULES: RouteModule[] = [
  setupRoutes,
  signupRoutes,
  loginRoutes,
  accountRoutes,
  factorRoutes,
  passwordResetRoutes,
  invitationRoutes,
  memberRoutes,
  auditRoutes,
  accessRoutes,
  consultationRoutes,
  recordRoutes,
  observationRoutes,
  conditionRoutes,
  prescriptionRoutes,
  reportRoutes,
  fhirRoutes,
  oauthRoutes,
  exportRoutes,
  signalingRoutes,
];

export interface BuildOptions {
  logger?: boolean | { level: string };
}

export async function buildApp(services: Services, options: BuildOptions = {}): Promise<FastifyInstance> {
  const { config } = services;
  const app = Fastify({
    logger: options.logger ?? { level: config.logLevel },
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    genReqId: () => randomUUID(),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  });
  app.decorateRequest('session', null);
  app.decorateRequest('sessionIdleExpiresAt', null);
  installHttpKernel(app, config.publicUrl, openToAnyOrigin);

  await app.register(fastifyCookie);
  // WebSocket upgrades go through the routes' hooks (authentication) before any upgrade; an oversized
  // frame is answered by ws itself with close 1009, which must not be cut short here (docs/signaling.md).
  await app.register(fastifyWebsocket, {
    options: { maxPayload: config.signaling.maxMessageBytes },
    errorHandler(error, socket, request) {
      request.log.warn({ err: error }, 'websocket error');
      if (socket.readyState === socket.OPEN) socket.terminate();
    },
  });
  await registerCors(app);
  await app.register(fastifyRateLimit, {
    global: false,
    errorResponseBuilder: (_request, context) => tooManyRequests(Math.max(1, Math.ceil(context.ttl / 1000))),
  });
  const https = config.publicUrl.startsWith('https:');
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      useDefaults: true,
      directives: { 'upgrade-insecure-requests': https ? [] : null, 'img-src': ["'self'", 'data:'] },
    },
    hsts: https ? { maxAge: 31_536_000, includeSubDomains: true } : false,
  });
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Ausculta API', version: '0.1.0', description: 'Telemedicine platform. Errors are RFC 9457 problem+json.' },
      components: { securitySchemes: { session: { type: 'apiKey', in: 'cookie', name: 'ausculta_session' } } },
    },
  });

  app.get('/healthz', { schema: { tags: ['health'], hide: false } }, async () => {
    await services.db.selectNoFrom((eb) => eb.val(1).as('ok')).execute();
    return { status: 'ok', database: services.databaseKind };
  });
  app.get('/api/ping', { schema: { hide: true } }, async () => ({ pong: true }));

  for (const routes of ROUTE_MODULES) {
    await app.register(async (scope) => routes(scope, services));
  }

  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  if (existsSync(config.webDir)) {
    // Assets have hashed names: cached for a year. index.html is revalidated so a new build shows at once.
    // Vite writes .br/.gz copies beside each file; they are served to browsers that accept them.
    await app.register(fastifyStatic, {
      root: config.webDir,
      wildcard: false,
      index: false,
      preCompressed: true,
      cacheControl: false,
      setHeaders(response, path) {
        response.header('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    });
    // @fastify/static's pre-compressed mode does not find the index of "/": serve it by name.
    app.get('/', { schema: { hide: true } }, (_request, reply) => reply.sendFile('index.html'));
  }
  return app;
}
