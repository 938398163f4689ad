#!/usr/bin/env bash
# make bench-scaleout: read replicas and the fleet, side by side on this
# machine (release builds, wrk on loopback, every run bounded by DURATION):
# - delivery misses/s with 0, 1 and 2 streaming replicas (a private primary
#   and replicas made with pg_basebackup -R, on free ports);
# - a replica SIGKILLed in the middle of a run: p99 and max against the
#   steady run on the same api;
# - renderer hits through HAProxy (fleet/haproxy.cfg, 3 renderers) against
#   one renderer directly.
# Prints Markdown tables for BENCHMARKS.md. Everything shares 2 cores: the
# point is the routing overhead, not more throughput.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_redis
ensure_build_tools
ensure_fleet_tools

DURATION="${DURATION:-10}"
SCALE="${SCALE:-20}"
cargo build --release --bin api --bin renderer

bin="/usr/lib/postgresql/$(ls /usr/lib/postgresql | sort -n | tail -1)/bin"
as_postgres() { if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
work=$(mktemp -d)
chmod 755 "$work"
pids=()
pg_dirs=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for dir in "${pg_dirs[@]}"; do
    [[ -f "$dir/postmaster.pid" ]] && kill -INT "$(head -1 "$dir/postmaster.pid")" 2>/dev/null || true
  done
  sleep 1
  rm -rf "$work"
}
trap cleanup EXIT

new_dir() { mkdir -p "$1" && chmod 700 "$1" && { [[ $EUID -ne 0 ]] || chown postgres:postgres "$1"; }; }
start_postgres() { # dir port [settings...]
  local dir=$1 port=$2; shift 2
  as_postgres "$bin/postgres" -D "$dir" -p "$port" -k "$dir" -c listen_addresses=127.0.0.1 \
    -c fsync=off -c max_connections=100 "$@" >"$dir.log" 2>&1 &
  pg_dirs+=("$dir")
  until "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; do sleep 0.2; done
}

primary_port=$(free_port)
new_dir "$work/primary"
as_postgres "$bin/initdb" -A trust -U postgres -E UTF8 --no-sync -D "$work/primary" >/dev/null
start_postgres "$work/primary" "$primary_port"
export DATABASE_ADMIN_URL="postgres://postgres@127.0.0.1:$primary_port/postgres"
./target/release/api setup --database cms >/dev/null
export DATABASE_URL="postgres://cms_app:cms_app@127.0.0.1:$primary_port/cms"
export CMS_SECRETS_KEY="$(./target/release/api gen-secrets-key)"
log "seeding --scale $SCALE (30 published pages per landing) on a private primary"
./target/release/api seed --scale "$SCALE" --scale-pages 30 >/dev/null

replica_urls=()
for n in 1 2; do
  port=$(free_port)
  new_dir "$work/replica$n"
  as_postgres "$bin/pg_basebackup" -R -X stream -c fast --no-sync -h 127.0.0.1 \
    -p "$primary_port" -U postgres -D "$work/replica$n" 2>/dev/null
  start_postgres "$work/replica$n" "$port"
  replica_urls+=("postgres://cms_app:cms_app@127.0.0.1:$port/cms")
done

key="$work/jwt.pem"
./target/release/api gen-key > "$key"
export CMS_JWT_PRIVATE_KEY_FILE="$key" CMS_REDIS_PREFIX="bench:$$:" RUST_LOG=error CMS_JOBS=off
export CMS_DELIVERY_CACHE_TTL_SECS=0 CMS_SLOTS_CACHE_MS=0

declare -A api_of
for replicas in 0 1 2; do
  port=$(free_port)
  urls=$(IFS=,; echo "${replica_urls[*]:0:$replicas}")
  CMS_API_ADDR="127.0.0.1:$port" DATABASE_REPLICA_URLS="$urls" ./target/release/api serve & pids+=($!)
  api_of[$replicas]="http://127.0.0.1:$port"
  wait_for "http://127.0.0.1:$port/healthz"
  # Until every replica serves reads.
  until python3 - "http://127.0.0.1:$port/readyz" <<'PY'
import json, sys, urllib.request
ready = json.load(urllib.request.urlopen(sys.argv[1]))
sys.exit(0 if all(r["state"] == "ok" for r in ready["replicas"]) else 1)
PY
  do sleep 0.2; done
done

urls_lua="$work/urls.lua"
python3 scripts/delivery_urls.py "${api_of[0]}" "$SCALE" > "$urls_lua"
pages=$(grep -o '"/api' "$urls_lua" | wc -l)

row() { # name, wrk output
  local rps p50 p99 max non2xx errors
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$2")
  p50=$(awk '$1=="50%" {print $2}' <<<"$2")
  p99=$(awk '$1=="99%" {print $2}' <<<"$2")
  max=$(awk '$1=="Latency" {print $4; exit}' <<<"$2")
  non2xx=$(awk '/Non-2xx/ {print $4}' <<<"$2")
  errors=$(awk -F'[ ,]+' '/Socket errors/ {print $5+$7+$9+$11}' <<<"$2")
  printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$rps" "$p50" "$p99" "$max" "$((${non2xx:-0} + ${errors:-0}))"
}

echo
echo "Delivery misses ($pages published pages over $SCALE landings, each request a different page; the api's cache off):"
echo
echo "| delivery miss (wrk -t2 -c64 -d${DURATION}s, release) | req/s | p50 | p99 | max | failed |"
echo "|---|---|---|---|---|---|"
for replicas in 0 1 2; do
  row "$replicas replicas" "$(wrk -t2 -c64 -d"${DURATION}s" --latency -s "$urls_lua" "${api_of[$replicas]}")"
done
out_file="$work/failover.txt"
wrk -t2 -c64 -d"${DURATION}s" --latency -s "$urls_lua" "${api_of[2]}" > "$out_file" &
wrk_pid=$!
sleep 3
kill -KILL "$(head -1 "$work/replica1/postmaster.pid")"
wait "$wrk_pid"
row "2 replicas, replica0 SIGKILLed at 3 s" "$(cat "$out_file")"

# --- Renderer hits: through HAProxy against one renderer directly ----------
secret=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
renderer_addrs=()
for n in 1 2 3; do
  port=$(free_port)
  CMS_RENDERER_ADDR="127.0.0.1:$port" CMS_API_URL="${api_of[0]}" CMS_RENDERER_SECRET="$secret" \
    CMS_RENDERER_PUBLIC_SCHEME=http CMS_RENDERER_TRUSTED_PROXIES=127.0.0.1 \
    REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}" ./target/release/renderer & pids+=($!)
  renderer_addrs+=("127.0.0.1:$port")
  wait_for "http://127.0.0.1:$port/healthz"
done
export FLEET_WEB_BIND="127.0.0.1:$(free_port)" FLEET_API_BIND="127.0.0.1:$(free_port)" FLEET_STATS_BIND="127.0.0.1:$(free_port)" FLEET_CDN_BIND="127.0.0.1:$(free_port)"
export FLEET_RENDERER_1="${renderer_addrs[0]}" FLEET_RENDERER_2="${renderer_addrs[1]}" FLEET_RENDERER_3="${renderer_addrs[2]}"
export FLEET_API_1="${api_of[0]#http://}" FLEET_API_2="${api_of[1]#http://}"
haproxy -db -f fleet/haproxy.cfg >/dev/null 2>&1 & pids+=($!)
wait_for "http://$FLEET_WEB_BIND/healthz" || true
for target in "${renderer_addrs[@]}" "$FLEET_WEB_BIND"; do
  wrk -t2 -c64 -d3s -H "Host: scale-1.localhost" "http://$target/page-1" >/dev/null
done
echo
echo "| renderer hit, scale-1.localhost/page-1 (wrk -t2 -c64 -d${DURATION}s, release) | req/s | p50 | p99 | max | failed |"
echo "|---|---|---|---|---|---|"
row "one renderer, directly" "$(wrk -t2 -c64 -d"${DURATION}s" --latency -H "Host: scale-1.localhost" "http://${renderer_addrs[0]}/page-1")"
row "3 renderers through HAProxy" "$(wrk -t2 -c64 -d"${DURATION}s" --latency -H "Host: scale-1.localhost" "http://$FLEET_WEB_BIND/page-1")"
