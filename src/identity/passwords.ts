// Password storage (Argon2id, OWASP minimum parameters) and the strength rule (CNIL délibération 2022-100).
import { hash, verify } from '@node-rs/argon2';
import { PasswordEstimator } from './password-estimator.js';
import type { Localised } from '../kernel/errors.js';

/** OWASP Password Storage Cheat Sheet: Argon2id, m=19 MiB, t=2, p=1 (the library's default algorithm is Argon2id). */
export const ARGON2_OPTIONS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;
export const MAX_PASSWORD_LENGTH = 256;

/** Limits concurrent Argon2id work so that a login storm cannot take every core from other routes. */
export class PasswordHasher {
  #running = 0;
  readonly #queue: Array<() => void> = [];
  #dummyHash: Promise<string> | undefined;

  constructor(private readonly concurrency: number) {}

  /** Hashes running now (never more than the concurrency). */
  get running(): number {
    return this.#running;
  }

  hash(password: string): Promise<string> {
    return this.#limited(() => hash(password, ARGON2_OPTIONS));
  }

  verify(passwordHash: string, password: string): Promise<boolean> {
    return this.#limited(() => verify(passwordHash, password));
  }

  /** Spends the same time as a real check, so unknown accounts cannot be told apart by timing. */
  async verifyAgainstNothing(password: string): Promise<false> {
    this.#dummyHash ??= hash('not a real password', ARGON2_OPTIONS);
    await this.verify(await this.#dummyHash, password);
    return false;
  }

  async #limited<T>(work: () => Promise<T>): Promise<T> {
    if (this.#running >= this.concurrency) await new Promise<void>((resolve) => this.#queue.push(resolve));
    else this.#running += 1;
    try {
      return await work();
    } finally {
      const next = this.#queue.shift();
      if (next) next();
      else this.#running -= 1;
    }
  }
}

/**
 * Only the first ESTIMATED_PREFIX characters are estimated by zxcvbn-ts: beyond, its cost grows fast,
 * and the composition rule still counts every character. The estimator runs in a worker thread.
 */
const ESTIMATED_PREFIX = 32;
const estimator = new PasswordEstimator(ESTIMATED_PREFIX);

const CLASSES: Array<{ pattern: RegExp; size: number }> = [
  { pattern: /[a-z]/, size: 26 },
  { pattern: /[A-Z]/, size: 26 },
  { pattern: /[0-9]/, size: 10 },
  { pattern: /[^a-zA-Z0-9]/, size: 33 },
];

/**
 * The CNIL's measure: length × log2(size of the alphabets used). Its own reference example, 12 characters
 * drawn from the 4 classes (95 symbols), gives 78.8 bits and is its stated floor for 80 bits; we take that
 * example as the threshold. A 14-character password of 3 classes (83 bits) or a 7-word passphrase pass too.
 */
export function compositionEntropyBits(password: string): number {
  const alphabet = CLASSES.filter(({ pattern }) => pattern.test(password)).reduce((sum, { size }) => sum + size, 0);
  return alphabet === 0 ? 0 : [...password].length * Math.log2(alphabet);
}
const CNIL_FLOOR_BITS = 12 * Math.log2(95);

/** Below 10^10 guesses (zxcvbn score < 4) a password follows a pattern an attacker tries early. */
const MIN_GUESSES_LOG10 = 10;

export type StrengthVerdict = { ok: true } | { ok: false; reason: 'too_long' | 'too_simple' | 'too_common' | 'too_personal'; message: Localised };

export async function checkPasswordStrength(password: string, personalWords: string[] = []): Promise<StrengthVerdict> {
  if (password.length > MAX_PASSWORD_LENGTH) {
    return {
      ok: false,
      reason: 'too_long',
      message: {
        fr: `Le mot de passe ne peut dépasser ${MAX_PASSWORD_LENGTH} caractères.`,
        en: `The password cannot exceed ${MAX_PASSWORD_LENGTH} characters.`,
      },
    };
  }
  if (compositionEntropyBits(password) < CNIL_FLOOR_BITS - 1e-9) {
    return {
      ok: false,
      reason: 'too_simple',
      message: {
        fr: 'Choisissez au moins 12 caractères mêlant majuscules, minuscules, chiffres et caractères spéciaux, 14 caractères de trois de ces types, ou une phrase de passe de plusieurs mots.',
        en: 'Use at least 12 characters mixing upper case, lower case, digits and symbols, 14 characters of three of these kinds, or a passphrase of several words.',
      },
    };
  }
  const words = personalWords.flatMap((word) => word.toLowerCase().split(/[^\p{L}\p{N}]+/u)).filter((w) => w.length >= 3);
  // The user's name and e-mail are the first guesses of a targeted attack: they count for nothing.
  const remainder = words.reduce((rest, word) => rest.replace(new RegExp(escapeRegExp(word), 'giu'), ''), password);
  if (words.length > 0 && compositionEntropyBits(remainder) < CNIL_FLOOR_BITS - 1e-9) {
    return {
      ok: false,
      reason: 'too_personal',
      message: {
        fr: 'Le mot de passe ne doit pas reposer sur votre nom ou votre adresse e-mail.',
        en: 'The password must not rely on your name or e-mail address.',
      },
    };
  }
  // An estimation that fails or takes too long refuses the password rather than letting it through.
  const guessesLog10 = await estimator.estimate(password.slice(0, ESTIMATED_PREFIX), words).catch(() => 0);
  if (guessesLog10 < MIN_GUESSES_LOG10) {
    return {
      ok: false,
      reason: 'too_common',
      message: {
        fr: 'Ce mot de passe est trop courant ou trop prévisible (mot du dictionnaire, suite, répétition ou élément de votre nom ou adresse).',
        en: 'This password is too common or predictable (dictionary word, sequence, repetition, or part of your name or e-mail).',
      },
    };
  }
  return { ok: true };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
