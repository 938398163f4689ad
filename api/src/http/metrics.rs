//! Prometheus metrics of the api: requests by route, method and status, a
//! latency histogram per route, and database pool usage sampled at scrape time.
//! Held in `Data<Metrics>` (no global recorder), so each app instance in a test
//! process has its own.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    total: u64,
}

/// Per route: request counts by (method, status) and the latency histogram.
#[derive(Default)]
struct RouteStats {
    counts: Vec<(&'static str, u16, u64)>,
    latency: Histogram,
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
        let seconds = elapsed.as_secs_f64();
        let histogram = &mut stats.latency;
        for (bound, count) in BUCKETS.iter().zip(histogram.counts.iter_mut()) {
            if seconds <= *bound {
                *count += 1;
            }
        }
        histogram.sum += seconds;
        histogram.total += 1;
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
            let histogram = &stats.latency;
            let route = escape(route);
            for (bound, count) in BUCKETS.iter().zip(histogram.counts.iter()) {
                let _ = writeln!(
                    out,
                    "cms_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "cms_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                histogram.total
            );
            let _ = writeln!(
                out,
                "cms_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                histogram.sum
            );
            let _ = writeln!(
                out,
                "cms_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                histogram.total
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
