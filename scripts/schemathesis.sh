#!/usr/bin/env bash
# Schemathesis (pinned in tests/requirements.txt) against a fresh stack with
# demo data: every operation of the committed spec, query and path
# parameters included, first anonymously, then as a tenant's owner. The one
# check is `not_a_server_error`: no input may make the api answer 5xx. Each
# pass is bounded in time (SCHEMATHESIS_SECONDS, default 60). Exits non-zero
# on any server error. One worker: with two, Hypothesis parses lambdas' source
# in threads and CPython 3.11's parser fails now and then ("AST constructor
# recursion depth mismatch"), an error of the tool, not of the api.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_postgres
ensure_redis
ensure_python_tools

trap stop_stack EXIT
start_stack schemathesis

token=$(curl -fsS "$STACK_API/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"email":"admin@example.com","password":"demo-password","tenant":"alpha"}' \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')

seconds="${SCHEMATHESIS_SECONDS:-60}"
run() {
  .venv/bin/schemathesis --config-file tests/schemathesis.toml run openapi/openapi.json --url "$STACK_API" \
    --checks not_a_server_error --phases examples,coverage,fuzzing \
    --max-time "$seconds" --workers 1 --request-timeout 10 \
    --suppress-health-check all --max-redirects 0 "$@"
}
log "schemathesis: anonymous, ${seconds}s"
run
log "schemathesis: as the owner of alpha, ${seconds}s"
run -H "Authorization: Bearer $token"
