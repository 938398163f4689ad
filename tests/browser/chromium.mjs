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
