//! `api bench-webhooks`: signed deliveries per second to a local receiver,
//! for `make bench` (`scripts/bench_webhooks.sh`). Starts an in-process
//! receiver that verifies every signature (the `standardwebhooks` crate),
//! gives the first demo tenant (`alpha`) an endpoint on it, stores `messages`
//! `lead.created` messages and enqueues their deliveries, then runs one worker
//! on the `webhooks` queue with `concurrency` slots until every delivery is
//! done. Then measures latency: one message at a time on the idle worker, from
//! just before its enqueueing commit to its verified receipt. Deletes its
//! endpoint, messages, attempts and jobs. Run it on a bench database: the
//! worker also delivers whatever else waits on the `webhooks` queue.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use diesel::prelude::*;
use reqwest::header::{HeaderMap, HeaderValue};
use serde::Serialize;
use serde_json::json;
use standardwebhooks::Webhook;
use tokio::sync::Notify;
use uuid::Uuid;

use super::delivery::DELIVER_JOB;
use super::{events, NewEndpoint};
use crate::db::audit::{Actor, Audit};
use crate::db::schema::{jobs, tenants, webhook_messages};
use crate::db::Scope;
use crate::error::ApiError;
use crate::http::etag::IfMatch;
use crate::jobs::handlers::Registry;
use crate::jobs::worker::{self, WorkerConfig};
use crate::state::AppState;

/// Messages stored and enqueued per transaction.
const BATCH: usize = 500;
const TENANT: &str = "alpha";
const EVENT: &str = "lead.created";
/// Without a new delivery for this long, the run is over (some are missing).
const STALL: Duration = Duration::from_secs(30);

#[derive(Debug, Serialize)]
pub struct BenchReport {
    pub messages: usize,
    pub concurrency: usize,
    /// Messages stored and their deliveries enqueued, per second.
    pub enqueue_per_s: u64,
    /// From the worker's start to the last delivery's job finished.
    pub deliveries_per_s: u64,
    /// Enqueueing commit to verified receipt, one at a time on an idle worker.
    pub latency_p50_ms: f64,
    pub latency_p99_ms: f64,
    pub latency_messages: usize,
    /// Deliveries whose signature verified (every message, latency ones too).
    pub verified: u64,
    /// Deliveries whose signature did not verify.
    pub failed: u64,
    /// Messages never received with a valid signature.
    pub missing: u64,
}

impl BenchReport {
    /// Why the run does not count, if it does not.
    pub fn problem(&self) -> Option<String> {
        (self.failed > 0 || self.missing > 0).then(|| {
            format!(
                "{} deliveries failed to verify, {} messages are missing",
                self.failed, self.missing
            )
        })
    }
}

/// What the receiver saw.
struct Received {
    webhook: Webhook,
    verified: AtomicU64,
    failed: AtomicU64,
    /// `webhook-id`s received with a valid signature.
    ids: Mutex<HashSet<String>>,
    arrived: Notify,
}

impl Received {
    fn distinct(&self) -> usize {
        self.ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// Verifies one delivery: 204 when its signature holds, 400 otherwise.
async fn receive(
    received: web::Data<Received>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let mut headers = HeaderMap::new();
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        if let Some(value) = request
            .headers()
            .get(name)
            .and_then(|value| HeaderValue::from_bytes(value.as_bytes()).ok())
        {
            headers.insert(name, value);
        }
    }
    if received.webhook.verify(&body, &headers).is_err() {
        received.failed.fetch_add(1, Ordering::Relaxed);
        return HttpResponse::BadRequest().finish();
    }
    received.verified.fetch_add(1, Ordering::Relaxed);
    if let Some(id) = headers.get("webhook-id").and_then(|v| v.to_str().ok()) {
        received
            .ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id.to_owned());
    }
    received.arrived.notify_waiters();
    HttpResponse::NoContent().finish()
}

/// A lead as `lead.created` carries it.
fn lead(n: usize) -> serde_json::Value {
    json!({
        "id": Uuid::now_v7(),
        "name": format!("Bench Lead {n}"),
        "email": format!("lead{n}@example.com"),
        "phone": "+1 555 0100",
        "message": "I would like to book a consultation next week, mornings if possible.",
        "source": "landing",
        "created_at": chrono::Utc::now(),
    })
}

/// Stores `count` messages and enqueues their deliveries to `endpoint`.
async fn enqueue(
    state: &AppState,
    scope: Scope,
    tenant: Uuid,
    endpoint: Uuid,
    first: usize,
    count: usize,
) -> Result<Vec<Uuid>, ApiError> {
    state
        .db
        .tx(scope, move |conn| {
            let mut ids = Vec::with_capacity(count);
            for n in first..first + count {
                let message = events::store_message(conn, tenant, EVENT, &lead(n))?;
                events::enqueue_delivery(conn, tenant, message.id, endpoint, None)?;
                ids.push(message.id);
            }
            Ok(ids)
        })
        .await
}

/// The deliveries to `endpoint` not yet finished (available, running, retryable).
async fn unfinished(state: &AppState, scope: Scope, endpoint: Uuid) -> Result<i64, ApiError> {
    state
        .db
        .tx(scope, move |conn| {
            Ok(jobs::table
                .filter(jobs::kind.eq(DELIVER_JOB))
                .filter(jobs::unique_key.like(format!("webhook:%:{endpoint}%")))
                .filter(jobs::state.eq_any(["available", "running", "retryable"]))
                .count()
                .get_result(conn)?)
        })
        .await
}

pub async fn run(
    state: web::Data<AppState>,
    messages: usize,
    latency_messages: usize,
    concurrency: usize,
) -> Result<BenchReport, ApiError> {
    let tenant: Uuid = state
        .db
        .tx(Scope::global(), |conn| {
            Ok(tenants::table
                .filter(tenants::slug.eq(TENANT))
                .select(tenants::id)
                .first(conn)?)
        })
        .await?;
    let scope = Scope {
        tenant_id: Some(tenant),
        user_id: None,
    };
    let audit = Audit {
        actor: Actor {
            user_id: None,
            request_id: Some("bench-webhooks".into()),
        },
        tenant_id: tenant,
    };

    // The receiver learns the secret once the endpoint exists, and the
    // endpoint needs the receiver's port: bind first, serve after.
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|err| ApiError::internal(format!("cannot bind the receiver: {err}")))?;
    let port = listener
        .local_addr()
        .map_err(|err| ApiError::internal(err.to_string()))?
        .port();
    let input = NewEndpoint {
        url: format!("http://127.0.0.1:{port}/hook"),
        description: "api bench-webhooks".into(),
        events: vec![EVENT.into()],
    };
    let (create_audit, keys) = (audit.clone(), state.config.secrets());
    let created = state
        .db
        .tx(scope, move |conn| {
            super::create(conn, &create_audit, &keys, input)
        })
        .await?;
    let endpoint = created.endpoint.id;
    let received = web::Data::new(Received {
        webhook: Webhook::new(&created.secret)
            .map_err(|err| ApiError::internal(format!("the secret: {err}")))?,
        verified: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        ids: Mutex::new(HashSet::new()),
        arrived: Notify::new(),
    });
    let data = received.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/hook", web::post().to(receive))
    })
    .workers(2)
    .disable_signals()
    .listen(listener)
    .map_err(|err| ApiError::internal(format!("cannot start the receiver: {err}")))?
    .run();
    let receiver = server.handle();
    actix_web::rt::spawn(server);

    let mut ids = Vec::with_capacity(messages + latency_messages);
    let measured = measure(
        &state,
        scope,
        tenant,
        endpoint,
        &received,
        &mut ids,
        messages,
        latency_messages,
        concurrency,
    )
    .await;

    receiver.stop(true).await;
    state
        .db
        .tx(scope, move |conn| {
            diesel::delete(
                jobs::table
                    .filter(jobs::kind.eq(DELIVER_JOB))
                    .filter(jobs::unique_key.like(format!("webhook:%:{endpoint}%"))),
            )
            .execute(conn)?;
            // Their attempts go with them (and with the endpoint).
            for chunk in ids.chunks(5000) {
                diesel::delete(webhook_messages::table.filter(webhook_messages::id.eq_any(chunk)))
                    .execute(conn)?;
            }
            super::delete(conn, &audit, endpoint, &IfMatch::default())
        })
        .await?;
    let (enqueue, process, mut latencies) = measured?;

    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        latencies
            .get(((p / 100.0) * latencies.len() as f64) as usize)
            .or(latencies.last())
            .copied()
            .unwrap_or(f64::NAN)
    };
    let rate = |took: Duration| (messages as f64 / took.as_secs_f64()) as u64;
    let expected = messages + latency_messages;
    Ok(BenchReport {
        messages,
        concurrency,
        enqueue_per_s: rate(enqueue),
        deliveries_per_s: rate(process),
        latency_p50_ms: (pct(50.0) * 100.0).round() / 100.0,
        latency_p99_ms: (pct(99.0) * 100.0).round() / 100.0,
        latency_messages,
        verified: received.verified.load(Ordering::Relaxed),
        failed: received.failed.load(Ordering::Relaxed),
        missing: expected.saturating_sub(received.distinct()) as u64,
    })
}

/// The two phases; `ids` collects every message stored, for the cleanup.
/// Answers the enqueueing and processing times and the latencies (ms).
#[allow(clippy::too_many_arguments)]
async fn measure(
    state: &web::Data<AppState>,
    scope: Scope,
    tenant: Uuid,
    endpoint: Uuid,
    received: &Received,
    ids: &mut Vec<Uuid>,
    messages: usize,
    latency_messages: usize,
    concurrency: usize,
) -> Result<(Duration, Duration, Vec<f64>), ApiError> {
    let started = Instant::now();
    for first in (0..messages).step_by(BATCH) {
        let count = BATCH.min(messages - first);
        ids.extend(enqueue(state, scope, tenant, endpoint, first, count).await?);
    }
    let enqueue_took = started.elapsed();

    let config = WorkerConfig {
        queues: vec![("webhooks".to_owned(), concurrency)],
        lease: Duration::from_secs(60),
        poll: Duration::from_secs(1),
        backoff_base: Duration::from_secs(1),
        cron: false,
    };
    let started = Instant::now();
    let running = worker::start(state.clone(), Registry::standard(), config);
    let (mut seen, mut moved) = (0, Instant::now());
    while seen < messages && moved.elapsed() < STALL {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let now = received.distinct();
        if now != seen {
            (seen, moved) = (now, Instant::now());
        }
    }
    // Every delivery arrived; its job finishes once its attempt is logged.
    let deadline = Instant::now() + STALL;
    while unfinished(state, scope, endpoint).await? > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let process = started.elapsed();

    let mut latencies = Vec::with_capacity(latency_messages);
    for n in 0..latency_messages {
        let message = state
            .db
            .tx(scope, move |conn| {
                events::store_message(conn, tenant, EVENT, &lead(messages + n))
            })
            .await?;
        ids.push(message.id);
        let arrived = received.arrived.notified();
        tokio::pin!(arrived);
        arrived.as_mut().enable();
        let sent = Instant::now();
        state
            .db
            .tx(scope, move |conn| {
                events::enqueue_delivery(conn, tenant, message.id, endpoint, None)
            })
            .await?;
        if tokio::time::timeout(Duration::from_secs(5), arrived)
            .await
            .is_ok()
        {
            latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    running.shutdown(Duration::from_secs(5)).await;
    Ok((enqueue_took, process, latencies))
}
