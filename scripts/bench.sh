#!/usr/bin/env bash
# make bench: release build of the api against a fresh database with demo data,
# loaded with wrk from a second process on loopback. Prints a Markdown table for
# BENCHMARKS.md. Bounded: each run lasts DURATION seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_postgres
ensure_redis
ensure_build_tools
command -v wrk >/dev/null || { log "installing wrk (apt-get)"; apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-32}"
cargo build --release --bin api --bin renderer --example static_bytes

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
export CMS_SECRETS_KEY="${CMS_SECRETS_KEY:-$(./target/release/api gen-secrets-key)}"
./target/release/api seed --scale "$SCALE" --scale-pages 30 >/dev/null
./target/release/api gen-key > "$key"
export CMS_JWT_PRIVATE_KEY_FILE="$key" CMS_REDIS_PREFIX="bench:$$:" RUST_LOG=error CMS_API_ADDR="127.0.0.1:$port"
export CMS_LOGIN_LIMIT_PER_IP=1000000 CMS_LOGIN_LIMIT_PER_ACCOUNT=1000000 CMS_BOOKING_LIMIT_PER_IP=1000000000
# wrk on loopback stands in for renderer nodes: exempt from the per-address
# event limit as they would be (visitors stay limited, and are all distinct).
export CMS_EVENTS_TRUSTED_SOURCES=127.0.0.1
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
read -r rss_before rss_after rss_logins rss_ok < <(python3 scripts/login_rss.py "$base" "$pid" 500 16)
echo
echo "- api RSS around a burst of $rss_logins logins (16 at a time, $rss_ok answered 200): $rss_before MB before, $rss_after MB after"

# --- Delivery: cache hit, cache miss, and the in-memory baseline -------------
miss_port=$(free_port); static_port=$(free_port); redis_only_port=$(free_port)
CMS_API_ADDR="127.0.0.1:$miss_port" CMS_DELIVERY_CACHE_TTL_SECS=0 CMS_SLOTS_CACHE_MS=0 CMS_JOBS=off ./target/release/api serve & pids+=($!)
CMS_API_ADDR="127.0.0.1:$redis_only_port" CMS_DELIVERY_NEAR_CACHE_ENTRIES=0 CMS_JOBS=off ./target/release/api serve & pids+=($!)
wait_for "http://127.0.0.1:$miss_port/healthz"
wait_for "http://127.0.0.1:$redis_only_port/healthz"
urls_lua=$(mktemp --suffix=.lua)
python3 scripts/delivery_urls.py "$base" "$SCALE" > "$urls_lua"
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

# --- Renderer: cache hit, cache miss, hit rate on a Zipf mix, RSS -------------
# Requests for the renderer name the landing by Host, like real visitors.
renderer_port=$(free_port); renderer_miss_port=$(free_port); html_static_port=$(free_port)
export CMS_RENDERER_SECRET="bench-secret-0123456789abcdef0123456789"
export CMS_RENDERER_PUBLIC_SCHEME=http CMS_API_URL="$base"
CMS_RENDERER_ADDR="127.0.0.1:$renderer_port" ./target/release/renderer & renderer_pid=$!; pids+=($renderer_pid)
# The miss renderer keeps no pages: every request fetches its page from the
# api (whose own cache answers) and renders it. Like every renderer it holds
# the site manifests (host -> site routing, one per host).
CMS_RENDERER_ADDR="127.0.0.1:$renderer_miss_port" CMS_RENDERER_CACHE_ENTRIES=0 REDIS_URL= \
  ./target/release/renderer & renderer_miss_pid=$!; pids+=($renderer_miss_pid)
wait_for "http://127.0.0.1:$renderer_port/healthz"
wait_for "http://127.0.0.1:$renderer_miss_port/healthz"

mix_lua=$(mktemp --suffix=.lua); round_lua=$(mktemp --suffix=.lua)
python3 scripts/bench_mix.py --scale "$SCALE" --pages 30 --zipf "$mix_lua" --round-robin "$round_lua"
html_body=$(mktemp)
curl -fsS -H "Host: scale-1.localhost" "http://127.0.0.1:$renderer_port/page-1?utm_source=google" -o "$html_body"
./target/release/examples/static_bytes "$html_body" "127.0.0.1:$html_static_port" "text/html; charset=utf-8" & pids+=($!)
wait_for "http://127.0.0.1:$html_static_port/"

# hit rate = (memory + redis hits) / lookups, from the renderer's /metrics
cache_counts() {
  curl -fsS "http://127.0.0.1:$1/metrics" | awk '
    /^renderer_cache_requests_total/ { split($1, a, "\""); doc[a[2]] = $2 }
    /^renderer_shell_requests_total/ { split($1, a, "\""); shell[a[2]] = $2 }
    END { printf "%d %d %d %d %d %d\n", doc["hit"], doc["hit-redis"], doc["miss"], doc["stale"], shell["hit"], shell["miss"] }'
}
hit_rate() { # before-counts after-counts -> "documents X% (n lookups), shells Y% (m renders)"
  python3 - "$1" "$2" <<'PY2'
import sys
b = [int(x) for x in sys.argv[1].split()]; a = [int(x) for x in sys.argv[2].split()]
d = [x - y for x, y in zip(a, b)]
lookups = d[0] + d[1] + d[2] + d[3]
shells = d[4] + d[5]
print(f"documents {100 * (d[0] + d[1]) / max(lookups, 1):.2f}% of {lookups} lookups; "
      f"shells {100 * d[4] / max(shells, 1):.2f}% of {shells} pages ({d[5]} rendered)")
PY2
}

echo
echo "Renderer ($pages pages over $SCALE landings; Zipf mix: $(python3 scripts/bench_mix.py --describe); page body $(wc -c < "$html_body") bytes):"
echo
echo "| renderer page GET (wrk -t2 -c64 -d${DURATION}s, release) | req/s | p50 | p99 | non-2xx |"
echo "|---|---|---|---|---|"
CONNECTIONS=64 run "in-memory actix-web handler, same HTML bytes (baseline)" "http://127.0.0.1:$html_static_port/"
cold=$(cache_counts "$renderer_port")
CONNECTIONS=64 run "renderer, Zipf mix from a cold start (first run)" -s "$mix_lua" "http://127.0.0.1:$renderer_port"
warm=$(cache_counts "$renderer_port")
CONNECTIONS=64 run "renderer cache hit, Zipf mix (second run)" -s "$mix_lua" "http://127.0.0.1:$renderer_port"
after=$(cache_counts "$renderer_port")
miss_before=$(cache_counts "$renderer_miss_port")
CONNECTIONS=64 run "renderer cache miss (api fetch of the page + render; manifest held), every page in turn" -s "$round_lua" "http://127.0.0.1:$renderer_miss_port"
miss_after=$(cache_counts "$renderer_miss_port")
echo
echo "- hit rate, first run from a cold start: $(hit_rate "$cold" "$warm")"
echo "- hit rate, second run: $(hit_rate "$warm" "$after")"
echo "- miss renderer (cache off): $(hit_rate "$miss_before" "$miss_after")"
echo "- exposures the cache renderer sent to the api: $(curl -fsS "http://127.0.0.1:$renderer_port/metrics" | awk '/^renderer_exposures_total/ { split($1, a, "\""); printf "%s %s; ", a[2], $2 }')"
echo "- renderer RSS after the runs: $(awk '/VmRSS/ {printf "%.1f MB", $2 / 1024}' /proc/$renderer_pid/status) (cache renderer), $(awk '/VmRSS/ {printf "%.1f MB", $2 / 1024}' /proc/$renderer_miss_pid/status) (miss renderer)"
rm -f "$mix_lua" "$mix_lua.tsv" "$round_lua" "$round_lua.tsv" "$html_body"

# --- Clinic: available slots over 31 days, booking under contention --------
alpha_site=$(curl -fsS "$base/api/v1/delivery/sites/by-host/alpha.localhost" | python3 -c 'import sys,json; print(json.load(sys.stdin)["site_id"])')
from_day=$(date -u -d "+1 day" +%F); to_day=$(date -u -d "+31 days" +%F)
slots_url="$base/api/v1/delivery/sites/$alpha_site/available-slots?doctor=anna-ivanova&service=consultation&from=$from_day&to=$to_day"
slot_count=$(curl -fsS "$slots_url" | python3 -c 'import sys,json; print(len(json.load(sys.stdin)["items"]))')
booking_lua=$(mktemp --suffix=.lua)
# Every free consultation slot of every demo doctor in the next 31 days;
# requests pick them at random, so many ask for a slot already taken.
python3 - "$base" "$alpha_site" "$from_day" "$to_day" > "$booking_lua" <<'PY2'
import json, sys, urllib.request
base, site, start, end = sys.argv[1:5]
with urllib.request.urlopen(f"{base}/api/v1/delivery/sites/{site}/doctors?limit=200") as r:
    doctors = [d["slug"] for d in json.load(r)["items"]]
bodies = []
for doctor in doctors:
    url = f"{base}/api/v1/delivery/sites/{site}/available-slots?doctor={doctor}&service=consultation&from={start}&to={end}"
    with urllib.request.urlopen(url) as r:
        for slot in json.load(r)["items"]:
            bodies.append(json.dumps({"doctor": doctor, "service": "consultation", "start": slot["start"],
                                      "name": "Bench Patient", "phone": "+79160000000"}))
print("local bodies = {" + ",".join(json.dumps(b) for b in bodies) + "}")
print("wrk.method = 'POST'")
print("wrk.headers['Content-Type'] = 'application/json'")
print("function init(args) math.randomseed(os.time() + math.floor(os.clock() * 1e6)) end")
print("request = function() return wrk.format(nil, nil, nil, bodies[math.random(#bodies)]) end")
PY2
open_slots=$(grep -o '\\"start\\"' "$booking_lua" | wc -l)
echo
echo "Clinic (demo tenant alpha: 10 doctors, Mon-Fri 09-13 and 14-18 plus Saturday mornings; consultation 30 min):"
echo
echo "| clinic endpoint (wrk -t2 -c64 -d${DURATION}s, release) | req/s | p50 | p99 | non-2xx |"
echo "|---|---|---|---|---|"
CONNECTIONS=64 run "GET available-slots, one doctor, 31 days ($slot_count slots; answers reused up to 2 s)" "$slots_url"
CONNECTIONS=64 run "GET available-slots, same, computed every time (CMS_SLOTS_CACHE_MS=0)" "${slots_url/$base/http://127.0.0.1:$miss_port}"
booking_out=$(wrk -t2 -c64 -d"${DURATION}s" --latency -s "$booking_lua" "$base/api/v1/delivery/sites/$alpha_site/appointments")
python3 - "$booking_out" "$DURATION" "$open_slots" <<'PY2'
import re, sys
out, duration, slots = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
total = int(re.search(r"(\d+) requests in", out).group(1))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
conflicts = int(non2xx.group(1)) if non2xx else 0
p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)
p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)
booked = total - conflicts
print(f"| POST appointments, random picks among {slots} free slots of 10 doctors | {total / duration:.2f} | {p50} | {p99} | {conflicts} |")
print()
print(f"- bookings under contention: {booked / duration:.1f} successful bookings/s ({booked} in {duration:.0f} s, "
      f"{100 * booked / max(slots, 1):.0f}% of the free slots), {conflicts / duration:.1f} conflicts/s (409 with the nearest free slots)")
PY2
booked_rows=$(psql -tA "$DATABASE_ADMIN_URL" -c "SELECT 1" >/dev/null && psql -tA "$(python3 -c 'import sys; from urllib.parse import urlsplit, urlunsplit; u=urlsplit(sys.argv[1]); print(urlunsplit((u.scheme, u.netloc, "/"+sys.argv[2], u.query, "")))' "$DATABASE_ADMIN_URL" "$db")" -c "SELECT count(*) FROM (SELECT doctor_id, starts_at FROM appointments WHERE status <> 'cancelled' GROUP BY 1, 2 HAVING count(*) > 1) AS doubled")
echo "- double bookings in the table afterwards: $booked_rows"
rm -f "$booking_lua"

# --- Experiment event ingestion -----------------------------------------------
home_id=$(curl -fsS "$base/api/v1/sites/$site/pages?path_prefix=/" -H "authorization: Bearer $token" \
  | python3 -c 'import sys,json; print([p["id"] for p in json.load(sys.stdin)["items"] if p["path"] == "/"][0])')
experiment_id=$(curl -fsS "$base/api/v1/pages/$home_id/experiments" -H "authorization: Bearer $token" \
  | python3 -c 'import sys,json; print(json.load(sys.stdin)["items"][0]["id"])')
events_lua=$(mktemp --suffix=.lua)
cat > "$events_lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local experiment = "$experiment_id"
local n = 0
local prefix = ""
function init(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
  prefix = string.format("%08x%04x", math.random(0, 0x7fffffff), math.random(0, 0xffff))
end
-- 50 events of 50 new visitors: 4 exposures for each conversion.
function request()
  local events = {}
  for i = 1, 50 do
    n = n + 1
    local variant = (n % 2 == 0) and "a" or "b"
    local kind = (n % 5 == 0) and "conversion" or "exposure"
    events[i] = '{"experiment":"' .. experiment .. '","variant":"' .. variant .. '","visitor":"' .. prefix .. '-' .. n .. '","kind":"' .. kind .. '"}'
  end
  return wrk.format(nil, nil, nil, '{"events":[' .. table.concat(events, ",") .. ']}')
end
LUA
events_before=$(psql -tA "$(python3 -c 'import sys; from urllib.parse import urlsplit, urlunsplit; u=urlsplit(sys.argv[1]); print(urlunsplit((u.scheme, u.netloc, "/"+sys.argv[2], u.query, "")))' "$DATABASE_ADMIN_URL" "$db")" -c "SELECT count(*) FROM experiment_events")
echo
echo "Experiment events (POST /api/v1/delivery/events, batches of 50 new visitors' events, each stored in PostgreSQL before the 202):"
echo
echo "| events endpoint (wrk -t2 -d${DURATION}s, release) | batches/s | p50 | p99 | non-2xx |"
echo "|---|---|---|---|---|"
for c in 2 4 16; do
  out=$(wrk -t2 -c"$c" -d"${DURATION}s" --latency -s "$events_lua" "$base/api/v1/delivery/events")
  python3 - "$out" "$DURATION" "$c" <<'PY2'
import re, sys
out, duration, c = sys.argv[1], float(sys.argv[2]), sys.argv[3]
total = int(re.search(r"(\d+) requests in", out).group(1))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)
p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)
print(f"| {c} connections: {total * 50 / duration:,.0f} events/s | {total / duration:.1f} | {p50} | {p99} | {non2xx.group(1) if non2xx else 0} |")
PY2
done
events_after=$(psql -tA "$(python3 -c 'import sys; from urllib.parse import urlsplit, urlunsplit; u=urlsplit(sys.argv[1]); print(urlunsplit((u.scheme, u.netloc, "/"+sys.argv[2], u.query, "")))' "$DATABASE_ADMIN_URL" "$db")" -c "SELECT count(*) FROM experiment_events")
echo
echo "- rows in experiment_events: $events_before before, $events_after after (every accepted event stored)"
rm -f "$events_lua"

# --- Lighthouse on the demo landing (release renderer) ----------------------
if [[ "${LIGHTHOUSE:-1}" == 1 ]]; then
  echo
  scripts/lighthouse.sh "$renderer_port"
fi

echo
API_BIN=./target/release/api scripts/bench_jobs.sh

echo
API_BIN=./target/release/api scripts/bench_webhooks.sh

echo
API_BIN=./target/release/api scripts/bench_media.sh

echo
scripts/bench_scaleout.sh
