// The admin's site settings, SEO panel, leads inbox, audit log and site
// clone in headless Chromium, and axe-core over every screen an editor
// uses (no serious or critical violation), with the time the page editor
// takes to open a 30-block page (reported, not asserted).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { launchChromium } from './chromium.mjs';
import { adminAt, alphaSite, api, apiCall, apiToken, axeViolations, pageWithBlocks, served, until } from './admin_session.mjs';

let browser;

before(async () => {
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
});

const statusSays = (page, text) =>
  page.waitForFunction((expected) => [...document.querySelectorAll('[role=status]')].some((el) => el.textContent.includes(expected)), text);

test('site settings: the theme and a logo from the library reach the renderer, a stale save gets 412, domains are added and removed, the audit log shows it', async () => {
  const bearer = await apiToken('editor@alpha.example');
  const site = await alphaSite(bearer);
  const original = await apiCall(bearer, 'GET', `/api/v1/sites/${site}`);
  const { context, page, problems } = await adminAt(browser, `/sites/${site}/settings`);
  try {
    await page.getByRole('heading', { name: /^Site settings: Alpha/ }).waitFor();
    assert.deepEqual(await axeViolations(page), [], 'axe on the settings screen');
    await page.getByLabel('Primary colour').fill('#1d4ed8');
    await page.getByLabel('Google Analytics 4 measurement id').fill('G-ADMIN123');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await statusSays(page, 'Settings saved');
    const saved = (await apiCall(bearer, 'GET', `/api/v1/sites/${site}`)).body;
    assert.equal(saved.theme.primary_color, '#1d4ed8');
    assert.equal(saved.analytics.ga4, 'G-ADMIN123');
    // What the form does not show is kept.
    for (const [key, value] of Object.entries(original.body.analytics)) assert.deepEqual(saved.analytics[key], value);
    await until('the renderer shows the new colour', async () => (await served('/')).html.includes('--color-primary:#1d4ed8'), 20);

    // Someone else saves meanwhile: this tab's save is refused, nothing lost.
    const current = await apiCall(bearer, 'GET', `/api/v1/sites/${site}`);
    const other = await apiCall(bearer, 'PATCH', `/api/v1/sites/${site}`, { theme: { ...current.body.theme, font: 'Georgia' } }, { 'If-Match': current.etag });
    assert.equal(other.status, 200);
    await page.getByLabel('Accent colour').fill('#be123c');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByRole('button', { name: 'Load their version' }).click();
    await page.getByLabel('Font family').and(page.locator('[value="Georgia"]')).waitFor();
    assert.notEqual((await apiCall(bearer, 'GET', `/api/v1/sites/${site}`)).body.theme.accent_color, '#be123c');
    await page.getByLabel('Accent colour').fill('#be123c');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await until('the second save lands', async () => (await apiCall(bearer, 'GET', `/api/v1/sites/${site}`)).body.theme.accent_color === '#be123c', 10);
    const both = (await apiCall(bearer, 'GET', `/api/v1/sites/${site}`)).body.theme;
    assert.equal(both.accent_color, '#be123c');
    assert.equal(both.font, 'Georgia');

    // A logo from the library replaces the site name in the header.
    await page.getByLabel('Logo (from the media library)').selectOption({ index: 1 });
    await page.getByLabel('Logo alt text').fill('Alpha Clinics logo');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await until('the renderer shows the logo', async () => {
      const { html } = await served('/');
      return /<a class="brand" href="\/"><picture>.*alt="Alpha Clinics logo"/.test(html);
    }, 20);

    // Domains: a bad host is refused at its field, a good one added, removed.
    await page.getByRole('textbox', { name: 'Host' }).fill('not a host!');
    await page.getByRole('button', { name: 'Add domain' }).click();
    await page.locator('#host-error:not(:empty)').waitFor();
    await page.getByRole('textbox', { name: 'Host' }).fill('promo.alpha.localhost');
    await page.getByRole('button', { name: 'Add domain' }).click();
    const added = page.locator('.domains li', { hasText: 'promo.alpha.localhost' });
    await added.waitFor();
    assert.ok((await apiCall(bearer, 'GET', `/api/v1/sites/${site}/domains`)).body.items.some((d) => d.host === 'promo.alpha.localhost'));
    await added.getByRole('button', { name: /Remove/ }).click();
    await added.waitFor({ state: 'detached' });
    assert.ok(!(await apiCall(bearer, 'GET', `/api/v1/sites/${site}/domains`)).body.items.some((d) => d.host === 'promo.alpha.localhost'));

    // The audit log names the change, leaf by leaf.
    await page.getByRole('link', { name: 'Audit log' }).click();
    const entry = page.locator('tr', { hasText: 'site.update' }).first();
    await entry.waitFor();
    await entry.locator('summary').click();
    await entry.getByText('theme.logo.media').waitFor();
    assert.deepEqual(await axeViolations(page), [], 'axe on the audit log');
    assert.deepEqual(problems.filter((p) => !/\b(412|422)\b/.test(p)), []);
    assert.ok(problems.some((p) => p.startsWith('HTTP 412')), 'the stale save reached the API');
  } finally {
    await context.close();
    const now = await apiCall(bearer, 'GET', `/api/v1/sites/${site}`);
    await apiCall(bearer, 'PATCH', `/api/v1/sites/${site}`, { theme: original.body.theme, analytics: original.body.analytics }, { 'If-Match': now.etag });
  }
});

test('the SEO panel shows the API\'s 422 at its field and its fields reach the published page', async () => {
  const bearer = await apiToken('editor@alpha.example');
  const { site, page: pageId } = await pageWithBlocks(bearer, '/seo-panel', [{ module: 'hero', props: { title: 'SEO panel' } }]);
  // A preview frame reloaded before it finished is not a failure.
  const { context, page, problems } = await adminAt(browser, `/sites/${site}/pages/${pageId}`, { skipFailed: (url) => url.includes('preview=') });
  await page.locator('.block-list > li').first().waitFor();
  await page.getByText('Page settings and SEO').click();
  await page.getByLabel('Canonical URL').fill('javascript:alert(1)');
  await page.getByRole('button', { name: 'Save page settings' }).click();
  await page.getByText('must be an http(s) URL or a path').waitFor();
  assert.deepEqual((await apiCall(bearer, 'GET', `/api/v1/pages/${pageId}`)).body.seo, {}, 'nothing saved');

  await page.getByLabel('Canonical URL').fill('/seo-panel');
  await page.getByLabel('Meta title').fill('Meta from the panel');
  await page.getByLabel('Meta description').fill('Written in the admin.');
  await page.getByLabel('Hide from search engines (noindex)').check();
  await page.getByRole('button', { name: 'Save page settings' }).click();
  await statusSays(page, 'Page settings saved');
  await page.getByRole('button', { name: 'Publish now' }).click();
  await statusSays(page, 'Published').catch(async (error) => {
    throw new Error(`${error.message}\n${problems.join('\n')}\n${await page.locator('.problem').allTextContents()}`);
  });
  await until('the page is served with its SEO fields', async () => {
    const { html } = await served('/seo-panel');
    return html.includes('<title>Meta from the panel') && html.includes('<meta name="robots" content="noindex">') && html.includes('Written in the admin.');
  }, 20);
  assert.deepEqual(problems.filter((p) => !/\b422\b/.test(p)), []);
  await context.close();
});

test('a hidden block leaves the live preview and stays in the draft until shown again', async () => {
  const bearer = await apiToken('editor@alpha.example');
  const { site, page: pageId } = await pageWithBlocks(bearer, '/hide-a-block', [
    { module: 'hero', props: { title: 'Hidden for now' } },
    { module: 'cta', props: { title: 'Always here', button: { label: 'Go', href: '/go' } } },
  ]);
  const { context, page, problems } = await adminAt(browser, `/sites/${site}/pages/${pageId}`, { skipFailed: (url) => url.includes('preview=') });
  const preview = page.frameLocator('iframe.preview');
  await preview.getByText('Hidden for now').first().waitFor({ timeout: 20_000 });
  const hide = page.getByRole('button', { name: 'Hide Hero' });
  assert.equal(await hide.getAttribute('aria-pressed'), 'false');
  await hide.click();
  await page.getByRole('button', { name: 'Hide Hero', pressed: true }).waitFor();
  await page.locator('.block.hidden-block', { hasText: 'hidden' }).waitFor();
  await until('the preview leaves the hidden block out', async () =>
    (await preview.getByText('Always here').count()) > 0 && (await preview.getByText('Hidden for now').count()) === 0, 20);
  const [hero] = (await apiCall(bearer, 'GET', `/api/v1/pages/${pageId}/blocks`)).body.items;
  assert.equal(hero.hidden, true);
  await hide.click();
  await page.getByRole('button', { name: 'Hide Hero', pressed: false }).waitFor();
  await preview.getByText('Hidden for now').first().waitFor({ timeout: 20_000 });
  assert.deepEqual(problems, []);
  await context.close();
});

test('rich text is written in a small editor and saved as the HTML the API keeps', async () => {
  const bearer = await apiToken('editor@alpha.example');
  const { site, page: pageId } = await pageWithBlocks(bearer, '/rich-text-editor', [
    { module: 'rich_text', props: { html: '<p>Old text</p>' } },
  ]);
  const { context, page, problems } = await adminAt(browser, `/sites/${site}/pages/${pageId}`, { skipFailed: (url) => url.includes('preview=') });
  await page.locator('.block-list > li').first().getByRole('button', { name: /Edit/ }).click();
  const area = page.locator('.rich-text-area');
  await area.getByText('Old text').waitFor({ timeout: 8000 }).catch(async (error) => {
    throw new Error(`${error.message}\n${problems.join('\n')}\n${(await page.locator('body').innerText()).slice(0, 1500)}`);
  });
  await area.click();
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.type('Hello ');
  const bold = page.getByRole('button', { name: 'Bold' });
  await bold.click();
  assert.equal(await bold.getAttribute('aria-pressed'), 'true');
  await page.waitForFunction(() => document.activeElement?.classList.contains('rich-text-area'));
  await page.keyboard.type('world');
  await page.getByRole('button', { name: 'Bulleted list' }).click();
  assert.deepEqual(await axeViolations(page), [], 'axe on the block form with the rich text editor');
  await page.getByRole('button', { name: 'Save block' }).click();
  let saved;
  await until('the block is saved', async () => {
    [saved] = (await apiCall(bearer, 'GET', `/api/v1/pages/${pageId}/blocks`)).body.items;
    return saved.props.html === '<ul><li><p>Hello <strong>world</strong></p></li></ul>';
  }, 10).catch((error) => {
    throw new Error(`${error.message}: ${JSON.stringify(saved.props)} ${problems}`);
  });
  assert.deepEqual(problems, []);
  await context.close();
});

test('the leads inbox shows UTM columns and exports every lead as CSV a spreadsheet cannot run', async () => {
  const bearer = await apiToken('editor@alpha.example');
  const site = await alphaSite(bearer);
  const utm = { utm_source: 'newsletter', utm_medium: 'email', utm_campaign: 'spring-sale' };
  for (const fields of [
    { name: 'Анна Смирнова', phone: '+7 900 123-45-67', comment: '=HYPERLINK("http://evil.example","click")' },
    { name: 'Second, visitor', email: 'second@visitor.example' },
  ]) {
    const sent = await fetch(`${api}/api/v1/delivery/sites/${site}/leads`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ path: '/', fields, utm }),
    });
    assert.equal(sent.status, 201, await sent.text());
  }
  const { context, page, problems } = await adminAt(browser, `/sites/${site}/leads`);
  const row = page.locator('tr', { hasText: 'Анна Смирнова' });
  await row.waitFor();
  assert.ok((await row.textContent()).includes('spring-sale'));
  assert.deepEqual(await axeViolations(page), [], 'axe on the leads inbox');

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
  assert.match(download.suggestedFilename(), /^leads-Alpha-Clinic-Landing-\d{4}-\d{2}-\d{2}\.csv$/);
  const csv = await readFile(await download.path(), 'utf8');
  const total = (await apiCall(bearer, 'GET', `/api/v1/sites/${site}/leads?limit=200`)).body.items.length;
  const lines = csv.slice(1).trimEnd().split('\r\n');
  assert.equal(csv[0], '\uFEFF', 'a BOM, so Excel reads UTF-8');
  assert.equal(lines[0], 'created_at,name,phone,email,comment,path,variant,utm_source,utm_medium,utm_campaign,utm_term,utm_content');
  assert.equal(lines.length, total + 1, 'every lead');
  assert.ok(lines.some((line) => line.includes(`Анна Смирнова,+7 900 123-45-67,,"'=HYPERLINK(""http://evil.example"",""click"")",/,,newsletter,email,spring-sale,,`)), csv);
  assert.ok(lines.some((line) => line.includes('"Second, visitor",,second@visitor.example,')), csv);
  assert.deepEqual(problems, []);
  await context.close();
});

test('owners manage members (create, change role, keep the last owner, remove); editors only read the list', async () => {
  const owner = await apiToken('admin@example.com', 'alpha');
  const { context, page, problems } = await adminAt(browser, '/members', { email: 'admin@example.com', tenant: 'alpha' });
  await page.getByRole('heading', { name: 'Members' }).waitFor();
  await page.locator('table.members tbody tr').first().waitFor();
  assert.deepEqual(await axeViolations(page), [], 'axe on the members screen');

  const email = `mira-${Date.now()}@alpha.example`;
  await page.getByText('Add a member').click();
  await page.getByLabel('Email').fill(email);
  await page.getByRole('combobox', { name: 'Role', exact: true }).selectOption('viewer');
  await page.getByLabel('Create a new account').check();
  await page.getByLabel('Name', { exact: true }).fill('Mira Member');
  await page.getByLabel(/^Password/).fill('mira-password-1');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  const row = page.locator('tr', { hasText: email });
  await row.waitFor();
  const memberOf = async () => (await apiCall(owner, 'GET', '/api/v1/users?limit=200')).body.items.find((m) => m.email === email);
  assert.equal((await memberOf()).role, 'viewer');

  await row.getByLabel('Role of Mira Member').selectOption('editor');
  await until('the role is changed', async () => (await memberOf()).role === 'editor', 10);

  // The only owner may not demote themself: the API's 409 is shown, nothing changes.
  const mine = page.locator('tr', { hasText: 'admin@example.com' });
  await mine.getByRole('combobox').selectOption('viewer');
  await page.locator('.problem').waitFor();
  await until('the owner row reads owner again', async () => (await mine.getByRole('combobox').inputValue()) === 'owner', 10);
  const self = (await apiCall(owner, 'GET', '/api/v1/users?limit=200')).body.items.find((m) => m.email === 'admin@example.com');
  assert.equal(self.role, 'owner');

  await row.getByRole('button', { name: 'Remove Mira Member' }).click();
  await row.getByRole('button', { name: /Remove Mira Member\? Click to confirm/ }).click();
  await row.waitFor({ state: 'detached' });
  assert.equal(await memberOf(), undefined);
  assert.deepEqual(problems.filter((p) => !/\b409\b/.test(p)), []);
  await context.close();

  const editor = await adminAt(browser, '/members');
  await editor.page.locator('table.members tbody tr').first().waitFor();
  assert.equal(await editor.page.locator('table.members select').count(), 0, 'no role controls');
  assert.equal(await editor.page.getByText('Add a member').count(), 0, 'no add form');
  assert.deepEqual(editor.problems, []);
  await editor.context.close();
});

test('an owner clones a site into another tenant they administer', async () => {
  const owner = await apiToken('admin@example.com', 'alpha');
  const site = await alphaSite(owner);
  const { context, page, problems } = await adminAt(browser, `/sites/${site}/settings`, { email: 'admin@example.com', tenant: 'alpha' });
  await page.getByRole('heading', { name: 'Clone this site' }).waitFor();
  await page.getByLabel('Into tenant').selectOption({ label: 'Beta Marketing' });
  await page.getByLabel('New site name').fill('Alpha landing for Beta');
  await page.getByLabel('New site domain').fill('alpha-copy.beta.localhost');
  await page.getByRole('button', { name: 'Clone', exact: true }).click();
  await statusSays(page, 'Cloned as “Alpha landing for Beta”.');
  await page.locator('header.bar label', { hasText: 'Tenant' }).locator('select').selectOption({ label: 'Beta Marketing (owner)' });
  await page.getByRole('heading', { name: 'Alpha landing for Beta' }).waitFor();
  const beta = await apiToken('editor@beta.example');
  const clone = (await apiCall(beta, 'GET', '/api/v1/sites?limit=50')).body.items.find((s) => s.name === 'Alpha landing for Beta');
  assert.ok(clone, 'beta\'s editor sees the clone');
  const pages = await apiCall(beta, 'GET', `/api/v1/sites/${clone.id}/pages?limit=5`);
  assert.ok(pages.body.items.length > 0, 'with its pages');
  assert.deepEqual(problems, []);
  await context.close();
});

test('axe finds nothing serious on the login, pages, editor, media and results screens; a 30-block page opens in the editor', async (t) => {
  const bearer = await apiToken('editor@alpha.example');
  const blocks = Array.from({ length: 30 }, (_, i) =>
    i % 3 === 0
      ? { module: 'hero', props: { title: `Hero ${i + 1}` } }
      : i % 3 === 1
        ? { module: 'features', props: { title: `Features ${i + 1}`, items: [{ title: 'Fast', text: 'Very' }] } }
        : { module: 'cta', props: { title: `Call ${i + 1}`, button: { label: 'Go', href: '/go' } } },
  );
  const { site, page: pageId } = await pageWithBlocks(bearer, '/thirty-blocks', blocks);
  const experiment = await apiCall(bearer, 'POST', `/api/v1/pages/${pageId}/experiments`, {
    name: 'Axe results',
    goal: 'lead_submitted',
    variants: [
      { key: 'a', weight: 50 },
      { key: 'b', weight: 50, blocks: [{ module: 'hero', props: { title: 'Only B' } }] },
    ],
  });
  assert.equal(experiment.status, 201, JSON.stringify(experiment.body));

  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 }, locale: 'en-US' });
  const page = await context.newPage();
  // The check itself finds what it should: an input without a label.
  await page.setContent('<!doctype html><html lang="en"><title>t</title><main><input type="text"></main></html>');
  assert.ok((await axeViolations(page)).some((v) => v.startsWith('critical label')), 'axe reports a missing label');
  await page.goto(`${api}/admin/`);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  assert.deepEqual(await axeViolations(page), [], 'axe on the login screen');
  await context.close();

  const { context: signedIn, page: admin, problems } = await adminAt(browser, `/sites/${site}/pages`);
  await admin.getByLabel('Path starts with').fill('/thirty-blocks');
  const link = admin.getByRole('link', { name: 'thirty-blocks' });
  await link.waitFor();
  assert.deepEqual(await axeViolations(admin), [], 'axe on the pages list');

  // From the click to 30 blocks on screen, the editor's code loaded first.
  const started = Date.now();
  await link.click();
  await admin.waitForFunction(() => document.querySelectorAll('.block-list > li').length === 30);
  const openedMs = Date.now() - started;
  t.diagnostic(`page editor opened a 30-block page in ${openedMs} ms`);
  console.log(`BENCH admin_editor_open_30_blocks_ms=${openedMs}`);
  assert.deepEqual(await axeViolations(admin), [], 'axe on the page editor');

  await admin.getByRole('link', { name: 'Media' }).click();
  await admin.getByRole('heading', { name: 'Media library' }).waitFor();
  await admin.locator('.media-grid li').first().waitFor();
  assert.deepEqual(await axeViolations(admin), [], 'axe on the media library');

  await admin.evaluate((id) => {
    window.history.pushState(null, '', `/admin/experiments/${id}`);
    window.dispatchEvent(new PopStateEvent('popstate'));
  }, experiment.body.id);
  await admin.getByRole('heading', { name: 'Results: Axe results' }).waitFor();
  assert.deepEqual(await axeViolations(admin), [], 'axe on the experiment results');
  assert.deepEqual(problems.filter((p) => !p.includes('preview=')), []);
  await signedIn.close();
});
