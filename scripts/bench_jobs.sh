#!/usr/bin/env bash
# The job queue side by side with graphile-worker (npm), on the same
# PostgreSQL, same no-op job, same counts and concurrency, one worker process
# each: enqueue and processing rates, pickup latency (commit to start).
# Prints a Markdown table for BENCHMARKS.md. Run by `make bench`, or alone:
#   scripts/bench_jobs.sh            (release build)
#   PROFILE=debug JOBS=2000 scripts/bench_jobs.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_postgres
ensure_node_tools

PROFILE="${PROFILE:-release}"
JOBS="${JOBS:-20000}"
LATENCY_JOBS="${LATENCY_JOBS:-300}"
CONCURRENCY="${CONCURRENCY:-20}"
if [[ -z "${API_BIN:-}" ]]; then
  if [[ "$PROFILE" == release ]]; then cargo build --release --bin api; else cargo build --bin api; fi
fi
api="${API_BIN:-./target/$PROFILE/api}"

ours="cms_benchjobs_$$"
peer="cms_benchgraphile_$$"
key=$(mktemp)
cleanup() {
  psql -q "$DATABASE_ADMIN_URL" -c "DROP DATABASE IF EXISTS $ours WITH (FORCE)" >/dev/null || true
  psql -q "$DATABASE_ADMIN_URL" -c "DROP DATABASE IF EXISTS $peer WITH (FORCE)" >/dev/null || true
  rm -f "$key"
}
trap cleanup EXIT
# url_of DATABASE [USER:PASSWORD@]: the admin URL on another database, as the
# admin or as the given role.
url_of() {
  python3 -c 'import sys; from urllib.parse import urlsplit, urlunsplit; u=urlsplit(sys.argv[1]); who=sys.argv[3] or (u.netloc.rpartition("@")[0] + "@" if "@" in u.netloc else ""); print(urlunsplit((u.scheme, who + (u.hostname or "127.0.0.1") + (f":{u.port}" if u.port else ""), "/"+sys.argv[2], u.query, "")))' "$DATABASE_ADMIN_URL" "$1" "${2:-}"
}
"$api" setup --database "$ours" >/dev/null
export DATABASE_URL=$(url_of "$ours" "cms_app:cms_app@")
export CMS_SECRETS_KEY="${CMS_SECRETS_KEY:-$("$api" gen-secrets-key)}"
"$api" seed >/dev/null
"$api" gen-key > "$key"
export CMS_JWT_PRIVATE_KEY_FILE="$key" RUST_LOG=error
log "api bench-jobs: $JOBS no-op jobs, concurrency $CONCURRENCY, $LATENCY_JOBS pickups"
ours_json=$("$api" bench-jobs --jobs "$JOBS" --latency-jobs "$LATENCY_JOBS" --concurrency "$CONCURRENCY")

psql -q "$DATABASE_ADMIN_URL" -c "CREATE DATABASE $peer" >/dev/null
log "graphile-worker: the same"
peer_json=$(node scripts/bench_jobs_graphile.mjs "$(url_of "$peer" "")" "$JOBS" "$LATENCY_JOBS" "$CONCURRENCY")

python3 - "$ours_json" "$peer_json" <<'PY'
import json, sys
ours, peer = json.loads(sys.argv[1]), json.loads(sys.argv[2])
rows = [("enqueue, jobs/s", "enqueue_per_s", True), ("process, jobs/s", "process_per_s", True),
        ("enqueue + process, jobs/s", "end_to_end_per_s", True),
        ("pickup p50, ms", "pickup_p50_ms", False), ("pickup p99, ms", "pickup_p99_ms", False)]
print(f"Jobs: {ours['jobs']} no-op jobs, concurrency {ours['concurrency']}, one worker process each, same PostgreSQL")
print()
print("| | this api | graphile-worker 0.18.0 | ratio (ours / theirs) |")
print("|---|---|---|---|")
for label, key, higher_better in rows:
    a, b = ours[key], peer[key]
    ratio = a / b if b else float("nan")
    print(f"| {label} | {a} | {b} | {ratio:.2f}x{'' if higher_better else ' (lower is better)'} |")
PY
