// The one access gate (DESIGN invariant 1): (actor, patient, action, purpose) → allowed or denied with a
// reason, and exactly one audit entry per decision, in the caller's transaction (invariant 2): the change's
// (`gated`), or for a read the decision's own statement, committed before anything is read (`gatedRead`).
// An allowed decision is a value only this module can make; every repository that reads or writes
// patient data takes one as its first argument, so no route reaches patient data around the gate.
import { sql, type Compilable, type Expression, type RawBuilder } from 'kysely';
import { appendAuditEntry, auditRow, conditionalAuditInsert, type AuditContext, type AuditEntryInput } from '../audit/log.js';
import { PREPARED, preparesStatements, type Queryable } from '../kernel/db.js';
import type { RelationshipKind } from '../kernel/schema.js';
import { judge, type Action, type Basis, type DecisionRequest, type DenialReason, type GateFacts, type Purpose, type Verdict } from './rules.js';

export { ACTIONS, PURPOSES, type Action, type Basis, type DenialReason, type Purpose } from './rules.js';

/** Not exported: holding it is what "being the gate" means. */
const ISSUED_BY_GATE: unique symbol = Symbol('issued by the access gate');

export class AllowedDecision<A extends Action = Action> {
  readonly allowed = true as const;
  /** An ES private field makes the class nominal: an object literal with the same fields is not one. */
  readonly #issued = true;
  readonly actorId: string;
  readonly patientId: string;
  readonly action: A;
  readonly purpose: Purpose;
  readonly basis: Basis;
  /** The organisation where the basis holds (null for the patient themself). */
  readonly organisationId: string | null;
  readonly decidedAt: Date;

  private constructor(token: typeof ISSUED_BY_GATE, fields: Omit<AllowedDecision<A>, 'allowed'>) {
    if (token !== ISSUED_BY_GATE) throw new Error('only the access gate issues decisions');
    this.actorId = fields.actorId;
    this.patientId = fields.patientId;
    this.action = fields.action;
    this.purpose = fields.purpose;
    this.basis = fields.basis;
    this.organisationId = fields.organisationId;
    this.decidedAt = fields.decidedAt;
  }

  /** Used by decide() below; the token keeps anyone else out even at run time. */
  static issue<A extends Action>(token: typeof ISSUED_BY_GATE, fields: Omit<AllowedDecision<A>, 'allowed'>): AllowedDecision<A> {
    return new AllowedDecision(token, fields);
  }

  static isGenuine(value: unknown): value is AllowedDecision {
    return typeof value === 'object' && value !== null && #issued in value;
  }
}

export interface DeniedDecision {
  readonly allowed: false;
  readonly reason: DenialReason;
  readonly actorId: string;
  readonly patientId: string;
  readonly action: Action;
}

export type Decision<A extends Action = Action> = AllowedDecision<A> | DeniedDecision;

export interface DecisionInput<A extends Action = Action> {
  /**
   * `ownRecordOnly`: the actor acts through an application whose scopes reach their own record only
   * (SMART patient/ scopes): any other patient is denied, traced like every denial.
   */
  actor: { userId: string; secondFactorVerified: boolean; ownRecordOnly?: boolean };
  /** As requested: may be unknown, or not a patient; recorded as is. */
  patientId: string;
  action: A;
  purpose: Purpose;
  context: AuditContext;
  now: Date;
  /** What the decision is about when it is not the patient as a whole (a relationship, an opposition…). */
  resource?: { type: string; id: string };
  /** A person's written justification (break-the-glass): kept in the audit entry's reason field. */
  justification?: string;
  /** Identifiers describing the change asked for (never clinical content). */
  detail?: Record<string, string>;
}

export async function decide<A extends Action>(q: Queryable, input: DecisionInput<A>): Promise<Decision<A>> {
  return (await decideWith(q, input, undefined)).decision;
}

/** A SELECT built by a repository (a Kysely query builder): compiled by the gate into its own statement. */
export type ReadQuery<Row> = Expression<unknown> & Compilable<Row>;

/**
 * A read that a repository prepares for one patient and that only the gate runs: within the statement
 * that confirms the decision's facts and writes its entry when the gate holds a guess (decision, trace
 * and read in one round trip, one snapshot), else on its own once the decision is allowed and its entry
 * written. The query it holds cannot be taken out of it but by this module.
 */
export class GuardedRead<A extends Action, Row> {
  readonly #query: ReadQuery<Row>;
  readonly actions: readonly A[];
  readonly patientId: string;

  constructor(actions: readonly A[], patientId: string, query: ReadQuery<Row>) {
    this.actions = actions;
    this.patientId = patientId;
    this.#query = query;
  }

  static queryOf<Row>(token: typeof ISSUED_BY_GATE, read: GuardedRead<Action, Row>): ReadQuery<Row> {
    if (token !== ISSUED_BY_GATE) throw new Error('only the access gate runs guarded reads');
    return read.#query;
  }
}

/**
 * `decide`, and on an allowed decision the guarded read's rows (none on a denial: the read never runs).
 * Trace first, as `gatedRead`: the rows leave the database only with the statement that committed the
 * entry (autocommit), or after it.
 */
export async function decideAndRead<A extends Action, Row>(q: Queryable, input: DecisionInput<A>, read: GuardedRead<A, Row>): Promise<{ decision: Decision<A>; rows: Row[] }> {
  checkGuarded(read, input);
  const query = GuardedRead.queryOf(ISSUED_BY_GATE, read as GuardedRead<Action, Row>);
  const { decision, rows } = await decideWith(q, input, query);
  if (!decision.allowed) return { decision, rows: [] };
  return { decision, rows: rows ?? (await q.executeQuery(query.compile())).rows };
}

/** A value of a guarded insert's row: what JSON carries to `json_populate_record` as the column's text. */
export type InsertValue = string | number | boolean | Date | null;
export type InsertRow = Record<string, InsertValue>;

/**
 * A change that a repository prepares for one patient as one new row of `table`, and that only the gate
 * runs: within the statement that confirms the decision's facts and writes its entry when the gate holds
 * a guess (decision, trace and row in one autocommit statement, so one transaction, as `gated` makes
 * one), else in `gated`'s transaction once the decision is allowed. `row` is what the repository returns.
 */
export class GuardedInsert<A extends Action, Row extends InsertRow> {
  readonly actions: readonly A[];
  readonly patientId: string;
  readonly table: string;
  readonly row: Row;

  constructor(actions: readonly A[], patientId: string, table: string, row: Row) {
    // The decision is about patientId: a row that names a patient must name that one.
    if ('patient_id' in row && row['patient_id'] !== patientId) throw new Error('gate: a guarded change whose row is another patient’s');
    this.actions = actions;
    this.patientId = patientId;
    this.table = table;
    this.row = row;
  }
}

function checkGuarded(guarded: { patientId: string; actions: readonly Action[] }, input: DecisionInput): void {
  if (guarded.patientId !== input.patientId || !guarded.actions.includes(input.action)) throw new Error('gate: a guarded read or change for another patient or action');
}

/**
 * `INSERT INTO table (columns) SELECT … FROM [source,] json_populate_record(NULL::table, $row)`: the row as
 * one JSON parameter that the database types as the table's columns; with `source`, one row per row of it.
 */
function insertOf(insert: GuardedInsert<Action, InsertRow>, source?: RawBuilder<unknown>): RawBuilder<unknown> {
  const columns = Object.keys(insert.row);
  const table = sql.table(insert.table);
  return sql`INSERT INTO ${table} (${sql.join(columns.map((column) => sql.ref(column)))})
    SELECT ${sql.join(columns.map((column) => sql.ref(`r.${column}`)))}
    FROM ${source ? sql`${source}, ` : sql``}json_populate_record(NULL::${table}, ${JSON.stringify(insert.row)}::json) AS r`;
}

/** Writes a guarded insert's row under an allowed decision (in `gated`'s transaction). */
export async function insertAllowed<A extends Action>(q: Queryable, decision: AllowedDecision<A>, insert: GuardedInsert<A, InsertRow>): Promise<void> {
  assertDecision(decision, ...insert.actions);
  if (decision.patientId !== insert.patientId) throw new Error('gate: a guarded change for another patient');
  await insertOf(insert as GuardedInsert<Action, InsertRow>).execute(q);
}

/**
 * The decision, its entry and the row in one statement, when that can be (PostgreSQL, a guess of the
 * facts held that allows): true when all three were written. False when nothing was written — no guess,
 * a guessed denial, facts other than the guess, or a failed statement (one statement is one
 * transaction) — and the caller then goes through `gated`, which decides and traces as usual.
 */
export async function decideAndInsert<A extends Action>(q: Queryable, input: DecisionInput<A>, insert: GuardedInsert<A, InsertRow>): Promise<boolean> {
  checkGuarded(insert, input);
  if (verdictWithoutFacts(input) !== undefined || !preparesStatements(q)) return false;
  const { guess, guessed } = guessFor(input);
  if (guess === undefined || !guessed?.allowed) return false;
  const statement = sql`${sql.raw(PREPARED)}WITH ${factsCte(input)}, ${entryCte(input, guessed, guess)},
      change AS (${insertOf(insert as GuardedInsert<Action, InsertRow>, sql`entry`)} RETURNING 1)
    SELECT facts AS gate_facts, (SELECT count(*) FROM entry)::int AS gate_traced, (SELECT count(*) FROM change)::int AS gate_changed FROM facts`;
  let first: { gate_facts: string; gate_traced: number | string; gate_changed: number | string };
  try {
    first = (await statement.execute(q)).rows[0] as typeof first;
  } catch {
    return false; // nothing was written: `gated` will decide, trace, and meet the same failure in its own transaction
  }
  rememberFacts(input, first.gate_facts);
  const written = Number(first.gate_traced);
  if (written === 0) return false;
  if (written !== 1 || Number(first.gate_changed) !== 1 || first.gate_facts !== guess) throw new Error('gate: a change written with an entry other than its decision\'s');
  return true;
}

async function decideWith<A extends Action, Row>(q: Queryable, input: DecisionInput<A>, read: ReadQuery<Row> | undefined): Promise<{ decision: Decision<A>; rows?: Row[] | undefined }> {
  let verdict = verdictWithoutFacts(input);
  let rows: Row[] | undefined;
  if (verdict) await appendAuditEntry(q, input.context, entryOf(input, verdict), input.now);
  else ({ verdict, rows } = await judgeAndTrace(q, input, read));
  return { decision: decisionOf(input, verdict), rows };
}

/**
 * The verdict when nothing is to be looked up, so that the denial does not depend on the patient: an
 * application limited to its user's own record asking for someone else's, or no second factor.
 * Undefined when the facts decide.
 */
function verdictWithoutFacts(input: DecisionInput): Verdict | undefined {
  const request = requestOf(input);
  if (input.actor.ownRecordOnly && !request.isSelf) return { allowed: false, reason: 'outside_scope' };
  if (!input.actor.secondFactorVerified) return judge(NO_FACTS, request);
  return undefined;
}

function decisionOf<A extends Action>(input: DecisionInput<A>, verdict: Verdict): Decision<A> {
  const { actor, patientId, action, purpose, now } = input;
  if (!verdict.allowed) return { allowed: false, reason: verdict.reason, actorId: actor.userId, patientId, action };
  return AllowedDecision.issue<A>(ISSUED_BY_GATE, {
    actorId: actor.userId,
    patientId,
    action,
    purpose,
    basis: verdict.basis,
    organisationId: verdict.organisationId,
    decidedAt: now,
  });
}

/** Audit entries written by one statement at most (17 parameters each: PostgreSQL takes 65 535). */
const ENTRIES_PER_STATEMENT = 1_000;

/**
 * One decision per input, each with its one entry, in a few statements whatever their number: the facts
 * of every pair read by one statement, the entries written by one per thousand. For lists (the patients
 * a professional's list or a search considers), in the caller's transaction as `decide`'s; a decision per
 * patient at a round trip each made a list of a thousand patients take seconds.
 */
export async function decideEach<A extends Action>(q: Queryable, inputs: ReadonlyArray<DecisionInput<A>>): Promise<Array<Decision<A>>> {
  const verdicts = inputs.map((input) => verdictWithoutFacts(input));
  const toLookUp = inputs.flatMap((input, index) => (verdicts[index] === undefined ? [{ input, index }] : []));
  if (toLookUp.length > 0) {
    const { rows } = await sql<{ i: string | number; facts: string }>`
      SELECT t.i, access_facts(t.actor, t.patient, t.at) AS facts
      FROM unnest(${toLookUp.map(({ input }) => input.actor.userId)}::uuid[], ${toLookUp.map(({ input }) => input.patientId)}::uuid[],
        ${toLookUp.map(({ input }) => input.now.toISOString())}::timestamptz[]) WITH ORDINALITY AS t(actor, patient, at, i)`.execute(q);
    if (rows.length !== toLookUp.length) throw new Error(`gate: facts of ${rows.length} pairs read for ${toLookUp.length}`);
    for (const row of rows) {
      const { input, index } = toLookUp[Number(row.i) - 1]!;
      rememberFacts(input, row.facts);
      verdicts[index] = judge(factsFrom(row.facts, input.actor.userId, input.patientId), requestOf(input));
    }
  }
  for (let from = 0; from < inputs.length; from += ENTRIES_PER_STATEMENT) {
    const chunk = inputs.slice(from, from + ENTRIES_PER_STATEMENT);
    await q.insertInto('audit_entries').values(chunk.map((input, k) => auditRow(input.context, entryOf(input, verdicts[from + k]!), input.now))).execute();
  }
  return inputs.map((input, index) => decisionOf(input, verdicts[index]!));
}

/** The decision's audit entry (never clinical content). */
function entryOf(input: DecisionInput, verdict: Verdict): AuditEntryInput {
  return {
    kind: 'access',
    type: input.action,
    outcome: verdict.allowed ? 'allowed' : 'denied',
    actorUserId: input.actor.userId,
    actorRole: verdict.allowed ? verdict.basis : null,
    patientId: input.patientId,
    organisationId: verdict.allowed ? verdict.organisationId : null,
    resourceType: input.resource?.type ?? null,
    resourceId: input.resource?.id ?? null,
    purpose: input.purpose,
    reason: input.justification ?? null,
    detail: { ...input.detail, reason: verdict.allowed ? 'granted' : verdict.reason },
  };
}

/**
 * For repositories: refuses anything but a genuine allowed decision for one of `actions`. The types
 * already say so; this keeps a cast (`as any`) from walking around the gate at run time.
 */
export function assertDecision<A extends Action>(decision: AllowedDecision<A>, ...actions: A[]): void {
  if (!AllowedDecision.isGenuine(decision) || !actions.includes(decision.action)) {
    throw new Error(`repository reached without an allowed ${actions.join('/')} decision`);
  }
}

const NO_FACTS: GateFacts = { patientOrganisations: [], professionalRoles: [], relationships: [], emergencyAccessOpen: false, opposed: false };

/*
 * Facts and trace in one statement. The database reads every fact of (actor, patient) at `now` in one
 * statement (the function access_facts, migrations 0010 and 0014) and returns them as one canonical text (a word
 * per fact, sorted):
 *   p<org>:patient            the patient is a patient of <org>
 *   r<org>:<role>             the actor is doctor / health_professional in <org>
 *   c<org>:<kind>             an active care relationship between them, in <org>
 *   e                         an open emergency access of the actor on the patient
 *   x                         an active opposition of the patient against the actor
 * The gate keeps the last text seen for each (actor, patient) as a guess, and for a pair it has not seen,
 * the last text seen for the actor with any patient: the words name organisations and kinds, not the
 * patient, so a doctor's patients mostly share one text. With a guess, it judges the guessed facts first
 * and sends the entry of that verdict with the read, as a data-modifying CTE written only if the facts
 * read by the same statement are exactly the guessed ones: then the decision rests on the facts as they
 * are, read and traced in one statement. Otherwise (no guess, or the facts differ) the gate judges the
 * facts the statement returned and appends the entry with a second statement. The guess only saves a
 * statement: no decision is ever taken on facts the database did not just confirm.
 * With a guarded read, the guessed statement also carries the read, conditioned on the entry written by
 * the same statement: rows come back only with the decision's trace, in the same snapshot as its facts.
 */
const FACTS_REMEMBERED = 10_000;
const lastFactsOfPair = new Map<string, string>();
const lastFactsOfActor = new Map<string, string>();

function remember(map: Map<string, string>, key: string, facts: string): void {
  map.delete(key);
  map.set(key, facts);
  if (map.size > FACTS_REMEMBERED) map.delete(map.keys().next().value!);
}

/** Benchmarks and tests: forget every guess, so that the next decision of each pair takes two statements. */
export function forgetFactsGuesses(): void {
  lastFactsOfPair.clear();
  lastFactsOfActor.clear();
}

/** The result columns the gate adds to a guarded read's rows (a read must not use these names). */
const GATE_COLUMNS = ['gate_facts', 'gate_traced', 'gate_row'] as const;

/** The gate's guess of the facts of (actor, patient), and its verdict on them. */
function guessFor(input: DecisionInput): { guess: string | undefined; guessed: Verdict | undefined } {
  const { actor, patientId } = input;
  const guess = lastFactsOfPair.get(`${actor.userId} ${patientId}`) ?? lastFactsOfActor.get(actor.userId);
  return { guess, guessed: guess === undefined ? undefined : judge(factsFrom(guess, actor.userId, patientId), requestOf(input)) };
}

function requestOf(input: DecisionInput): DecisionRequest {
  const { actor, patientId, action, purpose } = input;
  return { isSelf: actor.userId === patientId, secondFactorVerified: actor.secondFactorVerified, action, purpose };
}

function rememberFacts(input: DecisionInput, facts: string): void {
  remember(lastFactsOfPair, `${input.actor.userId} ${input.patientId}`, facts);
  remember(lastFactsOfActor, input.actor.userId, facts);
}

/**
 * access_facts (migrations 0010, 0014): the facts query as a PL/pgSQL function, its plan prepared once per
 * connection; STABLE, so it reads with this statement's snapshot, the one the conditional entry is written in.
 */
function factsCte(input: DecisionInput): RawBuilder<unknown> {
  return sql`facts AS (SELECT access_facts(${input.actor.userId}::uuid, ${input.patientId}::uuid, ${input.now}::timestamptz) AS facts)`;
}

/** The entry of the guessed verdict, written only if the facts the statement reads are the guessed ones. */
function entryCte(input: DecisionInput, guessed: Verdict, guess: string): RawBuilder<unknown> {
  return sql`entry AS (${conditionalAuditInsert(input.context, entryOf(input, guessed), input.now, sql`facts`, sql`facts.facts = ${guess}::text`)})`;
}

async function judgeAndTrace<Row>(q: Queryable, input: DecisionInput, read: ReadQuery<Row> | undefined): Promise<{ verdict: Verdict; rows?: Row[] }> {
  const { actor, patientId, now } = input;
  const { guess, guessed } = guessFor(input);
  const facts = factsCte(input);
  // Prepared on PostgreSQL: planning this statement cost more than running it (bench/README.md).
  const prepared = sql.raw(PREPARED);
  // A guessed denial never carries the read: no patient data leaves the database on a refusal. On PGlite,
  // where nothing is prepared, planning the larger statement costs more than a second one (bench/README.md).
  const carriesRead = read !== undefined && guessed?.allowed === true && preparesStatements(q);
  let statement;
  if (guessed === undefined || guess === undefined) statement = sql`${prepared}WITH ${facts} SELECT facts AS gate_facts, 0 AS gate_traced FROM facts`;
  else if (!carriesRead) statement = sql`${prepared}WITH ${facts}, ${entryCte(input, guessed, guess)} SELECT facts AS gate_facts, (SELECT count(*) FROM entry)::int AS gate_traced FROM facts`;
  else {
    // The read runs only when the entry was written (a one-time filter on the outer row); row_number keeps its order.
    statement = sql`${prepared}WITH ${facts}, ${entryCte(input, guessed, guess)}, head AS (SELECT facts, (SELECT count(*) FROM entry)::int AS traced FROM facts)
      SELECT head.facts AS gate_facts, head.traced AS gate_traced, work.* FROM head
      LEFT JOIN LATERAL (SELECT row_number() OVER () AS gate_row, w.* FROM ${read} AS w WHERE head.traced = 1) AS work ON true
      ORDER BY work.gate_row`;
  }
  const { rows } = await statement.execute(q);
  const first = rows[0] as { gate_facts: string; gate_traced: number | string };
  const factsRead = first.gate_facts;
  rememberFacts(input, factsRead);
  // A number, whichever way the driver hands it over: whether the entry is written decides the rest.
  const written = Number(first.gate_traced);
  if (written !== 0 && written !== 1) throw new Error(`gate: ${String(first.gate_traced)} entries written for one decision`);
  if (written === 1) {
    if (factsRead !== guess || guessed === undefined) throw new Error('gate: entry written for facts other than those read');
    if (!carriesRead) return { verdict: guessed };
    return { verdict: guessed, rows: rowsOfRead<Row>(rows as Array<Record<string, unknown>>) };
  }
  const verdict = judge(factsFrom(factsRead, actor.userId, patientId), requestOf(input));
  await appendAuditEntry(q, input.context, entryOf(input, verdict), now);
  return { verdict };
}

/** A guarded read's own rows out of the gate's statement: the rows it numbered, without the gate's columns. */
function rowsOfRead<Row>(rows: Array<Record<string, unknown>>): Row[] {
  return rows
    .filter((row) => row['gate_row'] !== null)
    .map((row) => {
      const own = { ...row };
      for (const column of GATE_COLUMNS) delete own[column];
      return own as Row;
    });
}

/** The canonical text back into facts, with the gate's short-cuts: only the patient's organisations count. */
function factsFrom(text: string, actorId: string, patientId: string): GateFacts {
  const patientOrganisations: string[] = [];
  const roles: GateFacts['professionalRoles'] = [];
  const relationships: GateFacts['relationships'] = [];
  let emergencyAccessOpen = false;
  let opposed = false;
  for (const word of text.split(' ')) {
    const [organisationId = '', value = ''] = word.slice(1).split(':');
    if (word.startsWith('p')) patientOrganisations.push(organisationId);
    else if (word.startsWith('r')) roles.push({ organisationId, role: value as 'doctor' | 'health_professional' });
    else if (word.startsWith('c')) relationships.push({ organisationId, kind: value as RelationshipKind });
    else if (word === 'e') emergencyAccessOpen = true;
    else if (word === 'x') opposed = true;
  }
  if (patientOrganisations.length === 0 || actorId === patientId) return { ...NO_FACTS, patientOrganisations };
  const professionalRoles = roles.filter((entry) => patientOrganisations.includes(entry.organisationId));
  // Not a professional of the patient's organisations: nothing else can open anything.
  if (professionalRoles.length === 0) return { ...NO_FACTS, patientOrganisations };
  return {
    patientOrganisations,
    professionalRoles,
    relationships: relationships.filter((entry) => patientOrganisations.includes(entry.organisationId)),
    emergencyAccessOpen,
    opposed,
  };
}
