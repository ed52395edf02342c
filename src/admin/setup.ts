// First run: while no administrator exists, a one-time setup token is printed on the server console;
// whoever holds it creates the first organisation and its administrator. Never a default password.
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { Code, Text } from '../kernel/schemas.js';
import { recordSecurityEvent } from '../audit/security-events.js';
import { hashToken, randomToken } from '../kernel/crypto.js';
import type { Db, Queryable } from '../kernel/db.js';
import { AppError } from '../kernel/errors.js';
import { contextOf, publicLimit } from '../kernel/http.js';
import type { Services } from '../services.js';
import { checkedFiness, createAccount } from '../identity/accounts.js';
import { setSessionCookie } from '../identity/cookies.js';
import { DisplayNameSchema, EmailSchema, NewPasswordSchema } from '../identity/schemas.js';

const SETUP_TOKEN_TTL_MS = 24 * 3600_000;

const SetupBody = Type.Object(
  {
    setupToken: Type.String({ minLength: 10, maxLength: 200 }),
    organisation: Type.Object({ name: Text(200), finess: Type.Optional(Code(20, 0)) }, { additionalProperties: false }),
    admin: Type.Object({ email: EmailSchema, displayName: DisplayNameSchema, password: NewPasswordSchema }, { additionalProperties: false }),
  },
  { additionalProperties: false },
);

export async function hasAdministrator(db: Queryable): Promise<boolean> {
  return (await db.selectFrom('member_roles').select('user_id').where('role', '=', 'org_admin').limit(1).executeTakeFirst()) !== undefined;
}

/** A fresh token each start while setup is needed (earlier ones stop working); null once done. */
export async function issueSetupToken(db: Db, now: number): Promise<string | null> {
  if (await hasAdministrator(db)) return null;
  const token = randomToken(18);
  await db.transaction().execute(async (tx) => {
    await tx.deleteFrom('setup_tokens').execute();
    await tx.insertInto('setup_tokens').values({ token_hash: hashToken(token), expires_at: new Date(now + SETUP_TOKEN_TTL_MS) }).execute();
  });
  return token;
}

export function setupRoutes(app: FastifyInstance, services: Services): void {
  const { db } = services;

  app.get('/api/setup', { schema: { tags: ['admin'] } }, async () => ({ needed: !(await hasAdministrator(db)) }));

  app.post('/api/setup', { config: { rateLimit: publicLimit('enrolment', services.config.rateLimitScale) }, schema: { tags: ['admin'], body: SetupBody } }, async (request, reply) => {
    const body = request.body as { setupToken: string; organisation: { name: string; finess?: string }; admin: { email: string; displayName: string; password: string } };
    const finess = checkedFiness(body.organisation.finess);
    const result = await db.transaction().execute(async (tx) => {
      const claimed = await tx
        .updateTable('setup_tokens')
        .set({ used_at: new Date(services.now()) })
        .where('token_hash', '=', hashToken(body.setupToken))
        .where('used_at', 'is', null)
        .where('expires_at', '>', new Date(services.now()))
        .executeTakeFirst();
      if (claimed.numUpdatedRows !== 1n) {
        throw (await hasAdministrator(tx)) ? new AppError('setup_done') : new AppError('invalid_token', { fr: 'Jeton d’installation invalide ou expiré.', en: 'Invalid or expired setup token.' });
      }
      const organisation = await tx.insertInto('organisations').values({ name: body.organisation.name.trim(), finess }).returning('id').executeTakeFirstOrThrow();
      const userId = await createAccount(tx, services.hasher, { ...body.admin, organisationId: organisation.id, roles: ['org_admin'], passwordPointer: '/admin/password' });
      const created = await services.sessions.create(tx, { userId, secondFactorPending: false, secondFactorVerified: false, sourceAddress: request.ip, userAgent: request.headers['user-agent'] ?? '' });
      const context = contextOf(request);
      await recordSecurityEvent(tx, context, { type: 'organisation.created', outcome: 'success', actorUserId: userId, organisationId: organisation.id });
      await recordSecurityEvent(tx, context, { type: 'setup.completed', outcome: 'success', actorUserId: userId, organisationId: organisation.id });
      return { userId, organisationId: organisation.id, token: created.token };
    });
    setSessionCookie(reply, result.token, services.config.session.secureCookies);
    return reply.code(201).send({ userId: result.userId, organisationId: result.organisationId });
  });
}
