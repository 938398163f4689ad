// CORS of the api as a browser sees it, in headless Chromium (Debian's
// package, driven by playwright-core). `scripts/browser.sh` picks a free port
// for an admin app, starts the api with CMS_ADMIN_ORIGINS=http://127.0.0.1:PORT
// and runs this with node's test runner:
//   CMS_TEST_API=http://127.0.0.1:A CMS_TEST_ADMIN_ORIGIN_PORT=PORT \
//   CHROME_PATH=/usr/bin/chromium node --test tests/browser/
//
// Two tiny static servers stand for browser apps: one on the admin origin
// (CMS_ADMIN_ORIGINS), one on an origin nobody allowed yet. From pages on
// them `fetch` calls the api, so the browser itself enforces CORS:
// - the admin origin may log in and call management endpoints, and reads the
//   exposed headers (ETag) of delivery answers;
// - the other origin is blocked on management endpoints (fetch rejects) but
//   reads public ones (delivery, JWKS, the spec), without credentials;
// - once a tenant owner adds it to the tenant's allowed origins
//   (PATCH /api/v1/tenant/settings), the same management call succeeds;
// - the built admin served from the admin origin (its index.html naming the
//   api in `cms-api-url`) signs in and shows the api's sites and media;
// - no answer along the way is a 5xx (the api's /metrics, before and after).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import { launchChromium, watchProblems } from './chromium.mjs';

const api = process.env.CMS_TEST_API;
const adminPort = process.env.CMS_TEST_ADMIN_ORIGIN_PORT;
const skip = adminPort ? false : 'CMS_TEST_ADMIN_ORIGIN_PORT is not set (scripts/browser.sh sets it and CMS_ADMIN_ORIGINS)';
const host = 'alpha.localhost';
const editor = { email: 'editor@alpha.example', password: 'demo-password', tenant: 'alpha' };
// The platform admin is the seeded owner of every demo tenant.
const owner = { email: 'admin@example.com', password: 'demo-password', tenant: 'alpha' };
// The api reloads tenants' origins at once on the node that changed them and
// every CMS_CORS_REFRESH_SECS elsewhere: poll, do not sleep.
const originDeadlineMs = 5000;

let browser;
let adminApp; // { server, origin }
let otherApp;
let metricsBefore;
let settingsBefore; // { etag, allowed_origins } to put back at the end
let editorToken; // logins are rate limited per account: log in once
let ownerToken;

const adminDist = new URL('../../api/admin/dist/', import.meta.url);
const TYPES = { '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };

/** The built admin under /admin/, as a static host other than the api would
 * serve it: its files, and index.html (naming the api) for every route. */
async function serveAdmin(req, res) {
  const path = new URL(req.url, 'http://x').pathname.slice('/admin/'.length);
  const type = TYPES[path.slice(path.lastIndexOf('.'))];
  if (type && !path.includes('..')) {
    try {
      const body = await readFile(new URL(path, adminDist));
      res.writeHead(200, { 'content-type': type }).end(body);
    } catch {
      res.writeHead(404).end();
    }
    return;
  }
  const index = (await readFile(new URL('index.html', adminDist), 'utf8'))
    .replace('<head>', `<head>\n    <meta name="cms-api-url" content="${api}">`);
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(index);
}

/** A static server answering a minimal page (no external assets) on PORT (0:
 * any), and the built admin under /admin/. */
async function staticApp(port) {
  const server = http.createServer((req, res) => {
    if (req.url === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    if (req.url.startsWith('/admin/')) {
      void serveAdmin(req, res);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>CORS test app</title>'
      + '</head><body><h1>CORS test app</h1></body></html>');
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(port), '127.0.0.1', resolve);
  });
  return { server, origin: `http://127.0.0.1:${server.address().port}` };
}

/** Sum of cms_http_requests_total by "route method status", 5xx statuses only. */
async function serverErrors() {
  const response = await fetch(`${api}/metrics`);
  assert.equal(response.status, 200, '/metrics answers');
  const counts = new Map();
  for (const line of (await response.text()).split('\n')) {
    const match = line.match(/^cms_http_requests_total\{(.*)\}\s+(\d+(?:\.\d+)?)$/);
    if (!match) continue;
    const labels = Object.fromEntries([...match[1].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Number(labels.status) >= 500) {
      counts.set(`${labels.method} ${labels.route} ${labels.status}`, Number(match[2]));
    }
  }
  return counts;
}

async function login(user) {
  const response = await fetch(`${api}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(user),
  });
  assert.equal(response.status, 200, `${user.email} logs in`);
  return (await response.json()).access_token;
}

async function readSettings(token) {
  const response = await fetch(`${api}/api/v1/tenant/settings`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(response.status, 200, `GET /api/v1/tenant/settings: ${response.status}`);
  const body = await response.json();
  assert.ok(Array.isArray(body.allowed_origins), `settings list allowed_origins: ${JSON.stringify(body)}`);
  return { etag: response.headers.get('etag'), allowed_origins: body.allowed_origins };
}

async function writeOrigins(token, etag, origins) {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  if (etag) headers['if-match'] = etag;
  return fetch(`${api}/api/v1/tenant/settings`, {
    method: 'PATCH',
    headers,
    body: JSON.stringify({ allowed_origins: origins }),
  });
}

async function siteId() {
  const response = await fetch(`${api}/api/v1/delivery/sites/by-host/${host}`);
  assert.equal(response.status, 200);
  return (await response.json()).site_id;
}

/** A fresh page on ORIGIN (no cache, no cookies), so preflights are not reused. */
async function openPage(origin) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const response = await page.goto(`${origin}/`, { waitUntil: 'load' });
  assert.equal(response.status(), 200);
  assert.equal(await page.evaluate(() => location.origin), origin);
  return { context, page };
}

/**
 * `fetch` run by the page: the browser applies CORS. Answers
 * { ok: true, status, body, headers } or { ok: false, error } when fetch
 * rejected (a CORS block is a TypeError).
 */
async function browserFetch(page, url, init = {}) {
  return page.evaluate(async ({ url, init }) => {
    try {
      const response = await fetch(url, init);
      const text = await response.text();
      let body = null;
      try { body = JSON.parse(text); } catch { body = text; }
      const headers = {};
      for (const name of ['etag', 'cache-control', 'x-request-id', 'content-type']) {
        headers[name] = response.headers.get(name);
      }
      return { ok: true, status: response.status, body, headers };
    } catch (error) {
      return { ok: false, error: `${error.name}: ${error.message}` };
    }
  }, { url, init });
}

const loginInit = (user) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(user),
});
const bearer = (token) => ({ headers: { authorization: `Bearer ${token}` } });

before(async () => {
  if (skip) return;
  adminApp = await staticApp(adminPort);
  otherApp = await staticApp(0);
  metricsBefore = await serverErrors();
  editorToken = await login(editor);
  browser = await launchChromium();
});

after(async () => {
  // Put the tenant's origins back as they were.
  if (settingsBefore) {
    try {
      const now = await readSettings(ownerToken);
      await writeOrigins(ownerToken, now.etag, settingsBefore.allowed_origins);
    } catch (error) {
      console.error(`could not restore the tenant's allowed origins: ${error.message}`);
    }
  }
  await browser?.close();
  for (const app of [adminApp, otherApp]) {
    if (app) await new Promise((resolve) => app.server.close(resolve));
  }
});

test('a preflight from the admin origin is allowed, with the headers and a max age', { skip }, async () => {
  for (const [path, method] of [['/api/v1/auth/login', 'POST'], ['/api/v1/sites', 'GET'], ['/api/v1/tenant/settings', 'PATCH']]) {
    const response = await fetch(`${api}${path}`, {
      method: 'OPTIONS',
      headers: {
        origin: adminApp.origin,
        'access-control-request-method': method,
        'access-control-request-headers': 'authorization,content-type,if-match,idempotency-key',
      },
    });
    const headers = Object.fromEntries(response.headers);
    assert.ok([200, 204].includes(response.status), `OPTIONS ${path}: ${response.status} ${JSON.stringify(headers)}`);
    assert.equal(headers['access-control-allow-origin'], adminApp.origin, `OPTIONS ${path} allows the admin origin`);
    const methods = (headers['access-control-allow-methods'] ?? '').toUpperCase();
    assert.ok(methods.includes(method), `OPTIONS ${path} allows ${method}: ${methods}`);
    const allowed = (headers['access-control-allow-headers'] ?? '').toLowerCase().split(/\s*,\s*/);
    for (const name of ['authorization', 'content-type', 'if-match', 'idempotency-key']) {
      assert.ok(allowed.includes(name), `OPTIONS ${path} allows the ${name} header: ${allowed}`);
    }
    assert.ok(Number(headers['access-control-max-age']) > 0, `OPTIONS ${path} has a max age: ${headers['access-control-max-age']}`);
  }
});

test('a preflight from an origin not allowed gets no CORS headers and no 5xx', { skip }, async () => {
  const response = await fetch(`${api}/api/v1/sites`, {
    method: 'OPTIONS',
    headers: {
      origin: otherApp.origin,
      'access-control-request-method': 'GET',
      'access-control-request-headers': 'authorization',
    },
  });
  assert.ok(response.status < 500, `OPTIONS from ${otherApp.origin}: ${response.status}`);
  assert.equal(response.headers.get('access-control-allow-origin'), null);
  const answer = await fetch(`${api}/api/v1/sites`, {
    headers: { origin: otherApp.origin, authorization: `Bearer ${editorToken}` },
  });
  assert.ok(answer.status < 500, `GET /api/v1/sites from ${otherApp.origin}: ${answer.status}`);
  assert.equal(answer.headers.get('access-control-allow-origin'), null);
});

test('public answers allow any origin without credentials and expose their headers', { skip }, async () => {
  const site = await siteId();
  const response = await fetch(`${api}/api/v1/delivery/sites/${site}/pages?path=/`, {
    headers: { origin: otherApp.origin },
  });
  assert.equal(response.status, 200);
  const allowOrigin = response.headers.get('access-control-allow-origin');
  assert.ok(allowOrigin === '*' || allowOrigin === otherApp.origin, `delivery allows ${otherApp.origin}: ${allowOrigin}`);
  assert.notEqual(response.headers.get('access-control-allow-credentials'), 'true', 'delivery allows no credentials');
  const exposed = (response.headers.get('access-control-expose-headers') ?? '').toLowerCase().split(/\s*,\s*/);
  for (const name of ['etag', 'cache-control', 'retry-after', 'x-request-id']) {
    assert.ok(exposed.includes(name), `delivery exposes ${name}: ${exposed}`);
  }
});

test('the admin origin logs in, lists sites and reads delivery headers from the browser', { skip }, async () => {
  const { context, page } = await openPage(adminApp.origin);
  const loggedIn = await browserFetch(page, `${api}/api/v1/auth/login`, loginInit(editor));
  assert.ok(loggedIn.ok, `login from ${adminApp.origin}: ${loggedIn.error}`);
  assert.equal(loggedIn.status, 200);
  assert.equal(typeof loggedIn.body.access_token, 'string');

  const sites = await browserFetch(page, `${api}/api/v1/sites`, bearer(loggedIn.body.access_token));
  assert.ok(sites.ok, `sites from ${adminApp.origin}: ${sites.error}`);
  assert.equal(sites.status, 200);
  assert.ok(sites.body.items.length > 0, 'the editor sees sites');

  const manifest = await browserFetch(page, `${api}/api/v1/delivery/sites/by-host/${host}`);
  assert.ok(manifest.ok, manifest.error);
  assert.ok(sites.body.items.some((site) => site.id === manifest.body.site_id), 'the sites list has the demo site');
  const delivery = await browserFetch(page, `${api}/api/v1/delivery/sites/${manifest.body.site_id}/pages?path=/`);
  assert.ok(delivery.ok, delivery.error);
  assert.equal(delivery.status, 200);
  assert.ok(delivery.body.blocks.length > 0, 'the home page has blocks');
  assert.ok(delivery.headers.etag, 'the ETag of a delivery answer is readable from JS');
  assert.ok(delivery.headers['cache-control'], 'Cache-Control is readable from JS');
  assert.ok(delivery.headers['x-request-id'], 'X-Request-Id is readable from JS');
  await context.close();
});

test('an origin not allowed is blocked on management endpoints but reads public ones', { skip }, async () => {
  const { context, page } = await openPage(otherApp.origin);

  const loggedIn = await browserFetch(page, `${api}/api/v1/auth/login`, loginInit(editor));
  assert.equal(loggedIn.ok, false, `login from ${otherApp.origin} is blocked: ${JSON.stringify(loggedIn)}`);
  assert.match(loggedIn.error, /^TypeError/);
  const sites = await browserFetch(page, `${api}/api/v1/sites`, bearer(editorToken));
  assert.equal(sites.ok, false, `sites from ${otherApp.origin} are blocked: ${JSON.stringify(sites)}`);
  // A simple GET needs no preflight: the answer itself must carry no CORS.
  const simple = await browserFetch(page, `${api}/api/v1/sites`);
  assert.equal(simple.ok, false, `a simple GET from ${otherApp.origin} is blocked: ${JSON.stringify(simple)}`);

  const site = await siteId();
  const delivery = await browserFetch(page, `${api}/api/v1/delivery/sites/${site}/pages?path=/`);
  assert.ok(delivery.ok, `delivery from ${otherApp.origin}: ${delivery.error}`);
  assert.equal(delivery.status, 200);
  assert.ok(delivery.body.blocks.length > 0);
  assert.ok(delivery.headers.etag, 'the ETag is readable from JS');
  for (const path of ['/api/v1/auth/jwks.json', '/api/v1/openapi.json']) {
    const answer = await browserFetch(page, `${api}${path}`);
    assert.ok(answer.ok, `${path} from ${otherApp.origin}: ${answer.error}`);
    assert.equal(answer.status, 200, path);
  }
  await context.close();
});

test('an origin the tenant allows in its settings may call management endpoints', { skip }, async () => {
  // Editors may not change the tenant's settings.
  const denied = await writeOrigins(editorToken, null, [otherApp.origin]);
  assert.equal(denied.status, 403, `an editor changing allowed origins: ${denied.status}`);

  ownerToken = await login(owner);
  settingsBefore = await readSettings(ownerToken);
  assert.ok(!settingsBefore.allowed_origins.includes(otherApp.origin));
  const changed = await writeOrigins(ownerToken, settingsBefore.etag, [...settingsBefore.allowed_origins, otherApp.origin]);
  const changedBody = await changed.json();
  assert.equal(changed.status, 200, `PATCH /api/v1/tenant/settings: ${JSON.stringify(changedBody)}`);
  assert.ok(changedBody.allowed_origins.includes(otherApp.origin), JSON.stringify(changedBody));
  const reread = await readSettings(ownerToken);
  assert.ok(reread.allowed_origins.includes(otherApp.origin), 'GET /api/v1/tenant/settings lists the new origin');

  const { context, page } = await openPage(otherApp.origin);
  const deadline = Date.now() + originDeadlineMs;
  let sites;
  for (;;) {
    sites = await browserFetch(page, `${api}/api/v1/sites`, bearer(editorToken));
    if (sites.ok || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.ok(sites.ok, `sites from ${otherApp.origin} within ${originDeadlineMs} ms of allowing it: ${sites.error}`);
  assert.equal(sites.status, 200);
  assert.ok(sites.body.items.length > 0);
  const loggedIn = await browserFetch(page, `${api}/api/v1/auth/login`, loginInit(editor));
  assert.ok(loggedIn.ok, `login from ${otherApp.origin}: ${loggedIn.error}`);
  assert.equal(loggedIn.status, 200);
  await context.close();
});

test('the built admin served from the admin origin signs in against the api and shows its sites and media', { skip }, async () => {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, locale: 'en-US' });
  const page = await context.newPage();
  const problems = watchProblems(page);
  await page.goto(`${adminApp.origin}/admin/`);
  await page.getByLabel('Email').fill(editor.email);
  await page.getByLabel('Password').fill(editor.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Sites' }).waitFor();
  await page.locator('.card h2', { hasText: 'Alpha Clinic Landing' }).waitFor();
  // The seed's images get their renditions from the stack's worker.
  const deadline = Date.now() + 90_000;
  for (;;) {
    const media = await fetch(`${api}/api/v1/media?limit=5`, { headers: { Authorization: `Bearer ${editorToken}` } });
    if ((await media.json()).items.some((item) => item.renditions.length > 0)) break;
    assert.ok(Date.now() < deadline, 'the seed images have renditions');
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  await page.getByRole('link', { name: 'Media' }).click();
  const thumbnail = page.locator('.media-grid img').first();
  await thumbnail.waitFor();
  await page.waitForFunction(() => {
    const img = document.querySelector('.media-grid img');
    return img && img.complete && img.naturalWidth > 0;
  });
  assert.ok((await thumbnail.evaluate((img) => img.currentSrc)).startsWith(`${api}/media/`), 'thumbnails come from the api');
  // Across origins the refresh token stays in memory: no cookie session.
  assert.equal((await context.cookies(api)).length, 0);
  assert.deepEqual(problems, []);
  await context.close();
});

test('no answer above was a 5xx', { skip }, async () => {
  const now = await serverErrors();
  const new5xx = [...now].filter(([key, count]) => count > (metricsBefore.get(key) ?? 0))
    .map(([key, count]) => `${key}: +${count - (metricsBefore.get(key) ?? 0)}`);
  assert.deepEqual(new5xx, []);
});
