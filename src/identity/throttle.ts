// Login throttling. Each password guess is *reserved* before Argon2id runs, under a row lock per key,
// so a concurrent burst cannot exceed the budget. Two budgets per account and rolling hour: guesses from
// unknown devices, and a small separate one for devices where the account already logged in (a device
// cookie, OWASP "device cookies"), so an attacker spending the first cannot lock the real user out.
// On top, a progressive delay after consecutive failures, and a budget per source address.
import type { Config } from '../kernel/config.js';
import type { Db } from '../kernel/db.js';

const HOUR_MS = 3_600_000;
/** Consecutive failures allowed before delays start. */
const FREE_FAILURES = 5;
const MAX_DELAY_MS = 5 * 60_000;

export type Reservation = { allowed: true; attemptId: string } | { allowed: false; retryAfterSeconds: number; reason: 'account' | 'address' | 'delay' };

export class LoginThrottle {
  constructor(
    private readonly db: Db,
    private readonly limits: Config['login'],
    private readonly now: () => number = Date.now,
  ) {}

  async reserve(accountKey: string, sourceAddress: string, trustedDevice: boolean): Promise<Reservation> {
    return this.db.transaction().execute(async (tx) => {
      const lockKey = `account:${accountKey}`;
      // One statement creates the key's row if needed and locks it until the reservation commits.
      await tx
        .insertInto('login_throttle_keys')
        .values({ key: lockKey })
        .onConflict((oc) => oc.column('key').doUpdateSet((eb) => ({ key: eb.ref('excluded.key') })))
        .execute();

      const now = this.now();
      const hourAgo = new Date(now - HOUR_MS);
      const recent = await tx
        .selectFrom('login_attempts')
        .select(['attempted_at', 'outcome', 'trusted_device'])
        .where('account_key', '=', accountKey)
        .where('attempted_at', '>', hourAgo)
        .orderBy('attempted_at', 'desc')
        .execute();

      const pool = recent.filter((attempt) => attempt.trusted_device === trustedDevice);
      const budget = trustedDevice
        ? this.limits.trustedDeviceGuessesPerHour
        : this.limits.guessesPerAccountPerHour - this.limits.trustedDeviceGuessesPerHour;
      if (pool.length >= budget) {
        const oldest = pool[pool.length - 1]!.attempted_at.getTime();
        return { allowed: false, reason: 'account', retryAfterSeconds: secondsUntil(oldest + HOUR_MS, now) };
      }

      const delay = progressiveDelay(pool);
      const lastAttempt = pool[0]?.attempted_at.getTime();
      if (delay > 0 && lastAttempt !== undefined && now < lastAttempt + delay) {
        return { allowed: false, reason: 'delay', retryAfterSeconds: secondsUntil(lastAttempt + delay, now) };
      }

      const fromAddress = await tx
        .selectFrom('login_attempts')
        .select((eb) => eb.fn.countAll<string | number>().as('count'))
        .where('source_address', '=', sourceAddress)
        .where('attempted_at', '>', hourAgo)
        .where('outcome', '!=', 'success')
        .executeTakeFirstOrThrow();
      if (!trustedDevice && Number(fromAddress.count) >= this.limits.guessesPerAddressPerHour) {
        return { allowed: false, reason: 'address', retryAfterSeconds: 60 };
      }

      const attempt = await tx
        .insertInto('login_attempts')
        .values({
          account_key: accountKey,
          source_address: sourceAddress,
          trusted_device: trustedDevice,
          outcome: 'pending',
          attempted_at: new Date(now),
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      return { allowed: true, attemptId: attempt.id };
    });
  }

  async settle(attemptId: string, success: boolean): Promise<void> {
    await this.db
      .updateTable('login_attempts')
      .set({ outcome: success ? 'success' : 'failure' })
      .where('id', '=', attemptId)
      .execute();
  }
}

/** 1 s after the 6th consecutive failure, doubling each time, capped at 5 minutes. Pending guesses count as failures. */
function progressiveDelay(attemptsNewestFirst: Array<{ outcome: string }>): number {
  let failures = 0;
  for (const attempt of attemptsNewestFirst) {
    if (attempt.outcome === 'success') break;
    failures += 1;
  }
  if (failures < FREE_FAILURES) return 0;
  return Math.min(1000 * 2 ** (failures - FREE_FAILURES), MAX_DELAY_MS);
}

function secondsUntil(deadline: number, now: number): number {
  return Math.max(1, Math.ceil((deadline - now) / 1000));
}
