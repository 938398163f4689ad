// Lighthouse's accessibility category on the admin's screens an editor
// lives in (sign-in, pages, page editor, media library, experiment results):
// each must score at least 95. Lighthouse loads each screen itself in a tab
// of a browser where an editor signed in, so the admin resumes that session
// from its refresh cookie (Lighthouse is told not to clear storage).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import lighthouse from 'lighthouse';
import { api, apiCall, apiToken, pageWithBlocks, password } from './admin_session.mjs';

let port;
const profile = mkdtempSync(join(tmpdir(), 'cms-lighthouse-'));
let context;

/** A port nothing listens on now, for Chromium's DevTools endpoint. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port: free } = server.address();
      server.close(() => resolve(free));
    });
    server.on('error', reject);
  });
}

before(async () => {
  port = await freePort();
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROME_PATH || '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1350, height: 940 },
    locale: 'en-US',
    args: [`--remote-debugging-port=${port}`, '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await context?.close();
  rmSync(profile, { recursive: true, force: true });
});

/** Lighthouse's accessibility score of `url`, and proof it audited the
 * signed-in screen: the API call `expectedCall` that only the screen makes
 * answered 200 during the run (else it may have audited the sign-in form). */
async function accessibility(url, expectedCall) {
  const result = await lighthouse(url, {
    port,
    onlyCategories: ['accessibility'],
    disableStorageReset: true,
    formFactor: 'desktop',
    screenEmulation: { mobile: false, width: 1350, height: 940, deviceScaleFactor: 1, disabled: false },
    logLevel: 'error',
  });
  if (expectedCall) {
    const answered = result.artifacts.DevtoolsLog.some(
      (entry) => entry.method === 'Network.responseReceived' && entry.params.response.url.includes(expectedCall) && entry.params.response.status === 200,
    );
    assert.ok(answered, `${url}: the screen's ${expectedCall} call never answered 200`);
  }
  const category = result.lhr.categories.accessibility;
  const failed = category.auditRefs
    .filter((ref) => ref.weight > 0 && result.lhr.audits[ref.id].score === 0)
    .map((ref) => ref.id);
  return { score: Math.round(category.score * 100), failed };
}

test('Lighthouse accessibility is at least 95 on the sign-in, pages, editor, media and results screens', async (t) => {
  const bearer = await apiToken('editor@alpha.example');
  const { site, page: pageId } = await pageWithBlocks(bearer, '/lighthouse-admin', [
    { module: 'hero', props: { title: 'Audited' } },
    { module: 'cta', props: { title: 'Call', button: { label: 'Go', href: '/go' } } },
  ]);
  const experiment = await apiCall(bearer, 'POST', `/api/v1/pages/${pageId}/experiments`, {
    name: 'Audited test',
    goal: 'lead_submitted',
    variants: [{ key: 'a', weight: 50 }, { key: 'b', weight: 50, blocks: [{ module: 'hero', props: { title: 'B' } }] }],
  });
  assert.equal(experiment.status, 201, JSON.stringify(experiment.body));

  const scores = {};
  scores['sign-in'] = await accessibility(`${api}/admin/`);

  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(`${api}/admin/`);
  await page.getByLabel('Email').fill('editor@alpha.example');
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Sites' }).waitFor();
  await page.close();

  scores.pages = await accessibility(`${api}/admin/sites/${site}/pages`, `/api/v1/sites/${site}/pages?`);
  scores.editor = await accessibility(`${api}/admin/sites/${site}/pages/${pageId}`, `/api/v1/pages/${pageId}/blocks`);
  scores.media = await accessibility(`${api}/admin/media`, '/api/v1/media?');
  scores.results = await accessibility(`${api}/admin/experiments/${experiment.body.id}`, `/api/v1/experiments/${experiment.body.id}/results`);
  t.diagnostic(`Lighthouse accessibility: ${Object.entries(scores).map(([name, { score }]) => `${name} ${score}`).join(', ')}`);
  console.log(`BENCH admin_lighthouse_accessibility=${JSON.stringify(Object.fromEntries(Object.entries(scores).map(([k, v]) => [k, v.score])))}`);
  for (const [screen, { score, failed }] of Object.entries(scores)) {
    assert.ok(score >= 95, `${screen}: ${score} (failed: ${failed.join(', ')})`);
  }
});
