// Organisation administration needs the org_admin role in *that* organisation, with a second factor.
// Another organisation's id answers like an unknown one: tenants do not learn of each other.
import type { Queryable } from '../kernel/db.js';
import { AppError } from '../kernel/errors.js';
import type { Role } from '../kernel/schema.js';

export async function requireOrganisationRole(q: Queryable, userId: string, organisationId: string, role: Role): Promise<void> {
  const row = await q
    .selectFrom('member_roles')
    .select('role')
    .where('user_id', '=', userId)
    .where('organisation_id', '=', organisationId)
    .where('role', '=', role)
    .executeTakeFirst();
  if (!row) throw new AppError('not_found');
}
