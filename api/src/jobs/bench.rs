//! `api bench-jobs`: the queue's own cost on this database, for `make bench`
//! (side by side with graphile-worker, `scripts/bench_jobs.sh`). Enqueues
//! `jobs` no-op jobs in batches of 1,000, runs one worker with `concurrency`
//! slots until all are completed, then measures pickup latency: one job at a
//! time on the idle worker, from just before its enqueueing commit to the
//! start of its handler. Uses the `bench` queue and its own job kinds, then
//! deletes its jobs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::web;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;
use tokio::sync::Notify;
use uuid::Uuid;

use super::handlers::Registry;
use super::worker::{self, WorkerConfig};
use super::{Handler, JobContext, JobFuture};
use crate::db::jobs::NewJob;
use crate::db::schema::{jobs, tenants};
use crate::db::Scope;
use crate::error::ApiError;
use crate::state::AppState;

const BATCH: usize = 1000;
const QUEUE: &str = "bench";

#[derive(Debug, Serialize)]
pub struct BenchReport {
    pub jobs: usize,
    pub concurrency: usize,
    pub enqueue_per_s: u64,
    pub process_per_s: u64,
    pub end_to_end_per_s: u64,
    pub pickup_p50_ms: f64,
    pub pickup_p99_ms: f64,
}

struct Count(Arc<AtomicU64>);

impl Handler for Count {
    fn run(&self, _ctx: JobContext) -> JobFuture {
        self.0.fetch_add(1, Ordering::Relaxed);
        Box::pin(async { Ok(()) })
    }
}

/// Records how long after `args.t` (microseconds since the epoch) it started.
struct Pickup {
    seen: Arc<Mutex<Vec<f64>>>,
    notify: Arc<Notify>,
}

impl Handler for Pickup {
    fn run(&self, ctx: JobContext) -> JobFuture {
        let now = chrono::Utc::now().timestamp_micros();
        let sent = ctx.job.args["t"].as_i64().unwrap_or(now);
        if let Ok(mut seen) = self.seen.lock() {
            seen.push((now - sent) as f64 / 1000.0);
        }
        self.notify.notify_one();
        Box::pin(async { Ok(()) })
    }
}

async fn unfinished(state: &AppState, tenant: Uuid) -> Result<i64, ApiError> {
    state
        .db
        .tx(
            Scope {
                tenant_id: Some(tenant),
                user_id: None,
            },
            |conn| {
                Ok(jobs::table
                    .filter(jobs::queue.eq(QUEUE))
                    .filter(jobs::state.ne("completed"))
                    .count()
                    .get_result(conn)?)
            },
        )
        .await
}

pub async fn run(
    state: web::Data<AppState>,
    count: usize,
    latency_jobs: usize,
    concurrency: usize,
) -> Result<BenchReport, ApiError> {
    let tenant: Uuid = state
        .db
        .tx(Scope::global(), |conn| {
            Ok(tenants::table.select(tenants::id).first(conn)?)
        })
        .await?;
    let scope = Scope {
        tenant_id: Some(tenant),
        user_id: None,
    };

    let started = Instant::now();
    for first in (0..count).step_by(BATCH) {
        let batch: Vec<NewJob> = (first..count.min(first + BATCH))
            .map(|_| NewJob::new(tenant, "bench.noop", json!({})).queue(QUEUE))
            .collect();
        state
            .db
            .tx(scope, move |conn| {
                crate::db::jobs::enqueue_many(conn, &batch)?;
                Ok(())
            })
            .await?;
    }
    let enqueue = started.elapsed();

    let done = Arc::new(AtomicU64::new(0));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let notify = Arc::new(Notify::new());
    let mut registry = Registry::default();
    registry.register("bench.noop", Count(Arc::clone(&done)));
    registry.register(
        "bench.pickup",
        Pickup {
            seen: Arc::clone(&seen),
            notify: Arc::clone(&notify),
        },
    );
    let config = WorkerConfig {
        queues: vec![(QUEUE.to_owned(), concurrency)],
        lease: Duration::from_secs(60),
        poll: Duration::from_secs(1),
        backoff_base: Duration::from_secs(1),
        cron: false,
    };
    let started = Instant::now();
    let running = worker::start(state.clone(), registry, config);
    while unfinished(&state, tenant).await? > 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let process = started.elapsed();

    for _ in 0..latency_jobs {
        let job = NewJob::new(
            tenant,
            "bench.pickup",
            json!({ "t": chrono::Utc::now().timestamp_micros() }),
        )
        .queue(QUEUE);
        let started = notify.notified();
        tokio::pin!(started);
        started.as_mut().enable();
        state
            .db
            .tx(scope, move |conn| Ok(crate::db::jobs::enqueue(conn, &job)?))
            .await?;
        let _ = tokio::time::timeout(Duration::from_secs(5), started).await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    running.shutdown(Duration::from_secs(5)).await;
    state
        .db
        .tx(scope, |conn| {
            diesel::delete(jobs::table.filter(jobs::queue.eq(QUEUE))).execute(conn)?;
            Ok(())
        })
        .await?;

    let mut latencies = seen.lock().map(|seen| seen.clone()).unwrap_or_default();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        latencies
            .get(((p / 100.0) * latencies.len() as f64) as usize)
            .or(latencies.last())
            .copied()
            .unwrap_or(f64::NAN)
    };
    let rate = |took: Duration| (count as f64 / took.as_secs_f64()) as u64;
    Ok(BenchReport {
        jobs: count,
        concurrency,
        enqueue_per_s: rate(enqueue),
        process_per_s: rate(process),
        end_to_end_per_s: rate(enqueue + process),
        pickup_p50_ms: (pct(50.0) * 100.0).round() / 100.0,
        pickup_p99_ms: (pct(99.0) * 100.0).round() / 100.0,
    })
}
