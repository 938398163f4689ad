//! `api/src/db/schema.rs` is kept by hand (no diesel_cli on CI machines): this
//! checks every `table!` in it against the migrated database, and every table
//! of the database against it: the same tables, the same columns in order,
//! each with its type and nullability, so the two cannot drift apart unnoticed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cms_tests::TestDatabase;
use diesel::sql_types::Text;
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};

#[derive(QueryableByName, Debug, PartialEq)]
struct DbColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    name: String,
    /// `udt_name`: `uuid`, `text`, `int4`, `_text` for `text[]`, ...
    #[diesel(sql_type = Text)]
    udt: String,
    #[diesel(sql_type = Text)]
    nullable: String,
}

/// One column as `table!` declares it: name, SQL type, nullable.
#[derive(Debug, PartialEq, Eq, Clone)]
struct Column {
    name: String,
    udt: String,
    nullable: bool,
}

/// The PostgreSQL `udt_name` a diesel SQL type maps to.
fn udt_of(diesel_type: &str) -> String {
    match diesel_type {
        "Uuid" => "uuid",
        "Text" => "text",
        "Int2" => "int2",
        "Int4" => "int4",
        "Int8" => "int8",
        "Float4" => "float4",
        "Float8" => "float8",
        "Bool" => "bool",
        "Bytea" => "bytea",
        "Date" => "date",
        "Time" => "time",
        "Timestamptz" => "timestamptz",
        "Jsonb" => "jsonb",
        "Array<Text>" => "_text",
        "Array<Int4>" => "_int4",
        other => panic!("schema_rs_matches: add a mapping for {other}"),
    }
    .to_owned()
}

/// Every `table!` of schema.rs: table name -> columns in order.
fn declared_tables() -> Vec<(String, Vec<Column>)> {
    let source = include_str!("../../api/src/db/schema.rs");
    let mut tables = Vec::new();
    for block in source.split("diesel::table! {").skip(1) {
        let mut lines = block.lines().map(str::trim).filter(|line| !line.is_empty());
        let header = lines.next().unwrap();
        let name = header.split_whitespace().next().unwrap().to_owned();
        let columns = lines
            .take_while(|line| *line != "}")
            .filter(|line| line.contains("->"))
            .map(|line| {
                let (column, kind) = line.split_once("->").unwrap();
                let kind = kind.trim().trim_end_matches(',');
                let (nullable, kind) = match kind.strip_prefix("Nullable<") {
                    Some(inner) => (true, inner.strip_suffix('>').unwrap()),
                    None => (false, kind),
                };
                Column {
                    name: column.trim().to_owned(),
                    udt: udt_of(kind),
                    nullable,
                }
            })
            .collect();
        tables.push((name, columns));
    }
    tables.sort_by(|a, b| a.0.cmp(&b.0));
    tables
}

#[test]
fn schema_rs_matches_the_migrated_database() {
    let db = TestDatabase::create();
    let mut conn = PgConnection::establish(&db.owner_url()).unwrap();
    let rows: Vec<DbColumn> = diesel::sql_query(
        "SELECT c.table_name::text AS table_name, c.column_name::text AS name, \
                c.udt_name::text AS udt, c.is_nullable::text AS nullable \
         FROM information_schema.columns c \
         JOIN information_schema.tables t USING (table_schema, table_name) \
         WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' \
           AND c.table_name <> '__diesel_schema_migrations' \
         ORDER BY c.table_name, c.ordinal_position",
    )
    .load(&mut conn)
    .unwrap();
    let mut actual: Vec<(String, Vec<Column>)> = Vec::new();
    for row in rows {
        if actual
            .last()
            .is_none_or(|(table, _)| *table != row.table_name)
        {
            actual.push((row.table_name.clone(), Vec::new()));
        }
        if let Some((_, columns)) = actual.last_mut() {
            columns.push(Column {
                name: row.name,
                udt: row.udt,
                nullable: row.nullable == "YES",
            });
        }
    }
    let declared = declared_tables();
    let names = |tables: &[(String, Vec<Column>)]| -> Vec<String> {
        tables.iter().map(|(name, _)| name.clone()).collect()
    };
    assert_eq!(
        names(&declared),
        names(&actual),
        "tables of schema.rs vs the database"
    );
    assert!(declared.len() >= 29, "{} tables", declared.len());
    for ((table, declared), (_, actual)) in declared.iter().zip(&actual) {
        assert_eq!(
            declared, actual,
            "columns of {table} (name, type, nullable)"
        );
    }
}
