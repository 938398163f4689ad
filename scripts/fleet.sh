#!/usr/bin/env bash
# make fleet: the stack scaled out on one machine, in the foreground until
# Ctrl-C: 2 api nodes and 3 renderer nodes behind HAProxy (fleet/haproxy.cfg,
# Debian's haproxy, installed when missing), all sharing PostgreSQL and Redis.
# Renderers read the api through HAProxy too, so an api node can go away.
# Safe to run again: every step checks before it creates.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

host=127.0.0.1
export FLEET_WEB_BIND="$host:${FLEET_WEB_PORT:-8180}"
export FLEET_API_BIND="$host:${FLEET_API_PORT:-8190}"
# What visitors, editors and renderers use are HAProxy's two frontends: the
# settings derived from these (the api's URL, the admin's preview frame)
# point there; each node gets its own address below.
export CMS_API_ADDR="$FLEET_API_BIND" CMS_RENDERER_ADDR="$FLEET_WEB_BIND"
source scripts/prepare_stack.sh
ensure_fleet_tools

export FLEET_STATS_BIND="$host:${FLEET_STATS_PORT:-8199}"
export FLEET_CDN_BIND="$host:${FLEET_CDN_PORT:-8188}"
export FLEET_RENDERER_1="$host:8181" FLEET_RENDERER_2="$host:8182" FLEET_RENDERER_3="$host:8183"
export FLEET_API_1="$host:8191" FLEET_API_2="$host:8192"
# HAProxy connects from this address: both services believe its
# X-Forwarded-For and X-Forwarded-Host.
export CMS_TRUSTED_PROXIES="$host" CMS_RENDERER_TRUSTED_PROXIES="$host"

pids=()
stop() { kill -TERM "${pids[@]}" 2>/dev/null || true; wait "${pids[@]}" 2>/dev/null || true; }
trap stop EXIT INT TERM

for node in "$FLEET_API_1" "$FLEET_API_2"; do
  CMS_API_ADDR="$node" ./target/debug/api serve & pids+=($!)
done
for node in "$FLEET_RENDERER_1" "$FLEET_RENDERER_2" "$FLEET_RENDERER_3"; do
  CMS_RENDERER_ADDR="$node" ./target/debug/renderer & pids+=($!)
done
haproxy -db -f fleet/haproxy.cfg & pids+=($!)
for node in "$FLEET_API_1" "$FLEET_API_2" "$FLEET_RENDERER_1" "$FLEET_RENDERER_2" "$FLEET_RENDERER_3"; do
  wait_for "http://$node/healthz"
done
wait_for "http://$FLEET_API_BIND/healthz"

cat <<TXT

  web (3 renderers)   http://alpha.localhost:${FLEET_WEB_BIND##*:}/
  CDN stand-in        http://alpha.localhost:${FLEET_CDN_BIND##*:}/   (HAProxy's cache, public pages for up to 60 s)
  api (2 nodes)       http://$FLEET_API_BIND/api/v1   (admin: http://$FLEET_API_BIND/admin/)
  HAProxy stats       http://$FLEET_STATS_BIND/

  Ctrl-C stops them all.
TXT
wait -n "${pids[@]}"
