// Where the API is. Served by the api itself (at /admin), the admin calls
// its own origin. Deployed elsewhere (a CDN, another host listed in the
// api's CMS_ADMIN_ORIGINS), its index.html names the api in
// `<meta name="cms-api-url" content="https://api.example.com">`: one build
// serves both, nothing is baked in at build time.
const configured = document.querySelector<HTMLMetaElement>('meta[name="cms-api-url"]')?.content.trim();

/** The api's base URL, without a trailing slash. */
export const apiBase = (configured || window.location.origin).replace(/\/+$/, '');

/** Whether the api shares this page's origin: only then can the session
 * live in the api's httpOnly cookie (see session.ts). */
export const apiOnThisOrigin = new URL(apiBase).origin === window.location.origin;

/** An api path (`/api/v1/...`) or a URL the api answered (a relative
 * `/media/...`) as a URL this page can fetch or show. */
export function apiUrl(pathOrUrl: string): string {
  return /^[a-z][a-z0-9+.-]*:/i.test(pathOrUrl) ? pathOrUrl : `${apiBase}${pathOrUrl}`;
}
