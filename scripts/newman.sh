#!/usr/bin/env bash
# Runs the Postman collection with newman against a freshly started stack:
# a new database with demo data, the api and renderer on free ports.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_postgres
ensure_redis
ensure_node_tools

trap stop_stack EXIT
start_stack newman

node_modules/.bin/newman run postman/cms.postman_collection.json \
  -e postman/local.postman_environment.json \
  --env-var "baseUrl=$STACK_API" \
  --env-var "rendererUrl=$STACK_RENDERER" \
  --bail --color off

# The typed client (tests/clients) against the same stack.
CMS_TEST_API="$STACK_API" scripts/clients.sh
