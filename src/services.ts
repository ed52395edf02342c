// The composition root: every long-lived object the routes need, built once from the configuration.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { BackgroundTasks } from './kernel/background.js';
import type { Config } from './kernel/config.js';
import { loadMasterKey, SecretBox } from './kernel/crypto.js';
import { migrate, openDatabase, pgliteDirFor, type Db } from './kernel/db.js';
import { createMailer, type Mailer } from './kernel/mail.js';
import { Envelope, loadKeyRing } from './kernel/envelope.js';
import { BlobStore } from './records/blobs.js';
import { detectIncidents } from './audit/incidents.js';
import { LogIntegrator } from './audit/integrator.js';
import { loadLogKey, logOriginFor, TileCache, type LogKey } from './audit/transparency.js';
import { PasswordHasher } from './identity/passwords.js';
import { prescriptionOrigin } from './prescriptions/signed-code.js';
import { relyingPartyFor, type RelyingParty } from './identity/passkeys.js';
import { SessionStore } from './identity/sessions.js';
import { LoginThrottle } from './identity/throttle.js';
import { createHub, revokedSessionsEvent, revokedSessionsOf, topics, type LiveHub } from './consultation/hub.js';

export interface Services {
  config: Config;
  db: Db;
  databaseKind: 'postgres' | 'pglite';
  sessions: SessionStore;
  throttle: LoginThrottle;
  hasher: PasswordHasher;
  box: SecretBox;
  mailer: Mailer;
  background: BackgroundTasks;
  audit: { integrator: LogIntegrator; key: LogKey; origin: string; tiles: TileCache };
  /** The key that signs prescriptions' 2D codes (src/prescriptions/signed-code.ts). */
  prescriptions: { key: LogKey; origin: string };
  relyingParty: RelyingParty;
  /** Envelope encryption: per-object data keys wrapped by the master key ring (DESIGN invariant 3). */
  envelope: Envelope;
  /** Encrypted document blobs on disk (config.documents.blobDir). */
  blobs: BlobStore;
  /** Live events (signaling, waiting room, in-call chat): in-process, or Redis pub/sub when REDIS_URL is set. */
  hub: LiveHub;
  /** Milliseconds since the epoch; tests move it to cross timeouts. */
  now: () => number;
  close(): Promise<void>;
}

export interface ServiceOverrides {
  now?: () => number;
  mailer?: Mailer;
  /** PostgreSQL schema (tests isolate themselves in one). */
  schema?: string;
  /** PGlite directory override ('memory://' in tests). */
  pgliteDir?: string;
  poolSize?: number;
}

export async function createServices(config: Config, overrides: ServiceOverrides = {}): Promise<Services> {
  const now = overrides.now ?? Date.now;
  const handle = await openDatabase({
    url: config.databaseUrl,
    pgliteDir: overrides.pgliteDir ?? pgliteDirFor(config.dataDir),
    ...(overrides.schema ? { schema: overrides.schema } : {}),
    ...(overrides.poolSize ? { poolSize: overrides.poolSize } : {}),
  });
  await migrate(handle.db, handle.schema);
  const box = new SecretBox(await loadMasterKey(config.masterKey, config.dataDir));
  const envelope = new Envelope(await loadKeyRing(config));
  const blobs = new BlobStore(config.documents.blobDir);
  await blobs.init(now());
  const origin = logOriginFor(config.publicUrl);
  const logKey = await loadLogKey(config.audit.logKey, config.dataDir, origin);
  const integrator = new LogIntegrator(handle.db, logKey, origin, now);
  const prescriptionsOrigin = prescriptionOrigin(config.publicUrl);
  const prescriptionKey = await loadLogKey(null, config.dataDir, prescriptionsOrigin, 'prescription-signing.key');
  integrator.onIntegrated = async (fromId, toId) => {
    await detectIncidents(handle.db, fromId, toId, new Date(now()));
  };
  const background = new BackgroundTasks({ error: (details, message) => console.error(message, details) });
  const mailer = overrides.mailer ?? createMailer(config.smtpUrl, config.mailFrom, join(config.dataDir, 'outbox'));
  const hub = createHub(config, { error: (details, message) => console.error(message, details), warn: (details, message) => console.warn(message, details) });
  const sessions = new SessionStore(handle.db, config.session, now);
  shareRevocations(sessions, hub);
  return {
    config,
    db: handle.db,
    databaseKind: handle.kind,
    sessions,
    throttle: new LoginThrottle(handle.db, config.login, now),
    hasher: new PasswordHasher(config.login.hashConcurrency),
    box,
    mailer,
    background,
    audit: { integrator, key: logKey, origin, tiles: new TileCache() },
    prescriptions: { key: prescriptionKey, origin: prescriptionsOrigin },
    relyingParty: relyingPartyFor(config.publicUrl),
    envelope,
    blobs,
    hub,
    now,
    async close() {
      await background.drain();
      await integrator.stop();
      mailer.close();
      await hub.close();
      await handle.close();
    },
  };
}

/** Revocations made here reach the other processes' caches through the hub (Redis), and theirs reach ours. */
function shareRevocations(sessions: SessionStore, hub: LiveHub): void {
  const processId = randomUUID();
  sessions.onRevoked = (revoked) => void hub.publish(topics.sessions, revokedSessionsEvent(processId, revoked));
  hub.subscribe(topics.sessions, (event) => {
    const hint = revokedSessionsOf(event);
    if (hint && hint.origin !== processId) sessions.forgetRevoked(hint.revoked);
  });
}
