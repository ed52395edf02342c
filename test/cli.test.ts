// The command line, run as a newcomer would: migrate, demo, create-user; then the printed
// credentials open a real session.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/kernel/config.js';
import { buildApp } from '../src/server.js';
import { createServices } from '../src/services.js';
import { Client } from './support/client.js';
import { totpCode } from './support/factories.js';
import { freePort, TEST_DATABASE_URL, TEST_DB } from './support/server.js';

const run = promisify(execFile);
let dataDir: string;
let env: Record<string, string>;
let schema: string | undefined;

function cli(...args: string[]) {
  return run(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { env: { ...process.env, ...env }, timeout: 60_000 });
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'ausculta-cli-'));
  env = { DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
  if (TEST_DB === 'postgres') {
    schema = `cli_${randomBytes(5).toString('hex')}`;
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    await client.query(`CREATE SCHEMA ${schema}`);
    await client.end();
    env['DATABASE_URL'] = `${TEST_DATABASE_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  }
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
  if (schema) {
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    await client.query(`DROP SCHEMA ${schema} CASCADE`);
    await client.end();
  }
});

describe('ausculta CLI', () => {
  it('help lists the commands', async () => {
    const { stdout } = await cli('help');
    for (const command of ['serve', 'migrate', 'create-user', 'demo']) expect(stdout).toContain(command);
  });

  it('migrate applies the migrations', async () => {
    const { stdout } = await cli('migrate');
    expect(stdout).toMatch(/Migrations applied \(database: (pglite|postgres)\)/);
  });

  let demoOutput = '';
  it('demo creates a clearly labelled organisation and prints each account once', async () => {
    demoOutput = (await cli('demo')).stdout;
    expect(demoOutput).toContain('DÉMO');
    expect(demoOutput.match(/password: /g)).toHaveLength(5);
    expect(demoOutput.match(/TOTP secret: [A-Z2-7]{32}/g)).toHaveLength(5);
    await expect(cli('demo')).rejects.toThrow(/already exists/);
  });

  it('create-user refuses an invalid RPPS, then creates a doctor with a generated password', async () => {
    await expect(cli('create-user', '--email', 'dr@example.test', '--name', 'Dr X', '--roles', 'doctor', '--new-organisation', 'Cabinet X', '--rpps', '10003456789')).rejects.toThrow();
    const { stdout } = await cli('create-user', '--email', 'dr@example.test', '--name', 'Dr X', '--roles', 'doctor', '--new-organisation', 'Cabinet X', '--rpps', '10000000132');
    expect(stdout).toMatch(/Password \(shown once/);
  });

  it('the demo doctor logs in with the printed password and TOTP secret', async () => {
    const line = demoOutput.split('\n').find((l) => l.includes('medecin@demo.ausculta.invalid'))!;
    const password = line.match(/password: (\S+)/)![1]!;
    const secret = line.match(/TOTP secret: (\S+)/)![1]!;
    const port = await freePort();
    const services = await createServices(loadConfig({ ...env, PORT: String(port), PUBLIC_URL: `http://localhost:${port}` }));
    const app = await buildApp(services, { logger: false });
    await app.listen({ port, host: '127.0.0.1' });
    try {
      const client = new Client(`http://localhost:${port}`);
      const first = await client.post('/api/login', { email: 'medecin@demo.ausculta.invalid', password });
      expect(first.body.status, JSON.stringify(first.body)).toBe('second_factor_required');
      await client.refreshSession();
      const second = await client.post('/api/login/totp', { code: totpCode(secret, Date.now()) });
      expect(second.status, JSON.stringify(second.body)).toBe(200);
      const session = await client.refreshSession();
      expect(session.body.memberships[0].roles).toEqual(['doctor']);
      expect(session.body.user.rpps).toBe('10003456786');
    } finally {
      await app.close();
      await services.close();
    }
  });
});
