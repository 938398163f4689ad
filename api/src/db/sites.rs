//! Queries on `sites` (tenant-owned: RLS limits every query to the current tenant).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::schema::sites;
use crate::db::cursor::PageRequest;

#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = sites)]
pub struct Site {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    pub default_locale: String,
    pub locales: Vec<String>,
    /// Design tokens (colours, fonts, logo) the renderer turns into CSS custom properties.
    #[schema(value_type = HashMap<String, serde_json::Value>)]
    pub theme: Value,
    /// Analytics ids (e.g. `{"ga4": "G-XXXX"}`).
    #[schema(value_type = HashMap<String, serde_json::Value>)]
    pub analytics: Value,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Insertable)]
#[diesel(table_name = sites)]
pub struct NewSite {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    pub default_locale: String,
    pub locales: Vec<String>,
    pub theme: Value,
    pub analytics: Value,
}

#[derive(AsChangeset, Default)]
#[diesel(table_name = sites)]
pub struct SiteChanges {
    pub name: Option<String>,
    pub default_locale: Option<String>,
    pub locales: Option<Vec<String>>,
    pub theme: Option<Value>,
    pub analytics: Option<Value>,
}

pub fn list(conn: &mut PgConnection, page: &PageRequest) -> QueryResult<Vec<Site>> {
    let mut query = sites::table
        .select(Site::as_select())
        .order(sites::id)
        .limit(page.fetch_limit())
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(sites::id.gt(after));
    }
    query.load(conn)
}

pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Site>> {
    sites::table
        .find(id)
        .select(Site::as_select())
        .first(conn)
        .optional()
}

pub fn lock(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Site>> {
    sites::table
        .find(id)
        .select(Site::as_select())
        .for_update()
        .first(conn)
        .optional()
}

pub fn insert(conn: &mut PgConnection, site: &NewSite) -> QueryResult<Site> {
    diesel::insert_into(sites::table)
        .values(site)
        .returning(Site::as_returning())
        .get_result(conn)
}

pub fn update(conn: &mut PgConnection, id: Uuid, changes: &SiteChanges) -> QueryResult<Site> {
    diesel::update(sites::table.find(id))
        .set((
            changes,
            sites::version.eq(sites::version + 1),
            sites::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Site::as_returning())
        .get_result(conn)
}

pub fn delete(conn: &mut PgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::delete(sites::table.find(id)).execute(conn)
}

/// Every site id of the tenant in scope (RLS), for announcements that concern
/// all of a tenant's sites.
pub fn ids(conn: &mut PgConnection) -> QueryResult<Vec<Uuid>> {
    sites::table.select(sites::id).order(sites::id).load(conn)
}
