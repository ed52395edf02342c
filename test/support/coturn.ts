// A real coturn TURN server on 127.0.0.1 for call tests, with the REST-credentials scheme
// (use-auth-secret) the product uses. Loopback peers are allowed here only: never in production
// (../shared/REFERENCES.md). Debian's coturn package provides /usr/bin/turnserver.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const TURNSERVER = '/usr/bin/turnserver';

export interface Coturn {
  url: string;
  secret: string;
  /** The end of turnserver's log, for a test's failure message. */
  logTail(lines?: number): Promise<string>;
  stop(): Promise<void>;
}

export async function startCoturn(): Promise<Coturn> {
  const dir = await mkdtemp(join(tmpdir(), 'ausculta-coturn-'));
  const secret = randomBytes(24).toString('base64url');
  // A port range per run, away from the usual 3478, so parallel runs do not collide.
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const minPort = port + 1;
  const log = join(dir, 'turn.log');
  const child: ChildProcess = spawn(
    TURNSERVER,
    [
      '-n', '--listening-ip=127.0.0.1', '--relay-ip=127.0.0.1', `--listening-port=${port}`, `--min-port=${minPort}`, `--max-port=${minPort + 40}`,
      '--use-auth-secret', `--static-auth-secret=${secret}`, '--realm=ausculta.test', '--allow-loopback-peers', '--no-cli', '--no-tls', '--no-dtls',
      '--fingerprint', `--log-file=${log}`, '--simple-log', `--pidfile=${join(dir, 'turn.pid')}`, `--userdb=${join(dir, 'turndb')}`,
    ],
    { stdio: 'ignore' },
  );
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`turnserver exited with ${child.exitCode}`);
    const text = existsSync(log) ? await readFile(log, 'utf8').catch(() => '') : '';
    if (/IPv4\. UDP listener opened on\s*:?\s*127\.0\.0\.1:\d+/.test(text) || /listener opened on/i.test(text)) break;
    await new Promise((done) => setTimeout(done, 100));
  }
  return {
    url: `turn:127.0.0.1:${port}?transport=udp`,
    secret,
    async logTail(lines = 40) {
      const text = await readFile(log, 'utf8').catch(() => '');
      return text.split('\n').slice(-lines).join('\n');
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((done) => setTimeout(done, 100));
      if (child.exitCode === null) child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
