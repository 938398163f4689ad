#!/usr/bin/env bash
# Migration checks: `lint` runs squawk over every up.sql and down.sql;
# `roundtrip` applies all migrations, reverts all, and applies them again on a
# scratch database through the api binary's own commands (no diesel_cli needed).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

case "${1:-}" in
  lint)
    ensure_node_tools
    node_modules/.bin/squawk --config .squawk.toml migrations/*/up.sql
    # Dropping what the up migration created is what a down migration is for.
    node_modules/.bin/squawk --config .squawk.toml --exclude ban-drop-table migrations/*/down.sql
    ;;
  roundtrip)
    ensure_postgres
    db="cms_roundtrip_$$"
    drop() { psql -q "$DATABASE_ADMIN_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null; }
    trap drop EXIT
    owner_url=$(python3 -c 'import sys; from urllib.parse import urlsplit, urlunsplit; u=urlsplit(sys.argv[1]); h=u.hostname+(f":{u.port}" if u.port else ""); print(urlunsplit((u.scheme, "cms_owner:cms_owner@"+h, "/"+sys.argv[2], u.query, "")))' "$DATABASE_ADMIN_URL" "$db")
    ./target/debug/api setup --database "$db"
    tables() { psql -tA "$owner_url" -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> '__diesel_schema_migrations'"; }
    applied=$(tables)
    ./target/debug/api migrate down --database-url "$owner_url"
    left=$(tables)
    [[ "$left" == "0" ]] || { log "down.sql left $left tables behind"; exit 1; }
    ./target/debug/api migrate up --database-url "$owner_url"
    [[ "$(tables)" == "$applied" ]] || { log "re-applying gave $(tables) tables, first run $applied"; exit 1; }
    log "migration round trip ok: $applied tables up, 0 after down, $applied again"
    ;;
  *) echo "usage: $0 lint|roundtrip" >&2; exit 2 ;;
esac
