//! Operations endpoints at the root: liveness, readiness and Prometheus metrics.

use actix_web::{get, web, HttpResponse};
use diesel::RunQueryDsl;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::Scope;
use crate::http::metrics::PoolSample;
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(healthz).service(readyz).service(metrics);
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ok` when every required dependency answers, else `unavailable`.
    pub status: &'static str,
    /// `ok` or `unavailable`.
    pub database: &'static str,
    /// `ok`, `unavailable` (serving on in-process fallbacks), `no_master`
    /// (the Sentinels name no master for `REDIS_SENTINEL_SERVICE`) or
    /// `not_configured`.
    pub redis: &'static str,
    /// `host:port` of the Redis server in use: with Sentinels, the master
    /// they named last (it changes on a failover).
    pub redis_server: Option<String>,
    /// Each read replica of `DATABASE_REPLICA_URLS` (reported, not required:
    /// reads go to the primary when none serves).
    pub replicas: Vec<ReplicaReadiness>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReplicaReadiness {
    /// `replica0`, `replica1`... in `DATABASE_REPLICA_URLS` order.
    pub name: String,
    /// `ok` (serving reads), `starting`, `lagging`, `unreachable` or
    /// `not_a_standby` (the URL names a primary).
    pub state: &'static str,
    /// WAL bytes the primary has that the replica has not replayed.
    pub lag_bytes: u64,
    /// How long ago the primary passed the replica's replayed position.
    pub lag_ms: u64,
}

/// The process is alive.
#[utoipa::path(tag = "operations", responses((status = 200, body = Health)))]
#[get("/healthz")]
async fn healthz() -> web::Json<Health> {
    web::Json(Health { status: "ok" })
}

/// Whether the api can serve: 503 (with `Retry-After`) when PostgreSQL does
/// not answer within the checkout bound (`CMS_DB_CHECKOUT_TIMEOUT_MS`). Redis is
/// reported but optional (the api falls back to in-process state without it),
/// so its absence does not take a node out of rotation.
#[utoipa::path(tag = "operations", responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
#[get("/readyz")]
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let database_ok = state
        .db
        .tx(Scope::global(), |conn| {
            diesel::sql_query("SELECT 1").execute(conn)?;
            Ok(())
        })
        .await
        .is_ok();
    let redis = state.kv.probe().await.as_str();
    let replicas = state
        .db
        .replicas()
        .map(|replicas| {
            replicas
                .reports()
                .into_iter()
                .map(|report| ReplicaReadiness {
                    name: report.name,
                    state: report.state.as_str(),
                    lag_bytes: report.lag_bytes,
                    lag_ms: report.lag_ms,
                })
                .collect()
        })
        .unwrap_or_default();
    let body = Readiness {
        status: if database_ok { "ok" } else { "unavailable" },
        database: if database_ok { "ok" } else { "unavailable" },
        redis,
        redis_server: state.kv.server(),
        replicas,
    };
    if database_ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable()
            .insert_header((actix_web::http::header::RETRY_AFTER, "1"))
            .json(body)
    }
}

/// Prometheus metrics: requests by route and status, latency, DB pool usage,
/// jobs by queue (depth, oldest ready job, outcomes, run time).
#[utoipa::path(tag = "operations", responses((status = 200, content_type = "text/plain", body = String)))]
#[get("/metrics")]
async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let pool = state.db.pool().state();
    let sample = PoolSample {
        connections: pool.connections,
        idle: pool.idle_connections,
        max: state.db.pool().max_size(),
        statements: state.db.statements(),
    };
    let mut body = state.metrics.render(&sample);
    if let Some(replicas) = state.db.replicas() {
        body.push_str(&crate::http::metrics::render_replicas(replicas));
    }
    // Queue depth is read from the database where a worker runs, so a quiet
    // api node's scrape runs no statement.
    if state.config.jobs_in_serve {
        let depth = state
            .db
            .unscoped(|conn| Ok(crate::db::jobs::stats(conn)?))
            .await
            .unwrap_or_default();
        // Idle queues show zeros rather than vanishing.
        let mut depth = depth;
        for (queue, _) in &state.config.job_queues {
            if !depth.iter().any(|known| &known.queue == queue) {
                depth.push(crate::db::jobs::QueueStats {
                    queue: queue.clone(),
                    ready: 0,
                    running: 0,
                    scheduled: 0,
                    oldest_ready_seconds: 0.0,
                });
            }
        }
        body.push_str(&state.jobs.render(&depth));
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(body)
}
