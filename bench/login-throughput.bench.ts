// databases: pglite postgres
// login-throughput: full password logins/s (POST /api/login, distinct accounts, correct passwords)
// against raw Argon2id verifications/s with the same parameters and the same concurrency as the
// server's PasswordHasher (HASH_CONCURRENCY, 1 by default), measured in this process, in rounds that
// alternate with the logins (verify, idle probe, 150 logins; × 3; verify, idle probe). Goal: ratio >= 0.90.
// login-storm-p99-ratio: p99 latency of GET /api/ping probed at 50 req/s during the logins, over the
// same probe with the server idle (between the rounds). Goal: <= 2.
import { hash, verify } from '@node-rs/argon2';
import { ARGON2_OPTIONS } from '../src/identity/passwords.js';
import { PATIENT_IDENTITY, strongPassword } from '../test/support/factories.js';
import { report } from './report.js';
import { closedLoop, percentile, probe } from './support/load.js';
import { DATABASE, prepareDatabase, startServer, withServer } from './support/server.js';

const WARMUP_LOGINS = 16;
/** Measured logins, in rounds alternating with the baseline and the idle probe (the machine is noisy). */
const ROUNDS = 3;
const LOGINS_PER_ROUND = 150;
const LOGIN_CONCURRENCY = 16;
const ROUND_MAX_MS = 20_000;
/** Distinct passwords (and Argon2id hashes) shared round-robin by the accounts: hashing every account’s would cost seconds for nothing, verifying costs the same. */
const DISTINCT_PASSWORDS = 12;
const BASELINE_MS = 1_500;
const BASELINE_MAX = 300;
const PROBE_RATE = 50;
const IDLE_PROBE_MS = 2_000;

const passwords = Array.from({ length: DISTINCT_PASSWORDS }, () => strongPassword());
const hashes = new Map(await Promise.all(passwords.map(async (password) => [password, await hash(password, ARGON2_OPTIONS)] as const)));
const accounts = Array.from({ length: WARMUP_LOGINS + ROUNDS * LOGINS_PER_ROUND }, (_, i) => ({ email: `bench-${i}@example.test`, password: passwords[i % DISTINCT_PASSWORDS]! }));

const prepareStarted = performance.now();
// The rows createAccount writes for a patient, inserted in bulk: createAccount itself runs the zxcvbn
// strength check, 15-300 ms of CPU per password (see README), which would take minutes for 466 accounts.
const { database } = await prepareDatabase(DATABASE, async (services) => {
  await services.db.transaction().execute(async (tx) => {
    const organisation = await tx.insertInto('organisations').values({ name: 'Centre de banc d’essai', finess: null }).returning('id').executeTakeFirstOrThrow();
    const users = await tx
      .insertInto('users')
      .values(accounts.map((account) => ({ email: account.email, display_name: 'Patient Banc', password_hash: hashes.get(account.password)!, locale: 'fr', rpps: null, profession: null, password_changed_at: new Date() })))
      .returning('id')
      .execute();
    const { birthName, firstNames, birthDate, sex, birthplaceCode } = PATIENT_IDENTITY;
    await tx
      .insertInto('patient_identities')
      .values(users.map(({ id }) => ({ user_id: id, birth_name: birthName, first_names: firstNames, birth_date: birthDate, sex, birthplace_code: birthplaceCode, ins_nir: null })))
      .execute();
    await tx.insertInto('member_roles').values(users.map(({ id }) => ({ organisation_id: organisation.id, user_id: id, role: 'patient' as const }))).execute();
  });
});
console.log(`login-throughput [${DATABASE}]: ${accounts.length} accounts created in ${((performance.now() - prepareStarted) / 1000).toFixed(1)} s`);
const hashConcurrency = database.config.login.hashConcurrency;
const server = await startServer({ env: database.env, cpuProfileName: `login-throughput-${DATABASE}` });

/** Sequential verifications on `hashConcurrency` lanes, like PasswordHasher with that limit. */
async function rawVerifications(): Promise<{ count: number; ms: number }> {
  const started = performance.now();
  let count = 0;
  const lane = async () => {
    while (count < BASELINE_MAX && performance.now() - started < BASELINE_MS) {
      const index = count++;
      const password = passwords[index % DISTINCT_PASSWORDS]!;
      if (!(await verify(hashes.get(password)!, password))) throw new Error('verify failed');
    }
  };
  await Promise.all(Array.from({ length: hashConcurrency }, lane));
  return { count, ms: performance.now() - started };
}

await withServer(server, database, async ({ port }) => {
  const login = (offset: number) => (index: number) => {
    const account = accounts[offset + index]!;
    return { port, path: '/api/login', method: 'POST' as const, body: JSON.stringify({ email: account.email, password: account.password }) };
  };
  const idleProbe = () => probe({ port, path: '/api/ping', ratePerSecond: PROBE_RATE, durationMs: IDLE_PROBE_MS });

  await verify(hashes.get(passwords[0]!)!, passwords[0]!); // Warm the thread pool.
  const warmup = await closedLoop({ connections: LOGIN_CONCURRENCY, durationMs: ROUND_MAX_MS, maxRequests: WARMUP_LOGINS, target: login(0), maxErrors: 1 });
  if (warmup.errors > 0) throw new Error(`warm-up logins failed: ${warmup.firstError ?? ''} ${JSON.stringify(warmup.statuses)}`);

  console.log(`  ${ROUNDS} rounds of: raw verify ${BASELINE_MS} ms, idle probe ${IDLE_PROBE_MS} ms, ${LOGINS_PER_ROUND} logins (${LOGIN_CONCURRENCY} in flight) with the probe; then a last verify and idle probe`);
  const verifications = { count: 0, ms: 0 };
  const logins = { count: 0, ms: 0, cpu: 0 };
  const idleLatencies: number[] = [];
  const stormLatencies: number[] = [];
  let probeErrors = 0;
  const baselinePhase = async () => {
    const raw = await rawVerifications();
    verifications.count += raw.count;
    verifications.ms += raw.ms;
    const idle = await idleProbe();
    idleLatencies.push(...idle.latenciesMs);
    probeErrors += idle.errors;
    return raw;
  };
  for (let round = 0; round < ROUNDS; round++) {
    const raw = await baselinePhase();
    const cpuBefore = server.cpuSeconds();
    const stop = new AbortController();
    const during = probe({ port, path: '/api/ping', ratePerSecond: PROBE_RATE, durationMs: ROUND_MAX_MS, signal: stop.signal });
    const storm = await closedLoop({ connections: LOGIN_CONCURRENCY, durationMs: ROUND_MAX_MS, maxRequests: LOGINS_PER_ROUND, target: login(WARMUP_LOGINS + round * LOGINS_PER_ROUND), maxErrors: 5 });
    stop.abort();
    const probed = await during;
    const cpu = server.cpuSeconds() - cpuBefore;
    if (storm.errors > 0) throw new Error(`logins failed: ${storm.firstError ?? ''} ${JSON.stringify(storm.statuses)}`);
    logins.count += storm.requests;
    logins.ms += storm.elapsedMs;
    logins.cpu += cpu;
    stormLatencies.push(...probed.latenciesMs);
    probeErrors += probed.errors;
    console.log(`  round ${round + 1}: raw verify ${((raw.count * 1000) / raw.ms).toFixed(1)}/s, logins ${storm.perSecond.toFixed(1)}/s (server CPU ${((cpu * 1000) / storm.requests).toFixed(1)} ms/login), ping p99 during ${percentile(probed.latenciesMs, 0.99).toFixed(1)} ms`);
  }
  await baselinePhase();

  const baseline = (verifications.count * 1000) / verifications.ms;
  report({
    name: 'login-throughput',
    value: (logins.count * 1000) / logins.ms,
    unit: 'logins/s',
    baseline: `raw Argon2id verify/s (concurrency ${hashConcurrency})`,
    baselineValue: baseline,
    goal: { on: 'ratio', op: '>=', target: 0.9 },
    database: DATABASE,
    notes: `${logins.count} logins in ${(logins.ms / 1000).toFixed(1)} s; server CPU ${((logins.cpu * 1000) / logins.count).toFixed(1)} ms/login (Argon2id thread included) vs ${(verifications.ms / verifications.count).toFixed(1)} ms per raw verify`,
  });

  const fmt = (values: number[]) => `p50 ${percentile(values, 0.5).toFixed(2)} p90 ${percentile(values, 0.9).toFixed(2)} p99 ${percentile(values, 0.99).toFixed(2)} max ${Math.max(...values).toFixed(2)} ms (n=${values.length})`;
  report({
    name: 'login-storm-p99-ratio',
    value: percentile(stormLatencies, 0.99),
    unit: 'ms',
    baseline: 'GET /api/ping p99 idle (ms)',
    baselineValue: percentile(idleLatencies, 0.99),
    goal: { on: 'ratio', op: '<=', target: 2 },
    database: DATABASE,
    notes: `/api/ping at ${PROBE_RATE}/s — idle: ${fmt(idleLatencies)}; during the storm: ${fmt(stormLatencies)}; probe errors ${probeErrors}`,
  });
});
