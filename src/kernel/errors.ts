// Every error the API can return: a code, an HTTP status and a message in French and English, in one
// registry. Responses are RFC 9457 problem+json; a retired code is never reused.
export interface Localised {
  fr: string;
  en: string;
}

interface ErrorDefinition {
  status: number;
  title: Localised;
}

export const ERRORS = {
  validation_failed: { status: 400, title: { fr: 'Requête invalide', en: 'Invalid request' } },
  malformed_body: { status: 400, title: { fr: 'Corps de requête illisible', en: 'Malformed request body' } },
  body_too_large: { status: 413, title: { fr: 'Requête trop volumineuse', en: 'Request body too large' } },
  unsupported_media_type: { status: 415, title: { fr: 'Type de contenu non pris en charge', en: 'Unsupported media type' } },
  not_found: { status: 404, title: { fr: 'Introuvable', en: 'Not found' } },
  method_not_allowed: { status: 405, title: { fr: 'Méthode non autorisée', en: 'Method not allowed' } },
  unauthenticated: { status: 401, title: { fr: 'Authentification requise', en: 'Authentication required' } },
  session_expired: { status: 401, title: { fr: 'Session expirée', en: 'Session expired' } },
  second_factor_required: { status: 403, title: { fr: 'Second facteur requis', en: 'Second factor required' } },
  second_factor_enrolment_required: {
    status: 403,
    title: { fr: 'Enrôlez un second facteur', en: 'Enrol a second factor' },
  },
  reauthentication_required: { status: 403, title: { fr: 'Confirmez votre identité', en: 'Confirm your identity' } },
  csrf_failed: { status: 403, title: { fr: 'Jeton anti-falsification invalide', en: 'Invalid CSRF token' } },
  forbidden: { status: 403, title: { fr: 'Accès refusé', en: 'Forbidden' } },
  invalid_credentials: { status: 401, title: { fr: 'Identifiants incorrects', en: 'Invalid credentials' } },
  invalid_second_factor: { status: 401, title: { fr: 'Code incorrect', en: 'Invalid code' } },
  too_many_attempts: { status: 429, title: { fr: 'Trop de tentatives', en: 'Too many attempts' } },
  weak_password: { status: 422, title: { fr: 'Mot de passe trop faible', en: 'Password too weak' } },
  invalid_identifier: { status: 422, title: { fr: 'Identifiant invalide', en: 'Invalid identifier' } },
  email_taken: { status: 409, title: { fr: 'Adresse déjà utilisée', en: 'E-mail already in use' } },
  identifier_taken: { status: 409, title: { fr: 'Identifiant déjà utilisé', en: 'Identifier already in use' } },
  conflict: { status: 409, title: { fr: 'Conflit', en: 'Conflict' } },
  slot_unavailable: { status: 409, title: { fr: 'Créneau indisponible', en: 'Slot unavailable' } },
  consultation_state: { status: 409, title: { fr: 'Action impossible à ce stade de la consultation', en: 'Not possible at this stage of the consultation' } },
  oauth_request_invalid: { status: 400, title: { fr: 'Demande d’autorisation invalide', en: 'Invalid authorization request' } },
  invalid_token: { status: 400, title: { fr: 'Lien invalide ou expiré', en: 'Invalid or expired link' } },
  setup_done: { status: 409, title: { fr: 'Installation déjà faite', en: 'Setup already done' } },
  upgrade_required: { status: 426, title: { fr: 'Connexion WebSocket requise', en: 'WebSocket upgrade required' } },
  internal: { status: 500, title: { fr: 'Erreur interne', en: 'Internal error' } },
  unavailable: { status: 503, title: { fr: 'Service indisponible', en: 'Service unavailable' } },
} as const satisfies Record<string, ErrorDefinition>;

export type ErrorCode = keyof typeof ERRORS;

/** An error we expect and explain to the client. Anything else becomes a bare 500. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: Localised | undefined;
  readonly extra: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(
    code: ErrorCode,
    detail?: Localised,
    options: { extra?: Record<string, unknown>; headers?: Record<string, string> } = {},
  ) {
    super(detail?.en ?? ERRORS[code].title.en);
    this.code = code;
    this.status = ERRORS[code].status;
    this.detail = detail;
    this.extra = options.extra ?? {};
    this.headers = options.headers ?? {};
  }
}

export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail?: string;
  instance?: string;
  [extension: string]: unknown;
}

export type Language = 'fr' | 'en';

export function problemFor(error: AppError, language: Language, instance?: string): ProblemDocument {
  const definition = ERRORS[error.code];
  return {
    ...error.extra,
    type: `urn:ausculta:problem:${error.code}`,
    title: definition.title[language],
    status: definition.status,
    code: error.code,
    ...(error.detail ? { detail: error.detail[language] } : {}),
    ...(instance ? { instance } : {}),
  };
}

/** French first: English only when the client prefers it. */
export function languageOf(acceptLanguage: string | undefined): Language {
  if (!acceptLanguage) return 'fr';
  const first = acceptLanguage.split(',')[0]?.trim().toLowerCase() ?? '';
  return first.startsWith('en') ? 'en' : 'fr';
}
