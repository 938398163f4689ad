// The admin's one client of the public API: typed by openapi-typescript from
// openapi/openapi.json, calls through openapi-fetch. Every request carries
// the session's access token; a 401 refreshes the session once (the refresh
// token is single use and rotates) and replays the request.
import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from './generated/api';
import { apiBase } from './origin';
import { session } from './session';

export type Schemas = components['schemas'];
export type Problem = Schemas['Problem'];

export const api = createClient<paths>({ baseUrl: apiBase });

const bearer: Middleware = {
  async onRequest({ request }) {
    const token = session.accessToken();
    if (token && !request.headers.has('Authorization')) {
      request.headers.set('Authorization', `Bearer ${token}`);
    }
    return request;
  },
  async onResponse({ request, response }) {
    if (response.status !== 401 || request.url.includes('/api/v1/auth/')) {
      return response;
    }
    if (!(await session.refresh())) {
      return response;
    }
    const retry = new Request(request, { headers: new Headers(request.headers) });
    retry.headers.set('Authorization', `Bearer ${session.accessToken() ?? ''}`);
    return fetch(retry);
  },
};
api.use(bearer);

/** A problem+json answer, or a generic one for anything else that failed. */
export function asProblem(error: unknown, status: number): Problem {
  if (error && typeof error === 'object' && 'status' in error && 'title' in error) {
    return error as Problem;
  }
  return { type: 'about:blank', title: 'Request failed', status, detail: String(error ?? '') };
}

/** The message of a problem's error about `field`, if any. */
export function fieldError(problem: Problem | null, field: string): string | undefined {
  return problem?.errors?.find((error) => error.field === field)?.message;
}

/** The `If-Match` value for a resource read at `version` (the API's ETags
 * are `"v<version>"`). */
export const etag = (version: number) => `"v${version}"`;
