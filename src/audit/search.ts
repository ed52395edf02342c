// What a security officer may search in the audit log: the traces of their organisations, and of the
// members of those organisations (actor, patient or subject). Shared by the officer's pages and by the
// FHIR AuditEvent search.
import type { Queryable } from '../kernel/db.js';
import { AppError } from '../kernel/errors.js';

export interface SearchFilters {
  actor?: string;
  patient?: string;
  outcome?: string;
  /** Any of these outcomes (FHIR's outcome codes cover two of ours each). */
  outcomes?: string[];
  from?: string;
  to?: string;
  limit?: string;
  /** One entry, by its id. */
  id?: string;
}

/** The organisations where the user is security officer; a 404 for anyone else (the routes do not exist for them). */
export async function organisationsWatchedBy(q: Queryable, userId: string): Promise<string[]> {
  const rows = await q.selectFrom('member_roles').select('organisation_id').where('user_id', '=', userId).where('role', '=', 'security_officer').execute();
  if (rows.length === 0) throw new AppError('not_found');
  return rows.map((row) => row.organisation_id);
}

export const ENTRY_COLUMNS = [
  'id',
  'leaf_index',
  'leaf_data',
  'pruned_at',
  'occurred_at',
  'kind',
  'type',
  'outcome',
  'actor_user_id',
  'actor_role',
  'subject_user_id',
  'patient_id',
  'organisation_id',
  'resource_type',
  'resource_id',
  'purpose',
  'reason',
  'request_id',
  'source_address',
  'detail',
] as const;

/**
 * The entries an officer of `organisations` sees, filtered: those of their organisations; of the entries
 * tied to no organisation (a denied decision, a login), those whose actor is a member — and whose patient,
 * if any, is one too — or, without an actor, whose subject is a member. A person who belongs to two
 * organisations does not open one's traces to the other's officer.
 */
function visibleEntries(q: Queryable, organisations: string[], query: SearchFilters) {
  const members = q.selectFrom('member_roles').select('user_id').where('organisation_id', 'in', organisations);
  let search = q.selectFrom('audit_entries').where((eb) =>
    eb.or([
      eb('organisation_id', 'in', organisations),
      eb.and([
        eb('organisation_id', 'is', null),
        eb.or([
          eb.and([eb('actor_user_id', 'in', members), eb.or([eb('patient_id', 'is', null), eb('patient_id', 'in', members)])]),
          eb.and([eb('actor_user_id', 'is', null), eb('subject_user_id', 'in', members)]),
        ]),
      ]),
    ]),
  );
  if (query.id) search = search.where('id', '=', query.id);
  if (query.actor) search = search.where('actor_user_id', '=', query.actor);
  if (query.patient) search = search.where('patient_id', '=', query.patient);
  if (query.outcome) search = search.where('outcome', '=', query.outcome);
  if (query.outcomes) search = search.where('outcome', 'in', query.outcomes.length > 0 ? query.outcomes : ['-']);
  if (query.from) search = search.where('occurred_at', '>=', new Date(query.from));
  if (query.to) search = search.where('occurred_at', '<', new Date(query.to));
  return search;
}

/** Newest first. */
export function searchEntries(q: Queryable, organisations: string[], query: SearchFilters, limit: number, offset = 0) {
  return visibleEntries(q, organisations, query).select(ENTRY_COLUMNS).orderBy('id', 'desc').limit(limit).offset(offset).execute();
}

export async function countEntries(q: Queryable, organisations: string[], query: SearchFilters): Promise<number> {
  const { n } = await visibleEntries(q, organisations, query).select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  return Number(n);
}

export type EntryRow = Awaited<ReturnType<typeof searchEntries>>[number];
