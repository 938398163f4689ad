//! Answering a rendered shell: per visitor (holes filled with the visitor's
//! CSRF token and nonce, `private`) or, for pages without holes, once per
//! shell and shared by every visitor (`public`, cacheable by CDNs); ETags and
//! 304s either way.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

use crate::cache::Source;
use crate::render::shell::{Fill, SharedParts, Shell};
use crate::security;
use crate::site::{visitor_id, VISITOR_COOKIE};
use crate::state::RendererState;

/// Fills the shell for this visitor and answers it (or 304).
pub fn respond(
    req: &HttpRequest,
    state: &RendererState,
    shell: &Shell,
    utm: &[(&'static str, String)],
    source: Source,
    status: StatusCode,
    assigned_visitor: Option<(String, bool)>,
) -> HttpResponse {
    if !shell.per_visitor && assigned_visitor.is_none() {
        return respond_shared(req, state, shell, source, status);
    }
    let secret = &state.config.secret;
    let (visitor, is_new) = assigned_visitor.unwrap_or_else(|| match visitor_id(req) {
        Some(id) => (id, false),
        None => (uuid::Uuid::new_v4().to_string(), true),
    });
    let nonce = security::token(secret, "nonce", &[&shell.etag, &visitor]);
    let csrf = security::token(secret, "csrf", &[&visitor]);
    let submission = security::token(secret, "submission", &[&visitor, &shell.etag]);
    let utm_part: String = utm.iter().map(|(k, v)| format!("{k}={v}&")).collect();
    let etag = format!(
        "W/\"{}\"",
        hex::encode(
            &Sha256::digest(format!("{}|{visitor}|{utm_part}", shell.etag).as_bytes())[..12]
        )
    );
    let mut response = actix_web::HttpResponse::build(status);
    security::apply(&mut response, &state.config, Some(&nonce));
    response
        .insert_header((header::ETAG, etag.clone()))
        .insert_header(("X-Cache", source.header()))
        .insert_header((header::CACHE_CONTROL, "private, no-cache"))
        .insert_header((header::VARY, "Cookie"));
    if is_new {
        let cookie = actix_web::cookie::Cookie::build(VISITOR_COOKIE, visitor.clone())
            .path("/")
            .max_age(actix_web::cookie::time::Duration::days(365))
            .same_site(actix_web::cookie::SameSite::Lax)
            .http_only(true)
            .secure(state.config.public_scheme == "https")
            .finish();
        response.cookie(cookie);
    }
    if not_modified(req, status, &etag) {
        return response.status(StatusCode::NOT_MODIFIED).finish();
    }
    let body = shell.fill(&Fill {
        csrf: &csrf,
        submission: &submission,
        nonce: &nonce,
        utm,
    });
    response.content_type("text/html; charset=utf-8").body(body)
}

fn not_modified(req: &HttpRequest, status: StatusCode, etag: &str) -> bool {
    status == StatusCode::OK
        && req
            .headers()
            .get(header::IF_NONE_MATCH)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.split(',').any(|tag| tag.trim() == etag))
}

/// A page that is the same for every visitor (no form holes): its nonce,
/// CSP, ETag and filled body depend on the shell alone, so they are made once
/// per shell and every later response reuses them (CDNs and browsers may
/// share it too).
fn respond_shared(
    req: &HttpRequest,
    state: &RendererState,
    shell: &Shell,
    source: Source,
    status: StatusCode,
) -> HttpResponse {
    let parts = shell.shared.get_or_init(|| {
        let nonce = security::token(&state.config.secret, "nonce", &[&shell.etag]);
        let policy = security::content_security_policy(&state.config, Some(&nonce));
        let body = shell.fill(&Fill {
            csrf: "",
            submission: "",
            nonce: &nonce,
            utm: &[],
        });
        SharedParts {
            etag: format!(
                "W/\"{}\"",
                hex::encode(&Sha256::digest(shell.etag.as_bytes())[..12])
            ),
            content_security_policy: header::HeaderValue::from_str(&policy)
                .unwrap_or_else(|_| header::HeaderValue::from_static("default-src 'self'")),
            nonce,
            body: body.into(),
        }
    });
    let mut response = actix_web::HttpResponse::build(status);
    security::apply_with_policy(
        &mut response,
        &state.config,
        parts.content_security_policy.clone(),
    );
    response
        .insert_header((header::ETAG, parts.etag.clone()))
        .insert_header(("X-Cache", source.header()))
        .insert_header((
            header::CACHE_CONTROL,
            "public, max-age=60, stale-while-revalidate=600, stale-if-error=86400",
        ));
    if not_modified(req, status, &parts.etag) {
        return response.status(StatusCode::NOT_MODIFIED).finish();
    }
    response
        .content_type("text/html; charset=utf-8")
        .body(parts.body.clone())
}
