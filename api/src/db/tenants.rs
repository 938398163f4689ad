//! Queries on `tenants`: the registry of corporate clients (not tenant-owned).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::schema::tenants;
use crate::http::pagination::PageRequest;

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
