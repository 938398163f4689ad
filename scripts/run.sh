#!/usr/bin/env bash
# make run: the whole stack with demo data, in the foreground until Ctrl-C.
# Safe to run again: every step checks before it creates.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ensure_postgres
ensure_redis
ensure_build_tools

log "building api and renderer"
cargo build --bin api --bin renderer
ensure_admin_build

export CMS_DATABASE_NAME="${CMS_DATABASE_NAME:-cms}"
log "provisioning database $CMS_DATABASE_NAME (roles cms_owner, cms_app; migrations)"
./target/debug/api setup --database "$CMS_DATABASE_NAME"

export DATABASE_URL="${DATABASE_URL:-$(python3 - <<PY
import os
from urllib.parse import urlsplit, urlunsplit
u = urlsplit(os.environ["DATABASE_ADMIN_URL"])
host = u.hostname + (f":{u.port}" if u.port else "")
print(urlunsplit((u.scheme, f"cms_app:{os.environ.get('CMS_APP_PASSWORD', 'cms_app')}@{host}", "/" + os.environ["CMS_DATABASE_NAME"], u.query, "")))
PY
)}"

if [[ -z "${CMS_JWT_PRIVATE_KEY:-}" && -z "${CMS_JWT_PRIVATE_KEY_FILE:-}" ]]; then
  mkdir -p .dev
  if [[ ! -s .dev/jwt-ed25519.pem ]]; then
    log "generating a development signing key in .dev/jwt-ed25519.pem"
    (umask 077 && ./target/debug/api gen-key > .dev/jwt-ed25519.pem)
  fi
  export CMS_JWT_PRIVATE_KEY_FILE=.dev/jwt-ed25519.pem
fi

# Provider credentials and webhook secrets are sealed under this key; the
# api refuses to start without one. Kept like the signing key, generated once.
if [[ -z "${CMS_SECRETS_KEY:-}" && -z "${CMS_SECRETS_KEY_FILE:-}" ]]; then
  mkdir -p .dev
  if [[ ! -s .dev/secrets.key ]]; then
    log "generating a development secrets key in .dev/secrets.key"
    (umask 077 && ./target/debug/api gen-secrets-key > .dev/secrets.key)
  fi
  export CMS_SECRETS_KEY_FILE=.dev/secrets.key
fi

log "seeding demo data"
./target/debug/api seed

export CMS_API_ADDR="${CMS_API_ADDR:-127.0.0.1:8080}"
export CMS_RENDERER_ADDR="${CMS_RENDERER_ADDR:-127.0.0.1:8081}"
export CMS_API_URL="${CMS_API_URL:-http://$CMS_API_ADDR}"
# The renderer sends the exposures of many visitors from this address.
export CMS_EVENTS_TRUSTED_SOURCES="${CMS_EVENTS_TRUSTED_SOURCES:-127.0.0.1,::1}"
# Local URLs are http; production sets https (the default).
export CMS_RENDERER_PUBLIC_SCHEME="${CMS_RENDERER_PUBLIC_SCHEME:-http}"
# The editors' admin (http://$CMS_API_ADDR/admin/) shows live previews
# from the renderer in a frame.
export CMS_ADMIN_PREVIEW_URL="${CMS_ADMIN_PREVIEW_URL:-http://{host}:${CMS_RENDERER_ADDR##*:}}"
export CMS_RENDERER_PREVIEW_ANCESTORS="${CMS_RENDERER_PREVIEW_ANCESTORS:-http://$CMS_API_ADDR,http://localhost:${CMS_API_ADDR##*:}}"

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
