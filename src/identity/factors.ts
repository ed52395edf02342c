// What second factors a user has: drives the login's second step and the "no health data without a
// second factor" rule.
import type { Queryable } from '../kernel/db.js';
import { countRecoveryCodesLeft } from './recovery-codes.js';
import { hasConfirmedTotp } from './totp.js';

export interface FactorSummary {
  totp: boolean;
  passkeys: number;
  recoveryCodesLeft: number;
}

export type SecondFactorMethod = 'totp' | 'passkey' | 'recovery_code';

export async function factorsOf(q: Queryable, userId: string): Promise<FactorSummary> {
  const [totp, passkeys, recoveryCodesLeft] = await Promise.all([
    hasConfirmedTotp(q, userId),
    q
      .selectFrom('webauthn_credentials')
      .select((eb) => eb.fn.countAll<string | number>().as('count'))
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow()
      .then((row) => Number(row.count)),
    countRecoveryCodesLeft(q, userId),
  ]);
  return { totp, passkeys, recoveryCodesLeft };
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
