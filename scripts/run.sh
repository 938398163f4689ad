#!/usr/bin/env bash
# make run: the whole stack with demo data, in the foreground until Ctrl-C.
# Safe to run again: every step checks before it creates.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

source scripts/prepare_stack.sh

pids=()
stop() { kill -TERM "${pids[@]}" 2>/dev/null || true; wait "${pids[@]}" 2>/dev/null || true; }
trap stop EXIT INT TERM

./target/debug/api serve & pids+=($!)
./target/debug/renderer & pids+=($!)
wait_for "http://$CMS_API_ADDR/healthz"
wait_for "http://$CMS_RENDERER_ADDR/healthz"

cat <<TXT

  api        http://$CMS_API_ADDR/api/v1   (docs: http://$CMS_API_ADDR/api/docs/)
  admin      http://$CMS_API_ADDR/admin/
  renderer   http://$CMS_RENDERER_ADDR     (demo hosts: http://alpha.localhost:${CMS_RENDERER_ADDR##*:}/, http://beta.localhost:${CMS_RENDERER_ADDR##*:}/)

  platform admin   admin@example.com     / demo-password   (owner of alpha and beta)
  alpha editor     editor@alpha.example  / demo-password
  beta editor      editor@beta.example   / demo-password

  Ctrl-C stops both.
TXT
wait -n "${pids[@]}"
