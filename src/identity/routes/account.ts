// The signed-in user's own account: who am I, sessions, log out (here or everywhere), re-authenticate,
// profile, password and e-mail changes. Changing a secret ends every other session.
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { Text } from '../../kernel/schemas.js';
import { recordSecurityEvent } from '../../audit/security-events.js';
import { AppError } from '../../kernel/errors.js';
import { contextOf, tooManyRequests } from '../../kernel/http.js';
import type { Services } from '../../services.js';
import { assertStrongPassword, membershipsFrom, normaliseEmail, rolesOf } from '../accounts.js';
import { clearSessionCookie } from '../cookies.js';
import { factorsOf, methodsOf } from '../factors.js';
import { authenticate, requireRecentAuthentication, sessionOf } from '../guard.js';

const SessionAnswer = Type.Object({
  user: Type.Object({
    id: Type.String(),
    email: Type.String(),
    displayName: Type.String(),
    locale: Type.Enum(['fr', 'en']),
    rpps: Type.Union([Type.String(), Type.Null()]),
    profession: Type.Union([Type.String(), Type.Null()]),
  }),
  memberships: Type.Array(Type.Object({ organisationId: Type.String(), organisationName: Type.String(), roles: Type.Array(Type.String()) })),
  factors: Type.Object({ totp: Type.Boolean(), passkeys: Type.Integer(), recoveryCodesLeft: Type.Integer() }),
  secondFactorPending: Type.Boolean(),
  /** While the second factor is pending: the ways to complete it. */
  methods: Type.Optional(Type.Array(Type.Enum(['totp', 'passkey', 'recovery_code']))),
  secondFactorVerified: Type.Boolean(),
  csrfToken: Type.String(),
  idleExpiresAt: Type.String(),
  absoluteExpiresAt: Type.String(),
});
const PasswordBody = Type.Object({ password: Type.String({ minLength: 1, maxLength: 1024 }) }, { additionalProperties: false });
const ProfileBody = Type.Object(
  { displayName: Type.Optional(Text(120)), locale: Type.Optional(Type.Enum(['fr', 'en'])) },
  { additionalProperties: false },
);
const ChangePasswordBody = Type.Object(
  { currentPassword: Type.String({ minLength: 1, maxLength: 1024 }), newPassword: Type.String({ minLength: 1, maxLength: 1024 }) },
  { additionalProperties: false },
);
const ChangeEmailBody = Type.Object({ email: Type.String({ format: 'email', maxLength: 254 }) }, { additionalProperties: false });
const SessionIdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

export function accountRoutes(app: FastifyInstance, services: Services): void {
  const { db, sessions, hasher, config } = services;
  const secure = config.session.secureCookies;

  // GET /api/session and logout also serve a session still waiting for its second factor.
  app.register(async (scope) => {
    scope.addHook('preValidation', authenticate(sessions, secure, { allowPendingSecondFactor: true }));

    scope.get('/api/session', { schema: { tags: ['identity'], response: { 200: SessionAnswer } } }, async (request) => {
      const session = sessionOf(request);
      const user = await db.selectFrom('users').selectAll().where('id', '=', session.userId).executeTakeFirstOrThrow();
      const [roles, factors] = await Promise.all([rolesOf(db, user.id), factorsOf(db, user.id)]);
      return {
        user: { id: user.id, email: user.email, displayName: user.display_name, locale: user.locale, rpps: user.rpps, profession: user.profession },
        memberships: session.secondFactorPending ? [] : membershipsFrom(roles),
        factors,
        secondFactorPending: session.secondFactorPending,
        ...(session.secondFactorPending ? { methods: methodsOf(factors) } : {}),
        secondFactorVerified: session.secondFactorAt !== null,
        csrfToken: session.csrfToken,
        idleExpiresAt: (request.sessionIdleExpiresAt ?? new Date()).toISOString(),
        absoluteExpiresAt: session.absoluteExpiresAt.toISOString(),
      };
    });

    scope.post('/api/logout', { schema: { tags: ['identity'] } }, async (request, reply) => {
      const session = sessionOf(request);
      await db.transaction().execute(async (tx) => {
        await sessions.revoke(tx, session.id, 'logout');
        await recordSecurityEvent(tx, contextOf(request), { type: 'logout', outcome: 'success', actorUserId: session.userId });
      });
      clearSessionCookie(reply, secure);
      return reply.code(204).send();
    });
  });

  app.register(async (scope) => {
    scope.addHook('preValidation', authenticate(sessions, secure));

    scope.post('/api/logout-everywhere', { schema: { tags: ['identity'] } }, async (request, reply) => {
      const session = sessionOf(request);
      await db.transaction().execute(async (tx) => {
        const ended = await sessions.revokeAllForUser(tx, session.userId, 'logout-everywhere');
        await recordSecurityEvent(tx, contextOf(request), { type: 'logout.everywhere', outcome: 'success', actorUserId: session.userId, detail: { sessionsEnded: ended } });
      });
      clearSessionCookie(reply, secure);
      return reply.code(204).send();
    });

    // A cheap authenticated call: the web app pings it while a call is running, so activity counts.
    scope.get('/api/session/ping', { schema: { tags: ['identity'] } }, async (request) => ({
      idleExpiresAt: (request.sessionIdleExpiresAt ?? new Date()).toISOString(),
    }));

    scope.get('/api/sessions', { schema: { tags: ['identity'] } }, async (request) => {
      const session = sessionOf(request);
      const rows = await sessions.listActive(session.userId);
      return rows.map((row) => ({
        id: row.id,
        current: row.id === session.id,
        createdAt: row.created_at.toISOString(),
        lastSeenAt: row.last_seen_at.toISOString(),
        sourceAddress: row.source_address,
        userAgent: row.user_agent,
      }));
    });

    scope.delete('/api/sessions/:id', { schema: { tags: ['identity'], params: SessionIdParams } }, async (request, reply) => {
      const session = sessionOf(request);
      const { id } = request.params as { id: string };
      const target = await db.selectFrom('sessions').select('id').where('id', '=', id).where('user_id', '=', session.userId).executeTakeFirst();
      if (!target) throw new AppError('not_found');
      await db.transaction().execute(async (tx) => {
        await sessions.revoke(tx, id, 'ended-by-user');
        await recordSecurityEvent(tx, contextOf(request), { type: 'session.revoked', outcome: 'success', actorUserId: session.userId, detail: { sessionId: id } });
      });
      if (id === session.id) clearSessionCookie(reply, secure);
      return reply.code(204).send();
    });

    scope.post('/api/reauthenticate', { schema: { tags: ['identity'], body: PasswordBody } }, async (request, reply) => {
      const session = sessionOf(request);
      const { password } = request.body as { password: string };
      const reservation = await services.throttle.reserve(`reauth:${session.userId}`, request.ip, false);
      if (!reservation.allowed) throw tooManyRequests(reservation.retryAfterSeconds);
      const user = await db.selectFrom('users').select('password_hash').where('id', '=', session.userId).executeTakeFirstOrThrow();
      const valid = await hasher.verify(user.password_hash, password);
      await services.throttle.settle(reservation.attemptId, valid);
      await recordSecurityEvent(db, contextOf(request), { type: 'reauthentication', outcome: valid ? 'success' : 'failure', actorUserId: session.userId });
      if (!valid) throw new AppError('invalid_credentials', { fr: 'Mot de passe incorrect.', en: 'Wrong password.' });
      await sessions.markReauthenticated(db, session.id);
      return reply.code(204).send();
    });

    scope.patch('/api/account', { schema: { tags: ['identity'], body: ProfileBody } }, async (request) => {
      const session = sessionOf(request);
      const body = request.body as { displayName?: string; locale?: 'fr' | 'en' };
      const changes = { ...(body.displayName ? { display_name: body.displayName.trim() } : {}), ...(body.locale ? { locale: body.locale } : {}) };
      if (Object.keys(changes).length > 0) await db.updateTable('users').set(changes).where('id', '=', session.userId).execute();
      return { ok: true };
    });

    scope.post('/api/account/password', { schema: { tags: ['identity'], body: ChangePasswordBody } }, async (request, reply) => {
      const session = sessionOf(request);
      const { currentPassword, newPassword } = request.body as { currentPassword: string; newPassword: string };
      const user = await db.selectFrom('users').select(['password_hash', 'email', 'display_name']).where('id', '=', session.userId).executeTakeFirstOrThrow();
      const reservation = await services.throttle.reserve(`reauth:${session.userId}`, request.ip, false);
      if (!reservation.allowed) throw tooManyRequests(reservation.retryAfterSeconds);
      const valid = await hasher.verify(user.password_hash, currentPassword);
      await services.throttle.settle(reservation.attemptId, valid);
      if (!valid) {
        await recordSecurityEvent(db, contextOf(request), { type: 'password.changed', outcome: 'failure', actorUserId: session.userId });
        throw new AppError('invalid_credentials', { fr: 'Mot de passe actuel incorrect.', en: 'Wrong current password.' });
      }
      await assertStrongPassword(newPassword, [user.email, user.display_name], '/newPassword');
      const passwordHash = await hasher.hash(newPassword);
      await db.transaction().execute(async (tx) => {
        await tx.updateTable('users').set({ password_hash: passwordHash, password_changed_at: new Date(services.now()) }).where('id', '=', session.userId).execute();
        const ended = await sessions.revokeAllForUser(tx, session.userId, 'password-changed', session.id);
        await recordSecurityEvent(tx, contextOf(request), { type: 'password.changed', outcome: 'success', actorUserId: session.userId, detail: { otherSessionsEnded: ended } });
      });
      return reply.code(204).send();
    });

    scope.post('/api/account/email', { schema: { tags: ['identity'], body: ChangeEmailBody } }, async (request, reply) => {
      const session = sessionOf(request);
      requireRecentAuthentication(session, services.now());
      const email = normaliseEmail((request.body as { email: string }).email);
      const taken = await db.selectFrom('users').select('id').where('email', '=', email).where('id', '!=', session.userId).executeTakeFirst();
      if (taken) throw new AppError('email_taken', { fr: 'Un compte existe déjà avec cette adresse.', en: 'An account already uses this e-mail.' });
      const previous = await db.selectFrom('users').select('email').where('id', '=', session.userId).executeTakeFirstOrThrow();
      await db.transaction().execute(async (tx) => {
        await tx.updateTable('users').set({ email }).where('id', '=', session.userId).execute();
        await sessions.revokeAllForUser(tx, session.userId, 'email-changed', session.id);
        await recordSecurityEvent(tx, contextOf(request), { type: 'email.changed', outcome: 'success', actorUserId: session.userId });
      });
      // Tell the previous address, without saying anything about care; after the answer.
      services.background.run('email-changed-mail', () => services.mailer.send({
        to: previous.email,
        subject: 'Ausculta : adresse de connexion modifiée / sign-in e-mail changed',
        text: `L’adresse de connexion de votre compte Ausculta a été modifiée. Si ce n’est pas vous, contactez l’administrateur de votre établissement.\n\nThe sign-in e-mail of your Ausculta account was changed. If this was not you, contact your organisation's administrator.`,
      }));
      return reply.code(204).send();
    });
  });
}

