// Enrolling and removing second factors. Each change needs a recent proof of identity, is traced,
// and ends the user's other sessions. The first factor enrolled comes with recovery codes.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { Code, Text } from '../../kernel/schemas.js';
import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import { recordSecurityEvent, type SecurityEventType } from '../../audit/security-events.js';
import type { Tx } from '../../kernel/db.js';
import { AppError } from '../../kernel/errors.js';
import { contextOf, tooManyRequests } from '../../kernel/http.js';
import type { Services } from '../../services.js';
import { factorsOf, hasSecondFactor } from '../factors.js';
import { authenticate, requireRecentAuthentication, sessionOf } from '../guard.js';
import { registerPasskey, registrationOptions } from '../passkeys.js';
import { generateRecoveryCodes } from '../recovery-codes.js';
import { beginTotpEnrolment, verifyTotp } from '../totp.js';

const CodeBody = Type.Object({ code: Code(16) }, { additionalProperties: false });
const PasskeyBody = Type.Object(
  { response: Type.Object({ id: Type.String({ maxLength: 1024 }) }), name: Text(80) },
  { additionalProperties: false },
);
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 1024 }) });

export function factorRoutes(app: FastifyInstance, services: Services): void {
  const { db, sessions, box } = services;

  /** Runs a factor change with its trace, ends the other sessions, and hands out recovery codes if it was the first factor. */
  async function changeFactors(
    request: FastifyRequest,
    type: SecurityEventType,
    change: (tx: Tx) => Promise<void>,
  ): Promise<{ recoveryCodes?: string[] }> {
    const session = sessionOf(request);
    const hadFactor = hasSecondFactor(await factorsOf(db, session.userId));
    return db.transaction().execute(async (tx) => {
      await change(tx);
      const hasFactorNow = hasSecondFactor(await factorsOf(tx, session.userId));
      if (hadFactor && !hasFactorNow) {
        throw new AppError('conflict', {
          fr: 'Ajoutez un autre second facteur avant de retirer le dernier.',
          en: 'Add another second factor before removing the last one.',
        });
      }
      await sessions.revokeAllForUser(tx, session.userId, 'factors-changed', session.id);
      await recordSecurityEvent(tx, contextOf(request), { type, outcome: 'success', actorUserId: session.userId });
      if (!hadFactor && hasFactorNow) {
        // Proving a new factor in this session raises it to two factors.
        await sessions.markSecondFactorVerified(tx, session.id);
        const recoveryCodes = await generateRecoveryCodes(tx, session.userId);
        await recordSecurityEvent(tx, contextOf(request), { type: 'factor.recovery_codes.generated', outcome: 'success', actorUserId: session.userId });
        return { recoveryCodes };
      }
      return {};
    });
  }

  app.register(async (scope) => {
    scope.addHook('preValidation', authenticate(sessions, services.config.session.secureCookies));

    scope.post('/api/factors/totp', { schema: { tags: ['factors'] } }, async (request) => {
      const session = sessionOf(request);
      requireRecentAuthentication(session, services.now());
      const user = await db.selectFrom('users').select('email').where('id', '=', session.userId).executeTakeFirstOrThrow();
      const factor = await db.selectFrom('totp_factors').select('confirmed_at').where('user_id', '=', session.userId).executeTakeFirst();
      if (factor?.confirmed_at) throw new AppError('conflict', { fr: 'Une application d’authentification est déjà enrôlée.', en: 'An authenticator app is already enrolled.' });
      return beginTotpEnrolment(db, box, session.userId, user.email);
    });

    scope.post('/api/factors/totp/confirm', { schema: { tags: ['factors'], body: CodeBody } }, async (request) => {
      const session = sessionOf(request);
      const { code } = request.body as { code: string };
      const pending = await db.selectFrom('totp_factors').select('confirmed_at').where('user_id', '=', session.userId).executeTakeFirst();
      if (!pending || pending.confirmed_at) throw new AppError('conflict', { fr: 'Aucun enrôlement en cours.', en: 'No enrolment in progress.' });
      const reservation = await services.throttle.reserve(`second-factor:${session.userId}`, request.ip, false);
      if (!reservation.allowed) throw tooManyRequests(reservation.retryAfterSeconds);
      let valid = false;
      try {
        return await changeFactors(request, 'factor.totp.enrolled', async (tx) => {
          valid = await verifyTotp(tx, box, session.userId, code.replace(/\s/g, ''), { confirming: true, now: services.now() });
          if (!valid) throw new AppError('invalid_second_factor');
        });
      } finally {
        await services.throttle.settle(reservation.attemptId, valid);
      }
    });

    scope.delete('/api/factors/totp', { schema: { tags: ['factors'] } }, async (request, reply) => {
      const session = sessionOf(request);
      requireRecentAuthentication(session, services.now());
      await changeFactors(request, 'factor.totp.removed', async (tx) => {
        const removed = await tx.deleteFrom('totp_factors').where('user_id', '=', session.userId).executeTakeFirst();
        if (removed.numDeletedRows === 0n) throw new AppError('not_found');
      });
      return reply.code(204).send();
    });

    scope.post('/api/factors/recovery-codes', { schema: { tags: ['factors'] } }, async (request) => {
      const session = sessionOf(request);
      requireRecentAuthentication(session, services.now());
      if (!hasSecondFactor(await factorsOf(db, session.userId))) {
        throw new AppError('conflict', { fr: 'Enrôlez d’abord un second facteur.', en: 'Enrol a second factor first.' });
      }
      return db.transaction().execute(async (tx) => {
        const recoveryCodes = await generateRecoveryCodes(tx, session.userId);
        await recordSecurityEvent(tx, contextOf(request), { type: 'factor.recovery_codes.generated', outcome: 'success', actorUserId: session.userId });
        return { recoveryCodes };
      });
    });

    scope.get('/api/factors/passkeys', { schema: { tags: ['factors'] } }, async (request) => {
      const rows = await db
        .selectFrom('webauthn_credentials')
        .select(['id', 'name', 'created_at', 'last_used_at'])
        .where('user_id', '=', sessionOf(request).userId)
        .orderBy('created_at')
        .execute();
      return rows.map((row) => ({ id: row.id, name: row.name, createdAt: row.created_at.toISOString(), lastUsedAt: row.last_used_at?.toISOString() ?? null }));
    });

    scope.post('/api/factors/passkeys/options', { schema: { tags: ['factors'] } }, async (request) => {
      const session = sessionOf(request);
      requireRecentAuthentication(session, services.now());
      const user = await db.selectFrom('users').select(['id', 'email', 'display_name']).where('id', '=', session.userId).executeTakeFirstOrThrow();
      return registrationOptions(db, services.relyingParty, { id: user.id, email: user.email, displayName: user.display_name }, session.id, services.now());
    });

    scope.post('/api/factors/passkeys', { schema: { tags: ['factors'], body: PasskeyBody } }, async (request, reply) => {
      const session = sessionOf(request);
      requireRecentAuthentication(session, services.now());
      const { response, name } = request.body as { response: RegistrationResponseJSON; name: string };
      let credentialId: string | null = null;
      const result = await changeFactors(request, 'factor.passkey.added', async (tx) => {
        credentialId = await registerPasskey(tx, services.relyingParty, session.userId, session.id, response, name.trim(), services.now());
        if (!credentialId) throw new AppError('invalid_second_factor', { fr: 'La clé d’accès n’a pas pu être vérifiée.', en: 'The passkey could not be verified.' });
      });
      return reply.code(201).send({ id: credentialId, ...result });
    });

    scope.delete('/api/factors/passkeys/:id', { schema: { tags: ['factors'], params: IdParams } }, async (request, reply) => {
      const session = sessionOf(request);
      requireRecentAuthentication(session, services.now());
      const { id } = request.params as { id: string };
      await changeFactors(request, 'factor.passkey.removed', async (tx) => {
        const removed = await tx.deleteFrom('webauthn_credentials').where('id', '=', id).where('user_id', '=', session.userId).executeTakeFirst();
        if (removed.numDeletedRows === 0n) throw new AppError('not_found');
      });
      return reply.code(204).send();
    });
  });
}
