// SMART on FHIR scopes (App Launch 2.0, with the 1.0 `.read`/`.write` forms): what an application may do
// with the FHIR API on its user's behalf. A token never widens the user's rights: the access gate still
// decides every patient, the scopes only narrow which types and interactions the application may use.
//   patient/<Type>.<rs>   the user's own record only (granted to patients: the record is theirs)
//   user/<Type>.<crs>     whatever the user may see themself
// We grant what we serve: read (r), search (s), create (c). Asked-for update and delete letters are dropped
// from the grant (RFC 6749 §3.3 lets the server grant less, and the token response says what it granted).

export type Interaction = 'c' | 'r' | 's';
export type ScopeContext = 'patient' | 'user';

export interface ResourceScope {
  scope: string;
  context: ScopeContext;
  /** A FHIR type, or '*' for every type. */
  resource: string;
  interactions: ReadonlySet<Interaction>;
}

export interface GrantedScopes {
  resources: ResourceScope[];
  offlineAccess: boolean;
  /** `launch/patient`: the token response names the patient (the user themself). */
  launchPatient: boolean;
}

/** Scopes we accept and ignore (OpenID Connect identity is not offered: no ID token). */
const IGNORED = new Set(['openid', 'fhirUser', 'profile', 'online_access']);
const RESOURCE_SCOPE = /^(patient|user)\/(\*|[A-Z][A-Za-z]{1,63})\.(read|write|\*|c?r?u?d?s?)$/;
const V1_LETTERS: Record<string, string> = { read: 'rs', write: 'cud', '*': 'cruds' };
const SERVED: readonly Interaction[] = ['c', 'r', 's'];
const MAX_SCOPE_LENGTH = 2_000;

export class ScopeError extends Error {}

/**
 * Parses the requested `scope` into what can be granted. Unknown scopes, unknown types and a request
 * that would grant no resource access at all are errors (`invalid_scope`).
 */
export function parseScopes(raw: string | undefined, fhirTypes: readonly string[]): GrantedScopes {
  if (!raw || raw.trim() === '') throw new ScopeError('a scope is required (e.g. "patient/*.rs")');
  if (raw.length > MAX_SCOPE_LENGTH) throw new ScopeError('the scope is too long');
  const granted: GrantedScopes = { resources: [], offlineAccess: false, launchPatient: false };
  for (const item of new Set(raw.trim().split(/ +/))) {
    if (item === 'offline_access') granted.offlineAccess = true;
    else if (item === 'launch/patient') granted.launchPatient = true;
    else if (IGNORED.has(item)) continue;
    else {
      const match = RESOURCE_SCOPE.exec(item);
      if (!match) throw new ScopeError(`unknown scope "${item}"`);
      const [, context, resource, access] = match as unknown as [string, ScopeContext, string, string];
      if (resource !== '*' && !fhirTypes.includes(resource)) throw new ScopeError(`"${resource}" is not a type this server serves`);
      const letters = V1_LETTERS[access] ?? access;
      const interactions = new Set(SERVED.filter((letter) => letters.includes(letter)));
      if (interactions.size === 0) continue; // only update/delete were asked: nothing we serve
      granted.resources.push({ scope: `${context}/${resource}.${SERVED.filter((l) => interactions.has(l)).join('')}`, context, resource, interactions });
    }
  }
  if (granted.resources.length === 0) throw new ScopeError('no access to FHIR resources was asked that this server grants');
  return granted;
}

/** The granted scope string, as the token response and the grant record carry it. */
export function scopeString(granted: GrantedScopes): string {
  return [...granted.resources.map((r) => r.scope), ...(granted.launchPatient ? ['launch/patient'] : []), ...(granted.offlineAccess ? ['offline_access'] : [])].join(' ');
}

/**
 * What the scopes allow for one interaction with one type: 'any' patient the user may see, 'self' (the
 * user's own record only: a patient/ scope), or nothing.
 */
export function allowance(granted: GrantedScopes, resource: string, interaction: Interaction): 'any' | 'self' | null {
  let best: 'any' | 'self' | null = null;
  for (const scope of granted.resources) {
    if ((scope.resource !== '*' && scope.resource !== resource) || !scope.interactions.has(interaction)) continue;
    if (scope.context === 'user') return 'any';
    best = 'self';
  }
  return best;
}
