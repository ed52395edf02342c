// TOTP second factor (RFC 6238: SHA-1, 6 digits, 30 s), through the otpauth library. The seed is sealed
// with the master key; the last accepted time step is stored so a code cannot be used twice.
import { Secret, TOTP } from 'otpauth';
import QRCode from 'qrcode';
import type { SecretBox } from '../kernel/crypto.js';
import type { Queryable } from '../kernel/db.js';

const PERIOD_SECONDS = 30;
/** One step either side absorbs clock drift between the phone and the server. */
const WINDOW = 1;
const ISSUER = 'Ausculta';

function totpFor(secretBase32: string, label: string): TOTP {
  return new TOTP({ issuer: ISSUER, label, algorithm: 'SHA1', digits: 6, period: PERIOD_SECONDS, secret: Secret.fromBase32(secretBase32) });
}

const sealContext = (userId: string) => `totp:${userId}`;

export interface TotpEnrolment {
  secret: string;
  otpauthUrl: string;
  qrCodeSvg: string;
}

/** Starts (or restarts) an enrolment: the factor is inactive until a code confirms it. */
export async function beginTotpEnrolment(q: Queryable, box: SecretBox, userId: string, label: string): Promise<TotpEnrolment> {
  const secret = new Secret({ size: 20 }).base32;
  await q
    .insertInto('totp_factors')
    .values({ user_id: userId, secret_sealed: box.seal(secret, sealContext(userId)) })
    .onConflict((oc) => oc.column('user_id').doUpdateSet({ secret_sealed: box.seal(secret, sealContext(userId)), confirmed_at: null, last_step: null }))
    .execute();
  const otpauthUrl = totpFor(secret, label).toString();
  const qrCodeSvg = await QRCode.toString(otpauthUrl, { type: 'svg', errorCorrectionLevel: 'M', margin: 1 });
  return { secret, otpauthUrl, qrCodeSvg };
}

/**
 * Checks a code and consumes its time step. `confirming` accepts an unconfirmed factor (enrolment);
 * otherwise only a confirmed one counts. The update is conditional on the step, so two concurrent
 * requests with the same code cannot both succeed.
 */
export async function verifyTotp(
  q: Queryable,
  box: SecretBox,
  userId: string,
  code: string,
  options: { confirming: boolean; now: number },
): Promise<boolean> {
  if (!/^\d{6}$/.test(code)) return false;
  const factor = await q.selectFrom('totp_factors').selectAll().where('user_id', '=', userId).executeTakeFirst();
  if (!factor || (!options.confirming && !factor.confirmed_at)) return false;
  const secret = box.open(factor.secret_sealed, sealContext(userId));
  const delta = totpFor(secret, userId).validate({ token: code, timestamp: options.now, window: WINDOW });
  if (delta === null) return false;
  const step = Math.floor(options.now / 1000 / PERIOD_SECONDS) + delta;
  const consumed = await q
    .updateTable('totp_factors')
    .set({ last_step: step, ...(options.confirming ? { confirmed_at: new Date(options.now) } : {}) })
    .where('user_id', '=', userId)
    .where((eb) => eb.or([eb('last_step', 'is', null), eb('last_step', '<', step)]))
    .executeTakeFirst();
  return consumed.numUpdatedRows === 1n;
}

export async function hasConfirmedTotp(q: Queryable, userId: string): Promise<boolean> {
  const row = await q.selectFrom('totp_factors').select('user_id').where('user_id', '=', userId).where('confirmed_at', 'is not', null).executeTakeFirst();
  return row !== undefined;
}

/** Installs an already-confirmed factor with a known seed (demo accounts, command line). */
export async function installConfirmedTotp(q: Queryable, box: SecretBox, userId: string, secret: string, now: Date): Promise<void> {
  await q.insertInto('totp_factors').values({ user_id: userId, secret_sealed: box.seal(secret, sealContext(userId)), confirmed_at: now }).execute();
}
