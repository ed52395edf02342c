// One place for configuration: read from the environment once, validated, defaults with units, frozen.
import { join, resolve } from 'node:path';

export interface Config {
  readonly port: number;
  readonly host: string;
  /** Behind a reverse proxy, take the client address from X-Forwarded-For. */
  readonly trustProxy: boolean;
  /** Public origin of the web app, used for WebAuthn and links in e-mails. */
  readonly publicUrl: string;
  /** Where PGlite data, the outbox and the master key live when nothing else is configured. */
  readonly dataDir: string;
  /** postgres://… to use PostgreSQL; empty means embedded PGlite under dataDir. */
  readonly databaseUrl: string | null;
  /** smtp(s)://… ; empty means mails are written to dataDir/outbox. */
  readonly smtpUrl: string | null;
  readonly mailFrom: string;
  /** Base64 of 32 bytes; empty means a key file under dataDir is created on first run. */
  readonly masterKey: string | null;
  /**
   * More master keys for envelope encryption (MASTER_KEYS="id:base64,…"), beside the instance key
   * and DATA_DIR/master-keys: retired keys still unwrap, the current one wraps (src/kernel/envelope.ts).
   */
  readonly masterKeys: readonly { readonly id: string; readonly key: string }[];
  /** MASTER_KEY_ID: the key ring's key that wraps new data keys; empty means the last key of the ring. */
  readonly masterKeyId: string | null;
  readonly session: {
    readonly idleTimeoutMs: number;
    readonly absoluteTimeoutMs: number;
    /** Cookies carry `Secure`; browsers accept them on http://localhost too. */
    readonly secureCookies: boolean;
  };
  readonly login: {
    /** Password guesses evaluated per account per rolling hour (all sources together). */
    readonly guessesPerAccountPerHour: number;
    /** Share of that budget kept for devices where the account already logged in. */
    readonly trustedDeviceGuessesPerHour: number;
    readonly guessesPerAddressPerHour: number;
    /** Concurrent Argon2id computations, so a login storm leaves a core for other routes. */
    readonly hashConcurrency: number;
  };
  readonly audit: {
    /** Go note signer key ("PRIVATE+KEY+…"); empty means DATA_DIR/audit-log.key, created on first run. */
    readonly logKey: string | null;
    /** How often appended entries are integrated into the tree and a checkpoint signed. */
    readonly integrateEveryMs: number;
    /** CNIL: 6 months to 1 year, up to 3 years when justified. */
    readonly retentionDays: number;
  };
  readonly consultation: {
    /** A consultation keeps the doctor's access open this long after it ends (follow-up: results, report). */
    readonly followUpDays: number;
    /** How often due reminders are looked for and sent. */
    readonly reminderEveryMs: number;
  };
  readonly calls: {
    /** stun:… URLs handed to browsers. Empty by default: nothing leaves the instance unless configured. */
    readonly stunUrls: readonly string[];
    /** turn:/turns: URLs of a coturn server configured with use-auth-secret. */
    readonly turnUrls: readonly string[];
    /** coturn's static-auth-secret: TURN credentials are derived from it (never sent to browsers). */
    readonly turnSecret: string | null;
    readonly turnCredentialTtlSeconds: number;
    /** 'relay' forces every call through TURN (hides addresses from the other side). */
    readonly iceTransportPolicy: 'all' | 'relay';
  };
  readonly signaling: {
    /** Largest signaling message (an SDP offer is a few KB). */
    readonly maxMessageBytes: number;
    /** Token bucket per connection: sustained rate and burst. */
    readonly messagesPerSecond: number;
    readonly messageBurst: number;
  };
  /** redis://… to fan out live events and signaling between several server processes; empty: one process. */
  readonly redisUrl: string | null;
  /** Prefix of the Redis pub/sub channels, so several deployments (or test runs) can share one Redis. */
  readonly redisChannelPrefix: string;
  readonly documents: {
    readonly maxBytes: number;
    /** Where encrypted document blobs are stored (default DATA_DIR/blobs). */
    readonly blobDir: string;
  };
  readonly passwordResetTtlMs: number;
  readonly invitationTtlMs: number;
  readonly bodyLimitBytes: number;
  /** Multiplies the per-address limits of public routes (tests raise it; 1 in production). */
  readonly rateLimitScale: number;
  readonly logLevel: string;
  readonly webDir: string;
}

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}

function optional(env: Env, name: string): string | null {
  const raw = env[name]?.trim();
  return raw ? raw : null;
}

function databaseUrl(env: Env): string | null {
  const url = optional(env, 'DATABASE_URL');
  if (url && !/^postgres(ql)?:\/\//.test(url)) {
    throw new ConfigError('DATABASE_URL must start with postgres:// or postgresql://');
  }
  return url;
}

function urlList(env: Env, name: string, scheme: RegExp): string[] {
  const urls = (env[name] ?? '').split(',').map((url) => url.trim()).filter((url) => url.length > 0);
  for (const url of urls) if (!scheme.test(url)) throw new ConfigError(`${name}: "${url}" does not start with ${scheme.source}`);
  return urls;
}

function redisUrl(env: Env): string | null {
  const url = optional(env, 'REDIS_URL');
  if (url && !/^rediss?:\/\//.test(url)) throw new ConfigError('REDIS_URL must start with redis:// or rediss://');
  return url;
}

/** MASTER_KEYS: "id:base64,id:base64"; ids are 1–32 letters, digits, '-' or '_'; each key 32 bytes. */
function masterKeys(env: Env): { id: string; key: string }[] {
  const entries = (env['MASTER_KEYS'] ?? '').split(',').map((entry) => entry.trim()).filter((entry) => entry.length > 0);
  return entries.map((entry) => {
    const [id = '', key = '', ...rest] = entry.split(':');
    if (rest.length > 0 || !/^[A-Za-z0-9_-]{1,32}$/.test(id) || Buffer.from(key, 'base64').length !== 32) {
      throw new ConfigError('MASTER_KEYS must be "id:base64,…" with ids of 1 to 32 letters, digits, "-" or "_" and keys of exactly 32 bytes');
    }
    return { id, key };
  });
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export function loadConfig(env: Env = process.env): Config {
  const port = integer(env, 'PORT', 3000, 0, 65_535);
  const host = env['HOST'] || '127.0.0.1';
  const publicUrl = (env['PUBLIC_URL'] || `http://localhost:${port}`).replace(/\/$/, '');
  if (!/^https?:\/\//.test(publicUrl)) throw new ConfigError('PUBLIC_URL must be an http(s) URL');
  const masterKey = optional(env, 'MASTER_KEY');
  if (masterKey && Buffer.from(masterKey, 'base64').length !== 32) {
    throw new ConfigError('MASTER_KEY must be the base64 encoding of exactly 32 bytes');
  }
  const config: Config = {
    port,
    host,
    trustProxy: env['TRUST_PROXY'] === 'true',
    publicUrl,
    dataDir: resolve(env['DATA_DIR'] || './data'),
    databaseUrl: databaseUrl(env),
    smtpUrl: optional(env, 'SMTP_URL'),
    mailFrom: env['MAIL_FROM'] || 'Ausculta <no-reply@localhost>',
    masterKey,
    masterKeys: masterKeys(env),
    masterKeyId: optional(env, 'MASTER_KEY_ID'),
    session: {
      idleTimeoutMs: integer(env, 'SESSION_IDLE_MINUTES', 15, 1, 24 * 60) * MINUTE,
      absoluteTimeoutMs: integer(env, 'SESSION_ABSOLUTE_HOURS', 12, 1, 24 * 30) * HOUR,
      secureCookies: env['COOKIE_SECURE'] !== 'false',
    },
    login: {
      guessesPerAccountPerHour: integer(env, 'LOGIN_GUESSES_PER_ACCOUNT_PER_HOUR', 100, 1, 100),
      trustedDeviceGuessesPerHour: 10,
      guessesPerAddressPerHour: integer(env, 'LOGIN_GUESSES_PER_ADDRESS_PER_HOUR', 300, 1, 100_000),
      hashConcurrency: integer(env, 'HASH_CONCURRENCY', 1, 1, 64),
    },
    audit: {
      logKey: optional(env, 'AUDIT_LOG_KEY'),
      integrateEveryMs: integer(env, 'AUDIT_INTEGRATE_MS', 500, 10, 60_000),
      retentionDays: integer(env, 'AUDIT_RETENTION_DAYS', 365, 180, 3 * 366),
    },
    consultation: {
      followUpDays: integer(env, 'CONSULTATION_FOLLOW_UP_DAYS', 30, 0, 365),
      reminderEveryMs: integer(env, 'REMINDER_EVERY_MS', MINUTE, 100, HOUR),
    },
    calls: {
      stunUrls: urlList(env, 'STUN_URLS', /^stuns?:/),
      turnUrls: urlList(env, 'TURN_URLS', /^turns?:/),
      turnSecret: optional(env, 'TURN_SECRET'),
      turnCredentialTtlSeconds: integer(env, 'TURN_CREDENTIAL_TTL_SECONDS', 3600, 60, 24 * 3600),
      iceTransportPolicy: env['ICE_TRANSPORT_POLICY'] === 'relay' ? 'relay' : 'all',
    },
    signaling: {
      maxMessageBytes: integer(env, 'SIGNALING_MAX_MESSAGE_BYTES', 64 * 1024, 1024, 1024 * 1024),
      messagesPerSecond: integer(env, 'SIGNALING_MESSAGES_PER_SECOND', 50, 1, 10_000),
      messageBurst: integer(env, 'SIGNALING_MESSAGE_BURST', 200, 1, 100_000),
    },
    redisUrl: redisUrl(env),
    redisChannelPrefix: env['REDIS_CHANNEL_PREFIX'] || 'ausculta:',
    documents: {
      maxBytes: integer(env, 'DOCUMENT_MAX_MB', 25, 1, 1024) * 1024 * 1024,
      blobDir: resolve(env['BLOB_DIR'] || join(env['DATA_DIR'] || './data', 'blobs')),
    },
    passwordResetTtlMs: 30 * MINUTE,
    invitationTtlMs: 7 * 24 * HOUR,
    rateLimitScale: integer(env, 'RATE_LIMIT_SCALE', 1, 1, 10_000),
    bodyLimitBytes: 64 * 1024, // 64 KiB: every identity body is small; files get their own routes.
    logLevel: env['LOG_LEVEL'] || 'info',
    webDir: resolve(env['WEB_DIR'] || './dist/web'),
  };
  return deepFreeze(config);
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (child && typeof child === 'object') deepFreeze(child as object);
  }
  return Object.freeze(value);
}
