// Debian's headless Chromium for the browser tests (not a test file itself).
import { chromium } from 'playwright-core';

/** Launches Chromium. The machine has no internet: without these flags
 * Chromium keeps trying to reach Google's services and logs the failures. */
export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROME_PATH || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Collects what went wrong on `page`: console errors, script errors,
 * failed requests and error statuses (`skipFailed(url)` exempts requests
 * the page cancels on purpose, such as a reloaded preview frame). */
export function watchProblems(page, { skipFailed = () => false } = {}) {
  const problems = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => {
    if (!skipFailed(request.url())) problems.push(`failed: ${request.url()} ${request.failure()?.errorText}`);
  });
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`);
  });
  return problems;
}
