// FHIR search parameters as this server understands them (R4 §3.1.1 "search"): dates with the
// prefixes eq, ge, le, gt, lt at the precision given (year, month, day or instant), tokens as
// [system|]code, _count (≤ 100) and _offset for paging. Anything else is refused with an
// OperationOutcome, so that a client never mistakes an ignored parameter for a filter.
import type { Resource } from './resources.js';

export class FhirError extends Error {
  constructor(readonly status: number, readonly code: 'invalid' | 'not-found' | 'not-supported' | 'forbidden' | 'login' | 'exception' | 'conflict' | 'too-costly', message: string) {
    super(message);
  }
}

export function operationOutcome(code: string, diagnostics: string): Record<string, unknown> {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics }] };
}

export type Query = Record<string, string | string[] | undefined>;

const all = (value: string | string[] | undefined): string[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** Refuses parameters this resource type does not support. */
export function onlyParams(query: Query, allowed: readonly string[]): void {
  const format = query['_format'];
  if (format !== undefined && !['json', 'application/json', 'application/fhir+json'].includes(String(format))) {
    throw new FhirError(400, 'not-supported', 'only JSON is served (_format=json)');
  }
  for (const name of Object.keys(query)) {
    if (!allowed.includes(name) && name !== '_count' && name !== '_offset' && name !== '_format') {
      throw new FhirError(400, 'not-supported', `search parameter "${name}" is not supported here (supported: ${allowed.join(', ')}, _count, _offset)`);
    }
  }
}

export function single(query: Query, name: string): string | undefined {
  const values = all(query[name]);
  if (values.length > 1) throw new FhirError(400, 'invalid', `"${name}" given more than once`);
  return values[0];
}

export interface DateBound {
  /** Inclusive lower bound, exclusive upper bound, as the parameter's precision makes them. */
  from: Date | null;
  to: Date | null;
}

const DATE = /^(ge|le|gt|lt|eq)?(\d{4})(?:-(\d{2})(?:-(\d{2})(T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2}))?)?)?$/;

/** Each `date` parameter as a half-open interval of instants; several parameters intersect. */
export function dateBounds(query: Query, name: string): DateBound {
  let from: Date | null = null;
  let to: Date | null = null;
  for (const raw of all(query[name])) {
    const match = DATE.exec(raw);
    if (!match) throw new FhirError(400, 'invalid', `"${name}=${raw}": a date is [ge|le|gt|lt|eq]YYYY[-MM[-DD[Thh:mm[:ss]±zz:zz]]]`);
    const [, prefix = 'eq', year, month, day, time] = match;
    let low: Date;
    let high: Date;
    if (time) {
      // An instant covers its own precision: the minute, the second, or the fraction given.
      low = new Date(`${year}-${month}-${day}${time}`);
      const seconds = /^T\d{2}:\d{2}:\d{2}(?:\.(\d+))?/.exec(time);
      const span = !seconds ? 60_000 : seconds[1] ? 1000 / 10 ** seconds[1].length : 1000;
      high = new Date(low.getTime() + Math.max(1, span));
    } else {
      // Calendar dates are read in UTC (a day is its 24 hours in UTC).
      const y = Number(year);
      const m = month ? Number(month) - 1 : 0;
      const d = day ? Number(day) : 1;
      low = new Date(Date.UTC(y, m, d));
      high = day ? new Date(Date.UTC(y, m, d + 1)) : month ? new Date(Date.UTC(y, m + 1, 1)) : new Date(Date.UTC(y + 1, 0, 1));
    }
    if (Number.isNaN(low.getTime()) || (month && (Number(month) < 1 || Number(month) > 12)) || (day && low.getUTCDate() !== Number(day))) {
      throw new FhirError(400, 'invalid', `"${name}=${raw}" is not a valid date`);
    }
    const lower = (at: Date) => (from = from && from > at ? from : at);
    const upper = (at: Date) => (to = to && to < at ? to : at);
    if (prefix === 'ge') lower(low);
    else if (prefix === 'gt') lower(high);
    else if (prefix === 'le') upper(high);
    else if (prefix === 'lt') upper(low);
    else {
      lower(low);
      upper(high);
    }
  }
  return { from, to };
}

/** A token parameter: `system|code`, `|code` (no system), or `code` (any system). */
export function token(value: string): { system: string | null | undefined; code: string } {
  const bar = value.indexOf('|');
  if (bar < 0) return { system: undefined, code: value };
  return { system: bar === 0 ? null : value.slice(0, bar), code: value.slice(bar + 1) };
}

export interface Page {
  count: number;
  offset: number;
}

export function page(query: Query): Page {
  const count = single(query, '_count');
  const offset = single(query, '_offset');
  const parsed = { count: count === undefined ? 20 : Number(count), offset: offset === undefined ? 0 : Number(offset) };
  if (!Number.isInteger(parsed.count) || parsed.count < 0 || parsed.count > 100) throw new FhirError(400, 'invalid', '_count is an integer from 0 to 100');
  if (!Number.isInteger(parsed.offset) || parsed.offset < 0 || parsed.offset > 1_000_000) throw new FhirError(400, 'invalid', '_offset is a non-negative integer');
  return parsed;
}

/** A searchset Bundle of one page of matches, with self and next links (the same query, _offset moved). */
export function searchset(base: string, type: string, query: Query, paging: Page, total: number, resources: Resource[]): Record<string, unknown> {
  const link = (offset: number) => {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) if (name !== '_offset' && name !== '_count') for (const v of all(value)) params.append(name, v);
    params.set('_count', String(paging.count));
    params.set('_offset', String(offset));
    return `${base}/${type}?${params.toString()}`;
  };
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    total,
    link: [
      { relation: 'self', url: link(paging.offset) },
      ...(paging.offset + paging.count < total && paging.count > 0 ? [{ relation: 'next', url: link(paging.offset + paging.count) }] : []),
      ...(paging.offset > 0 ? [{ relation: 'previous', url: link(Math.max(0, paging.offset - paging.count)) }] : []),
    ],
    entry: resources.map((resource) => ({ fullUrl: `${base}/${resource.resourceType}/${resource.id}`, resource, search: { mode: 'match' } })),
  };
}
