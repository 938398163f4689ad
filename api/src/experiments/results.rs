//! Results of an experiment from its durable event record: per variant the
//! exposed visitors, goal conversions, rate, uplift over control with a 95%
//! interval, the two-proportion test, the Bayesian chance to beat control, a
//! sample ratio mismatch check, and the cumulative conversion rate over time
//! (as JSON, and as an HTML report with an SVG chart).

use chrono::{DateTime, Utc};
use cms_shared::experiments::Variant;
use cms_shared::stats;
use diesel::PgConnection;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::experiments::{self, Experiment, ExperimentStatus};
use crate::error::ApiError;

#[derive(Debug, Serialize, ToSchema)]
pub struct Results {
    pub experiment_id: Uuid,
    pub name: String,
    pub status: ExperimentStatus,
    pub goal: String,
    pub started_at: Option<DateTime<Utc>>,
    pub computed_at: DateTime<Utc>,
    /// Control first.
    pub variants: Vec<VariantResult>,
    pub sample_ratio: SampleRatioCheck,
    /// Visitors with each custom event, per variant.
    pub custom_events: Vec<CustomEventCount>,
    /// Cumulative visitors and conversions per variant, per `series_unit`.
    pub series_unit: String,
    pub series: Vec<VariantSeries>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VariantResult {
    pub key: String,
    pub name: String,
    pub weight: f64,
    pub is_control: bool,
    /// Visitors exposed to the variant.
    pub visitors: u64,
    /// Of them, visitors who reached the goal.
    pub conversions: u64,
    pub rate: f64,
    /// Absolute difference of rates against control, with its 95% interval.
    pub difference: Option<f64>,
    pub difference_ci: Option<[f64; 2]>,
    /// Relative uplift over control (0.1 = +10%), with its 95% interval.
    pub uplift: Option<f64>,
    pub uplift_ci: Option<[f64; 2]>,
    /// Two-sided p-value of the pooled two-proportion z-test against control.
    pub p_value: Option<f64>,
    /// Probability the variant's true rate beats control's (Beta(1,1) prior).
    pub chance_to_beat_control: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SampleRatioCheck {
    pub chi_square: f64,
    pub p_value: f64,
    /// True when the split differs from the weights more than chance allows
    /// (p < 0.001): assignment or tracking is broken, do not trust results.
    pub mismatch: bool,
    /// Visitors each variant should have had, by weight.
    pub expected: Vec<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomEventCount {
    pub name: String,
    pub variant: String,
    pub visitors: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VariantSeries {
    pub variant: String,
    pub points: Vec<SeriesPoint>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SeriesPoint {
    pub at: DateTime<Utc>,
    /// Cumulative exposed visitors up to the end of this interval.
    pub visitors: u64,
    pub conversions: u64,
    pub rate: f64,
}

fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Computes the results of `experiment` from its events (read in the
/// caller's tenant scope).
pub fn compute(conn: &mut PgConnection, experiment: &Experiment) -> Result<Results, ApiError> {
    let variants: Vec<Variant> =
        serde_json::from_value(experiment.variants.clone()).map_err(ApiError::internal)?;
    let totals = experiments::variant_totals(conn, experiment.id, &experiment.goal)?;
    let of = |key: &str| {
        totals
            .iter()
            .find(|t| t.variant == key)
            .map_or((0, 0), |t| (count(t.visitors), count(t.conversions)))
    };
    let (control_visitors, control_conversions) =
        variants.first().map_or((0, 0), |control| of(&control.key));
    let results: Vec<VariantResult> = variants
        .iter()
        .enumerate()
        .map(|(index, variant)| {
            let (visitors, conversions) = of(&variant.key);
            let mut result = VariantResult {
                key: variant.key.clone(),
                name: variant.name.clone(),
                weight: variant.weight,
                is_control: index == 0,
                visitors,
                conversions,
                rate: ratio(conversions, visitors),
                difference: None,
                difference_ci: None,
                uplift: None,
                uplift_ci: None,
                p_value: None,
                chance_to_beat_control: None,
            };
            if index > 0 {
                let comparison =
                    stats::compare(control_visitors, control_conversions, visitors, conversions);
                result.difference = Some(comparison.difference);
                result.difference_ci =
                    Some([comparison.difference_ci.low, comparison.difference_ci.high]);
                result.uplift = comparison.uplift;
                result.uplift_ci = comparison.uplift_ci.map(|ci| [ci.low, ci.high]);
                result.p_value = comparison.p_value;
                result.chance_to_beat_control = Some(comparison.chance_to_beat_control);
            }
            result
        })
        .collect();
    let observed: Vec<u64> = results.iter().map(|r| r.visitors).collect();
    let weights: Vec<f64> = variants.iter().map(|v| v.weight).collect();
    let srm = stats::sample_ratio(&observed, &weights);
    let custom_events = experiments::custom_counts(conn, experiment.id)?
        .into_iter()
        .map(|row| CustomEventCount {
            name: row.name,
            variant: row.variant,
            visitors: count(row.visitors),
        })
        .collect();
    let started = experiment.started_at.unwrap_or(experiment.created_at);
    // Minutes for the first hours, hours for about three days, then days:
    // a chart of tens of points.
    let age = Utc::now() - started;
    let unit = if age > chrono::Duration::days(3) {
        "day"
    } else if age > chrono::Duration::hours(6) {
        "hour"
    } else {
        "minute"
    };
    let points = experiments::series(conn, experiment.id, &experiment.goal, unit)?;
    let series = variants
        .iter()
        .map(|variant| {
            let (mut visitors, mut conversions) = (0_u64, 0_u64);
            VariantSeries {
                variant: variant.key.clone(),
                points: points
                    .iter()
                    .filter(|p| p.variant == variant.key)
                    .map(|p| {
                        visitors += count(p.exposures);
                        conversions += count(p.conversions);
                        SeriesPoint {
                            at: p.at,
                            visitors,
                            conversions,
                            rate: ratio(conversions, visitors),
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    Ok(Results {
        experiment_id: experiment.id,
        name: experiment.name.clone(),
        status: experiment.status,
        goal: experiment.goal.clone(),
        started_at: experiment.started_at,
        computed_at: Utc::now(),
        variants: results,
        sample_ratio: SampleRatioCheck {
            chi_square: srm.chi_square,
            p_value: srm.p_value,
            mismatch: srm.mismatch,
            expected: srm.expected,
        },
        custom_events,
        series_unit: unit.to_owned(),
        series,
    })
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn percent(value: f64) -> String {
    format!("{:.2}%", value * 100.0)
}

const COLORS: [&str; 8] = [
    "#64748b", "#2563eb", "#16a34a", "#dc2626", "#9333ea", "#ea580c", "#0891b2", "#ca8a04",
];

/// The cumulative conversion rate per variant over time as an SVG line chart.
pub fn chart_svg(results: &Results) -> String {
    let (width, height, pad) = (640.0_f64, 240.0_f64, 36.0_f64);
    let times: Vec<i64> = results
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.at.timestamp()))
        .collect();
    let (Some(first), Some(last)) = (times.iter().min(), times.iter().max()) else {
        return format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"No data yet\"><text x=\"{}\" y=\"{}\" text-anchor=\"middle\">No events yet</text></svg>",
            width / 2.0,
            height / 2.0
        );
    };
    let top = results
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.rate))
        .fold(0.0_f64, f64::max)
        .max(0.01)
        * 1.1;
    let span = (last - first).max(1) as f64;
    let x = |t: i64| pad + (t - first) as f64 / span * (width - 2.0 * pad);
    let y = |rate: f64| height - pad - rate / top * (height - 2.0 * pad);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"Cumulative conversion rate per variant\">\
<line x1=\"{pad}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#94a3b8\"/>\
<line x1=\"{pad}\" y1=\"{pad}\" x2=\"{pad}\" y2=\"{b}\" stroke=\"#94a3b8\"/>\
<text x=\"2\" y=\"{t}\" font-size=\"11\">{top_label}</text><text x=\"2\" y=\"{b}\" font-size=\"11\">0%</text>",
        b = height - pad,
        r = width - pad,
        t = pad + 4.0,
        top_label = percent(top),
    );
    for (index, series) in results.series.iter().enumerate() {
        let color = COLORS[index % COLORS.len()];
        let points: Vec<String> = series
            .points
            .iter()
            .map(|p| format!("{:.1},{:.1}", x(p.at.timestamp()), y(p.rate)))
            .collect();
        if let [only] = series.points.as_slice() {
            // One interval so far: its rate holds across the chart.
            svg.push_str(&format!(
                "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{pad:.1},{y:.1} {right:.1},{y:.1}\"/>",
                y = y(only.rate),
                right = width - pad,
            ));
        } else if !points.is_empty() {
            svg.push_str(&format!(
                "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"/>",
                points.join(" ")
            ));
        }
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" font-size=\"12\" fill=\"{color}\">{}</text>",
            width - pad - 120.0 + 0.0,
            pad + 14.0 * index as f64,
            escape(&series.variant)
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// A self-contained HTML page for editors: the table of results, the SRM
/// verdict and the chart. No scripts, no external resources.
pub fn report_html(results: &Results) -> String {
    let optional = |value: Option<f64>, format: fn(f64) -> String| {
        value.map_or_else(|| "–".to_owned(), format)
    };
    let interval = |ci: Option<[f64; 2]>| {
        ci.map_or_else(
            || "–".to_owned(),
            |[low, high]| format!("{} to {}", percent(low), percent(high)),
        )
    };
    let mut rows = String::new();
    for v in &results.variants {
        rows.push_str(&format!(
            "<tr><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&v.key),
            if v.is_control { " (control)" } else { "" },
            v.visitors,
            v.conversions,
            percent(v.rate),
            optional(v.uplift, percent),
            interval(v.uplift_ci),
            optional(v.p_value, |p| format!("{p:.4}")),
            optional(v.chance_to_beat_control, percent),
        ));
    }
    let srm = if results.sample_ratio.mismatch {
        format!(
            "<p class=\"warn\"><strong>Sample ratio mismatch</strong> (χ² = {:.2}, p = {:.2e}): the split differs from the weights; check assignment and tracking before trusting these results.</p>",
            results.sample_ratio.chi_square, results.sample_ratio.p_value
        )
    } else {
        format!(
            "<p>Sample ratio check passed (χ² = {:.2}, p = {:.3}).</p>",
            results.sample_ratio.chi_square, results.sample_ratio.p_value
        )
    };
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><meta name=\"robots\" content=\"noindex\"><title>{name}: results</title>\
<style>body{{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#0f172a}}table{{border-collapse:collapse;width:100%}}td,th{{border-bottom:1px solid #e2e8f0;padding:.4rem;text-align:right}}td:first-child,th:first-child{{text-align:left}}.warn{{background:#fef2f2;border:1px solid #dc2626;padding:.5rem}}svg{{width:100%;height:auto}}</style></head>\
<body><h1>{name}</h1><p>Status: {status}. Goal: <code>{goal}</code>. Computed {computed}.</p>{srm}\
<table><thead><tr><th>Variant</th><th>Visitors</th><th>Conversions</th><th>Rate</th><th>Uplift</th><th>Uplift 95% CI</th><th>p-value</th><th>Chance to beat control</th></tr></thead><tbody>{rows}</tbody></table>\
<h2>Cumulative conversion rate</h2>{chart}</body></html>",
        name = escape(&results.name),
        status = escape(results.status.as_str()),
        goal = escape(&results.goal),
        computed = results.computed_at.format("%Y-%m-%d %H:%M UTC"),
        chart = chart_svg(results),
    )
}
