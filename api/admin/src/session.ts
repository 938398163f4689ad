// The signed-in session, kept in memory only: no token ever reaches
// localStorage or a script-readable cookie, so an injected script in another
// tab or a stolen disk profile finds nothing. The access token is refreshed
// shortly before it expires (and on a 401); a reload asks to sign in again.
import type { components } from './generated/api';

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
  return fetch(path, { method: 'POST', headers, body: JSON.stringify(body) });
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
  const answer = await fetch('/api/v1/auth/me', { headers: { Authorization: `Bearer ${pair.access_token}` } });
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
    const response = await post('/api/v1/auth/login', { email, password, tenant: tenant || null });
    if (!response.ok) return problemOf(response);
    await adopt((await response.json()) as TokenPair);
    return null;
  },

  /** Acts in another of the user's tenants (a new token pair). */
  async switchTenant(tenant: string): Promise<Problem | null> {
    const response = await post('/api/v1/auth/switch-tenant', { tenant }, tokens?.access_token);
    if (!response.ok) return problemOf(response);
    await adopt((await response.json()) as TokenPair);
    return null;
  },

  /** Exchanges the refresh token (single use) for a new pair; false when
   * the session is over. Concurrent callers share one exchange. */
  refresh(): Promise<boolean> {
    if (!tokens) return Promise.resolve(false);
    refreshing ??= (async () => {
      const response = await post('/api/v1/auth/refresh', { refresh_token: tokens?.refresh_token });
      if (!response.ok) {
        session.forget();
        return false;
      }
      await adopt((await response.json()) as TokenPair);
      return true;
    })().finally(() => {
      refreshing = null;
    });
    return refreshing;
  },

  async logout(): Promise<void> {
    if (tokens) {
      await post('/api/v1/auth/logout', { refresh_token: tokens.refresh_token }, tokens.access_token).catch(() => undefined);
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
