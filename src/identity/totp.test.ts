// TOTP against RFC 6238's published vectors and against an independent implementation (oathtool).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox } from '../kernel/crypto.js';
import { openDatabase, migrate, type DatabaseHandle } from '../kernel/db.js';
import { beginTotpEnrolment, verifyTotp } from './totp.js';

describe('RFC 6238 Appendix B vectors (SHA-1, 8 digits)', () => {
  const secret = Secret.fromLatin1('12345678901234567890');
  const totp = new TOTP({ secret, algorithm: 'SHA1', digits: 8, period: 30 });
  it.each([
    [59, '94287082'],
    [1111111109, '07081804'],
    [1111111111, '14050471'],
    [1234567890, '89005924'],
    [2000000000, '69279037'],
  ])('T = %i s gives %s', (seconds, expected) => {
    expect(totp.generate({ timestamp: seconds * 1000 })).toBe(expected);
  });
});

describe('enrolment and verification, checked with oathtool', () => {
  let handle: DatabaseHandle;
  const box = new SecretBox(randomBytes(32));
  let userId: string;

  beforeAll(async () => {
    handle = await openDatabase({ url: null, pgliteDir: 'memory://' });
    await migrate(handle.db);
    userId = (await handle.db.insertInto('users').values({ email: 'totp@example.test', display_name: 'T', password_hash: 'x', rpps: null, profession: null, password_changed_at: new Date() }).returning('id').executeTakeFirstOrThrow()).id;
  });
  afterAll(() => handle?.close());

  function oathtool(secret: string, at: Date): string {
    return execFileSync('oathtool', ['--totp', '-b', `--now=${at.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}`, secret], { encoding: 'utf8' }).trim();
  }

  it('a code from oathtool confirms the enrolment, and the QR code carries the otpauth URL', async () => {
    const enrolment = await beginTotpEnrolment(handle.db, box, userId, 'totp@example.test');
    expect(enrolment.otpauthUrl).toMatch(/^otpauth:\/\/totp\/Ausculta:totp%40example\.test\?/);
    expect(enrolment.otpauthUrl).toContain(`secret=${enrolment.secret}`);
    expect(enrolment.qrCodeSvg).toMatch(/^<svg/);
    const sealed = await handle.db.selectFrom('totp_factors').select('secret_sealed').where('user_id', '=', userId).executeTakeFirstOrThrow();
    expect(sealed.secret_sealed).not.toContain(enrolment.secret);

    const now = Date.UTC(2026, 10, 25, 12, 0, 5);
    const code = oathtool(enrolment.secret, new Date(now));
    expect(code).toMatch(/^\d{6}$/);
    expect(await verifyTotp(handle.db, box, userId, code, { confirming: true, now })).toBe(true);
    // Same code again: the time step is spent.
    expect(await verifyTotp(handle.db, box, userId, code, { confirming: false, now })).toBe(false);
    // The next step's code from oathtool works; one from 2 minutes earlier does not.
    const later = now + 30_000;
    expect(await verifyTotp(handle.db, box, userId, oathtool(enrolment.secret, new Date(later)), { confirming: false, now: later })).toBe(true);
    const old = oathtool(enrolment.secret, new Date(later - 120_000));
    expect(await verifyTotp(handle.db, box, userId, old, { confirming: false, now: later + 30_000 })).toBe(false);
  });

  it('refuses malformed codes without touching the factor', async () => {
    for (const code of ['', '12345', '1234567', 'abcdef', '12 345']) {
      expect(await verifyTotp(handle.db, box, userId, code, { confirming: false, now: Date.now() })).toBe(false);
    }
  });
});
