// The built admin's weight: the JavaScript index.html loads before the first
// screen (its module script and what it preloads; the editor and results
// screens are chunks loaded when opened) must stay under 250 KB gzip.
// Sizes are bytes, not timings, so this is a test; BENCHMARKS.md reports them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const dist = new URL('../../api/admin/dist/', import.meta.url);
const gzipped = (name) => gzipSync(readFileSync(new URL(name, dist)), { level: 9 }).length;

test('the admin\'s initial JavaScript is under 250 KB gzip', (t) => {
  const index = readFileSync(new URL('index.html', dist), 'utf8');
  const initial = [...index.matchAll(/<(?:script[^>]+src|link[^>]+rel="modulepreload"[^>]+href)="\/admin\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]);
  assert.ok(initial.length > 0, 'index.html loads a script');
  const initialBytes = initial.reduce((sum, name) => sum + gzipped(name), 0);
  const lazy = readdirSync(new URL('assets/', dist))
    .filter((name) => name.endsWith('.js') && !initial.includes(`assets/${name}`))
    .map((name) => `${name} ${(gzipped(`assets/${name}`) / 1024).toFixed(1)} KB`);
  t.diagnostic(`initial JavaScript ${(initialBytes / 1024).toFixed(1)} KB gzip (${initial.join(', ')}); loaded when opened: ${lazy.join(', ')}`);
  console.log(`BENCH admin_initial_js_gzip_kb=${(initialBytes / 1024).toFixed(1)}`);
  assert.ok(initialBytes < 250 * 1024, `${initialBytes} bytes`);
});
