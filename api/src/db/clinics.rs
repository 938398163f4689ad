//! Queries on `clinics` and `specializations` (tenant-owned: RLS limits every
//! query to the current tenant).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::schema::{clinics, specializations};
use crate::db::cursor::PageRequest;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, ToSchema)]
#[diesel(table_name = clinics)]
pub struct Clinic {
    pub id: Uuid,
    #[serde(skip)]
    pub tenant_id: Uuid,
    pub slug: String,
    pub name: String,
    pub address: String,
    pub phone: String,
    pub email: String,
    /// Opening hours as shown to visitors: `{"mon": [["09:00", "18:00"]], ...}`.
    #[schema(value_type = HashMap<String, serde_json::Value>)]
    pub working_hours: Value,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// IANA time zone (`Europe/Moscow`): slots are computed and shown in it.
    pub time_zone: String,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped by every change; the `ETag` is `"v<version>"`.
    pub version: i32,
}

#[derive(AsChangeset, Default)]
#[diesel(table_name = clinics)]
pub struct ClinicChanges {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub working_hours: Option<Value>,
    pub latitude: Option<Option<f64>>,
    pub longitude: Option<Option<f64>>,
    pub time_zone: Option<String>,
    pub is_active: Option<bool>,
    pub updated_at: Option<DateTime<Utc>>,
}

pub fn list(
    conn: &mut PgConnection,
    active: Option<bool>,
    page: &PageRequest,
) -> QueryResult<Vec<Clinic>> {
    let mut query = clinics::table
        .select(Clinic::as_select())
        .order(clinics::id)
        .limit(page.fetch_limit())
        .into_boxed();
    if let Some(active) = active {
        query = query.filter(clinics::is_active.eq(active));
    }
    if let Some(after) = page.after {
        query = query.filter(clinics::id.gt(after));
    }
    query.load(conn)
}

pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Clinic>> {
    clinics::table
        .find(id)
        .select(Clinic::as_select())
        .first(conn)
        .optional()
}

pub fn find_many(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<Clinic>> {
    clinics::table
        .filter(clinics::id.eq_any(ids))
        .select(Clinic::as_select())
        .load(conn)
}

/// The clinic with this id or slug.
pub fn resolve(conn: &mut PgConnection, key: &str) -> QueryResult<Option<Uuid>> {
    let mut query = clinics::table.select(clinics::id).into_boxed();
    query = match Uuid::parse_str(key) {
        Ok(id) => query.filter(clinics::id.eq(id)),
        Err(_) => query.filter(clinics::slug.eq(key.to_owned())),
    };
    query.first(conn).optional()
}

pub fn insert(conn: &mut PgConnection, clinic: &Clinic) -> QueryResult<Clinic> {
    diesel::insert_into(clinics::table)
        .values(clinic)
        .returning(Clinic::as_returning())
        .get_result(conn)
}

/// The clinic, locked until the transaction ends (read, check, then write).
pub fn lock(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Clinic>> {
    clinics::table
        .find(id)
        .select(Clinic::as_select())
        .for_update()
        .first(conn)
        .optional()
}

/// Changes a clinic and bumps its version in the same statement.
pub fn update(conn: &mut PgConnection, id: Uuid, changes: &ClinicChanges) -> QueryResult<Clinic> {
    diesel::update(clinics::table.find(id))
        .set((changes, clinics::version.eq(clinics::version + 1)))
        .returning(Clinic::as_returning())
        .get_result(conn)
}

pub fn delete(conn: &mut PgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::delete(clinics::table.find(id)).execute(conn)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, ToSchema)]
#[diesel(table_name = specializations)]
pub struct Specialization {
    pub id: Uuid,
    #[serde(skip)]
    pub tenant_id: Uuid,
    pub slug: String,
    pub name: String,
    pub description: String,
    /// A CSS class or icon name the frontend maps to an icon.
    pub icon: String,
    pub created_at: DateTime<Utc>,
    /// Bumped by every change; the `ETag` is `"v<version>"`.
    pub version: i32,
}

pub fn find_specialization(
    conn: &mut PgConnection,
    id: Uuid,
) -> QueryResult<Option<Specialization>> {
    specializations::table
        .find(id)
        .select(Specialization::as_select())
        .first(conn)
        .optional()
}

pub fn list_specializations(conn: &mut PgConnection) -> QueryResult<Vec<Specialization>> {
    specializations::table
        .select(Specialization::as_select())
        .order(specializations::name)
        .load(conn)
}

pub fn insert_specialization(
    conn: &mut PgConnection,
    specialization: &Specialization,
) -> QueryResult<Specialization> {
    diesel::insert_into(specializations::table)
        .values(specialization)
        .returning(Specialization::as_returning())
        .get_result(conn)
}

/// The specialization with this id or slug.
pub fn resolve_specialization(conn: &mut PgConnection, key: &str) -> QueryResult<Option<Uuid>> {
    let mut query = specializations::table
        .select(specializations::id)
        .into_boxed();
    query = match Uuid::parse_str(key) {
        Ok(id) => query.filter(specializations::id.eq(id)),
        Err(_) => query.filter(specializations::slug.eq(key.to_owned())),
    };
    query.first(conn).optional()
}

pub fn find_specializations(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> QueryResult<Vec<Specialization>> {
    specializations::table
        .filter(specializations::id.eq_any(ids))
        .select(Specialization::as_select())
        .load(conn)
}

#[derive(AsChangeset, Default, Debug)]
#[diesel(table_name = specializations)]
pub struct SpecializationChanges {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub icon: Option<String>,
}

pub fn lock_specialization(
    conn: &mut PgConnection,
    id: Uuid,
) -> QueryResult<Option<Specialization>> {
    specializations::table
        .find(id)
        .select(Specialization::as_select())
        .for_update()
        .first(conn)
        .optional()
}

/// Changes a specialization and bumps its version in the same statement.
pub fn update_specialization(
    conn: &mut PgConnection,
    id: Uuid,
    changes: &SpecializationChanges,
) -> QueryResult<Specialization> {
    diesel::update(specializations::table.find(id))
        .set((
            changes,
            specializations::version.eq(specializations::version + 1),
        ))
        .returning(Specialization::as_returning())
        .get_result(conn)
}

pub fn delete_specialization(conn: &mut PgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::delete(specializations::table.find(id)).execute(conn)
}
