// Cross-origin access (src/oauth/cors.ts): the FHIR API, the discovery documents and the token endpoints
// answer any origin, never with credentials; the app's own API and the consent page answer none.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { careSetting, type CareSetting } from '../support/consultations.js';
import { startTestServer, type TestServer } from '../support/server.js';

const ORIGIN = 'https://app.example.org';
let server: TestServer;
let setting: CareSetting;

beforeAll(async () => {
  server = await startTestServer();
  setting = await careSetting(server);
});
afterAll(() => server?.close());

const preflight = (path: string, method: string, headers: string) =>
  fetch(`${server.url}${path}`, { method: 'OPTIONS', headers: { origin: ORIGIN, 'access-control-request-method': method, 'access-control-request-headers': headers } });

describe('CORS', () => {
  it('lets a browser app on any origin call the FHIR API and the token endpoints with a bearer token, never with credentials', async () => {
    const allowed = await preflight('/fhir/R4/Observation', 'POST', 'authorization,content-type');
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('*');
    expect(allowed.headers.get('access-control-allow-methods')).toBe('GET, POST');
    expect(allowed.headers.get('access-control-allow-headers')?.toLowerCase()).toBe('authorization, content-type, accept');
    expect(allowed.headers.get('access-control-allow-credentials')).toBeNull();
    expect((await preflight('/oauth/token', 'POST', 'content-type')).headers.get('access-control-allow-origin')).toBe('*');

    for (const path of ['/fhir/R4/metadata', '/fhir/R4/.well-known/smart-configuration', '/.well-known/oauth-authorization-server']) {
      const answer = await fetch(`${server.url}${path}`, { headers: { origin: ORIGIN } });
      expect(answer.status, path).toBe(200);
      expect(answer.headers.get('access-control-allow-origin'), path).toBe('*');
      expect(answer.headers.get('access-control-allow-credentials'), path).toBeNull();
    }
    // Errors too, so that the app can read them; and a FHIR create's Location is readable.
    const refused = await fetch(`${server.url}/oauth/token`, { method: 'POST', headers: { origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=authorization_code&code=nope' });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe('*');
    expect(((await refused.json()) as { error: string }).error).toBe('invalid_client'); // refused for who it is, not for coming from elsewhere
    const unauthenticated = await fetch(`${server.url}/fhir/R4/Patient`, { headers: { origin: ORIGIN, authorization: 'Bearer nope' } });
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers.get('access-control-allow-origin')).toBe('*');
    expect(unauthenticated.headers.get('access-control-expose-headers')).toBe('Location, ETag, Content-Location');
  });

  it('keeps the same-origin check for a request carrying the session cookie, even to the FHIR API', async () => {
    const body = JSON.stringify({ resourceType: 'Observation' });
    const fromElsewhere = await setting.patient.client.post('/fhir/R4/Observation', body, { 'content-type': 'application/fhir+json', origin: ORIGIN });
    expect(fromElsewhere.status).toBe(403);
    expect(JSON.stringify(fromElsewhere.body)).toMatch(/Request origin refused|Origine de la requête refusée/);
    // The same request from the app's own origin reaches the route (and its validation).
    const fromHere = await setting.patient.client.post('/fhir/R4/Observation', body, { 'content-type': 'application/fhir+json', origin: server.url });
    expect(fromHere.status).toBe(422);
  });

  it('answers no other origin on the app’s own API and the consent page', async () => {
    for (const path of ['/api/session', '/api/ping', '/oauth/authorize?client_id=x', '/fhir/R4x', '/']) {
      const answer = await fetch(`${server.url}${path}`, { headers: { origin: ORIGIN }, redirect: 'manual' });
      expect(answer.headers.get('access-control-allow-origin'), path).toBeNull();
    }
    for (const path of ['/api/login', '/api/oauth/authorization']) {
      const answer = await preflight(path, 'POST', 'content-type,x-csrf-token');
      expect(answer.headers.get('access-control-allow-origin'), path).toBeNull();
      expect(answer.headers.get('access-control-allow-methods'), path).toBeNull();
    }
  });
});
