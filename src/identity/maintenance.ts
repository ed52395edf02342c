// Housekeeping of short-lived identity rows: guesses older than the throttle's hour, used or expired
// challenges, reset links, devices and sessions. Run periodically by `serve`.
import type { Db } from '../kernel/db.js';

const DAY_MS = 24 * 3600_000;
/** Ended sessions stay listed for the user's and the security officer's review this long. */
const ENDED_SESSION_RETENTION_MS = 30 * DAY_MS;

export async function purgeExpiredIdentityRows(db: Db, now: number): Promise<void> {
  const at = new Date(now);
  await db.deleteFrom('login_attempts').where('attempted_at', '<', new Date(now - 2 * 3600_000)).execute();
  await db.deleteFrom('auth_challenges').where('expires_at', '<', at).execute();
  await db.deleteFrom('password_resets').where('expires_at', '<', new Date(now - DAY_MS)).execute();
  await db.deleteFrom('trusted_devices').where('expires_at', '<', at).execute();
  await db
    .deleteFrom('sessions')
    .where((eb) => eb.or([eb('revoked_at', '<', new Date(now - ENDED_SESSION_RETENTION_MS)), eb('absolute_expires_at', '<', new Date(now - ENDED_SESSION_RETENTION_MS))]))
    .execute();
}
