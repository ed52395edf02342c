// databases: postgres
// timeout-seconds: 600
// The FHIR API at scale (issue 5): 10^5 patients and 10^6 observations (FHIR_BENCH_PATIENTS and
// FHIR_BENCH_OBSERVATIONS override), written in SQL before the server starts. A doctor who is the
// attending doctor of every patient works through the real server (child process, HTTP, session
// cookie with two factors), 8 keep-alive connections; each figure against raw SQL of the same query
// sent by this process on a pool of 8 connections, same concurrency, alternated A B B A.
// - fhir-read: GET /fhir/R4/Observation/<random id> (gate decision + audit entry + read) per second
//   vs the primary-key SELECT of the same row per second. Goal: ratio >= 0.35.
// - fhir-search-p95: GET /fhir/R4/Observation?patient=<random>&date=ge…&date=lt… (a 10-day window,
//   _count=20): p95 latency. Goal: < 50 ms. fhir-search: its rate vs the same two SELECTs (page +
//   count) raw. Goal: ratio >= 0.25.
// - fhir-create: POST /fhir/R4/Observation (validation, gate, audit entry, insert) per second vs a raw
//   single-row INSERT of the same row per second, autocommit. Goal: ratio >= 0.35.
// - fhir-read-in-process, fhir-create-in-process (no goal): the same work as the read and the create
//   routes (owner lookup, gate statement with its entry and the read or the row, the FHIR JSON) called
//   in this process, no HTTP and no server: the most a server could reach with this gate and audit, so
//   that the part of the HTTP layer and the part of the gate's work are told apart.
// - fhir-read-http-floor, fhir-create-http-floor (no goal): the raw SELECT and the raw INSERT themselves
//   behind a bare node:http server (bench/support/bare-http-server.ts), against the same raw baselines:
//   the ceiling of any HTTP API on this machine, which the read and create goals must be read against.
//   fhir-read-traced-floor: that server's read in one statement with the durable INSERT of an audit row,
//   nothing else — the ceiling of a read that keeps DESIGN invariant 2 (trace committed before the data);
//   fhir-read-traced-batched-floor the same with application group commit; fhir-create-traced-floor the
//   raw INSERT in one statement with its audit row.
// - fhir-export: GET /fhir/R4/Patient/<id>/$everything of a patient with 10^4 observations, median of
//   3, against the raw SELECT of the same observations. Goal: < 5 s.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import pg from 'pg';
import { sql } from 'kysely';
import { type Action, type DecisionInput } from '../src/access/gate.js';
import { gatedInsert, gatedSelect } from '../src/access/gated.js';
import { observationResource } from '../src/fhir/observations.js';
import { SESSION_COOKIE } from '../src/identity/cookies.js';
import { openDatabase } from '../src/kernel/db.js';
import { foundObservations, newObservation, observationOwner, observationsRead } from '../src/records/observations.js';
import { hashToken } from '../src/kernel/crypto.js';
import { report } from './report.js';
import { percentile, send, type Target } from './support/load.js';
import { DATABASE, prepareDatabase, startServer, withServer } from './support/server.js';

const PATIENTS = Number(process.env['FHIR_BENCH_PATIENTS'] ?? 100_000);
const OBSERVATIONS = Number(process.env['FHIR_BENCH_OBSERVATIONS'] ?? 1_000_000);
const CONNECTIONS = 8;
// FHIR_BENCH_ONLY=read,search… runs only those figures (to profile one of them with BENCH_CPU_PROF=1).
const ONLY = process.env['FHIR_BENCH_ONLY']?.split(',');
const wanted = (figure: 'read' | 'read-in-process' | 'bearer' | 'search' | 'create' | 'create-in-process' | 'http-floor' | 'export') => ONLY === undefined || ONLY.includes(figure);
const PHASE_MS = 3_000;
const WARMUP_MS = 1_000;
const HOUR = 3600_000;
const EXPORT_RESOURCES = 10_000;
if (DATABASE !== 'postgres') throw new Error('fhir.bench.ts runs on PostgreSQL (TEST_DB=postgres)');

const started = performance.now();
const { database, seeded } = await prepareDatabase(DATABASE, async (services) => {
  const { db } = services;
  const organisation = await db.insertInto('organisations').values({ name: 'Centre de banc d’essai', finess: null }).returning('id').executeTakeFirstOrThrow();
  const doctor = await db.insertInto('users').values({ email: 'doctor@bench.invalid', display_name: 'Dr Banc', password_hash: 'not-a-hash', rpps: '10003456786', profession: 'médecin généraliste' }).returning('id').executeTakeFirstOrThrow();
  await db.insertInto('member_roles').values({ organisation_id: organisation.id, user_id: doctor.id, role: 'doctor' }).execute();
  const now = new Date(services.now());
  await sql`INSERT INTO users (id, email, display_name, password_hash)
    SELECT md5('patient' || i)::uuid, 'p' || i || '@bench.invalid', 'Patient ' || i, 'not-a-hash' FROM generate_series(1, ${PATIENTS}) i`.execute(db);
  await sql`INSERT INTO patient_identities (user_id, birth_name, first_names, birth_date, sex, birthplace_code)
    SELECT md5('patient' || i)::uuid, 'NOM' || i, 'Prénom', date '1940-01-01' + (i % 25000), CASE WHEN i % 2 = 0 THEN 'F' ELSE 'M' END, '75056'
    FROM generate_series(1, ${PATIENTS}) i`.execute(db);
  await sql`INSERT INTO member_roles (organisation_id, user_id, role) SELECT ${organisation.id}::uuid, md5('patient' || i)::uuid, 'patient' FROM generate_series(1, ${PATIENTS}) i`.execute(db);
  await sql`INSERT INTO care_relationships (patient_id, professional_id, organisation_id, kind, starts_at, created_by)
    SELECT md5('patient' || i)::uuid, ${doctor.id}::uuid, ${organisation.id}::uuid, 'attending_doctor', ${new Date(now.getTime() - 365 * 24 * HOUR)}, ${doctor.id}::uuid
    FROM generate_series(1, ${PATIENTS}) i`.execute(db);
  // Observation j: patient (j mod n) + 1, one every 10 hours or so going back, weights 50–99 kg.
  for (let from = 1; from <= OBSERVATIONS; from += 250_000) {
    const to = Math.min(OBSERVATIONS, from + 249_999);
    await sql`INSERT INTO observations (id, patient_id, author_id, kind, code, value, unit, effective_at, recorded_at)
      SELECT md5('observation' || j)::uuid, md5('patient' || (j % ${PATIENTS} + 1))::uuid, ${doctor.id}::uuid, 'weight', '29463-7', 50 + j % 50, 'kg',
        ${now}::timestamptz - (j / ${PATIENTS}) * interval '10 hours' - (j % 600) * interval '1 minute', ${now}::timestamptz
      FROM generate_series(${from}::bigint, ${to}::bigint) j`.execute(db);
  }
  // The export's patient: 10^4 observations of its own.
  await sql`INSERT INTO observations (id, patient_id, author_id, kind, code, value, unit, effective_at, recorded_at)
    SELECT md5('export' || j)::uuid, md5('patient1')::uuid, ${doctor.id}::uuid, 'heart_rate', '8867-4', 50 + j % 50, '/min', ${now}::timestamptz - j * interval '1 hour', ${now}::timestamptz
    FROM generate_series(1, ${EXPORT_RESOURCES}) j`.execute(db);
  await sql`ANALYZE`.execute(db);
  const session = await services.sessions.create(db, { userId: doctor.id, secondFactorPending: false, secondFactorVerified: true, sourceAddress: '127.0.0.1', userAgent: 'bench' });
  return { doctorId: doctor.id, token: session.token, csrf: session.session.csrfToken, now: now.getTime() };
});
console.log(`  data: ${PATIENTS} patients, ${OBSERVATIONS} observations in ${((performance.now() - started) / 1000).toFixed(0)} s`);

const server = await startServer({ env: database.env, cpuProfileName: 'fhir' });
await withServer(server, database, async ({ port }) => {
  const pool = new pg.Pool({ connectionString: database.env['DATABASE_URL'], max: CONNECTIONS });
  const local = await openDatabase({ url: database.env['DATABASE_URL']!, pgliteDir: '', poolSize: CONNECTIONS });
  try {
    let seed = 12345;
    const random = (below: number) => {
      seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
      return seed % below;
    };
    const { rows: ids } = await pool.query<{ id: string }>('SELECT md5($1 || j)::uuid::text AS id FROM generate_series(1, $2::int) j', ['observation', Math.min(OBSERVATIONS, 20000)]);
    const observationId = () => ids[random(ids.length)]!.id;
    const { rows: patientIds } = await pool.query<{ id: string }>('SELECT md5($1 || i)::uuid::text AS id FROM generate_series(1, $2::int) i', ['patient', Math.min(PATIENTS, 20000)]);
    const patientId = () => patientIds[random(patientIds.length)]!.id;
    const headers = { cookie: `${SESSION_COOKIE}=${seeded.token}`, accept: 'application/fhir+json' };
    const window = () => {
      const end = seeded.now - random(40) * 24 * HOUR;
      return { from: new Date(end - 10 * 24 * HOUR), to: new Date(end) };
    };
    const observationBody = (patient: string) =>
      JSON.stringify({
        resourceType: 'Observation',
        status: 'final',
        category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
        code: { coding: [{ system: 'http://loinc.org', code: '29463-7' }] },
        subject: { reference: `Patient/${patient}` },
        effectiveDateTime: new Date(seeded.now - random(1000) * HOUR).toISOString(),
        valueQuantity: { value: 50 + random(50), unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' },
      });

    // Kinds of work: each is one request (HTTP) or the same query (raw), run by 8 workers for a while.
    type Work = () => Promise<void>;
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
    const request = (target: () => Target, expected: number): Work => async () => {
      const reply = await send(agent, target(), true);
      if (reply.status !== expected) throw new Error(`${target().path}: HTTP ${reply.status} ${reply.body.slice(0, 300)}`);
    };
    const fhirRead = request(() => ({ port, path: `/fhir/R4/Observation/${observationId()}`, headers }), 200);
    // The same read by an application holding an OAuth bearer token (user/*.rs of the doctor).
    const bearerToken = `ausculta_at_bench_${randomUUID()}`;
    const clientRow = randomUUID();
    const grantRow = randomUUID();
    await pool.query(`INSERT INTO oauth_clients (id, client_id, organisation_id, name, redirect_uris, created_at) SELECT $1, $2, organisation_id, 'Banc', '["https://bench.invalid/cb"]', now() FROM member_roles WHERE user_id = $3 LIMIT 1`, [clientRow, `bench-${clientRow}`, seeded.doctorId]);
    await pool.query(`INSERT INTO oauth_grants (id, client_id, user_id, scope, second_factor_at, created_at) VALUES ($1, $2, $3, 'user/*.rs', now(), now())`, [grantRow, clientRow, seeded.doctorId]);
    await pool.query(`INSERT INTO oauth_tokens (token_hash, grant_id, kind, scope, created_at, expires_at) VALUES ($1, $2, 'access', 'user/*.rs', now(), now() + interval '1 hour')`, [hashToken(bearerToken), grantRow]);
    const bearerRead = request(() => ({ port, path: `/fhir/R4/Observation/${observationId()}`, headers: { authorization: `Bearer ${bearerToken}`, accept: 'application/fhir+json' } }), 200);
    const rawRead: Work = async () => {
      const { rows } = await pool.query('SELECT id, patient_id, author_id, encounter_id, kind, code, value, value2, unit, effective_at, recorded_at FROM observations WHERE id = $1', [observationId()]);
      if (rows.length !== 1) throw new Error('raw read: not found');
    };
    const fhirSearch = request(() => {
      const { from, to } = window();
      return { port, path: `/fhir/R4/Observation?patient=${patientId()}&date=ge${from.toISOString()}&date=lt${to.toISOString()}&_count=20`.replaceAll('+', '%2B'), headers };
    }, 200);
    const rawSearch: Work = async () => {
      const { from, to } = window();
      const patient = patientId();
      await pool.query('SELECT id, patient_id, author_id, encounter_id, kind, code, value, value2, unit, effective_at, recorded_at FROM observations WHERE patient_id = $1 AND effective_at >= $2 AND effective_at < $3 ORDER BY effective_at DESC, id LIMIT 20 OFFSET 0', [patient, from, to]);
      await pool.query('SELECT count(*) AS n FROM observations WHERE patient_id = $1 AND effective_at >= $2 AND effective_at < $3', [patient, from, to]);
    };
    const fhirCreate = request(() => ({ port, path: '/fhir/R4/Observation', method: 'POST', headers: { ...headers, 'content-type': 'application/fhir+json', 'x-csrf-token': seeded.csrf }, body: observationBody(patientId()) }), 201);
    const rawCreate: Work = async () => {
      await pool.query(
        'INSERT INTO observations (id, patient_id, author_id, encounter_id, kind, code, value, value2, unit, effective_at, recorded_at) VALUES ($1, $2, $3, NULL, $4, $5, $6, NULL, $7, $8, $9)',
        [randomUUID(), patientId(), seeded.doctorId, 'weight', '29463-7', String(50 + random(50)), 'kg', new Date(seeded.now - random(1000) * HOUR), new Date()],
      );
    };

    // The routes' work called here (see fhir-read-in-process above): the decision and its entry as the server writes them.
    const asDoctor = <A extends Action>(patient: string, action: A, resource: { type: string; id: string }, change?: string): DecisionInput<A> => ({
      actor: { userId: seeded.doctorId, secondFactorVerified: true },
      patientId: patient,
      action,
      purpose: 'care',
      context: { requestId: randomUUID(), sourceAddress: '127.0.0.1' },
      now: new Date(),
      resource,
      detail: change ? { via: 'fhir', change } : { via: 'fhir' },
    });
    const readInProcess: Work = async () => {
      const id = observationId();
      const patient = await observationOwner(local.db, id);
      if (!patient) throw new Error('read in process: no owner');
      const read = await gatedSelect(local.db, asDoctor(patient, 'record.read', { type: 'Observation', id }), observationsRead(local.db, patient, { id }));
      const { rows } = await foundObservations(local.db, read.decision, { id }, read.rows);
      if (rows.length !== 1) throw new Error('read in process: not found');
      JSON.stringify(observationResource(rows[0]!));
    };
    const createInProcess: Work = async () => {
      const patient = patientId();
      const input = asDoctor(patient, 'record.write', { type: 'Observation', id: randomUUID() }, 'observation.created');
      const measure = { id: input.resource!.id, kind: 'weight' as const, value: 50 + random(50), effectiveAt: new Date(seeded.now - random(1000) * HOUR) };
      const row = await gatedInsert(local.db, input, newObservation(patient, seeded.doctorId, measure, input.now));
      JSON.stringify(observationResource(row));
    };

    const run = async (work: Work, durationMs: number) => {
      const latencies: number[] = [];
      const deadline = performance.now() + durationMs;
      const begin = performance.now();
      await Promise.all(
        Array.from({ length: CONNECTIONS }, async () => {
          while (performance.now() < deadline) {
            const t = performance.now();
            await work();
            latencies.push(performance.now() - t);
          }
        }),
      );
      return { count: latencies.length, ms: performance.now() - begin, latencies };
    };
    const compare = async (name: string, api: Work, raw: Work, label = 'API', measured = server) => {
      await run(api, WARMUP_MS);
      await run(raw, WARMUP_MS);
      const totals = { api: { count: 0, ms: 0, latencies: [] as number[] }, raw: { count: 0, ms: 0, latencies: [] as number[] } };
      let serverCpu = 0;
      for (const kind of ['api', 'raw', 'raw', 'api'] as const) {
        const cpuBefore = measured.cpuSeconds();
        const result = await run(kind === 'api' ? api : raw, PHASE_MS);
        if (kind === 'api') serverCpu += measured.cpuSeconds() - cpuBefore;
        totals[kind].count += result.count;
        totals[kind].ms += result.ms;
        totals[kind].latencies.push(...result.latencies);
      }
      const rate = (t: { count: number; ms: number }) => (t.count * 1000) / t.ms;
      console.log(`  ${name}: ${label} ${rate(totals.api).toFixed(0)}/s (p50 ${percentile(totals.api.latencies, 0.5).toFixed(1)} ms, p95 ${percentile(totals.api.latencies, 0.95).toFixed(1)} ms, server CPU ${((serverCpu * 1e6) / totals.api.count).toFixed(0)} µs/request), raw ${rate(totals.raw).toFixed(0)}/s`);
      return { apiRate: rate(totals.api), rawRate: rate(totals.raw), p95: percentile(totals.api.latencies, 0.95), rawP95: percentile(totals.raw.latencies, 0.95), count: totals.api.count };
    };

    let sessionReadRate: number | undefined;
    if (wanted('read')) {
      const read = await compare('read', fhirRead, rawRead);
      report({ name: 'fhir-read', value: read.apiRate, unit: 'reads/s', baseline: 'raw primary-key SELECT of the observation/s', baselineValue: read.rawRate, goal: { on: 'ratio', op: '>=', target: 0.35 }, database: DATABASE, notes: `${PATIENTS} patients, ${OBSERVATIONS} observations; 8 connections; gate decision and audit entry per read; p95 ${read.p95.toFixed(1)} ms` });
      sessionReadRate = read.apiRate;
    }
    if (wanted('read-in-process')) {
      const floor = await compare('read in process', readInProcess, rawRead, 'in process');
      report({ name: 'fhir-read-in-process', value: floor.apiRate, unit: 'reads/s', baseline: 'raw primary-key SELECT of the observation/s', baselineValue: floor.rawRate, database: DATABASE, notes: `the read route's work (owner lookup, gate statement with its entry and the read, FHIR JSON) called in the benchmark process: no HTTP, no server; p95 ${floor.p95.toFixed(1)} ms` });
    }
    if (wanted('bearer')) {
      const viaBearer = await compare('read (bearer token)', bearerRead, rawRead);
      report({ name: 'fhir-read-bearer', value: viaBearer.apiRate, unit: 'reads/s', baseline: 'raw primary-key SELECT of the observation/s', baselineValue: viaBearer.rawRate, database: DATABASE, notes: `as fhir-read, by an application with an OAuth access token (token lookup instead of the session cache); session read in the same run: ${sessionReadRate?.toFixed(0) ?? '-'}/s; p95 ${viaBearer.p95.toFixed(1)} ms` });
    }
    if (wanted('search')) {
      const search = await compare('search', fhirSearch, rawSearch);
      report({ name: 'fhir-search-p95', value: search.p95, unit: 'ms', baseline: 'raw SQL p95 (ms)', baselineValue: search.rawP95, goal: { on: 'value', op: '<', target: 50 }, database: DATABASE, notes: `Observation?patient&date=ge&date=lt (10-day window), _count=20; ${search.count} searches` });
      report({ name: 'fhir-search', value: search.apiRate, unit: 'searches/s', baseline: 'same page + count SELECTs raw/s', baselineValue: search.rawRate, goal: { on: 'ratio', op: '>=', target: 0.25 }, database: DATABASE, notes: '8 connections' });
    }
    if (wanted('create')) {
      const create = await compare('create', fhirCreate, rawCreate);
      report({ name: 'fhir-create', value: create.apiRate, unit: 'creates/s', baseline: 'raw single-row INSERT/s (autocommit)', baselineValue: create.rawRate, goal: { on: 'ratio', op: '>=', target: 0.35 }, database: DATABASE, notes: `8 connections; validation, gate decision, audit entry, insert; p95 ${create.p95.toFixed(1)} ms` });
    }
    if (wanted('create-in-process')) {
      const floor = await compare('create in process', createInProcess, rawCreate, 'in process');
      report({ name: 'fhir-create-in-process', value: floor.apiRate, unit: 'creates/s', baseline: 'raw single-row INSERT/s (autocommit)', baselineValue: floor.rawRate, database: DATABASE, notes: `the create route's work (gate statement with its entry and the row, FHIR JSON) called in the benchmark process: no HTTP, no server; p95 ${floor.p95.toFixed(1)} ms` });
    }
    if (wanted('http-floor')) {
      // The same raw statements behind a bare node:http server (bench/support/bare-http-server.ts): what the
      // HTTP exchange alone leaves of the raw rate, before any framework, session, gate or audit entry.
      const bare = await startServer({ env: { DATABASE_URL: database.env['DATABASE_URL']! }, script: 'bench/support/bare-http-server.ts' });
      try {
        const bareRead = request(() => ({ port: bare.port, path: `/read?id=${observationId()}` }), 200);
        const bareCreate = (path: string) =>
          request(() => {
            const row = { id: randomUUID(), patient_id: patientId(), author_id: seeded.doctorId, kind: 'weight', code: '29463-7', value: String(50 + random(50)), unit: 'kg', effective_at: new Date(seeded.now - random(1000) * HOUR) };
            return { port: bare.port, path, method: 'POST', body: JSON.stringify(row) };
          }, 201);
        const tracedRead = request(() => ({ port: bare.port, path: `/read-traced?id=${observationId()}&actor=${seeded.doctorId}` }), 200);
        const traced = await compare('read with an audit row, bare HTTP server', tracedRead, rawRead, 'bare HTTP', bare);
        report({ name: 'fhir-read-traced-floor', value: traced.apiRate, unit: 'reads/s', baseline: 'raw primary-key SELECT of the observation/s', baselineValue: traced.rawRate, database: DATABASE, notes: `the raw SELECT behind a bare node:http server, in one autocommit statement with the INSERT of an audit row (leaf data and hash made by the server; no owner lookup, facts or decision): the most any read holding DESIGN invariant 2 reaches against fhir-read's baseline; p95 ${traced.p95.toFixed(1)} ms` });
        const batchedRead = request(() => ({ port: bare.port, path: `/read-traced-batched?id=${observationId()}&actor=${seeded.doctorId}` }), 200);
        const batched = await compare('reads with their audit rows written together, bare HTTP server', batchedRead, rawRead, 'bare HTTP', bare);
        report({ name: 'fhir-read-traced-batched-floor', value: batched.apiRate, unit: 'reads/s', baseline: 'raw primary-key SELECT of the observation/s', baselineValue: batched.rawRate, database: DATABASE, notes: `as fhir-read-traced-floor, with the reads that arrive while a statement runs written and read by the next one together (application group commit); p95 ${batched.p95.toFixed(1)} ms` });
        const read = await compare('read, bare HTTP server', bareRead, rawRead, 'bare HTTP', bare);
        report({ name: 'fhir-read-http-floor', value: read.apiRate, unit: 'reads/s', baseline: 'raw primary-key SELECT of the observation/s', baselineValue: read.rawRate, database: DATABASE, notes: `the raw SELECT behind a bare node:http server (no framework, session, gate or audit): the most any HTTP API reaches against fhir-read's baseline; p95 ${read.p95.toFixed(1)} ms` });
        const create = await compare('create, bare HTTP server', bareCreate('/create'), rawCreate, 'bare HTTP', bare);
        report({ name: 'fhir-create-http-floor', value: create.apiRate, unit: 'creates/s', baseline: 'raw single-row INSERT/s (autocommit)', baselineValue: create.rawRate, database: DATABASE, notes: `the raw INSERT behind a bare node:http server (no framework, session, gate or audit): the most any HTTP API reaches against fhir-create's baseline; p95 ${create.p95.toFixed(1)} ms` });
        const tracedCreate = await compare('create with its audit row, bare HTTP server', bareCreate('/create-traced'), rawCreate, 'bare HTTP', bare);
        report({ name: 'fhir-create-traced-floor', value: tracedCreate.apiRate, unit: 'creates/s', baseline: 'raw single-row INSERT/s (autocommit)', baselineValue: tracedCreate.rawRate, database: DATABASE, notes: `the raw INSERT behind a bare node:http server, in one autocommit statement with the INSERT of its audit row (no facts or decision): the most any create holding DESIGN invariant 2 reaches against fhir-create's baseline; p95 ${tracedCreate.p95.toFixed(1)} ms` });
      } finally {
        await bare.stop();
      }
    }
    if (wanted('export')) {
      // Export: Patient/$everything of the patient with 10^4 observations, three times (median), against the
      // raw SELECT of its observations.
      const exportPatient = (await pool.query<{ id: string }>("SELECT md5('patient1')::uuid::text AS id")).rows[0]!.id;
      const exports: number[] = [];
      let exported = 0;
      for (let i = 0; i < 3; i++) {
        const t = performance.now();
        const reply = await send(agent, { port, path: `/fhir/R4/Patient/${exportPatient}/$everything`, headers }, true);
        exports.push(performance.now() - t);
        if (reply.status !== 200) throw new Error(`$everything: HTTP ${reply.status} ${reply.body.slice(0, 200)}`);
        exported = (JSON.parse(reply.body) as { total: number }).total;
      }
      const raws: number[] = [];
      for (let i = 0; i < 3; i++) {
        const t = performance.now();
        await pool.query('SELECT id, patient_id, author_id, encounter_id, kind, code, value, value2, unit, effective_at, recorded_at FROM observations WHERE patient_id = $1 ORDER BY effective_at DESC, id', [exportPatient]);
        raws.push(performance.now() - t);
      }
      report({ name: 'fhir-export', value: percentile(exports, 0.5), unit: 'ms', baseline: 'raw SELECT of the same observations (ms)', baselineValue: percentile(raws, 0.5), goal: { on: 'value', op: '<', target: 5000 }, database: DATABASE, notes: `Patient/$everything of a patient with ${exported} resources (median of 3: ${exports.map((ms) => ms.toFixed(0)).join(', ')} ms)` });
    }
    agent.destroy();
  } finally {
    await local.close();
    await pool.end();
  }
});
