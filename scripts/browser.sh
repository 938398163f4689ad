#!/usr/bin/env bash
# The browser test: headless Chromium (Debian's package) against a freshly
# started stack with demo data (tests/browser/*.test.mjs, node's test runner).
# Arguments, when given, choose test files: scripts/browser.sh tests/browser/media.test.mjs
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

# Every browser test signs in through the admin or the API from 127.0.0.1:
# more logins than the per-address limit allows in its window (the limits
# themselves are tested in tests/tests/tokens.rs and the auth tests).
export CMS_LOGIN_LIMIT_PER_IP="${CMS_LOGIN_LIMIT_PER_IP:-1000}"
export CMS_LOGIN_LIMIT_PER_ACCOUNT="${CMS_LOGIN_LIMIT_PER_ACCOUNT:-1000}"

trap stop_stack EXIT
start_stack browser

CMS_TEST_API="$STACK_API" CMS_TEST_RENDERER="$STACK_RENDERER" \
  CMS_TEST_ADMIN_ORIGIN_PORT="$admin_origin_port" \
  node --test --test-reporter=spec "${@:-tests/browser/}"
