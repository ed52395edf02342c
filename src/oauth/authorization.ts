// The OAuth 2.0 authorization server of the FHIR API (RFC 6749, with the OAuth 2.0 Security BCP, RFC 9700):
// the authorization code grant only, PKCE S256 required of every client (RFC 7636), exact redirect URIs,
// single-use codes living one minute, short-lived access tokens, refresh tokens rotated at each use with
// replay detection (a second use of a code or refresh token revokes the whole grant), the issuer in the
// authorization response (RFC 9207) and token revocation (RFC 7009). Every secret is stored hashed.
// The user's consent is a grant: given with a second factor proven, listed and revocable in their space.
import { createHash, randomUUID } from 'node:crypto';
import { recordSecurityEvent, type RequestContext } from '../audit/security-events.js';
import { FHIR_TYPES } from '../fhir/capability.js';
import { hashToken, randomToken, safeEqual } from '../kernel/crypto.js';
import type { Db, Queryable } from '../kernel/db.js';
import { AppError } from '../kernel/errors.js';
import { parseScopes, ScopeError, scopeString, type GrantedScopes } from './scopes.js';

export const CODE_TTL_MS = 60_000;
export const ACCESS_TOKEN_TTL_S = 15 * 60;
export const REFRESH_TOKEN_TTL_MS = 30 * 24 * 3600_000;
/** A grant ends a year after the user gave it, used or not: they are asked again (health data). */
export const GRANT_MAX_AGE_MS = 365 * 24 * 3600_000;
const CODE_CHALLENGE = /^[A-Za-z0-9._~-]{43,128}$/;
const MAX_STATE_LENGTH = 1_000;

/** An error the token or revocation endpoint answers as RFC 6749 §5.2 JSON. */
export class OAuthError extends Error {
  constructor(
    readonly error: 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unauthorized_client' | 'unsupported_grant_type' | 'invalid_scope' | 'unsupported_token_type',
    readonly description: string,
    readonly status = error === 'invalid_client' ? 401 : 400,
  ) {
    super(description);
  }
}

export interface Client {
  id: string;
  clientId: string;
  name: string;
  organisationId: string;
  organisationName: string;
  redirectUris: string[];
  secretHash: string | null;
}

/** A checked authorization request: what the consent page shows and the consent acts on. */
export interface AuthorizationRequest {
  client: Client;
  redirectUri: string;
  state: string | null;
  codeChallenge: string;
  granted: GrantedScopes;
}

export type Params = Record<string, string>;

async function activeClient(q: Queryable, clientId: string): Promise<Client | null> {
  const row = await q
    .selectFrom('oauth_clients as c')
    .innerJoin('organisations as o', 'o.id', 'c.organisation_id')
    .select(['c.id', 'c.client_id', 'c.name', 'c.organisation_id', 'o.name as organisation_name', 'c.redirect_uris', 'c.secret_hash'])
    .where('c.client_id', '=', clientId)
    .where('c.revoked_at', 'is', null)
    .executeTakeFirst();
  if (!row) return null;
  return { id: row.id, clientId: row.client_id, name: row.name, organisationId: row.organisation_id, organisationName: row.organisation_name, redirectUris: row.redirect_uris, secretHash: row.secret_hash };
}

/** The application's redirect URI with the response parameters (and the issuer, RFC 9207). */
export function redirectTo(redirectUri: string, params: Record<string, string | null>, issuer: string): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(params)) if (value !== null) url.searchParams.set(name, value);
  url.searchParams.set('iss', issuer);
  return url.toString();
}

/**
 * Checks an authorization request for a user. Errors about the client or its redirect URI are never
 * sent back to that URI (it is not trusted yet): they carry no `redirect`. Later errors do.
 */
export async function checkAuthorizationRequest(q: Queryable, params: Params, user: { id: string }, issuer: string, fhirBase: string): Promise<AuthorizationRequest> {
  const client = params['client_id'] ? await activeClient(q, params['client_id']) : null;
  if (!client) throw requestError('Application inconnue ou révoquée.', 'Unknown or revoked application.');
  const redirectUri = params['redirect_uri'];
  if (!redirectUri || !client.redirectUris.some((registered) => sameRedirect(registered, redirectUri))) {
    throw requestError('Cette adresse de retour n’est pas enregistrée pour l’application.', 'This redirect URI is not registered for the application.');
  }
  const state = params['state'] ?? null;
  const fail = (error: string, fr: string, en: string): AppError =>
    requestError(fr, en, redirectTo(redirectUri, { error, error_description: en, state }, issuer));
  if (state !== null && state.length > MAX_STATE_LENGTH) throw fail('invalid_request', 'Paramètre state trop long.', 'state is too long');
  if (params['response_type'] !== 'code') throw fail('unsupported_response_type', 'Seul le flux « code » est accepté.', 'only response_type=code is supported');
  if (params['code_challenge_method'] !== 'S256' || !CODE_CHALLENGE.test(params['code_challenge'] ?? '')) {
    throw fail('invalid_request', 'PKCE (S256) est obligatoire.', 'PKCE with code_challenge_method=S256 is required');
  }
  if (params['aud'] !== undefined && params['aud'] !== fhirBase) throw fail('invalid_request', `Le paramètre aud doit être ${fhirBase}.`, `aud must be ${fhirBase}`);
  let granted: GrantedScopes;
  try {
    granted = parseScopes(params['scope'], FHIR_TYPES);
  } catch (error) {
    if (!(error instanceof ScopeError)) throw error;
    throw fail('invalid_scope', `Portée refusée : ${error.message}.`, error.message);
  }
  if (granted.launchPatient || granted.resources.some((scope) => scope.context === 'patient')) {
    const patient = await q.selectFrom('patient_identities').select('user_id').where('user_id', '=', user.id).executeTakeFirst();
    if (!patient) {
      throw fail('invalid_scope', 'Les portées « patient/ » donnent accès à votre propre dossier : votre compte n’en a pas.', 'patient/ scopes give access to the user’s own record: this account has none');
    }
  }
  return { client, redirectUri, state, codeChallenge: params['code_challenge']!, granted };
}

/**
 * The redirect URI asked for is a registered one: exactly, or, for a loopback IP address, with any port
 * (a native app listens on the port the system gives it: RFC 8252 §7.3).
 */
function sameRedirect(registered: string, asked: string): boolean {
  if (registered === asked) return true;
  const loopback = (uri: string) => {
    try {
      const url = new URL(uri);
      return url.protocol === 'http:' && (url.hostname === '127.0.0.1' || url.hostname === '[::1]') && !uri.includes('#') ? url : null;
    } catch {
      return null;
    }
  };
  const [a, b] = [loopback(registered), loopback(asked)];
  return a !== null && b !== null && a.hostname === b.hostname && a.pathname === b.pathname && a.search === b.search && !b.username && !b.password;
}

function requestError(fr: string, en: string, redirect?: string): AppError {
  return new AppError('oauth_request_invalid', { fr, en }, redirect ? { extra: { redirect } } : {});
}

/**
 * The user's answer. Allowing replaces the user's earlier grant to the same application (one grant
 * per application in their list), and returns the redirect with a single-use code.
 */
export async function answerAuthorization(
  db: Db,
  context: RequestContext,
  request: AuthorizationRequest,
  user: { id: string; secondFactorAt: Date },
  allow: boolean,
  issuer: string,
  now: Date,
): Promise<string> {
  const detail = { application: request.client.id, clientId: request.client.clientId, scope: scopeString(request.granted) };
  if (!allow) {
    await recordSecurityEvent(db, context, { type: 'application.refused', outcome: 'success', actorUserId: user.id, organisationId: request.client.organisationId, detail });
    return redirectTo(request.redirectUri, { error: 'access_denied', error_description: 'the user refused', state: request.state }, issuer);
  }
  const code = randomToken();
  await db.transaction().execute(async (tx) => {
    await tx.updateTable('oauth_grants').set({ revoked_at: now }).where('user_id', '=', user.id).where('client_id', '=', request.client.id).where('revoked_at', 'is', null).execute();
    const grantId = randomUUID();
    await tx.insertInto('oauth_grants').values({ id: grantId, client_id: request.client.id, user_id: user.id, scope: detail.scope, second_factor_at: user.secondFactorAt, created_at: now }).execute();
    await tx
      .insertInto('oauth_codes')
      .values({ code_hash: hashToken(code), grant_id: grantId, redirect_uri: request.redirectUri, code_challenge: request.codeChallenge, expires_at: new Date(now.getTime() + CODE_TTL_MS) })
      .execute();
    await recordSecurityEvent(tx, context, { type: 'application.authorized', outcome: 'success', actorUserId: user.id, organisationId: request.client.organisationId, detail: { ...detail, grant: grantId } });
  });
  return redirectTo(request.redirectUri, { code, state: request.state }, issuer);
}

// --- The token endpoint ---

/** The client of a token or revocation request (RFC 6749 §2.3): HTTP Basic, or the form's fields. */
export async function authenticateClient(q: Queryable, authorization: string | undefined, form: Params): Promise<Client> {
  let clientId = form['client_id'];
  let secret = form['client_secret'];
  if (authorization?.startsWith('Basic ')) {
    const decoded = Buffer.from(authorization.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0 || secret !== undefined) throw new OAuthError('invalid_client', 'malformed client authentication');
    try {
      clientId = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
      secret = decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' '));
    } catch {
      throw new OAuthError('invalid_client', 'malformed client authentication');
    }
    if (form['client_id'] !== undefined && form['client_id'] !== clientId) throw new OAuthError('invalid_client', 'two different client ids');
  }
  const client = clientId ? await activeClient(q, clientId) : null;
  if (!client) throw new OAuthError('invalid_client', 'unknown or revoked client');
  if (client.secretHash === null) {
    if (secret !== undefined) throw new OAuthError('invalid_client', 'a public client has no secret');
  } else if (secret === undefined || !safeEqual(hashToken(secret), client.secretHash)) {
    throw new OAuthError('invalid_client', 'client authentication failed');
  }
  return client;
}

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  refresh_token?: string;
  patient?: string;
}

interface GrantRow {
  id: string;
  client_id: string;
  user_id: string;
  scope: string;
  created_at: Date;
  revoked_at: Date | null;
}

async function grantOf(q: Queryable, grantId: string): Promise<GrantRow | undefined> {
  return q.selectFrom('oauth_grants').select(['id', 'client_id', 'user_id', 'scope', 'created_at', 'revoked_at']).where('id', '=', grantId).executeTakeFirst();
}

/** A code or refresh token used twice: someone else holds it. The whole grant goes (RFC 9700 §4.14.2). */
async function revokeReplayedGrant(db: Db, context: RequestContext, grantId: string, what: 'code' | 'refresh_token', now: Date): Promise<void> {
  await db.transaction().execute(async (tx) => {
    const revoked = await tx.updateTable('oauth_grants').set({ revoked_at: now }).where('id', '=', grantId).where('revoked_at', 'is', null).returning(['user_id', 'client_id']).executeTakeFirst();
    if (revoked) {
      await recordSecurityEvent(tx, context, { type: 'application.token_replayed', outcome: 'denied', subjectUserId: revoked.user_id, detail: { grant: grantId, application: revoked.client_id, replayed: what } });
    }
  });
}

async function issueTokens(q: Queryable, grant: GrantRow, scope: string, now: Date): Promise<TokenResponse> {
  const access = `ausculta_at_${randomToken()}`;
  const tokens: { token_hash: string; grant_id: string; kind: 'access' | 'refresh'; scope: string; created_at: Date; expires_at: Date }[] = [{ token_hash: hashToken(access), grant_id: grant.id, kind: 'access', scope, created_at: now, expires_at: new Date(now.getTime() + ACCESS_TOKEN_TTL_S * 1000) }];
  const words = grant.scope.split(' ');
  let refresh: string | undefined;
  if (words.includes('offline_access')) {
    refresh = `ausculta_rt_${randomToken()}`;
    const expiresAt = Math.min(now.getTime() + REFRESH_TOKEN_TTL_MS, grant.created_at.getTime() + GRANT_MAX_AGE_MS);
    tokens.push({ token_hash: hashToken(refresh), grant_id: grant.id, kind: 'refresh', scope: grant.scope, created_at: now, expires_at: new Date(expiresAt) });
  }
  await q.insertInto('oauth_tokens').values(tokens).execute();
  await q.updateTable('oauth_grants').set({ last_used_at: now }).where('id', '=', grant.id).execute();
  return {
    access_token: access,
    token_type: 'Bearer',
    expires_in: ACCESS_TOKEN_TTL_S,
    scope,
    ...(refresh ? { refresh_token: refresh } : {}),
    ...(words.includes('launch/patient') ? { patient: grant.user_id } : {}),
  };
}

/** grant_type=authorization_code: the code, once, by the client it was issued to, with the PKCE verifier. */
export async function exchangeCode(db: Db, context: RequestContext, client: Client, form: Params, now: Date): Promise<TokenResponse> {
  const { code, redirect_uri: redirectUri, code_verifier: verifier } = form;
  if (!code || !redirectUri || !verifier) throw new OAuthError('invalid_request', 'code, redirect_uri and code_verifier are required');
  if (!CODE_CHALLENGE.test(verifier)) throw new OAuthError('invalid_request', 'code_verifier must be 43 to 128 unreserved characters');
  const codeHash = hashToken(code);
  const outcome = await db.transaction().execute(async (tx) => {
    const used = await tx.updateTable('oauth_codes').set({ used_at: now }).where('code_hash', '=', codeHash).where('used_at', 'is', null).returningAll().executeTakeFirst();
    if (!used) {
      const replayed = await tx.selectFrom('oauth_codes').select('grant_id').where('code_hash', '=', codeHash).executeTakeFirst();
      return { replayedGrant: replayed?.grant_id ?? null } as const;
    }
    const grant = await grantOf(tx, used.grant_id);
    // Each check answers the same: the code is not valid for this request.
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    if (!grant || grant.revoked_at || grant.client_id !== client.id || used.expires_at.getTime() <= now.getTime() || used.redirect_uri !== redirectUri || !safeEqual(challenge, used.code_challenge)) {
      return { refused: true } as const;
    }
    return { tokens: await issueTokens(tx, grant, grant.scope, now) } as const;
  });
  if ('tokens' in outcome) return outcome.tokens;
  if ('replayedGrant' in outcome && outcome.replayedGrant) await revokeReplayedGrant(db, context, outcome.replayedGrant, 'code', now);
  throw new OAuthError('invalid_grant', 'the code is invalid, expired, already used, or was issued to another client or redirect URI');
}

/** grant_type=refresh_token: rotation (the old refresh token is spent), optionally a narrower scope. */
export async function refreshTokens(db: Db, context: RequestContext, client: Client, form: Params, now: Date): Promise<TokenResponse> {
  const refresh = form['refresh_token'];
  if (!refresh) throw new OAuthError('invalid_request', 'refresh_token is required');
  const tokenHash = hashToken(refresh);
  const outcome = await db.transaction().execute(async (tx) => {
    const spent = await tx
      .updateTable('oauth_tokens')
      .set({ used_at: now })
      .where('token_hash', '=', tokenHash)
      .where('kind', '=', 'refresh')
      .where('used_at', 'is', null)
      .returning(['grant_id', 'expires_at'])
      .executeTakeFirst();
    if (!spent) {
      const replayed = await tx.selectFrom('oauth_tokens').select('grant_id').where('token_hash', '=', tokenHash).where('kind', '=', 'refresh').executeTakeFirst();
      return { replayedGrant: replayed?.grant_id ?? null } as const;
    }
    const grant = await grantOf(tx, spent.grant_id);
    const active = await tx.selectFrom('oauth_clients').select('id').where('id', '=', client.id).where('revoked_at', 'is', null).executeTakeFirst();
    const expired = spent.expires_at.getTime() <= now.getTime() || (grant !== undefined && grant.created_at.getTime() + GRANT_MAX_AGE_MS <= now.getTime());
    if (!grant || grant.revoked_at || grant.client_id !== client.id || !active || expired) return { refused: true } as const;
    return { tokens: await issueTokens(tx, grant, narrowedScope(grant.scope, form['scope']), now) } as const;
  });
  if ('tokens' in outcome) return outcome.tokens;
  if ('replayedGrant' in outcome && outcome.replayedGrant) await revokeReplayedGrant(db, context, outcome.replayedGrant, 'refresh_token', now);
  throw new OAuthError('invalid_grant', 'the refresh token is invalid, expired, already used, or was issued to another client');
}

/** A refresh may ask for less than the grant, never more (RFC 6749 §6). */
function narrowedScope(granted: string, asked: string | undefined): string {
  if (asked === undefined) return granted;
  const grantedWords = new Set(granted.split(' '));
  const askedWords = asked.trim().split(/ +/);
  if (askedWords.some((word) => !grantedWords.has(word))) throw new OAuthError('invalid_scope', 'a refresh may not widen the scope');
  const narrowed = [...new Set(askedWords)].join(' ');
  try {
    parseScopes(narrowed, FHIR_TYPES);
  } catch {
    throw new OAuthError('invalid_scope', 'the narrowed scope grants no FHIR access');
  }
  return narrowed;
}

/** RFC 7009: a client revokes one of its tokens; revoking a refresh token ends the whole grant. */
export async function revokeToken(db: Db, client: Client, token: string | undefined, now: Date): Promise<void> {
  if (!token) throw new OAuthError('invalid_request', 'token is required');
  const row = await db
    .selectFrom('oauth_tokens as t')
    .innerJoin('oauth_grants as g', 'g.id', 't.grant_id')
    .select(['t.kind', 't.grant_id', 'g.client_id'])
    .where('t.token_hash', '=', hashToken(token))
    .executeTakeFirst();
  // Another client's token, or an unknown one: nothing happens, and the answer is the same (§2.2).
  if (!row || row.client_id !== client.id) return;
  if (row.kind === 'refresh') await db.updateTable('oauth_grants').set({ revoked_at: now }).where('id', '=', row.grant_id).where('revoked_at', 'is', null).execute();
  else await db.updateTable('oauth_tokens').set({ expires_at: now }).where('token_hash', '=', hashToken(token)).execute();
}

/** RFC 7662's answer: `active` alone for a token that is not (or not this client's to know of). */
export type Introspection =
  | { active: false }
  | { active: true; scope: string; client_id: string; token_type: 'Bearer' | 'refresh_token'; exp: number; iat: number; sub: string; aud: string; iss: string; patient?: string };

/**
 * RFC 7662: a confidential client asks whether a token is active. It learns only of its own tokens: for
 * another client's, an unknown, expired, used or revoked one, the answer is `{"active": false}` alike
 * (§2.2). Public clients cannot ask (their id is no secret): a token scan would cost nothing.
 */
export async function introspectToken(q: Queryable, client: Client, token: string | undefined, now: Date, issuer: string, audience: string): Promise<Introspection> {
  if (client.secretHash === null) throw new OAuthError('invalid_client', 'introspection is for confidential clients');
  if (!token) throw new OAuthError('invalid_request', 'token is required');
  const row = await q
    .selectFrom('oauth_tokens as t')
    .innerJoin('oauth_grants as g', 'g.id', 't.grant_id')
    .innerJoin('oauth_clients as c', 'c.id', 'g.client_id')
    .select(['t.kind', 't.scope', 't.created_at', 't.expires_at', 'g.user_id', 'g.scope as grant_scope', 'c.client_id'])
    .where('t.token_hash', '=', hashToken(token))
    .where('g.client_id', '=', client.id)
    .where('t.expires_at', '>', now)
    .where('t.used_at', 'is', null)
    .where('g.revoked_at', 'is', null)
    .where('g.created_at', '>', new Date(now.getTime() - GRANT_MAX_AGE_MS))
    .where('c.revoked_at', 'is', null)
    .executeTakeFirst();
  if (!row) return { active: false };
  const seconds = (date: Date) => Math.floor(date.getTime() / 1000);
  return {
    active: true,
    scope: row.scope,
    client_id: row.client_id,
    token_type: row.kind === 'access' ? 'Bearer' : 'refresh_token',
    exp: seconds(row.expires_at),
    iat: seconds(row.created_at),
    sub: row.user_id,
    aud: audience,
    iss: issuer,
    ...(row.grant_scope.split(' ').includes('launch/patient') ? { patient: row.user_id } : {}),
  };
}

// --- The user's grants ---

export interface GrantSummary {
  id: string;
  clientName: string;
  organisation: string | null;
  scopes: string[];
  createdAt: string;
  lastUsedAt: string | null;
}

export async function grantsOf(q: Queryable, userId: string, now: Date): Promise<GrantSummary[]> {
  const rows = await q
    .selectFrom('oauth_grants as g')
    .innerJoin('oauth_clients as c', 'c.id', 'g.client_id')
    .innerJoin('organisations as o', 'o.id', 'c.organisation_id')
    .select(['g.id', 'c.name', 'o.name as organisation', 'g.scope', 'g.created_at', 'g.last_used_at'])
    .where('g.user_id', '=', userId)
    .where('g.revoked_at', 'is', null)
    .where('c.revoked_at', 'is', null)
    .where('g.created_at', '>', new Date(now.getTime() - GRANT_MAX_AGE_MS))
    .orderBy('g.created_at', 'desc')
    .execute();
  return rows.map((row) => ({ id: row.id, clientName: row.name, organisation: row.organisation, scopes: row.scope.split(' '), createdAt: row.created_at.toISOString(), lastUsedAt: row.last_used_at?.toISOString() ?? null }));
}

/** The user ends an application's access: every token of the grant stops at once. */
export async function revokeGrant(db: Db, context: RequestContext, userId: string, grantId: string, now: Date): Promise<void> {
  await db.transaction().execute(async (tx) => {
    const revoked = await tx
      .updateTable('oauth_grants')
      .set({ revoked_at: now })
      .where('id', '=', grantId)
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .returning('client_id')
      .executeTakeFirst();
    if (!revoked) throw new AppError('not_found');
    await recordSecurityEvent(tx, context, { type: 'application.access_revoked', outcome: 'success', actorUserId: userId, detail: { grant: grantId, application: revoked.client_id } });
  });
}

/** Every application of a user stops (their password was reset: the account may have been taken). */
export async function revokeAllGrants(q: Queryable, userId: string, now: Date): Promise<number> {
  const rows = await q.updateTable('oauth_grants').set({ revoked_at: now }).where('user_id', '=', userId).where('revoked_at', 'is', null).returning('id').execute();
  return rows.length;
}

// --- The resource server's side: who a bearer token speaks for ---

export interface TokenHolder {
  userId: string;
  secondFactorAt: Date;
  granted: GrantedScopes;
  application: { id: string; clientId: string; name: string };
}

const LAST_USED_WRITE_EVERY_MS = 60_000;

/** The holder of a valid access token, or null (unknown, expired, grant or application revoked). */
export async function tokenHolder(db: Db, token: string, now: Date): Promise<TokenHolder | null> {
  const row = await db
    .selectFrom('oauth_tokens as t')
    .innerJoin('oauth_grants as g', 'g.id', 't.grant_id')
    .innerJoin('oauth_clients as c', 'c.id', 'g.client_id')
    .select(['t.scope', 'g.id as grant_id', 'g.user_id', 'g.second_factor_at', 'g.last_used_at', 'c.id as client_uuid', 'c.client_id', 'c.name'])
    .where('t.token_hash', '=', hashToken(token))
    .where('t.kind', '=', 'access')
    .where('t.expires_at', '>', now)
    .where('g.revoked_at', 'is', null)
    .where('g.created_at', '>', new Date(now.getTime() - GRANT_MAX_AGE_MS))
    .where('c.revoked_at', 'is', null)
    .executeTakeFirst();
  if (!row) return null;
  if (!row.last_used_at || now.getTime() - row.last_used_at.getTime() > LAST_USED_WRITE_EVERY_MS) {
    await db.updateTable('oauth_grants').set({ last_used_at: now }).where('id', '=', row.grant_id).execute();
  }
  let granted: GrantedScopes;
  try {
    granted = parseScopes(row.scope, FHIR_TYPES);
  } catch {
    return null; // checked when granted: fails only if the served types shrank since
  }
  return { userId: row.user_id, secondFactorAt: row.second_factor_at, granted, application: { id: row.client_uuid, clientId: row.client_id, name: row.name } };
}
