#!/usr/bin/env bash
# Webhook deliveries: `api bench-webhooks` on a fresh database with the demo
# data, once per concurrency: signed `lead.created` deliveries by one worker to
# an in-process receiver that verifies every signature, then delivery latency
# one message at a time. Prints a Markdown table for BENCHMARKS.md. Run by
# `make bench`, or alone:
#   scripts/bench_webhooks.sh            (release build)
#   MESSAGES=2000 CONCURRENCY="20" PROFILE=debug scripts/bench_webhooks.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_postgres

PROFILE="${PROFILE:-release}"
MESSAGES="${MESSAGES:-10000}"
LATENCY_MESSAGES="${LATENCY_MESSAGES:-200}"
CONCURRENCY="${CONCURRENCY:-20 50}"
if [[ -z "${API_BIN:-}" ]]; then
  if [[ "$PROFILE" == release ]]; then cargo build --release --bin api; else cargo build --bin api; fi
fi
api="${API_BIN:-./target/$PROFILE/api}"

db="cms_benchwebhooks_$$"
key=$(mktemp)
cleanup() {
  psql -q "$DATABASE_ADMIN_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null || true
  rm -f "$key"
}
trap cleanup EXIT
app_url=$(app_database_url "$db")
"$api" setup --database "$db" >/dev/null
export DATABASE_URL="$app_url"
export CMS_SECRETS_KEY="${CMS_SECRETS_KEY:-$("$api" gen-secrets-key)}"
"$api" seed >/dev/null
"$api" gen-key > "$key"
export CMS_JWT_PRIVATE_KEY_FILE="$key" RUST_LOG=error

echo "Webhook deliveries: $MESSAGES signed \`lead.created\` deliveries per run to an in-process receiver verifying each signature, one worker; latency over $LATENCY_MESSAGES messages one at a time"
echo
echo "| concurrency | deliveries/s | enqueue, messages/s | latency p50, ms | latency p99, ms | verified | failed | missing |"
echo "|---|---|---|---|---|---|---|---|"
for c in $CONCURRENCY; do
  log "api bench-webhooks: $MESSAGES messages, concurrency $c"
  json=$("$api" bench-webhooks --messages "$MESSAGES" --latency-messages "$LATENCY_MESSAGES" --concurrency "$c")
  python3 - "$json" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
print(f"| {r['concurrency']} | {r['deliveries_per_s']} | {r['enqueue_per_s']} | {r['latency_p50_ms']} | {r['latency_p99_ms']} | {r['verified']} | {r['failed']} | {r['missing']} |")
PY
done
