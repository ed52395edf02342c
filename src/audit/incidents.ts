// Anomaly detection over the audit log, run on each batch the integrator adds (off the request path):
// bursts of denials, one account reading an unusual number of patients, and failed logins across many
// accounts from one address. Each opens one incident (not one per entry) for the security officer.
import { sql } from 'kysely';
import type { Db, Queryable } from '../kernel/db.js';
import type { IncidentKind } from '../kernel/schema.js';
import { LIST_VIEW } from './log.js';

export const THRESHOLDS = {
  /** Denied decisions by one account within 5 minutes. */
  denialBurst: { count: 20, windowMs: 5 * 60_000 },
  /** Distinct patients read by one account within 10 minutes (more than this; list views aside: LIST_VIEW). */
  unusualVolume: { patients: 100, windowMs: 10 * 60_000 },
  /** Distinct accounts with failed password logins from one address within 10 minutes. */
  loginFailures: { accounts: 10, windowMs: 10 * 60_000 },
} as const;

interface Finding {
  kind: IncidentKind;
  actorUserId: string | null;
  sourceAddress: string | null;
  summary: string;
}

async function findings(db: Db, fromId: number, toId: number): Promise<Finding[]> {
  const batch = sql`audit_entries.id BETWEEN ${fromId} AND ${toId}`;
  // A subject (actor, address) whose incident of that kind is still open gets no other one (see
  // detectIncidents): it is not counted again, so a busy actor's window is not re-counted on every batch.
  const notOpen = (kind: IncidentKind, column: 'actor_user_id' | 'source_address') =>
    sql`NOT EXISTS (SELECT 1 FROM incidents WHERE incidents.kind = ${kind} AND incidents.status <> 'closed' AND incidents.${sql.ref(column)} = audit_entries.${sql.ref(column)})`;
  const bursts = await sql<{ actor: string; n: string | number }>`
    SELECT e.actor_user_id AS actor, count(*) AS n FROM audit_entries e
    WHERE e.kind = 'access' AND e.outcome = 'denied' AND e.actor_user_id IN (
      SELECT actor_user_id FROM audit_entries WHERE ${batch} AND kind = 'access' AND outcome = 'denied' AND ${notOpen('denial_burst', 'actor_user_id')})
      AND e.occurred_at > (SELECT max(occurred_at) FROM audit_entries WHERE ${batch}) - make_interval(secs => ${THRESHOLDS.denialBurst.windowMs / 1000})
    GROUP BY e.actor_user_id HAVING count(*) >= ${THRESHOLDS.denialBurst.count}`.execute(db);
  // A list of one's patients (LIST_VIEW) decides and traces each of them, but is not reading each record.
  const notListView = (alias: string) => sql`(${sql.ref(`${alias}.resource_type`)} IS NULL OR ${sql.ref(`${alias}.resource_type`)} NOT IN (${sql.join(Object.values(LIST_VIEW))}))`;
  const volumes = await sql<{ actor: string; n: string | number }>`
    SELECT e.actor_user_id AS actor, count(DISTINCT e.patient_id) AS n FROM audit_entries e
    WHERE e.kind = 'access' AND e.outcome = 'allowed' AND e.actor_user_id <> e.patient_id AND ${notListView('e')} AND e.actor_user_id IN (
      SELECT actor_user_id FROM audit_entries WHERE ${batch} AND kind = 'access' AND outcome = 'allowed' AND ${notListView('audit_entries')} AND ${notOpen('unusual_volume', 'actor_user_id')})
      AND e.occurred_at > (SELECT max(occurred_at) FROM audit_entries WHERE ${batch}) - make_interval(secs => ${THRESHOLDS.unusualVolume.windowMs / 1000})
    GROUP BY e.actor_user_id HAVING count(DISTINCT e.patient_id) > ${THRESHOLDS.unusualVolume.patients}`.execute(db);
  const logins = await sql<{ address: string; n: string | number }>`
    SELECT e.source_address AS address, count(DISTINCT coalesce(e.subject_user_id::text, e.request_id)) AS n FROM audit_entries e
    WHERE e.kind = 'security' AND e.type = 'login.password' AND e.outcome = 'failure' AND e.source_address IN (
      SELECT source_address FROM audit_entries WHERE ${batch} AND type = 'login.password' AND outcome = 'failure' AND ${notOpen('login_failures', 'source_address')})
      AND e.occurred_at > (SELECT max(occurred_at) FROM audit_entries WHERE ${batch}) - make_interval(secs => ${THRESHOLDS.loginFailures.windowMs / 1000})
    GROUP BY e.source_address HAVING count(DISTINCT coalesce(e.subject_user_id::text, e.request_id)) >= ${THRESHOLDS.loginFailures.accounts}`.execute(db);
  return [
    ...bursts.rows.map((r) => ({ kind: 'denial_burst' as const, actorUserId: r.actor, sourceAddress: null, summary: `${Number(r.n)} denied decisions within 5 minutes` })),
    ...volumes.rows.map((r) => ({ kind: 'unusual_volume' as const, actorUserId: r.actor, sourceAddress: null, summary: `${Number(r.n)} different patients read within 10 minutes` })),
    ...logins.rows.map((r) => ({ kind: 'login_failures' as const, actorUserId: null, sourceAddress: r.address, summary: `failed logins on ${Number(r.n)} accounts within 10 minutes` })),
  ];
}

export interface NewIncident {
  kind: IncidentKind;
  /** Who and what, never clinical words nor secrets: the officer reads it in lists and exports. */
  summary: string;
  actorUserId: string | null;
  patientId: string | null;
  sourceAddress: string | null;
  now: Date;
}

/** The one way an incident is opened, in the caller's transaction (e.g. with the break-the-glass decision). */
export async function openIncident(q: Queryable, incident: NewIncident): Promise<string> {
  const row = await q
    .insertInto('incidents')
    .values({ kind: incident.kind, summary: incident.summary, actor_user_id: incident.actorUserId, patient_id: incident.patientId, source_address: incident.sourceAddress, opened_at: incident.now })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Opens an incident per finding, unless one of the same kind and subject is still open. */
export async function detectIncidents(db: Db, fromId: number, toId: number, now: Date): Promise<number> {
  let opened = 0;
  for (const finding of await findings(db, fromId, toId)) {
    let open = db.selectFrom('incidents').select('id').where('kind', '=', finding.kind).where('status', '!=', 'closed');
    open = finding.actorUserId ? open.where('actor_user_id', '=', finding.actorUserId) : open.where('source_address', '=', finding.sourceAddress);
    if (await open.executeTakeFirst()) continue;
    await openIncident(db, { ...finding, patientId: null, now });
    opened += 1;
  }
  return opened;
}
