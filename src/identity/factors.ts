// What second factors a user has: drives the login's second step and the "no health data without a
// second factor" rule.
import type { Queryable } from '../kernel/db.js';

export interface FactorSummary {
  totp: boolean;
  passkeys: number;
  recoveryCodesLeft: number;
}

export type SecondFactorMethod = 'totp' | 'passkey' | 'recovery_code';

/** One query: this runs at every login. */
export async function factorsOf(q: Queryable, userId: string): Promise<FactorSummary> {
  const row = await q
    .selectNoFrom((eb) => [
      eb.exists(eb.selectFrom('totp_factors').select('user_id').where('user_id', '=', userId).where('confirmed_at', 'is not', null)).as('totp'),
      eb.selectFrom('webauthn_credentials').select((c) => c.fn.countAll<string | number>().as('n')).where('user_id', '=', userId).as('passkeys'),
      eb.selectFrom('recovery_codes').select((c) => c.fn.countAll<string | number>().as('n')).where('user_id', '=', userId).where('used_at', 'is', null).as('recovery'),
    ])
    .executeTakeFirstOrThrow();
  return { totp: Boolean(row.totp), passkeys: Number(row.passkeys ?? 0), recoveryCodesLeft: Number(row.recovery ?? 0) };
}

export function hasSecondFactor(factors: FactorSummary): boolean {
  return factors.totp || factors.passkeys > 0;
}

export function methodsOf(factors: FactorSummary): SecondFactorMethod[] {
  const methods: SecondFactorMethod[] = [];
  if (factors.totp) methods.push('totp');
  if (factors.passkeys > 0) methods.push('passkey');
  if (hasSecondFactor(factors) && factors.recoveryCodesLeft > 0) methods.push('recovery_code');
  return methods;
}
