// A small HTTP load generator (autocannon is not a dependency): keep-alive connections to 127.0.0.1
// only, every loop bounded in both request count and time.
import http from 'node:http';

export interface Target {
  port: number;
  path: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request; resolves with status, headers and body (the body is kept only if asked for). */
export function send(agent: http.Agent, target: Target, keepBody = false): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...target.headers };
    if (target.body !== undefined) {
      headers['content-type'] ??= 'application/json';
      headers['content-length'] = String(Buffer.byteLength(target.body));
    }
    const request = http.request(
      { agent, host: '127.0.0.1', port: target.port, path: target.path, method: target.method ?? 'GET', headers },
      (response) => {
        let body = '';
        if (keepBody) response.setEncoding('utf8');
        response.on('data', (chunk: string | Buffer) => {
          if (keepBody) body += chunk as string;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
        response.on('error', reject);
      },
    );
    request.setTimeout(30_000, () => request.destroy(new Error(`timeout on ${target.path}`)));
    request.on('error', reject);
    request.end(target.body);
  });
}

export interface ClosedLoopOptions {
  connections: number;
  durationMs: number;
  maxRequests: number;
  /** Requests may differ (e.g. one account per login); `index` counts from 0. */
  target: (index: number) => Target;
  /** Which statuses count as success; others are errors. */
  ok?: (status: number) => boolean;
  /** Stop early after this many errors. */
  maxErrors?: number;
}

export interface ClosedLoopResult {
  requests: number;
  errors: number;
  elapsedMs: number;
  perSecond: number;
  statuses: Record<number, number>;
  firstError?: string;
}

/** `connections` workers, each sending its next request as soon as the previous one is answered. */
export async function closedLoop(options: ClosedLoopOptions): Promise<ClosedLoopResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
  const ok = options.ok ?? ((status: number) => status >= 200 && status < 300);
  const maxErrors = options.maxErrors ?? 20;
  const statuses: Record<number, number> = {};
  let issued = 0;
  let done = 0;
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const deadline = started + options.durationMs;

  async function worker(): Promise<void> {
    while (issued < options.maxRequests && performance.now() < deadline && errors < maxErrors) {
      const index = issued++;
      try {
        const reply = await send(agent, options.target(index), false);
        statuses[reply.status] = (statuses[reply.status] ?? 0) + 1;
        if (ok(reply.status)) done += 1;
        else {
          errors += 1;
          firstError ??= `HTTP ${reply.status} on ${options.target(index).path}`;
        }
      } catch (error) {
        errors += 1;
        firstError ??= String(error);
      }
    }
  }

  await Promise.all(Array.from({ length: options.connections }, () => worker()));
  const elapsedMs = performance.now() - started;
  agent.destroy();
  return { requests: done, errors, elapsedMs, perSecond: (done * 1000) / elapsedMs, statuses, ...(firstError ? { firstError } : {}) };
}

export interface ProbeResult {
  latenciesMs: number[];
  errors: number;
}

/**
 * Open-loop probe: one request every 1000/rate ms on a fixed schedule, whatever the previous ones do,
 * until `durationMs` has passed or `signal` is aborted. Latency is measured from the scheduled time,
 * so a server that stalls cannot hide the stall by slowing the probe down.
 */
export async function probe(options: { port: number; path: string; ratePerSecond: number; durationMs: number; signal?: AbortSignal }): Promise<ProbeResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const interval = 1000 / options.ratePerSecond;
  const maxCount = Math.ceil((options.durationMs / 1000) * options.ratePerSecond);
  const latenciesMs: number[] = [];
  const pending: Array<Promise<void>> = [];
  let errors = 0;
  const started = performance.now();
  for (let i = 0; i < maxCount && !options.signal?.aborted; i++) {
    const scheduled = started + i * interval;
    const wait = scheduled - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    if (options.signal?.aborted) break;
    pending.push(
      send(agent, { port: options.port, path: options.path }).then(
        (reply) => {
          if (reply.status === 200) latenciesMs.push(performance.now() - scheduled);
          else errors += 1;
        },
        () => {
          errors += 1;
        },
      ),
    );
  }
  await Promise.all(pending);
  agent.destroy();
  return { latenciesMs, errors };
}

/** Nearest-rank percentile, p in [0, 1]. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
