//! Lead forms post here: the renderer checks the CSRF token (bound to the
//! visitor cookie) and forwards the lead to the API with its UTM values, page
//! and visitor id. The `Idempotency-Key` is derived from the page view and
//! the fields, so a double submit makes one lead. A forward that fails is
//! retried, then queued in the outbox (`outbox.rs`) and delivered later: the
//! visitor is told it was received.

use std::collections::HashMap;
use std::time::Duration;

use actix_web::http::{header, StatusCode};
use actix_web::{post, web, HttpRequest, HttpResponse, HttpResponseBuilder};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::metrics::inc;
use crate::outbox::{forward, Forwarded, PendingLead};
use crate::security;
use crate::site::{site_manifest, VISITOR_COOKIE};
use crate::state::RendererState;

const RETRY_DELAYS: [Duration; 2] = [Duration::from_millis(100), Duration::from_millis(400)];

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
    let site = match site_manifest(&req, &state).await {
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
        site: site.id(),
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
