// Server-side sessions: the cookie holds a random token, the database holds its hash. Idle and absolute
// timeouts, revocation one by one or all at once. A small in-process cache keeps the per-request check
// cheap; revocations made by this process take effect at once, those made by another process as soon as
// its hint arrives through the hub (`onRevoked` / `forgetRevoked`, wired in services.ts), and within
// CACHE_TTL_MS at worst (no Redis between the processes, or a hint lost). Open WebSockets get the same
// hints and look their session up again at once.
import type { Config } from '../kernel/config.js';
import { hashToken, randomToken } from '../kernel/crypto.js';
import type { Db, Queryable } from '../kernel/db.js';

const CACHE_TTL_MS = 5_000;
/** last_seen_at is written at most this often per session: idle precision, not a write per request. */
const LAST_SEEN_WRITE_EVERY_MS = 30_000;
/** A session waiting for its second factor lives this long at most. */
const PENDING_SECOND_FACTOR_TTL_MS = 10 * 60_000;
/** Changing e-mail, password or factors needs a password (or factor) proof this recent. */
export const REAUTHENTICATION_WINDOW_MS = 5 * 60_000;

export interface Session {
  id: string;
  userId: string;
  csrfToken: string;
  secondFactorPending: boolean;
  secondFactorAt: Date | null;
  reauthenticatedAt: Date;
  createdAt: Date;
  lastSeenAt: Date;
  absoluteExpiresAt: Date;
}

export type SessionLookup =
  | { status: 'valid'; session: Session; idleExpiresAt: Date }
  | { status: 'expired' }
  | { status: 'unknown' };

interface CacheEntry {
  session: Session;
  tokenHash: string;
  loadedAt: number;
  persistedLastSeen: number;
}

/** Which sessions were revoked: one, or all of a user's but `keep`. Identifiers only. */
export type RevokedSessions = { sessionId: string } | { userId: string; keep?: string };

export interface NewSession {
  userId: string;
  secondFactorPending: boolean;
  secondFactorVerified: boolean;
  sourceAddress: string;
  userAgent: string;
}

export class SessionStore {
  readonly #cache = new Map<string, CacheEntry>();
  /** session id → token hash, to forget a revoked session without scanning the cache. */
  readonly #tokenOf = new Map<string, string>();
  /**
   * Sessions changed inside a transaction that may not have committed yet: until this deadline they are
   * read from the database at every request, so a concurrent read of the old row is never cached.
   */
  readonly #volatileUntil = new Map<string, number>();
  /**
   * Told of each revocation, possibly before its transaction commits: listeners treat it as a hint to
   * look again (the database stays the truth), never as the revocation itself.
   */
  onRevoked: ((revoked: RevokedSessions) => void) | null = null;

  constructor(
    private readonly db: Db,
    private readonly config: Config['session'],
    private readonly now: () => number = Date.now,
  ) {}

  async create(q: Queryable, input: NewSession): Promise<{ token: string; session: Session }> {
    const token = randomToken();
    const now = this.now();
    const lifetime = input.secondFactorPending ? PENDING_SECOND_FACTOR_TTL_MS : this.config.absoluteTimeoutMs;
    const row = await q
      .insertInto('sessions')
      .values({
        token_hash: hashToken(token),
        user_id: input.userId,
        csrf_token: randomToken(24),
        second_factor_pending: input.secondFactorPending,
        second_factor_at: input.secondFactorVerified ? new Date(now) : null,
        reauthenticated_at: new Date(now),
        created_at: new Date(now),
        last_seen_at: new Date(now),
        absolute_expires_at: new Date(now + lifetime),
        source_address: input.sourceAddress,
        user_agent: input.userAgent.slice(0, 300),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return { token, session: toSession(row) };
  }

  /**
   * Completes the second factor: a new token (and CSRF token) replaces the pending one, so a token seen
   * before the second factor is worth nothing after it.
   */
  async completeSecondFactor(q: Queryable, sessionId: string): Promise<{ token: string; session: Session }> {
    const token = randomToken();
    const now = new Date(this.now());
    const row = await q
      .updateTable('sessions')
      .set({
        token_hash: hashToken(token),
        csrf_token: randomToken(24),
        second_factor_pending: false,
        second_factor_at: now,
        reauthenticated_at: now,
        last_seen_at: now,
        absolute_expires_at: new Date(now.getTime() + this.config.absoluteTimeoutMs),
      })
      .where('id', '=', sessionId)
      .where('revoked_at', 'is', null)
      .returningAll()
      .executeTakeFirstOrThrow();
    this.#forgetSession(sessionId);
    return { token, session: toSession(row) };
  }

  async markReauthenticated(q: Queryable, sessionId: string): Promise<void> {
    await q.updateTable('sessions').set({ reauthenticated_at: new Date(this.now()) }).where('id', '=', sessionId).execute();
    this.#forgetSession(sessionId);
  }

  /** A second factor proven inside an open session (first enrolment) raises it to two factors. */
  async markSecondFactorVerified(q: Queryable, sessionId: string): Promise<void> {
    await q.updateTable('sessions').set({ second_factor_at: new Date(this.now()) }).where('id', '=', sessionId).execute();
    this.#forgetSession(sessionId);
  }

  async lookup(token: string): Promise<SessionLookup> {
    const tokenHash = hashToken(token);
    const now = this.now();
    let entry = this.#cache.get(tokenHash);
    if (!entry || now - entry.loadedAt > CACHE_TTL_MS) {
      entry = await this.#load(tokenHash, entry);
      if (!entry) return { status: 'unknown' };
    }
    const { session } = entry;
    const idleDeadline = session.lastSeenAt.getTime() + this.config.idleTimeoutMs;
    if (now >= idleDeadline || now >= session.absoluteExpiresAt.getTime()) {
      await this.revoke(this.db, session.id, 'expired');
      return { status: 'expired' };
    }
    session.lastSeenAt = new Date(now);
    if (now - entry.persistedLastSeen > LAST_SEEN_WRITE_EVERY_MS) {
      entry.persistedLastSeen = now;
      await this.db.updateTable('sessions').set({ last_seen_at: session.lastSeenAt }).where('id', '=', session.id).execute();
    }
    return { status: 'valid', session, idleExpiresAt: new Date(now + this.config.idleTimeoutMs) };
  }

  async #load(tokenHash: string, previous: CacheEntry | undefined): Promise<CacheEntry | undefined> {
    // A stale entry is replaced, not "forgotten": forgetting marks a session as changed (see #volatileUntil).
    this.#cache.delete(tokenHash);
    const row = await this.db
      .selectFrom('sessions')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (!row) return undefined;
    const session = toSession(row);
    // Activity seen by this process but not yet written still counts.
    if (previous && previous.session.lastSeenAt > session.lastSeenAt) session.lastSeenAt = previous.session.lastSeenAt;
    const volatileUntil = this.#volatileUntil.get(session.id);
    const volatile = volatileUntil !== undefined && volatileUntil >= this.now();
    if (volatileUntil !== undefined && !volatile) this.#volatileUntil.delete(session.id);
    const entry: CacheEntry = { session, tokenHash, loadedAt: volatile ? 0 : this.now(), persistedLastSeen: row.last_seen_at.getTime() };
    this.#cache.set(tokenHash, entry);
    this.#tokenOf.set(session.id, tokenHash);
    if (this.#cache.size > 50_000) {
      const [oldestHash, oldest] = this.#cache.entries().next().value as [string, CacheEntry];
      this.#cache.delete(oldestHash);
      this.#tokenOf.delete(oldest.session.id);
    }
    return entry;
  }

  async revoke(q: Queryable, sessionId: string, reason: string): Promise<void> {
    await q
      .updateTable('sessions')
      .set({ revoked_at: new Date(this.now()), revoked_reason: reason })
      .where('id', '=', sessionId)
      .where('revoked_at', 'is', null)
      .execute();
    this.#forgetSession(sessionId);
    this.onRevoked?.({ sessionId });
  }

  /** Ends every session of a user (log out everywhere, password or factor change), but `keep`. */
  async revokeAllForUser(q: Queryable, userId: string, reason: string, keep?: string): Promise<number> {
    let query = q
      .updateTable('sessions')
      .set({ revoked_at: new Date(this.now()), revoked_reason: reason })
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null);
    if (keep) query = query.where('id', '!=', keep);
    const result = await query.executeTakeFirst();
    this.#forgetUser(userId, keep);
    this.onRevoked?.(keep ? { userId, keep } : { userId });
    return Number(result.numUpdatedRows);
  }

  /** Another process revoked these sessions: drop them from this process's cache. */
  forgetRevoked(revoked: RevokedSessions): void {
    if ('sessionId' in revoked) this.#forgetSession(revoked.sessionId);
    else this.#forgetUser(revoked.userId, revoked.keep);
  }

  #forgetUser(userId: string, keep?: string): void {
    for (const entry of [...this.#cache.values()]) {
      if (entry.session.userId === userId && entry.session.id !== keep) this.#forgetSession(entry.session.id);
    }
  }

  async listActive(userId: string) {
    const idleCutoff = new Date(this.now() - this.config.idleTimeoutMs);
    return this.db
      .selectFrom('sessions')
      .select(['id', 'created_at', 'last_seen_at', 'source_address', 'user_agent', 'second_factor_pending'])
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .where('absolute_expires_at', '>', new Date(this.now()))
      .where('last_seen_at', '>', idleCutoff)
      .orderBy('last_seen_at', 'desc')
      .execute();
  }

  #forgetSession(sessionId: string): void {
    const now = this.now();
    if (this.#volatileUntil.size > 10_000) {
      for (const [id, until] of this.#volatileUntil) if (until < now) this.#volatileUntil.delete(id);
    }
    this.#volatileUntil.set(sessionId, now + CACHE_TTL_MS);
    const tokenHash = this.#tokenOf.get(sessionId);
    if (tokenHash) this.#cache.delete(tokenHash);
    this.#tokenOf.delete(sessionId);
  }
}

type SessionRow = {
  id: string;
  user_id: string;
  csrf_token: string;
  second_factor_pending: boolean;
  second_factor_at: Date | null;
  reauthenticated_at: Date;
  created_at: Date;
  last_seen_at: Date;
  absolute_expires_at: Date;
};

function toSession(row: SessionRow): Session {
  return {
    id: row.id,
    userId: row.user_id,
    csrfToken: row.csrf_token,
    secondFactorPending: row.second_factor_pending,
    secondFactorAt: row.second_factor_at,
    reauthenticatedAt: row.reauthenticated_at,
    createdAt: row.created_at,
    lastSeenAt: row.last_seen_at,
    absoluteExpiresAt: row.absolute_expires_at,
  };
}
