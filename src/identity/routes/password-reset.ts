// Password reset by an e-mailed, single-use, expiring link. It changes the password only: the second
// factor is still asked at the next login, and every session is ended.
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { recordSecurityEvent, type RequestContext } from '../../audit/security-events.js';
import { hashToken, randomToken } from '../../kernel/crypto.js';
import { AppError } from '../../kernel/errors.js';
import { contextOf, publicLimit } from '../../kernel/http.js';
import type { Services } from '../../services.js';
import { assertStrongPassword, normaliseEmail } from '../accounts.js';
import { EmailSchema, NewPasswordSchema } from '../schemas.js';
import { revokeAllGrants } from '../../oauth/authorization.js';

const RequestBody = Type.Object({ email: EmailSchema }, { additionalProperties: false });
const CompleteBody = Type.Object({ token: Type.String({ minLength: 20, maxLength: 200 }), password: NewPasswordSchema }, { additionalProperties: false });

export function passwordResetRoutes(app: FastifyInstance, services: Services): void {
  const { db, hasher, sessions, config } = services;

  /** Creates the link and mails it; runs after the answer so that timing says nothing about the account. */
  async function issueReset(email: string, context: RequestContext): Promise<void> {
    const user = await db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst();
    if (!user) return;
    const token = randomToken();
    await db.transaction().execute(async (tx) => {
      await tx.insertInto('password_resets').values({ user_id: user.id, token_hash: hashToken(token), expires_at: new Date(services.now() + config.passwordResetTtlMs) }).execute();
      await recordSecurityEvent(tx, context, { type: 'password.reset.requested', outcome: 'success', subjectUserId: user.id });
    });
    const link = `${config.publicUrl}/#/reinitialisation?token=${token}`;
    const minutes = Math.round(config.passwordResetTtlMs / 60_000);
    await services.mailer.send({
      to: email,
      subject: 'Ausculta : réinitialisation du mot de passe / password reset',
      text: `Pour choisir un nouveau mot de passe, ouvrez ce lien (valable ${minutes} minutes, une seule fois) :\n${link}\n\nVotre second facteur vous sera toujours demandé. Si vous n’êtes pas à l’origine de cette demande, ignorez ce message.\n\nTo choose a new password, open this link (valid ${minutes} minutes, once):\n${link}\nYour second factor will still be required. If you did not ask for this, ignore this message.`,
    });
  }

  // The same answer, at once, whether or not the account exists: no enumeration by content or timing.
  app.post('/api/password-reset/request', { config: { rateLimit: publicLimit('mail', services.config.rateLimitScale) }, schema: { tags: ['identity'], body: RequestBody } }, async (request, reply) => {
    const email = normaliseEmail((request.body as { email: string }).email);
    services.background.run('password-reset-mail', () => issueReset(email, contextOf(request)));
    return reply.code(202).send({ accepted: true });
  });

  app.post('/api/password-reset/complete', { config: { rateLimit: publicLimit('enrolment', services.config.rateLimitScale) }, schema: { tags: ['identity'], body: CompleteBody } }, async (request, reply) => {
    const { token, password } = request.body as { token: string; password: string };
    const reset = await db
      .selectFrom('password_resets')
      .innerJoin('users', 'users.id', 'password_resets.user_id')
      .select(['password_resets.id', 'users.id as userId', 'users.email', 'users.display_name'])
      .where('token_hash', '=', hashToken(token))
      .where('used_at', 'is', null)
      .where('expires_at', '>', new Date(services.now()))
      .executeTakeFirst();
    if (!reset) throw new AppError('invalid_token');
    await assertStrongPassword(password, [reset.email, reset.display_name]);
    const passwordHash = await hasher.hash(password);
    await db.transaction().execute(async (tx) => {
      const claimed = await tx.updateTable('password_resets').set({ used_at: new Date(services.now()) }).where('id', '=', reset.id).where('used_at', 'is', null).executeTakeFirst();
      if (claimed.numUpdatedRows !== 1n) throw new AppError('invalid_token');
      await tx.updateTable('password_resets').set({ used_at: new Date(services.now()) }).where('user_id', '=', reset.userId).where('used_at', 'is', null).execute();
      await tx.updateTable('users').set({ password_hash: passwordHash, password_changed_at: new Date(services.now()) }).where('id', '=', reset.userId).execute();
      await sessions.revokeAllForUser(tx, reset.userId, 'password-reset');
      // The account may have been taken: the applications it authorised stop too.
      await revokeAllGrants(tx, reset.userId, new Date(services.now()));
      await recordSecurityEvent(tx, contextOf(request), { type: 'password.reset.completed', outcome: 'success', subjectUserId: reset.userId });
    });
    return reply.code(200).send({ ok: true });
  });
}
