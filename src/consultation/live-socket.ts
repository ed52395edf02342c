// One authenticated WebSocket, whatever it carries (a consultation's signaling or a user's live stream):
// the per-connection token bucket, strict parsing, the session kept under watch (expired or revoked →
// close 4401), heartbeats, and the traces of what it refuses (each rate-limited so that a bad client
// cannot flood the audit log). The registry sweeps every socket of the process with one timer.
import type { FastifyBaseLogger } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import type { RequestContext, SecurityEventType } from '../audit/security-events.js';
import type { RevokedSessions, SessionStore } from '../identity/sessions.js';
import { parseClientMessage, type ClientMessage, type ServerMessage } from './protocol.js';

/** Close codes (RFC 6455 §7.4; 4000–4999 are the application's). */
export const CLOSE = {
  normal: 1000,
  policyViolation: 1008,
  tooBig: 1009,
  tryAgainLater: 1013,
  sessionEnded: 4401,
  replaced: 4409,
} as const;

/** The session is looked up again at least this often while the socket is open… */
export const SESSION_RECHECK_EVERY_MS = 60_000;
/**
 * …and on a message, at most this often. Revocations arrive as hints (`sessionRevoked`) at once; this is
 * the fallback when a hint is lost (Redis unreachable). Every lookup costs a query once the store's 5 s
 * cache has lapsed — on PGlite, on the event loop that relays the frames.
 */
export const SESSION_RECHECK_ON_MESSAGE_MS = 30_000;
/** After a revocation hint, the session is looked up at this many sweeps too: the revoking transaction may not have committed at the first look. */
const RECHECKS_AFTER_HINT = 5;
/** Hints are kept this long for sockets still joining when they arrive (admitted just before the revocation). */
const HINTS_KEPT_MS = 10_000;
/** A WebSocket ping this often; a socket that did not answer the previous one is dropped. */
export const HEARTBEAT_EVERY_MS = 30_000;
/** A refused message is traced at most once per connection per this period. */
export const TRACE_INVALID_EVERY_MS = 60_000;
/** A reader this far behind is cut off rather than buffered without end. */
export const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
const SWEEP_EVERY_MS = 1_000;

export type TraceDetail = Record<string, string | number | boolean | null>;

/** Records a security event off the hot path (never throws, never waits). */
export type Tracer = (type: SecurityEventType, outcome: 'denied' | 'failure', actorUserId: string | null, detail: TraceDetail, context: RequestContext) => void;

/** What every socket of a process shares. */
export interface LiveEnvironment {
  sessions: SessionStore;
  /** The server's clock (tests move it): session checks follow it. */
  now: () => number;
  limits: { maxMessageBytes: number; messagesPerSecond: number; messageBurst: number };
  trace: Tracer;
  log: FastifyBaseLogger;
}

export interface LiveSocketOptions {
  endpoint: 'signal' | 'live';
  userId: string;
  sessionId: string;
  sessionToken: string;
  context: RequestContext;
  /** Identifiers for the traces (never content). */
  traceDetail: Record<string, string>;
  accepts: ReadonlySet<ClientMessage['type']>;
  /** `frame`: the text frame as received (valid UTF-8, and exactly `message` once parsed). */
  onMessage(message: ClientMessage, frame: Buffer): void;
  onClose(): void;
}

export class LiveSocket {
  #tokens: number;
  #refilledAt = performance.now();
  #sessionCheckedAt: number;
  #sessionCheck: Promise<void> | null = null;
  #recheckSweeps = 0;
  #invalidTracedAt = -Infinity;
  #alive = true;
  #heartbeatAt = performance.now();
  #closing = false;

  constructor(
    readonly ws: WebSocket,
    readonly options: LiveSocketOptions,
    private readonly env: LiveEnvironment,
    private readonly registry: LiveSockets,
  ) {
    this.#tokens = env.limits.messageBurst;
    // Spread the periodic work: sockets opened together (a reconnect wave after a restart, a benchmark)
    // would otherwise all come due in the same sweep — thousands of session lookups and pings at once,
    // stalling the frames queued behind them.
    this.#sessionCheckedAt = env.now() - Math.random() * SESSION_RECHECK_EVERY_MS * 0.5;
    this.#heartbeatAt = performance.now() - Math.random() * HEARTBEAT_EVERY_MS * 0.5;
    ws.on('message', (data, isBinary) => this.#onFrame(data, isBinary));
    ws.on('pong', () => {
      this.#alive = true;
    });
    // ws already answered an oversized frame with 1009 (maxPayload) or a broken one with 1002.
    ws.on('error', (error: Error & { code?: string }) => {
      this.#closing = true;
      const reason = error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'oversized' : (error.code ?? 'protocol_error');
      this.#trace('signaling.invalid_message', 'failure', { reason });
    });
    ws.on('close', () => {
      this.#closing = true;
      registry.delete(this);
      options.onClose();
    });
    registry.add(this);
  }

  get userId(): string {
    return this.options.userId;
  }

  get open(): boolean {
    return !this.#closing && this.ws.readyState === this.ws.OPEN;
  }

  send(message: ServerMessage | { readonly type: string }): void {
    this.sendText(JSON.stringify(message));
  }

  /** A JSON text frame, as a string or as the UTF-8 bytes of one. */
  sendText(text: string | Buffer): void {
    if (!this.open) return;
    if (this.ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.close(CLOSE.tryAgainLater, 'reader too slow');
      return;
    }
    this.ws.send(text, TEXT_FRAME);
  }

  close(code: number, reason: string): void {
    if (this.#closing) return;
    this.#closing = true;
    this.ws.close(code, reason);
  }

  /** Called by the registry's sweep. */
  tick(now: number, monotonic: number): void {
    if (this.#closing) return;
    if (this.#recheckSweeps > 0) {
      this.#recheckSweeps -= 1;
      void this.checkSession();
    } else if (now - this.#sessionCheckedAt >= SESSION_RECHECK_EVERY_MS) void this.checkSession();
    if (monotonic - this.#heartbeatAt >= HEARTBEAT_EVERY_MS) {
      this.#heartbeatAt = monotonic;
      if (!this.#alive) {
        this.ws.terminate();
        return;
      }
      this.#alive = false;
      this.ws.ping();
    }
  }

  /** A revocation hint for this socket's session: look now, and at the next sweeps. */
  sessionRevoked(): void {
    if (this.#closing) return;
    this.#recheckSweeps = RECHECKS_AFTER_HINT;
    void this.checkSession();
  }

  /** Looks the session up again (an open socket counts as activity); closes with 4401 when it ended. */
  checkSession(): Promise<void> {
    this.#sessionCheckedAt = this.env.now();
    this.#sessionCheck ??= this.env.sessions
      .lookup(this.options.sessionToken)
      .then(
        (lookup) => {
          if (lookup.status === 'valid' && lookup.session.userId === this.options.userId) return;
          this.#trace('signaling.refused', 'denied', { reason: lookup.status === 'valid' ? 'session_changed' : `session_${lookup.status}` });
          this.close(CLOSE.sessionEnded, 'session ended');
        },
        (error: unknown) => this.env.log.warn({ err: error }, 'live socket: session check failed'),
      )
      .finally(() => {
        this.#sessionCheck = null;
      });
    return this.#sessionCheck;
  }

  #onFrame(data: RawData, isBinary: boolean): void {
    if (this.#closing) return;
    if (!this.#takeToken()) {
      this.#trace('signaling.rate_limited', 'denied', { limit: this.env.limits.messagesPerSecond, burst: this.env.limits.messageBurst });
      this.close(CLOSE.policyViolation, 'rate limited');
      return;
    }
    if (this.env.now() - this.#sessionCheckedAt >= SESSION_RECHECK_ON_MESSAGE_MS) void this.checkSession();
    const bytes = bufferOf(data);
    const parsed = isBinary ? ({ ok: false, reason: 'binary' } as const) : parseClientMessage(bytes.toString('utf8'), this.options.accepts);
    if (!parsed.ok) {
      this.send({ type: 'error', code: 'invalid_message' });
      const now = performance.now();
      if (now - this.#invalidTracedAt >= TRACE_INVALID_EVERY_MS) {
        this.#invalidTracedAt = now;
        this.#trace('signaling.invalid_message', 'failure', { reason: parsed.reason });
      }
      return;
    }
    if (parsed.message.type === 'ping') {
      this.send({ type: 'pong' });
      return;
    }
    this.options.onMessage(parsed.message, bytes);
  }

  #takeToken(): boolean {
    const now = performance.now();
    const { messagesPerSecond, messageBurst } = this.env.limits;
    this.#tokens = Math.min(messageBurst, this.#tokens + ((now - this.#refilledAt) * messagesPerSecond) / 1000);
    this.#refilledAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  #trace(type: SecurityEventType, outcome: 'denied' | 'failure', detail: TraceDetail): void {
    this.env.trace(type, outcome, this.options.userId, { endpoint: this.options.endpoint, ...this.options.traceDetail, ...detail }, this.options.context);
  }
}

const TEXT_FRAME = { binary: false } as const;

function bufferOf(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** Every live socket of this process, swept by one timer (session re-checks, heartbeats). */
export class LiveSockets {
  readonly #sockets = new Set<LiveSocket>();
  #recentHints: Array<{ at: number; revoked: RevokedSessions }> = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly now: () => number) {}

  get size(): number {
    return this.#sockets.size;
  }

  add(socket: LiveSocket): void {
    this.#sockets.add(socket);
    const since = performance.now() - HINTS_KEPT_MS;
    this.#recentHints = this.#recentHints.filter((hint) => hint.at >= since);
    if (this.#recentHints.some((hint) => concerns(hint.revoked, socket))) socket.sessionRevoked();
    if (!this.#timer) {
      this.#timer = setInterval(() => this.#sweep(), SWEEP_EVERY_MS);
      this.#timer.unref();
    }
  }

  delete(socket: LiveSocket): void {
    this.#sockets.delete(socket);
    if (this.#sockets.size === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Revocation hints (identity/sessions.ts), from this process or another through the hub. */
  revoked(revoked: RevokedSessions): void {
    this.#recentHints.push({ at: performance.now(), revoked });
    if (this.#recentHints.length > 1_000) this.#recentHints.shift();
    for (const socket of this.#sockets) if (concerns(revoked, socket)) socket.sessionRevoked();
  }

  #sweep(): void {
    const now = this.now();
    const monotonic = performance.now();
    for (const socket of this.#sockets) socket.tick(now, monotonic);
  }
}

function concerns(revoked: RevokedSessions, socket: LiveSocket): boolean {
  const { sessionId, userId } = socket.options;
  return 'sessionId' in revoked ? revoked.sessionId === sessionId : revoked.userId === userId && revoked.keep !== sessionId;
}
