#!/usr/bin/env bash
# The typed client check (tests/clients): generates TypeScript types from
# openapi/openapi.json (openapi-typescript), type-checks the client program
# (tsc --noEmit, strict: an untyped body it reads fails here), then runs it
# with node against the api at $CMS_TEST_API. Without CMS_TEST_API it starts
# a fresh stack of its own (the debug binaries `make build` made).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_node_tools

dir=tests/clients
rm -rf "$dir/generated"
mkdir -p "$dir/generated"
log "generating $dir/generated/api.d.ts from openapi/openapi.json"
node_modules/.bin/openapi-typescript openapi/openapi.json -o "$dir/generated/api.d.ts" >/dev/null
log "type-checking $dir (tsc --noEmit)"
node_modules/.bin/tsc --noEmit -p "$dir"
# Emitted inside the repo so node finds openapi-fetch in node_modules.
node_modules/.bin/tsc -p "$dir" --noEmit false --outDir "$dir/generated/js"

if [[ -z "${CMS_TEST_API:-}" ]]; then
  ensure_postgres
  ensure_redis
  trap stop_stack EXIT
  start_stack clients
  CMS_TEST_API="$STACK_API"
fi
log "running the typed client against $CMS_TEST_API"
CMS_TEST_API="$CMS_TEST_API" node "$dir/generated/js/main.mjs"
