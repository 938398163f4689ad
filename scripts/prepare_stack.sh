# Sourced by run.sh and fleet.sh: starts PostgreSQL and Redis when down,
# builds the api and renderer, provisions and seeds the database, keeps the
# development keys in .dev/, and exports the settings both services read.
# Safe to run again: every step checks before it creates.

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
# The renderer forwards visitors' bookings with their address: the api counts
# its per-address limits by that address when the request comes from here.
export CMS_TRUSTED_PROXIES="${CMS_TRUSTED_PROXIES:-127.0.0.1,::1}"
# Local URLs are http; production sets https (the default).
export CMS_RENDERER_PUBLIC_SCHEME="${CMS_RENDERER_PUBLIC_SCHEME:-http}"
# The editors' admin (http://$CMS_API_ADDR/admin/) shows live previews
# from the renderer in a frame.
# (Through a variable: a literal {host} inside ${...:-...} would end it.)
preview_url="http://{host}:${CMS_RENDERER_ADDR##*:}"
export CMS_ADMIN_PREVIEW_URL="${CMS_ADMIN_PREVIEW_URL:-$preview_url}"
export CMS_RENDERER_PREVIEW_ANCESTORS="${CMS_RENDERER_PREVIEW_ANCESTORS:-http://$CMS_API_ADDR,http://localhost:${CMS_API_ADDR##*:}}"


# Every renderer node must sign lead forms' CSRF tokens with the same key:
# kept like the other keys, generated once.
if [[ -z "${CMS_RENDERER_SECRET:-}" ]]; then
  mkdir -p .dev
  if [[ ! -s .dev/renderer.secret ]]; then
    log "generating a development renderer secret in .dev/renderer.secret"
    (umask 077 && python3 -c 'import secrets; print(secrets.token_urlsafe(32))' > .dev/renderer.secret)
  fi
  CMS_RENDERER_SECRET="$(cat .dev/renderer.secret)"
  export CMS_RENDERER_SECRET
fi
