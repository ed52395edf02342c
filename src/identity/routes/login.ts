// Logging in: password (throttled), then a second factor (TOTP, passkey or recovery code) when the
// account has one; or a passkey alone (user verification makes it two factors in one).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { Code } from '../../kernel/schemas.js';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import { recordSecurityEvent } from '../../audit/security-events.js';
import { hashToken, randomToken } from '../../kernel/crypto.js';
import { AppError } from '../../kernel/errors.js';
import { contextOf, publicLimit, tooManyRequests } from '../../kernel/http.js';
import type { Services } from '../../services.js';
import { normaliseEmail } from '../accounts.js';
import { DEVICE_COOKIE, setDeviceCookie, setSessionCookie } from '../cookies.js';
import { factorsOf, hasSecondFactor, methodsOf } from '../factors.js';
import { authenticate, sessionOf } from '../guard.js';
import { authenticationOptions, verifyPasskeyAssertion } from '../passkeys.js';
import { useRecoveryCode } from '../recovery-codes.js';
import { verifyTotp } from '../totp.js';

const DEVICE_TTL_MS = 180 * 24 * 3600_000;

const LoginBody = Type.Object(
  { email: Code(254, 3), password: Type.String({ minLength: 1, maxLength: 1024 }) },
  { additionalProperties: false },
);
const CodeBody = Type.Object({ code: Code(64) }, { additionalProperties: false });
const AssertionBody = Type.Object({ response: Type.Object({ id: Type.String({ maxLength: 1024 }) }) }, { additionalProperties: false });
const UsernamelessBody = Type.Object(
  { challengeId: Type.String({ format: 'uuid' }), response: Type.Object({ id: Type.String({ maxLength: 1024 }) }) },
  { additionalProperties: false },
);
const LoginAnswer = Type.Object({
  status: Type.Enum(['authenticated', 'second_factor_required']),
  methods: Type.Optional(Type.Array(Type.Enum(['totp', 'passkey', 'recovery_code']))),
  recoveryCodesLeft: Type.Optional(Type.Integer()),
});


export function loginRoutes(app: FastifyInstance, services: Services): void {
  const { db, sessions, throttle, hasher, config } = services;
  const secure = config.session.secureCookies;

  async function isTrustedDevice(request: FastifyRequest, userId: string): Promise<boolean> {
    const token = request.cookies[DEVICE_COOKIE];
    if (!token) return false;
    const row = await db
      .selectFrom('trusted_devices')
      .select('user_id')
      .where('token_hash', '=', hashToken(token))
      .where('user_id', '=', userId)
      .where('expires_at', '>', new Date(services.now()))
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Marks this browser as one where the account logged in: it gets its own guess budget next time. */
  async function trustDevice(reply: FastifyReply, userId: string, alreadyTrusted: boolean): Promise<void> {
    if (alreadyTrusted) return;
    const token = randomToken();
    await db.insertInto('trusted_devices').values({ token_hash: hashToken(token), user_id: userId, expires_at: new Date(services.now() + DEVICE_TTL_MS) }).execute();
    setDeviceCookie(reply, token, secure);
  }

  /** The account and whether this browser is one of its known devices, in one query (it runs at every login). */
  async function accountFor(email: string, request: FastifyRequest): Promise<{ id: string; password_hash: string; trusted: boolean } | undefined> {
    const deviceToken = request.cookies[DEVICE_COOKIE];
    const query = db.selectFrom('users').select(['users.id', 'users.password_hash']).where('users.email', '=', email);
    if (!deviceToken) {
      const row = await query.executeTakeFirst();
      return row && { ...row, trusted: false };
    }
    const row = await query
      .select((eb) =>
        eb
          .exists(
            eb
              .selectFrom('trusted_devices')
              .select('trusted_devices.user_id')
              .whereRef('trusted_devices.user_id', '=', 'users.id')
              .where('trusted_devices.token_hash', '=', hashToken(deviceToken))
              .where('trusted_devices.expires_at', '>', new Date(services.now())),
          )
          .as('trusted'),
      )
      .executeTakeFirst();
    return row && { id: row.id, password_hash: row.password_hash, trusted: row.trusted === true };
  }

  app.post('/api/login', { schema: { tags: ['identity'], body: LoginBody, response: { 200: LoginAnswer } } }, async (request, reply) => {
    const { email: rawEmail, password } = request.body as { email: string; password: string };
    const email = normaliseEmail(rawEmail);
    const context = contextOf(request);
    const user = await accountFor(email, request);
    const trusted = user?.trusted ?? false;

    const reservation = await throttle.reserve(email, request.ip, trusted);
    if (!reservation.allowed) {
      await recordSecurityEvent(db, context, { type: 'login.throttled', outcome: 'denied', subjectUserId: user?.id ?? null, detail: { reason: reservation.reason } });
      throw tooManyRequests(reservation.retryAfterSeconds);
    }
    const valid = user ? await hasher.verify(user.password_hash, password) : await hasher.verifyAgainstNothing(password);
    await throttle.settle(reservation.attemptId, valid);
    if (!user || !valid) {
      await recordSecurityEvent(db, context, { type: 'login.password', outcome: 'failure', subjectUserId: user?.id ?? null, detail: { knownAccount: user !== undefined } });
      throw new AppError('invalid_credentials', { fr: 'Adresse ou mot de passe incorrect.', en: 'Wrong e-mail or password.' });
    }

    const factors = await factorsOf(db, user.id);
    const pending = hasSecondFactor(factors);
    const { token } = await db.transaction().execute(async (tx) => {
      const created = await sessions.create(tx, {
        userId: user.id,
        secondFactorPending: pending,
        secondFactorVerified: false,
        sourceAddress: request.ip,
        userAgent: request.headers['user-agent'] ?? '',
      });
      await recordSecurityEvent(tx, context, { type: 'login.password', outcome: 'success', actorUserId: user.id, detail: { secondFactorPending: pending } });
      return created;
    });
    setSessionCookie(reply, token, secure);
    if (pending) return { status: 'second_factor_required', methods: methodsOf(factors) };
    await trustDevice(reply, user.id, trusted);
    return { status: 'authenticated' };
  });

  /** The second step, reachable only with a session waiting for it. */
  app.register(async (pendingScope) => {
    pendingScope.addHook('preValidation', authenticate(sessions, secure, { allowPendingSecondFactor: true }));

    async function completeWith(
      request: FastifyRequest,
      reply: FastifyReply,
      method: 'totp' | 'passkey' | 'recovery_code',
      prove: (userId: string) => Promise<boolean>,
    ) {
      const session = sessionOf(request);
      if (!session.secondFactorPending) throw new AppError('conflict', { fr: 'Déjà connecté.', en: 'Already signed in.' });
      const reservation = await throttle.reserve(`second-factor:${session.userId}`, request.ip, false);
      if (!reservation.allowed) throw tooManyRequests(reservation.retryAfterSeconds);
      const proven = await prove(session.userId);
      await throttle.settle(reservation.attemptId, proven);
      const context = contextOf(request);
      if (!proven) {
        await recordSecurityEvent(db, context, { type: 'login.second_factor', outcome: 'failure', actorUserId: session.userId, detail: { method } });
        throw new AppError('invalid_second_factor');
      }
      const { token } = await db.transaction().execute(async (tx) => {
        const rotated = await sessions.completeSecondFactor(tx, session.id);
        await recordSecurityEvent(tx, context, { type: 'login.second_factor', outcome: 'success', actorUserId: session.userId, detail: { method } });
        return rotated;
      });
      setSessionCookie(reply, token, secure);
      await trustDevice(reply, session.userId, await isTrustedDevice(request, session.userId));
    }

    pendingScope.post('/api/login/totp', { schema: { tags: ['identity'], body: CodeBody, response: { 200: LoginAnswer } } }, async (request, reply) => {
      const { code } = request.body as { code: string };
      await completeWith(request, reply, 'totp', (userId) =>
        verifyTotp(db, services.box, userId, code.replace(/\s/g, ''), { confirming: false, now: services.now() }),
      );
      return { status: 'authenticated' };
    });

    pendingScope.post('/api/login/recovery-code', { schema: { tags: ['identity'], body: CodeBody, response: { 200: LoginAnswer } } }, async (request, reply) => {
      const { code } = request.body as { code: string };
      const userId = sessionOf(request).userId;
      await completeWith(request, reply, 'recovery_code', async (id) => {
        const used = await useRecoveryCode(db, id, code, new Date(services.now()));
        if (used) await recordSecurityEvent(db, contextOf(request), { type: 'factor.recovery_code.used', outcome: 'success', actorUserId: id });
        return used;
      });
      return { status: 'authenticated', recoveryCodesLeft: (await factorsOf(db, userId)).recoveryCodesLeft };
    });

    pendingScope.post('/api/login/passkey/options', { schema: { tags: ['identity'] } }, async (request) => {
      const session = sessionOf(request);
      const { options } = await authenticationOptions(db, services.relyingParty, { userId: session.userId, sessionId: session.id }, services.now());
      return options;
    });

    pendingScope.post('/api/login/passkey', { schema: { tags: ['identity'], body: AssertionBody, response: { 200: LoginAnswer } } }, async (request, reply) => {
      const { response } = request.body as { response: AuthenticationResponseJSON };
      const session = sessionOf(request);
      await completeWith(request, reply, 'passkey', async (userId) => {
        const proof = await verifyPasskeyAssertion(db, services.relyingParty, { sessionId: session.id }, response, services.now());
        return proof?.userId === userId;
      });
      return { status: 'authenticated' };
    });
  });

  app.post('/api/passkey-login/options', { config: { rateLimit: publicLimit('challenge', services.config.rateLimitScale) }, schema: { tags: ['identity'] } }, async () =>
    authenticationOptions(db, services.relyingParty, null, services.now()),
  );

  app.post('/api/passkey-login', { schema: { tags: ['identity'], body: UsernamelessBody, response: { 200: LoginAnswer } } }, async (request, reply) => {
    const { challengeId, response } = request.body as { challengeId: string; response: AuthenticationResponseJSON };
    const context = contextOf(request);
    const proof = await verifyPasskeyAssertion(db, services.relyingParty, { id: challengeId }, response, services.now());
    if (!proof) {
      await recordSecurityEvent(db, context, { type: 'login.passkey', outcome: 'failure' });
      throw new AppError('invalid_credentials', { fr: 'Clé d’accès non reconnue.', en: 'Passkey not recognised.' });
    }
    const { token } = await db.transaction().execute(async (tx) => {
      const created = await sessions.create(tx, {
        userId: proof.userId,
        secondFactorPending: false,
        secondFactorVerified: true,
        sourceAddress: request.ip,
        userAgent: request.headers['user-agent'] ?? '',
      });
      await recordSecurityEvent(tx, context, { type: 'login.passkey', outcome: 'success', actorUserId: proof.userId, detail: { credentialId: proof.credentialId } });
      return created;
    });
    setSessionCookie(reply, token, secure);
    await trustDevice(reply, proof.userId, await isTrustedDevice(request, proof.userId));
    return { status: 'authenticated' };
  });
}
