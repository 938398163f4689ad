//! Lead forms post here: the renderer checks the CSRF token (bound to the
//! visitor cookie) and forwards the lead to the API with its UTM values, page
//! and visitor id. The `Idempotency-Key` is derived from the page view and
//! the fields, so a double submit makes one lead. A forward that fails is
//! retried, then queued (in Redis when it answers, else in memory) and
//! delivered by a background loop: the visitor is told it was received.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use actix_web::http::{header, StatusCode};
use actix_web::{post, web, HttpRequest, HttpResponse, HttpResponseBuilder};
use fred::prelude::{ClientLike, ListInterface, Pool};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::metrics::{inc, Metrics};
use crate::pages::{site_manifest, VISITOR_COOKIE};
use crate::security;
use crate::state::RendererState;
use crate::upstream::Upstream;

const RETRY_DELAYS: [Duration; 2] = [Duration::from_millis(100), Duration::from_millis(400)];
const OUTBOX_INTERVAL: Duration = Duration::from_secs(2);

/// A lead waiting for the API.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingLead {
    pub site: String,
    pub key: String,
    pub body: Value,
}

pub struct Outbox {
    redis: Option<Pool>,
    key: String,
    memory: Mutex<VecDeque<PendingLead>>,
}

enum Forwarded {
    Accepted,
    /// The API refused the lead itself (invalid, limited, no such site):
    /// retrying would not help.
    Rejected(StatusCode),
    Failed,
}

async fn forward(upstream: &Upstream, lead: &PendingLead) -> Forwarded {
    let path = format!("/api/v1/delivery/sites/{}/leads", lead.site);
    match upstream.post_json(&path, &lead.body, &lead.key).await {
        Ok(200..=299) => Forwarded::Accepted,
        Ok(429) => Forwarded::Rejected(StatusCode::TOO_MANY_REQUESTS),
        Ok(404) => Forwarded::Rejected(StatusCode::NOT_FOUND),
        Ok(400..=499) => Forwarded::Rejected(StatusCode::UNPROCESSABLE_ENTITY),
        _ => Forwarded::Failed,
    }
}

impl Outbox {
    pub fn new(redis: Option<Pool>, prefix: &str) -> Self {
        Outbox {
            redis,
            key: format!("{prefix}renderer:leads"),
            memory: Mutex::new(VecDeque::new()),
        }
    }

    fn connected(&self) -> Option<&Pool> {
        self.redis.as_ref().filter(|pool| pool.is_connected())
    }

    pub async fn push(&self, lead: PendingLead) {
        if let (Some(pool), Ok(raw)) = (self.connected(), serde_json::to_string(&lead)) {
            let pushed: Result<i64, _> = pool.lpush(&self.key, raw).await;
            if pushed.is_ok() {
                return;
            }
        }
        tracing::warn!(site = %lead.site, "lead queued in memory until the API answers");
        if let Ok(mut memory) = self.memory.lock() {
            memory.push_back(lead);
        }
    }

    pub fn pending_in_memory(&self) -> usize {
        self.memory.lock().map_or(0, |memory| memory.len())
    }

    /// Delivers queued leads, oldest first; stops at the first failure.
    pub async fn drain(&self, upstream: &Upstream, metrics: &Metrics) {
        loop {
            let next = self.memory.lock().ok().and_then(|mut m| m.pop_front());
            let Some(lead) = next else { break };
            match forward(upstream, &lead).await {
                Forwarded::Failed => {
                    if let Ok(mut memory) = self.memory.lock() {
                        memory.push_front(lead);
                    }
                    return;
                }
                Forwarded::Accepted => inc(&metrics.leads_delivered),
                Forwarded::Rejected(status) => {
                    tracing::error!(%status, site = %lead.site, "queued lead refused by the API")
                }
            }
        }
        let Some(pool) = self.connected() else { return };
        loop {
            // Peek, deliver, then remove: a crash in between delivers it
            // twice, which its idempotency key makes harmless.
            let oldest: Result<Option<String>, _> = pool.lindex(&self.key, -1).await;
            let Ok(Some(raw)) = oldest else { return };
            let Ok(lead) = serde_json::from_str::<PendingLead>(&raw) else {
                let _: Result<Option<String>, _> = pool.rpop(&self.key, None).await;
                continue;
            };
            match forward(upstream, &lead).await {
                Forwarded::Failed => return,
                Forwarded::Accepted => inc(&metrics.leads_delivered),
                Forwarded::Rejected(status) => {
                    tracing::error!(%status, site = %lead.site, "queued lead refused by the API")
                }
            }
            let _: Result<Option<String>, _> = pool.rpop(&self.key, None).await;
        }
    }
}

/// Runs `drain` every few seconds for the life of the process.
pub fn spawn_outbox(state: web::Data<RendererState>) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(OUTBOX_INTERVAL).await;
            state
                .outbox
                .drain(state.documents.upstream(), &state.metrics)
                .await;
        }
    });
}

/// The visitor whose form this is, when the CSRF token was issued to the
/// visitor cookie the request carries.
pub fn csrf_visitor(req: &HttpRequest, state: &RendererState, token: &str) -> Option<String> {
    let visitor = req.cookie(VISITOR_COOKIE)?.value().to_owned();
    (!visitor.is_empty() && security::verify(&state.config.secret, "csrf", &[&visitor], token))
        .then_some(visitor)
}

pub fn thanks(
    state: &RendererState,
    status: StatusCode,
    outcome: &str,
    message: &str,
    back: &str,
) -> HttpResponse {
    let mut response = HttpResponseBuilder::new(status);
    security::apply(&mut response, &state.config, None);
    response
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type("text/html; charset=utf-8")
        .body(state.templates.standalone(
            "thanks.html",
            &json!({"status": outcome, "message": message, "back": back}),
        ))
}

#[post("/_cms/leads")]
pub async fn submit_lead(
    req: HttpRequest,
    state: web::Data<RendererState>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let form = form.into_inner();
    let field = |name: &str| {
        form.get(name)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    let path = cms_shared::path::normalize_path(&field("path")).unwrap_or_else(|_| "/".into());
    let back = format!("{path}#lead");
    let (manifest, _, _) = match site_manifest(&req, &state).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some(visitor) = csrf_visitor(&req, &state, &field("csrf")) else {
        return thanks(
            &state,
            StatusCode::FORBIDDEN,
            "expired",
            "This form has expired. Please reload the page and send it again.",
            &back,
        );
    };
    let utm: serde_json::Map<String, Value> = cms_shared::cache_key::UTM_KEYS
        .iter()
        .filter(|key| !field(key).is_empty())
        .map(|key| ((*key).to_owned(), Value::String(field(key))))
        .collect();
    let fields: serde_json::Map<String, Value> = ["name", "phone", "email", "comment"]
        .iter()
        .filter(|key| !field(key).is_empty())
        .map(|key| ((*key).to_owned(), Value::String(field(key))))
        .collect();
    let page_id = Some(field("page_id")).filter(|id| uuid::Uuid::parse_str(id).is_ok());
    let body = json!({
        "page_id": page_id,
        "path": path,
        "visitor_id": visitor,
        "fields": fields,
        "utm": utm,
    });
    let key = hex::encode(Sha256::digest(
        format!("{}|{}", field("submission"), Value::Object(fields.clone())).as_bytes(),
    ));
    let lead = PendingLead {
        site: manifest.value["site_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        key,
        body,
    };
    let upstream = state.documents.upstream();
    let mut outcome = forward(upstream, &lead).await;
    for delay in RETRY_DELAYS {
        if !matches!(outcome, Forwarded::Failed) {
            break;
        }
        tokio::time::sleep(delay).await;
        outcome = forward(upstream, &lead).await;
    }
    match outcome {
        Forwarded::Accepted => thanks(
            &state,
            StatusCode::OK,
            "received",
            "We have your request and will get back to you shortly.",
            &back,
        ),
        Forwarded::Rejected(StatusCode::TOO_MANY_REQUESTS) => thanks(
            &state,
            StatusCode::TOO_MANY_REQUESTS,
            "limited",
            "You have sent several requests already. Please try again later.",
            &back,
        ),
        Forwarded::Rejected(status) => thanks(
            &state,
            status,
            "invalid",
            "Please leave a phone number or an email address we can reach you at.",
            &back,
        ),
        Forwarded::Failed => {
            inc(&state.metrics.leads_queued);
            state.outbox.push(lead).await;
            thanks(
                &state,
                StatusCode::ACCEPTED,
                "received",
                "We have your request and will get back to you shortly.",
                &back,
            )
        }
    }
}
