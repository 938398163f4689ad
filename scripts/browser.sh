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

# The admin app origin of the CORS test (tests/browser/cors.test.mjs): the api
# reads CMS_ADMIN_ORIGINS at start, so the port is chosen before the stack.
admin_origin_port=$(free_port)
export CMS_ADMIN_ORIGINS="${CMS_ADMIN_ORIGINS:+$CMS_ADMIN_ORIGINS,}http://127.0.0.1:$admin_origin_port"

trap stop_stack EXIT
start_stack browser

CMS_TEST_API="$STACK_API" CMS_TEST_RENDERER="$STACK_RENDERER" \
  CMS_TEST_ADMIN_ORIGIN_PORT="$admin_origin_port" \
  node --test --test-reporter=spec tests/browser/
