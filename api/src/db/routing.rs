//! The routing functions (see the content migration): answer whose row a
//! public request or the scheduler is about, so the real work can run in that
//! tenant's RLS scope. They reveal nothing but ids.

use diesel::prelude::*;
use diesel::sql_types::{Array, Integer, Nullable, Text, Uuid as SqlUuid};
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

#[derive(Debug, QueryableByName)]
pub struct LivePage {
    #[diesel(sql_type = SqlUuid)]
    pub revision_id: Uuid,
    /// The snapshot's JSON text, served as it is.
    #[diesel(sql_type = Text)]
    pub snapshot: String,
    /// The page's running experiments, a JSON array (`[]` for none).
    #[diesel(sql_type = Text)]
    pub experiments: String,
}

/// The live snapshot of a published page; `locale` empty means the site's
/// default. Needs no tenant scope: published content is public.
pub fn live_page(
    conn: &mut PgConnection,
    site_id: Uuid,
    locale: &str,
    path: &str,
) -> QueryResult<Option<LivePage>> {
    diesel::sql_query(
        "SELECT revision_id, snapshot, experiments FROM routing_live_page_experiments($1, $2, $3)",
    )
    .bind::<SqlUuid, _>(site_id)
    .bind::<Text, _>(locale)
    .bind::<Text, _>(path)
    .get_result::<LivePage>(conn)
    .optional()
}

/// Whose an experiment is and what events it accepts.
#[derive(Debug, Clone, QueryableByName)]
pub struct ExperimentRoute {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub tenant_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub site_id: Uuid,
    #[diesel(sql_type = Text)]
    pub status: super::experiments::ExperimentStatus,
    #[diesel(sql_type = Text)]
    pub goal: String,
    #[diesel(sql_type = Array<Text>)]
    pub variant_keys: Vec<String>,
}

/// The experiments among `ids` (unknown ids are simply absent).
pub fn experiments(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<ExperimentRoute>> {
    diesel::sql_query(
        "SELECT id, tenant_id, site_id, status, goal, variant_keys FROM routing_experiments($1)",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .load(conn)
}

#[derive(Debug, QueryableByName)]
struct TenantRow {
    #[diesel(sql_type = SqlUuid)]
    tenant_id: Uuid,
}

/// Tenants with media to clean up: uploads abandoned before `before`, or
/// media deleted by force.
pub fn media_cleanup_tenants(
    conn: &mut PgConnection,
    before: chrono::DateTime<chrono::Utc>,
) -> QueryResult<Vec<Uuid>> {
    let rows: Vec<TenantRow> =
        diesel::sql_query("SELECT tenant_id FROM routing_media_cleanup_tenants($1)")
            .bind::<diesel::sql_types::Timestamptz, _>(before)
            .load(conn)?;
    Ok(rows.into_iter().map(|row| row.tenant_id).collect())
}
