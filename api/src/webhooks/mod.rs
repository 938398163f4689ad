//! Outgoing webhooks (Standard Webhooks): endpoints a tenant registers, the
//! events they subscribe to (`events`), signed deliveries with Svix's retry
//! schedule (`delivery`, `signing`); every URL passes the outbound guard
//! (`crate::outbound`) when saved and before each send.
//! Secrets are answered once, at creation and rotation, and never logged.

pub mod bench;
pub mod delivery;
pub mod events;
pub mod signing;

use chrono::{DateTime, Duration, Utc};
use diesel::PgConnection;
use reqwest::Url;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

pub use events::{emit, emit_appointment_change, EVENTS};

use crate::db::audit::Audit;
use crate::db::cursor::PageRequest;
use crate::db::webhooks::{self as store, Attempt, Endpoint, EndpointChanges, Message};
use crate::error::{ApiError, FieldError};
use crate::http::etag::IfMatch;
use crate::outbound::Outbound;
use crate::secrets::Keys;

/// How long a rotated-out secret keeps signing deliveries.
pub const ROTATION_GRACE_HOURS: i64 = 24;
/// At most this many event types per endpoint.
pub const MAX_EVENTS: usize = 50;

/// Field errors of an event filter: known names or `*`, at least one.
pub fn validate_events(errors: &mut Vec<FieldError>, events: &[String]) {
    if events.is_empty() || events.len() > MAX_EVENTS {
        errors.push(FieldError::new(
            "events",
            format!("must list 1 to {MAX_EVENTS} event types (or \"*\" for all)"),
        ));
    }
    for (index, event) in events.iter().enumerate() {
        if event != "*" && !EVENTS.contains(&event.as_str()) {
            errors.push(FieldError::new(
                &format!("events.{index}"),
                format!(
                    "is not an event type (one of {}, or \"*\")",
                    EVENTS.join(", ")
                ),
            ));
        }
    }
}

/// Why `raw` is not a webhook URL, if it is not: http(s), with a host, no
/// credentials, at most 2000 characters.
pub fn parse_url(raw: &str) -> Result<Url, String> {
    if raw.len() > 2000 {
        return Err("must be at most 2000 characters".into());
    }
    let url = Url::parse(raw).map_err(|err| format!("is not a URL: {err}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must be an http or https URL".into());
    }
    if url.host().is_none() {
        return Err("must name a host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials".into());
    }
    Ok(url)
}

/// Checks `raw` as a URL and its addresses against the outbound guard: 422
/// on `url`.
pub async fn check_url(raw: &str, guard: &Outbound) -> Result<String, ApiError> {
    let url = parse_url(raw).map_err(|reason| ApiError::invalid("url", reason))?;
    guard
        .resolve_url(&url)
        .await
        .map_err(|reason| ApiError::invalid("url", reason))?;
    Ok(url.to_string())
}

/// An endpoint with its secret, answered once (creation, rotation).
// No `Debug`: it must never reach a log.
#[derive(Serialize, ToSchema)]
pub struct EndpointWithSecret {
    #[serde(flatten)]
    pub endpoint: Endpoint,
    /// `whsec_...`: shown only in this answer; keep it to verify signatures.
    pub secret: String,
}

/// What creating an endpoint takes (already validated).
#[derive(Debug, Clone)]
pub struct NewEndpoint {
    pub url: String,
    pub description: String,
    pub events: Vec<String>,
}

/// Creates an endpoint with a new secret, stored sealed under `keys`.
pub fn create(
    conn: &mut PgConnection,
    audit: &Audit,
    keys: &Keys,
    input: NewEndpoint,
) -> Result<EndpointWithSecret, ApiError> {
    let now = Utc::now();
    let secret = signing::generate_secret();
    let endpoint = store::insert(
        conn,
        &Endpoint {
            id: Uuid::now_v7(),
            tenant_id: audit.tenant_id,
            url: input.url,
            description: input.description,
            events: input.events,
            enabled: true,
            disabled_reason: None,
            secret: signing::seal(keys, audit.tenant_id, &secret),
            previous_secret: None,
            previous_secret_expires_at: None,
            failing_since: None,
            version: 1,
            created_at: now,
            updated_at: now,
        },
    )?;
    audit.created(conn, "webhook_endpoint", endpoint.id, &endpoint)?;
    Ok(EndpointWithSecret { endpoint, secret })
}

/// The demo seed's endpoint: subscribed to everything, disabled until its
/// owner points it at a real receiver. Added once per tenant.
pub fn seed_demo_endpoint(
    conn: &mut PgConnection,
    audit: &Audit,
    keys: &Keys,
) -> Result<(), ApiError> {
    if store::any(conn)? {
        return Ok(());
    }
    let created = create(
        conn,
        audit,
        keys,
        NewEndpoint {
            url: "https://hooks.example.com/cms".into(),
            description: "Demo: point it at your receiver, then enable it".into(),
            events: vec!["*".into()],
        },
    )?;
    update(
        conn,
        audit,
        created.endpoint.id,
        &IfMatch::default(),
        EndpointChanges {
            enabled: Some(false),
            disabled_reason: Some(Some("demo endpoint: not enabled yet".into())),
            ..Default::default()
        },
    )?;
    Ok(())
}

/// Changes endpoint `id` if `if_match` names its current version (412
/// otherwise).
pub fn update(
    conn: &mut PgConnection,
    audit: &Audit,
    id: Uuid,
    if_match: &IfMatch,
    mut changes: EndpointChanges,
) -> Result<Endpoint, ApiError> {
    let before = store::lock(conn, id)?.ok_or(ApiError::NotFound)?;
    if_match.check(before.version)?;
    if changes.enabled == Some(true) {
        // Enabled again by hand: it starts with a clean record.
        changes.disabled_reason = Some(None);
        changes.failing_since = Some(None);
    }
    let after = store::update(conn, id, &changes)?;
    audit.updated(conn, "webhook_endpoint", id, &before, &after)?;
    Ok(after)
}

/// A new secret; the current one keeps signing for 24 hours beside it.
/// Rotating again within those hours lets the older one go at once (the
/// way to retire a leaked secret quickly).
pub fn rotate_secret(
    conn: &mut PgConnection,
    audit: &Audit,
    keys: &Keys,
    id: Uuid,
) -> Result<EndpointWithSecret, ApiError> {
    let before = store::lock(conn, id)?.ok_or(ApiError::NotFound)?;
    let secret = signing::generate_secret();
    // The old secret signs beside the new one for the grace period, sealed
    // now if it was stored in the clear before sealing existed. One that no
    // longer opens (its key dropped) is let go: it could not sign anyway.
    let previous = signing::open(keys, before.tenant_id, &before.secret)
        .ok()
        .map(|plain| signing::seal(keys, before.tenant_id, &plain));
    let expires = previous
        .as_ref()
        .map(|_| Utc::now() + Duration::hours(ROTATION_GRACE_HOURS));
    let after = store::update(
        conn,
        id,
        &EndpointChanges {
            secret: Some(signing::seal(keys, before.tenant_id, &secret)),
            previous_secret: Some(previous),
            previous_secret_expires_at: Some(expires),
            ..Default::default()
        },
    )?;
    audit.event(
        conn,
        "webhook_endpoint",
        "rotate_secret",
        id,
        Some(&before),
        Some(&after),
    )?;
    Ok(EndpointWithSecret {
        endpoint: after,
        secret,
    })
}

pub fn delete(
    conn: &mut PgConnection,
    audit: &Audit,
    id: Uuid,
    if_match: &IfMatch,
) -> Result<(), ApiError> {
    let before = store::lock(conn, id)?.ok_or(ApiError::NotFound)?;
    if_match.check(before.version)?;
    store::delete(conn, id)?;
    audit.deleted(conn, "webhook_endpoint", id, &before)?;
    Ok(())
}

/// Sends a `webhook.test` event to one endpoint, whatever its filter.
pub fn send_test(conn: &mut PgConnection, audit: &Audit, id: Uuid) -> Result<MessageLog, ApiError> {
    let endpoint = store::find(conn, id)?.ok_or(ApiError::NotFound)?;
    let message = events::store_message(
        conn,
        audit.tenant_id,
        "webhook.test",
        &serde_json::json!({"endpoint_id": endpoint.id}),
    )?;
    events::enqueue_delivery(conn, audit.tenant_id, message.id, endpoint.id, None)?;
    audit.event::<Value>(conn, "webhook_endpoint", "test", id, None, None)?;
    Ok(MessageLog::new(message, Vec::new()))
}

/// Sends `message` to endpoint `id` again, under the same `webhook-id`.
pub fn replay(
    conn: &mut PgConnection,
    audit: &Audit,
    id: Uuid,
    message_id: Uuid,
) -> Result<MessageLog, ApiError> {
    let endpoint = store::find(conn, id)?.ok_or(ApiError::NotFound)?;
    let message = store::find_message(conn, message_id)?.ok_or(ApiError::NotFound)?;
    events::enqueue_delivery(
        conn,
        audit.tenant_id,
        message.id,
        endpoint.id,
        Some(Uuid::now_v7()),
    )?;
    audit.event(
        conn,
        "webhook_endpoint",
        "replay",
        id,
        None,
        Some(&serde_json::json!({"message": signing::message_id(message.id)})),
    )?;
    Ok(MessageLog::new(message, Vec::new()))
}

/// A message sent to an endpoint, with every attempt (the delivery log).
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageLog {
    /// The `webhook-id` header: `msg_...`.
    pub id: String,
    pub event_type: String,
    /// The body sent: `{"type", "timestamp", "data"}`.
    #[schema(value_type = HashMap<String, serde_json::Value>)]
    pub payload: Value,
    pub created_at: DateTime<Utc>,
    pub attempts: Vec<Attempt>,
}

impl MessageLog {
    pub fn new(message: Message, attempts: Vec<Attempt>) -> Self {
        MessageLog {
            id: signing::message_id(message.id),
            event_type: message.event_type,
            payload: message.payload,
            created_at: message.created_at,
            attempts,
        }
    }
}

/// The endpoint's newest messages with their attempts.
pub fn log(
    conn: &mut PgConnection,
    id: Uuid,
    page: &PageRequest,
) -> Result<Vec<MessageLog>, ApiError> {
    store::find(conn, id)?.ok_or(ApiError::NotFound)?;
    Ok(store::log(conn, id, page)?
        .into_iter()
        .map(|(message, attempts)| MessageLog::new(message, attempts))
        .collect())
}
