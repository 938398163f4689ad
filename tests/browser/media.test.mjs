// The admin's media library in headless Chromium: images dropped onto the
// page upload with progress, alt text and the focal point (a click on the
// image) are saved, the filters are the API's, and deleting an image a live
// page shows is refused with its users listed.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { launchChromium, watchProblems } from './chromium.mjs';

const api = process.env.CMS_TEST_API;
const password = 'demo-password';
// Not one of the images the seed uploads.
const dropped = readFileSync(new URL('../../renderer/assets/demo/clinic-480.webp', import.meta.url)).toString('base64');
let browser;

before(async () => {
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
});

test('images dropped on the library upload with progress and get alt text and a focal point', async () => {
  const context = await browser.newContext({ viewport: { width: 1500, height: 1000 }, locale: 'en-US' });
  const page = await context.newPage();
  const problems = watchProblems(page);
  await page.goto(`${api}/admin/`);
  await page.getByLabel('Email').fill('editor@alpha.example');
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('link', { name: 'Media' }).click();
  await page.getByRole('heading', { name: 'Media library' }).waitFor();
  await page.locator('.media-grid li').first().waitFor();
  const before = await page.locator('.media-grid li').count();

  // A real drop event carrying a file, as a browser makes one.
  await page.evaluate((base64) => {
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes], 'dropped-clinic.webp', { type: 'image/webp' }));
    const zone = document.querySelector('.dropzone');
    zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    zone.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }, dropped);
  await page.locator('.sending li', { hasText: 'dropped-clinic.webp' }).locator('progress').waitFor();
  await page.waitForFunction((n) => document.querySelectorAll('.media-grid li').length === n + 1, before);
  assert.equal(await page.locator('.sending progress').evaluate((bar) => bar.value), 1);

  await page.locator('.media-pick', { hasText: 'dropped-clinic.webp' }).click();
  const detail = page.locator('.media-detail');
  await detail.getByLabel('Alt text', { exact: true }).fill('A clinic, dropped in');
  await detail.getByLabel('Tags (comma-separated)').fill('dropped, clinic');
  await detail.getByRole('button', { name: 'Save' }).click();
  await page.locator('.media-pick', { hasText: 'A clinic, dropped in' }).waitFor();

  // The focal point follows a click on the image (once renditions exist).
  const image = detail.locator('.focal img');
  await image.waitFor({ timeout: 30_000 });
  const box = await image.boundingBox();
  await page.mouse.click(box.x + box.width * 0.25, box.y + box.height * 0.75);
  await detail.getByText(/focal point 0\.2[45], 0\.7[45]/).waitFor();

  // Filters are the API's: text and tag.
  await page.getByLabel('Name, alt or title').fill('dropped in');
  await page.waitForFunction(() => document.querySelectorAll('.media-grid li').length === 1);
  await page.getByLabel('Name, alt or title').fill('');
  await page.getByLabel('Tag', { exact: true }).fill('dropped');
  await page.waitForFunction(() => document.querySelectorAll('.media-grid li').length === 1);
  assert.deepEqual(problems, []);
  await context.close();
});

test('an image a live page shows is not deleted: the refusal lists what uses it', async () => {
  const context = await browser.newContext({ viewport: { width: 1500, height: 1000 }, locale: 'en-US' });
  const page = await context.newPage();
  const problems = watchProblems(page);
  await page.goto(`${api}/admin/media`);
  await page.getByLabel('Email').fill('editor@alpha.example');
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByLabel('Unused only').waitFor();
  await page.locator('.media-grid li').first().waitFor();
  // A seeded image: the demo landing shows it.
  await page.locator('.media-pick', { hasText: 'Our reception' }).first().click();
  const detail = page.locator('.media-detail');
  await detail.locator('.usage li').first().waitFor();
  assert.match(await detail.locator('.usage').textContent(), /Live page|Draft block|Doctor/);
  await detail.getByRole('button', { name: 'Delete' }).click();
  await detail.getByText('This media is in use, so it was not deleted:').waitFor();
  assert.ok((await detail.locator('.problem li').count()) >= 1);
  // An editor may not force it.
  assert.equal(await detail.getByRole('button', { name: /Delete anyway/ }).count(), 0);
  assert.deepEqual(problems.filter((p) => !/\b409\b/.test(p)), []);
  await context.close();
});
