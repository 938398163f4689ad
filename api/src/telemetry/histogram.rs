//! A Prometheus histogram in the text exposition format, for the figures the
//! api keeps itself (request latency, job run time): cumulative buckets, sum
//! and count, rendered under one metric name with the caller's labels.

use std::fmt::Write;

#[derive(Debug, Clone)]
pub struct Histogram {
    /// Upper bounds of the buckets, in seconds, ascending.
    bounds: &'static [f64],
    /// Observations at or below each bound (cumulative, as Prometheus wants).
    counts: Vec<u64>,
    sum: f64,
    total: u64,
}

impl Histogram {
    pub fn new(bounds: &'static [f64]) -> Self {
        Histogram {
            bounds,
            counts: vec![0; bounds.len()],
            sum: 0.0,
            total: 0,
        }
    }

    pub fn observe(&mut self, seconds: f64) {
        for (bound, count) in self.bounds.iter().zip(self.counts.iter_mut()) {
            if seconds <= *bound {
                *count += 1;
            }
        }
        self.sum += seconds;
        self.total += 1;
    }

    /// Appends `{name}_bucket`, `_sum` and `_count` lines with `labels`
    /// (already escaped: `route="/x"`).
    pub fn render(&self, out: &mut String, name: &str, labels: &str) {
        for (bound, count) in self.bounds.iter().zip(self.counts.iter()) {
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {count}");
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels},le=\"+Inf\"}} {total}\n{name}_sum{{{labels}}} {sum}\n{name}_count{{{labels}}} {total}",
            total = self.total,
            sum = self.sum,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_rendered_with_labels() {
        let mut histogram = Histogram::new(&[0.1, 1.0]);
        histogram.observe(0.05);
        histogram.observe(0.5);
        histogram.observe(5.0);
        let mut out = String::new();
        histogram.render(&mut out, "x_seconds", "queue=\"q\"");
        assert_eq!(
            out,
            "x_seconds_bucket{queue=\"q\",le=\"0.1\"} 1\n\
             x_seconds_bucket{queue=\"q\",le=\"1\"} 2\n\
             x_seconds_bucket{queue=\"q\",le=\"+Inf\"} 3\n\
             x_seconds_sum{queue=\"q\"} 5.55\n\
             x_seconds_count{queue=\"q\"} 3\n"
        );
    }
}
