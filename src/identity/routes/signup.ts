// Patients sign up on their own into an organisation open to it; they can book before enrolling a
// second factor, but see no health data until they do.
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { recordSecurityEvent } from '../../audit/security-events.js';
import { AppError } from '../../kernel/errors.js';
import { contextOf, publicLimit } from '../../kernel/http.js';
import type { Services } from '../../services.js';
import { createAccount } from '../accounts.js';
import { setSessionCookie } from '../cookies.js';
import { validateIdentityTraits, type IdentityTraitsInput } from '../identity-traits.js';
import { DisplayNameSchema, EmailSchema, IdentityTraitsSchema, NewPasswordSchema } from '../schemas.js';

const SignupBody = Type.Object(
  {
    organisationId: Type.String({ format: 'uuid' }),
    email: EmailSchema,
    password: NewPasswordSchema,
    displayName: DisplayNameSchema,
    locale: Type.Optional(Type.Enum(['fr', 'en'])),
    identity: IdentityTraitsSchema,
  },
  { additionalProperties: false },
);

interface SignupInput {
  organisationId: string;
  email: string;
  password: string;
  displayName: string;
  locale?: 'fr' | 'en';
  identity: IdentityTraitsInput;
}

export function signupRoutes(app: FastifyInstance, services: Services): void {
  const { db, sessions, hasher } = services;

  app.get('/api/organisations', { schema: { tags: ['identity'] } }, async () =>
    db.selectFrom('organisations').select(['id', 'name']).where('open_patient_signup', '=', true).orderBy('name').execute(),
  );

  app.post('/api/signup', { config: { rateLimit: publicLimit('enrolment', services.config.rateLimitScale) }, schema: { tags: ['identity'], body: SignupBody } }, async (request, reply) => {
    const body = request.body as SignupInput;
    const identity = validateIdentityTraits(body.identity, new Date(services.now()));
    const organisation = await db
      .selectFrom('organisations')
      .select('id')
      .where('id', '=', body.organisationId)
      .where('open_patient_signup', '=', true)
      .executeTakeFirst();
    if (!organisation) throw new AppError('not_found', { fr: 'Établissement inconnu.', en: 'Unknown organisation.' });

    const { userId, token } = await db.transaction().execute(async (tx) => {
      const id = await createAccount(tx, hasher, {
        email: body.email,
        displayName: body.displayName,
        password: body.password,
        locale: body.locale,
        organisationId: organisation.id,
        roles: ['patient'],
        identity,
      });
      const created = await sessions.create(tx, {
        userId: id,
        secondFactorPending: false,
        secondFactorVerified: false,
        sourceAddress: request.ip,
        userAgent: request.headers['user-agent'] ?? '',
      });
      await recordSecurityEvent(tx, contextOf(request), { type: 'account.created', outcome: 'success', actorUserId: id, organisationId: organisation.id, detail: { via: 'signup' } });
      return { userId: id, token: created.token };
    });
    setSessionCookie(reply, token, services.config.session.secureCookies);
    return reply.code(201).send({ userId });
  });
}
