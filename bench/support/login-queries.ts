// Diagnostic (not part of npm run bench): what a password login costs the server's main thread when
// Argon2id is taken out, and, on PGlite, which SQL statements that time goes to. In-process, sequential,
// through app.inject, so no network or load generator is involved.
// Usage: node --import tsx bench/support/login-queries.ts [pglite|postgres] [logins=200]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PasswordHasher } from '../../src/identity/passwords.js';
import { buildApp } from '../../src/server.js';
import { prepareDatabase } from './server.js';
import { loadConfig } from '../../src/kernel/config.js';
import { createServices } from '../../src/services.js';

const kind = process.argv[2] === 'postgres' ? 'postgres' : 'pglite';
const logins = Number(process.argv[3] ?? 200);
const WARMUP = 20;

/** Every verification succeeds at once: what remains is the route's own work. */
class NoHasher extends PasswordHasher {
  override verify(): Promise<boolean> {
    return Promise.resolve(true);
  }
}

const emails = Array.from({ length: WARMUP + logins }, (_, i) => `login-cost-${i}@example.test`);
const seed = async (services: Awaited<ReturnType<typeof createServices>>) => {
  await services.db
    .insertInto('users')
    .values(emails.map((email) => ({ email, display_name: 'x', password_hash: 'unused', locale: 'fr' as const, rpps: null, profession: null, password_changed_at: new Date() })))
    .execute();
};

let services: Awaited<ReturnType<typeof createServices>>;
let cleanup: () => Promise<void>;
if (kind === 'postgres') {
  const { database } = await prepareDatabase('postgres', seed);
  services = await createServices(loadConfig({ ...database.env, LOG_LEVEL: 'warn' }));
  cleanup = () => database.cleanup();
} else {
  const dataDir = await mkdtemp(join(tmpdir(), 'ausculta-login-cost-'));
  services = await createServices(loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'warn' }));
  await seed(services);
  cleanup = () => rm(dataDir, { recursive: true, force: true });
}
services.hasher = new NoHasher(1);

const statements = new Map<string, { count: number; ms: number }>();
if (kind === 'pglite') {
  const query = PGlite.prototype.query;
  PGlite.prototype.query = async function timed(this: PGlite, ...args: Parameters<typeof query>) {
    const started = performance.now();
    try {
      return await query.apply(this, args);
    } finally {
      const key = String(args[0]).replace(/\s+/g, ' ').slice(0, 100);
      const entry = statements.get(key) ?? { count: 0, ms: 0 };
      entry.count += 1;
      entry.ms += performance.now() - started;
      statements.set(key, entry);
    }
  } as typeof query;
}

const app = await buildApp(services, { logger: false });
await app.ready();
const login = async (email: string) => {
  const response = await app.inject({ method: 'POST', url: '/api/login', payload: { email, password: 'anything' } });
  if (response.statusCode !== 200) throw new Error(`login answered ${response.statusCode}: ${response.body}`);
};
for (const email of emails.slice(0, WARMUP)) await login(email);
statements.clear();
const started = performance.now();
const cpu = process.cpuUsage();
for (const email of emails.slice(WARMUP)) await login(email);
const used = process.cpuUsage(cpu);
console.log(`${kind}: ${logins} sequential logins without Argon2id: ${((performance.now() - started) / logins).toFixed(2)} ms wall, ${((used.user + used.system) / 1000 / logins).toFixed(2)} ms CPU of this process per login`);
if (statements.size > 0) {
  const rows = [...statements].sort((a, b) => b[1].ms - a[1].ms);
  const total = rows.reduce((sum, [, { ms }]) => sum + ms, 0);
  console.log(`PGlite: ${rows.reduce((sum, [, { count }]) => sum + count, 0) / logins} statements and ${(total / logins).toFixed(2)} ms per login`);
  for (const [sql, { count, ms }] of rows) console.log(`  ${(ms / logins).toFixed(3).padStart(7)} ms/login ×${(count / logins).toFixed(0)}  ${sql}`);
}
await app.close();
await services.close();
await cleanup();
