//! `api/src/db/schema.rs` is kept by hand (no diesel_cli on CI machines): this
//! checks it against the migrated database, column by column, in order, with
//! nullability, so the two cannot drift apart unnoticed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cms_api::db::schema::*;
use cms_tests::TestDatabase;
use diesel::pg::Pg;
use diesel::sql_types::Text;
use diesel::{Connection, PgConnection, QueryDsl, QueryableByName, RunQueryDsl};

#[derive(QueryableByName, Debug, PartialEq)]
struct Column {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    nullable: String,
}

/// Column names diesel selects for `all_columns`, in order.
fn diesel_columns<Q: diesel::query_builder::QueryFragment<Pg>>(query: Q) -> Vec<String> {
    let sql = diesel::debug_query::<Pg, _>(&query).to_string();
    let list = sql
        .trim_start_matches("SELECT ")
        .split(" FROM ")
        .next()
        .unwrap();
    list.split(", ")
        .map(|column| {
            column
                .rsplit('.')
                .next()
                .unwrap()
                .trim_matches('"')
                .to_owned()
        })
        .collect()
}

/// Nullable columns as the `table!` macro declares them, read from the source.
fn declared_nullable(table: &str) -> Vec<String> {
    let source = include_str!("../../api/src/db/schema.rs");
    let start = source.find(&format!("    {table} (")).unwrap();
    let block = &source[start..source[start..].find("    }\n").unwrap() + start];
    block
        .lines()
        .filter(|line| line.contains("Nullable<"))
        .map(|line| line.trim().split(' ').next().unwrap().to_owned())
        .collect()
}

#[test]
fn schema_rs_matches_the_migrated_database() {
    let db = TestDatabase::create();
    let mut conn = PgConnection::establish(&db.owner_url()).unwrap();
    let tables: Vec<(&str, Vec<String>)> = vec![
        (
            "audit_log",
            diesel_columns(audit_log::table.select(audit_log::all_columns)),
        ),
        (
            "domains",
            diesel_columns(domains::table.select(domains::all_columns)),
        ),
        (
            "memberships",
            diesel_columns(memberships::table.select(memberships::all_columns)),
        ),
        (
            "refresh_tokens",
            diesel_columns(refresh_tokens::table.select(refresh_tokens::all_columns)),
        ),
        (
            "sites",
            diesel_columns(sites::table.select(sites::all_columns)),
        ),
        (
            "tenants",
            diesel_columns(tenants::table.select(tenants::all_columns)),
        ),
        (
            "users",
            diesel_columns(users::table.select(users::all_columns)),
        ),
    ];
    for (table, declared) in tables {
        let actual: Vec<Column> = diesel::sql_query(
            "SELECT column_name::text AS name, is_nullable::text AS nullable FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
        )
        .bind::<Text, _>(table)
        .load(&mut conn)
        .unwrap();
        let names: Vec<&str> = actual.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, declared, "columns of {table}");
        let nullable: Vec<String> = actual
            .iter()
            .filter(|c| c.nullable == "YES")
            .map(|c| c.name.clone())
            .collect();
        assert_eq!(
            nullable,
            declared_nullable(table),
            "nullable columns of {table}"
        );
    }
}
