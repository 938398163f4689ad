// The admin's page editor in headless Chromium against the stack
// `scripts/browser.sh` starts: a landing built through the generated forms
// (hero, features, a gallery with an image uploaded there with its alt text,
// a lead form) seen in the live preview and served by the renderer once
// published; reordering by keyboard alone; the API's 422 shown at the field
// with nothing saved; and two editors saving one block, the second through
// the merge view, with both their changes kept.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium } from './chromium.mjs';
import { adminAt as adminTab, alphaSite, api, apiCall, apiToken, blocksOf, pageWithBlocks, password, served, until } from './admin_session.mjs';

const renderer = new URL(process.env.CMS_TEST_RENDERER);
const landing = `http://alpha.localhost:${renderer.port}`;
// Not one of the images the seed uploads, so it is a new media.
const photo = new URL('../../renderer/assets/demo/hero-480.webp', import.meta.url).pathname;
let browser;

before(async () => {
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
});


/** A signed-in admin tab at `path`; a preview frame reloaded before it
 * finished is not a failure. */
function adminAt(path, email = 'editor@alpha.example', secret = password) {
  return adminTab(browser, path, { email, secret, skipFailed: (url) => url.includes('preview=') });
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
  const bearer = await apiToken('editor@alpha.example');
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

test('blocks reorder by keyboard alone, and a prop the schema refuses shows the 422 there and saves nothing', async () => {
  const bearer = await apiToken('editor@alpha.example');
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
  const bearer = await apiToken('editor@alpha.example');
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

test('revisions compare and publish again, and a publish scheduled a minute ahead goes live', async () => {
  const bearer = await apiToken('editor@alpha.example');
  const { site, page: pageId } = await pageWithBlocks(bearer, '/scheduled-later', [
    { module: 'hero', props: { title: 'Version one' } },
  ]);
  const publish = async () => {
    const current = await apiCall(bearer, 'GET', `/api/v1/pages/${pageId}`);
    const answer = await fetch(`${api}/api/v1/pages/${pageId}/publish`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${bearer}`, 'Content-Type': 'application/json', 'If-Match': `"v${current.body.version}"` },
      body: '{}',
    });
    assert.equal(answer.status, 200);
  };
  await publish();
  const [hero] = await blocksOf(bearer, pageId);
  await apiCall(bearer, 'PATCH', `/api/v1/pages/${pageId}/blocks/${hero.id}`, { props: { title: 'Version two' } });
  await publish();
  await until('version two is served', async () => (await served('/scheduled-later')).html.includes('Version two'), 30);

  const { context, page, problems } = await adminAt(`/sites/${site}/pages/${pageId}`);
  await page.getByText(/Published revisions \(2\)/).click();
  await page.locator('.changes li', { hasText: 'Version one' }).waitFor();
  assert.match(await page.locator('.changes').textContent(), /Version one.*→.*Version two/);
  await page.getByRole('button', { name: 'Publish again #1' }).click();
  await page.getByRole('status').filter({ hasText: 'Revision #1 is live again' }).waitFor();
  await until('version one is served again', async () => (await served('/scheduled-later')).html.includes('Version one'), 30);

  await context.close();

  // A draft page published a minute from now (a live page is published now
  // or unpublished first: the API refuses to schedule it).
  const later = await pageWithBlocks(bearer, '/goes-live-later', [{ module: 'hero', props: { title: 'Draft for later' } }]);
  const second = await adminAt(`/sites/${site}/pages/${later.page}`);
  await second.page.locator('.block-list > li').first().getByRole('button', { name: /Edit/ }).click();
  await second.page.locator('#root_title').fill('Scheduled from the admin');
  await saveBlock(second.page, 1);
  const at = new Date(Date.now() + 60_000).toISOString().slice(0, 19);
  await second.page.getByLabel('Publish at').fill(at);
  await second.page.getByRole('button', { name: 'Schedule' }).click();
  await second.page.locator('h1 .status-scheduled, .problem').first().waitFor();
  assert.equal(await second.page.locator('.problem').count(), 0, await second.page.locator('.problem').first().textContent().catch(() => ''));
  assert.equal((await served('/goes-live-later')).status, 404, 'not live before its time');
  await until('the scheduled publish goes live', async () => (await served('/goes-live-later')).html.includes('Scheduled from the admin'), 150);
  const live = await apiCall(bearer, 'GET', `/api/v1/pages/${later.page}`);
  assert.equal(live.body.status, 'published');
  assert.deepEqual(problems, []);
  assert.deepEqual(second.problems, []);
  await second.context.close();
});

test('a viewer sees no edit controls and an edit forced through the UI is refused', async () => {
  const owner = await apiToken('admin@example.com', 'alpha');
  const email = `viewer-${Date.now()}@alpha.example`;
  const created = await apiCall(owner, 'POST', '/api/v1/users', { email, name: 'Vera Viewer', password: 'viewer-password-1', role: 'viewer' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const bearer = await apiToken('editor@alpha.example');
  const { site, page: pageId } = await pageWithBlocks(bearer, '/for-viewers', [
    { module: 'hero', props: { title: 'Only to be read' } },
  ]);
  const { context, page, problems } = await adminAt(`/sites/${site}/pages`, email, 'viewer-password-1');
  await page.locator('table tbody tr').first().waitFor();
  assert.equal(await page.getByText('New page').count(), 0);
  // A new document resumes the session from its cookie.
  await page.goto(`${api}/admin/sites/${site}/pages/${pageId}`);
  await page.locator('.block-list > li').first().waitFor();
  for (const control of ['Add block', 'Publish now', 'Schedule', 'Save block']) {
    assert.equal(await page.getByRole('button', { name: control }).count(), 0, control);
  }
  assert.equal(await page.locator('.block-actions button[id^="up-"], .block-actions button[id^="down-"]').count(), 0);
  await page.locator('.block-list > li').first().getByRole('button', { name: /View/ }).click();
  const title = page.locator('#root_title');
  await title.waitFor();
  assert.ok(await title.evaluate((input) => input.readOnly || input.disabled), 'the form is read-only');
  // Forced: submit the read-only form through the admin's own save path.
  await page.evaluate(() => document.querySelector('.block-form form').requestSubmit());
  await page.locator('.problem', { hasText: /forbidden/i }).waitFor();
  const [hero] = await blocksOf(bearer, pageId);
  assert.equal(hero.props.title, 'Only to be read');
  assert.equal(hero.version, 1);
  assert.deepEqual(problems.filter((p) => !/\b403\b/.test(p)), []);
  assert.ok(problems.some((p) => /\b403\b/.test(p)), 'the forced save reached the API and was refused');
  await context.close();
});

test('an A/B test is made in the editor, both variants previewed, and its results read after events', async () => {
  const bearer = await apiToken('editor@alpha.example');
  const { site, page: pageId } = await pageWithBlocks(bearer, '/ab-from-the-admin', [
    { module: 'hero', props: { title: 'Control title' } },
    { module: 'lead_form', props: { title: 'Ask us' } },
  ]);
  const current = await apiCall(bearer, 'GET', `/api/v1/pages/${pageId}`);
  const published = await fetch(`${api}/api/v1/pages/${pageId}/publish`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${bearer}`, 'Content-Type': 'application/json', 'If-Match': `"v${current.body.version}"` },
    body: '{}',
  });
  assert.equal(published.status, 200);

  const { context, page, problems } = await adminAt(`/sites/${site}/pages/${pageId}`);
  await page.locator('.block-list > li').nth(1).waitFor();
  await page.getByText(/A\/B experiments \(0\)/).click();
  await page.getByRole('button', { name: 'New A/B test' }).click();
  await page.getByLabel('Name', { exact: true }).fill('Hero headline');
  await page.getByLabel('Block 1 (hero)').check();
  await page.locator('.new-experiment #root_title').fill('Variant title');
  await page.getByRole('button', { name: 'Create the test' }).click();
  const row = page.locator('.experiment-list li', { hasText: 'Hero headline' });
  await row.waitFor();
  await row.getByRole('button', { name: 'Start' }).click();
  await row.locator('.status-running').waitFor();

  const preview = page.frameLocator('iframe.preview');
  await row.getByRole('button', { name: 'Preview Variant B' }).click();
  await preview.getByText('Variant title').first().waitFor({ timeout: 20_000 });
  await row.getByRole('button', { name: 'Preview Control' }).click();
  await preview.getByText('Control title').first().waitFor({ timeout: 20_000 });
  assert.equal(await preview.getByText('Variant title').count(), 0);

  // Visitors as the renderer reports them: 30 per variant, 6 and 12 leads.
  const experiment = (await apiCall(bearer, 'GET', `/api/v1/pages/${pageId}/experiments`)).body.items[0];
  const events = [];
  for (const [variant, converted] of [['a', 6], ['b', 12]]) {
    for (let i = 0; i < 30; i += 1) {
      const visitor = `${variant}-visitor-${i}`;
      events.push({ experiment: experiment.id, variant, visitor, kind: 'exposure' });
      if (i < converted) events.push({ experiment: experiment.id, variant, visitor, kind: 'conversion' });
    }
  }
  for (let i = 0; i < events.length; i += 50) {
    const sent = await fetch(`${api}/api/v1/delivery/events`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ events: events.slice(i, i + 50) }),
    });
    assert.ok(sent.status < 300, `events: ${sent.status}`);
  }

  await row.getByRole('link', { name: 'Results' }).click();
  await page.getByRole('heading', { name: 'Results: Hero headline' }).waitFor();
  const cells = async (variant) => page.locator(`tr[data-variant="${variant}"]`).locator('td').allTextContents();
  await page.locator('tr[data-variant="b"]').waitFor();
  const [a, b] = [await cells('a'), await cells('b')];
  assert.deepEqual(a.slice(0, 3), ['30', '6', '20.00%']);
  assert.deepEqual(b.slice(0, 3), ['30', '12', '40.00%']);
  assert.match(b[3], /100\.0%/);
  // One line per variant (with all events at one instant, each is a point).
  await page.locator('.chart svg polyline').nth(1).waitFor({ state: 'attached' });
  assert.equal(await page.locator('.chart svg circle').count(), 2);
  assert.deepEqual(problems, []);
  await context.close();
});
