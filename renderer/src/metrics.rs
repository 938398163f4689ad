//! Counters of the renderer, exposed on `/metrics` in the Prometheus format.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub struct Metrics {
    /// Documents (manifests, pages, sitemaps) served from process memory.
    pub doc_hits: AtomicU64,
    /// ... from Redis, shared by every node.
    pub doc_redis_hits: AtomicU64,
    /// ... fetched from the API.
    pub doc_misses: AtomicU64,
    /// ... served stale because the API did not answer.
    pub doc_stale: AtomicU64,
    /// Requests that found no usable document (503 pages).
    pub doc_unavailable: AtomicU64,
    /// Rendered page shells reused / rendered.
    pub shell_hits: AtomicU64,
    pub shell_misses: AtomicU64,
    /// Custom module templates that failed and rendered as placeholders.
    pub template_failures: AtomicU64,
    /// Lead forwards that failed and were queued for retry, and retries that
    /// later delivered them.
    pub leads_queued: AtomicU64,
    pub leads_delivered: AtomicU64,
    pub invalidations: AtomicU64,
    /// 1 while subscribed to `cms:invalidate`, else 0.
    pub invalidation_subscribed: AtomicU64,
    /// Subscriptions made again after Redis came back or failed over; each
    /// one empties the in-memory documents (messages may have been lost).
    pub invalidation_resubscribed: AtomicU64,
    /// Experiment exposures sent to the api, given up on, or dropped because
    /// the queue was full.
    pub exposures_sent: AtomicU64,
    pub exposures_failed: AtomicU64,
    /// Refused by the api one by one (say, the experiment stopped meanwhile).
    pub exposures_refused: AtomicU64,
    pub exposures_dropped: AtomicU64,
}

pub fn inc(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Metrics {
    pub fn render(&self, pending_leads: usize) -> String {
        let mut out = String::new();
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let _ = writeln!(out, "# HELP renderer_cache_requests_total Document lookups by result (hit = memory, redis, miss = API, stale = API down).");
        let _ = writeln!(out, "# TYPE renderer_cache_requests_total counter");
        for (result, counter) in [
            ("hit", &self.doc_hits),
            ("redis", &self.doc_redis_hits),
            ("miss", &self.doc_misses),
            ("stale", &self.doc_stale),
            ("unavailable", &self.doc_unavailable),
        ] {
            let _ = writeln!(
                out,
                "renderer_cache_requests_total{{result=\"{result}\"}} {}",
                get(counter)
            );
        }
        let _ = writeln!(out, "# HELP renderer_shell_requests_total Rendered page shells reused (hit) or rendered (miss).");
        let _ = writeln!(out, "# TYPE renderer_shell_requests_total counter");
        let _ = writeln!(
            out,
            "renderer_shell_requests_total{{result=\"hit\"}} {}",
            get(&self.shell_hits)
        );
        let _ = writeln!(
            out,
            "renderer_shell_requests_total{{result=\"miss\"}} {}",
            get(&self.shell_misses)
        );
        let _ = writeln!(out, "# TYPE renderer_template_failures_total counter");
        let _ = writeln!(
            out,
            "renderer_template_failures_total {}",
            get(&self.template_failures)
        );
        let _ = writeln!(out, "# TYPE renderer_invalidations_total counter");
        let _ = writeln!(
            out,
            "renderer_invalidations_total {}",
            get(&self.invalidations)
        );
        let _ = writeln!(
            out,
            "# HELP renderer_invalidation_subscribed Whether this node receives cms:invalidate."
        );
        let _ = writeln!(out, "# TYPE renderer_invalidation_subscribed gauge");
        let _ = writeln!(
            out,
            "renderer_invalidation_subscribed {}",
            get(&self.invalidation_subscribed)
        );
        let _ = writeln!(
            out,
            "# TYPE renderer_invalidation_resubscribed_total counter"
        );
        let _ = writeln!(
            out,
            "renderer_invalidation_resubscribed_total {}",
            get(&self.invalidation_resubscribed)
        );
        let _ = writeln!(out, "# TYPE renderer_leads_queued_total counter");
        let _ = writeln!(
            out,
            "renderer_leads_queued_total {}",
            get(&self.leads_queued)
        );
        let _ = writeln!(out, "# TYPE renderer_leads_delivered_later_total counter");
        let _ = writeln!(
            out,
            "renderer_leads_delivered_later_total {}",
            get(&self.leads_delivered)
        );
        let _ = writeln!(
            out,
            "# HELP renderer_exposures_total Experiment exposures by outcome."
        );
        let _ = writeln!(out, "# TYPE renderer_exposures_total counter");
        for (result, counter) in [
            ("sent", &self.exposures_sent),
            ("failed", &self.exposures_failed),
            ("refused", &self.exposures_refused),
            ("dropped", &self.exposures_dropped),
        ] {
            let _ = writeln!(
                out,
                "renderer_exposures_total{{result=\"{result}\"}} {}",
                get(counter)
            );
        }
        let _ = writeln!(
            out,
            "# HELP renderer_leads_pending Leads waiting for the API."
        );
        let _ = writeln!(out, "# TYPE renderer_leads_pending gauge");
        let _ = writeln!(out, "renderer_leads_pending {pending_leads}");
        out
    }
}
