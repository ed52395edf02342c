// Summarises a V8 .cpuprofile (written by BENCH_CPU_PROF=1): a busy-% timeline, self time per package
// and per function, time attributed to the nearest application frame (src/…), and the longest
// stretches of main-thread work without idle time (what delays every other request).
// Usage: node --import tsx bench/support/profile.ts <file.cpuprofile> [--from S] [--to S] [--top N]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { from: { type: 'string' }, to: { type: 'string' }, top: { type: 'string' } },
});
const file = positionals[0];
if (!file) {
  console.error('usage: profile.ts <file.cpuprofile> [--from seconds] [--to seconds] [--top N]');
  process.exit(2);
}
const top = Number(values.top ?? 25);
const fromMs = Number(values.from ?? 0) * 1000;
const toMs = values.to === undefined ? Infinity : Number(values.to) * 1000;
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parentOf = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);

function packageOf(url: string): string {
  if (!url) return '(native/v8)';
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1]!;
  if (url.startsWith('node:')) return 'node:*';
  const repo = /\/work\/main\/(.*)|file:\/\/.*?\/((?:src|bench|test)\/.*)/.exec(url);
  return repo ? (repo[1] ?? repo[2]!) : url;
}
const label = (node: ProfileNode) => `${node.callFrame.functionName || '(anonymous)'} ${packageOf(node.callFrame.url)}:${node.callFrame.lineNumber + 1}`;

/** The closest frame in the application's own code (src/), else the closest non-library frame. */
function applicationFrame(id: number): string {
  for (let current: number | undefined = id; current !== undefined; current = parentOf.get(current)) {
    const node = byId.get(current)!;
    if (/\/src\//.test(node.callFrame.url) && !node.callFrame.url.includes('node_modules')) return label(node);
  }
  return '(no application frame)';
}

const add = (map: Map<string, number>, key: string, ms: number) => map.set(key, (map.get(key) ?? 0) + ms);
const selfByFunction = new Map<string, number>();
const selfByPackage = new Map<string, number>();
const byApplication = new Map<string, number>();
const timeline: Array<{ busy: number; total: number }> = [];
let idle = 0;
let total = 0;
let stretch = 0;
const stretches: number[] = [];
let clock = 0;
for (let i = 0; i < profile.samples.length; i++) {
  clock += (profile.timeDeltas[i] ?? 0) / 1000;
  const delta = (profile.timeDeltas[i + 1] ?? 0) / 1000; // ms until the next sample
  const second = Math.floor(clock / 1000);
  timeline[second] ??= { busy: 0, total: 0 };
  timeline[second].total += delta;
  const node = byId.get(profile.samples[i]!)!;
  const isIdle = node.callFrame.functionName === '(idle)';
  if (!isIdle) timeline[second].busy += delta;
  if (clock < fromMs || clock > toMs) continue;
  total += delta;
  if (isIdle) {
    idle += delta;
    if (stretch > 0) stretches.push(stretch);
    stretch = 0;
    continue;
  }
  stretch += delta;
  add(selfByFunction, label(node), delta);
  add(selfByPackage, node.callFrame.functionName === '(garbage collector)' ? '(gc)' : packageOf(node.callFrame.url), delta);
  add(byApplication, applicationFrame(node.id), delta);
}
if (stretch > 0) stretches.push(stretch);

const print = (title: string, map: Map<string, number>, n: number) => {
  console.log(`\n${title}`);
  for (const [key, ms] of [...map].sort((a, b) => b[1] - a[1]).slice(0, n)) {
    console.log(`  ${ms.toFixed(0).padStart(7)} ms ${((100 * ms) / total).toFixed(1).padStart(5)}%  ${key}`);
  }
};
console.log(`${file}\nbusy % per second: ${timeline.map((t) => (t ? Math.round((100 * t.busy) / Math.max(t.total, 1)) : 0)).join(' ')}`);
console.log(`window ${fromMs / 1000}–${toMs === Infinity ? 'end' : toMs / 1000} s: ${(total / 1000).toFixed(2)} s, idle ${((100 * idle) / total).toFixed(1)}%`);
print('self time by package', selfByPackage, 15);
print('self time by function', selfByFunction, top);
print('time by nearest application frame (src/)', byApplication, top);
stretches.sort((a, b) => b - a);
console.log(`\nlongest busy stretches (ms): ${stretches.slice(0, 10).map((ms) => ms.toFixed(1)).join(', ')}`);
