// The scopes as the consent page shows them: per type, which interactions, on whose record.
import type { GrantedScopes, ScopeContext } from './scopes.js';

export interface ScopeDescription {
  scope: string;
  context: ScopeContext;
  resource: string;
  read: boolean;
  search: boolean;
  create: boolean;
}

export function describeScopes(granted: GrantedScopes): ScopeDescription[] {
  return granted.resources.map((scope) => ({
    scope: scope.scope,
    context: scope.context,
    resource: scope.resource,
    read: scope.interactions.has('r'),
    search: scope.interactions.has('s'),
    create: scope.interactions.has('c'),
  }));
}
