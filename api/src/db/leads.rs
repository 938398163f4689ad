//! Queries on `leads`: lead-form submissions of a site (tenant-owned).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::schema::leads;
use crate::db::cursor::PageRequest;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, ToSchema)]
#[diesel(table_name = leads)]
pub struct Lead {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub site_id: Uuid,
    pub page_id: Option<Uuid>,
    pub path: String,
    pub variant: Option<String>,
    pub visitor_id: Option<String>,
    /// `name`, `phone`, `email`, `comment` as the visitor typed them.
    #[schema(value_type = HashMap<String, serde_json::Value>)]
    pub fields: Value,
    /// The UTM parameters of the visit.
    #[schema(value_type = HashMap<String, serde_json::Value>)]
    pub utm: Value,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Inserts `lead` unless the site already has one with its idempotency key;
/// answers the stored lead and whether it is new.
pub fn insert_once(conn: &mut PgConnection, lead: &Lead) -> QueryResult<(Lead, bool)> {
    let inserted = diesel::insert_into(leads::table)
        .values(lead)
        .on_conflict_do_nothing()
        .returning(Lead::as_returning())
        .get_result(conn)
        .optional()?;
    if let Some(inserted) = inserted {
        return Ok((inserted, true));
    }
    let existing = leads::table
        .filter(leads::site_id.eq(lead.site_id))
        .filter(leads::idempotency_key.eq(&lead.idempotency_key))
        .select(Lead::as_select())
        .first(conn)?;
    Ok((existing, false))
}

pub fn list_for_site(
    conn: &mut PgConnection,
    site_id: Uuid,
    page: &PageRequest,
) -> QueryResult<Vec<Lead>> {
    let mut query = leads::table
        .filter(leads::site_id.eq(site_id))
        .select(Lead::as_select())
        .order(leads::id.desc())
        .limit(page.fetch_limit())
        .into_boxed();
    if let Some(before) = page.after {
        query = query.filter(leads::id.lt(before));
    }
    query.load(conn)
}
