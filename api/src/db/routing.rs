//! The routing functions (see the content migration): answer whose row a
//! public request or the scheduler is about, so the real work can run in that
//! tenant's RLS scope. They reveal nothing but ids.

use diesel::prelude::*;
use diesel::sql_types::{Integer, Nullable, Text, Uuid as SqlUuid};
use uuid::Uuid;

#[derive(QueryableByName)]
struct TenantOf {
    #[diesel(sql_type = Nullable<SqlUuid>)]
    tenant_id: Option<Uuid>,
}

#[derive(Debug, Clone, Copy, QueryableByName)]
pub struct SiteRoute {
    #[diesel(sql_type = SqlUuid)]
    pub site_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub tenant_id: Uuid,
}

#[derive(Debug, Clone, Copy, QueryableByName)]
pub struct DuePage {
    #[diesel(sql_type = SqlUuid)]
    pub page_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub tenant_id: Uuid,
}

pub fn site_tenant(conn: &mut PgConnection, site_id: Uuid) -> QueryResult<Option<Uuid>> {
    Ok(
        diesel::sql_query("SELECT routing_site_tenant($1) AS tenant_id")
            .bind::<SqlUuid, _>(site_id)
            .get_result::<TenantOf>(conn)?
            .tenant_id,
    )
}

pub fn host(conn: &mut PgConnection, host: &str) -> QueryResult<Option<SiteRoute>> {
    diesel::sql_query("SELECT site_id, tenant_id FROM routing_host($1)")
        .bind::<Text, _>(host)
        .get_result::<SiteRoute>(conn)
        .optional()
}

pub fn due_pages(conn: &mut PgConnection, limit: i32) -> QueryResult<Vec<DuePage>> {
    diesel::sql_query("SELECT page_id, tenant_id FROM routing_due_pages($1)")
        .bind::<Integer, _>(limit)
        .load(conn)
}
