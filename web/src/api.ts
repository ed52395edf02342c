// A tiny JSON client for the Ausculta API (docs/api-identity.md): same-origin cookies, the CSRF header on
// every non-GET request, the UI language in Accept-Language, and RFC 9457 problems turned into ApiError.

export type Role = 'patient' | 'doctor' | 'health_professional' | 'pharmacist' | 'org_admin' | 'security_officer';
export const ROLES: readonly Role[] = ['patient', 'doctor', 'health_professional', 'pharmacist', 'org_admin', 'security_officer'];
/** Roles of health professionals: each needs an RPPS number (pharmacists are in the RPPS too). */
export const PROFESSIONAL_ROLES: readonly Role[] = ['doctor', 'health_professional', 'pharmacist'];
export type SecondFactor = 'totp' | 'passkey' | 'recovery_code';

export interface Membership {
  organisationId: string;
  organisationName: string;
  roles: Role[];
}

export interface Session {
  user: { id: string; email: string; displayName: string; locale: string; rpps: string | null; profession: string | null };
  memberships: Membership[];
  factors: { totp: boolean; passkeys: number; recoveryCodesLeft: number };
  secondFactorPending: boolean;
  secondFactorVerified: boolean;
  csrfToken: string;
  idleExpiresAt: string;
  absoluteExpiresAt: string;
}

export type LoginResult =
  | { status: 'authenticated'; recoveryCodesLeft?: number }
  | { status: 'second_factor_required'; methods: SecondFactor[] };

export interface Identity {
  birthName: string;
  firstNames: string;
  birthDate: string;
  sex: 'F' | 'M' | 'U';
  birthplaceCode: string;
  insNir?: string;
}

export interface FieldError {
  pointer: string;
  message: string;
}

/** A problem+json answer (or a network failure, code `network`). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly title: string;
  readonly detail: string | undefined;
  readonly errors: FieldError[];
  readonly retryAfterSeconds: number | undefined;
  /** The whole problem, for the members particular to one route (e.g. OAuth's `redirect`). */
  readonly problem: Record<string, unknown>;

  constructor(status: number, problem: Record<string, unknown>, retryAfterHeader?: string | null) {
    const title = typeof problem.title === 'string' ? problem.title : `HTTP ${status}`;
    super(title);
    this.name = 'ApiError';
    this.problem = problem;
    this.status = status;
    this.code = typeof problem.code === 'string' ? problem.code : status === 0 ? 'network' : 'unknown';
    this.title = title;
    this.detail = typeof problem.detail === 'string' ? problem.detail : undefined;
    this.errors = Array.isArray(problem.errors)
      ? problem.errors.filter(
          (e): e is FieldError => typeof e === 'object' && e !== null && typeof (e as FieldError).pointer === 'string',
        )
      : [];
    const retry = typeof problem.retryAfterSeconds === 'number' ? problem.retryAfterSeconds : Number(retryAfterHeader);
    this.retryAfterSeconds = Number.isFinite(retry) && retry > 0 ? retry : undefined;
  }

  /** The message for one field, by JSON pointer (e.g. `/identity/birthName`). */
  fieldError(pointer: string): string | undefined {
    return this.errors.find((e) => e.pointer === pointer)?.message;
  }
}

let csrfToken: string | undefined;
let language = 'fr';
let onUnauthorized: (() => void) | undefined;

export function setLanguage(lang: string): void {
  language = lang;
}
export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}
/** Called after any 401 so the app re-reads the session (and its CSRF token). */
export function onUnauthorizedResponse(listener: () => void): void {
  onUnauthorized = listener;
}

async function request<T>(method: string, path: string, body?: unknown, retried = false): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', 'accept-language': language };
  const init: RequestInit = { method, credentials: 'same-origin', headers };
  if (method !== 'GET' && method !== 'HEAD') {
    if (csrfToken) headers['x-csrf-token'] = csrfToken;
    if (body instanceof File) {
      // A document goes as the raw body, streamed by the browser; its name travels in a header.
      headers['content-type'] = body.type || 'application/octet-stream';
      headers['x-file-name'] = encodeURIComponent(body.name);
      init.body = body;
    } else if (body !== undefined || method === 'POST' || method === 'PUT' || method === 'PATCH') {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body ?? {});
    }
  }
  let response: Response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, { title: language === 'en' ? 'Network error' : 'Erreur réseau', code: 'network' });
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let payload: unknown = undefined;
  try {
    payload = text ? JSON.parse(text) : undefined;
  } catch {
    payload = undefined;
  }
  if (response.ok) return payload as T;
  const problem = typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>) : {};
  const error = new ApiError(response.status, problem, response.headers.get('retry-after'));
  if (error.code === 'csrf_failed' && !retried) {
    // The token changes at each login step: fetch the current one and try once more.
    await refreshCsrf();
    return request<T>(method, path, body, true);
  }
  if (response.status === 401 && path !== '/api/session') onUnauthorized?.();
  throw error;
}

async function refreshCsrf(): Promise<void> {
  try {
    const session = await request<Session>('GET', '/api/session');
    csrfToken = session.csrfToken;
  } catch {
    csrfToken = undefined;
  }
}

/** The current session, or null when signed out. Keeps its CSRF token for later requests. */
export async function fetchSession(): Promise<Session | null> {
  try {
    const session = await request<Session>('GET', '/api/session');
    csrfToken = session.csrfToken;
    return session;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      csrfToken = undefined;
      return null;
    }
    throw error;
  }
}

export const api = {
  get: <T>(path: string) => request<T>('GET', path),
  post: <T = void>(path: string, body?: unknown) => request<T>('POST', path, body),
  put: <T = void>(path: string, body?: unknown) => request<T>('PUT', path, body),
  patch: <T = void>(path: string, body?: unknown) => request<T>('PATCH', path, body),
  del: <T = void>(path: string) => request<T>('DELETE', path),
  upload: <T>(path: string, file: File) => request<T>('POST', path, file),
};
