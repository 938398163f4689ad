// A typed client of the api, as a frontend team would write one: types
// generated from openapi/openapi.json by openapi-typescript, calls through
// openapi-fetch. It is a check of the spec in two ways:
//
// - `tsc --noEmit -p tests/clients` fails when a body it reads is untyped in
//   the spec: every field below is read directly (`page.blocks[0].module`),
//   with no casts, and `typed()` rejects `any`, `unknown` and `never`;
// - run against a live api (`CMS_TEST_API=http://127.0.0.1:PORT`), it checks
//   the answers match what the types promise, and exits non-zero otherwise.
//
// `scripts/clients.sh` does both; `scripts/newman.sh` runs it after newman.

import createClient from 'openapi-fetch';
import type { paths } from './generated/api.js';

// The few node globals used here, declared so the check needs no @types/node.
declare const process: { env: Record<string, string | undefined>; exitCode?: number };

const baseUrl = process.env['CMS_TEST_API'];
if (!baseUrl) throw new Error('set CMS_TEST_API to the api base URL (http://127.0.0.1:PORT)');

const api = createClient<paths>({ baseUrl });

// Compile-time guards: a value whose type is `any`, `unknown` or `never` is
// what an untyped schema gives; `typed(value, true)` then does not compile.
type IsAny<T> = 0 extends 1 & T ? true : false;
type IsNever<T> = [T] extends [never] ? true : false;
type IsUnknown<T> = IsAny<T> extends true ? false : unknown extends T ? true : false;
type Typed<T> = IsAny<T> extends true ? false : IsNever<T> extends true ? false : IsUnknown<T> extends true ? false : true;
function typed<T>(value: T, _isTyped: Typed<T> extends true ? true : 'UNTYPED in openapi.json (any, unknown or never)'): T {
  return value;
}
// A free-form map (theme, props) is typed when its values can be read: the
// spec's bare `type: object` gives Record<string, never>, which openapi-fetch
// turns into `{}`, and neither lets a client read a value;
// `additionalProperties: true` gives Record<string, unknown>, which does.
type NoKeys<T> = [keyof T] extends [never] ? true : false;
type ReadableMap<T> = IsAny<T> extends true ? false
  : T extends object
    ? NoKeys<T> extends true ? false
      : string extends keyof T ? (IsNever<T[string]> extends true ? false : true)
        : true
    : false;
function readable<T>(value: T, _isReadable: ReadableMap<T> extends true ? true : 'UNREADABLE MAP in openapi.json (bare type: object, give it additionalProperties)'): T {
  return value;
}

let checks = 0;
function check(condition: boolean, what: string): asserts condition {
  checks += 1;
  if (!condition) throw new Error(`check failed: ${what}`);
  console.log(`ok ${checks} - ${what}`);
}

function fail(what: string, status: number, error: unknown): never {
  throw new Error(`${what}: HTTP ${status} ${JSON.stringify(error)}`);
}

/** A Tuesday to Thursday at least three days ahead: every demo doctor works then. */
function workingDay(): string {
  const day = new Date(Date.now() + 3 * 86400000);
  while (![2, 3, 4].includes(day.getUTCDay())) day.setUTCDate(day.getUTCDate() + 1);
  return day.toISOString().slice(0, 10);
}

async function main(): Promise<void> {
  // Log in: TokenPair.
  const login = await api.POST('/api/v1/auth/login', {
    body: { email: 'editor@alpha.example', password: 'demo-password', tenant: 'alpha' },
  });
  if (!login.data) fail('login', login.response.status, login.error);
  const token: string = typed(login.data.access_token, true);
  check(token.length > 0 && login.data.token_type === 'Bearer', 'login answers a Bearer access token');
  const auth = { Authorization: `Bearer ${token}` };

  // The demo site, as renderers find it by host: SiteManifest.
  const manifest = await api.GET('/api/v1/delivery/sites/by-host/{host}', {
    params: { path: { host: 'alpha.localhost' } },
  });
  if (!manifest.data) fail('site by host', manifest.response.status, manifest.error);
  check(manifest.data.hosts.includes('alpha.localhost'), `alpha.localhost is site ${manifest.data.site_id}`);

  // The tenant's sites (ListResponse_Site) list it.
  const sites = await api.GET('/api/v1/sites', { params: { query: { limit: 100 } }, headers: auth });
  if (!sites.data) fail('list sites', sites.response.status, sites.error);
  check(sites.data.items.length > 0, `the editor's tenant has sites (${sites.data.items.length})`);
  const site = sites.data.items.find((item) => item.id === manifest.data.site_id);
  check(site !== undefined, 'the sites list has the demo site');
  const siteId: string = typed(site.id, true);
  const locales: string[] = typed(site.locales, true);
  check(locales.includes(site.default_locale), `site "${site.name}" lists its default locale ${site.default_locale}`);
  // theme and analytics are free-form maps, but maps all the same.
  check(typeof readable(site.theme, true) === 'object', 'the site has a theme object');

  // The published home page: its blocks in order, each a module with props.
  const pageAnswer = await api.GET('/api/v1/delivery/sites/{site}/pages', {
    params: { path: { site: siteId }, query: { path: '/' } },
  });
  if (!pageAnswer.data) fail('delivery page /', pageAnswer.response.status, pageAnswer.error);
  const page = pageAnswer.data;
  check(pageAnswer.response.headers.get('etag') !== null, 'the delivery page has an ETag');
  check(typed(page.path, true) === '/', `the delivery page is ${page.path}`);
  const blocks = typed(page.blocks, true);
  check(Array.isArray(blocks) && blocks.length > 0, `the home page has blocks (${blocks.length})`);
  const first = page.blocks[0];
  check(first !== undefined && typeof first.module === 'string', `the first block is a module (${first?.module})`);
  for (const [index, block] of page.blocks.entries()) {
    const module: string = typed(block.module, true);
    const props = readable(block.props, true);
    check(module.length > 0, `block ${index} names its module: ${module}`);
    check(typeof props === 'object' && props !== null && !Array.isArray(props),
      `block ${index} (${module}) has props: ${Object.keys(props).join(', ') || 'none'}`);
  }

  // A doctor through the public clinic routes, and their free times.
  const doctors = await api.GET('/api/v1/delivery/sites/{site}/doctors', {
    params: { path: { site: siteId }, query: { limit: 20 } },
  });
  if (!doctors.data) fail('public doctors', doctors.response.status, doctors.error);
  const listed = doctors.data.items.find((doctor) => doctor.service_ids.length > 0);
  check(listed !== undefined, `the site lists a doctor offering services (${doctors.data.items.length} doctors)`);
  const detail = await api.GET('/api/v1/delivery/sites/{site}/doctors/{doctor}', {
    params: { path: { site: siteId, doctor: listed.slug } },
  });
  if (!detail.data) fail(`public doctor ${listed.slug}`, detail.response.status, detail.error);
  const doctor = detail.data;
  check(doctor.id === listed.id && typeof typed(doctor.name, true) === 'string', `doctor ${doctor.slug} reads as ${doctor.name}`);
  check(Array.isArray(typed(doctor.reviews, true)), `the doctor's reviews are a list (${doctor.reviews.length})`);
  const service = doctor.service_ids[0];
  check(service !== undefined, `doctor ${doctor.slug} offers a service`);
  const day = workingDay();
  const slots = await api.GET('/api/v1/delivery/sites/{site}/available-slots', {
    params: { path: { site: siteId }, query: { doctor: doctor.slug, service, date: day } },
  });
  if (!slots.data) fail('available slots', slots.response.status, slots.error);
  const items = typed(slots.data.items, true);
  check(Array.isArray(items), `available slots on ${day} are a list (${items.length})`);
  const firstSlot = items[0];
  if (firstSlot) {
    const start: string = typed(firstSlot.start, true);
    check(!Number.isNaN(Date.parse(start)) && Date.parse(firstSlot.end) > Date.parse(start),
      `slot ${start} ends after it starts`);
  }

  // A lead from the home page: 201 with the stored lead.
  const email = `typed-client-${Date.now()}@example.com`;
  const lead = await api.POST('/api/v1/delivery/sites/{site}/leads', {
    params: { path: { site: siteId } },
    body: {
      path: '/',
      fields: { name: 'Typed Client', email, comment: 'Sent by tests/clients' },
      utm: { utm_source: 'typed-client' },
    },
  });
  if (!lead.data) fail('submit lead', lead.response.status, lead.error);
  check([201, 202].includes(lead.response.status), `the lead answer is ${lead.response.status}`);
  check(typed(lead.data.id, true).length > 0 && lead.data.site_id === siteId && lead.data.path === '/',
    `the lead ${lead.data.id} is stored for the site`);

  console.log(`${checks} passed, 0 failed`);
}

main().catch((error: unknown) => {
  const cause = error instanceof Error && error.cause ? ` (${String(error.cause)})` : '';
  console.error(error instanceof Error ? `${error.message}${cause}` : error);
  console.log(`${checks} passed, 1 failed`);
  process.exitCode = 1;
});
