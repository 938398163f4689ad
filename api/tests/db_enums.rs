//! The enums stored in `text` columns: every variant goes through PostgreSQL
//! and comes back as itself, as exactly its string; a string no variant has
//! is a deserialization error, not a panic; and each enum lists the strings
//! of its column's CHECK constraint, in order.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cms_api::auth::roles::Role;
use cms_api::db::appointments::{AppointmentStatus, PaymentStatus};
use cms_api::db::doctors::ExceptionKind;
use cms_api::db::experiments::ExperimentStatus;
use cms_api::db::pages::PageStatus;
use cms_shared::events::EventKind;
use diesel::result::Error;
use diesel::sql_types::Text;
use diesel::{Connection, IntoSql, PgConnection, RunQueryDsl};

fn admin_url() -> String {
    std::env::var("DATABASE_ADMIN_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

macro_rules! assert_round_trips {
    ($conn:expr, $ty:ty) => {
        for value in <$ty>::ALL {
            let text: String = diesel::select(value.into_sql::<Text>())
                .get_result($conn)
                .unwrap();
            assert_eq!(text, value.as_str());
            let back: $ty = diesel::select(text.as_str().into_sql::<Text>())
                .get_result($conn)
                .unwrap();
            assert_eq!(back, *value);
        }
        for unknown in ["", "no such value", "DRAFT"] {
            match diesel::select(unknown.into_sql::<Text>()).get_result::<$ty>($conn) {
                // Diesel wraps the enum's error with the column it was reading.
                Err(Error::DeserializationError(err)) => {
                    assert!(format!("{err:?}").contains("UnknownValue"), "{err:?}")
                }
                other => panic!("{unknown:?} as {}: {other:?}", stringify!($ty)),
            }
        }
    };
}

#[test]
fn every_variant_round_trips_through_postgres_and_unknown_strings_are_errors() {
    let mut conn =
        PgConnection::establish(&admin_url()).expect("PostgreSQL connection (DATABASE_ADMIN_URL)");
    assert_round_trips!(&mut conn, PageStatus);
    assert_round_trips!(&mut conn, AppointmentStatus);
    assert_round_trips!(&mut conn, PaymentStatus);
    assert_round_trips!(&mut conn, ExperimentStatus);
    assert_round_trips!(&mut conn, Role);
    assert_round_trips!(&mut conn, ExceptionKind);
}

/// `CHECK (column IN ('a', 'b'))` as the migrations write it.
fn check(column: &str, values: impl IntoIterator<Item = &'static str>) -> String {
    let quoted: Vec<String> = values.into_iter().map(|v| format!("'{v}'")).collect();
    format!("CHECK ({column} IN ({}))", quoted.join(", "))
}

#[test]
fn each_enum_lists_the_strings_of_its_check_constraint() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations");
    let mut sql = String::new();
    for entry in std::fs::read_dir(root).unwrap() {
        let up = entry.unwrap().path().join("up.sql");
        if up.exists() {
            sql.push_str(&std::fs::read_to_string(up).unwrap());
        }
    }
    let sql = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    for constraint in [
        check("status", PageStatus::ALL.iter().map(|v| v.as_str())),
        check("status", AppointmentStatus::ALL.iter().map(|v| v.as_str())),
        check(
            "payment_status",
            PaymentStatus::ALL.iter().map(|v| v.as_str()),
        ),
        check("status", PaymentStatus::ALL.iter().map(|v| v.as_str())),
        check("status", ExperimentStatus::ALL.iter().map(|v| v.as_str())),
        check("kind", EventKind::ALL.iter().map(|v| v.as_str())),
        check("role", Role::ALL.iter().map(|v| v.as_str())),
        check("kind", ExceptionKind::ALL.iter().map(|v| v.as_str())),
    ] {
        assert!(sql.contains(&constraint), "no migration has {constraint}");
    }
}
