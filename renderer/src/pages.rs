//! Public pages: Host -> site manifest, path (+ locale prefix) -> published
//! page, rendered shell filled per request. Unknown hosts get a plain 404,
//! unknown paths the site's own 404 page, and no data at all (API down and
//! nothing cached) a clear 503 page.

use std::sync::Arc;

use actix_web::http::{header, StatusCode};
use actix_web::{get, web, HttpRequest, HttpResponse};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::cache::{Doc, DocKey, Source};
use crate::render::shell::{Fill, SharedParts, Shell};
use crate::render::{seo, PageRequest};
use crate::security;
use crate::state::RendererState;

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
pub fn resolve_locale(manifest: &Value, raw_path: &str) -> Option<(String, String)> {
    let path = cms_shared::path::normalize_path(raw_path).ok()?;
    let default = manifest["default_locale"]
        .as_str()
        .unwrap_or("en")
        .to_owned();
    let first = path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default();
    let is_other_locale = first != default
        && !first.is_empty()
        && manifest["locales"]
            .as_array()
            .is_some_and(|locales| locales.iter().any(|l| l.as_str() == Some(first)));
    if is_other_locale {
        let rest = &path[first.len() + 1..];
        let rest = if rest.is_empty() { "/" } else { rest };
        return Some((first.to_owned(), rest.to_owned()));
    }
    Some((default, path))
}

fn visitor_id(req: &HttpRequest) -> Option<String> {
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

fn unknown_host(req: &HttpRequest, state: &RendererState, host: &str) -> HttpResponse {
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
pub async fn site_manifest(
    req: &HttpRequest,
    state: &RendererState,
) -> Result<(Arc<Doc>, Source, String), HttpResponse> {
    let Some((raw_host, host)) = request_host(req, state) else {
        return Err(unknown_host(req, state, ""));
    };
    match state.documents.get(&DocKey::Manifest { host }).await {
        Ok((entry, source)) => match entry.doc {
            Some(doc) => Ok((doc, source, raw_host)),
            None => Err(unknown_host(req, state, &raw_host)),
        },
        Err(_) => Err(unavailable(state)),
    }
}

fn worse(a: Source, b: Source) -> Source {
    let rank = |s: Source| match s {
        Source::Memory => 0,
        Source::Redis => 1,
        Source::Api => 2,
        Source::Stale => 3,
    };
    if rank(a) >= rank(b) {
        a
    } else {
        b
    }
}

/// Every page of every site.
pub async fn page(req: HttpRequest, state: web::Data<RendererState>) -> HttpResponse {
    if req.method() != actix_web::http::Method::GET && req.method() != actix_web::http::Method::HEAD
    {
        return HttpResponse::MethodNotAllowed()
            .insert_header((header::ALLOW, "GET, HEAD"))
            .finish();
    }
    let (manifest, manifest_source, raw_host) = match site_manifest(&req, &state).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let origin = format!("{}://{raw_host}", state.config.public_scheme);
    let site = manifest.value["site_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if let Some(token) = query_value(req.query_string(), "preview") {
        return preview(&req, &state, &manifest, &origin, &token).await;
    }
    let Some((locale, path)) = resolve_locale(&manifest.value, req.path()) else {
        return site_not_found(&req, &state, &manifest, &origin, req.path(), "");
    };
    let key = DocKey::Page {
        site: site.clone(),
        locale: locale.clone(),
        path: path.clone(),
    };
    let (page, page_source) = match state.documents.get(&key).await {
        Ok((entry, source)) => match entry.doc {
            Some(doc) => (doc, source),
            None => return site_not_found(&req, &state, &manifest, &origin, &path, &locale),
        },
        Err(_) => return unavailable(&state),
    };
    let utm = cms_shared::cache_key::utm_values(req.query_string());
    let relevant: Vec<String> = manifest.value["analytics"]["content_utm"]
        .as_array()
        .map(|keys| {
            keys.iter()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    // Pages with clinic modules show the site's clinic data: it versions
    // their shell too. Without it (api down, nothing cached) they show the
    // modules' props-only version.
    let shows_clinic = page.value["blocks"].as_array().is_some_and(|blocks| {
        blocks.iter().any(|block| {
            block["module"]
                .as_str()
                .is_some_and(|module| crate::render::clinic::MODULES.contains(&module))
        })
    });
    let clinic = if shows_clinic {
        state
            .documents
            .get(&DocKey::ClinicData { site: site.clone() })
            .await
            .ok()
            .and_then(|(entry, _)| entry.doc)
    } else {
        None
    };
    // Running experiments: the variants this visitor is assigned join the
    // shell key (two experiments of two variants: at most four shells), and
    // the response becomes per visitor (it depends on the visitor cookie).
    let mut visitor = None;
    let mut variants = Vec::new();
    if !page.experiments.is_empty() {
        let (id, is_new) = match visitor_id(&req) {
            Some(id) => (id, false),
            None => (uuid::Uuid::new_v4().to_string(), true),
        };
        let seen = crate::experiments::assign_all(&req, &page.experiments, &id, &locale, &utm);
        for (experiment, variant) in &seen.tracked {
            state.exposures.record(&id, experiment, variant);
        }
        variants = seen.variants;
        visitor = Some((id, is_new));
    }
    let shell_key = format!(
        "{}|{origin}|{}|{}|{}",
        cms_shared::cache_key::page_key(&site, &locale, &path, &variants, &utm, &relevant),
        manifest.etag,
        page.etag,
        clinic.as_ref().map_or("", |doc| doc.etag.as_str())
    );
    let shell = match state
        .shell(&shell_key, {
            let state = state.clone();
            let manifest = Arc::clone(&manifest);
            let page = Arc::clone(&page);
            let origin = origin.clone();
            let locale = locale.clone();
            let key_for_etag = shell_key.clone();
            let clinic = clinic.clone();
            let variants = variants.clone();
            move || {
                let prefix = seo::locale_prefix(&manifest.value, &locale);
                let request = PageRequest {
                    manifest: &manifest.value,
                    origin: &origin,
                    locale_prefix: &prefix,
                    clinic: clinic.as_ref().map_or(&Value::Null, |doc| &doc.value),
                };
                // The key names the versions, the variants and the
                // content-relevant UTM values, so it versions the shell (and
                // its ETag).
                if variants.is_empty() {
                    state.templates.page(&request, &page.value, key_for_etag)
                } else {
                    let shown =
                        crate::experiments::apply(&page.value, &page.experiments, &variants);
                    state.templates.page(&request, &shown, key_for_etag)
                }
            }
        })
        .await
    {
        Some(shell) => shell,
        None => return unavailable(&state),
    };
    respond(
        &req,
        &state,
        &shell,
        &utm,
        worse(manifest_source, page_source),
        StatusCode::OK,
        visitor,
    )
}

/// The first value of a query parameter.
fn query_value(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// An editor's preview (`?preview=<token>[&variant=b][&experiment=<id>]`):
/// the page's current draft, with a variant applied if asked, rendered fresh.
/// Never cached, never counted, never indexed.
async fn preview(
    req: &HttpRequest,
    state: &RendererState,
    manifest: &Doc,
    origin: &str,
    token: &str,
) -> HttpResponse {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("token", token);
    for name in ["variant", "experiment"] {
        if let Some(value) = query_value(req.query_string(), name) {
            query.append_pair(name, &value);
        }
    }
    let path = format!("/api/v1/delivery/preview?{}", query.finish());
    let page = match state.documents.upstream().get_json(&path).await {
        Ok((200, page)) if page["site_id"] == manifest.value["site_id"] => page,
        Ok((200 | 404, _)) => {
            return site_not_found(req, state, manifest, origin, req.path(), "");
        }
        Ok((status, problem)) if status == 401 || status == 422 => {
            let mut response = HttpResponse::build(
                StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            );
            security::apply(&mut response, &state.config, None);
            return response
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .content_type("text/plain; charset=utf-8")
                .body(format!(
                    "This preview link cannot be shown: {}\n",
                    problem["detail"]
                        .as_str()
                        .unwrap_or("it is invalid or expired")
                ));
        }
        _ => return unavailable(state),
    };
    let locale = page["locale"].as_str().unwrap_or("en").to_owned();
    let prefix = seo::locale_prefix(&manifest.value, &locale);
    let clinic = state
        .documents
        .get(&DocKey::ClinicData {
            site: manifest.value["site_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        })
        .await
        .ok()
        .and_then(|(entry, _)| entry.doc);
    let request = PageRequest {
        manifest: &manifest.value,
        origin,
        locale_prefix: &prefix,
        clinic: clinic.as_ref().map_or(&Value::Null, |doc| &doc.value),
    };
    let etag = format!("preview|{}", uuid::Uuid::new_v4());
    let shell = state.templates.page(&request, &page, etag);
    let mut response = respond(req, state, &shell, &[], Source::Api, StatusCode::OK, None);
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store, private"),
    );
    headers.insert(
        header::HeaderName::from_static("x-robots-tag"),
        header::HeaderValue::from_static("noindex"),
    );
    headers.remove(header::ETAG);
    response
}

fn site_not_found(
    req: &HttpRequest,
    state: &RendererState,
    manifest: &Doc,
    origin: &str,
    path: &str,
    locale: &str,
) -> HttpResponse {
    let locale = if locale.is_empty() {
        manifest.value["default_locale"].as_str().unwrap_or("en")
    } else {
        locale
    };
    let prefix = seo::locale_prefix(&manifest.value, locale);
    let request = PageRequest {
        manifest: &manifest.value,
        origin,
        locale_prefix: &prefix,
        clinic: &Value::Null,
    };
    let shell = state.templates.site_not_found(&request, path, locale);
    respond(
        req,
        state,
        &shell,
        &[],
        Source::Memory,
        StatusCode::NOT_FOUND,
        None,
    )
}

/// Fills the shell for this visitor and answers it (or 304).
fn respond(
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

#[get("/robots.txt")]
pub async fn robots(req: HttpRequest, state: web::Data<RendererState>) -> HttpResponse {
    let (_, _, raw_host) = match site_manifest(&req, &state).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(format!(
            "User-agent: *\nAllow: /\nDisallow: /_cms/\n\nSitemap: {}://{raw_host}/sitemap.xml\n",
            state.config.public_scheme
        ))
}

#[get("/sitemap.xml")]
pub async fn sitemap(req: HttpRequest, state: web::Data<RendererState>) -> HttpResponse {
    let (manifest, _, raw_host) = match site_manifest(&req, &state).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let site = manifest.value["site_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let sitemap = match state.documents.get(&DocKey::Sitemap { site }).await {
        Ok((entry, _)) => match entry.doc {
            Some(doc) => doc,
            None => return HttpResponse::NotFound().finish(),
        },
        Err(_) => return unavailable(&state),
    };
    let origin = format!("{}://{raw_host}", state.config.public_scheme);
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    for item in sitemap.value["items"].as_array().into_iter().flatten() {
        let (Some(path), Some(locale)) = (item["path"].as_str(), item["locale"].as_str()) else {
            continue;
        };
        let prefix = seo::locale_prefix(&manifest.value, locale);
        let loc = if path == "/" && !prefix.is_empty() {
            format!("{origin}{prefix}")
        } else {
            format!("{origin}{prefix}{path}")
        };
        xml.push_str(&format!(
            "  <url><loc>{}</loc><lastmod>{}</lastmod></url>\n",
            crate::render::shell::escape_attr(&loc),
            crate::render::shell::escape_attr(item["last_modified"].as_str().unwrap_or_default())
        ));
    }
    xml.push_str("</urlset>\n");
    HttpResponse::Ok()
        .content_type("application/xml; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(xml)
}
