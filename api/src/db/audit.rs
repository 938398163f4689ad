//! The audit trail: every write appends one row in the same transaction as the
//! write itself, so either both happen or neither does.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::schema::audit_log;
use crate::error::ApiError;
use crate::http::pagination::PageRequest;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, ToSchema)]
#[diesel(table_name = audit_log)]
pub struct AuditEntry {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub actor_user_id: Option<Uuid>,
    /// `<entity>.<verb>`, e.g. `site.update`.
    pub action: String,
    pub entity_type: String,
    pub entity_id: Uuid,
    #[schema(value_type = Option<Object>)]
    pub before: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<Value>,
    pub request_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Who did it, from the request: carried into every audited write.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Uuid,
    pub request_id: Option<String>,
}

/// Appends an audit record of `action` on an entity; `before`/`after` are the
/// entity's JSON representations around the change.
pub fn record<B: Serialize, A: Serialize>(
    conn: &mut PgConnection,
    actor: &Actor,
    tenant_id: Uuid,
    action: &str,
    entity_id: Uuid,
    before: Option<&B>,
    after: Option<&A>,
) -> Result<(), ApiError> {
    let entity_type = action.split('.').next().unwrap_or(action).to_owned();
    let entry = AuditEntry {
        id: Uuid::now_v7(),
        tenant_id,
        actor_user_id: Some(actor.user_id),
        action: action.to_owned(),
        entity_type,
        entity_id,
        before: before
            .map(serde_json::to_value)
            .transpose()
            .map_err(ApiError::internal)?,
        after: after
            .map(serde_json::to_value)
            .transpose()
            .map_err(ApiError::internal)?,
        request_id: actor.request_id.clone(),
        created_at: Utc::now(),
    };
    diesel::insert_into(audit_log::table)
        .values(&entry)
        .execute(conn)?;
    Ok(())
}

pub fn list(conn: &mut PgConnection, page: &PageRequest) -> QueryResult<Vec<AuditEntry>> {
    let mut query = audit_log::table
        .select(AuditEntry::as_select())
        .order(audit_log::id.desc())
        .limit(page.fetch_limit())
        .into_boxed();
    if let Some(before) = page.after {
        query = query.filter(audit_log::id.lt(before));
    }
    query.load(conn)
}
