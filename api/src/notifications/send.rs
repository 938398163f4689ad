//! The `notification.send` job: renders the message, records it in
//! `notifications`, and hands it to the tenant's provider at most once.
//!
//! The row is marked `sending` before the provider is called and `sent`
//! with the provider's message id right after. A job that runs again finds
//! its row: `sent` or `skipped` is done; `pending` or `failed` (the provider
//! refused or was unreachable: nothing went out) is sent again; `sending`
//! (the worker died during the call) is sent again only to a provider that
//! takes our idempotency id (SMSC `id`); for the others the outcome is
//! unknown and the job is discarded rather than risk a second message.
//! A retry of a message about a visit that would land in the patient's
//! quiet hours waits for their end.

use chrono::Utc;
use chrono_tz::Tz;
use diesel::PgConnection;
use serde_json::{json, Value};
use uuid::Uuid;

use super::email::{Email, Smtp};
use super::schedule::{self, QuietHours};
use super::sms::{Accepted, Sms, SmsAero, SmsError, SmsProvider, SmsRu, Smsc};
use super::{templates, Channel, Event};
use crate::db::appointments::{self, AppointmentStatus};
use crate::db::notifications::{self as db, Notification, Provider};
use crate::db::{clinics, doctors, services};
use crate::error::ApiError;
use crate::jobs::{exponential_backoff, Handler, JobContext, JobError, JobFuture};
use crate::outbound::{self, Outbound};
use crate::secrets::{Keys, Sealed};

/// The handler. Each provider call gets a client pinned to the address the
/// outbound guard checked just before it.
#[derive(Default)]
pub struct SendNotification;

/// What the job does after its first transaction.
enum Plan {
    /// Nothing (more) to send.
    Done,
    Discard(String),
    Send {
        row: Uuid,
        transport: Box<Transport>,
        /// The patient's zone and quiet hours (messages about a visit).
        quiet: Option<(Tz, QuietHours)>,
    },
}

/// A message ready for its provider.
enum Transport {
    Sms(Box<dyn SmsProvider>, Sms),
    /// `true` when the server is the tenant's own (guarded), `false` for the
    /// operator's relay.
    Email(Smtp, Email, bool),
}

/// A client for one SMS provider call: its base URL resolved through the
/// outbound guard now, connected to at the checked address.
async fn sms_client(
    guard: &Outbound,
    base_url: &str,
    timeout: std::time::Duration,
) -> Result<reqwest::Client, SmsError> {
    let refused = |why: String| SmsError::Permanent(format!("refused: the base_url {why}"));
    let url = reqwest::Url::parse(base_url).map_err(|_| refused("is not a URL".into()))?;
    let addresses = guard.resolve_url(&url).await.map_err(refused)?;
    outbound::pinned_client(&url, addresses[0], timeout)
        .map_err(|_| SmsError::Temporary("cannot build the HTTP client".into()))
}

impl Handler for SendNotification {
    fn run(&self, ctx: JobContext) -> JobFuture {
        Box::pin(async move {
            let event: String = ctx.arg("event")?;
            let event = Event::parse(&event)
                .ok_or_else(|| JobError::Discard(format!("unknown event {event}")))?;
            let appointment: Option<Uuid> = ctx.arg("appointment_id")?;
            let values: Option<Value> = ctx.arg("values")?;
            let to: Option<String> = ctx.arg("to")?;
            let tenant = ctx
                .tenant_id()
                .ok_or_else(|| JobError::Discard("a notification needs a tenant".into()))?;
            let keys = ctx.state.config.secrets();
            let relay = ctx.state.config.smtp_relay_url.clone();
            let job = ctx.job.id;
            let plan = ctx
                .tx(move |conn| {
                    let message = Message {
                        event,
                        appointment,
                        values,
                        to,
                    };
                    prepare(conn, &keys, relay.as_deref(), tenant, job, message)
                })
                .await?;
            let (row, transport, quiet) = match plan {
                Plan::Done => return Ok(()),
                Plan::Discard(reason) => return Err(JobError::Discard(reason)),
                Plan::Send {
                    row,
                    transport,
                    quiet,
                } => (row, transport, quiet),
            };
            let guard = &ctx.state.config.outbound;
            let outcome = match transport.as_ref() {
                Transport::Sms(provider, sms) => match sms_client(
                    guard,
                    provider.base_url(),
                    ctx.state.config.provider_timeout,
                )
                .await
                {
                    Ok(http) => provider.send(&http, sms).await,
                    Err(refused) => Err(refused),
                },
                Transport::Email(smtp, email, own) => smtp
                    .send(email, own.then_some(guard))
                    .await
                    .map(|id| Accepted {
                        message_id: id,
                        status: "accepted".into(),
                    }),
            };
            match outcome {
                Ok(accepted) => {
                    ctx.tx(move |conn| {
                        Ok(db::mark_sent(
                            conn,
                            row,
                            &accepted.message_id,
                            &accepted.status,
                        )?)
                    })
                    .await?;
                    tracing::info!(notification = %row, event = event.as_str(), "notification sent");
                    Ok(())
                }
                Err(err) => {
                    let idempotent = matches!(transport.as_ref(), Transport::Sms(provider, _) if provider.idempotent());
                    let (status, outcome) = match &err {
                        SmsError::Temporary(message) => {
                            ("pending", retry(&ctx, quiet, message.clone()))
                        }
                        SmsError::Permanent(message) => {
                            ("failed", JobError::Discard(message.clone()))
                        }
                        // Asked again with the same idempotency id: the
                        // provider sends it at most once.
                        SmsError::Unknown(message) if idempotent => {
                            ("pending", retry(&ctx, quiet, message.clone()))
                        }
                        // Never again by itself: staff may resend it.
                        SmsError::Unknown(message) => (
                            "unknown",
                            JobError::Discard(format!(
                                "may have been sent, so it is not sent again by itself \
                                 (POST /notifications/{{id}}/resend sends it anew): {message}"
                            )),
                        ),
                    };
                    let message = err.to_string();
                    ctx.tx(move |conn| Ok(db::mark_failed(conn, row, status, &message)?))
                        .await?;
                    tracing::warn!(notification = %row, error = %err, "notification not sent");
                    Err(outcome)
                }
            }
        })
    }
}

/// The next attempt of a message that did not go out: after the queue's
/// usual backoff, or, when that lands in the patient's quiet hours, at their
/// end (a retry is never sent at night).
fn retry(ctx: &JobContext, quiet: Option<(Tz, QuietHours)>, message: String) -> JobError {
    let Some((zone, hours)) = quiet else {
        return JobError::Retry(message);
    };
    let backoff = exponential_backoff(ctx.job.attempt, ctx.state.config.job_backoff_base);
    let now = Utc::now();
    let at = now + chrono::Duration::from_std(backoff).unwrap_or_default();
    let allowed = schedule::after_quiet_hours(at, zone, hours);
    if allowed == at {
        return JobError::Retry(message);
    }
    JobError::RetryAfter(
        format!("{message} (the next attempt waits for the end of the quiet hours)"),
        (allowed - now).to_std().unwrap_or(backoff),
    )
}

/// Builds the SMS client of a stored provider.
pub fn sms_provider(keys: &Keys, provider: &Provider) -> Result<Box<dyn SmsProvider>, String> {
    let credentials = credentials(keys, provider)?;
    let field = |name: &str| -> Result<String, String> {
        credentials[name]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("the {} provider has no {name}", provider.kind))
    };
    let base = |default: &str| {
        provider
            .base_url
            .clone()
            .unwrap_or_else(|| default.to_owned())
    };
    Ok(match provider.kind.as_str() {
        "sms_ru" => Box::new(SmsRu {
            base_url: base(SmsRu::DEFAULT_URL),
            api_id: field("api_id")?,
        }),
        "smsc" => Box::new(Smsc {
            base_url: base(Smsc::DEFAULT_URL),
            login: field("login")?,
            password: field("password")?,
        }),
        "smsaero" => Box::new(SmsAero {
            base_url: base(SmsAero::DEFAULT_URL),
            email: field("email")?,
            api_key: field("api_key")?,
        }),
        other => return Err(format!("{other} does not send SMS")),
    })
}

/// What a job's arguments ask to send.
struct Message {
    event: Event,
    /// The appointment of a patient's message.
    appointment: Option<Uuid>,
    /// The template values of a staff message.
    values: Option<Value>,
    /// The address of a staff message sent to someone else than the staff
    /// address (a tenant owner).
    to: Option<String>,
}

/// Reads what to send and records it, in the job's first transaction.
fn prepare(
    conn: &mut PgConnection,
    keys: &Keys,
    relay: Option<&str>,
    tenant: Uuid,
    job: Uuid,
    message: Message,
) -> Result<Plan, ApiError> {
    let row = match db::by_job(conn, job)? {
        Some(row) => match row.status.as_str() {
            "sent" | "skipped" => return Ok(Plan::Done),
            _ => row,
        },
        None => match compose(conn, tenant, job, message)? {
            Some(row) => db::insert(conn, &row)?,
            None => return Ok(Plan::Done),
        },
    };
    if row.status == "skipped" {
        return Ok(Plan::Done);
    }
    let channel = Channel::parse(&row.channel).unwrap_or(Channel::Sms);
    let Some(stored) = db::provider_for(conn, channel.as_str())? else {
        let reason = format!("no {} provider is configured", channel.as_str());
        db::mark_failed(conn, row.id, "skipped", &reason)?;
        return Ok(Plan::Done);
    };
    let transport = match channel {
        Channel::Sms => sms_provider(keys, &stored).map(|provider| {
            let sms = Sms {
                to: row.recipient.clone(),
                text: row.body.clone(),
                sender: stored.sender.clone(),
                idempotency_id: job.simple().to_string(),
            };
            Transport::Sms(provider, sms)
        }),
        Channel::Email => smtp(keys, &stored, relay).map(|(smtp, own)| {
            let email = Email {
                to: row.recipient.clone(),
                subject: row.subject.clone(),
                body: row.body.clone(),
                id: job.simple().to_string(),
            };
            Transport::Email(smtp, email, own)
        }),
    };
    let transport = match transport {
        Ok(transport) => transport,
        Err(reason) => {
            db::mark_failed(conn, row.id, "failed", &reason)?;
            return Ok(Plan::Discard(reason));
        }
    };
    let idempotent = matches!(&transport, Transport::Sms(provider, _) if provider.idempotent());
    if row.status == "sending" && !idempotent {
        let reason = "the worker stopped while the provider was called; it may have sent the \
                      message, so it is not sent again";
        db::mark_failed(conn, row.id, "failed", reason)?;
        return Ok(Plan::Discard(reason.into()));
    }
    db::mark_sending(conn, row.id, &stored.kind)?;
    let quiet = match row.appointment_id {
        Some(appointment) => super::patient_quiet_hours(conn, tenant, appointment)?,
        None => None,
    };
    Ok(Plan::Send {
        row: row.id,
        transport: Box::new(transport),
        quiet,
    })
}

/// The SMTP client of a stored `smtp` provider, and whether its server is
/// the tenant's own (`base_url`) rather than the operator's relay.
fn smtp(keys: &Keys, provider: &Provider, relay: Option<&str>) -> Result<(Smtp, bool), String> {
    let credentials = credentials(keys, provider)?;
    let (url, own) = match (provider.base_url.as_deref(), relay) {
        (Some(url), _) => (url, true),
        (None, Some(relay)) => (relay, false),
        (None, None) => {
            return Err(
                "the smtp provider names no base_url and the server has no mail \
                        relay (CMS_SMTP_RELAY_URL)"
                    .into(),
            )
        }
    };
    let mut smtp = Smtp::from_url(url, &provider.sender)?;
    if let (Some(username), Some(password)) = (
        credentials["username"].as_str(),
        credentials["password"].as_str(),
    ) {
        smtp.login(username.to_owned(), password.to_owned())?;
    }
    Ok((smtp, own))
}

fn credentials(keys: &Keys, provider: &Provider) -> Result<Value, String> {
    let sealed = Sealed {
        key_id: provider.key_id.clone(),
        nonce: provider.nonce.clone(),
        ciphertext: provider.ciphertext.clone(),
    };
    keys.open(provider.tenant_id, &sealed)
        .map_err(|err| err.to_string())
        .and_then(|bytes| {
            serde_json::from_slice(&bytes).map_err(|_| "credentials are not JSON".into())
        })
}

/// The message a job sends, rendered; `None` when there is nothing to send
/// (the appointment is gone, or a reminder for a visit that will not happen).
fn compose(
    conn: &mut PgConnection,
    tenant: Uuid,
    job: Uuid,
    message: Message,
) -> Result<Option<Notification>, ApiError> {
    let Message {
        event,
        appointment: appointment_id,
        values,
        to,
    } = message;
    let settings = db::settings(conn, tenant)?;
    let mut row = Notification {
        id: Uuid::now_v7(),
        tenant_id: tenant,
        job_id: job,
        channel: Channel::Sms.as_str().into(),
        recipient: String::new(),
        event: event.as_str().into(),
        appointment_id,
        subject: String::new(),
        body: String::new(),
        status: "pending".into(),
        provider: None,
        provider_message_id: None,
        provider_status: None,
        error: None,
        created_at: Utc::now(),
        sent_at: None,
    };
    let values = if event.to_staff() {
        row.channel = Channel::Email.as_str().into();
        row.recipient = to
            .or_else(|| settings.staff_email.clone())
            .unwrap_or_default();
        if row.recipient.is_empty() {
            row.status = "skipped".into();
            row.error = Some("no staff address is configured".into());
        }
        values.unwrap_or_else(|| json!({}))
    } else {
        let Some(appointment) = appointment_id
            .map(|id| appointments::find(conn, id))
            .transpose()?
            .flatten()
        else {
            return Ok(None);
        };
        let live = matches!(
            appointment.status,
            AppointmentStatus::Scheduled | AppointmentStatus::Confirmed
        );
        if event == Event::Reminder && (!live || appointment.starts_at <= Utc::now()) {
            return Ok(None);
        }
        let Some((name, phone, opted_out)) = db::recipient(conn, appointment.patient_id)? else {
            return Ok(None);
        };
        row.recipient = phone;
        if opted_out && !event.essential() {
            row.status = "skipped".into();
            row.error = Some("the patient opted out of non-essential messages".into());
        }
        if !settings.channels.iter().any(|c| c == "sms") {
            row.status = "skipped".into();
            row.error = Some("SMS is turned off in the notification settings".into());
        }
        let clinic = clinics::find(conn, appointment.clinic_id)?;
        let zone = clinic
            .as_ref()
            .and_then(|clinic| clinic.time_zone.parse::<Tz>().ok())
            .unwrap_or(Tz::UTC);
        json!({
            "patient_name": name,
            "doctor_name": doctors::find(conn, appointment.doctor_id)?.map(|d| d.name).unwrap_or_default(),
            "service_name": services::find(conn, appointment.service_id)?.map(|s| s.name).unwrap_or_default(),
            "clinic_name": clinic.map(|c| c.name).unwrap_or_default(),
            "starts_at": appointment.starts_at.with_timezone(&zone).format("%d.%m.%Y %H:%M").to_string(),
        })
    };
    let channel = Channel::parse(&row.channel).unwrap_or(Channel::Sms);
    let (subject, body) =
        match db::template(conn, event.as_str(), channel.as_str(), &settings.locale)? {
            Some(template) => (template.subject, template.body),
            None => {
                let (subject, body) = templates::default_template(event, channel, &settings.locale);
                (subject.to_owned(), body.to_owned())
            }
        };
    match (
        templates::render(&subject, &values),
        templates::render(&body, &values),
    ) {
        (Ok(subject), Ok(body)) => {
            row.subject = subject;
            row.body = body;
        }
        (Err(err), _) | (_, Err(err)) => {
            row.status = "skipped".into();
            row.error = Some(format!("the template does not render: {err}"));
        }
    }
    Ok(Some(row))
}
