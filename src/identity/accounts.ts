// Creating accounts: one account per person, a stable identifier (UUID), roles per organisation.
// Every rule is checked before the first write; the caller's transaction makes it all-or-nothing.
import type { Queryable } from '../kernel/db.js';
import { AppError } from '../kernel/errors.js';
import { PROFESSIONAL_ROLES, type Role } from '../kernel/schema.js';
import { validateFiness, validateRpps } from '../interop/identifiers.js';
import type { IdentityTraits } from './identity-traits.js';
import { checkPasswordStrength, type PasswordHasher } from './passwords.js';

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

export interface NewAccount {
  email: string;
  displayName: string;
  password: string;
  locale?: 'fr' | 'en' | undefined;
  organisationId: string;
  roles: Role[];
  rpps?: string | null | undefined;
  profession?: string | null | undefined;
  identity?: IdentityTraits | undefined;
  /** Where the password sits in the request, for the error's pointer. */
  passwordPointer?: string;
}

export async function assertStrongPassword(password: string, personal: string[], pointer = '/password'): Promise<void> {
  const verdict = await checkPasswordStrength(password, personal);
  if (!verdict.ok) {
    throw new AppError('weak_password', verdict.message, { extra: { reason: verdict.reason, errors: [{ pointer, message: verdict.reason }] } });
  }
}

export function checkedRpps(rpps: string | null | undefined): string | null {
  if (rpps === null || rpps === undefined || rpps.trim() === '') return null;
  const result = validateRpps(rpps);
  if (!result.ok) throw new AppError('invalid_identifier', result.message, { extra: { errors: [{ pointer: '/rpps', message: result.reason }] } });
  return result.value;
}

export function checkedFiness(finess: string | null | undefined): string | null {
  if (finess === null || finess === undefined || finess.trim() === '') return null;
  const result = validateFiness(finess);
  if (!result.ok) throw new AppError('invalid_identifier', result.message, { extra: { errors: [{ pointer: '/finess', message: result.reason }] } });
  return result.value;
}

export function assertProfessionalHasRpps(roles: readonly Role[], rpps: string | null): void {
  if (roles.some((role) => PROFESSIONAL_ROLES.includes(role)) && !rpps) {
    throw new AppError('validation_failed', {
      fr: 'Un professionnel de santé doit avoir un numéro RPPS.',
      en: 'A health professional needs an RPPS number.',
    }, { extra: { errors: [{ pointer: '/rpps', message: 'required' }] } });
  }
}

export async function createAccount(q: Queryable, hasher: PasswordHasher, input: NewAccount): Promise<string> {
  const email = normaliseEmail(input.email);
  const rpps = checkedRpps(input.rpps);
  assertProfessionalHasRpps(input.roles, rpps);
  if (input.roles.includes('patient') && !input.identity) {
    throw new AppError('validation_failed', { fr: 'Les traits d’identité du patient sont requis.', en: 'The patient’s identity traits are required.' });
  }
  await assertStrongPassword(input.password, [email, input.displayName, input.identity?.birthName ?? '', input.identity?.firstNames ?? ''], input.passwordPointer);
  await assertUnique(q, email, rpps, input.identity?.insNir);

  const passwordHash = await hasher.hash(input.password);
  const user = await q
    .insertInto('users')
    .values({
      email,
      display_name: input.displayName.trim(),
      password_hash: passwordHash,
      locale: input.locale ?? 'fr',
      rpps,
      profession: input.profession?.trim() || null,
      password_changed_at: new Date(),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  if (input.identity) {
    const identity = input.identity;
    await q
      .insertInto('patient_identities')
      .values({
        user_id: user.id,
        birth_name: identity.birthName,
        first_names: identity.firstNames,
        birth_date: identity.birthDate,
        sex: identity.sex,
        birthplace_code: identity.birthplaceCode,
        ins_nir: identity.insNir ?? null,
      })
      .execute();
  }
  if (input.roles.length > 0) {
    await q.insertInto('member_roles').values(input.roles.map((role) => ({ organisation_id: input.organisationId, user_id: user.id, role }))).execute();
  }
  return user.id;
}

/** Clear 409s rather than a constraint violation from the database. */
async function assertUnique(q: Queryable, email: string, rpps: string | null, insNir: string | undefined): Promise<void> {
  if (await q.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst()) {
    throw new AppError('email_taken', { fr: 'Un compte existe déjà avec cette adresse.', en: 'An account already uses this e-mail.' });
  }
  if (rpps && (await q.selectFrom('users').select('id').where('rpps', '=', rpps).executeTakeFirst())) {
    throw new AppError('identifier_taken', { fr: 'Ce numéro RPPS est déjà associé à un compte.', en: 'This RPPS number already belongs to an account.' });
  }
  if (insNir && (await q.selectFrom('patient_identities').select('user_id').where('ins_nir', '=', insNir).executeTakeFirst())) {
    throw new AppError('identifier_taken', { fr: 'Ce NIR est déjà associé à un compte.', en: 'This NIR already belongs to an account.' });
  }
}

export async function rolesOf(q: Queryable, userId: string) {
  return q
    .selectFrom('member_roles')
    .innerJoin('organisations', 'organisations.id', 'member_roles.organisation_id')
    .select(['member_roles.organisation_id', 'organisations.name', 'member_roles.role'])
    .where('member_roles.user_id', '=', userId)
    .orderBy('organisations.name')
    .execute();
}

/** Groups role rows by organisation for the API. */
export function membershipsFrom(rows: Array<{ organisation_id: string; name: string; role: Role }>) {
  const byOrganisation = new Map<string, { organisationId: string; organisationName: string; roles: Role[] }>();
  for (const row of rows) {
    const entry = byOrganisation.get(row.organisation_id) ?? { organisationId: row.organisation_id, organisationName: row.name, roles: [] };
    entry.roles.push(row.role);
    byOrganisation.set(row.organisation_id, entry);
  }
  return [...byOrganisation.values()];
}
