//! The `webhook.deliver` job: POSTs a message to an endpoint, signed, with a
//! 15 s timeout and no redirects, to the address the SSRF guard checked just
//! before. Every attempt is logged. Retries follow Svix's schedule (scaled by
//! `CMS_WEBHOOK_SCHEDULE_SCALE`) or the receiver's `Retry-After`; `410 Gone`
//! disables the endpoint, and so do 5 days of failures (audited, and each of
//! the tenant's owners is told by email).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use chrono::Utc;
use reqwest::Url;
use serde_json::Value;
use uuid::Uuid;

use super::signing;
use crate::db::webhooks::{self as store, Attempt, Endpoint, EndpointChanges, Message};
use crate::jobs::{Handler, JobContext, JobError, JobFuture};
use crate::outbound::{self, Outbound};
use crate::secrets::Keys;

pub const DELIVER_JOB: &str = "webhook.deliver";
pub const MAX_ATTEMPTS: i32 = 8;
/// Per request, connection included.
pub const TIMEOUT: Duration = Duration::from_secs(15);
/// The answer kept in the log.
pub const RESPONSE_KEPT_BYTES: usize = 2048;
/// An endpoint failing this long is disabled.
pub const FAILING_DAYS: i64 = 5;
/// HTTP clients kept for reuse (one per host name and checked address).
pub const MAX_CLIENTS: usize = 1000;

/// Svix's schedule: the delay before attempt n+1 is `SCHEDULE[n]`
/// (immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h).
pub const SCHEDULE: [Duration; 8] = [
    Duration::ZERO,
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];

/// The delay after failed attempt `attempt` (1-based).
pub fn delay_after(attempt: i32) -> Duration {
    SCHEDULE[usize::try_from(attempt.clamp(1, 7)).unwrap_or(7)]
}

#[derive(Default)]
pub struct Deliver {
    clients: Arc<Clients>,
}

impl Handler for Deliver {
    fn run(&self, ctx: JobContext) -> JobFuture {
        Box::pin(deliver(ctx, Arc::clone(&self.clients)))
    }

    fn backoff(&self, attempt: i32, _base: Duration) -> Duration {
        delay_after(attempt)
    }
}

/// What one send came to.
enum Outcome {
    /// The guard refused the address: never worth retrying.
    Refused(String),
    /// No answer (connection, timeout).
    Failed(String),
    Answered {
        status: u16,
        body: String,
        retry_after: Option<Duration>,
    },
}

async fn deliver(ctx: JobContext, clients: Arc<Clients>) -> Result<(), JobError> {
    let message_id: Uuid = ctx.arg("message_id")?;
    let endpoint_id: Uuid = ctx.arg("endpoint_id")?;
    let (endpoint, message) = ctx
        .tx(move |conn| {
            Ok((
                store::find(conn, endpoint_id)?,
                store::find_message(conn, message_id)?,
            ))
        })
        .await?;
    let (Some(endpoint), Some(message)) = (endpoint, message) else {
        return Ok(()); // deleted meanwhile: nothing left to send
    };
    if !endpoint.enabled {
        return Ok(());
    }
    let config = &ctx.state.config;
    let started = Instant::now();
    let outcome = send(
        &clients,
        &endpoint,
        &message,
        &config.secrets(),
        &config.outbound,
    )
    .await;
    let duration_ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
    let attempt = ctx.job.attempt;
    let (status_code, response, error) = match &outcome {
        Outcome::Refused(error) | Outcome::Failed(error) => (None, String::new(), Some(error)),
        Outcome::Answered { status, body, .. } => (Some(i32::from(*status)), body.clone(), None),
    };
    let record = Attempt {
        id: Uuid::now_v7(),
        tenant_id: endpoint.tenant_id,
        message_id,
        endpoint_id,
        attempt,
        status_code,
        duration_ms,
        response,
        error: error.map(|error| truncate(error, 2000)),
        created_at: Utc::now(),
    };
    let verdict = match outcome {
        Outcome::Answered { status, .. } if (200..300).contains(&status) => Verdict::Delivered,
        Outcome::Answered { status: 410, .. } => {
            Verdict::Disable("the endpoint answered 410 Gone".into())
        }
        Outcome::Refused(reason) => Verdict::Discard(reason),
        Outcome::Failed(reason) => Verdict::Retry(reason, None),
        Outcome::Answered {
            status,
            retry_after,
            ..
        } => Verdict::Retry(format!("the endpoint answered {status}"), retry_after),
    };
    let audit = ctx.audit();
    // A delivery to a healthy endpoint changes nothing on it: it only logs
    // its attempt, without locking the endpoint, so deliveries to one endpoint
    // do not queue behind each other's commits. It clears a `failing_since`
    // that a failure racing it may have set, first: an UPDATE that matches
    // no row takes no lock, and one that does takes the row lock before the
    // attempt's foreign key share-locks the row, the same order as below.
    let healthy = endpoint.failing_since.is_none();
    let outcome = ctx
        .tx(move |conn| {
            if healthy && matches!(verdict, Verdict::Delivered) {
                store::clear_failing(conn, endpoint_id)?;
                store::insert_attempt(conn, &record)?;
                return Ok(verdict);
            }
            // Lock before inserting: the attempt's foreign key takes a share
            // lock on the endpoint, and two deliveries each holding one while
            // waiting for this lock deadlock.
            let Some(before) = store::lock(conn, endpoint_id)? else {
                return Ok(verdict);
            };
            store::insert_attempt(conn, &record)?;
            if !before.enabled {
                // Disabled while this attempt was under way (by another
                // delivery's 410, or by hand): logged, nothing else changes,
                // and the owners are not told again.
                return Ok(Verdict::Discard("the endpoint is disabled".into()));
            }
            let now = Utc::now();
            let changes = match &verdict {
                Verdict::Delivered if before.failing_since.is_some() => EndpointChanges {
                    failing_since: Some(None),
                    ..Default::default()
                },
                Verdict::Delivered => return Ok(verdict),
                Verdict::Disable(reason) => disable(reason),
                _ => {
                    let since = before.failing_since.unwrap_or(now);
                    if now - since >= chrono::Duration::days(FAILING_DAYS) {
                        return disable_endpoint(
                            conn,
                            audit.as_ref(),
                            &before,
                            format!("failing for {FAILING_DAYS} days"),
                        );
                    }
                    if before.failing_since.is_some() {
                        return Ok(verdict);
                    }
                    EndpointChanges {
                        failing_since: Some(Some(now)),
                        ..Default::default()
                    }
                }
            };
            if let Verdict::Disable(reason) = &verdict {
                return disable_endpoint(conn, audit.as_ref(), &before, reason.clone());
            }
            store::update(conn, endpoint_id, &changes)?;
            Ok(verdict)
        })
        .await?;
    let scale = config.webhook_schedule_scale;
    match outcome {
        Verdict::Delivered => Ok(()),
        Verdict::Disable(reason) | Verdict::Discard(reason) => Err(JobError::Discard(reason)),
        Verdict::Retry(reason, Some(after)) => Err(JobError::RetryAfter(reason, after)),
        Verdict::Retry(reason, None) => Err(JobError::RetryAfter(
            reason,
            delay_after(attempt).mul_f64(scale),
        )),
    }
}

enum Verdict {
    Delivered,
    Retry(String, Option<Duration>),
    Discard(String),
    Disable(String),
}

fn disable(reason: &str) -> EndpointChanges {
    EndpointChanges {
        enabled: Some(false),
        disabled_reason: Some(Some(reason.to_owned())),
        ..Default::default()
    }
}

/// Disables `before`, audits it and tells the tenant's owners (an email
/// each, enqueued in this transaction).
fn disable_endpoint(
    conn: &mut diesel::PgConnection,
    audit: Option<&crate::db::audit::Audit>,
    before: &Endpoint,
    reason: String,
) -> Result<Verdict, crate::error::ApiError> {
    let after = store::update(conn, before.id, &disable(&reason))?;
    if let Some(audit) = audit {
        audit.event(
            conn,
            "webhook_endpoint",
            "disable",
            before.id,
            Some(before),
            Some(&after),
        )?;
    }
    crate::notifications::webhook_disabled(conn, &after, &reason)?;
    tracing::warn!(
        endpoint_id = %before.id,
        tenant_id = %before.tenant_id,
        reason = %reason,
        "webhook endpoint disabled"
    );
    Ok(Verdict::Disable(reason))
}

async fn send(
    clients: &Clients,
    endpoint: &Endpoint,
    message: &Message,
    keys: &Keys,
    guard: &Outbound,
) -> Outcome {
    let url = match super::parse_url(&endpoint.url) {
        Ok(url) => url,
        Err(reason) => return Outcome::Refused(format!("the URL {reason}")),
    };
    let addresses = match guard.resolve_url(&url).await {
        Ok(addresses) => addresses,
        Err(reason) => return Outcome::Refused(format!("refused: the URL {reason}")),
    };
    let client = match clients.get(&url, addresses[0]) {
        Ok(client) => client,
        Err(err) => return Outcome::Failed(format!("cannot build the HTTP client: {err}")),
    };
    let body = body_of(&message.payload);
    let id = signing::message_id(message.id);
    let timestamp = Utc::now().timestamp();
    // A current secret that does not open (its key dropped from the
    // configuration too early) is retried: restoring the key or rotating the
    // secret lets the delivery through. A rotated-out one that does not open
    // is left out: the current one still signs.
    let mut secrets = match signing::open(keys, endpoint.tenant_id, &endpoint.secret) {
        Ok(secret) => vec![secret],
        Err(reason) => return Outcome::Failed(reason),
    };
    if let (Some(previous), Some(until)) = (
        endpoint.previous_secret.as_deref(),
        endpoint.previous_secret_expires_at,
    ) {
        if until > Utc::now() {
            match signing::open(keys, endpoint.tenant_id, previous) {
                Ok(secret) => secrets.push(secret),
                Err(reason) => tracing::warn!(
                    endpoint_id = %endpoint.id,
                    reason = %reason,
                    "the rotated-out webhook secret does not open; signing with the current one"
                ),
            }
        }
    }
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let signature = match signing::signature(&secrets, &id, timestamp, &body) {
        Ok(signature) => signature,
        Err(reason) => return Outcome::Refused(reason),
    };
    let sent = client
        .post(url)
        .header("content-type", "application/json")
        .header("user-agent", "cms-webhooks/1")
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await;
    let mut response = match sent {
        Ok(response) => response,
        Err(err) => return Outcome::Failed(format!("no answer: {}", describe(&err))),
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| parse_retry_after(value, Utc::now()));
    let mut kept = Vec::new();
    while kept.len() < RESPONSE_KEPT_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => kept.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    kept.truncate(RESPONSE_KEPT_BYTES);
    let mut body = String::from_utf8_lossy(&kept).into_owned();
    while body.len() > RESPONSE_KEPT_BYTES {
        body.pop();
    }
    Outcome::Answered {
        status,
        body,
        retry_after,
    }
}

/// HTTP clients by host name and the address the SSRF guard checked for it,
/// so deliveries to an endpoint reuse its keep-alive connections (building a
/// client per delivery opened a connection each time). A client still
/// connects only to its own address: an answer resolving elsewhere gets
/// another client. Bounded: past `max`, an arbitrary one is dropped.
pub struct Clients {
    max: usize,
    clients: Mutex<HashMap<(String, SocketAddr), Arc<reqwest::Client>>>,
}

impl Default for Clients {
    fn default() -> Self {
        Clients::bounded(MAX_CLIENTS)
    }
}

impl Clients {
    pub fn bounded(max: usize) -> Self {
        Clients {
            max: max.max(1),
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// The client for `url`'s host at `address`, built on first use.
    fn get(&self, url: &Url, address: SocketAddr) -> reqwest::Result<Arc<reqwest::Client>> {
        let key = (url.host_str().unwrap_or_default().to_owned(), address);
        if let Some(client) = self.lock().get(&key) {
            return Ok(Arc::clone(client));
        }
        let client = Arc::new(client_for(url, address)?);
        let mut clients = self.lock();
        if clients.len() >= self.max && !clients.contains_key(&key) {
            if let Some(evicted) = clients.keys().next().cloned() {
                clients.remove(&evicted);
            }
        }
        Ok(Arc::clone(clients.entry(key).or_insert(client)))
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<(String, SocketAddr), Arc<reqwest::Client>>> {
        self.clients.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A client that connects only to `address` for the URL's host, follows
/// no redirects and ignores proxies.
fn client_for(url: &Url, address: SocketAddr) -> reqwest::Result<reqwest::Client> {
    outbound::pinned_client(url, address, TIMEOUT)
}

/// The delay a `Retry-After` value asks for: delay-seconds or an HTTP-date
/// (RFC 9110), at most 10 hours (the schedule's longest step); a date in the
/// past asks for none.
fn parse_retry_after(value: &str, now: chrono::DateTime<Utc>) -> Option<Duration> {
    const LONGEST: u64 = 10 * 3600;
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs.min(LONGEST)));
    }
    // IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") is RFC 2822 with GMT.
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let secs = (at.with_timezone(&Utc) - now).num_seconds().max(0);
    Some(Duration::from_secs(
        u64::try_from(secs).unwrap_or(0).min(LONGEST),
    ))
}

fn body_of(payload: &Value) -> Vec<u8> {
    serde_json::to_vec(payload).unwrap_or_default()
}

fn describe(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        format!("timed out after {} s", TIMEOUT.as_secs())
    } else if err.is_connect() {
        "cannot connect".into()
    } else {
        err.to_string()
    }
}

fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_or_an_http_date() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-01T08:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let secs = |value: &str| parse_retry_after(value, now).map(|d| d.as_secs());
        assert_eq!(secs("120"), Some(120));
        assert_eq!(secs(" 7 "), Some(7));
        assert_eq!(secs("Tue, 01 Dec 2026 08:01:30 GMT"), Some(90));
        assert_eq!(secs("Tue, 01 Dec 2026 07:00:00 GMT"), Some(0), "past");
        assert_eq!(secs("999999"), Some(36000), "capped");
        assert_eq!(secs("Wed, 01 Dec 2027 08:00:00 GMT"), Some(36000), "capped");
        assert_eq!(secs("soon"), None);
        assert_eq!(secs("-5"), None);
    }

    #[test]
    fn schedule_is_svix() {
        let secs: Vec<u64> = (1..=8).map(|n| delay_after(n).as_secs()).collect();
        assert_eq!(secs, [5, 300, 1800, 7200, 18000, 36000, 36000, 36000]);
    }

    #[test]
    fn clients_are_reused_per_host_and_address_and_bounded(
    ) -> Result<(), Box<dyn std::error::Error>> {
        crate::app::install_tls_provider();
        let clients = Clients::bounded(3);
        let url = Url::parse("https://hooks.example.com/in")?;
        let (first, second): (SocketAddr, SocketAddr) =
            ("93.184.216.34:443".parse()?, "93.184.216.35:443".parse()?);
        let one = clients.get(&url, first)?;
        assert!(Arc::ptr_eq(&one, &clients.get(&url, first)?));
        let other = clients.get(&url, second)?;
        assert!(!Arc::ptr_eq(&one, &other));
        let elsewhere = Url::parse("https://other.example.com/in")?;
        assert!(!Arc::ptr_eq(&one, &clients.get(&elsewhere, first)?));
        assert_eq!(clients.lock().len(), 3);

        let newest = Url::parse("https://new.example.com/in")?;
        let kept = clients.get(&newest, first)?;
        assert_eq!(clients.lock().len(), 3);
        assert!(Arc::ptr_eq(&kept, &clients.get(&newest, first)?));
        Ok(())
    }
}
