// databases: pglite
// idle-rss: resident memory (VmRSS of the node process itself) of the server on PGlite, idle, after
// startup, a few requests and a 5 s settle; against a bare `node -e "setInterval(…)"` measured the same
// way at the same time. Goal: < 200 MB.
// Two cases: `idle-rss` is the first start on an empty DATA_DIR (PGlite runs initdb in-process),
// `idle-rss-restart` the same server restarted on the now existing data directory.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { report } from './report.js';
import { send, sleep } from './support/load.js';
import { REPO_ROOT, rssMbOf, startServer, withServer, type ServerChild } from './support/server.js';

const SETTLE_MS = 5_000;
const SAMPLES = 5;
const REQUESTS = ['/api/ping', '/healthz', '/api/setup', '/api/organisations', '/api/openapi.json', '/', '/api/session'];

/** Median VmRSS over SAMPLES readings 200 ms apart, after `SETTLE_MS`. */
async function settledRss(pid: number): Promise<number> {
  await sleep(SETTLE_MS);
  const samples: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    samples.push(rssMbOf(pid));
    await sleep(200);
  }
  return samples.sort((a, b) => a - b)[Math.floor(SAMPLES / 2)]!;
}

function memoryDetail(pid: number): string {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => `${name} ${Math.round(Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024)} MB`;
  return [field('VmHWM'), field('RssAnon'), field('RssFile')].join(', ');
}

/** An idle node process (`node [--import tsx] -e "setInterval(…)"`) measured like the server. */
async function idleNode(withTsx: boolean): Promise<number> {
  const child = spawn(process.execPath, [...(withTsx ? ['--import', 'tsx'] : []), '-e', 'setInterval(() => {}, 1000)'], { cwd: REPO_ROOT, stdio: 'ignore' });
  try {
    if (child.pid === undefined) throw new Error('could not spawn node');
    return await settledRss(child.pid);
  } finally {
    child.kill('SIGTERM');
  }
}

async function exercise(server: ServerChild): Promise<void> {
  const agent = new http.Agent({ keepAlive: true });
  for (const path of REQUESTS) {
    const reply = await send(agent, { port: server.port, path });
    if (reply.status >= 500) throw new Error(`${path} answered ${reply.status}`);
  }
  agent.destroy();
}

const dataDir = await mkdtemp(join(tmpdir(), 'ausculta-bench-rss-'));
try {
  console.log('idle-rss [pglite]: server = node --import tsx src/cli.ts serve, fresh DATA_DIR; baseline started alongside');
  const bareRss = idleNode(false);
  const tsxRss = idleNode(true);
  const first = await startServer({ env: { DATA_DIR: dataDir }, cpuProfileName: 'idle-rss' });
  const firstRss = await withServer(first, null, async (server) => {
    await exercise(server);
    const rss = await settledRss(server.pid);
    console.log(`  first start: ${rss.toFixed(1)} MB (${memoryDetail(server.pid)})`);
    return rss;
  });
  const bare = await bareRss;
  const tsxOnly = await tsxRss;
  console.log(`  bare node: ${bare.toFixed(1)} MB; node --import tsx alone: ${tsxOnly.toFixed(1)} MB (the loader's share of the server figure)`);
  report({
    name: 'idle-rss',
    value: firstRss,
    unit: 'MB',
    baseline: 'bare node idle RSS (MB)',
    baselineValue: bare,
    goal: { on: 'value', op: '<', target: 200 },
    database: 'pglite',
    notes: `first start on an empty DATA_DIR; node --import tsx alone: ${tsxOnly.toFixed(1)} MB`,
  });

  const bareAgain = idleNode(false);
  const second = await startServer({ env: { DATA_DIR: dataDir } });
  const secondRss = await withServer(second, null, async (server) => {
    await exercise(server);
    const rss = await settledRss(server.pid);
    console.log(`  restart: ${rss.toFixed(1)} MB (${memoryDetail(server.pid)})`);
    return rss;
  });
  report({
    name: 'idle-rss-restart',
    value: secondRss,
    unit: 'MB',
    baseline: 'bare node idle RSS (MB)',
    baselineValue: await bareAgain,
    goal: { on: 'value', op: '<', target: 200 },
    database: 'pglite',
    notes: 'restart on the existing DATA_DIR (no initdb)',
  });
} finally {
  await rm(dataDir, { recursive: true, force: true });
}
