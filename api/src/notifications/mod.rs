//! Notifications to patients and staff (SMS, email).
//!
//! - Business writes enqueue a `notification.send` job (queue
//!   `notifications`) in their own transaction: a booking that rolls back
//!   sends nothing, one that commits sends one confirmation
//!   (`notify:{appointment}:booked`).
//! - Reminders are jobs with unique keys `reminder:{appointment}:24h` / `:2h`
//!   (per the tenant's offsets), run at the times `schedule` computes in the
//!   clinic's zone; cancelling cancels them, rescheduling moves them.
//! - `send` renders the template (`templates`), records the message in
//!   `notifications`, and hands it to the tenant's provider (`sms`), at most
//!   once per job.
//! - Essential messages (booked, confirmed, cancelled, rescheduled) go to
//!   every patient; reminders are non-essential and skipped for patients who
//!   opted out (`patients.notifications_opt_out`). Staff messages ignore it.

pub mod email;
pub mod phone;
pub mod schedule;
pub mod send;
pub mod sms;
pub mod templates;

use chrono::{Duration, NaiveTime, Utc};
use chrono_tz::Tz;
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::appointments::Appointment;
use crate::db::jobs::{self as job_db, NewJob};
use crate::db::{clinics, notifications as db};
use crate::error::ApiError;
use schedule::QuietHours;

pub const SEND_JOB: &str = "notification.send";
pub const QUEUE: &str = "notifications";

/// What a message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum Event {
    #[serde(rename = "appointment.booked")]
    Booked,
    #[serde(rename = "appointment.confirmed")]
    Confirmed,
    #[serde(rename = "appointment.cancelled")]
    Cancelled,
    #[serde(rename = "appointment.rescheduled")]
    Rescheduled,
    #[serde(rename = "appointment.reminder")]
    Reminder,
    #[serde(rename = "lead.received")]
    LeadReceived,
    #[serde(rename = "review.pending")]
    ReviewPending,
    /// To the tenant's owners: one of their webhook endpoints was disabled.
    #[serde(rename = "webhook.disabled")]
    WebhookDisabled,
}

impl Event {
    pub const ALL: &'static [Event] = &[
        Event::Booked,
        Event::Confirmed,
        Event::Cancelled,
        Event::Rescheduled,
        Event::Reminder,
        Event::LeadReceived,
        Event::ReviewPending,
        Event::WebhookDisabled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Event::Booked => "appointment.booked",
            Event::Confirmed => "appointment.confirmed",
            Event::Cancelled => "appointment.cancelled",
            Event::Rescheduled => "appointment.rescheduled",
            Event::Reminder => "appointment.reminder",
            Event::LeadReceived => "lead.received",
            Event::ReviewPending => "review.pending",
            Event::WebhookDisabled => "webhook.disabled",
        }
    }

    pub fn parse(raw: &str) -> Option<Event> {
        Event::ALL
            .iter()
            .copied()
            .find(|event| event.as_str() == raw)
    }

    /// Sent even to patients who opted out: what changes their visit.
    pub fn essential(self) -> bool {
        !matches!(self, Event::Reminder)
    }

    /// By email to the clinic's staff (or the tenant's owners) rather than
    /// to a patient.
    pub fn to_staff(self) -> bool {
        matches!(
            self,
            Event::LeadReceived | Event::ReviewPending | Event::WebhookDisabled
        )
    }
}

/// How a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Sms,
    Email,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Email => "email",
        }
    }

    pub fn parse(raw: &str) -> Option<Channel> {
        match raw {
            "sms" => Some(Channel::Sms),
            "email" => Some(Channel::Email),
            _ => None,
        }
    }
}

/// How many times a message is tried before its job is discarded.
pub const MAX_ATTEMPTS: i32 = 10;

fn send_job(tenant: Uuid, event: Event, args: serde_json::Value, key: String) -> NewJob {
    let mut args = args;
    args["event"] = event.as_str().into();
    NewJob::new(tenant, SEND_JOB, args)
        .queue(QUEUE)
        .priority(1)
        .max_attempts(MAX_ATTEMPTS)
        .unique(key)
}

fn appointment_job(appointment: &Appointment, event: Event, key: String) -> NewJob {
    send_job(
        appointment.tenant_id,
        event,
        json!({"appointment_id": appointment.id}),
        key,
    )
}

/// A new appointment: its confirmation and its reminders, in the caller's
/// transaction.
pub fn on_booked(conn: &mut PgConnection, appointment: &Appointment) -> Result<(), ApiError> {
    job_db::enqueue(
        conn,
        &appointment_job(
            appointment,
            Event::Booked,
            format!("notify:{}:booked", appointment.id),
        ),
    )?;
    schedule_reminders(conn, appointment)
}

/// An appointment's status changed: confirmed or cancelled tell the patient;
/// cancelling (or any end) cancels its reminders.
pub fn on_status_changed(
    conn: &mut PgConnection,
    before: &Appointment,
    after: &Appointment,
) -> Result<(), ApiError> {
    use crate::db::appointments::AppointmentStatus::*;
    if before.status == after.status {
        return Ok(());
    }
    let event = match after.status {
        Confirmed => Some(Event::Confirmed),
        Cancelled => Some(Event::Cancelled),
        _ => None,
    };
    if matches!(after.status, Cancelled | Completed | NoShow) {
        job_db::cancel_pending(conn, &format!("reminder:{}:", after.id))?;
    }
    if let Some(event) = event {
        let name = event.as_str().trim_start_matches("appointment.");
        job_db::enqueue(
            conn,
            &appointment_job(after, event, format!("notify:{}:{name}", after.id)),
        )?;
    }
    Ok(())
}

/// An appointment moved: its reminders move with it (one already sent, or
/// cancelled because its time had passed, is due again for the new time),
/// and the patient is told.
pub fn on_rescheduled(conn: &mut PgConnection, appointment: &Appointment) -> Result<(), ApiError> {
    job_db::release_started(conn, &format!("reminder:{}:", appointment.id))?;
    job_db::enqueue(
        conn,
        &appointment_job(
            appointment,
            Event::Rescheduled,
            format!(
                "notify:{}:rescheduled:{}",
                appointment.id,
                appointment.starts_at.timestamp()
            ),
        ),
    )?;
    schedule_reminders(conn, appointment)
}

/// The clinic's zone (UTC when it names none we know).
fn clinic_zone(conn: &mut PgConnection, clinic: Uuid) -> Result<Tz, ApiError> {
    Ok(clinics::find(conn, clinic)?
        .and_then(|clinic| clinic.time_zone.parse::<Tz>().ok())
        .unwrap_or(Tz::UTC))
}

/// The zone and quiet hours of the patient of `appointment` (the clinic's
/// zone, the tenant's hours); `None` when the appointment is gone.
pub(crate) fn patient_quiet_hours(
    conn: &mut PgConnection,
    tenant: Uuid,
    appointment: Uuid,
) -> Result<Option<(Tz, QuietHours)>, ApiError> {
    let Some(appointment) = crate::db::appointments::find(conn, appointment)? else {
        return Ok(None);
    };
    let settings = db::settings(conn, tenant)?;
    let zone = clinic_zone(conn, appointment.clinic_id)?;
    Ok(Some((
        zone,
        QuietHours {
            start: settings.quiet_start,
            end: settings.quiet_end,
        },
    )))
}

/// Enqueues or moves the appointment's reminders; one whose time has passed
/// is cancelled (or never enqueued).
pub fn schedule_reminders(
    conn: &mut PgConnection,
    appointment: &Appointment,
) -> Result<(), ApiError> {
    let settings = db::settings(conn, appointment.tenant_id)?;
    let zone = clinic_zone(conn, appointment.clinic_id)?;
    let quiet = QuietHours {
        start: settings.quiet_start,
        end: settings.quiet_end,
    };
    let now = Utc::now();
    for offset in settings.reminder_offsets.iter().copied().filter(|m| *m > 0) {
        let key = format!(
            "reminder:{}:{}",
            appointment.id,
            schedule::offset_label(offset)
        );
        let at = schedule::reminder_at(
            appointment.starts_at,
            Duration::minutes(i64::from(offset)),
            zone,
            quiet,
        );
        if at <= now {
            job_db::cancel_pending(conn, &key)?;
            continue;
        }
        if !job_db::reschedule(conn, &key, at)? {
            job_db::enqueue(
                conn,
                &appointment_job(appointment, Event::Reminder, key).run_at(at),
            )?;
        }
    }
    Ok(())
}

/// A staff message (a lead, a review to moderate) with its template values.
pub fn to_staff(
    conn: &mut PgConnection,
    tenant: Uuid,
    event: Event,
    subject_id: Uuid,
    values: serde_json::Value,
) -> Result<(), ApiError> {
    let name = event.as_str().replace('.', "_");
    job_db::enqueue(
        conn,
        &send_job(
            tenant,
            event,
            json!({"values": values}),
            format!("notify:{subject_id}:{name}"),
        ),
    )?;
    Ok(())
}

/// A new lead tells the clinic's staff (email to the staff address).
pub fn lead_received(
    conn: &mut PgConnection,
    lead: &crate::db::leads::Lead,
    created: bool,
) -> Result<(), ApiError> {
    if !created {
        return Ok(());
    }
    let field = |name: &str| lead.fields[name].as_str().unwrap_or_default().to_owned();
    to_staff(
        conn,
        lead.tenant_id,
        Event::LeadReceived,
        lead.id,
        json!({"name": field("name"), "phone": field("phone"), "email": field("email"),
               "message": field("comment"), "path": lead.path}),
    )
}

/// A review waiting for moderation tells the clinic's staff.
pub fn review_pending(
    conn: &mut PgConnection,
    review: &crate::db::reviews::Review,
    author: &str,
) -> Result<(), ApiError> {
    to_staff(
        conn,
        review.tenant_id,
        Event::ReviewPending,
        review.id,
        json!({"author": author, "rating": review.rating, "text": review.comment}),
    )
}

/// A webhook endpoint was disabled: each of the tenant's owners is told by
/// email (in the transaction that disables it).
pub fn webhook_disabled(
    conn: &mut PgConnection,
    endpoint: &crate::db::webhooks::Endpoint,
    reason: &str,
) -> Result<(), ApiError> {
    let values = json!({"url": endpoint.url, "description": endpoint.description,
                        "reason": reason});
    let batch: Vec<NewJob> = crate::db::users::owner_emails(conn, endpoint.tenant_id)?
        .into_iter()
        .map(|(owner, email)| {
            send_job(
                endpoint.tenant_id,
                Event::WebhookDisabled,
                json!({"values": values, "to": email}),
                // Once per disabling: the version it left the endpoint at.
                format!(
                    "notify:{}:webhook_disabled:{owner}:v{}",
                    endpoint.id, endpoint.version
                ),
            )
        })
        .collect();
    job_db::enqueue_many(conn, &batch)?;
    Ok(())
}

/// Parses `HH:MM` or `HH:MM:SS`.
pub fn parse_time(raw: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(raw, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(raw, "%H:%M:%S"))
        .ok()
}

/// Where a provider of `kind` may send, checked when it is saved: an SMS
/// provider's `base_url` must be its public API's host or a host the
/// operator allows, and (like an SMTP server's host) resolve to public
/// addresses only; an SMTP provider needs a `base_url` unless the operator
/// configured a relay. 422 naming `base_url` otherwise. Sends check again.
pub async fn check_provider_address(
    guard: &crate::outbound::Outbound,
    relay: Option<&str>,
    kind: &str,
    base_url: Option<&str>,
    sender: &str,
) -> Result<(), ApiError> {
    let refused = |why: String| ApiError::invalid("base_url", why);
    if kind == "smtp" {
        let Some(url) = base_url else {
            return match relay {
                Some(_) => Ok(()),
                None => Err(refused(
                    "is required: this server has no mail relay (CMS_SMTP_RELAY_URL), so the \
                     smtp provider must name its server (smtps://host or \
                     smtp://host:587?tls=required)"
                        .into(),
                )),
            };
        };
        let smtp = email::Smtp::from_url(url, sender).map_err(refused)?;
        let (host, port) = smtp.host_and_port().map_err(refused)?;
        guard.resolve(&host, port).await.map_err(refused)?;
        return Ok(());
    }
    let Some(raw) = base_url else {
        return Ok(());
    };
    let url = reqwest::Url::parse(raw).map_err(|_| refused("is not a URL".into()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(refused("must be an http or https URL".into()));
    }
    let host = url
        .host_str()
        .ok_or_else(|| refused("names no host".into()))?;
    let default_host = sms::default_url(kind)
        .and_then(|default| reqwest::Url::parse(default).ok())
        .and_then(|default| default.host_str().map(str::to_owned));
    if !guard.provider_host_allowed(host, default_host.as_deref()) {
        return Err(refused(format!(
            "may only point at the provider's API ({}) or a host the operator allows \
             (CMS_OUTBOUND_ALLOW_HOSTS)",
            default_host.unwrap_or_default()
        )));
    }
    guard.resolve_url(&url).await.map_err(refused)?;
    Ok(())
}

/// Sends a message again, as a new message with a job of its own, because a
/// person decided to: the way out for a message whose outcome is `unknown`
/// (it may have reached the patient, so nothing resends it by itself) or
/// that `failed`. Audited on the original. 409 for any other status.
pub fn resend(
    conn: &mut PgConnection,
    audit: &crate::db::audit::Audit,
    id: Uuid,
) -> Result<db::Notification, ApiError> {
    let original = db::lock(conn, id)?.ok_or(ApiError::NotFound)?;
    if !matches!(original.status.as_str(), "unknown" | "failed") {
        return Err(ApiError::Conflict(format!(
            "the message is {}: only one that failed or whose outcome is unknown is resent",
            original.status
        )));
    }
    let job = NewJob::new(
        original.tenant_id,
        SEND_JOB,
        json!({"event": original.event, "resend_of": id}),
    )
    .queue(QUEUE)
    .priority(1)
    .max_attempts(MAX_ATTEMPTS);
    let job_id = job_db::enqueue(conn, &job)?
        .ok_or_else(|| ApiError::internal("a resend job without a unique key was not inserted"))?;
    let copy = db::Notification {
        id: Uuid::now_v7(),
        job_id,
        status: "pending".into(),
        provider: None,
        provider_message_id: None,
        provider_status: None,
        error: None,
        created_at: Utc::now(),
        sent_at: None,
        ..original
    };
    let copy = db::insert(conn, &copy)?;
    audit.event(
        conn,
        "notification",
        "resend",
        id,
        None,
        Some(&json!({"resent_as": copy.id, "job_id": job_id})),
    )?;
    Ok(copy)
}
