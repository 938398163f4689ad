//! Prometheus metrics of the api: requests by route, method and status, a
//! latency histogram per route, and database pool usage sampled at scrape time.
//! Held in `Data<Metrics>` (no global recorder), so each app instance in a test
//! process has its own.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

use crate::telemetry::histogram::Histogram;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// Per route: request counts by (method, status) and the latency histogram.
struct RouteStats {
    counts: Vec<(&'static str, u16, u64)>,
    latency: Histogram,
}

impl Default for RouteStats {
    fn default() -> Self {
        RouteStats {
            counts: Vec::new(),
            latency: Histogram::new(BUCKETS),
        }
    }
}

#[derive(Default)]
struct Inner {
    routes: BTreeMap<String, RouteStats>,
}

/// The method as a static name, so counting a request allocates nothing.
pub fn method_name(method: &actix_web::http::Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "OTHER",
    }
}

#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

/// Pool figures sampled when `/metrics` is scraped.
pub struct PoolSample {
    pub connections: u32,
    pub idle: u32,
    pub max: u32,
    /// Statements the pool's connections ran so far.
    pub statements: u64,
}

impl Metrics {
    pub fn observe_request(
        &self,
        route: &str,
        method: &'static str,
        status: u16,
        elapsed: Duration,
    ) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if !inner.routes.contains_key(route) {
            inner.routes.insert(route.to_owned(), RouteStats::default());
        }
        let Some(stats) = inner.routes.get_mut(route) else {
            return;
        };
        match stats
            .counts
            .iter_mut()
            .find(|(m, s, _)| *m == method && *s == status)
        {
            Some((_, _, count)) => *count += 1,
            None => stats.counts.push((method, status, 1)),
        }
        stats.latency.observe(elapsed.as_secs_f64());
    }

    /// The Prometheus text exposition of everything recorded so far.
    pub fn render(&self, pool: &PoolSample) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP cms_db_statements_total SQL statements run (BEGIN and COMMIT included)."
        );
        let _ = writeln!(out, "# TYPE cms_db_statements_total counter");
        let _ = writeln!(out, "cms_db_statements_total {}", pool.statements);
        let _ = writeln!(
            out,
            "# HELP cms_http_requests_total HTTP requests by route, method and status."
        );
        let _ = writeln!(out, "# TYPE cms_http_requests_total counter");
        let Ok(inner) = self.inner.lock() else {
            return out;
        };
        for (route, stats) in &inner.routes {
            let mut counts = stats.counts.clone();
            counts.sort();
            for (method, status, count) in counts {
                let _ = writeln!(
                    out,
                    "cms_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {count}",
                    escape(route)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP cms_http_request_duration_seconds Request latency by route."
        );
        let _ = writeln!(out, "# TYPE cms_http_request_duration_seconds histogram");
        for (route, stats) in &inner.routes {
            stats.latency.render(
                &mut out,
                "cms_http_request_duration_seconds",
                &format!("route=\"{}\"", escape(route)),
            );
        }
        let _ = writeln!(
            out,
            "# HELP cms_db_pool_connections Open database connections."
        );
        let _ = writeln!(out, "# TYPE cms_db_pool_connections gauge");
        let _ = writeln!(out, "cms_db_pool_connections {}", pool.connections);
        let _ = writeln!(
            out,
            "# HELP cms_db_pool_idle_connections Idle database connections."
        );
        let _ = writeln!(out, "# TYPE cms_db_pool_idle_connections gauge");
        let _ = writeln!(out, "cms_db_pool_idle_connections {}", pool.idle);
        let _ = writeln!(out, "# HELP cms_db_pool_max_connections Pool capacity.");
        let _ = writeln!(out, "# TYPE cms_db_pool_max_connections gauge");
        let _ = writeln!(out, "cms_db_pool_max_connections {}", pool.max);
        out
    }
}

fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Read routing: reads per node, failovers, and each replica's state and lag.
pub fn render_replicas(replicas: &crate::db::replicas::Replicas) -> String {
    use crate::db::replicas::{ReplicaReport, ReplicaState};
    use std::sync::atomic::Ordering;
    let reports = replicas.reports();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP cms_db_reads_total Read transactions by the node that answered them."
    );
    let _ = writeln!(out, "# TYPE cms_db_reads_total counter");
    let _ = writeln!(
        out,
        "cms_db_reads_total{{node=\"primary\"}} {}",
        replicas.primary_reads.load(Ordering::Relaxed)
    );
    for report in &reports {
        let _ = writeln!(
            out,
            "cms_db_reads_total{{node=\"{}\"}} {}",
            report.name, report.reads
        );
    }
    let mut series =
        |name: &str, kind: &str, help: &str, value: &dyn Fn(&ReplicaReport) -> String| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for report in &reports {
                let _ = writeln!(
                    out,
                    "{name}{{replica=\"{}\"}} {}",
                    report.name,
                    value(report)
                );
            }
        };
    series(
        "cms_db_read_failovers_total",
        "counter",
        "Reads that failed on a replica and were rerun on another node.",
        &|report| report.failovers.to_string(),
    );
    series(
        "cms_db_replica_up",
        "gauge",
        "1 while the replica serves reads.",
        &|report| u8::from(report.state == ReplicaState::Serving).to_string(),
    );
    series(
        "cms_db_replica_lag_bytes",
        "gauge",
        "WAL bytes the replica has not replayed.",
        &|report| report.lag_bytes.to_string(),
    );
    series(
        "cms_db_replica_lag_seconds",
        "gauge",
        "How long ago the primary passed the replica's replayed position.",
        &|report| format!("{:.3}", report.lag_ms as f64 / 1000.0),
    );
    out
}
