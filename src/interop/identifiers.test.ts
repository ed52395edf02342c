import { describe, it, expect } from 'vitest';
import {
  rppsToIdnps,
  validateFiness,
  validateNir,
  validateRpps,
  type IdentifierFailureReason,
  type IdentifierValidation,
} from './identifiers.js';

// ---------------------------------------------------------------------------
// Independent reference implementations (deliberately written differently
// from the module: table-based Luhn digit generation, Number-based Horner
// mod 97 instead of BigInt).
// ---------------------------------------------------------------------------

/** Luhn check digit to append to `payload` (digits only). */
function refLuhnCheckDigit(payload: string): string {
  const doubled = [0, 2, 4, 6, 8, 1, 3, 5, 7, 9]; // 2d, minus 9 when > 9
  let sum = 0;
  // Once the check digit is appended, the rightmost payload digit is in an
  // even position from the right, hence doubled.
  [...payload].reverse().forEach((c, i) => {
    const d = Number(c);
    sum += i % 2 === 0 ? (doubled[d] ?? NaN) : d;
  });
  return String((10 - (sum % 10)) % 10);
}

/** NIR key of a 13-character body, Corsica mapped to 19 / 18. */
function refNirKey(body13: string): string {
  const corsica: Record<string, string> = { '2A': '19', '2B': '18' };
  const dept = body13.slice(5, 7);
  const digits = body13.slice(0, 5) + (corsica[dept] ?? dept) + body13.slice(7);
  let rest = 0;
  for (const c of digits) rest = (rest * 10 + Number(c)) % 97;
  return String(97 - rest).padStart(2, '0');
}

/** FINESS digits used for the Luhn check (2A -> 21, 2B -> 22). */
function refFinessDigits(finess8: string): string {
  return finess8.replace(/^2A/, '21').replace(/^2B/, '22');
}

function expectOk<E extends object>(
  result: IdentifierValidation<E>,
): Extract<IdentifierValidation<E>, { ok: true }> {
  if (!result.ok) throw new Error(`expected ok, got ${result.reason}: ${result.message.en}`);
  return result as Extract<IdentifierValidation<E>, { ok: true }>;
}

function expectFailure(result: IdentifierValidation<object>, reason: IdentifierFailureReason): void {
  expect(result.ok).toBe(false);
  if (result.ok) return;
  expect(result.reason).toBe(reason);
  expect(result.message.fr.length).toBeGreaterThan(10);
  expect(result.message.en.length).toBeGreaterThan(10);
  expect(result.message.fr).not.toBe(result.message.en);
}

/** Every variant of `value` with one digit (at a digit position) replaced. */
function singleDigitErrors(value: string): string[] {
  const variants: string[] = [];
  [...value].forEach((c, i) => {
    if (!/\d/.test(c)) return;
    for (let d = 0; d <= 9; d++) {
      if (String(d) !== c) variants.push(value.slice(0, i) + String(d) + value.slice(i + 1));
    }
  });
  return variants;
}

// ---------------------------------------------------------------------------
// RPPS
// ---------------------------------------------------------------------------

describe('validateRpps', () => {
  // Hand-worked: 1 0 0 0 3 4 5 6 7 8 6, from the right, doubling every 2nd:
  // 6 + (8*2=16 -> 7) + 7 + (6*2=12 -> 3) + 5 + (4*2=8) + 3 + 0 + 0 + 0 + 1 = 40.
  const VALID = '10003456786';

  it('accepts a hand-verified valid RPPS number', () => {
    expect(validateRpps(VALID)).toEqual({ ok: true, value: VALID });
  });

  it('normalises spaces and surrounding whitespace', () => {
    expect(expectOk(validateRpps('  1000 345 678 6\t')).value).toBe(VALID);
  });

  it.each(['1000000000', '1000123456', '1999999999', '1012345678', '8100000000'])(
    'accepts %s + independently computed Luhn digit, rejects the 9 other digits',
    (payload) => {
      const key = refLuhnCheckDigit(payload);
      expect(expectOk(validateRpps(payload + key)).value).toBe(payload + key);
      for (let d = 0; d <= 9; d++) {
        if (String(d) !== key) expectFailure(validateRpps(payload + String(d)), 'invalid_key');
      }
    },
  );

  it('rejects a wrong check digit', () => {
    expectFailure(validateRpps('10003456789'), 'invalid_key');
  });

  it('detects every single-digit typo', () => {
    for (const variant of singleDigitErrors(VALID)) {
      expectFailure(validateRpps(variant), 'invalid_key');
    }
  });

  it.each(['1000345678', '100034567860', '1'])('rejects the wrong length %s', (input) => {
    const result = validateRpps(input);
    expectFailure(result, 'invalid_length');
    if (!result.ok) {
      expect(result.message).toEqual({
        fr: 'Le numéro RPPS doit compter 11 chiffres.',
        en: 'The RPPS number must have 11 digits.',
      });
    }
  });

  it.each(['1000345678A', '10003-456786', 'ABCDEFGHIJK', '1000345678６'])(
    'rejects non-digit characters in %s',
    (input) => {
      expectFailure(validateRpps(input), 'invalid_characters');
    },
  );

  it.each(['', '   ', '\n\t'])('rejects empty input %j', (input) => {
    expectFailure(validateRpps(input), 'empty');
  });
});

describe('rppsToIdnps', () => {
  it('prefixes a valid RPPS with 8', () => {
    expect(rppsToIdnps('10003456786')).toBe('810003456786');
    expect(rppsToIdnps(' 1000 3456 786 ')).toBe('810003456786');
  });

  it('refuses to build an IDNPS from an invalid RPPS', () => {
    expect(() => rppsToIdnps('10003456789')).toThrow(RangeError);
    expect(() => rppsToIdnps('')).toThrow(/required/);
  });
});

// ---------------------------------------------------------------------------
// FINESS
// ---------------------------------------------------------------------------

describe('validateFiness', () => {
  it.each([
    // AP-HP (legal entity). Hand-worked: 7 5 0 7 1 2 1 8 4 from the right:
    // 4 + (8*2 -> 7) + 1 + (2*2=4) + 1 + (7*2 -> 5) + 0 + (5*2 -> 1) + 7 = 30.
    ['750712184', '75'],
    // CH d'Issoire. 6 3 0 7 8 1 0 0 3 from the right:
    // 3 + 0 + 0 + (1*2=2) + 8 + (7*2 -> 5) + 0 + (3*2=6) + 6 = 30.
    ['630781003', '63'],
  ])('accepts the hand-verified FINESS %s (department %s)', (finess, department) => {
    expect(validateFiness(finess)).toEqual({ ok: true, value: finess, department });
  });

  it.each([
    // CH de Bastia, as found in public FINESS-derived data. With 2B -> 22:
    // 2 2 0 0 0 0 0 2 0 from the right: 0 + (2*2=4) + 0+0+0+0+0 + (2*2=4) + 2 = 10.
    ['2B0000020', '2B'],
    // First Corse-du-Sud sequence number, key computed by hand with 2A -> 21:
    // 2 1 0 0 0 0 0 1 4 from the right: 4 + (1*2=2) + 0+0+0+0+0 + (1*2=2) + 2 = 10.
    ['2A0000014', '2A'],
  ])('accepts the Corsican FINESS %s', (finess, department) => {
    expect(validateFiness(finess)).toEqual({ ok: true, value: finess, department });
  });

  it('normalises lowercase Corsican codes and spaces', () => {
    expect(validateFiness(' 2a 000 001 4 ')).toEqual({ ok: true, value: '2A0000014', department: '2A' });
    expect(expectOk(validateFiness('2b0000020')).value).toBe('2B0000020');
  });

  it('does not treat 2B as "20" for the key (2B0000024 would be valid that way)', () => {
    expectFailure(validateFiness('2B0000024'), 'invalid_key');
  });

  it.each(['01000001', '33000012', '97010000', '2A000123', '2B765432', '99999999'])(
    'accepts %s + independently computed Luhn key, rejects the 9 other keys',
    (payload) => {
      const key = refLuhnCheckDigit(refFinessDigits(payload));
      const result = expectOk(validateFiness(payload + key));
      expect(result.department).toBe(payload.slice(0, 2));
      for (let d = 0; d <= 9; d++) {
        if (String(d) !== key) expectFailure(validateFiness(payload + String(d)), 'invalid_key');
      }
    },
  );

  it('detects every single-digit typo', () => {
    for (const variant of [...singleDigitErrors('750712184'), ...singleDigitErrors('2B0000020')]) {
      expect(validateFiness(variant).ok).toBe(false);
    }
  });

  it.each(['75071218', '7507121845', '2A00000'])('rejects the wrong length %s', (input) => {
    expectFailure(validateFiness(input), 'invalid_length');
  });

  it.each(['75071218X', 'AB0712184', '2C0000014', '3A0000014', '7507-1218'])(
    'rejects the malformed FINESS %s',
    (input) => {
      expectFailure(validateFiness(input), 'invalid_format');
    },
  );

  it.each(['', '  '])('rejects empty input %j', (input) => {
    expectFailure(validateFiness(input), 'empty');
  });
});

// ---------------------------------------------------------------------------
// NIR
// ---------------------------------------------------------------------------

describe('validateNir', () => {
  // Commonly published example, checked by hand (10^6 ≡ 27 mod 97):
  // N = 2550814168025 = 2550814 × 10^6 + 168025
  // 2550814 = 97 × 26297 + 5 ; 168025 = 97 × 1732 + 21
  // N ≡ 5 × 27 + 21 = 156 ≡ 59 (mod 97) → key = 97 − 59 = 38.
  it('accepts the published example 255081416802538', () => {
    expect(validateNir('255081416802538')).toEqual({
      ok: true,
      value: '255081416802538',
      sex: 'female',
      birthYear2: '55',
      birthMonth: '08',
      department: '14',
    });
  });

  it('normalises spaces', () => {
    expect(expectOk(validateNir(' 2 55 08 14 168 025 38 ')).value).toBe('255081416802538');
  });

  // Corsican NIRs built by hand: 1 85 02 2A 004 123 and 1 85 02 2B 004 123.
  // 2A -> 19: N = 1850219004123 = 1850219 × 10^6 + 4123
  //   1850219 = 97 × 19074 + 41 ; 4123 = 97 × 42 + 49
  //   N ≡ 41 × 27 + 49 = 1156 ≡ 89 → key = 97 − 89 = 08.
  // 2B -> 18: 1850218 ≡ 40 → N ≡ 40 × 27 + 49 = 1129 ≡ 62 → key = 35.
  it('accepts Corsican NIRs (2A -> 19, 2B -> 18 for the key)', () => {
    expect(validateNir('185022A00412308')).toEqual({
      ok: true,
      value: '185022A00412308',
      sex: 'male',
      birthYear2: '85',
      birthMonth: '02',
      department: '2A',
    });
    expect(expectOk(validateNir('185022B00412335')).department).toBe('2B');
  });

  it('normalises a lowercase Corsican department', () => {
    expect(expectOk(validateNir('1 85 02 2a 004 123 08')).value).toBe('185022A00412308');
    expect(expectOk(validateNir('185022b00412335')).value).toBe('185022B00412335');
  });

  it('rejects Corsican NIRs whose key ignores the 2A/2B substitution', () => {
    expectFailure(validateNir('185022A00412335'), 'invalid_key'); // 2B key on a 2A number
    expectFailure(validateNir('185022B00412308'), 'invalid_key'); // 2A key on a 2B number
    // Key computed with "20" instead of 19/18 (1850220004123 ≡ 19 → key 78).
    expect(refNirKey('1850220004123')).toBe('78');
    expectFailure(validateNir('185022A00412378'), 'invalid_key');
  });

  it('still accepts department 20 (Corsica before 1976)', () => {
    const body = '1650320004123';
    expect(expectOk(validateNir(body + refNirKey(body))).department).toBe('20');
  });

  it.each([
    ['1850275056123', 'male', '75', '02'],
    ['2991213055004', 'female', '13', '12'],
    ['3720199350001', 'male', '99', '01'], // foreign-born, registration in progress
    ['4721099135042', 'female', '99', '10'],
    ['7801299999999', 'unknown', '99', '12'], // provisional number (NIA)
    ['8801299999998', 'unknown', '99', '12'],
    ['1504275120042', 'male', '75', '42'], // special month value (unknown month)
    ['2509975120042', 'female', '75', '99'],
    ['2000120000000', 'female', '20', '01'],
  ] as const)('accepts %s + independently computed key', (body, sex, department, birthMonth) => {
    const nir = body + refNirKey(body);
    expect(validateNir(nir)).toEqual({
      ok: true,
      value: nir,
      sex,
      birthYear2: body.slice(1, 3),
      birthMonth,
      department,
    });
  });

  it('returns the 3-digit department for overseas births', () => {
    const body = '1920397105123'; // 971 Guadeloupe, commune 05
    expect(expectOk(validateNir(body + refNirKey(body))).department).toBe('971');
  });

  it('accepts key 97 (N divisible by 97) and never key 00', () => {
    let body = '';
    for (let order = 0; order < 97 && body === ''; order++) {
      const candidate = `18502750561${String(order).padStart(2, '0')}`;
      if (refNirKey(candidate) === '97') body = candidate;
    }
    expect(body).not.toBe('');
    expect(expectOk(validateNir(`${body}97`)).value).toBe(`${body}97`);
    expectFailure(validateNir(`${body}00`), 'invalid_key');
  });

  it('rejects a wrong key', () => {
    const result = validateNir('255081416802539');
    expectFailure(result, 'invalid_key');
    if (!result.ok) {
      expect(result.message).toEqual({
        fr: 'La clé de contrôle du NIR est incorrecte.',
        en: 'The NIR check key is incorrect.',
      });
    }
    expectFailure(validateNir('255081416802598'), 'invalid_key'); // key > 97
  });

  it('detects every single-digit typo', () => {
    for (const variant of [...singleDigitErrors('255081416802538'), ...singleDigitErrors('185022A00412308')]) {
      expect(validateNir(variant).ok).toBe(false);
    }
  });

  it.each(['0', '5', '6', '9'])('rejects the sex digit %s', (sex) => {
    const body = `${sex}550814168025`;
    expectFailure(validateNir(body + refNirKey(body)), 'invalid_sex');
  });

  it.each(['00', '13', '19'])('rejects the birth month %s', (month) => {
    const body = `155${month}14168025`;
    expectFailure(validateNir(body + refNirKey(body)), 'invalid_month');
  });

  it.each(['2550814168025', '25508141680253', '2550814168025380'])('rejects the wrong length %s', (input) => {
    expectFailure(validateNir(input), 'invalid_length');
  });

  it.each(['2550814168025AB', '25508141680X538', '185022C00412308', '1850A2200412308', '18502A200412308', '2550814-6802538'])(
    'rejects invalid characters in %s',
    (input) => {
      expectFailure(validateNir(input), 'invalid_characters');
    },
  );

  it.each(['', '   '])('rejects empty input %j', (input) => {
    expectFailure(validateNir(input), 'empty');
  });
});
