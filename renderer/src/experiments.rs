//! Experiments on the renderer: which variants a request sees (the shared
//! assignment, so the api's `/assign` agrees), whether the visitor may be
//! tracked, and exposure events, sent to the api in batches off the request
//! path, once per visitor and experiment.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header;
use actix_web::HttpRequest;
use cms_shared::delivery::DeliveryPage;
use cms_shared::events::{EventBatch, EventInput, EventKind};
use cms_shared::experiments::{assign, flags_from_query, Experiment, Visitor};
use cms_shared::problem::Problem;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::metrics::{inc, Metrics};
use crate::upstream::Upstream;

/// The consent cookie: `0`, `no` or `denied` means no tracking.
pub const CONSENT_COOKIE: &str = "cms_consent";
/// Events per request to the api (its limit is 100).
const BATCH: usize = 50;
/// How long an event waits for more to share its request.
const FLUSH_EVERY: Duration = Duration::from_millis(250);
/// Events waiting at most; beyond it new ones are dropped and counted.
const QUEUE: usize = 20_000;

/// Whether the visitor lets us count them: no `DNT: 1`, no `Sec-GPC: 1`, and
/// no refused consent cookie.
pub fn tracking_allowed(req: &HttpRequest) -> bool {
    let flag = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.trim() == "1")
    };
    let refused = req.cookie(CONSENT_COOKIE).is_some_and(|cookie| {
        matches!(
            cookie.value().to_ascii_lowercase().as_str(),
            "0" | "no" | "denied" | "false"
        )
    });
    !(flag("dnt") || flag("sec-gpc") || refused)
}

/// Crawlers see what a visitor would but are never counted.
fn is_bot(req: &HttpRequest) -> bool {
    let agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    [
        "bot",
        "spider",
        "crawl",
        "slurp",
        "facebookexternalhit",
        "lighthouse",
    ]
    .iter()
    .any(|word| agent.contains(word))
}

/// What a request sees: `(experiment id, variant key)` per running
/// experiment, and the assignments to count.
pub struct Seen {
    pub variants: Vec<(String, String)>,
    pub tracked: Vec<(String, String)>,
}

pub fn assign_all(
    req: &HttpRequest,
    experiments: &[Experiment],
    visitor: &str,
    locale: &str,
    utm: &[(&'static str, String)],
) -> Seen {
    let flags = flags_from_query(req.query_string());
    let tracking_allowed = tracking_allowed(req) && !is_bot(req);
    let context = Visitor {
        id: visitor,
        locale,
        utm,
        flags: &flags,
        tracking_allowed,
    };
    let mut seen = Seen {
        variants: Vec::with_capacity(experiments.len()),
        tracked: Vec::new(),
    };
    for experiment in experiments {
        let assignment = assign(experiment, &context);
        if assignment.tracked {
            seen.tracked
                .push((assignment.experiment.clone(), assignment.variant.clone()));
        }
        seen.variants
            .push((assignment.experiment, assignment.variant));
    }
    seen
}

/// The page with the assigned variants applied (in the experiments' order).
pub fn apply(page: &DeliveryPage, variants: &[(String, String)]) -> DeliveryPage {
    // Variants are applied by the shared rules on the page's JSON, exactly as
    // the api's previews apply them; this runs only when a shell is rendered.
    let Ok(mut value) = serde_json::to_value(page) else {
        return page.clone();
    };
    for (experiment_id, key) in variants {
        let variant = page
            .experiments
            .iter()
            .find(|x| &x.id == experiment_id)
            .and_then(|x| x.variants.iter().find(|v| &v.key == key));
        if let Some(variant) = variant {
            cms_shared::experiments::apply_variant(&mut value, experiment_id, variant);
        }
    }
    serde_json::from_value(value).unwrap_or_else(|err| {
        tracing::error!(error = %err, "a variant broke the page's shape: showing the control");
        page.clone()
    })
}

struct Exposure {
    experiment: Uuid,
    variant: String,
    visitor: String,
}

struct Delivery {
    /// What is left in the batch was stored.
    delivered: bool,
    /// Events the api refused one by one, taken out of the batch.
    refused: usize,
}

/// Sends `batch`, a few tries over about two seconds (the api may be
/// restarting). The api refuses a batch as a whole and names each refused
/// event (`events.3.experiment`: paused); those leave the batch and the rest
/// is sent again, so one stopped experiment does not lose the others'
/// exposures.
async fn deliver(upstream: &Upstream, batch: &mut Vec<Exposure>) -> Delivery {
    let mut refused = 0;
    let mut attempt = 0_u32;
    while !batch.is_empty() && attempt < 3 {
        let events = EventBatch {
            events: batch
                .iter()
                .map(|e| EventInput {
                    experiment: e.experiment,
                    variant: e.variant.clone(),
                    visitor: e.visitor.clone(),
                    kind: EventKind::Exposure,
                    name: None,
                })
                .collect(),
        };
        let body = serde_json::to_value(&events).unwrap_or_default();
        match upstream.post_plain("/api/v1/delivery/events", &body).await {
            Ok((status, _)) if status < 300 => {
                return Delivery {
                    delivered: true,
                    refused,
                }
            }
            Ok((422, problem)) => {
                let named = refused_events(problem, batch.len());
                if named.is_empty() {
                    // Nothing names an event: the batch itself is wrong.
                    refused += batch.len();
                    batch.clear();
                    break;
                }
                refused += named.len();
                let mut index = 0;
                batch.retain(|_| {
                    index += 1;
                    !named.contains(&(index - 1))
                });
            }
            Ok((400, _)) => break,
            _ => {
                tokio::time::sleep(Duration::from_millis(300 * 2_u64.pow(attempt))).await;
                attempt += 1;
            }
        }
    }
    Delivery {
        delivered: batch.is_empty(),
        refused,
    }
}

/// Indexes of the events a 422 names (`events.<index>.<field>`), below `len`.
fn refused_events(problem: serde_json::Value, len: usize) -> Vec<usize> {
    let Ok(problem) = serde_json::from_value::<Problem>(problem) else {
        return Vec::new();
    };
    let mut named: Vec<usize> = problem
        .errors
        .iter()
        .filter_map(|error| error.item_of("events"))
        .filter(|index| *index < len)
        .collect();
    named.sort_unstable();
    named.dedup();
    named
}

/// Sends exposures to the api: each (visitor, experiment) once per node (the
/// api deduplicates across nodes), in batches, never blocking a request.
pub struct Exposures {
    queue: mpsc::Sender<Exposure>,
    sent: moka::sync::Cache<String, ()>,
    metrics: Arc<Metrics>,
}

impl Exposures {
    pub fn start(upstream: Upstream, metrics: Arc<Metrics>) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(send_batches(receiver, upstream, Arc::clone(&metrics)));
        Exposures {
            queue,
            sent: moka::sync::Cache::builder()
                .max_capacity(1_000_000)
                .time_to_idle(Duration::from_secs(86_400))
                .build(),
            metrics,
        }
    }

    pub fn record(&self, visitor: &str, experiment: &str, variant: &str) {
        // Experiment ids come from the typed page, so they parse; an id
        // that does not could never be accepted by the api.
        let Ok(experiment_id) = Uuid::parse_str(experiment) else {
            inc(&self.metrics.exposures_dropped);
            return;
        };
        let key = format!("{visitor}|{experiment}");
        if self.sent.contains_key(&key) {
            return;
        }
        self.sent.insert(key, ());
        let exposure = Exposure {
            experiment: experiment_id,
            variant: variant.to_owned(),
            visitor: visitor.to_owned(),
        };
        if self.queue.try_send(exposure).is_err() {
            inc(&self.metrics.exposures_dropped);
        }
    }
}

async fn send_batches(
    mut receiver: mpsc::Receiver<Exposure>,
    upstream: Upstream,
    metrics: Arc<Metrics>,
) {
    let mut batch: Vec<Exposure> = Vec::with_capacity(BATCH);
    loop {
        let first = receiver.recv().await;
        let Some(first) = first else {
            return;
        };
        batch.push(first);
        let deadline = tokio::time::Instant::now() + FLUSH_EVERY;
        while batch.len() < BATCH {
            match tokio::time::timeout_at(deadline, receiver.recv()).await {
                Ok(Some(exposure)) => batch.push(exposure),
                Ok(None) | Err(_) => break,
            }
        }
        let outcome = deliver(&upstream, &mut batch).await;
        let add = |counter: &std::sync::atomic::AtomicU64, n: usize| {
            counter.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed)
        };
        add(&metrics.exposures_refused, outcome.refused);
        if outcome.delivered {
            add(&metrics.exposures_sent, batch.len());
        } else {
            add(&metrics.exposures_failed, batch.len());
        }
        batch.clear();
    }
}
