// The server under test runs in a child process of its own (`node --import tsx src/cli.ts serve`, the
// same entry point as `npm run dev`), so that the load generator does not share its event loop. The
// database is prepared beforehand from this process: PGlite in a temporary DATA_DIR (closed before the
// child opens it: PGlite is single-process), or a throwaway PostgreSQL database created next to the
// tests' one (the server has no setting for a schema; a database of its own needs none).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import http from 'node:http';
import pg from 'pg';
import { loadConfig, type Config } from '../../src/kernel/config.js';
import { createServices, type Services } from '../../src/services.js';
import { freePort } from '../../test/support/server.js';
import { send, sleep } from './load.js';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const DATABASE: 'pglite' | 'postgres' = process.env['TEST_DB'] === 'postgres' ? 'postgres' : 'pglite';
const POSTGRES_URL = process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface PreparedDatabase {
  kind: 'pglite' | 'postgres';
  dataDir: string;
  /** Environment for the child: DATA_DIR and, on PostgreSQL, DATABASE_URL. */
  env: Record<string, string>;
  /** The configuration the child will load (same environment). */
  config: Config;
  cleanup(): Promise<void>;
}

/**
 * A fresh database with migrations applied; `seed` writes what the benchmark needs through the real
 * services, which are closed before this returns.
 */
export async function prepareDatabase<T>(kind: 'pglite' | 'postgres', seed: (services: Services) => Promise<T>): Promise<{ database: PreparedDatabase; seeded: T }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'ausculta-bench-'));
  const env: Record<string, string> = { DATA_DIR: dataDir };
  let dropDatabase: (() => Promise<void>) | undefined;
  if (kind === 'postgres') {
    const name = `ausculta_bench_${randomBytes(6).toString('hex')}`;
    await onPostgres(`CREATE DATABASE ${name}`);
    dropDatabase = () => onPostgres(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    const url = new URL(POSTGRES_URL);
    url.pathname = `/${name}`;
    env['DATABASE_URL'] = url.toString();
  }
  const database: PreparedDatabase = {
    kind,
    dataDir,
    env,
    config: loadConfig({ ...childEnvironment(env), PORT: '0' }),
    async cleanup() {
      await dropDatabase?.();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  try {
    const services = await createServices(loadConfig({ ...env, PORT: '0', LOG_LEVEL: 'warn' }), { poolSize: 4 });
    try {
      return { database, seeded: await seed(services) };
    } finally {
      await services.close();
    }
  } catch (error) {
    await database.cleanup();
    throw error;
  }
}

async function onPostgres(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** The child's environment: ours minus anything that would point it elsewhere, plus the database. */
function childEnvironment(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !['DATABASE_URL', 'DATA_DIR', 'PORT', 'HOST', 'PUBLIC_URL', 'SMTP_URL', 'NODE_OPTIONS'].includes(name)) env[name] = value;
  }
  return { LOG_LEVEL: 'warn', ...env, ...extra };
}

export interface ServerChild {
  pid: number;
  port: number;
  process: ChildProcess;
  /** What the child printed (bounded). */
  output(): string;
  /** User + system CPU seconds the child has used so far. */
  cpuSeconds(): number;
  rssMb(): number;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** DATA_DIR (and DATABASE_URL) of a prepared database; a fresh temporary DATA_DIR otherwise. */
  env: Record<string, string>;
  /** BENCH_CPU_PROF=1 writes V8 CPU profiles of the server into bench/profiles/<name>-<time>/ at exit. */
  cpuProfileName?: string;
  /** Another server to start instead of Ausculta's (a script run by tsx, given PORT and the env). */
  script?: string;
}

export async function startServer(options: StartOptions): Promise<ServerChild> {
  const port = await freePort();
  const nodeArgs = ['--import', 'tsx'];
  if (options.cpuProfileName && process.env['BENCH_CPU_PROF'] === '1') {
    // One directory per run: every thread (main, tsx's loader-hooks worker) writes its own file.
    const directory = join(REPO_ROOT, 'bench', 'profiles', `${options.cpuProfileName}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    nodeArgs.push('--cpu-prof', '--cpu-prof-dir', directory);
    console.log(`  CPU profiles of the server → ${directory}`);
  }
  const child = spawn(process.execPath, [...nodeArgs, ...(options.script ? [options.script] : ['src/cli.ts', 'serve'])], {
    cwd: REPO_ROOT,
    env: childEnvironment({ ...options.env, PORT: String(port), HOST: '127.0.0.1', PUBLIC_URL: `http://127.0.0.1:${port}` }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    if (output.length < 64_000) output += chunk.toString('utf8');
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let alive = true;
  void exited.then(() => {
    alive = false;
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not spawn the server');

  const server: ServerChild = {
    pid,
    port,
    process: child,
    output: () => output,
    cpuSeconds: () => cpuSecondsOf(pid),
    rssMb: () => rssMbOf(pid),
    async stop() {
      if (!alive) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };

  // Up to 60 s for tsx to compile and PGlite to start (its first start runs initdb).
  const agent = new http.Agent({ keepAlive: false });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (!alive) throw new Error(`server exited during startup:\n${output}`);
    try {
      const reply = await send(agent, { port, path: '/api/ping' });
      if (reply.status === 200) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`server not ready after 60 s:\n${output}`);
    }
    await sleep(100);
  }
  agent.destroy();
  return server;
}

const CLOCK_TICKS_PER_SECOND = 100;

/** utime + stime from /proc/<pid>/stat (fields 14 and 15, counted after the command name). */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** VmRSS of a process, in MiB. */
export function rssMbOf(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) / 1024;
}

/** PostgreSQL answers at TEST_DATABASE_URL (bench.sh skips the PostgreSQL runs otherwise). */
export async function postgresAvailable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Stops the child and drops the database even when the benchmark failed half-way. */
export async function withServer<T>(server: ServerChild, database: PreparedDatabase | null, body: (server: ServerChild) => Promise<T>): Promise<T> {
  try {
    return await body(server);
  } catch (error) {
    console.error(`server output:\n${server.output()}`);
    throw error;
  } finally {
    await server.stop();
    await database?.cleanup();
  }
}
