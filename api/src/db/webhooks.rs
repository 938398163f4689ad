//! Queries on `webhook_endpoints`, `webhook_messages` and `webhook_attempts`
//! (tenant-owned: RLS limits every query to the current tenant). Secrets are
//! read here for signing but never serialized.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::cursor::PageRequest;
use super::schema::{webhook_attempts, webhook_endpoints, webhook_messages};

/// An endpoint as the api shows it: its secrets are never serialized.
// `Debug` is written by hand below, to keep the secrets out of logs.
#[derive(Clone, Queryable, Selectable, Insertable, Serialize, ToSchema)]
#[diesel(table_name = webhook_endpoints)]
pub struct Endpoint {
    pub id: Uuid,
    #[serde(skip)]
    pub tenant_id: Uuid,
    pub url: String,
    pub description: String,
    /// Event types it receives (`page.published`), or `*` for all.
    pub events: Vec<String>,
    pub enabled: bool,
    /// Why it was disabled (`410 Gone`, failing for 5 days), when it was.
    pub disabled_reason: Option<String>,
    #[serde(skip)]
    pub secret: String,
    #[serde(skip)]
    pub previous_secret: Option<String>,
    /// Until when deliveries also carry the signature of the previous secret.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// Since when every delivery failed.
    pub failing_since: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("id", &self.id)
            .field("tenant_id", &self.tenant_id)
            .field("url", &self.url)
            .field("events", &self.events)
            .field("enabled", &self.enabled)
            .field("secret", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// Changes to an endpoint; `None` leaves a field alone (`Debug` omits secrets).
#[derive(Clone, Default, AsChangeset)]
#[diesel(table_name = webhook_endpoints)]
pub struct EndpointChanges {
    pub url: Option<String>,
    pub description: Option<String>,
    pub events: Option<Vec<String>>,
    pub enabled: Option<bool>,
    pub disabled_reason: Option<Option<String>>,
    pub secret: Option<String>,
    pub previous_secret: Option<Option<String>>,
    pub previous_secret_expires_at: Option<Option<DateTime<Utc>>>,
    pub failing_since: Option<Option<DateTime<Utc>>>,
}

impl std::fmt::Debug for EndpointChanges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndpointChanges")
            .field("url", &self.url)
            .field("events", &self.events)
            .field("enabled", &self.enabled)
            .field("rotates_secret", &self.secret.is_some())
            .finish_non_exhaustive()
    }
}

/// One event as sent: the same `webhook-id` on every attempt and replay.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = webhook_messages)]
pub struct Message {
    pub id: Uuid,
    #[serde(skip)]
    pub tenant_id: Uuid,
    pub event_type: String,
    pub payload: Value,
    pub created_at: DateTime<Utc>,
}

/// One delivery attempt of a message to an endpoint.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, ToSchema)]
#[diesel(table_name = webhook_attempts)]
pub struct Attempt {
    #[serde(skip)]
    pub id: Uuid,
    #[serde(skip)]
    pub tenant_id: Uuid,
    #[serde(skip)]
    pub message_id: Uuid,
    #[serde(skip)]
    pub endpoint_id: Uuid,
    pub attempt: i32,
    /// The HTTP status answered; none when no answer came.
    pub status_code: Option<i32>,
    pub duration_ms: i32,
    /// The first 2 KB of the answer.
    pub response: String,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
}

pub fn insert(conn: &mut PgConnection, endpoint: &Endpoint) -> QueryResult<Endpoint> {
    diesel::insert_into(webhook_endpoints::table)
        .values(endpoint)
        .returning(Endpoint::as_returning())
        .get_result(conn)
}

/// A page of the tenant's endpoints, oldest first.
pub fn list(conn: &mut PgConnection, page: &PageRequest) -> QueryResult<Vec<Endpoint>> {
    let mut query = webhook_endpoints::table
        .order(webhook_endpoints::id)
        .limit(page.fetch_limit())
        .select(Endpoint::as_select())
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(webhook_endpoints::id.gt(after));
    }
    query.load(conn)
}

/// Clears `failing_since` after a successful delivery, if it is set (no
/// lock taken otherwise).
pub fn clear_failing(conn: &mut PgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::update(
        webhook_endpoints::table
            .find(id)
            .filter(webhook_endpoints::failing_since.is_not_null()),
    )
    .set((
        webhook_endpoints::failing_since.eq(None::<DateTime<Utc>>),
        webhook_endpoints::version.eq(webhook_endpoints::version + 1),
        webhook_endpoints::updated_at.eq(Utc::now()),
    ))
    .execute(conn)
}

/// Whether the tenant has any endpoint.
pub fn any(conn: &mut PgConnection) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        webhook_endpoints::table.select(webhook_endpoints::id),
    ))
    .get_result(conn)
}

pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Endpoint>> {
    webhook_endpoints::table
        .find(id)
        .select(Endpoint::as_select())
        .first(conn)
        .optional()
}

pub fn lock(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Endpoint>> {
    webhook_endpoints::table
        .find(id)
        .select(Endpoint::as_select())
        .for_update()
        .first(conn)
        .optional()
}

pub fn update(
    conn: &mut PgConnection,
    id: Uuid,
    changes: &EndpointChanges,
) -> QueryResult<Endpoint> {
    diesel::update(webhook_endpoints::table.find(id))
        .set((
            changes,
            webhook_endpoints::version.eq(webhook_endpoints::version + 1),
            webhook_endpoints::updated_at.eq(Utc::now()),
        ))
        .returning(Endpoint::as_returning())
        .get_result(conn)
}

pub fn delete(conn: &mut PgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::delete(webhook_endpoints::table.find(id)).execute(conn)
}

/// The enabled endpoints that receive `event_type` (by name or `*`).
pub fn subscribed(conn: &mut PgConnection, event_type: &str) -> QueryResult<Vec<Uuid>> {
    let names = vec![event_type.to_owned(), "*".to_owned()];
    webhook_endpoints::table
        .filter(webhook_endpoints::enabled.eq(true))
        .filter(webhook_endpoints::events.overlaps_with(names))
        .order(webhook_endpoints::id)
        .select(webhook_endpoints::id)
        .load(conn)
}

pub fn insert_message(conn: &mut PgConnection, message: &Message) -> QueryResult<Message> {
    diesel::insert_into(webhook_messages::table)
        .values(message)
        .returning(Message::as_returning())
        .get_result(conn)
}

pub fn find_message(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Message>> {
    webhook_messages::table
        .find(id)
        .select(Message::as_select())
        .first(conn)
        .optional()
}

pub fn insert_attempt(conn: &mut PgConnection, attempt: &Attempt) -> QueryResult<()> {
    diesel::insert_into(webhook_attempts::table)
        .values(attempt)
        .execute(conn)
        .map(|_| ())
}

/// The newest `limit` messages attempted to `endpoint`, each with its
/// attempts in order.
/// A page of the messages sent to `endpoint`, newest first (the cursor
/// continues with older ones), each with its attempts.
pub fn log(
    conn: &mut PgConnection,
    endpoint: Uuid,
    page: &PageRequest,
) -> QueryResult<Vec<(Message, Vec<Attempt>)>> {
    let mut query = webhook_messages::table
        .filter(
            webhook_messages::id.eq_any(
                webhook_attempts::table
                    .filter(webhook_attempts::endpoint_id.eq(endpoint))
                    .select(webhook_attempts::message_id),
            ),
        )
        .order(webhook_messages::id.desc())
        .limit(page.fetch_limit())
        .select(Message::as_select())
        .into_boxed();
    if let Some(before) = page.after {
        query = query.filter(webhook_messages::id.lt(before));
    }
    let messages: Vec<Message> = query.load(conn)?;
    let ids: Vec<Uuid> = messages.iter().map(|message| message.id).collect();
    let attempts: Vec<Attempt> = webhook_attempts::table
        .filter(webhook_attempts::endpoint_id.eq(endpoint))
        .filter(webhook_attempts::message_id.eq_any(ids))
        .order(webhook_attempts::id)
        .select(Attempt::as_select())
        .load(conn)?;
    Ok(messages
        .into_iter()
        .map(|message| {
            let own = attempts
                .iter()
                .filter(|attempt| attempt.message_id == message.id)
                .cloned()
                .collect();
            (message, own)
        })
        .collect())
}
