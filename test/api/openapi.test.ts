// The API description matches the API: OpenAPI 3.1, every route served under /api and every route of
// the contract (docs/api-identity.md) is described, nothing described is missing, and the documented
// request schema is the one the server enforces. Plus the health check.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../support/client.js';
import { PATIENT_IDENTITY, setupOrganisation, strongPassword, uniqueEmail } from '../support/factories.js';
import { startTestServer, TEST_DB, type TestServer } from '../support/server.js';

let server: TestServer;
let organisationId: string;
let openapi: any;

/** Served on purpose without a description: an internal probe and the description itself. */
const UNDESCRIBED = new Set(['GET /api/ping', 'GET /api/openapi.json']);
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

beforeAll(async () => {
  server = await startTestServer();
  organisationId = (await setupOrganisation(server)).organisationId;
  const response = await new Client(server.url).get('/api/openapi.json');
  expect(response.status).toBe(200);
  openapi = response.body;
});
afterAll(() => server?.close());

/** `:id` → `{id}`, as OpenAPI writes path parameters. */
const openapiPath = (path: string) => path.replace(/:(\w+)/g, '{$1}');

/** Every route the running app serves, from Fastify's route tree (one "METHOD /path" per route, HEAD left out). */
function servedRoutes(): Set<string> {
  const tree = server.app.printRoutes({ commonPrefix: false });
  const pathAtDepth: string[] = [];
  const routes = new Set<string>();
  for (const line of tree.split('\n')) {
    const match = /^(.*?)(?:├── |└── )(.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    const path = (depth === 0 ? '' : pathAtDepth[depth - 1]!) + match[2]!;
    pathAtDepth[depth] = path;
    pathAtDepth.length = depth + 1;
    for (const method of (match[3] ?? '').split(',').map((m) => m.trim())) {
      if ((METHODS as readonly string[]).includes(method)) routes.add(`${method} ${openapiPath(path.replace(/^\/\//, '/'))}`);
    }
  }
  return routes;
}

function describedRoutes(): Set<string> {
  const routes = new Set<string>();
  for (const [path, item] of Object.entries(openapi.paths as Record<string, Record<string, unknown>>)) {
    for (const method of Object.keys(item)) {
      if ((METHODS as readonly string[]).includes(method.toUpperCase())) routes.add(`${method.toUpperCase()} ${path}`);
    }
  }
  return routes;
}

/** The routes listed in the contract's tables: lines like "| GET /api/session | … |". */
async function contractRoutes(): Promise<Set<string>> {
  const markdown = await readFile(resolve('docs/api-identity.md'), 'utf8');
  const routes = new Set<string>();
  for (const match of markdown.matchAll(/^\| (GET|POST|PUT|PATCH|DELETE) (\/\S+) \|/gm)) routes.add(`${match[1]} ${openapiPath(match[2]!)}`);
  return routes;
}

describe('OpenAPI description', () => {
  it('is OpenAPI 3.1.x served as JSON', async () => {
    const response = await new Client(server.url).get('/api/openapi.json');
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(openapi.openapi).toMatch(/^3\.1\.\d+$/);
    expect(openapi.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    expect(openapi.components?.securitySchemes?.session).toMatchObject({ type: 'apiKey', in: 'cookie', name: 'ausculta_session' });
  });

  it('the route tree parser sees the routes (sanity check of the test itself)', () => {
    const served = servedRoutes();
    for (const route of ['GET /healthz', 'POST /api/signup', 'GET /api/sessions', 'DELETE /api/sessions/{id}', 'PUT /api/admin/organisations/{orgId}/members/{userId}/roles', 'GET /api/invitations/{token}']) {
      expect(served, route).toContain(route);
    }
    expect([...served].filter((route) => route.includes(' /api/')).length).toBeGreaterThanOrEqual(35);
  });

  it('describes every route the app serves under /api', () => {
    const described = describedRoutes();
    const undescribed = [...servedRoutes()].filter((route) => route.includes(' /api/') && !UNDESCRIBED.has(route) && !described.has(route));
    expect(undescribed).toEqual([]);
  });

  it('describes no route the app does not serve', () => {
    const served = servedRoutes();
    expect([...describedRoutes()].filter((route) => !served.has(route))).toEqual([]);
  });

  it('covers every route of the contract in docs/api-identity.md, and the app serves them', async () => {
    const contract = await contractRoutes();
    expect(contract.size).toBeGreaterThanOrEqual(35);
    const described = describedRoutes();
    const served = servedRoutes();
    expect([...contract].filter((route) => !served.has(route))).toEqual([]);
    expect([...contract].filter((route) => !described.has(route) && !UNDESCRIBED.has(route))).toEqual([]);
  });

  it('documents path parameters with their format', () => {
    const parameters = openapi.paths['/api/admin/organisations/{orgId}/members/{userId}/roles'].put.parameters as Array<{ name: string; in: string; required: boolean; schema: { format?: string } }>;
    expect(parameters.map((p) => [p.name, p.in, p.required, p.schema.format]).sort()).toEqual([
      ['orgId', 'path', true, 'uuid'],
      ['userId', 'path', true, 'uuid'],
    ]);
  });
});

describe('the documented /api/signup schema is the enforced one', () => {
  const documented = () => openapi.paths['/api/signup'].post.requestBody.content['application/json'].schema;

  function validBody(): Record<string, any> {
    return { organisationId, email: uniqueEmail('openapi'), password: strongPassword(), displayName: 'Jeanne Martin', identity: { ...PATIENT_IDENTITY } };
  }

  it('lists identity among the required fields and forbids others', () => {
    const schema = documented();
    expect(schema.required).toEqual(expect.arrayContaining(['organisationId', 'email', 'password', 'displayName', 'identity']));
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.identity.required).toEqual(expect.arrayContaining(['birthName', 'firstNames', 'birthDate', 'sex', 'birthplaceCode']));
    expect(schema.properties.identity.additionalProperties).toBe(false);
    expect(schema.properties.organisationId.format).toBe('uuid');
    expect(schema.properties.email.format).toBe('email');
  });

  it('every documented required field, when missing, is the one the server points at', async () => {
    const schema = documented();
    const client = new Client(server.url);
    for (const field of schema.required as string[]) {
      const body = validBody();
      delete body[field];
      const response = await client.post('/api/signup', body);
      expect(response.status, field).toBe(400);
      expect(response.body.errors, field).toEqual([expect.objectContaining({ pointer: `/${field}` })]);
    }
    for (const field of schema.properties.identity.required as string[]) {
      const body = validBody();
      delete body['identity'][field];
      const response = await client.post('/api/signup', body);
      expect(response.status, field).toBe(400);
      expect(response.body.errors, field).toEqual([expect.objectContaining({ pointer: `/identity/${field}` })]);
    }
  });

  it('the documented limits and enumerations are the enforced ones', async () => {
    const schema = documented();
    const client = new Client(server.url);
    const identity = schema.properties.identity.properties;
    const cases: Array<[string, Record<string, any>, string]> = [
      ['undocumented field', { ...validBody(), nickname: 'x' }, '/nickname'],
      ['display name over maxLength', { ...validBody(), displayName: 'x'.repeat(schema.properties.displayName.maxLength + 1) }, '/displayName'],
      ['birth name over maxLength', { ...validBody(), identity: { ...PATIENT_IDENTITY, birthName: 'x'.repeat(identity.birthName.maxLength + 1) } }, '/identity/birthName'],
      ['sex outside the enumeration', { ...validBody(), identity: { ...PATIENT_IDENTITY, sex: 'X' } }, '/identity/sex'],
      ['locale outside the enumeration', { ...validBody(), locale: 'de' }, '/locale'],
      ['birth date not matching the pattern', { ...validBody(), identity: { ...PATIENT_IDENTITY, birthDate: '17/05/1980' } }, '/identity/birthDate'],
    ];
    expect(identity.sex.enum).toEqual(['F', 'M', 'U']);
    expect(schema.properties.locale.enum).toEqual(['fr', 'en']);
    expect(new RegExp(identity.birthDate.pattern).test('17/05/1980')).toBe(false);
    for (const [label, body, pointer] of cases) {
      const response = await client.post('/api/signup', body);
      expect(response.status, label).toBe(400);
      expect(response.body.errors?.[0]?.pointer, label).toBe(pointer);
    }
    // A body that follows the documented schema is accepted.
    const accepted = await client.post('/api/signup', { ...validBody(), locale: 'en' });
    expect(accepted.status).toBe(201);
  });
});

describe('health check', () => {
  it('/healthz answers ok with the database in use', async () => {
    const response = await new Client(server.url).get('/healthz');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: 'ok', database: TEST_DB });
  });
});
