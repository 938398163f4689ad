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

# Installs the node tools (squawk, newman) at the versions package-lock.json
# pins, when missing. Not `npm ci`: npm leaves squawk's optional per-platform
# packages for other platforms out of the lock file and `npm ci` then refuses it.
ensure_node_tools() {
  if [[ ! -x node_modules/.bin/newman || ! -x node_modules/.bin/squawk ]]; then
    command -v npm >/dev/null 2>&1 || {
      log "installing Node.js and npm (apt-get)"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
    }
    log "installing node tools (npm install --no-save, pinned by package-lock.json)"
    npm install --no-save --no-audit --no-fund --loglevel=error >/dev/null
  fi
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
