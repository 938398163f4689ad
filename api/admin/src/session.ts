// The signed-in session. The access token lives in memory only; the refresh
// token lives in the api's httpOnly `cms_refresh` cookie (SameSite=Strict,
// path /api/v1/auth), which no script can read, so nothing reaches
// localStorage and a reload resumes the session from the cookie. An admin
// deployed on another origin (origin.ts) cannot share that cookie: it keeps
// the refresh token in memory too, and a reload asks to sign in again. The
// access token is refreshed shortly before it expires (and on a 401);
// refresh tokens are single use, so tabs take turns (a Web Lock).
import type { components } from './generated/api';
import { apiOnThisOrigin, apiUrl } from './origin';

type TokenPair = components['schemas']['TokenPair'];
type Me = components['schemas']['MeResponse'];
type Problem = components['schemas']['Problem'];
type Role = components['schemas']['Role'];

type Listener = () => void;

let tokens: TokenPair | null = null;
let me: Me | null = null;
let timer: number | undefined;
let refreshing: Promise<boolean> | null = null;
const listeners = new Set<Listener>();

function changed() {
  for (const listener of listeners) listener();
}

async function post(path: string, body: unknown, token?: string): Promise<Response> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  return fetch(apiUrl(path), { method: 'POST', headers, body: JSON.stringify(body), credentials: 'same-origin' });
}

/** Runs `exchange` while no other tab of the admin refreshes: the cookie one
 * tab rotated is the one the next tab sends. */
function oneTabAtATime<T>(exchange: () => Promise<T>): Promise<T> {
  // The lock's promise settles with the callback's promise: `then` unwraps it.
  return navigator.locks ? navigator.locks.request('cms-admin-refresh', exchange).then((result) => result) : exchange();
}

async function problemOf(response: Response): Promise<Problem> {
  try {
    return (await response.json()) as Problem;
  } catch {
    return { type: 'about:blank', title: response.statusText, status: response.status, detail: '' };
  }
}

async function adopt(pair: TokenPair): Promise<void> {
  tokens = pair;
  window.clearTimeout(timer);
  // Refresh 30 s before expiry (or halfway for very short tokens).
  const lead = Math.max(5, Math.min(30, pair.expires_in / 2));
  timer = window.setTimeout(() => void session.refresh(), (pair.expires_in - lead) * 1000);
  const answer = await fetch(apiUrl('/api/v1/auth/me'), { headers: { Authorization: `Bearer ${pair.access_token}` } });
  me = answer.ok ? ((await answer.json()) as Me) : null;
  changed();
}

export const session = {
  accessToken: (): string | null => tokens?.access_token ?? null,
  me: (): Me | null => me,
  /** The user's role in the tenant they act in. */
  role: (): Role | null => me?.memberships.find((m) => m.tenant_id === me?.tenant_id)?.role ?? null,
  /** Editors and above write content; the API decides, the UI only hides
   * what would be refused. */
  canEditContent: (): boolean => ['owner', 'admin', 'editor'].includes(session.role() ?? ''),
  /** Owners and admins manage members, settings and forced deletes. */
  canManage: (): boolean => ['owner', 'admin'].includes(session.role() ?? ''),
  subscribe(listener: Listener): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },

  /** Signs in; answers the API's problem when it refuses. */
  async login(email: string, password: string, tenant: string | null): Promise<Problem | null> {
    const response = await post('/api/v1/auth/login', { email, password, tenant: tenant || null, session_cookie: apiOnThisOrigin });
    if (!response.ok) return problemOf(response);
    await adopt((await response.json()) as TokenPair);
    return null;
  },

  /** Acts in another of the user's tenants (a new token pair). */
  async switchTenant(tenant: string): Promise<Problem | null> {
    const response = await post('/api/v1/auth/switch-tenant', { tenant, session_cookie: apiOnThisOrigin }, tokens?.access_token);
    if (!response.ok) return problemOf(response);
    await adopt((await response.json()) as TokenPair);
    return null;
  },

  /** Exchanges the cookie's refresh token (single use) for a new pair; false
   * when there is no session. Concurrent callers share one exchange. Also
   * how a reload resumes the session. */
  refresh(): Promise<boolean> {
    if (!apiOnThisOrigin && !tokens?.refresh_token) return Promise.resolve(false);
    refreshing ??= oneTabAtATime(async () => {
      const response = await post('/api/v1/auth/refresh', apiOnThisOrigin ? {} : { refresh_token: tokens?.refresh_token });
      if (!response.ok) {
        session.forget();
        return false;
      }
      await adopt((await response.json()) as TokenPair);
      return true;
    }).finally(() => {
      refreshing = null;
    });
    return refreshing;
  },

  /** Whether the api left a session to resume (its `cms_session` marker
   * cookie; the refresh token itself is out of reach). */
  resumable: (): boolean => apiOnThisOrigin && document.cookie.split('; ').includes('cms_session=1'),

  /** Revokes the session (the api clears the cookie). */
  async logout(): Promise<void> {
    if (tokens) {
      const body = apiOnThisOrigin ? {} : { refresh_token: tokens.refresh_token };
      await post('/api/v1/auth/logout', body, tokens.access_token).catch(() => undefined);
    }
    session.forget();
  },

  forget(): void {
    tokens = null;
    me = null;
    window.clearTimeout(timer);
    changed();
  },
};
