#!/usr/bin/env bash
# The browser test: headless Chromium (Debian's package) against a freshly
# started stack with demo data (tests/browser/*.test.mjs, node's test runner).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_postgres
ensure_redis
ensure_node_tools
ensure_chromium

trap stop_stack EXIT
start_stack browser

CMS_TEST_API="$STACK_API" CMS_TEST_RENDERER="$STACK_RENDERER" \
  node --test --test-reporter=spec tests/browser/
