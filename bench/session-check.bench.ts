// databases: pglite postgres
// session-check: what authenticating a request costs. Requests/s of the authenticated GET
// /api/session/ping (cookie → session lookup) against the same server's unauthenticated GET /api/ping,
// same run, same concurrency, alternated (A B B A) after a warm-up. Goal: ratio >= 0.70.
import { Client } from '../test/support/client.js';
import { PATIENT_IDENTITY, strongPassword, uniqueEmail } from '../test/support/factories.js';
import { report } from './report.js';
import { closedLoop, send, type Target } from './support/load.js';
import { DATABASE, prepareDatabase, startServer, withServer } from './support/server.js';
import http from 'node:http';

const CONNECTIONS = 32;
const PHASE_MS = 5_000;
const WARMUP_MS = 1_500;
const MAX_REQUESTS_PER_PHASE = 1_000_000;

const { database, seeded: organisationId } = await prepareDatabase(DATABASE, async (services) => {
  const organisation = await services.db.insertInto('organisations').values({ name: 'Centre de banc d’essai', finess: null }).returning('id').executeTakeFirstOrThrow();
  return organisation.id;
});
const server = await startServer({ env: database.env, cpuProfileName: `session-check-${DATABASE}` });

await withServer(server, database, async ({ port }) => {
  // A patient signs up through the API, as in the tests; its session cookie authenticates the load.
  const client = new Client(`http://127.0.0.1:${port}`);
  const signup = await client.post('/api/signup', { organisationId, email: uniqueEmail('bench'), password: strongPassword(), displayName: 'Jeanne Martin', identity: PATIENT_IDENTITY });
  if (signup.status !== 201) throw new Error(`signup failed: ${JSON.stringify(signup.body)}`);
  const cookie = [...client.cookies].map(([name, value]) => `${name}=${value}`).join('; ');

  const anonymous: Target = { port, path: '/api/ping' };
  const authenticated: Target = { port, path: '/api/session/ping', headers: { cookie } };
  const check = await send(new http.Agent(), authenticated, true);
  if (check.status !== 200) throw new Error(`/api/session/ping answered ${check.status}: ${check.body}`);

  const run = async (target: Target, durationMs: number) => {
    const cpuBefore = server.cpuSeconds();
    const result = await closedLoop({ connections: CONNECTIONS, durationMs, maxRequests: MAX_REQUESTS_PER_PHASE, target: () => target });
    const cpu = server.cpuSeconds() - cpuBefore;
    if (result.errors > 0) throw new Error(`${target.path}: ${result.errors} errors (${result.firstError ?? ''}), statuses ${JSON.stringify(result.statuses)}`);
    console.log(`  ${target.path.padEnd(18)} ${result.perSecond.toFixed(0).padStart(6)} req/s  (${result.requests} in ${(result.elapsedMs / 1000).toFixed(2)} s, server CPU ${((cpu * 1e6) / result.requests).toFixed(0)} µs/req)`);
    return { ...result, cpu };
  };

  console.log(`session-check [${DATABASE}]: ${CONNECTIONS} keep-alive connections, warm-up ${WARMUP_MS} ms each, then A B B A × ${PHASE_MS} ms`);
  await run(anonymous, WARMUP_MS);
  await run(authenticated, WARMUP_MS);

  const totals = { anonymous: { requests: 0, ms: 0, cpu: 0 }, authenticated: { requests: 0, ms: 0, cpu: 0 } };
  for (const which of ['anonymous', 'authenticated', 'authenticated', 'anonymous'] as const) {
    const result = await run(which === 'anonymous' ? anonymous : authenticated, PHASE_MS);
    totals[which].requests += result.requests;
    totals[which].ms += result.elapsedMs;
    totals[which].cpu += result.cpu;
  }
  const rate = (t: { requests: number; ms: number }) => (t.requests * 1000) / t.ms;
  const cpuPerRequest = (t: { requests: number; cpu: number }) => ((t.cpu * 1e6) / t.requests).toFixed(0);
  report({
    name: 'session-check',
    value: rate(totals.authenticated),
    unit: 'req/s',
    baseline: 'GET /api/ping req/s',
    baselineValue: rate(totals.anonymous),
    goal: { on: 'ratio', op: '>=', target: 0.7 },
    database: DATABASE,
    notes: `server CPU per request: /api/session/ping ${cpuPerRequest(totals.authenticated)} µs, /api/ping ${cpuPerRequest(totals.anonymous)} µs`,
  });
});
