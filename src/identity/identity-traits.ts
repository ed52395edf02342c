// A patient's identity traits (RNIV: birth name, first names, birth date, sex, birthplace code) and
// optional INS/NIR, validated before anything is written.
import { AppError } from '../kernel/errors.js';
import { validateNir } from '../interop/identifiers.js';

export interface IdentityTraitsInput {
  birthName: string;
  firstNames: string;
  birthDate: string;
  sex: 'F' | 'M' | 'U';
  birthplaceCode: string;
  insNir?: string | undefined;
}

export interface IdentityTraits extends IdentityTraitsInput {
  insNir: string | undefined;
}

/** INSEE code of the birth commune (2A/2B for Corsica), or 99xxx for a birth abroad. */
const BIRTHPLACE = /^(\d{2}|2A|2B)\d{3}$/;

export function validateIdentityTraits(input: IdentityTraitsInput, today: Date): IdentityTraits {
  const birthplaceCode = input.birthplaceCode.trim().toUpperCase();
  if (!BIRTHPLACE.test(birthplaceCode)) {
    throw new AppError('validation_failed', {
      fr: 'Le code du lieu de naissance doit être le code INSEE de la commune (5 caractères) ou 99xxx pour une naissance à l’étranger.',
      en: 'The birthplace code must be the INSEE code of the commune (5 characters), or 99xxx for a birth abroad.',
    }, { extra: { errors: [{ pointer: '/identity/birthplaceCode', message: 'invalid INSEE code' }] } });
  }
  const birthDate = new Date(`${input.birthDate}T00:00:00Z`);
  if (Number.isNaN(birthDate.getTime()) || birthDate > today || birthDate.getUTCFullYear() < 1880 || birthDate.toISOString().slice(0, 10) !== input.birthDate) {
    throw new AppError('validation_failed', {
      fr: 'La date de naissance est invalide.',
      en: 'The birth date is invalid.',
    }, { extra: { errors: [{ pointer: '/identity/birthDate', message: 'invalid date' }] } });
  }
  let insNir: string | undefined;
  if (input.insNir !== undefined && input.insNir.trim() !== '') {
    const nir = validateNir(input.insNir);
    if (!nir.ok) throw new AppError('invalid_identifier', nir.message, { extra: { errors: [{ pointer: '/identity/insNir', message: nir.reason }] } });
    insNir = nir.value;
  }
  return {
    birthName: input.birthName.trim().toUpperCase(),
    firstNames: input.firstNames.trim(),
    birthDate: input.birthDate,
    sex: input.sex,
    birthplaceCode,
    insNir,
  };
}
