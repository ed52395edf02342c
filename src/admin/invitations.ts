// Invitations: an administrator invites a person by e-mail with roles (and, for a professional, the
// RPPS number checked on their credentials); the person opens the single-use link, chooses a password
// and gets their own account. The link is the only secret; the mail carries no health data.
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { Code, Text } from '../kernel/schemas.js';
import { recordSecurityEvent, type RequestContext } from '../audit/security-events.js';
import type { Queryable } from '../kernel/db.js';
import { hashToken, randomToken } from '../kernel/crypto.js';
import { AppError } from '../kernel/errors.js';
import { contextOf, publicLimit } from '../kernel/http.js';
import type { Role } from '../kernel/schema.js';
import type { Services } from '../services.js';
import { assertProfessionalHasRpps, checkedRpps, createAccount, normaliseEmail } from '../identity/accounts.js';
import { setSessionCookie } from '../identity/cookies.js';
import { authenticate, sessionOf } from '../identity/guard.js';
import { validateIdentityTraits, type IdentityTraitsInput } from '../identity/identity-traits.js';
import { DisplayNameSchema, EmailSchema, IdentityTraitsSchema, NewPasswordSchema } from '../identity/schemas.js';
import { attachInvitedConsultations } from '../consultation/booking.js';
import { requireOrganisationRole } from './guard.js';
import { OrgParams, RolesSchema } from './members.js';

const InviteBody = Type.Object(
  {
    email: EmailSchema,
    roles: Type.Array(RolesSchema.items, { minItems: 1, uniqueItems: true, maxItems: 5 }),
    rpps: Type.Optional(Code(20, 0)),
    profession: Type.Optional(Text(80)),
  },
  { additionalProperties: false },
);
const TokenParams = Type.Object({ token: Type.String({ minLength: 20, maxLength: 200 }) });
const AcceptBody = Type.Object(
  {
    token: Type.String({ minLength: 20, maxLength: 200 }),
    password: NewPasswordSchema,
    displayName: DisplayNameSchema,
    identity: Type.Optional(IdentityTraitsSchema),
  },
  { additionalProperties: false },
);

export function invitationRoutes(app: FastifyInstance, services: Services): void {
  const { db, config } = services;

  async function openInvitation(token: string) {
    const invitation = await db
      .selectFrom('invitations')
      .innerJoin('organisations', 'organisations.id', 'invitations.organisation_id')
      .select(['invitations.id', 'invitations.organisation_id', 'invitations.email', 'invitations.roles', 'invitations.rpps', 'invitations.profession', 'organisations.name as organisation_name'])
      .where('invitations.token_hash', '=', hashToken(token))
      .where('invitations.accepted_at', 'is', null)
      .where('invitations.expires_at', '>', new Date(services.now()))
      .executeTakeFirst();
    if (!invitation) throw new AppError('invalid_token');
    return invitation;
  }

  app.get('/api/invitations/:token', { config: { rateLimit: publicLimit('enrolment', services.config.rateLimitScale) }, schema: { tags: ['admin'], params: TokenParams } }, async (request) => {
    const invitation = await openInvitation((request.params as { token: string }).token);
    const existing = await db.selectFrom('users').select('id').where('email', '=', invitation.email).executeTakeFirst();
    return { organisationName: invitation.organisation_name, email: invitation.email, roles: invitation.roles, accountExists: existing !== undefined };
  });

  app.post('/api/invitations/accept', { config: { rateLimit: publicLimit('enrolment', services.config.rateLimitScale) }, schema: { tags: ['admin'], body: AcceptBody } }, async (request, reply) => {
    const body = request.body as { token: string; password: string; displayName: string; identity?: IdentityTraitsInput };
    const invitation = await openInvitation(body.token);
    const identity = body.identity ? validateIdentityTraits(body.identity, new Date(services.now())) : undefined;
    const result = await db.transaction().execute(async (tx) => {
      const claimed = await tx.updateTable('invitations').set({ accepted_at: new Date(services.now()) }).where('id', '=', invitation.id).where('accepted_at', 'is', null).executeTakeFirst();
      if (claimed.numUpdatedRows !== 1n) throw new AppError('invalid_token');
      const userId = await createAccount(tx, services.hasher, {
        email: invitation.email,
        displayName: body.displayName,
        password: body.password,
        organisationId: invitation.organisation_id,
        roles: invitation.roles,
        rpps: invitation.rpps,
        profession: invitation.profession,
        identity,
      });
      // A consultation booked for this person before they had an account becomes theirs.
      await attachInvitedConsultations(tx, invitation.id, userId, new Date(services.now()), config.consultation.followUpDays);
      const created = await services.sessions.create(tx, { userId, secondFactorPending: false, secondFactorVerified: false, sourceAddress: request.ip, userAgent: request.headers['user-agent'] ?? '' });
      await recordSecurityEvent(tx, contextOf(request), { type: 'invitation.accepted', outcome: 'success', actorUserId: userId, organisationId: invitation.organisation_id, detail: { invitationId: invitation.id } });
      await recordSecurityEvent(tx, contextOf(request), { type: 'account.created', outcome: 'success', actorUserId: userId, organisationId: invitation.organisation_id, detail: { via: 'invitation' } });
      return { userId, token: created.token };
    });
    setSessionCookie(reply, result.token, config.session.secureCookies);
    return reply.code(201).send({ userId: result.userId });
  });

  app.register(async (scope) => {
    scope.addHook('preValidation', authenticate(services.sessions, config.session.secureCookies, { requireSecondFactor: true }));
    scope.addHook('preHandler', async (request) => {
      await requireOrganisationRole(db, sessionOf(request).userId, (request.params as { orgId: string }).orgId, 'org_admin');
    });

    scope.get('/api/admin/organisations/:orgId/invitations', { schema: { tags: ['admin'], params: OrgParams } }, async (request) => {
      const { orgId } = request.params as { orgId: string };
      const rows = await db.selectFrom('invitations').select(['id', 'email', 'roles', 'expires_at', 'accepted_at']).where('organisation_id', '=', orgId).orderBy('created_at', 'desc').limit(200).execute();
      return rows.map((row) => ({ id: row.id, email: row.email, roles: row.roles, expiresAt: row.expires_at.toISOString(), acceptedAt: row.accepted_at?.toISOString() ?? null }));
    });

    scope.post('/api/admin/organisations/:orgId/invitations', { schema: { tags: ['admin'], params: OrgParams, body: InviteBody } }, async (request, reply) => {
      const { orgId } = request.params as { orgId: string };
      const body = request.body as { email: string; roles: Role[]; rpps?: string; profession?: string };
      const email = normaliseEmail(body.email);
      const rpps = checkedRpps(body.rpps);
      assertProfessionalHasRpps(body.roles, rpps);
      if (await db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst()) {
        throw new AppError('email_taken', { fr: 'Cette personne a déjà un compte : attribuez-lui des rôles depuis la liste des membres.', en: 'This person already has an account: grant roles from the member list.' });
      }
      const invitation = await db.transaction().execute((tx) =>
        createInvitation(tx, services, { organisationId: orgId, email, roles: body.roles, rpps, profession: body.profession?.trim() || null, invitedBy: sessionOf(request).userId, context: contextOf(request) }),
      );
      return reply.code(201).send({ id: invitation.id, expiresAt: invitation.expiresAt.toISOString() });
    });
  });
}

export interface NewInvitation {
  organisationId: string;
  email: string;
  roles: Role[];
  rpps: string | null;
  profession: string | null;
  invitedBy: string;
  context: RequestContext;
  /** A line added to the mail (e.g. "a teleconsultation is booked for you"): never health data. */
  purpose?: { fr: string; en: string };
}

/** Writes the invitation and mails its single-use link, in the caller's transaction: no mail, no invitation. */
export async function createInvitation(tx: Queryable, services: Services, invite: NewInvitation): Promise<{ id: string; expiresAt: Date }> {
  const token = randomToken();
  const expiresAt = new Date(services.now() + services.config.invitationTtlMs);
  const organisation = await tx.selectFrom('organisations').select('name').where('id', '=', invite.organisationId).executeTakeFirstOrThrow();
  const link = `${services.config.publicUrl}/#/invitation?token=${token}`;
  const row = await tx
    .insertInto('invitations')
    .values({ organisation_id: invite.organisationId, email: invite.email, roles: invite.roles, rpps: invite.rpps, profession: invite.profession, token_hash: hashToken(token), invited_by: invite.invitedBy, expires_at: expiresAt })
    .returning('id')
    .executeTakeFirstOrThrow();
  await recordSecurityEvent(tx, invite.context, { type: 'invitation.created', outcome: 'success', actorUserId: invite.invitedBy, organisationId: invite.organisationId, detail: { invitationId: row.id, roles: invite.roles.join(',') } });
  // Last step of the transaction: if the mail cannot leave, no invitation exists.
  const purposeFr = invite.purpose ? `${invite.purpose.fr}\n` : '';
  const purposeEn = invite.purpose ? `${invite.purpose.en}\n` : '';
  await services.mailer.send({
    to: invite.email,
    subject: `Ausculta : invitation de ${organisation.name} / invitation`,
    text: `${purposeFr}${organisation.name} vous invite à créer votre compte Ausculta. Ouvrez ce lien (valable 7 jours, une seule fois) :\n${link}\n\n${purposeEn}${organisation.name} invites you to create your Ausculta account. Open this link (valid 7 days, once):\n${link}`,
  });
  return { id: row.id, expiresAt };
}
