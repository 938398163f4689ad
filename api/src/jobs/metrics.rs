//! Job figures for `/metrics`: per queue, jobs processed, failed (to be
//! retried) and discarded, and a run-time histogram, counted by this
//! process's workers; depth and the oldest ready job's age come from the
//! database at scrape time (`db::jobs::stats`), so every node shows the
//! whole queue.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

use crate::db::jobs::QueueStats;
use crate::telemetry::histogram::Histogram;

/// Upper bounds of the run-time buckets, in seconds.
const BUCKETS: &[f64] = &[0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0];

#[derive(Clone)]
struct QueueFigures {
    processed: u64,
    failed: u64,
    discarded: u64,
    run_time: Histogram,
}

impl Default for QueueFigures {
    fn default() -> Self {
        QueueFigures {
            processed: 0,
            failed: 0,
            discarded: 0,
            run_time: Histogram::new(BUCKETS),
        }
    }
}

#[derive(Default)]
pub struct JobMetrics {
    queues: Mutex<BTreeMap<String, QueueFigures>>,
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Completed,
    Failed,
    Discarded,
}

impl JobMetrics {
    pub fn observe(&self, queue: &str, outcome: Outcome, took: Duration) {
        let Ok(mut queues) = self.queues.lock() else {
            return;
        };
        let figures = queues.entry(queue.to_owned()).or_default();
        match outcome {
            Outcome::Completed => figures.processed += 1,
            Outcome::Failed => figures.failed += 1,
            Outcome::Discarded => figures.discarded += 1,
        }
        figures.run_time.observe(took.as_secs_f64());
    }

    /// The Prometheus text of the counters and of `depth` (sampled now).
    pub fn render(&self, depth: &[QueueStats]) -> String {
        let mut out = String::new();
        let gauges = [
            ("cms_jobs_ready", "Jobs ready to run now, by queue."),
            ("cms_jobs_running", "Jobs running under a lease, by queue."),
            (
                "cms_jobs_scheduled",
                "Jobs waiting for a later run_at, by queue.",
            ),
            (
                "cms_jobs_oldest_ready_seconds",
                "Age of the oldest job ready to run, by queue.",
            ),
        ];
        for (index, (name, help)) in gauges.iter().enumerate() {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
            for queue in depth {
                let value = match index {
                    0 => queue.ready as f64,
                    1 => queue.running as f64,
                    2 => queue.scheduled as f64,
                    _ => queue.oldest_ready_seconds,
                };
                let _ = writeln!(out, "{name}{{queue=\"{}\"}} {value}", queue.queue);
            }
        }
        let Ok(queues) = self.queues.lock() else {
            return out;
        };
        let _ = writeln!(
            out,
            "# HELP cms_jobs_total Job attempts finished by this process, by queue and outcome.\n# TYPE cms_jobs_total counter"
        );
        for (queue, figures) in queues.iter() {
            for (outcome, count) in [
                ("completed", figures.processed),
                ("failed", figures.failed),
                ("discarded", figures.discarded),
            ] {
                let _ = writeln!(
                    out,
                    "cms_jobs_total{{queue=\"{queue}\",outcome=\"{outcome}\"}} {count}"
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP cms_job_duration_seconds Run time of job attempts, by queue.\n# TYPE cms_job_duration_seconds histogram"
        );
        for (queue, figures) in queues.iter() {
            figures.run_time.render(
                &mut out,
                "cms_job_duration_seconds",
                &format!("queue=\"{queue}\""),
            );
        }
        out
    }
}
