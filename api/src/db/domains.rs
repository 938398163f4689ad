//! Queries on `domains`: the hosts a site answers on (tenant-owned).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::schema::domains;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, ToSchema)]
#[diesel(table_name = domains)]
pub struct Domain {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub site_id: Uuid,
    /// Normalised host name (lowercase, no port).
    pub host: String,
    pub is_primary: bool,
    pub created_at: DateTime<Utc>,
}

pub fn list_for_site(conn: &mut PgConnection, site_id: Uuid) -> QueryResult<Vec<Domain>> {
    domains::table
        .filter(domains::site_id.eq(site_id))
        .select(Domain::as_select())
        .order(domains::host)
        .load(conn)
}

pub fn find(conn: &mut PgConnection, site_id: Uuid, id: Uuid) -> QueryResult<Option<Domain>> {
    domains::table
        .filter(domains::site_id.eq(site_id).and(domains::id.eq(id)))
        .select(Domain::as_select())
        .first(conn)
        .optional()
}

/// Adds a host; a new primary host demotes the site's previous one.
pub fn insert(conn: &mut PgConnection, domain: &Domain) -> QueryResult<Domain> {
    if domain.is_primary {
        diesel::update(domains::table.filter(domains::site_id.eq(domain.site_id)))
            .set(domains::is_primary.eq(false))
            .execute(conn)?;
    }
    diesel::insert_into(domains::table)
        .values(domain)
        .returning(Domain::as_returning())
        .get_result(conn)
}

pub fn delete(conn: &mut PgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::delete(domains::table.find(id)).execute(conn)
}
