// WebAuthn passkeys through @simplewebauthn/server. Challenges are stored server-side and deleted when
// used, so an assertion can never be replayed; the signature counter is checked too.
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { Queryable } from '../kernel/db.js';

const CHALLENGE_TTL_MS = 5 * 60_000;

export interface RelyingParty {
  id: string;
  name: string;
  origin: string;
}

export function relyingPartyFor(publicUrl: string): RelyingParty {
  const url = new URL(publicUrl);
  return { id: url.hostname, name: 'Ausculta', origin: url.origin };
}

async function storeChallenge(
  q: Queryable,
  purpose: 'webauthn-register' | 'webauthn-login',
  challenge: string,
  owner: { userId: string | null; sessionId: string | null },
  now: number,
): Promise<string> {
  const row = await q
    .insertInto('auth_challenges')
    .values({ purpose, challenge, user_id: owner.userId, session_id: owner.sessionId, expires_at: new Date(now + CHALLENGE_TTL_MS) })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Takes a challenge out of the store: whatever the outcome, it cannot be used again. */
async function takeChallenge(
  q: Queryable,
  where: { id?: string; sessionId?: string },
  purpose: 'webauthn-register' | 'webauthn-login',
  now: number,
): Promise<{ challenge: string; userId: string | null } | undefined> {
  let query = q.deleteFrom('auth_challenges').where('purpose', '=', purpose).where('expires_at', '>', new Date(now));
  if (where.id) query = query.where('id', '=', where.id);
  else if (where.sessionId) query = query.where('session_id', '=', where.sessionId);
  else return undefined;
  const rows = await query.returning(['challenge', 'user_id']).execute();
  const latest = rows[rows.length - 1];
  return latest && { challenge: latest.challenge, userId: latest.user_id };
}

async function credentialsOf(q: Queryable, userId: string) {
  return q.selectFrom('webauthn_credentials').select(['id', 'transports']).where('user_id', '=', userId).execute();
}

export async function registrationOptions(
  q: Queryable,
  rp: RelyingParty,
  user: { id: string; email: string; displayName: string },
  sessionId: string,
  now: number,
) {
  const existing = await credentialsOf(q, user.id);
  const options = await generateRegistrationOptions({
    rpName: rp.name,
    rpID: rp.id,
    userName: user.email,
    userDisplayName: user.displayName,
    userID: new TextEncoder().encode(user.id),
    attestationType: 'none',
    excludeCredentials: existing.map((c) => ({ id: c.id, transports: JSON.parse(c.transports) as string[] })),
    authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
  });
  await q.deleteFrom('auth_challenges').where('session_id', '=', sessionId).where('purpose', '=', 'webauthn-register').execute();
  await storeChallenge(q, 'webauthn-register', options.challenge, { userId: user.id, sessionId }, now);
  return options;
}

export async function registerPasskey(
  q: Queryable,
  rp: RelyingParty,
  userId: string,
  sessionId: string,
  response: RegistrationResponseJSON,
  name: string,
  now: number,
): Promise<string | null> {
  const stored = await takeChallenge(q, { sessionId }, 'webauthn-register', now);
  if (!stored || stored.userId !== userId) return null;
  const verification = await verifyRegistrationResponse({
    response,
    expectedChallenge: stored.challenge,
    expectedOrigin: rp.origin,
    expectedRPID: rp.id,
    requireUserVerification: true,
  }).catch(() => ({ verified: false as const }));
  if (!verification.verified) return null;
  const { credential } = verification.registrationInfo;
  await q
    .insertInto('webauthn_credentials')
    .values({
      id: credential.id,
      user_id: userId,
      public_key: credential.publicKey,
      counter: credential.counter,
      transports: JSON.stringify(credential.transports ?? []),
      name,
    })
    .execute();
  return credential.id;
}

/**
 * Options for an assertion. With a user (second step after the password) the user's credentials are
 * listed; without one (username-less login) the authenticator offers its discoverable passkeys.
 */
export async function authenticationOptions(
  q: Queryable,
  rp: RelyingParty,
  owner: { userId: string; sessionId: string } | null,
  now: number,
) {
  const allow = owner ? await credentialsOf(q, owner.userId) : [];
  const options = await generateAuthenticationOptions({
    rpID: rp.id,
    userVerification: 'required',
    ...(owner ? { allowCredentials: allow.map((c) => ({ id: c.id, transports: JSON.parse(c.transports) as string[] })) } : {}),
  });
  const challengeId = await storeChallenge(q, 'webauthn-login', options.challenge, { userId: owner?.userId ?? null, sessionId: owner?.sessionId ?? null }, now);
  return { challengeId, options };
}

/** Verifies an assertion; returns the user it proves, or null. */
export async function verifyPasskeyAssertion(
  q: Queryable,
  rp: RelyingParty,
  challengeRef: { id?: string; sessionId?: string },
  response: AuthenticationResponseJSON,
  now: number,
): Promise<{ userId: string; credentialId: string } | null> {
  const stored = await takeChallenge(q, challengeRef, 'webauthn-login', now);
  if (!stored || typeof response?.id !== 'string') return null;
  const credential = await q.selectFrom('webauthn_credentials').selectAll().where('id', '=', response.id).executeTakeFirst();
  if (!credential || (stored.userId !== null && stored.userId !== credential.user_id)) return null;
  const verification = await verifyAuthenticationResponse({
    response,
    expectedChallenge: stored.challenge,
    expectedOrigin: rp.origin,
    expectedRPID: rp.id,
    requireUserVerification: true,
    credential: {
      id: credential.id,
      publicKey: new Uint8Array(credential.public_key),
      counter: Number(credential.counter),
      transports: JSON.parse(credential.transports) as string[],
    },
  }).catch(() => ({ verified: false as const, authenticationInfo: undefined }));
  if (!verification.verified || !verification.authenticationInfo) return null;
  const updated = await q
    .updateTable('webauthn_credentials')
    .set({ counter: verification.authenticationInfo.newCounter, last_used_at: new Date(now) })
    .where('id', '=', credential.id)
    .executeTakeFirst();
  return updated.numUpdatedRows === 1n ? { userId: credential.user_id, credentialId: credential.id } : null;
}
