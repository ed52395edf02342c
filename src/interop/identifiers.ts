/**
 * Validation of French health identifiers: RPPS (health professionals),
 * FINESS (health and social care facilities) and NIR / INS-NIR (patients).
 *
 * Every validator normalises its input (trim, remove whitespace, uppercase)
 * and returns a discriminated result: `{ ok: true, value, ...details }` with
 * the normalised value, or `{ ok: false, reason, message }` with a machine
 * code and a human message in French and English.
 *
 * Pure functions, no I/O. A NIR is personal data: never log it.
 */

/** A human-readable message in both UI languages. */
export interface LocalizedMessage {
  readonly fr: string;
  readonly en: string;
}

/** Machine codes explaining why an identifier was rejected. */
export type IdentifierFailureReason =
  | 'empty'
  | 'invalid_characters'
  | 'invalid_length'
  | 'invalid_format'
  | 'invalid_sex'
  | 'invalid_month'
  | 'invalid_key';

export interface IdentifierFailure {
  readonly ok: false;
  readonly reason: IdentifierFailureReason;
  readonly message: LocalizedMessage;
}

/**
 * Result of a validator. `Extra` holds the fields decoded from a valid
 * identifier (e.g. the FINESS department).
 */
export type IdentifierValidation<Extra extends object = Record<never, never>> =
  | ({ readonly ok: true; readonly value: string } & Readonly<Extra>)
  | IdentifierFailure;

export type RppsValidation = IdentifierValidation;
export type FinessValidation = IdentifierValidation<{ department: string }>;
export type NirSex = 'male' | 'female' | 'unknown';
export type NirValidation = IdentifierValidation<{
  sex: NirSex;
  birthYear2: string;
  birthMonth: string;
  department: string;
}>;

// ---------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------

/** Normalisation rule: trim, remove every whitespace character, uppercase. */
function normalize(input: string): string {
  // Defensive: JavaScript callers may pass null/undefined despite the type.
  return typeof input === 'string' ? input.replace(/\s+/g, '').toUpperCase() : '';
}

function fail(reason: IdentifierFailureReason, fr: string, en: string): IdentifierFailure {
  return { ok: false, reason, message: { fr, en } };
}

/**
 * Luhn (mod 10) rule: starting from the rightmost digit (the check digit),
 * double every second digit, subtract 9 from results above 9, and sum all
 * digits; the number is valid when the sum is a multiple of 10.
 * `digits` must contain only 0-9.
 */
function luhnIsValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

// ---------------------------------------------------------------------------
// RPPS
// ---------------------------------------------------------------------------

/**
 * RPPS (Répertoire partagé des professionnels de santé) number:
 * exactly 11 digits, the last one being a Luhn check digit computed over the
 * whole 11 digits.
 */
export function validateRpps(input: string): RppsValidation {
  const value = normalize(input);
  if (value === '') {
    return fail('empty', 'Le numéro RPPS est obligatoire.', 'The RPPS number is required.');
  }
  if (!/^\d+$/.test(value)) {
    return fail(
      'invalid_characters',
      'Le numéro RPPS ne doit contenir que des chiffres.',
      'The RPPS number must contain digits only.',
    );
  }
  if (value.length !== 11) {
    return fail(
      'invalid_length',
      'Le numéro RPPS doit compter 11 chiffres.',
      'The RPPS number must have 11 digits.',
    );
  }
  if (!luhnIsValid(value)) {
    return fail(
      'invalid_key',
      'La clé de contrôle du numéro RPPS est incorrecte (vérifiez la saisie).',
      'The RPPS number check digit is incorrect (please check for typos).',
    );
  }
  return { ok: true, value };
}

/**
 * National professional identifier (IDNPS, "idNatPs") derived from an RPPS
 * number: the type prefix "8" followed by the 11 RPPS digits. This is the
 * identifier used by Pro Santé Connect and the FR Core profiles.
 *
 * @throws {RangeError} when `rpps` is not a valid RPPS number, so that a
 *   malformed IDNPS can never be produced.
 */
export function rppsToIdnps(rpps: string): string {
  const result = validateRpps(rpps);
  if (!result.ok) throw new RangeError(result.message.en);
  return `8${result.value}`;
}

// ---------------------------------------------------------------------------
// FINESS
// ---------------------------------------------------------------------------

/**
 * Corsica in the FINESS check key. FINESS numbers of Corse-du-Sud and
 * Haute-Corse start with "2A" / "2B". No official ANS/DREES specification of
 * the key was found; the rule applied here replaces the letter by its rank in
 * the alphabet (2A -> 21, 2B -> 22) before the Luhn computation, as done in
 * the open-source validator of gip-inclusion/pilotage
 * (pilotage/itoutils/validators.py: `finess.replace("2A", "21").replace("2B", "22")`).
 * Independent cross-check: the FINESS of the CH de Bastia, 2B0000020, seen in
 * public FINESS-derived data, only satisfies Luhn with B -> 2 (with "20" it
 * would have needed the key 4), and "2A0000014" (first Corse-du-Sud sequence
 * number) is consistent with A -> 1. This rule is therefore well supported but
 * not confirmed by an official document: revisit if a valid Corsican FINESS
 * is ever rejected.
 */
const FINESS_CORSICA_LUHN: Readonly<Record<string, string>> = { '2A': '21', '2B': '22' };

/**
 * FINESS number: 9 characters. The first two are the department code (two
 * digits, or 2A / 2B for Corsica), followed by 7 digits, the last of which is
 * a Luhn check key computed over the 9 characters. For overseas territories
 * the department code returned is the 2-character prefix ("97"/"98"); the
 * precise territory is encoded in the following digits.
 */
export function validateFiness(input: string): FinessValidation {
  const value = normalize(input);
  if (value === '') {
    return fail('empty', 'Le numéro FINESS est obligatoire.', 'The FINESS number is required.');
  }
  if (value.length !== 9) {
    return fail(
      'invalid_length',
      'Le numéro FINESS doit compter 9 caractères.',
      'The FINESS number must have 9 characters.',
    );
  }
  if (!/^(?:\d{2}|2[AB])\d{7}$/.test(value)) {
    return fail(
      'invalid_format',
      'Le numéro FINESS doit commencer par un code département (2 chiffres, 2A ou 2B) suivi de 7 chiffres.',
      'The FINESS number must start with a department code (2 digits, 2A or 2B) followed by 7 digits.',
    );
  }
  const department = value.slice(0, 2);
  const luhnDigits = (FINESS_CORSICA_LUHN[department] ?? department) + value.slice(2);
  if (!luhnIsValid(luhnDigits)) {
    return fail(
      'invalid_key',
      'La clé de contrôle du numéro FINESS est incorrecte (vérifiez la saisie).',
      'The FINESS number check key is incorrect (please check for typos).',
    );
  }
  return { ok: true, value, department };
}

// ---------------------------------------------------------------------------
// NIR / INS-NIR
// ---------------------------------------------------------------------------

/**
 * Sex digit of a NIR: 1 / 2 (man / woman), 3 / 4 (foreign-born person whose
 * registration is in progress, man / woman), 7 / 8 (provisional number, NIA).
 * A provisional number does not certify the sex, so it maps to 'unknown'.
 */
const NIR_SEX: Readonly<Record<string, NirSex>> = {
  '1': 'male',
  '2': 'female',
  '3': 'male',
  '4': 'female',
  '7': 'unknown',
  '8': 'unknown',
};

/** Corsica in the NIR key: 2A counts as 19 and 2B as 18 (INSEE rule). */
const NIR_CORSICA_KEY: Readonly<Record<string, string>> = { '2A': '19', '2B': '18' };

/**
 * NIR / INS-NIR: 15 characters = 13-character number + 2-digit key.
 * Layout: sex (1 digit) | birth year (2) | birth month (2) | department (2:
 * digits, 2A or 2B) | commune (3) | order number (3) | key (2).
 * Month: 01-12, or 20-99 for the special values used when the month is
 * unknown (accepted leniently).
 * Key = 97 − (N mod 97), N being the 13-character number read as an integer
 * with 2A replaced by 19 and 2B by 18.
 * Overseas births (department 97x/98x) use a 3-digit department and a 2-digit
 * commune: the returned `department` then has 3 digits.
 */
export function validateNir(input: string): NirValidation {
  const value = normalize(input);
  if (value === '') {
    return fail('empty', 'Le NIR est obligatoire.', 'The NIR is required.');
  }
  if (value.length !== 15) {
    return fail(
      'invalid_length',
      'Le NIR doit compter 15 caractères (13 caractères suivis de la clé à 2 chiffres).',
      'The NIR must have 15 characters (13 characters followed by the 2-digit key).',
    );
  }
  if (!/^\d{5}(?:\d{2}|2[AB])\d{8}$/.test(value)) {
    return fail(
      'invalid_characters',
      'Le NIR ne doit contenir que des chiffres, sauf 2A ou 2B à la place du département pour la Corse.',
      'The NIR must contain digits only, except 2A or 2B as the department for Corsica.',
    );
  }
  const sex = NIR_SEX[value.charAt(0)];
  if (sex === undefined) {
    return fail(
      'invalid_sex',
      'Le premier chiffre du NIR (sexe) doit être 1, 2, 3, 4, 7 ou 8.',
      'The first digit of the NIR (sex) must be 1, 2, 3, 4, 7 or 8.',
    );
  }
  const birthMonth = value.slice(3, 5);
  const month = Number(birthMonth);
  if (!((month >= 1 && month <= 12) || month >= 20)) {
    return fail(
      'invalid_month',
      'Le mois de naissance du NIR doit être compris entre 01 et 12 (ou 20 à 99 si inconnu).',
      'The NIR birth month must be between 01 and 12 (or 20 to 99 when unknown).',
    );
  }
  const twoCharDepartment = value.slice(5, 7);
  const number =
    value.slice(0, 5) + (NIR_CORSICA_KEY[twoCharDepartment] ?? twoCharDepartment) + value.slice(7, 13);
  const expectedKey = 97n - (BigInt(number) % 97n);
  if (BigInt(value.slice(13)) !== expectedKey) {
    return fail(
      'invalid_key',
      'La clé de contrôle du NIR est incorrecte.',
      'The NIR check key is incorrect.',
    );
  }
  const department =
    twoCharDepartment === '97' || twoCharDepartment === '98' ? value.slice(5, 8) : twoCharDepartment;
  return { ok: true, value, sex, birthYear2: value.slice(1, 3), birthMonth, department };
}
