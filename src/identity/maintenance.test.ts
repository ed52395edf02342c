import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, openDatabase, type DatabaseHandle } from '../kernel/db.js';
import { purgeExpiredIdentityRows } from './maintenance.js';

describe('housekeeping', () => {
  let handle: DatabaseHandle;
  beforeAll(async () => {
    handle = await openDatabase({ url: null, pgliteDir: 'memory://' });
    await migrate(handle.db);
  });
  afterAll(() => handle?.close());

  it('removes only what has expired', async () => {
    const now = Date.now();
    const { db } = handle;
    await db.insertInto('login_attempts').values([
      { account_key: 'old', source_address: '127.0.0.1', trusted_device: false, outcome: 'failure', attempted_at: new Date(now - 3 * 3600_000) },
      { account_key: 'fresh', source_address: '127.0.0.1', trusted_device: false, outcome: 'failure', attempted_at: new Date(now - 60_000) },
    ]).execute();
    await db.insertInto('auth_challenges').values([
      { purpose: 'webauthn-login', challenge: 'a', user_id: null, session_id: null, expires_at: new Date(now - 1) },
      { purpose: 'webauthn-login', challenge: 'b', user_id: null, session_id: null, expires_at: new Date(now + 60_000) },
    ]).execute();
    await purgeExpiredIdentityRows(db, now);
    expect((await db.selectFrom('login_attempts').select('account_key').execute()).map((r) => r.account_key)).toEqual(['fresh']);
    expect((await db.selectFrom('auth_challenges').select('challenge').execute()).map((r) => r.challenge)).toEqual(['b']);
  });
});
