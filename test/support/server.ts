// Starts the real server for a test: real HTTP on 127.0.0.1, the database chosen by TEST_DB
// (pglite, the default, or postgres in a schema of its own), a real SMTP server capturing mail, and a
// clock the test can move forward.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { loadConfig } from '../../src/kernel/config.js';
import { buildApp } from '../../src/server.js';
import { createServices, type Services } from '../../src/services.js';
import { startSmtpCapture, type SmtpCapture } from './smtp.js';

export const TEST_DB = process.env['TEST_DB'] === 'postgres' ? 'postgres' : 'pglite';
export const TEST_DATABASE_URL = process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestServer {
  url: string;
  port: number;
  app: FastifyInstance;
  services: Services;
  smtp: SmtpCapture;
  /** The data directory and, on PostgreSQL, the schema: another server can share them (`shareWith`). */
  dataDir: string;
  schema: string | undefined;
  /** Moves the server's clock forward. */
  advanceClock(ms: number): void;
  /** Stops the server's clock (until unfreezeClock), so that timing rules do not depend on machine speed. */
  freezeClock(): void;
  unfreezeClock(): void;
  close(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

export interface TestServerOptions {
  /**
   * A second server process on the same data (one PostgreSQL schema, one DATA_DIR, so one master key and
   * one audit log key), as behind a load balancer. PostgreSQL only: a PGlite in memory belongs to one
   * server. The first server owns the data: it drops them when it closes.
   */
  shareWith?: TestServer;
}

export async function startTestServer(env: Record<string, string> = {}, options: TestServerOptions = {}): Promise<TestServer> {
  const shared = options.shareWith;
  if (shared && !shared.schema) throw new Error('only a server on PostgreSQL can be shared (TEST_DB=postgres)');
  const dataDir = shared ? shared.dataDir : await mkdtemp(join(tmpdir(), 'ausculta-test-'));
  const smtp = await startSmtpCapture();
  const port = await freePort();
  const schema = shared ? shared.schema : TEST_DB === 'postgres' ? `t_${randomBytes(6).toString('hex')}` : undefined;
  const config = loadConfig({
    PORT: String(port),
    DATA_DIR: dataDir,
    PUBLIC_URL: `http://localhost:${port}`,
    SMTP_URL: smtp.url,
    WEB_DIR: resolve('dist/web'),
    LOG_LEVEL: 'warn',
    AUDIT_INTEGRATE_MS: '100',
    // Many accounts come from 127.0.0.1 in a test file; test/api/rate-limit.test.ts sets it back to 1.
    RATE_LIMIT_SCALE: '100',
    ...(TEST_DB === 'postgres' ? { DATABASE_URL: TEST_DATABASE_URL } : {}),
    ...env,
  });
  let offset = 0;
  let frozenAt: number | null = null;
  const services = await createServices(config, {
    now: () => (frozenAt ?? Date.now()) + offset,
    ...(schema ? { schema } : { pgliteDir: 'memory://' }),
  });
  const app = await buildApp(services, { logger: false });
  await app.listen({ port, host: '127.0.0.1' });
  services.audit.integrator.start(config.audit.integrateEveryMs, (error) => console.error('audit integration failed', error));
  return {
    url: `http://localhost:${port}`,
    port,
    app,
    services,
    smtp,
    dataDir,
    schema,
    advanceClock(ms) {
      offset += ms;
    },
    freezeClock() {
      frozenAt = Date.now();
    },
    unfreezeClock() {
      if (frozenAt !== null) offset -= Date.now() - frozenAt;
      frozenAt = null;
    },
    async close() {
      await app.close();
      await services.close();
      await smtp.close();
      if (shared) return;
      if (schema) await dropSchema(schema);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}
