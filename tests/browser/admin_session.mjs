// What the admin's browser tests share (not a test file itself): API calls
// with a cached token per account, a signed-in admin tab that records every
// console error and failed request, and axe-core's accessibility check.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { watchProblems } from './chromium.mjs';

export const api = process.env.CMS_TEST_API;
export const password = 'demo-password';
const renderer = new URL(process.env.CMS_TEST_RENDERER);

const tokens = new Map();

/** An access token for `email` in `tenant` (one login per account and tenant). */
export async function apiToken(email, tenant, secret = password) {
  const key = `${email}/${tenant ?? ''}`;
  if (!tokens.has(key)) {
    const answer = await fetch(`${api}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email, password: secret, tenant }),
    });
    assert.equal(answer.status, 200, `login of ${email}`);
    tokens.set(key, (await answer.json()).access_token);
  }
  return tokens.get(key);
}

/** One API call; answers the status and the parsed body. */
export async function apiCall(bearer, method, path, body, headers = {}) {
  const answer = await fetch(`${api}${path}`, {
    method,
    headers: { Authorization: `Bearer ${bearer}`, 'Content-Type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: answer.status, etag: answer.headers.get('etag'), body: answer.status === 204 ? null : await answer.json() };
}

/** A signed-in admin tab at `path` that records console errors and failed
 * requests (`skipFailed` as in `watchProblems`). */
export async function adminAt(browser, path, { email = 'editor@alpha.example', secret = password, tenant, skipFailed, contextOptions = {} } = {}) {
  // UTC, so a time typed into a datetime-local field is the UTC time.
  const context = await browser.newContext({
    viewport: { width: 1600, height: 1000 },
    locale: 'en-US',
    timezoneId: 'UTC',
    ...contextOptions,
  });
  const page = await context.newPage();
  const problems = watchProblems(page, { skipFailed });
  await page.goto(`${api}/admin${path}`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(secret);
  if (tenant) await page.getByLabel('Tenant (slug, optional)').fill(tenant);
  await page.getByRole('button', { name: 'Sign in' }).click();
  return { context, page, problems };
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's serious and critical violations on the page as it is now
 * (WCAG 2.x A and AA rules and best practices), one line each. The source
 * is evaluated through the DevTools protocol, which the admin's CSP (no
 * inline scripts) does not govern. */
export async function axeViolations(page) {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
      resultTypes: ['violations'],
    });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 3) }));
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.nodes.join(', ')}`);
}

export async function alphaSite(bearer) {
  return (await apiCall(bearer, 'GET', '/api/v1/sites?limit=10')).body.items[0].id;
}

export async function pageWithBlocks(bearer, path, blocks) {
  const site = await alphaSite(bearer);
  const created = await apiCall(bearer, 'POST', `/api/v1/sites/${site}/pages`, { path, title: path.slice(1) });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  for (const block of blocks) {
    const added = await apiCall(bearer, 'POST', `/api/v1/pages/${created.body.id}/blocks`, block);
    assert.equal(added.status, 201, JSON.stringify(added.body));
  }
  return { site, page: created.body.id };
}

export async function blocksOf(bearer, page) {
  const answer = await apiCall(bearer, 'GET', `/api/v1/pages/${page}/blocks`);
  return answer.body.items.sort((a, b) => a.position - b.position);
}

/** The text the renderer serves at `path` of the alpha landing. */
export function served(path) {
  // node:http, not fetch: fetch does not send a Host header of its own.
  return new Promise((resolve, reject) => {
    const request = http.get(
      { host: renderer.hostname, port: renderer.port, path, headers: { Host: `alpha.localhost:${renderer.port}` } },
      (answer) => {
        let html = '';
        answer.setEncoding('utf8');
        answer.on('data', (chunk) => {
          html += chunk;
        });
        answer.on('end', () => resolve({ status: answer.statusCode, html }));
      },
    );
    request.on('error', reject);
  });
}

export async function until(what, check, seconds) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    if (await check()) return;
    assert.ok(Date.now() < deadline, `${what} within ${seconds} s`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}
