// Single-use recovery codes: 10 codes of 80 random bits, shown once, stored hashed.
import { randomBytes } from 'node:crypto';
import { hashToken } from '../kernel/crypto.js';
import type { Queryable } from '../kernel/db.js';

const COUNT = 10;
// Crockford-like alphabet without look-alikes (no I, L, O, U).
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

function newCode(): string {
  const bytes = randomBytes(16);
  const chars = [...bytes].map((byte) => ALPHABET[byte % 32]).join(''); // 16 × 5 bits = 80 bits
  return chars.match(/.{4}/g)!.join('-');
}

export function normaliseRecoveryCode(input: string): string {
  const compact = input.toUpperCase().replace(/[^0-9A-Z]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  return compact.match(/.{1,4}/g)?.join('-') ?? '';
}

/** Replaces every previous code of the user. */
export async function generateRecoveryCodes(q: Queryable, userId: string): Promise<string[]> {
  const codes = Array.from({ length: COUNT }, newCode);
  await q.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
  await q.insertInto('recovery_codes').values(codes.map((code) => ({ user_id: userId, code_hash: hashToken(code) }))).execute();
  return codes;
}

/** Consumes a code atomically: the same code never works twice, even in concurrent requests. */
export async function useRecoveryCode(q: Queryable, userId: string, input: string, now: Date): Promise<boolean> {
  const result = await q
    .updateTable('recovery_codes')
    .set({ used_at: now })
    .where('user_id', '=', userId)
    .where('code_hash', '=', hashToken(normaliseRecoveryCode(input)))
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

export async function countRecoveryCodesLeft(q: Queryable, userId: string): Promise<number> {
  const row = await q
    .selectFrom('recovery_codes')
    .select((eb) => eb.fn.countAll<string | number>().as('count'))
    .where('user_id', '=', userId)
    .where('used_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}
