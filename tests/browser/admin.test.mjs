// The editors' admin (/admin, api/admin) in headless Chromium against the
// stack `scripts/browser.sh` starts (`make admin` built it): sign in, the
// tenant's sites, a site's pages with the API's own filters, the language
// switch, the tenant isolation of what is listed, and sign out, with no
// console error (CSP violations included) and no failed request on the way.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium, watchProblems } from './chromium.mjs';

const api = process.env.CMS_TEST_API;
const password = 'demo-password';
let browser;

before(async () => {
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
});

/** A fresh context and page that records console errors and failed requests. */
async function openAdmin() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
  const page = await context.newPage();
  const problems = watchProblems(page);
  await page.goto(`${api}/admin/`);
  return { context, page, problems };
}

async function signIn(page, email) {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Sites' }).waitFor();
}

test('an editor signs in, lists the sites and filters a site\'s pages', async () => {
  const { context, page, problems } = await openAdmin();
  await signIn(page, 'editor@alpha.example');
  const siteCards = page.locator('.card');
  await siteCards.first().waitFor();
  assert.ok((await siteCards.count()) >= 1, 'alpha has sites');
  await siteCards.first().getByRole('link', { name: 'Pages' }).click();
  await page.locator('table tbody tr').first().waitFor();
  assert.match(page.url(), /\/admin\/sites\/[0-9a-f-]{36}\/pages$/);
  const all = await page.locator('table tbody tr').count();
  assert.ok(all >= 2, `the demo site has pages: ${all}`);
  // The path filter is the API's `path_prefix`.
  await page.getByLabel('Path starts with').fill('/clinic');
  await page.waitForFunction(
    () => [...document.querySelectorAll('table tbody tr td:first-child')].every((cell) => cell.textContent.startsWith('/clinic')),
  );
  const paths = await page.locator('table tbody tr td:first-child').allTextContents();
  assert.ok(paths.length >= 1 && paths.length < all, `${paths}`);
  // Status filter: the demo pages are published.
  await page.getByLabel('Path starts with').fill('');
  await page.getByLabel('Status').selectOption('archived');
  await page.getByText('No pages match.').waitFor();
  // Reloading keeps the route (the api answers the app's page for it) and
  // the session (its refresh cookie).
  await page.reload();
  await page.getByLabel('Status').waitFor();
  assert.match(page.url(), /\/admin\/sites\/[0-9a-f-]{36}\/pages$/);
  assert.deepEqual(problems, []);
  await context.close();
});

test('the interface switches to Russian and a wrong password is shown as the API says', async () => {
  const { context, page, problems } = await openAdmin();
  await page.getByLabel('Email').fill('editor@alpha.example');
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: /./ }).first().waitFor();
  // The 401 itself is the expected answer here, not a failure of the page.
  assert.ok(problems.length > 0 && problems.every((problem) => problem.includes('/api/v1/auth/login')
    || problem.includes('status of 401')), problems.join('\n'));
  problems.length = 0;
  await signIn(page, 'editor@alpha.example');
  await page.getByLabel('Language').selectOption('ru');
  await page.getByRole('heading', { name: 'Сайты' }).waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'ru');
  await page.getByRole('button', { name: 'Выйти' }).click();
  await page.getByRole('heading', { name: 'Вход' }).waitFor();
  assert.deepEqual(problems, []);
  await context.close();
});

test('each tenant\'s editor sees only their own sites', async () => {
  const names = {};
  for (const tenant of ['alpha', 'beta']) {
    const { context, page, problems } = await openAdmin();
    await signIn(page, `editor@${tenant}.example`);
    await page.locator('.card h2').first().waitFor();
    names[tenant] = await page.locator('.card h2').allTextContents();
    const mine = await (await fetch(`${api}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: `editor@${tenant}.example`, password }),
    })).json();
    const sites = await (await fetch(`${api}/api/v1/sites?limit=100`, {
      headers: { Authorization: `Bearer ${mine.access_token}` },
    })).json();
    assert.deepEqual([...names[tenant]].sort(), sites.items.map((site) => site.name).sort());
    assert.deepEqual(problems, []);
    await context.close();
  }
  assert.equal(names.alpha.filter((name) => names.beta.includes(name)).length, 0, JSON.stringify(names));
});

test('a reload resumes the session from the httpOnly cookie, no token is readable and sign-out ends it', async () => {
  const { context, page, problems } = await openAdmin();
  await signIn(page, 'editor@alpha.example');
  await page.locator('.card').first().waitFor();
  const cookies = await context.cookies();
  const refresh = cookies.find((cookie) => cookie.name === 'cms_refresh');
  assert.ok(refresh, JSON.stringify(cookies));
  assert.equal(refresh.httpOnly, true);
  assert.equal(refresh.sameSite, 'Strict');
  assert.equal(refresh.path, '/api/v1/auth');
  const seen = await page.evaluate(() => ({ cookie: document.cookie, local: localStorage.length, session: sessionStorage.length }));
  assert.deepEqual(seen, { cookie: 'cms_session=1', local: 0, session: 0 }, 'scripts see only the marker');

  await page.reload();
  await page.getByRole('heading', { name: 'Sites' }).waitFor();
  assert.equal(await page.getByLabel('Password').count(), 0, 'no sign-in form after a reload');
  const rotated = (await context.cookies()).find((cookie) => cookie.name === 'cms_refresh');
  assert.notEqual(rotated.value, refresh.value, 'the refresh rotated the cookie');

  // A second tab shares the cookie: it resumes too, and the first keeps working.
  const second = await context.newPage();
  const secondProblems = watchProblems(second);
  await second.goto(`${api}/admin/`);
  await second.getByRole('heading', { name: 'Sites' }).waitFor();
  await page.getByRole('link', { name: 'Media' }).click();
  await page.getByRole('heading', { name: 'Media library' }).waitFor();

  await page.locator('.media-grid li').first().waitFor();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('Password').waitFor();
  assert.equal((await context.cookies()).some((cookie) => cookie.name === 'cms_refresh'), false, 'cookie cleared');
  await page.reload();
  await page.getByLabel('Password').waitFor();
  assert.deepEqual(problems, []);
  assert.deepEqual(secondProblems, []);
  await context.close();
});
