//! Queries on `tenants`: the registry of corporate clients (not tenant-owned).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::schema::tenants;
use crate::db::cursor::PageRequest;

#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = tenants)]
pub struct Tenant {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    /// `active` or `suspended` (members of a suspended tenant cannot log in to it).
    pub status: String,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Insertable)]
#[diesel(table_name = tenants)]
pub struct NewTenant<'a> {
    pub id: Uuid,
    pub slug: &'a str,
    pub name: &'a str,
}

#[derive(AsChangeset, Default)]
#[diesel(table_name = tenants)]
pub struct TenantChanges {
    pub name: Option<String>,
    pub status: Option<String>,
}

pub fn list(conn: &mut PgConnection, page: &PageRequest) -> QueryResult<Vec<Tenant>> {
    let mut query = tenants::table
        .select(Tenant::as_select())
        .order(tenants::id)
        .limit(page.fetch_limit())
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(tenants::id.gt(after));
    }
    query.load(conn)
}

pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Tenant>> {
    tenants::table
        .find(id)
        .select(Tenant::as_select())
        .first(conn)
        .optional()
}

/// Finds a tenant by its slug or, when `key` parses as one, its id.
pub fn find_by_key(conn: &mut PgConnection, key: &str) -> QueryResult<Option<Tenant>> {
    match Uuid::parse_str(key) {
        Ok(id) => find(conn, id),
        Err(_) => tenants::table
            .filter(tenants::slug.eq(key))
            .select(Tenant::as_select())
            .first(conn)
            .optional(),
    }
}

pub fn insert(conn: &mut PgConnection, tenant: &NewTenant) -> QueryResult<Tenant> {
    diesel::insert_into(tenants::table)
        .values(tenant)
        .returning(Tenant::as_returning())
        .get_result(conn)
}

pub fn lock(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Tenant>> {
    tenants::table
        .find(id)
        .select(Tenant::as_select())
        .for_update()
        .first(conn)
        .optional()
}

pub fn update(conn: &mut PgConnection, id: Uuid, changes: &TenantChanges) -> QueryResult<Tenant> {
    diesel::update(tenants::table.find(id))
        .set((
            changes,
            tenants::version.eq(tenants::version + 1),
            tenants::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Tenant::as_returning())
        .get_result(conn)
}

pub fn delete(conn: &mut PgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::delete(tenants::table.find(id)).execute(conn)
}

/// What a tenant's owners and admins set for the tenant itself.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = tenants)]
pub struct TenantSettings {
    /// Origins (`https://admin.example.com`) whose browser apps may call the
    /// management API (CORS), besides the platform's `CMS_ADMIN_ORIGINS`.
    pub allowed_origins: Vec<String>,
    /// The ETag of these settings.
    #[serde(skip)]
    pub version: i32,
}

pub fn lock_settings(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<TenantSettings>> {
    tenants::table
        .find(id)
        .select(TenantSettings::as_select())
        .for_update()
        .first(conn)
        .optional()
}

pub fn settings(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<TenantSettings>> {
    tenants::table
        .find(id)
        .select(TenantSettings::as_select())
        .first(conn)
        .optional()
}

pub fn set_allowed_origins(
    conn: &mut PgConnection,
    id: Uuid,
    origins: &[String],
) -> QueryResult<TenantSettings> {
    diesel::update(tenants::table.find(id))
        .set((
            tenants::allowed_origins.eq(origins),
            tenants::version.eq(tenants::version + 1),
            tenants::updated_at.eq(diesel::dsl::now),
        ))
        .returning(TenantSettings::as_returning())
        .get_result(conn)
}

/// Every origin an active tenant allows (tenants are not tenant-owned rows,
/// so this needs no routing function).
pub fn all_allowed_origins(conn: &mut PgConnection) -> QueryResult<Vec<String>> {
    tenants::table
        .filter(tenants::status.eq("active"))
        .select(diesel::dsl::sql::<diesel::sql_types::Text>(
            "DISTINCT unnest(allowed_origins)",
        ))
        .load(conn)
}
