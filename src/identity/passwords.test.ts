// The password rule follows the CNIL's examples; storage is Argon2id with OWASP parameters.
import { describe, expect, it } from 'vitest';
import { ARGON2_OPTIONS, checkPasswordStrength, compositionEntropyBits, PasswordHasher } from './passwords.js';

describe('password strength (CNIL délibération 2022-100)', () => {
  it.each([
    ['12 characters of 4 classes', 'k7#Rv!q2Lm9w'],
    ['14 characters of 3 classes', 'Trz8Kpq3Wvn7Ym'],
    ['a passphrase of 7 words', 'pivert cerise moulin tambour glacier ortie velours'],
    ['64 characters', 'Aq9!'.repeat(1) + 'zX7$mP2@vL5#nR8%kT4&wB6*yC3^hJ1(gF0)dS9-eQ2+aZ5=uI8?oE4;'.slice(0, 60)],
  ])('accepts %s', async (_label, password) => {
    expect(await checkPasswordStrength(password)).toEqual({ ok: true });
  });

  it.each([
    ['11 characters of 4 classes', 'k7#Rv!q2Lm9', 'too_simple'],
    ['13 characters of 3 classes', 'Trz8Kpq3Wvn7Y', 'too_simple'],
    ['a common password with every class', 'Password1234!', 'too_common'],
    ['a repetition', 'aaaaaaaaaaaaaaaaaaaaaaaa', 'too_common'],
    ['a keyboard walk', 'Azertyuiop123!', 'too_common'],
    ['the user’s own name and e-mail', 'Jeanne.Martin@Example1', 'too_personal'],
  ])('refuses %s', async (_label, password, reason) => {
    const verdict = await checkPasswordStrength(password, ['jeanne.martin@example1', 'Jeanne Martin']);
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) {
      expect(verdict.reason).toBe(reason);
      expect(verdict.message.fr.length).toBeGreaterThan(10);
      expect(verdict.message.en.length).toBeGreaterThan(10);
    }
  });

  it('measures 12 characters from 95 symbols at the CNIL’s ~80 bits', () => {
    expect(compositionEntropyBits('k7#Rv!q2Lm9w')).toBeCloseTo(12 * Math.log2(95), 5);
    expect(compositionEntropyBits('abc')).toBeCloseTo(3 * Math.log2(26), 5);
  });
});

describe('PasswordHasher', () => {
  it('hashes with Argon2id, OWASP parameters, and verifies', async () => {
    const hasher = new PasswordHasher(1);
    const hash = await hasher.hash('k7#Rv!q2Lm9w');
    expect(hash.startsWith(`$argon2id$v=19$m=${ARGON2_OPTIONS.memoryCost},t=${ARGON2_OPTIONS.timeCost},p=${ARGON2_OPTIONS.parallelism}$`)).toBe(true);
    expect(await hasher.verify(hash, 'k7#Rv!q2Lm9w')).toBe(true);
    expect(await hasher.verify(hash, 'k7#Rv!q2Lm9W')).toBe(false);
    expect(await hasher.verifyAgainstNothing('anything')).toBe(false);
  });

  it('never runs more hashes at once than its concurrency', async () => {
    const hasher = new PasswordHasher(2);
    const hash = await hasher.hash('k7#Rv!q2Lm9w');
    let peak = 0;
    let done = false;
    const sample = async () => {
      while (!done) {
        peak = Math.max(peak, hasher.running);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    };
    const sampling = sample();
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => hasher.verify(hash, i === 0 ? 'k7#Rv!q2Lm9w' : 'wrong')));
    done = true;
    await sampling;
    expect(peak).toBe(2);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(hasher.running).toBe(0);
  });
});

describe('personal words', () => {
  it('do not refuse a strong password that does not use them', async () => {
    expect(await checkPasswordStrength('k7#Rv!q2Lm9w', ['jeanne.martin@example.test', 'Jeanne Martin'])).toEqual({ ok: true });
  });
  it('count for nothing inside a longer password', async () => {
    expect(await checkPasswordStrength('Martin-k7#Rv!q2Lm9w', ['Martin'])).toEqual({ ok: true });
    expect((await checkPasswordStrength('MartinJeanne#2024', ['Jeanne Martin'])).ok).toBe(false);
  });
});

describe('cost of the check', () => {
  it('a crafted long password is estimated on its first 32 characters only, quickly', async () => {
    await checkPasswordStrength('warm-up-Password-1!');
    const crafted = 'P@ssw0rd!'.repeat(28); // 252 characters of l33t dictionary words
    const started = performance.now();
    const verdict = await checkPasswordStrength(crafted);
    expect(performance.now() - started).toBeLessThan(1_500);
    expect(verdict.ok).toBe(false);
  });
});

describe('the estimation runs beside the event loop', () => {
  it('timers keep firing while passwords are checked', async () => {
    await checkPasswordStrength('warm-up-Password-1!');
    let worstLagMs = 0;
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      worstLagMs = Math.max(worstLagMs, now - last - 5);
      last = now;
    }, 5);
    const checks = await Promise.all(['Aq9!zX7$mP2@vL5#nR8%kT4&wB6*yC3^', 'P@ssw0rd!'.repeat(4), 'k7#Rv!q2Lm9wTrz8Kpq3Wvn7YmQz7!aa'].map((p) => checkPasswordStrength(p)));
    clearInterval(ticker);
    expect(checks.map((c) => c.ok)).toEqual([true, false, true]);
    // A check on the event loop would hold timers for its whole duration (tens to hundreds of ms).
    expect(worstLagMs).toBeLessThan(60);
  });
});
