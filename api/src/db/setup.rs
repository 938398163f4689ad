//! Database provisioning, run by `api setup`, `api migrate` and the test harness:
//! the two roles, the database, and the embedded diesel migrations.
//!
//! `cms_owner` owns the schema and runs migrations; `cms_app` serves requests and
//! has neither SUPERUSER nor BYPASSRLS, so every query it runs is bound by the
//! row-level-security policies.

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::sql_types::Text;
use diesel::{Connection, QueryResult, QueryableByName, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations");
pub const OWNER_ROLE: &str = "cms_owner";
pub const APP_ROLE: &str = "cms_app";
/// Owns the routing functions (host or site id -> tenant) that public delivery
/// and the scheduler call before a tenant can be set. Cannot log in.
pub const ROUTER_ROLE: &str = "cms_router";

pub type SetupResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Credentials of the two roles; the defaults suit a local development server.
#[derive(Debug, Clone)]
pub struct RolePasswords {
    pub owner: String,
    pub app: String,
}

impl Default for RolePasswords {
    fn default() -> Self {
        RolePasswords {
            owner: OWNER_ROLE.to_owned(),
            app: APP_ROLE.to_owned(),
        }
    }
}

/// Creates both roles if missing and (re)asserts their attributes. Idempotent.
pub fn ensure_roles(admin: &mut PgConnection, passwords: &RolePasswords) -> SetupResult<()> {
    for (role, password, attributes) in [
        (
            OWNER_ROLE,
            &passwords.owner,
            "LOGIN NOSUPERUSER NOBYPASSRLS CREATEDB",
        ),
        (
            APP_ROLE,
            &passwords.app,
            "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB",
        ),
    ] {
        // CREATE ROLE has no IF NOT EXISTS; a concurrent creator is harmless.
        let created = diesel::sql_query(format!(
            "DO $$ BEGIN \
               IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN \
                 CREATE ROLE {role} {attributes}; \
               END IF; \
             EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
        ))
        .execute(admin);
        created?;
        diesel::sql_query(format!(
            "ALTER ROLE {role} {attributes} PASSWORD {}",
            quote_literal(password)
        ))
        .execute(admin)?;
    }
    diesel::sql_query(format!(
        "DO $$ BEGIN \
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{ROUTER_ROLE}') THEN \
             CREATE ROLE {ROUTER_ROLE} NOLOGIN BYPASSRLS; \
           END IF; \
         EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
    ))
    .execute(admin)?;
    // The owner runs the migration that hands the routing functions to the router role.
    diesel::sql_query(format!("GRANT {ROUTER_ROLE} TO {OWNER_ROLE}")).execute(admin)?;
    Ok(())
}

/// Creates `database` owned by `cms_owner` if it does not exist (optionally as a
/// copy of `template`).
pub fn ensure_database(
    admin: &mut PgConnection,
    database: &str,
    template: Option<&str>,
) -> SetupResult<bool> {
    if database_exists(admin, database)? {
        return Ok(false);
    }
    let template = template
        .map(|name| format!(" TEMPLATE {}", quote_ident(name)))
        .unwrap_or_default();
    diesel::sql_query(format!(
        "CREATE DATABASE {}{template} OWNER {OWNER_ROLE}",
        quote_ident(database)
    ))
    .execute(admin)?;
    Ok(true)
}

pub fn database_exists(admin: &mut PgConnection, database: &str) -> SetupResult<bool> {
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = Text)]
        #[allow(dead_code)]
        datname: String,
    }
    let found = diesel::sql_query("SELECT datname FROM pg_database WHERE datname = $1")
        .bind::<Text, _>(database)
        .load::<Found>(admin)?;
    Ok(!found.is_empty())
}

pub fn drop_database(admin: &mut PgConnection, database: &str) -> SetupResult<()> {
    diesel::sql_query(format!(
        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
        quote_ident(database)
    ))
    .execute(admin)?;
    Ok(())
}

/// Applies every pending migration and registers the built-in modules;
/// answers the versions applied.
/// Bounds every migration's lock waits and statements on `conn`, including
/// those that run outside a transaction (`run_in_transaction = false`, one
/// statement such as `CREATE INDEX CONCURRENTLY`, which cannot carry its own
/// `SET`s); migrations in a transaction set their own too.
pub fn set_migration_timeouts(conn: &mut PgConnection) -> QueryResult<()> {
    conn.batch_execute("SET lock_timeout = '5s'; SET statement_timeout = '30min'")
}

pub fn migrate_up(owner_url: &str) -> SetupResult<Vec<String>> {
    let mut conn = PgConnection::establish(owner_url)?;
    set_migration_timeouts(&mut conn)?;
    let applied: Vec<String> = conn
        .run_pending_migrations(MIGRATIONS)?
        .iter()
        .map(ToString::to_string)
        .collect();
    let builtins: Vec<_> = crate::content::builtin::builtin_modules()
        .into_iter()
        .map(|m| {
            (
                m.key.to_owned(),
                m.name.to_owned(),
                m.category.to_owned(),
                m.props_schema,
            )
        })
        .collect();
    crate::db::modules::upsert_builtins(&mut conn, &builtins)?;
    Ok(applied)
}

/// Reverts every applied migration, newest first; answers the versions reverted.
pub fn migrate_down_all(owner_url: &str) -> SetupResult<Vec<String>> {
    let mut conn = PgConnection::establish(owner_url)?;
    set_migration_timeouts(&mut conn)?;
    let reverted = conn.revert_all_migrations(MIGRATIONS)?;
    Ok(reverted.iter().map(ToString::to_string).collect())
}

/// `postgres://old@host:5432/db?x` with other credentials and database name.
pub fn database_url_with(base: &str, user: &str, password: &str, database: &str) -> String {
    let (scheme, rest) = base.split_once("://").unwrap_or(("postgres", base));
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let (host, query) = match rest.split_once('/') {
        Some((host, path)) => (host, path.split_once('?').map(|(_, q)| q)),
        None => (rest, None),
    };
    let query = query.map(|q| format!("?{q}")).unwrap_or_default();
    format!(
        "{scheme}://{}:{}@{host}/{database}{query}",
        percent_encode(user),
        percent_encode(password)
    )
}

/// `base` pointed at another database, with its credentials kept.
pub fn database_url_switch(base: &str, database: &str) -> String {
    let (prefix, query) = match base.split_once('?') {
        Some((prefix, query)) => (prefix, format!("?{query}")),
        None => (base, String::new()),
    };
    let authority_start = prefix.find("://").map_or(0, |i| i + 3);
    let path_start = prefix[authority_start..]
        .find('/')
        .map_or(prefix.len(), |i| authority_start + i);
    format!("{}/{database}{query}", &prefix[..path_start])
}

fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_credentials_and_database() {
        assert_eq!(
            database_url_with(
                "postgres://postgres@127.0.0.1:5432/postgres",
                "cms_app",
                "p w",
                "cms"
            ),
            "postgres://cms_app:p%20w@127.0.0.1:5432/cms"
        );
        assert_eq!(
            database_url_with(
                "postgresql://a:b@db:6432/x?sslmode=require",
                "u",
                "p",
                "cms"
            ),
            "postgresql://u:p@db:6432/cms?sslmode=require"
        );
        assert_eq!(
            database_url_switch("postgres://postgres@127.0.0.1:5432/postgres?x=1", "cms_t"),
            "postgres://postgres@127.0.0.1:5432/cms_t?x=1"
        );
    }
}
