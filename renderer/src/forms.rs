//! Lead forms post here: the renderer checks that the post comes from this
//! site's own page (`from_this_site`: no per-visitor token, so the page with
//! the form stays cacheable by CDNs) and forwards the lead to the API with its
//! UTM values, page and visitor id. The `Idempotency-Key` is derived from the
//! page's shell, the visitor's address and the fields, so a double submit
//! makes one lead. A forward that fails is
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
use crate::site::{request_host, site_manifest, visitor_address, visitor_cookie, visitor_id};
use crate::state::RendererState;

const RETRY_DELAYS: [Duration; 2] = [Duration::from_millis(100), Duration::from_millis(400)];

/// Whether a form post comes from a page of this site: the CSRF defence of
/// pages every visitor shares (OWASP's "verifying origin with standard
/// headers"). Browsers send `Sec-Fetch-Site` with every request and say
/// `same-origin` only for this site's own pages (a sibling subdomain, such as
/// another tenant's landing on the same domain, is `same-site` and refused).
/// Browsers without it send `Origin` with a POST; failing that, `Referer` must
/// be on this site. A post with none of them is refused. The visitor cookie
/// is `SameSite=Lax` besides.
pub fn from_this_site(req: &HttpRequest, state: &RendererState) -> bool {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::trim)
    };
    if let Some(site) = header("sec-fetch-site") {
        return site.eq_ignore_ascii_case("same-origin");
    }
    let Some((host, _)) = request_host(req, state) else {
        return false;
    };
    let origin = format!("{}://{host}", state.config.public_scheme);
    match header("origin") {
        // "null" (a sandboxed frame, a data: page) is not this site either.
        Some(sent) => sent.eq_ignore_ascii_case(&origin),
        None => header("referer").is_some_and(|referer| {
            referer
                .get(..origin.len())
                .is_some_and(|start| start.eq_ignore_ascii_case(&origin))
                && matches!(referer.as_bytes().get(origin.len()), None | Some(b'/'))
        }),
    }
}

/// The answer to a post that did not come from this site's pages.
pub fn refused(state: &RendererState, back: &str) -> HttpResponse {
    thanks(
        state,
        StatusCode::FORBIDDEN,
        "refused",
        "This form can only be sent from its page. Please open the page and send it again.",
        back,
    )
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
    if !from_this_site(&req, &state) {
        return refused(&state, &back);
    }
    // Pages no longer set the visitor cookie (they are shared by caches):
    // a first-time visitor gets it with the answer to the form.
    let (visitor, new_visitor) = match visitor_id(&req) {
        Some(visitor) => (visitor, false),
        None => (uuid::Uuid::new_v4().to_string(), true),
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
    let address = visitor_address(&req, &state).map(|ip| ip.to_string());
    let key = hex::encode(Sha256::digest(
        format!(
            "{}|{}|{}",
            field("submission"),
            address.unwrap_or_default(),
            Value::Object(fields.clone())
        )
        .as_bytes(),
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
    let mut answer = match outcome {
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
    };
    if new_visitor {
        let _ = answer.add_cookie(&visitor_cookie(&visitor, &state));
    }
    answer
}
