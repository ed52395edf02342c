import { readFileSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
const rss = () => Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status','utf8'))![1]) / 1024);
const mu = () => { const m = process.memoryUsage(); return `rss ${rss()} ext ${Math.round(m.external/1048576)} ab ${Math.round(m.arrayBuffers/1048576)}`; };
const dir = process.argv[2]!;
const mode = process.argv[3] ?? 'default';
const defaults = ["--single","-F","-O","-j","-c","search_path=public","-c","exit_on_error=false","-c","log_checkpoints=false","-c","max_worker_processes=0","-c","max_parallel_workers=0","-c","max_parallel_workers_per_gather=0","-c","io_method=sync","-c","max_parallel_maintenance_workers=0"];
const opts: any = {};
if (mode.includes('sb')) opts.startParams = [...defaults, '-c', 'shared_buffers=16MB'];
if (mode.includes('im')) opts.initialMemory = 32 * 1024 * 1024;
console.log('before', mu());
const c = new PGlite(dir, opts);
await c.waitReady;
const r = await c.query<{ setting: string }>("select current_setting('shared_buffers') as setting");
console.log(mode, dir.slice(-12), 'ready', mu(), 'shared_buffers', r.rows[0]!.setting, 'wasm mem MB', Math.round(((c as any).mod?.HEAP8?.buffer?.byteLength ?? 0) / 1048576));
if (typeof (globalThis as any).gc === 'function') { (globalThis as any).gc(); }
await new Promise((r) => setTimeout(r, 1000));
console.log('after gc', mu());
await c.close();
