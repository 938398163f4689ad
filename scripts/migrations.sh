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
    node_modules/.bin/squawk --config .squawk.toml --exclude ban-drop-table,ban-drop-column migrations/*/down.sql
    ;;
  roundtrip)
    ensure_postgres
    db="cms_roundtrip_$$"
    drop() { psql -q "$DATABASE_ADMIN_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null; }
    trap drop EXIT
    owner_url=$(python3 -c 'import sys; from urllib.parse import urlsplit, urlunsplit; u=urlsplit(sys.argv[1]); h=u.hostname+(f":{u.port}" if u.port else ""); print(urlunsplit((u.scheme, "cms_owner:cms_owner@"+h, "/"+sys.argv[2], u.query, "")))' "$DATABASE_ADMIN_URL" "$db")
    ./target/debug/api setup --database "$db"
    tables() { psql -tA "$owner_url" -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> '__diesel_schema_migrations'"; }
    # The whole schema (types, tables, columns, functions, policies, indexes,
    # constraints, grants), without comments and the migration bookkeeping.
    schema() {
      pg_dump --schema-only --no-comments "$owner_url" \
        | grep -v -e '^--' -e '^SET ' -e '^SELECT pg_catalog' -e '^\\restrict' -e '^\\unrestrict' \
        | grep -v '^$'
    }
    applied=$(tables)
    first=$(mktemp); second=$(mktemp)
    schema > "$first"
    ./target/debug/api migrate down --database-url "$owner_url"
    left=$(tables)
    [[ "$left" == "0" ]] || { log "down.sql left $left tables behind"; exit 1; }
    leftover=$(psql -tA "$owner_url" -c "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' AND p.prokind = 'f' AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')")
    [[ "$leftover" == "0" ]] || { log "down.sql left $leftover functions behind"; exit 1; }
    ./target/debug/api migrate up --database-url "$owner_url"
    schema > "$second"
    if ! diff -u "$first" "$second"; then
      log "the schema after apply -> revert -> apply differs from the first apply (diff above)"; exit 1
    fi
    log "migration round trip ok: $applied tables up, 0 tables and functions after down, the same $(wc -l < "$first")-line schema dump again"
    rm -f "$first" "$second"
    ;;
  *) echo "usage: $0 lint|roundtrip" >&2; exit 2 ;;
esac
