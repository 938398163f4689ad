//! The audit trail: every write appends one row in the same transaction as the
//! write itself, so either both happen or neither does.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::schema::audit_log;
use crate::db::cursor::PageRequest;
use crate::error::ApiError;

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
    #[schema(value_type = Option<HashMap<String, serde_json::Value>>)]
    pub before: Option<Value>,
    #[schema(value_type = Option<HashMap<String, serde_json::Value>>)]
    pub after: Option<Value>,
    pub request_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Who did it, from the request: carried into every audited write.
#[derive(Debug, Clone)]
pub struct Actor {
    /// `None` for the system itself (the scheduler, the CLI).
    pub user_id: Option<Uuid>,
    pub request_id: Option<String>,
}

/// Writes audit records for one actor in one tenant: built from the request's
/// context and moved into the write's transaction.
#[derive(Debug, Clone)]
pub struct Audit {
    pub actor: Actor,
    pub tenant_id: Uuid,
}

impl Audit {
    pub fn created<T: Serialize>(
        &self,
        conn: &mut PgConnection,
        entity: &str,
        id: Uuid,
        after: &T,
    ) -> Result<(), ApiError> {
        self.write(conn, entity, "create", id, None, Some(to_json(after)?))
    }

    pub fn updated<T: Serialize>(
        &self,
        conn: &mut PgConnection,
        entity: &str,
        id: Uuid,
        before: &T,
        after: &T,
    ) -> Result<(), ApiError> {
        self.write(
            conn,
            entity,
            "update",
            id,
            Some(to_json(before)?),
            Some(to_json(after)?),
        )
    }

    /// Another verb than create/update/delete (`page.publish`, `site.clone`).
    pub fn event<T: Serialize>(
        &self,
        conn: &mut PgConnection,
        entity: &str,
        verb: &str,
        id: Uuid,
        before: Option<&T>,
        after: Option<&T>,
    ) -> Result<(), ApiError> {
        let before = before.map(to_json).transpose()?;
        let after = after.map(to_json).transpose()?;
        self.write(conn, entity, verb, id, before, after)
    }

    pub fn deleted<T: Serialize>(
        &self,
        conn: &mut PgConnection,
        entity: &str,
        id: Uuid,
        before: &T,
    ) -> Result<(), ApiError> {
        self.write(conn, entity, "delete", id, Some(to_json(before)?), None)
    }

    fn write(
        &self,
        conn: &mut PgConnection,
        entity: &str,
        verb: &str,
        entity_id: Uuid,
        before: Option<Value>,
        after: Option<Value>,
    ) -> Result<(), ApiError> {
        let entry = AuditEntry {
            id: Uuid::now_v7(),
            tenant_id: self.tenant_id,
            actor_user_id: self.actor.user_id,
            action: format!("{entity}.{verb}"),
            entity_type: entity.to_owned(),
            entity_id,
            before,
            after,
            request_id: self.actor.request_id.clone(),
            created_at: Utc::now(),
        };
        diesel::insert_into(audit_log::table)
            .values(&entry)
            .execute(conn)?;
        Ok(())
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<Value, ApiError> {
    serde_json::to_value(value).map_err(ApiError::internal)
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
