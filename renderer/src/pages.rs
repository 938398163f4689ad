//! Public pages: Host -> site manifest, path (+ locale prefix) -> published
//! page, rendered shell filled per request. Unknown hosts get a plain 404,
//! unknown paths the site's own 404 page, and no data at all (API down and
//! nothing cached) a clear 503 page.

use std::sync::Arc;

use actix_web::http::{header, StatusCode};
use actix_web::{get, web, HttpRequest, HttpResponse};
use cms_shared::delivery::DeliveryPage;
use cms_shared::problem::Problem;

use crate::cache::{DocKey, Source};
use crate::render::{seo, PageRequest};
use crate::response::respond;
use crate::security;
use crate::site::{resolve_locale, site_manifest, unavailable, visitor_id, Site};
use crate::state::RendererState;

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
    let site = match site_manifest(&req, &state).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let origin = format!("{}://{}", state.config.public_scheme, site.raw_host);
    let site_id = site.id();
    if let Some(token) = query_value(req.query_string(), "preview") {
        return preview(&req, &state, &site, &origin, &token).await;
    }
    let Some((locale, path)) = resolve_locale(&site.manifest, req.path()) else {
        return site_not_found(&req, &state, &site, &origin, req.path(), "");
    };
    let key = DocKey::Page {
        site: site_id.clone(),
        locale: locale.clone(),
        path: path.clone(),
    };
    let (page_doc, page_source) = match state.documents.get(&key).await {
        Ok((entry, source)) => match entry.doc {
            Some(doc) => (doc, source),
            None => return site_not_found(&req, &state, &site, &origin, &path, &locale),
        },
        Err(_) => return unavailable(&state),
    };
    let Some(page) = page_doc.page().cloned() else {
        return unavailable(&state);
    };
    let utm = cms_shared::cache_key::utm_values(req.query_string());
    let relevant = site.manifest.content_utm();
    // Pages with clinic modules show the site's clinic data: it versions
    // their shell too. Without it (api down, nothing cached) they show the
    // modules' props-only version.
    let shows_clinic = page
        .blocks
        .iter()
        .any(|block| crate::render::clinic::MODULES.contains(&block.module.as_str()));
    let clinic = if shows_clinic {
        state
            .documents
            .get(&DocKey::ClinicData {
                site: site_id.clone(),
            })
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
        cms_shared::cache_key::page_key(&site_id, &locale, &path, &variants, &utm, &relevant),
        site.doc.etag,
        page_doc.etag,
        clinic.as_ref().map_or("", |doc| doc.etag.as_str())
    );
    let shell = match state
        .shell(&shell_key, {
            let state = state.clone();
            let manifest = Arc::clone(&site.manifest);
            let page = Arc::clone(&page);
            let origin = origin.clone();
            let locale = locale.clone();
            let key_for_etag = shell_key.clone();
            let clinic = clinic.clone();
            let variants = variants.clone();
            move || {
                let prefix = seo::locale_prefix(&manifest, &locale);
                let clinic_data = clinic.as_ref().and_then(|doc| doc.clinic_data());
                let request = PageRequest {
                    manifest: &manifest,
                    origin: &origin,
                    locale_prefix: &prefix,
                    clinic: clinic_data.map(|data| data.as_ref()),
                };
                // The key names the versions, the variants and the
                // content-relevant UTM values, so it versions the shell (and
                // its ETag).
                if variants.is_empty() {
                    state.templates.page(&request, &page, key_for_etag)
                } else {
                    let shown = crate::experiments::apply(&page, &variants);
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
        worse(site.source, page_source),
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
    site: &Site,
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
        Ok((200, page)) => match serde_json::from_value::<DeliveryPage>(page) {
            Ok(page) if page.site_id == site.manifest.site_id => page,
            Ok(_) => return site_not_found(req, state, site, origin, req.path(), ""),
            Err(err) => {
                tracing::warn!(error = %err, "a preview answer breaks the delivery contract");
                return unavailable(state);
            }
        },
        Ok((404, _)) => {
            return site_not_found(req, state, site, origin, req.path(), "");
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
                    serde_json::from_value::<Problem>(problem)
                        .map_or_else(|_| "it is invalid or expired".to_owned(), |p| p.detail)
                ));
        }
        _ => return unavailable(state),
    };
    let prefix = seo::locale_prefix(&site.manifest, &page.locale);
    let clinic = state
        .documents
        .get(&DocKey::ClinicData { site: site.id() })
        .await
        .ok()
        .and_then(|(entry, _)| entry.doc);
    let request = PageRequest {
        manifest: &site.manifest,
        origin,
        locale_prefix: &prefix,
        clinic: clinic
            .as_ref()
            .and_then(|doc| doc.clinic_data())
            .map(|data| data.as_ref()),
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
    if !state.config.preview_ancestors.is_empty() {
        // The editors' admin shows previews beside its forms.
        let policy = security::content_security_policy(&state.config, None);
        let framed = headers
            .get(header::CONTENT_SECURITY_POLICY)
            .and_then(|value| value.to_str().ok())
            .unwrap_or(&policy)
            .replace(
                "frame-ancestors 'none'",
                &format!(
                    "frame-ancestors {}",
                    state.config.preview_ancestors.join(" ")
                ),
            );
        if let Ok(value) = header::HeaderValue::from_str(&framed) {
            headers.insert(header::CONTENT_SECURITY_POLICY, value);
            headers.remove(header::X_FRAME_OPTIONS);
        }
    }
    response
}

fn site_not_found(
    req: &HttpRequest,
    state: &RendererState,
    site: &Site,
    origin: &str,
    path: &str,
    locale: &str,
) -> HttpResponse {
    let locale = if locale.is_empty() {
        site.manifest.default_locale.as_str()
    } else {
        locale
    };
    let prefix = seo::locale_prefix(&site.manifest, locale);
    let request = PageRequest {
        manifest: &site.manifest,
        origin,
        locale_prefix: &prefix,
        clinic: None,
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

#[get("/robots.txt")]
pub async fn robots(req: HttpRequest, state: web::Data<RendererState>) -> HttpResponse {
    let raw_host = match site_manifest(&req, &state).await {
        Ok(site) => site.raw_host,
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
    let site = match site_manifest(&req, &state).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let sitemap = match state
        .documents
        .get(&DocKey::Sitemap { site: site.id() })
        .await
    {
        Ok((entry, _)) => match entry.doc {
            Some(doc) => doc,
            None => return HttpResponse::NotFound().finish(),
        },
        Err(_) => return unavailable(&state),
    };
    let Some(sitemap) = sitemap.sitemap() else {
        return unavailable(&state);
    };
    let origin = format!("{}://{}", state.config.public_scheme, site.raw_host);
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    for item in &sitemap.items {
        let path = &item.path;
        let prefix = seo::locale_prefix(&site.manifest, &item.locale);
        let loc = if path == "/" && !prefix.is_empty() {
            format!("{origin}{prefix}")
        } else {
            format!("{origin}{prefix}{path}")
        };
        xml.push_str(&format!(
            "  <url><loc>{}</loc><lastmod>{}</lastmod></url>\n",
            crate::render::shell::escape_attr(&loc),
            crate::render::shell::escape_attr(
                &item
                    .last_modified
                    .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            )
        ));
    }
    xml.push_str("</urlset>\n");
    HttpResponse::Ok()
        .content_type("application/xml; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(xml)
}
