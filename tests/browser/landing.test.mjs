// Browser test of the demo landing in headless Chromium (Debian's package,
// driven by playwright-core). `scripts/browser.sh` starts a fresh stack and
// runs this with node's test runner:
//   CMS_TEST_API=http://127.0.0.1:A CMS_TEST_RENDERER=http://127.0.0.1:R \
//   CHROME_PATH=/usr/bin/chromium node --test tests/browser/
//
// It checks what only a browser can: the page runs without console errors
// (CSP violations, script errors, failed requests are console errors too),
// the images `api seed` uploaded through the media pipeline load as AVIF or
// WebP (not the fallback) over their placeholders, images below the fold are
// not fetched until the visitor scrolls to them, and the lead form posts
// through the renderer into the API.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium } from './chromium.mjs';

const api = process.env.CMS_TEST_API;
const renderer = new URL(process.env.CMS_TEST_RENDERER);
// Chromium resolves every *.localhost name to loopback, so the demo host
// reaches the renderer with the Host header a real visitor would send.
const site = `http://alpha.localhost:${renderer.port}`;
const viewport = { width: 1280, height: 800 };
// Chromium starts fetching lazy images this far below the viewport (2500 px
// when it does not know the connection type); images further down must wait.
const lazyMargin = 2500;

let browser;

/** Every media image object (`{media, src, sources, ...}`) in `value`. */
function mediaImages(value, found = []) {
  if (Array.isArray(value)) value.forEach((item) => mediaImages(item, found));
  else if (value && typeof value === 'object') {
    if (typeof value.media === 'string') found.push(value);
    else Object.values(value).forEach((item) => mediaImages(item, found));
  }
  return found;
}

/** The demo pages' media images, once every one has its renditions (the
 * stack's worker makes them after `api seed` uploaded the files). */
async function renditionsMade() {
  const manifest = await (await fetch(`${api}/api/v1/delivery/sites/by-host/alpha.localhost`)).json();
  const deadline = Date.now() + 300_000;
  for (;;) {
    const pages = await Promise.all(['/', '/clinic'].map(async (path) => {
      const response = await fetch(`${api}/api/v1/delivery/sites/${manifest.site_id}/pages?path=${encodeURIComponent(path)}&locale=en`);
      return response.json();
    }));
    const images = mediaImages(pages.map((page) => page.blocks));
    const done = images.length > 0 && images.every((image) => image.src && image.placeholder
      && image.sources?.avif?.length > 0 && image.sources?.webp?.length > 0);
    if (done) return images;
    assert.ok(Date.now() < deadline, `renditions not made in time: ${JSON.stringify(images)}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

before(async () => {
  await renditionsMade();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
});

/** A fresh page (no cache, no cookies) that records problems and requests. */
async function openPage() {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const problems = [];
  const requested = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') {
      problems.push(`console ${message.type()}: ${message.text()}`);
    }
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => problems.push(`failed: ${request.url()} ${request.failure()?.errorText}`));
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`);
  });
  page.on('request', (request) => requested.push(new URL(request.url()).pathname));
  return { context, page, problems, requested };
}

async function images(page) {
  return page.$$eval('img', (elements) => elements.map((img) => ({
    src: img.getAttribute('src'),
    current: img.currentSrc ? new URL(img.currentSrc).pathname : '',
    top: img.getBoundingClientRect().top + window.scrollY,
    loading: img.loading,
    complete: img.complete,
    loaded: img.complete && img.naturalWidth > 0,
  })));
}

for (const path of ['/', '/clinic', '/page-2']) {
  test(`${path} loads without console errors, failed requests or error statuses`, async () => {
    const { context, page, problems } = await openPage();
    const response = await page.goto(site + path, { waitUntil: 'load' });
    assert.equal(response.status(), 200);
    // Scroll through the page so every lazy image and script path runs.
    await page.evaluate(async () => {
      for (let y = 0; y < document.documentElement.scrollHeight; y += 600) {
        window.scrollTo(0, y);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    });
    await page.waitForLoadState('networkidle');
    assert.deepEqual(problems, []);
    assert.ok((await page.title()).length > 0, 'the page has a title');
    await context.close();
  });
}

test('images below the fold are fetched only when scrolled to', async () => {
  const { context, page, requested } = await openPage();
  const imageRequests = () => requested.filter((path) => /\.(webp|jpe?g|png|avif|svg)$/.test(path));
  await page.goto(`${site}/clinic`, { waitUntil: 'load' });
  await page.waitForLoadState('networkidle');

  const before = await images(page);
  assert.equal(before[0].loading, 'auto', 'the first image loads eagerly');
  assert.ok(before[0].loaded, 'the first image is loaded');
  const farBelow = before.filter((img) => img.top > viewport.height + lazyMargin);
  assert.ok(farBelow.length >= 2, `the demo page has images far below the fold: ${JSON.stringify(before)}`);
  // A lazy image whose file another, visible image already fetched may be
  // drawn from the browser's memory cache at once: only images with files of
  // their own show whether lazy loading waits.
  const nearSources = new Set(before.filter((img) => !farBelow.includes(img)).map((img) => img.src));
  const ownFiles = farBelow.filter((img) => !nearSources.has(img.src));
  assert.ok(ownFiles.length >= 1, `some image far below has a file of its own: ${JSON.stringify(farBelow)}`);
  for (const img of farBelow) {
    assert.equal(img.loading, 'lazy', `${img.src} is lazy`);
  }
  for (const img of ownFiles) {
    assert.equal(img.loaded, false, `${img.src} at ${img.top}px is not loaded before scrolling`);
  }
  // Every image file fetched so far belongs to an image that is shown.
  const shownFiles = new Set(before.filter((img) => img.loaded).map((img) => img.current));
  const fetchedBefore = new Set(imageRequests());
  for (const path of fetchedBefore) {
    assert.ok(shownFiles.has(path), `${path} was fetched though no loaded image uses it`);
  }

  await page.evaluate(async () => {
    for (let y = 0; y < document.documentElement.scrollHeight; y += 400) {
      window.scrollTo(0, y);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
  await page.waitForLoadState('networkidle');
  await page.waitForFunction(() => [...document.images].every((img) => img.complete && img.naturalWidth > 0));
  const after = await images(page);
  const fetchedAfter = new Set(imageRequests());
  const newlyFetched = [...fetchedAfter].filter((path) => !fetchedBefore.has(path));
  assert.ok(newlyFetched.length > 0, 'scrolling fetched image files not fetched before');
  for (const img of after.filter((img) => img.top > viewport.height + lazyMargin)) {
    assert.ok(fetchedAfter.has(img.current), `${img.current} was fetched once scrolled to`);
  }
  await context.close();
});

test('uploaded images load as AVIF or WebP over their placeholders, the first one preloaded', async () => {
  const { context, page, problems, requested } = await openPage();
  await page.goto(`${site}/clinic`, { waitUntil: 'load' });
  await page.evaluate(async () => {
    for (let y = 0; y < document.documentElement.scrollHeight; y += 400) {
      window.scrollTo(0, y);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
  await page.waitForLoadState('networkidle');
  await page.waitForFunction(() => [...document.querySelectorAll('picture img')].every((img) => img.complete && img.naturalWidth > 0));
  const pictures = await page.$$eval('picture img', (elements) => elements.map((img) => ({
    src: img.getAttribute('src'),
    current: new URL(img.currentSrc).pathname,
    background: getComputedStyle(img).backgroundImage,
    sources: [...img.parentElement.querySelectorAll('source')].map((source) => source.type),
  })));
  const media = pictures.filter((img) => img.src.startsWith('/media/'));
  assert.ok(media.length >= 3, `the page shows the uploaded images: ${JSON.stringify(pictures)}`);
  for (const img of media) {
    assert.deepEqual(img.sources, ['image/avif', 'image/webp'], JSON.stringify(img));
    assert.match(img.current, /\.(avif|webp)$/, `${img.current} is a modern format, not the fallback ${img.src}`);
    assert.match(img.background, /^url\("data:image\/png;base64,/, `${img.src} has its placeholder behind it`);
  }
  // No fallback file was fetched at all.
  for (const img of media) {
    assert.ok(!requested.includes(img.src), `the fallback ${img.src} was fetched`);
  }
  // The home page's first image is an uploaded one: preloaded as AVIF.
  await page.goto(`${site}/`, { waitUntil: 'load' });
  const preload = await page.$eval('link[rel=preload][as=image]', (link) => ({
    type: link.getAttribute('type'), srcset: link.getAttribute('imagesrcset'),
  }));
  assert.equal(preload.type, 'image/avif');
  assert.match(preload.srcset, /\.avif \d+w/);
  const hero = await page.$eval('picture img', (img) => ({ priority: img.getAttribute('fetchpriority'), current: img.currentSrc }));
  assert.equal(hero.priority, 'high');
  assert.match(hero.current, /\.avif$/);
  assert.deepEqual(problems, []);
  await context.close();
});

async function editorToken() {
  const response = await fetch(`${api}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'editor@alpha.example', password: 'demo-password' }),
  });
  assert.equal(response.status, 200);
  return (await response.json()).access_token;
}

async function leadsOfAlpha(token) {
  const manifest = await (await fetch(`${api}/api/v1/delivery/sites/by-host/alpha.localhost`)).json();
  const response = await fetch(`${api}/api/v1/sites/${manifest.site_id}/leads?limit=100`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(response.status, 200);
  return (await response.json()).items;
}

test('the lead form submits through the renderer and the lead appears in the API', async () => {
  const { context, page, problems } = await openPage();
  await page.goto(`${site}/clinic?utm_source=browser-test&utm_campaign=spring&gclid=drop-me`, { waitUntil: 'load' });
  const email = `browser-${Date.now()}@example.com`;
  const form = page.locator('form[action="/_cms/leads"]');
  await form.getByLabel(/name/i).fill('Browser Visitor');
  await form.getByLabel(/phone/i).fill('+1 555 0100');
  await form.getByLabel(/mail/i).fill(email);
  await form.getByLabel(/comment|message/i).fill('Sent by the browser test');
  const [response] = await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    form.locator('button[type="submit"]').click(),
  ]);
  assert.equal(response.status(), 200);
  assert.match(await page.locator('main, body').first().innerText(), /thank/i);
  assert.deepEqual(problems, []);

  const token = await editorToken();
  const lead = (await leadsOfAlpha(token)).find((item) => item.fields?.email === email);
  assert.ok(lead, `a lead with ${email} is listed to the editor`);
  assert.equal(lead.fields.name, 'Browser Visitor');
  assert.equal(lead.path, '/clinic');
  assert.equal(lead.utm.utm_source, 'browser-test');
  assert.equal(lead.utm.utm_campaign, 'spring');
  assert.equal(lead.utm.gclid, undefined);
  const visitor = (await context.cookies(site)).find((cookie) => cookie.name === 'cms_vid');
  assert.ok(visitor, 'the renderer set a visitor cookie');
  assert.equal(lead.visitor_id, visitor.value);
  await context.close();
});

/** A Tuesday to Thursday at least three days ahead: every demo doctor works then. */
function workingDay() {
  const day = new Date(Date.now() + 3 * 86400000);
  while (![2, 3, 4].includes(day.getUTCDay())) day.setUTCDate(day.getUTCDate() + 1);
  return day.toISOString().slice(0, 10);
}

test('the booking widget offers free times and books one through the renderer', async () => {
  const { context, page, problems } = await openPage();
  await page.goto(`${site}/clinic`, { waitUntil: 'load' });
  const form = page.locator('form[data-booking]');
  await form.locator('select[name=doctor]').selectOption('boris-petrov');
  await form.locator('input[name=date]').fill(workingDay());
  await form.locator('input[name=date]').dispatchEvent('change');
  const slot = form.locator('input[name=start]').nth(1);
  await slot.waitFor();
  const start = await slot.inputValue();
  await slot.check();
  await form.getByLabel('Name').fill('Browser Patient');
  await form.getByLabel('Phone').fill('+7 916 700-00-01');
  const [response] = await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    form.locator('button[type="submit"]').click(),
  ]);
  assert.equal(response.status(), 200);
  assert.match(await page.locator('body').innerText(), /booked for/i);
  assert.deepEqual(problems, []);

  const token = await editorToken();
  const listed = await fetch(`${api}/api/v1/appointments?limit=200`, { headers: { authorization: `Bearer ${token}` } });
  const appointments = (await listed.json()).items;
  const booked = appointments.find((item) => Date.parse(item.starts_at) === Date.parse(start));
  assert.ok(booked, `an appointment at ${start} is listed to the editor`);
  assert.equal(booked.status, 'scheduled');

  // The booked time is no longer offered.
  await page.goto(`${site}/clinic`, { waitUntil: 'load' });
  await form.locator('select[name=doctor]').selectOption('boris-petrov');
  await form.locator('input[name=date]').fill(workingDay());
  await form.locator('input[name=date]').dispatchEvent('change');
  await form.locator('input[name=start]').first().waitFor();
  const offered = await form.locator('input[name=start]').evaluateAll((inputs) => inputs.map((i) => i.value));
  assert.ok(!offered.includes(start), `${start} is no longer offered`);
  await context.close();
});
