#!/usr/bin/env bash
# make bench: release build of the api against a fresh database with demo data,
# loaded with wrk from a second process on loopback. Prints a Markdown table for
# BENCHMARKS.md. Bounded: each run lasts DURATION seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_postgres
ensure_redis
command -v wrk >/dev/null || { log "installing wrk (apt-get)"; apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-32}"
cargo build --release --bin api

db="cms_bench_$$"
port=$(free_port)
key=$(mktemp)
pid=""
cleanup() {
  [[ -n "$pid" ]] && { kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
  psql -q "$DATABASE_ADMIN_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null || true
  rm -f "$key"
}
trap cleanup EXIT
./target/release/api setup --database "$db" >/dev/null
export DATABASE_URL=$(python3 -c 'import sys; from urllib.parse import urlsplit, urlunsplit; u=urlsplit(sys.argv[1]); h=u.hostname+(f":{u.port}" if u.port else ""); print(urlunsplit((u.scheme, "cms_app:cms_app@"+h, "/"+sys.argv[2], u.query, "")))' "$DATABASE_ADMIN_URL" "$db")
./target/release/api seed >/dev/null
./target/release/api gen-key > "$key"
export CMS_JWT_PRIVATE_KEY_FILE="$key" CMS_REDIS_PREFIX="bench:$$:" RUST_LOG=error CMS_API_ADDR="127.0.0.1:$port"
export CMS_LOGIN_LIMIT_PER_IP=1000000 CMS_LOGIN_LIMIT_PER_ACCOUNT=1000000
./target/release/api serve & pid=$!
base="http://127.0.0.1:$port"
wait_for "$base/healthz"

token=$(curl -fsS "$base/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"email":"editor@alpha.example","password":"demo-password"}' | python3 -c 'import sys,json; print(json.load(sys.stdin)["access_token"])')
site=$(curl -fsS "$base/api/v1/sites" -H "authorization: Bearer $token" | python3 -c 'import sys,json; print(json.load(sys.stdin)["items"][0]["id"])')

login_lua=$(mktemp --suffix=.lua)
cat > "$login_lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"email":"editor@alpha.example","password":"demo-password"}'
LUA

run() { # name, extra wrk args...
  local name=$1; shift
  local out
  out=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@")
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  local non2xx
  non2xx=$(awk '/Non-2xx/ {print $4}' <<<"$out")
  printf '| %s | %s | %s | %s | %s |\n' "$name" "$rps" "$p50" "$p99" "${non2xx:-0}"
}

echo
echo "| endpoint (wrk -t2 -c$CONNECTIONS -d${DURATION}s, release) | req/s | p50 | p99 | non-2xx |"
echo "|---|---|---|---|---|"
run "GET /healthz" "$base/healthz"
run "GET /api/v1/sites (JWT + RLS transaction)" -H "Authorization: Bearer $token" "$base/api/v1/sites"
run "GET /api/v1/sites/{id} (JWT + RLS transaction)" -H "Authorization: Bearer $token" "$base/api/v1/sites/$site"
CONNECTIONS=4 run "POST /api/v1/auth/login (argon2id, 4 connections)" -s "$login_lua" "$base/api/v1/auth/login"
rm -f "$login_lua"
