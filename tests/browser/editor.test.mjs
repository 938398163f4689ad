// The admin's page editor in headless Chromium against the stack
// `scripts/browser.sh` starts: a landing built through the generated forms
// (hero, features, a gallery with an image uploaded there with its alt text,
// a lead form) seen in the live preview and served by the renderer once
// published; reordering by keyboard alone; the API's 422 shown at the field
// with nothing saved; and two editors saving one block, the second through
// the merge view, with both their changes kept.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium, watchProblems } from './chromium.mjs';

const api = process.env.CMS_TEST_API;
const renderer = new URL(process.env.CMS_TEST_RENDERER);
const landing = `http://alpha.localhost:${renderer.port}`;
const password = 'demo-password';
// Not one of the images the seed uploads, so it is a new media.
const photo = new URL('../../renderer/assets/demo/hero-480.webp', import.meta.url).pathname;
let browser;

before(async () => {
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
});

async function token(email) {
  const answer = await fetch(`${api}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  return (await answer.json()).access_token;
}

async function call(bearer, method, path, body) {
  const answer = await fetch(`${api}${path}`, {
    method,
    headers: { Authorization: `Bearer ${bearer}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: answer.status, body: answer.status === 204 ? null : await answer.json() };
}

/** A signed-in admin tab at `path` that records console errors and failed requests. */
async function adminAt(path, email = 'editor@alpha.example') {
  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 }, locale: 'en-US' });
  const page = await context.newPage();
  // A preview frame reloaded before it finished is not a failure.
  const problems = watchProblems(page, { skipFailed: (url) => url.includes('preview=') });
  await page.goto(`${api}/admin${path}`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  return { context, page, problems };
}

async function alphaSite(bearer) {
  return (await call(bearer, 'GET', '/api/v1/sites?limit=10')).body.items[0].id;
}

/** Adds a block of `moduleName` and waits for its form. */
async function addBlock(page, moduleName) {
  await page.getByRole('button', { name: 'Add block' }).click();
  await page.locator('.module-choice', { hasText: moduleName }).first().click();
  await page.locator('.block-form form').waitFor();
}

async function saveBlock(page, count) {
  await page.getByRole('button', { name: 'Save block' }).click();
  await page.waitForFunction((n) => document.querySelectorAll('.block-list > li').length === n && !document.querySelector('.block-form'), count);
}

test('an editor builds a landing through the forms, previews it live and publishes it', async () => {
  const bearer = await token('editor@alpha.example');
  const site = await alphaSite(bearer);
  const { context, page, problems } = await adminAt(`/sites/${site}/pages`);
  await page.getByText('New page').click();
  await page.getByLabel('Path', { exact: true }).fill('/built-in-the-admin');
  await page.getByLabel('Title', { exact: true }).fill('Built in the admin');
  await page.getByRole('button', { name: 'Create page' }).click();
  await page.getByRole('heading', { name: /Built in the admin/ }).waitFor();

  await addBlock(page, 'Hero');
  await page.locator('#root_title').fill('A hero typed in a form');
  await saveBlock(page, 1);

  await addBlock(page, 'Features');
  await page.locator('#root_title').fill('Why us');
  await page.locator('.block-form .btn-add').first().click();
  await page.locator('#root_items_0_title').fill('Typed feature');
  await saveBlock(page, 2);

  await addBlock(page, 'Gallery');
  await page.locator('#root_title').fill('Gallery from the admin');
  await page.locator('.block-form .btn-add').first().click();
  const field = page.locator('.image-field').first();
  await field.locator('input[type=file]').setInputFiles(photo);
  await field.getByLabel('Alt text', { exact: true }).fill('A doctor at work');
  await field.getByRole('button', { name: 'Upload' }).click();
  await field.locator('.image-chosen').waitFor();
  await saveBlock(page, 3);

  await addBlock(page, 'Lead form');
  await page.locator('#root_title').fill('Leave a request');
  await saveBlock(page, 4);

  // The live preview shows the draft as the renderer renders it.
  const preview = page.frameLocator('iframe.preview');
  for (const text of ['A hero typed in a form', 'Typed feature', 'Gallery from the admin', 'Leave a request']) {
    await preview.getByText(text).first().waitFor({ timeout: 20_000 });
  }

  await page.getByRole('button', { name: 'Publish now' }).click();
  await page.locator('h1 .status-published').waitFor();

  // The renderer serves the published page with every block; the uploaded
  // image appears once its renditions exist.
  const visitor = await context.newPage();
  const deadline = Date.now() + 60_000;
  for (;;) {
    const answer = await visitor.goto(`${landing}/built-in-the-admin`);
    assert.equal(answer.status(), 200);
    const html = await visitor.content();
    for (const text of ['A hero typed in a form', 'Typed feature', 'Gallery from the admin', 'Leave a request']) {
      assert.ok(html.includes(text), `${text} is on the published page`);
    }
    if (await visitor.locator('img[alt="A doctor at work"]').count()) break;
    assert.ok(Date.now() < deadline, 'the uploaded image never appeared on the published page');
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  assert.deepEqual(problems, []);
  await context.close();
});

async function pageWithBlocks(bearer, path, blocks) {
  const site = await alphaSite(bearer);
  const created = await call(bearer, 'POST', `/api/v1/sites/${site}/pages`, { path, title: path.slice(1) });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  for (const block of blocks) {
    const added = await call(bearer, 'POST', `/api/v1/pages/${created.body.id}/blocks`, block);
    assert.equal(added.status, 201, JSON.stringify(added.body));
  }
  return { site, page: created.body.id };
}

async function blocksOf(bearer, page) {
  const answer = await call(bearer, 'GET', `/api/v1/pages/${page}/blocks`);
  return answer.body.items.sort((a, b) => a.position - b.position);
}

test('blocks reorder by keyboard alone, and a prop the schema refuses shows the 422 there and saves nothing', async () => {
  const bearer = await token('editor@alpha.example');
  const { site, page: pageId } = await pageWithBlocks(bearer, '/keyboard-order', [
    { module: 'hero', props: { title: 'First' } },
    { module: 'cta', props: { title: 'Second', button: { label: 'Go', href: '/go' } } },
    { module: 'lead_form', props: { title: 'Third' } },
  ]);
  const { context, page, problems } = await adminAt(`/sites/${site}/pages/${pageId}`);
  await page.locator('.block-list > li').nth(2).waitFor();
  const first = (await blocksOf(bearer, pageId))[0];
  // Tab to the first block's "move down" control, then Enter twice: the
  // focus follows the block, so the second Enter moves it again.
  const target = `down-${first.id}`;
  for (let i = 0; i < 60 && (await page.evaluate(() => document.activeElement?.id)) !== target; i += 1) {
    await page.keyboard.press('Tab');
  }
  assert.equal(await page.evaluate(() => document.activeElement?.id), target);
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('.block-list > li:nth-child(2) .block-summary')?.textContent === 'First');
  await page.waitForFunction((id) => document.activeElement?.id === id, target);
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('.block-list > li:nth-child(3) .block-summary')?.textContent === 'First');
  // Saved: the editor announces it (a live region) once the API answered.
  await page.getByRole('status').filter({ hasText: 'Hero moved to place 3' }).waitFor();
  // Last now, so "down" is disabled: the focus is on its "up".
  assert.equal(await page.evaluate(() => document.activeElement?.id), `up-${first.id}`);
  assert.deepEqual((await blocksOf(bearer, pageId)).map((b) => b.props.title), ['Second', 'Third', 'First']);

  // A link the module's schema refuses: the API's message at that field.
  const cta = page.locator('.block-list > li', { hasText: 'Second' });
  await cta.getByRole('button', { name: /Edit/ }).click();
  await page.locator('#root_button_href').fill('javascript:alert(1)');
  await page.getByRole('button', { name: 'Save block' }).click();
  const error = page.locator('#root_button_href').locator('xpath=ancestor::*[contains(@class, "form-group")][1]').locator('.error-detail, .text-danger');
  await error.first().waitFor();
  assert.match(await error.first().textContent(), /pattern|match/i);
  const after = (await blocksOf(bearer, pageId)).find((b) => b.module === 'cta');
  assert.equal(after.props.button.href, '/go');
  // The 422 is the answer this test asks for.
  assert.deepEqual(problems.filter((p) => !/\b422\b/.test(p)), []);
  await context.close();
});

test('two editors save one block: the second merges and both changes are kept', async () => {
  const bearer = await token('editor@alpha.example');
  const { site, page: pageId } = await pageWithBlocks(bearer, '/two-editors', [
    { module: 'hero', props: { title: 'Original title', subtitle: 'Original subtitle' } },
  ]);
  const path = `/sites/${site}/pages/${pageId}`;
  const first = await adminAt(path);
  const second = await adminAt(path, 'admin@example.com');
  for (const { page } of [first, second]) {
    await page.locator('.block-list > li').first().getByRole('button', { name: /Edit/ }).click();
    await page.locator('#root_title').waitFor();
  }
  await first.page.locator('#root_title').fill('Title from the first editor');
  await first.page.getByRole('button', { name: 'Save block' }).click();
  await first.page.locator('.block-form').waitFor({ state: 'detached' });

  await second.page.locator('#root_subtitle').fill('Subtitle from the second editor');
  await second.page.getByRole('button', { name: 'Save block' }).click();
  await second.page.getByRole('heading', { name: 'Someone else saved this block' }).waitFor();
  const row = (name) => second.page.locator('.conflict tbody tr', { has: second.page.locator(`th:text-is("${name}")`) });
  assert.match(await row('title').textContent(), /Title from the first editor/);
  assert.match(await row('subtitle').textContent(), /Subtitle from the second editor/);
  await second.page.getByRole('button', { name: 'Save merged' }).click();
  await second.page.locator('.conflict').waitFor({ state: 'detached' });
  await second.page.locator('.block-form').waitFor({ state: 'detached' });

  const [hero] = await blocksOf(bearer, pageId);
  assert.equal(hero.props.title, 'Title from the first editor');
  assert.equal(hero.props.subtitle, 'Subtitle from the second editor');
  for (const { problems, context } of [first, second]) {
    // The 412 is the conflict this test makes.
    assert.deepEqual(problems.filter((p) => !/\b412\b/.test(p)), []);
    await context.close();
  }
});
