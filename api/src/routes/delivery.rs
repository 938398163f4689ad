//! `/api/v1/delivery`: the public, read-only side that renderers and external
//! frontends use. Only published snapshots are served, from the response cache
//! when possible (no database work on a hit), with `ETag`, `Cache-Control` and
//! 304 to `If-None-Match`. The tenant comes from the host or the site id.

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::content::cache::{Cached, Entry};
use crate::content::publish::draft_snapshot;
use crate::db::{domains, pages, routing, sites, Scope};
use crate::error::{ApiError, Problem};
use crate::http::etag::{content_etag, if_none_match};
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(site_by_host)
        .service(delivery_page)
        .service(sitemap)
        .service(preview);
}

/// A site as renderers need it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SiteManifest {
    pub site_id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    pub default_locale: String,
    pub locales: Vec<String>,
    #[schema(value_type = Object)]
    pub theme: Value,
    #[schema(value_type = Object)]
    pub analytics: Value,
    pub hosts: Vec<String>,
    /// Published pages, for navigation and hreflang.
    pub navigation: Vec<NavigationItem>,
    /// Running experiments with their variants.
    #[schema(value_type = Vec<Object>)]
    pub experiments: Vec<Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NavigationItem {
    pub path: String,
    pub locale: String,
    pub title: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SitemapEntry {
    pub path: String,
    pub locale: String,
    pub last_modified: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Sitemap {
    pub items: Vec<SitemapEntry>,
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

/// Serves `entry` from the cache, or loads it with `load` (which answers the
/// body and, if not derived from content, its ETag) and caches it.
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
    let ttl = state.config.delivery_cache_ttl;
    let lookup = if ttl.is_zero() {
        None
    } else {
        Some(state.cache.get(&state.kv, &entry).await)
    };
    if let Some(lookup) = &lookup {
        if let Some(cached) = &lookup.hit {
            let mut response = respond(req, state, cached, "hit");
            response.headers_mut().insert(
                header::HeaderName::from_static("x-cache-tier"),
                header::HeaderValue::from_static(lookup.tier),
            );
            return Ok(response);
        }
    }
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
    Ok(respond(req, state, &cached, "miss"))
}

fn manifest(conn: &mut diesel::PgConnection, site_id: Uuid) -> Result<Vec<u8>, ApiError> {
    let site = sites::find(conn, site_id)?.ok_or(ApiError::NotFound)?;
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
        theme: site.theme,
        analytics: site.analytics,
        hosts: hosts.into_iter().map(|(_, host)| host).collect(),
        navigation,
        experiments: Vec::new(),
    };
    serde_json::to_vec(&body).map_err(ApiError::internal)
}

/// The site answering on a host: manifest with theme, locales, navigation and
/// running experiments.
#[utoipa::path(
    tag = "delivery",
    params(("host" = String, Path, description = "Host name, e.g. alpha.localhost")),
    responses((status = 200, body = SiteManifest), (status = 304), (status = 404, body = Problem))
)]
#[get("/delivery/sites/by-host/{host}")]
async fn site_by_host(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let host =
        cms_shared::host::normalize_host(&path.into_inner()).map_err(|_| ApiError::NotFound)?;
    let route_host = host.clone();
    let route = state
        .db
        .tx(Scope::global(), move |conn| {
            routing::host(conn, &route_host)?.ok_or(ApiError::NotFound)
        })
        .await?;
    serve_cached(
        &req,
        &state,
        Entry::Manifest {
            site: route.site_id,
        },
        || {
            state.db.site_tx(route.site_id, move |conn| {
                Ok((manifest(conn, route.site_id)?, None))
            })
        },
    )
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageLookup {
    /// The page's path (`/about`); normalised like stored paths.
    pub path: String,
    /// Default: the site's default locale.
    pub locale: Option<String>,
}

/// A published page: its live snapshot with blocks in order, SEO and revision id.
#[utoipa::path(
    tag = "delivery",
    params(("site" = Uuid, Path), PageLookup),
    responses((status = 200, description = "Delivery page JSON", body = Object), (status = 304), (status = 404, body = Problem))
)]
#[get("/delivery/sites/{site}/pages")]
async fn delivery_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    query: web::Query<PageLookup>,
) -> Result<HttpResponse, ApiError> {
    let site_id = path.into_inner();
    let page_path =
        cms_shared::path::normalize_path(&query.path).map_err(|_| ApiError::NotFound)?;
    let locale = query.locale.clone().unwrap_or_default();
    let (lookup_path, lookup_locale) = (page_path.clone(), locale.clone());
    let entry = Entry::Page {
        site: site_id,
        locale: &locale,
        path: &page_path,
    };
    // One statement, no transaction: published snapshots need no tenant scope.
    serve_cached(&req, &state, entry, || {
        state.db.unscoped(move |conn| {
            let page = routing::live_page(conn, site_id, &lookup_locale, &lookup_path)?
                .ok_or(ApiError::NotFound)?;
            Ok((
                page.snapshot.into_bytes(),
                Some(format!("\"r-{}\"", page.revision_id)),
            ))
        })
    })
    .await
}

/// Published paths of a site with their last change.
#[utoipa::path(
    tag = "delivery",
    params(("site" = Uuid, Path)),
    responses((status = 200, body = Sitemap), (status = 304), (status = 404, body = Problem))
)]
#[get("/delivery/sites/{site}/sitemap")]
async fn sitemap(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let site_id = path.into_inner();
    serve_cached(&req, &state, Entry::Sitemap { site: site_id }, || {
        state.db.site_tx(site_id, move |conn| {
            let items = pages::published_for_site(conn, site_id)?
                .into_iter()
                .filter_map(|page| {
                    Some(SitemapEntry {
                        path: page.published_path?,
                        locale: page.published_locale?,
                        last_modified: page.published_at.unwrap_or(page.updated_at),
                    })
                })
                .collect();
            Ok((
                serde_json::to_vec(&Sitemap { items }).map_err(ApiError::internal)?,
                None,
            ))
        })
    })
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PreviewQuery {
    /// From `POST /api/v1/pages/{id}/preview-token`.
    pub token: String,
}

/// The current draft of the page a preview token names. Never cached.
#[utoipa::path(
    tag = "delivery",
    params(PreviewQuery),
    responses((status = 200, description = "Draft page JSON", body = Object), (status = 401, body = Problem), (status = 404, body = Problem))
)]
#[get("/delivery/preview")]
async fn preview(
    state: web::Data<AppState>,
    query: web::Query<PreviewQuery>,
) -> Result<HttpResponse, ApiError> {
    let claims = state.config.signing_key.verify_preview(&query.token)?;
    let snapshot = state
        .db
        .tx(
            Scope {
                tenant_id: Some(claims.tid),
                user_id: None,
            },
            move |conn| {
                let page = pages::find(conn, claims.page)?.ok_or(ApiError::NotFound)?;
                let mut snapshot = draft_snapshot(conn, &page, None)?;
                snapshot["preview"] = json!(true);
                Ok(snapshot)
            },
        )
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store, private"))
        .insert_header(("X-Robots-Tag", "noindex"))
        .json(snapshot))
}
