// Applications registered by an organisation's administrator: a name, the exact redirect URIs the
// authorization server will send codes to, and for a confidential client a secret shown once.
import { randomUUID } from 'node:crypto';
import { recordSecurityEvent, type RequestContext } from '../audit/security-events.js';
import { hashToken, randomToken } from '../kernel/crypto.js';
import type { Db, Queryable } from '../kernel/db.js';
import { AppError } from '../kernel/errors.js';
import { GRANT_MAX_AGE_MS } from './authorization.js';

export interface Application {
  id: string;
  clientId: string;
  name: string;
  redirectUris: string[];
  confidential: boolean;
  createdAt: string;
  revokedAt: string | null;
  /** People whose grant to it is in force (what revoking it would stop). */
  activeGrants: number;
}

export interface NewApplication {
  name: string;
  redirectUris: string[];
  confidential: boolean;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/**
 * A redirect URI is an absolute https URL, or http on the loopback interface (native apps, RFC 8252
 * §7.3), without a fragment (RFC 6749 §3.1.2) and without credentials.
 */
export function checkedRedirectUri(raw: string, index = 0): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalid(raw, index, 'n’est pas une adresse absolue', 'is not an absolute URL');
  }
  if (url.hash || raw.includes('#')) throw invalid(raw, index, 'ne doit pas contenir de fragment (#)', 'must not contain a fragment (#)');
  if (url.username || url.password) throw invalid(raw, index, 'ne doit pas contenir d’identifiants', 'must not contain credentials');
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) {
    throw invalid(raw, index, 'doit être en https (ou en http sur 127.0.0.1, [::1] ou localhost)', 'must use https (or http on 127.0.0.1, [::1] or localhost)');
  }
  return raw;
}

/** The refusal, pointing at the URI (RFC 9457 `errors`, as the schema validation does). */
function invalid(uri: string, index: number, fr: string, en: string): AppError {
  return new AppError('validation_failed', { fr: `L’adresse de retour « ${uri} » ${fr}.`, en: `The redirect URI "${uri}" ${en}.` }, { extra: { errors: [{ pointer: `/redirectUris/${index}`, message: en }] } });
}

type ApplicationRow = { id: string; client_id: string; name: string; redirect_uris: string[]; secret_hash: string | null; created_at: Date; revoked_at: Date | null };

function toApplication(row: ApplicationRow, activeGrants = 0): Application {
  return {
    id: row.id,
    clientId: row.client_id,
    name: row.name,
    redirectUris: row.redirect_uris,
    confidential: row.secret_hash !== null,
    createdAt: row.created_at.toISOString(),
    revokedAt: row.revoked_at?.toISOString() ?? null,
    activeGrants,
  };
}

const COLUMNS = ['id', 'client_id', 'name', 'redirect_uris', 'secret_hash', 'created_at', 'revoked_at'] as const;

export async function listApplications(q: Queryable, organisationId: string, now: Date): Promise<Application[]> {
  const rows = await q.selectFrom('oauth_clients').select(COLUMNS).where('organisation_id', '=', organisationId).orderBy('created_at', 'desc').execute();
  if (rows.length === 0) return [];
  const counts = await q
    .selectFrom('oauth_grants')
    .select(['client_id', (eb) => eb.fn.countAll<string>().as('n')])
    .where('client_id', 'in', rows.map((row) => row.id))
    .where('revoked_at', 'is', null)
    .where('created_at', '>', new Date(now.getTime() - GRANT_MAX_AGE_MS))
    .groupBy('client_id')
    .execute();
  const countOf = new Map(counts.map((count) => [count.client_id, Number(count.n)]));
  return rows.map((row) => toApplication(row, countOf.get(row.id) ?? 0));
}

/** Registers an application; the secret of a confidential one is returned once and stored hashed. */
export async function registerApplication(
  db: Db,
  context: RequestContext,
  organisationId: string,
  adminId: string,
  input: NewApplication,
  now: Date,
): Promise<{ application: Application; clientSecret: string | null }> {
  const redirectUris = [...new Set(input.redirectUris.map((uri, index) => checkedRedirectUri(uri.trim(), index)))];
  const clientSecret = input.confidential ? randomToken() : null;
  const row = {
    id: randomUUID(),
    client_id: `ausculta-${randomToken(12)}`,
    organisation_id: organisationId,
    name: input.name.trim(),
    redirect_uris: JSON.stringify(redirectUris),
    secret_hash: clientSecret ? hashToken(clientSecret) : null,
    created_by: adminId,
    created_at: now,
  };
  const inserted = await db.transaction().execute(async (tx) => {
    const stored = await tx.insertInto('oauth_clients').values(row).returning(COLUMNS).executeTakeFirstOrThrow();
    await recordSecurityEvent(tx, context, {
      type: 'application.registered',
      outcome: 'success',
      actorUserId: adminId,
      organisationId,
      detail: { application: row.id, clientId: row.client_id, confidential: input.confidential },
    });
    return stored;
  });
  return { application: toApplication(inserted), clientSecret };
}

/** Revokes an application: its grants stop working at once (tokens are checked against it at each use). */
export async function revokeApplication(db: Db, context: RequestContext, organisationId: string, adminId: string, id: string, now: Date): Promise<void> {
  await db.transaction().execute(async (tx) => {
    const revoked = await tx
      .updateTable('oauth_clients')
      .set({ revoked_at: now })
      .where('id', '=', id)
      .where('organisation_id', '=', organisationId)
      .where('revoked_at', 'is', null)
      .returning('client_id')
      .executeTakeFirst();
    if (!revoked) {
      const exists = await tx.selectFrom('oauth_clients').select('id').where('id', '=', id).where('organisation_id', '=', organisationId).executeTakeFirst();
      if (!exists) throw new AppError('not_found');
      return; // already revoked: nothing to do, nothing to trace
    }
    await tx.updateTable('oauth_grants').set({ revoked_at: now }).where('client_id', '=', id).where('revoked_at', 'is', null).execute();
    await recordSecurityEvent(tx, context, { type: 'application.revoked', outcome: 'success', actorUserId: adminId, organisationId, detail: { application: id, clientId: revoked.client_id } });
  });
}
