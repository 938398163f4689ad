//! The request's site: its host (from `Host`, or `X-Forwarded-Host` from a
//! trusted proxy), its manifest from the api, and the locale a path
//! addresses. Unknown hosts get a plain 404, no data at all a 503 page.

use std::sync::Arc;

use actix_web::cookie::Cookie;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use cms_shared::delivery::SiteManifest;
use serde_json::json;

use crate::cache::{Doc, DocKey, Source};
use crate::security;
use crate::state::RendererState;

/// The site a request is for.
pub struct Site {
    /// The manifest's document (its ETag versions every page of the site).
    pub doc: Arc<Doc>,
    pub manifest: Arc<SiteManifest>,
    pub source: Source,
    /// The host as the visitor asked for it (port kept, for URLs).
    pub raw_host: String,
}

impl Site {
    /// The site's id as the api's paths and cache keys spell it.
    pub fn id(&self) -> String {
        self.manifest.site_id.to_string()
    }
}

pub const VISITOR_COOKIE: &str = "cms_vid";

/// The site's host as the visitor asked for it (port kept, for URLs), and
/// normalised (for lookups). `X-Forwarded-Host` counts only from a trusted proxy.
pub fn request_host(req: &HttpRequest, state: &RendererState) -> Option<(String, String)> {
    let from_proxy = req
        .peer_addr()
        .is_some_and(|peer| state.config.trusted_proxies.contains(&peer.ip()));
    let forwarded = from_proxy
        .then(|| req.headers().get("x-forwarded-host"))
        .flatten()
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(',').next())
        .map(str::trim);
    let raw = forwarded.or_else(|| {
        req.headers()
            .get(header::HOST)
            .and_then(|value| value.to_str().ok())
    })?;
    let normalized = cms_shared::host::normalize_host(raw).ok()?;
    let raw = raw.trim().to_ascii_lowercase();
    raw.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-.:".contains(&b))
        .then_some((raw, normalized))
}

/// The locale a path addresses (a `/ru/...` prefix for a non-default locale)
/// and the page path within it.
pub fn resolve_locale(manifest: &SiteManifest, raw_path: &str) -> Option<(String, String)> {
    let path = cms_shared::path::normalize_path(raw_path).ok()?;
    let default = manifest.default_locale.clone();
    let first = path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default();
    let is_other_locale = first != default
        && !first.is_empty()
        && manifest.locales.iter().any(|locale| locale == first);
    if is_other_locale {
        let rest = &path[first.len() + 1..];
        let rest = if rest.is_empty() { "/" } else { rest };
        return Some((first.to_owned(), rest.to_owned()));
    }
    Some((default, path))
}

/// The visitor's address: the peer, or the client a trusted proxy names in
/// `X-Forwarded-For`.
pub fn visitor_address(req: &HttpRequest, state: &RendererState) -> Option<std::net::IpAddr> {
    let peer = req.peer_addr()?.ip();
    let forwarded = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|value| value.to_str().ok());
    Some(cms_shared::forwarded::client_ip(
        peer,
        forwarded,
        &state.config.trusted_proxies,
    ))
}

/// The cookie that keeps a visitor's id for a year (experiments, leads).
pub fn visitor_cookie(visitor: &str, state: &RendererState) -> Cookie<'static> {
    Cookie::build(VISITOR_COOKIE, visitor.to_owned())
        .path("/")
        .max_age(actix_web::cookie::time::Duration::days(365))
        .same_site(actix_web::cookie::SameSite::Lax)
        .http_only(true)
        .secure(state.config.public_scheme == "https")
        .finish()
}

pub fn visitor_id(req: &HttpRequest) -> Option<String> {
    req.cookie(VISITOR_COOKIE)
        .map(|cookie| cookie.value().to_owned())
        .filter(|value| uuid::Uuid::parse_str(value).is_ok())
}

pub fn unavailable(state: &RendererState) -> HttpResponse {
    let mut response = HttpResponse::ServiceUnavailable();
    security::apply(&mut response, &state.config, None);
    response
        .insert_header((header::RETRY_AFTER, "30"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type("text/html; charset=utf-8")
        .body(state.templates.standalone("unavailable.html", &json!({})))
}

pub fn unknown_host(req: &HttpRequest, state: &RendererState, host: &str) -> HttpResponse {
    let mut response = HttpResponse::NotFound();
    security::apply(&mut response, &state.config, None);
    response
        .insert_header((header::CACHE_CONTROL, "public, max-age=60"))
        .content_type("text/html; charset=utf-8")
        .body(
            state
                .templates
                .standalone("not_found.html", &json!({"host": host, "path": req.path()})),
        )
}

/// The manifest of the request's site, or the response to give instead.
pub async fn site_manifest(req: &HttpRequest, state: &RendererState) -> Result<Site, HttpResponse> {
    let Some((raw_host, host)) = request_host(req, state) else {
        return Err(unknown_host(req, state, ""));
    };
    match state.documents.get(&DocKey::Manifest { host }).await {
        Ok((entry, source)) => match entry.doc {
            Some(doc) => match doc.manifest() {
                Some(manifest) => Ok(Site {
                    manifest: Arc::clone(manifest),
                    doc,
                    source,
                    raw_host,
                }),
                None => Err(unavailable(state)),
            },
            None => Err(unknown_host(req, state, &raw_host)),
        },
        Err(_) => Err(unavailable(state)),
    }
}
