#!/usr/bin/env bash
# Runs the Postman collection with newman against a freshly started stack:
# a new database with demo data, the api and renderer on free ports.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_postgres
ensure_redis
ensure_node_tools

db="cms_newman_$$"
api_port=$(free_port)
renderer_port=$(free_port)
pids=()
cleanup() {
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  psql -q "$DATABASE_ADMIN_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null || true
  rm -f "$key"
}
key=$(mktemp)
trap cleanup EXIT

./target/debug/api setup --database "$db" >/dev/null
export DATABASE_URL=$(python3 -c 'import sys; from urllib.parse import urlsplit, urlunsplit; u=urlsplit(sys.argv[1]); h=u.hostname+(f":{u.port}" if u.port else ""); print(urlunsplit((u.scheme, "cms_app:cms_app@"+h, "/"+sys.argv[2], u.query, "")))' "$DATABASE_ADMIN_URL" "$db")
./target/debug/api seed >/dev/null
./target/debug/api gen-key > "$key"
export CMS_JWT_PRIVATE_KEY_FILE="$key"
export CMS_REDIS_PREFIX="newman:$$:"
export RUST_LOG=warn

CMS_API_ADDR="127.0.0.1:$api_port" ./target/debug/api serve & pids+=($!)
CMS_RENDERER_ADDR="127.0.0.1:$renderer_port" ./target/debug/renderer & pids+=($!)
wait_for "http://127.0.0.1:$api_port/healthz"
wait_for "http://127.0.0.1:$renderer_port/healthz"

node_modules/.bin/newman run postman/cms.postman_collection.json \
  -e postman/local.postman_environment.json \
  --env-var "baseUrl=http://127.0.0.1:$api_port" \
  --env-var "rendererUrl=http://127.0.0.1:$renderer_port" \
  --bail --color off
