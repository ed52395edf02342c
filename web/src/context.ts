// What every page can reach: the session, a way to re-read it, and a status message for the next page.
import { createContext, useContext } from 'react';
import type { Role, Session } from './api';

export interface AppState {
  session: Session | null;
  setupNeeded: boolean;
  refresh: () => Promise<Session | null>;
  markSetupDone: () => void;
  /** Shows `message` in the status area once the app is on `path` (default: the current page). */
  notify: (message: string, path?: string) => void;
}

export const AppContext = createContext<AppState>({
  session: null,
  setupNeeded: false,
  refresh: async () => null,
  markSetupDone: () => undefined,
  notify: () => undefined,
});

export function useApp(): AppState {
  return useContext(AppContext);
}

export function rolesOf(session: Session | null): Set<Role> {
  return new Set(session?.memberships.flatMap((m) => m.roles) ?? []);
}

export function hasSecondFactor(session: Session | null): boolean {
  return !!session && (session.factors.totp || session.factors.passkeys > 0);
}
