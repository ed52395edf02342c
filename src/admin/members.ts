// Members and roles of an organisation, managed by its administrators. An administrator sees members'
// accounts, never patient data because of that role.
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { Code, Text } from '../kernel/schemas.js';
import { recordSecurityEvent } from '../audit/security-events.js';
import { AppError } from '../kernel/errors.js';
import { contextOf } from '../kernel/http.js';
import { ROLES, type Role } from '../kernel/schema.js';
import type { Services } from '../services.js';
import { assertProfessionalHasRpps, checkedFiness } from '../identity/accounts.js';
import { authenticate, sessionOf } from '../identity/guard.js';
import { requireOrganisationRole } from './guard.js';

export const OrgParams = Type.Object({ orgId: Type.String({ format: 'uuid' }) });
const MemberParams = Type.Object({ orgId: Type.String({ format: 'uuid' }), userId: Type.String({ format: 'uuid' }) });
export const RolesSchema = Type.Array(Type.Enum([...ROLES]), { uniqueItems: true, maxItems: ROLES.length });
const RolesBody = Type.Object({ roles: RolesSchema }, { additionalProperties: false });
const OrganisationBody = Type.Object(
  { name: Type.Optional(Text(200)), finess: Type.Optional(Type.Union([Code(20, 0), Type.Null()])) },
  { additionalProperties: false },
);

export function memberRoutes(app: FastifyInstance, services: Services): void {
  const { db } = services;

  app.register(async (scope) => {
    scope.addHook('preValidation', authenticate(services.sessions, services.config.session.secureCookies, { requireSecondFactor: true }));
    scope.addHook('preHandler', async (request) => {
      const { orgId } = request.params as { orgId: string };
      await requireOrganisationRole(db, sessionOf(request).userId, orgId, 'org_admin');
    });

    scope.get('/api/admin/organisations/:orgId', { schema: { tags: ['admin'], params: OrgParams } }, async (request) => {
      const { orgId } = request.params as { orgId: string };
      return db.selectFrom('organisations').select(['id', 'name', 'finess']).where('id', '=', orgId).executeTakeFirstOrThrow();
    });

    scope.patch('/api/admin/organisations/:orgId', { schema: { tags: ['admin'], params: OrgParams, body: OrganisationBody } }, async (request) => {
      const { orgId } = request.params as { orgId: string };
      const body = request.body as { name?: string; finess?: string | null };
      const changes = {
        ...(body.name ? { name: body.name.trim() } : {}),
        ...(body.finess !== undefined ? { finess: checkedFiness(body.finess) } : {}),
      };
      if (Object.keys(changes).length > 0) await db.updateTable('organisations').set(changes).where('id', '=', orgId).execute();
      return db.selectFrom('organisations').select(['id', 'name', 'finess']).where('id', '=', orgId).executeTakeFirstOrThrow();
    });

    scope.get('/api/admin/organisations/:orgId/members', { schema: { tags: ['admin'], params: OrgParams } }, async (request) => {
      const { orgId } = request.params as { orgId: string };
      const rows = await db
        .selectFrom('member_roles')
        .innerJoin('users', 'users.id', 'member_roles.user_id')
        .select(['users.id', 'users.email', 'users.display_name', 'users.rpps', 'users.profession', 'member_roles.role'])
        .where('member_roles.organisation_id', '=', orgId)
        .orderBy('users.display_name')
        .execute();
      const members = new Map<string, { userId: string; email: string; displayName: string; rpps: string | null; profession: string | null; roles: Role[] }>();
      for (const row of rows) {
        const member = members.get(row.id) ?? { userId: row.id, email: row.email, displayName: row.display_name, rpps: row.rpps, profession: row.profession, roles: [] };
        member.roles.push(row.role);
        members.set(row.id, member);
      }
      return [...members.values()];
    });

    scope.put('/api/admin/organisations/:orgId/members/:userId/roles', { schema: { tags: ['admin'], params: MemberParams, body: RolesBody } }, async (request) => {
      const { orgId, userId } = request.params as { orgId: string; userId: string };
      const { roles } = request.body as { roles: Role[] };
      const actor = sessionOf(request).userId;
      return db.transaction().execute(async (tx) => {
        // One role change at a time per organisation: "another admin remains" must hold when we commit.
        await tx.selectFrom('organisations').select('id').where('id', '=', orgId).forUpdate().executeTakeFirst();
        const current = await tx.selectFrom('member_roles').select('role').where('organisation_id', '=', orgId).where('user_id', '=', userId).forUpdate().execute();
        if (current.length === 0) throw new AppError('not_found');
        const user = await tx.selectFrom('users').select('rpps').where('id', '=', userId).executeTakeFirstOrThrow();
        assertProfessionalHasRpps(roles, user.rpps);
        const before = new Set(current.map((row) => row.role));
        const granted = roles.filter((role) => !before.has(role));
        const revoked = [...before].filter((role) => !roles.includes(role));
        if (revoked.includes('org_admin')) await assertAnotherAdmin(tx, orgId, userId);
        if (roles.length === 0) throw new AppError('validation_failed', { fr: 'Un membre garde au moins un rôle.', en: 'A member keeps at least one role.' });
        if (granted.includes('patient')) {
          const identity = await tx.selectFrom('patient_identities').select('user_id').where('user_id', '=', userId).executeTakeFirst();
          if (!identity) throw new AppError('validation_failed', { fr: 'Ce compte n’a pas de traits d’identité de patient.', en: 'This account has no patient identity traits.' });
        }
        if (revoked.length > 0) await tx.deleteFrom('member_roles').where('organisation_id', '=', orgId).where('user_id', '=', userId).where('role', 'in', revoked).execute();
        if (granted.length > 0) await tx.insertInto('member_roles').values(granted.map((role) => ({ organisation_id: orgId, user_id: userId, role }))).execute();
        const context = contextOf(request);
        for (const role of granted) await recordSecurityEvent(tx, context, { type: 'role.granted', outcome: 'success', actorUserId: actor, subjectUserId: userId, organisationId: orgId, detail: { role } });
        for (const role of revoked) await recordSecurityEvent(tx, context, { type: 'role.revoked', outcome: 'success', actorUserId: actor, subjectUserId: userId, organisationId: orgId, detail: { role } });
        return { roles };
      });
    });
  });
}

async function assertAnotherAdmin(q: Parameters<typeof requireOrganisationRole>[0], orgId: string, leavingUserId: string): Promise<void> {
  const other = await q
    .selectFrom('member_roles')
    .select('user_id')
    .where('organisation_id', '=', orgId)
    .where('role', '=', 'org_admin')
    .where('user_id', '!=', leavingUserId)
    .executeTakeFirst();
  if (!other) throw new AppError('conflict', { fr: 'L’établissement doit garder au moins un administrateur.', en: 'The organisation must keep at least one administrator.' });
}
