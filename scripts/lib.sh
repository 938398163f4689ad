# Shared by the scripts: connection defaults and the local services.
# Sourced, not run. Every value can be overridden from the environment.

export DATABASE_ADMIN_URL="${DATABASE_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export REDIS_URL="${REDIS_URL-redis://127.0.0.1:6379}"

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }

# host and port of a URL like scheme://user:pw@host:port/db
url_host() { local rest="${1#*://}"; rest="${rest##*@}"; rest="${rest%%/*}"; echo "${rest%%:*}"; }
url_port() { local rest="${1#*://}"; rest="${rest##*@}"; rest="${rest%%/*}"; [[ "$rest" == *:* ]] && echo "${rest##*:}" || echo "$2"; }

# Makes sure PostgreSQL answers; starts (or installs) the local server when the
# URL points at this machine.
ensure_postgres() {
  local host port
  host=$(url_host "$DATABASE_ADMIN_URL"); port=$(url_port "$DATABASE_ADMIN_URL" 5432)
  if pg_isready -q -h "$host" -p "$port" 2>/dev/null; then return 0; fi
  if [[ "$host" != "127.0.0.1" && "$host" != "localhost" ]]; then
    log "PostgreSQL at $host:$port does not answer"; return 1
  fi
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    log "installing PostgreSQL (apt-get)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  log "starting PostgreSQL"
  local version
  for version in $(ls /etc/postgresql 2>/dev/null); do
    pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
  done
  for _ in $(seq 1 30); do
    pg_isready -q -h "$host" -p "$port" 2>/dev/null && return 0
    sleep 1
  done
  log "PostgreSQL did not start"; return 1
}

# Makes sure Redis answers when REDIS_URL points at this machine. Redis is
# optional: when it cannot be had, the services run on in-process fallbacks.
ensure_redis() {
  [[ -z "$REDIS_URL" ]] && { log "REDIS_URL is empty: running without Redis"; return 0; }
  local host port
  host=$(url_host "$REDIS_URL"); port=$(url_port "$REDIS_URL" 6379)
  if redis_ping "$host" "$port"; then return 0; fi
  if [[ "$host" != "127.0.0.1" && "$host" != "localhost" ]]; then
    log "Redis at $host:$port does not answer: services will use in-process fallbacks"; return 0
  fi
  if ! command -v redis-server >/dev/null 2>&1; then
    log "installing Redis (apt-get)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null) || true
  fi
  if command -v redis-server >/dev/null 2>&1; then
    log "starting Redis"
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$port" --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log >/dev/null 2>&1 || true
    for _ in $(seq 1 20); do redis_ping "$host" "$port" && return 0; sleep 0.5; done
  fi
  log "Redis is not available: services will use in-process fallbacks"
}

redis_ping() {
  if command -v redis-cli >/dev/null 2>&1; then
    [[ "$(redis-cli -h "$1" -p "$2" ping 2>/dev/null)" == "PONG" ]]
  else
    (exec 3<>"/dev/tcp/$1/$2" && printf 'PING\r\n' >&3 && read -r -t 2 reply <&3 && [[ "$reply" == +PONG* ]]) 2>/dev/null
  fi
}

# No GSSAPI negotiation in libpq (see the Makefile): Kerberos is not used here.
export PGGSSENCMODE="${PGGSSENCMODE:-disable}"

# Installs what the Rust build needs besides cargo (Debian packages).
ensure_build_tools() {
  # nasm: rav1e's assembly (AVIF encoding). libaom-dev: the AV1 decoder that
  # reads AVIF uploads, linked statically (.cargo/config.toml points
  # libaom-sys at it instead of a cmake build of its vendored copy).
  local missing=()
  command -v nasm >/dev/null 2>&1 || missing+=(nasm)
  [[ -f /usr/include/aom/aom_decoder.h ]] || missing+=(libaom-dev)
  apt_install "${missing[@]}"
}

# Installs Debian packages (none given: nothing), updating the lists only
# when the first try fails.
apt_install() {
  (($#)) || return 0
  log "installing $* (apt-get)"
  (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1) \
    || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null)
}

# The fleet's load balancer and load generator: Debian's haproxy and wrk.
ensure_fleet_tools() {
  local missing=()
  command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
  command -v wrk >/dev/null 2>&1 || missing+=(wrk)
  apt_install "${missing[@]}"
}

# Installs the node tools (squawk, newman, playwright-core, axe-core, lighthouse, redocly,
# openapi-typescript, openapi-fetch, typescript) at the versions package-lock.json
# pins, when missing. Not `npm ci`: npm leaves squawk's optional per-platform
# packages for other platforms out of the lock file and `npm ci` then refuses it.
ensure_node_tools() {
  local tool missing=""
  for tool in newman squawk lighthouse redocly openapi-typescript tsc; do [[ -x node_modules/.bin/$tool ]] || missing=1; done
  [[ -d node_modules/playwright-core && -d node_modules/openapi-fetch && -d node_modules/graphile-worker && -d node_modules/axe-core ]] || missing=1
  if [[ -n "$missing" ]]; then
    command -v npm >/dev/null 2>&1 || {
      log "installing Node.js and npm (apt-get)"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
    }
    log "installing node tools (npm install --no-save, pinned by package-lock.json)"
    npm install --no-save --no-audit --no-fund --loglevel=error >/dev/null
  fi
}

# Builds the editors' admin (api/admin, Vite) into api/admin/dist when it is
# missing or older than its sources or the OpenAPI spec its types come from.
# Its npm packages are pinned by api/admin/package-lock.json.
ensure_admin_build() {
  local dir=api/admin
  if ! cmp -s $dir/package-lock.json $dir/node_modules/.installed-lock.json; then
    command -v npm >/dev/null 2>&1 || {
      log "installing Node.js and npm (apt-get)"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
    }
    log "installing the admin's npm packages (npm ci, pinned by $dir/package-lock.json)"
    (cd $dir && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    cp $dir/package-lock.json $dir/node_modules/.installed-lock.json
  fi
  if [[ ! -f $dir/dist/index.html ]] \
    || [[ -n "$(find $dir/src $dir/public $dir/index.html $dir/vite.config.ts $dir/package-lock.json openapi/openapi.json -newer $dir/dist/index.html -not -path "$dir/src/generated/*" 2>/dev/null | head -1)" ]]; then
    log "building the admin into $dir/dist (vite)"
    (cd $dir && npm run --silent build >/dev/null)
  fi
}

# Installs the Python tools of tests/requirements.txt (pinned) into .venv when
# missing or when the requirements changed; tests find them as .venv/bin/python.
ensure_python_tools() {
  local stamp=.venv/requirements.txt
  if [[ ! -x .venv/bin/python ]] || ! cmp -s tests/requirements.txt "$stamp"; then
    log "installing Python test tools into .venv (pinned by tests/requirements.txt)"
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt
    cp tests/requirements.txt "$stamp"
  fi
}

# Starts api + renderer on free ports against a new database with demo data,
# for a test run (newman, the browser test). Sets STACK_API, STACK_RENDERER
# (base URLs) and STACK_DB; `stop_stack` (install it in an EXIT trap) stops
# both and drops the database. Uses the debug binaries `make build` made.
start_stack() {
  local name=$1
  STACK_DB="cms_${name}_$$"
  STACK_PIDS=()
  STACK_KEY=$(mktemp)
  # The stack's media files go with it.
  STACK_MEDIA=$(mktemp -d)
  export CMS_MEDIA_DIR="$STACK_MEDIA"
  local api_port renderer_port
  api_port=$(free_port); renderer_port=$(free_port)
  ./target/debug/api setup --database "$STACK_DB" >/dev/null
  export DATABASE_URL
  DATABASE_URL=$(app_database_url "$STACK_DB")
  export CMS_SECRETS_KEY
  CMS_SECRETS_KEY=$(./target/debug/api gen-secrets-key)
  ./target/debug/api gen-key > "$STACK_KEY"
  export CMS_JWT_PRIVATE_KEY_FILE="$STACK_KEY"
  # With the whole configuration set, the seed uploads the demo images to
  # the media library (the stack's worker makes their renditions).
  ./target/debug/api seed >/dev/null
  export CMS_REDIS_PREFIX="$name:$$:"
  export CMS_EVENTS_TRUSTED_SOURCES=127.0.0.1,::1
  # Webhook endpoints of the collection point at 127.0.0.1:9 (nothing
  # listens): deliveries stay on this machine.
  export CMS_OUTBOUND_ALLOW_HOSTS=127.0.0.1/32
  export RUST_LOG="${RUST_LOG:-warn}"
  # The admin (served by the api) frames the renderer's previews.
  CMS_API_ADDR="127.0.0.1:$api_port" CMS_ADMIN_PREVIEW_URL="http://{host}:$renderer_port" \
    ./target/debug/api serve & STACK_PIDS+=($!)
  CMS_API_URL="http://127.0.0.1:$api_port" CMS_RENDERER_ADDR="127.0.0.1:$renderer_port" \
    CMS_RENDERER_PREVIEW_ANCESTORS="http://127.0.0.1:$api_port" \
    CMS_RENDERER_PUBLIC_SCHEME=http ./target/debug/renderer & STACK_PIDS+=($!)
  STACK_API="http://127.0.0.1:$api_port"
  STACK_RENDERER="http://127.0.0.1:$renderer_port"
  wait_for "$STACK_API/healthz"
  wait_for "$STACK_RENDERER/healthz"
}

stop_stack() {
  [[ ${#STACK_PIDS[@]} -gt 0 ]] && { kill -TERM "${STACK_PIDS[@]}" 2>/dev/null || true; wait "${STACK_PIDS[@]}" 2>/dev/null || true; }
  [[ -n "${STACK_DB:-}" ]] && psql -q "$DATABASE_ADMIN_URL" -c "DROP DATABASE IF EXISTS $STACK_DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -f "${STACK_KEY:-}"
  [[ -n "${STACK_MEDIA:-}" ]] && rm -rf "$STACK_MEDIA"
  return 0
}

# The application role's URL for database NAME on the admin URL's server.
app_database_url() {
  python3 -c 'import sys; from urllib.parse import urlsplit, urlunsplit; u=urlsplit(sys.argv[1]); h=u.hostname+(f":{u.port}" if u.port else ""); print(urlunsplit((u.scheme, "cms_app:cms_app@"+h, "/"+sys.argv[2], u.query, "")))' "$DATABASE_ADMIN_URL" "$1"
}

# Debian's Chromium for the browser test and Lighthouse (the npm tools cannot
# download a browser here). Sets CHROME_PATH.
ensure_chromium() {
  if ! command -v chromium >/dev/null 2>&1; then
    log "installing Chromium (apt-get)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
  export CHROME_PATH
  CHROME_PATH=$(command -v chromium)
}

# A TCP port nobody listens on right now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Waits until URL answers 200.
wait_for() {
  for _ in $(seq 1 60); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.5
  done
  log "$1 did not come up"; return 1
}
