//! `/api/v1/delivery`: the public, read-only side that renderers and external
//! frontends use. Only published snapshots are served, from the response cache
//! when possible (no database work on a hit), with `ETag`, `Cache-Control` and
//! 304 to `If-None-Match`. The tenant comes from the host or the site id.

mod assignment;
mod drafts;
mod live;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use cms_shared::delivery::{NavigationItem, SiteManifest};
use serde_json::Value;
use uuid::Uuid;

use crate::content::cache::{Cached, Entry};
use crate::db::{domains, pages, routing, sites};
use crate::error::ApiError;
use crate::http::etag::{content_etag, if_none_match};
use crate::state::AppState;

use assignment::assign;
use drafts::preview;
use live::{delivery_page, site_by_host, sitemap};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(site_by_host)
        .service(delivery_page)
        .service(sitemap)
        .service(assign)
        .service(preview);
}

/// 304 when the client has this version, else the body; cacheable either way.
fn respond(
    req: &HttpRequest,
    state: &AppState,
    cached: &Cached,
    cache_status: &'static str,
) -> HttpResponse {
    let max_age = state.config.delivery_max_age.as_secs();
    let cache_control =
        format!("public, max-age={max_age}, stale-while-revalidate=300, stale-if-error=86400");
    let not_modified = if_none_match(req, &cached.etag);
    let mut response = if not_modified {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, cached.etag.clone()))
        .insert_header((header::CACHE_CONTROL, cache_control))
        .insert_header(("X-Cache", cache_status));
    if not_modified {
        response.finish()
    } else {
        response
            .content_type("application/json")
            .body(cached.body.clone())
    }
}

/// `entry` from the cache, or loaded with `load` (which answers the body
/// and, if not derived from content, its ETag) and cached; with whether it
/// was a hit and from which tier.
async fn cached_or_load<L, Fut>(
    state: &AppState,
    entry: Entry<'_>,
    load: L,
) -> Result<(Cached, Option<&'static str>), ApiError>
where
    L: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<u8>, Option<String>), ApiError>>,
{
    let ttl = state.config.delivery_cache_ttl;
    let lookup = if ttl.is_zero() {
        None
    } else {
        Some(state.cache.get(&state.kv, &entry).await)
    };
    if let Some(lookup) = &lookup {
        if let Some(cached) = &lookup.hit {
            return Ok((cached.clone(), Some(lookup.tier)));
        }
    }
    state.cache.require_site(entry.site());
    let (body, etag) = load().await?;
    let cached = Cached {
        etag: etag.unwrap_or_else(|| content_etag(&body)),
        body: body.into(),
    };
    if let Some(lookup) = lookup {
        state
            .cache
            .put(&state.kv, &entry, &lookup, &cached, ttl)
            .await;
    }
    Ok((cached, None))
}

/// Serves `entry` from the cache or `load`, with `X-Cache` saying which.
async fn serve_cached<L, Fut>(
    req: &HttpRequest,
    state: &AppState,
    entry: Entry<'_>,
    load: L,
) -> Result<HttpResponse, ApiError>
where
    L: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<u8>, Option<String>), ApiError>>,
{
    let (cached, tier) = cached_or_load(state, entry, load).await?;
    let Some(tier) = tier else {
        return Ok(respond(req, state, &cached, "miss"));
    };
    let mut response = respond(req, state, &cached, "hit");
    response.headers_mut().insert(
        header::HeaderName::from_static("x-cache-tier"),
        header::HeaderValue::from_static(tier),
    );
    Ok(response)
}

fn manifest(
    conn: &mut diesel::PgConnection,
    media: &crate::config::MediaConfig,
    site_id: Uuid,
) -> Result<Vec<u8>, ApiError> {
    let mut site = sites::find(conn, site_id)?.ok_or(ApiError::NotFound)?;
    crate::media::resolve::resolve_theme(conn, media, &mut site.theme)?;
    let hosts = domains::list_for_site(conn, site_id)?;
    let navigation = pages::published_for_site(conn, site_id)?
        .into_iter()
        .filter_map(|page| {
            Some(NavigationItem {
                path: page.published_path?,
                locale: page.published_locale?,
                title: page.title,
            })
        })
        .collect();
    let mut hosts: Vec<(bool, String)> =
        hosts.into_iter().map(|d| (!d.is_primary, d.host)).collect();
    hosts.sort();
    let body = SiteManifest {
        site_id: site.id,
        tenant_id: site.tenant_id,
        name: site.name,
        default_locale: site.default_locale,
        locales: site.locales,
        theme: object_or_empty(site.theme),
        analytics: object_or_empty(site.analytics),
        hosts: hosts.into_iter().map(|(_, host)| host).collect(),
        navigation,
    };
    serde_json::to_vec(&body).map_err(ApiError::internal)
}

/// Site settings are stored as JSON objects; anything else reads as empty.
fn object_or_empty(value: Value) -> serde_json::Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

/// A live page's delivery JSON: the published snapshot with the page's
/// running experiments. One statement, no transaction: published snapshots
/// and running experiments need no tenant scope. On a read replica when one
/// has replayed what the request requires.
async fn load_live_page(
    state: &AppState,
    site_id: Uuid,
    locale: &str,
    path: &str,
) -> Result<(Vec<u8>, Option<String>), ApiError> {
    let (locale, path) = (locale.to_owned(), path.to_owned());
    state
        .db
        .read_unscoped(move |conn| {
            let page =
                routing::live_page(conn, site_id, &locale, &path)?.ok_or(ApiError::NotFound)?;
            if page.experiments == "[]" {
                // The common case: the snapshot's bytes as stored. Their
                // ETag comes from the content, not the revision: a live
                // snapshot changes without a new revision when its media's
                // renditions do, and a renderer revalidating must see it.
                return Ok((page.snapshot.into_bytes(), None));
            }
            let mut snapshot: Value =
                serde_json::from_str(&page.snapshot).map_err(ApiError::internal)?;
            snapshot["experiments"] =
                serde_json::from_str(&page.experiments).map_err(ApiError::internal)?;
            Ok((
                serde_json::to_vec(&snapshot).map_err(ApiError::internal)?,
                None,
            ))
        })
        .await
}

/// The page's delivery JSON through the response cache, parsed.
async fn live_page_json(
    state: &AppState,
    site_id: Uuid,
    locale: &str,
    path: &str,
) -> Result<Value, ApiError> {
    let entry = Entry::Page {
        site: site_id,
        locale,
        path,
    };
    let (cached, _) = cached_or_load(state, entry, || {
        load_live_page(state, site_id, locale, path)
    })
    .await?;
    serde_json::from_slice(&cached.body).map_err(ApiError::internal)
}
