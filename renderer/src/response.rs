//! Answering a rendered shell. Pages are the same for every visitor
//! (`public`, cacheable by CDNs and shared caches), lead and booking forms
//! included: their posts are checked by `Sec-Fetch-Site`/`Origin`
//! (`forms::from_this_site`), not by a per-visitor token. Only a page with an
//! experiment assignment (or a custom template's CSRF hole) is answered per
//! visitor (`private`). ETags and 304s either way.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

use crate::cache::Source;
use crate::render::shell::{Fill, SharedParts, Shell};
use crate::security;
use crate::site::visitor_cookie;
use crate::state::RendererState;

/// Answers the shell (or 304): shared by everyone, or for the visitor an
/// experiment assigned (`private`, the variant is theirs).
pub fn respond(
    req: &HttpRequest,
    state: &RendererState,
    shell: &Shell,
    utm: &[(&'static str, String)],
    source: Source,
    status: StatusCode,
    assigned_visitor: Option<(String, bool)>,
) -> HttpResponse {
    let Some((visitor, is_new)) = assigned_visitor else {
        return respond_shared(req, state, shell, utm, source, status);
    };
    let secret = &state.config.secret;
    let nonce = security::token(secret, "nonce", &[&shell.etag, &visitor]);
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
        response.cookie(visitor_cookie(&visitor, state));
    }
    if not_modified(req, status, &etag) {
        return response.status(StatusCode::NOT_MODIFIED).finish();
    }
    let body = shell.fill(&Fill {
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

/// How long shared caches and browsers may keep a public page: a CDN serves
/// it for a minute, then revalidates in the background for ten more.
/// Publishing cannot purge a CDN, so `s-maxage` bounds how late a change
/// shows there.
pub const PUBLIC_PAGE: &str =
    "public, max-age=60, s-maxage=60, stale-while-revalidate=600, stale-if-error=86400";

/// A page that is the same for every visitor: its nonce, CSP, ETag and
/// filled body depend on the shell alone, so they are made once per shell and
/// every later response reuses them. A form's UTM fields take the URL's
/// values: the same for every visitor of that URL (caches key by URL), filled
/// per request.
fn respond_shared(
    req: &HttpRequest,
    state: &RendererState,
    shell: &Shell,
    utm: &[(&'static str, String)],
    source: Source,
    status: StatusCode,
) -> HttpResponse {
    let parts = shell.shared.get_or_init(|| {
        let nonce = security::token(&state.config.secret, "nonce", &[&shell.etag]);
        let submission = security::token(&state.config.secret, "submission", &[&shell.etag]);
        let policy = security::content_security_policy(&state.config, Some(&nonce));
        let body = shell.fill(&Fill {
            submission: &submission,
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
            submission,
            body: body.into(),
        }
    });
    let per_url = shell.takes_utm && !utm.is_empty();
    let etag = if per_url {
        let utm_part: String = utm.iter().map(|(k, v)| format!("{k}={v}&")).collect();
        format!(
            "W/\"{}\"",
            hex::encode(&Sha256::digest(format!("{}|{utm_part}", shell.etag).as_bytes())[..12])
        )
    } else {
        parts.etag.clone()
    };
    let mut response = actix_web::HttpResponse::build(status);
    security::apply_with_policy(
        &mut response,
        &state.config,
        parts.content_security_policy.clone(),
    );
    response
        .insert_header((header::ETAG, etag.clone()))
        .insert_header(("X-Cache", source.header()))
        .insert_header((header::CACHE_CONTROL, PUBLIC_PAGE));
    if not_modified(req, status, &etag) {
        return response.status(StatusCode::NOT_MODIFIED).finish();
    }
    let body = if per_url {
        shell
            .fill(&Fill {
                submission: &parts.submission,
                nonce: &parts.nonce,
                utm,
            })
            .into()
    } else {
        parts.body.clone()
    };
    response.content_type("text/html; charset=utf-8").body(body)
}
