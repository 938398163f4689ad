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
cargo build --release --bin api --example static_bytes

db="cms_bench_$$"
port=$(free_port)
key=$(mktemp)
pid=""
pids=()
cleanup() {
  [[ -n "$pid" ]] && { kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  psql -q "$DATABASE_ADMIN_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null || true
  rm -f "$key"
}
trap cleanup EXIT
./target/release/api setup --database "$db" >/dev/null
export DATABASE_URL=$(python3 -c 'import sys; from urllib.parse import urlsplit, urlunsplit; u=urlsplit(sys.argv[1]); h=u.hostname+(f":{u.port}" if u.port else ""); print(urlunsplit((u.scheme, "cms_app:cms_app@"+h, "/"+sys.argv[2], u.query, "")))' "$DATABASE_ADMIN_URL" "$db")
SCALE="${SCALE:-100}"
log "seeding --scale $SCALE (30 published pages per landing)"
./target/release/api seed --scale "$SCALE" --scale-pages 30 >/dev/null
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

# --- Delivery: cache hit, cache miss, and the in-memory baseline -------------
miss_port=$(free_port); static_port=$(free_port); redis_only_port=$(free_port)
CMS_API_ADDR="127.0.0.1:$miss_port" CMS_DELIVERY_CACHE_TTL_SECS=0 CMS_SCHEDULER_INTERVAL_MS=0 ./target/release/api serve & pids+=($!)
CMS_API_ADDR="127.0.0.1:$redis_only_port" CMS_DELIVERY_NEAR_CACHE_ENTRIES=0 CMS_SCHEDULER_INTERVAL_MS=0 ./target/release/api serve & pids+=($!)
wait_for "http://127.0.0.1:$miss_port/healthz"
wait_for "http://127.0.0.1:$redis_only_port/healthz"
urls_lua=$(mktemp --suffix=.lua)
python3 - "$base" "$SCALE" > "$urls_lua" <<'PY'
import json, sys, urllib.request
base, scale = sys.argv[1], int(sys.argv[2])
paths = []
for i in range(1, scale + 1):
    with urllib.request.urlopen(f"{base}/api/v1/delivery/sites/by-host/scale-{i}.localhost") as r:
        site = json.load(r)["site_id"]
    paths += [f"/api/v1/delivery/sites/{site}/pages?path={p}&locale=en" for p in ["/"] + [f"/page-{n}" for n in range(1, 30)]]
print("local paths = {" + ",".join(json.dumps(p) for p in paths) + "}")
print("local i = 0")
print("request = function() i = i % #paths + 1; return wrk.format('GET', paths[i]) end")
PY
sample_body=$(mktemp)
first_path=$(python3 -c 'import re,sys; print(re.search(r"\{\"([^\"]+)\"", open(sys.argv[1]).read()).group(1))' "$urls_lua")
curl -fsS "$base$first_path" -o "$sample_body"
./target/release/examples/static_bytes "$sample_body" "127.0.0.1:$static_port" & pids+=($!)
wait_for "http://127.0.0.1:$static_port/"
pages=$(grep -o '"/api' "$urls_lua" | wc -l)

log "warming the delivery cache over $pages pages"
wrk -t2 -c64 -d5s -s "$urls_lua" "$base" >/dev/null
echo
echo "Delivery ($pages published pages over $SCALE landings, each request a different page in turn; body $(wc -c < "$sample_body") bytes):"
echo
echo "| delivery page GET (wrk -t2 -c64 -d${DURATION}s, release) | req/s | p50 | p99 | non-2xx |"
echo "|---|---|---|---|---|"
CONNECTIONS=64 run "in-memory actix-web handler, same bytes (baseline)" "http://127.0.0.1:$static_port$first_path"
CONNECTIONS=64 run "cache hit (near cache in memory, kept coherent by cms:invalidate)" -s "$urls_lua" "$base"
CONNECTIONS=64 run "cache hit (Redis MGET; near cache off)" -s "$urls_lua" "http://127.0.0.1:$redis_only_port"
CONNECTIONS=64 run "cache miss (cache off: one routing_live_page statement)" -s "$urls_lua" "http://127.0.0.1:$miss_port"

# --- Cloning a 30-page landing ----------------------------------------------
source_site=$(curl -fsS "$base/api/v1/delivery/sites/by-host/scale-1.localhost" | python3 -c 'import sys,json; print(json.load(sys.stdin)["site_id"])')
clone_host="bench-clone-$$.localhost"
started=$(date +%s.%N)
./target/release/api clone-site --site "$source_site" --name "Bench clone" --domain "$clone_host" >/dev/null
finished=$(date +%s.%N)
echo
printf '| clone a 30-page landing (`api clone-site`, whole process incl. start-up) | %s ms |\n' \
  "$(python3 -c 'import sys; print(round((float(sys.argv[2]) - float(sys.argv[1])) * 1000))' "$started" "$finished")"
rm -f "$urls_lua" "$sample_body"
