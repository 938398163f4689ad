//! Events: what may be subscribed to, and `emit`, which stores a message once
//! and enqueues one delivery per subscribed endpoint inside the caller's
//! transaction (a rolled-back write sends nothing).

use chrono::Utc;
use diesel::PgConnection;
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::delivery::{DELIVER_JOB, MAX_ATTEMPTS};
use crate::db::appointments::{Appointment, AppointmentStatus};
use crate::db::jobs::{enqueue, enqueue_many, NewJob};
use crate::db::webhooks::{self as store, Message};
use crate::error::ApiError;

/// Every event type an endpoint may subscribe to (or `*` for all).
pub const EVENTS: &[&str] = &[
    "page.published",
    "page.unpublished",
    "lead.created",
    "appointment.created",
    "appointment.updated",
    "appointment.cancelled",
    "review.created",
    "review.published",
    "experiment.started",
    "experiment.completed",
    "media.ready",
    "webhook.test",
];

/// Sends `event_type` about `data` (the resource as the api answers it) to
/// every enabled endpoint of the tenant subscribed to it. Stores nothing when
/// none is.
pub fn emit<T: Serialize>(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    event_type: &str,
    data: &T,
) -> Result<(), ApiError> {
    debug_assert!(EVENTS.contains(&event_type), "unknown event {event_type}");
    let endpoints = store::subscribed(conn, event_type)?;
    if endpoints.is_empty() {
        return Ok(());
    }
    let message = store_message(conn, tenant_id, event_type, data)?;
    // One statement for every subscribed endpoint's delivery.
    let deliveries: Vec<NewJob> = endpoints
        .into_iter()
        .map(|endpoint| delivery_job(tenant_id, message.id, endpoint, None))
        .collect();
    enqueue_many(conn, &deliveries)?;
    Ok(())
}

/// An appointment's change: `appointment.cancelled` when it was cancelled,
/// `appointment.updated` otherwise.
pub fn emit_appointment_change(
    conn: &mut PgConnection,
    before: &Appointment,
    after: &Appointment,
) -> Result<(), ApiError> {
    let cancelled = after.status == AppointmentStatus::Cancelled
        && before.status != AppointmentStatus::Cancelled;
    let event = if cancelled {
        "appointment.cancelled"
    } else {
        "appointment.updated"
    };
    emit(conn, after.tenant_id, event, after)
}

/// Stores one message: `{"type", "timestamp", "data"}`.
pub fn store_message<T: Serialize>(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    event_type: &str,
    data: &T,
) -> Result<Message, ApiError> {
    let now = Utc::now();
    let data = serde_json::to_value(data).map_err(ApiError::internal)?;
    Ok(store::insert_message(
        conn,
        &Message {
            id: Uuid::now_v7(),
            tenant_id,
            event_type: event_type.to_owned(),
            payload: json!({
                "type": event_type,
                "timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "data": data,
            }),
            created_at: now,
        },
    )?)
}

/// Enqueues the delivery of `message` to `endpoint` (queue `webhooks`), once
/// per pair; a `replay` is a further delivery of the same message.
pub fn enqueue_delivery(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    message: Uuid,
    endpoint: Uuid,
    replay: Option<Uuid>,
) -> Result<Option<Uuid>, ApiError> {
    Ok(enqueue(
        conn,
        &delivery_job(tenant_id, message, endpoint, replay),
    )?)
}

/// The job delivering `message` to `endpoint` (once per replay).
fn delivery_job(tenant_id: Uuid, message: Uuid, endpoint: Uuid, replay: Option<Uuid>) -> NewJob {
    let key = match replay {
        None => format!("webhook:{message}:{endpoint}"),
        Some(replay) => format!("webhook:{message}:{endpoint}:replay:{replay}"),
    };
    NewJob::new(
        tenant_id,
        DELIVER_JOB,
        json!({"message_id": message, "endpoint_id": endpoint}),
    )
    .queue("webhooks")
    .max_attempts(MAX_ATTEMPTS)
    .unique(key)
}
