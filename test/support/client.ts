// A minimal HTTP client for tests: a cookie jar and the CSRF header, like the web app.
export interface Response<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

export class Client {
  readonly cookies = new Map<string, string>();
  csrfToken: string | undefined;

  constructor(readonly baseUrl: string, readonly defaultHeaders: Record<string, string> = {}) {}

  async request<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response<T>> {
    const finalHeaders: Record<string, string> = { ...this.defaultHeaders, ...headers };
    if (this.cookies.size > 0) finalHeaders['cookie'] = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (body !== undefined && !finalHeaders['content-type']) finalHeaders['content-type'] = 'application/json';
    if (method !== 'GET' && this.csrfToken && !('x-csrf-token' in finalHeaders)) finalHeaders['x-csrf-token'] = this.csrfToken;
    const response = await fetch(this.baseUrl + path, {
      method,
      headers: finalHeaders,
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair = ''] = cookie.split(';');
      const index = pair.indexOf('=');
      const name = pair.slice(0, index);
      const value = pair.slice(index + 1);
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(cookie)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON: keep the text.
    }
    return { status: response.status, headers: response.headers, body: parsed as T };
  }

  /** GET of a binary body (a PDF, a file), with the session's cookies. */
  async bytes(path: string): Promise<{ status: number; headers: Headers; body: Buffer }> {
    const headers: Record<string, string> = { ...this.defaultHeaders };
    if (this.cookies.size > 0) headers['cookie'] = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const response = await fetch(this.baseUrl + path, { headers });
    return { status: response.status, headers: response.headers, body: Buffer.from(await response.arrayBuffer()) };
  }

  get<T = any>(path: string, headers?: Record<string, string>) {
    return this.request<T>('GET', path, undefined, headers);
  }
  post<T = any>(path: string, body?: unknown, headers?: Record<string, string>) {
    return this.request<T>('POST', path, body, headers);
  }
  put<T = any>(path: string, body?: unknown) {
    return this.request<T>('PUT', path, body);
  }
  patch<T = any>(path: string, body?: unknown) {
    return this.request<T>('PATCH', path, body);
  }
  delete<T = any>(path: string) {
    return this.request<T>('DELETE', path);
  }

  /** Reads the session (and its CSRF token), as the web app does after each login step. */
  async refreshSession() {
    const response = await this.get('/api/session');
    if (response.status === 200) this.csrfToken = response.body.csrfToken;
    return response;
  }
}
