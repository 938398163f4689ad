//! `/api/v1/delivery`: the public, read-only side that renderers and external
//! frontends use. Only published snapshots are served, from the response cache
//! when possible (no database work on a hit), with `ETag`, `Cache-Control` and
//! 304 to `If-None-Match`. The tenant comes from the host or the site id.

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::IntoParams;
use uuid::Uuid;

use crate::content::cache::{Cached, Entry};
use crate::content::publish::draft_snapshot;
use crate::db::{domains, experiments, pages, routing, sites, Scope};
use crate::error::{ApiError, Problem};
use crate::http::etag::{content_etag, if_none_match};
use crate::state::AppState;
use cms_shared::delivery::{
    Assignments, DeliveryPage, NavigationItem, SiteManifest, Sitemap, SitemapEntry,
};
use cms_shared::experiments::{apply_variant, Variant};

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
    responses(
        (status = 200, description = "The published page", body = DeliveryPage),
        (status = 304, description = "Not modified since the ETag in If-None-Match"),
        (status = 404, description = "No published page answers on this path and locale", body = Problem),
    )
)]
#[get("/delivery/sites/{site}/pages")]
async fn delivery_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    query: web::Query<PageLookup>,
) -> Result<HttpResponse, ApiError> {
    let site_id = path.into_inner();
    let locale = query.locale.clone().unwrap_or_default();
    let page_path =
        cms_shared::path::normalize_path(&query.path).map_err(|_| ApiError::NotFound)?;
    let entry = Entry::Page {
        site: site_id,
        locale: &locale,
        path: &page_path,
    };
    serve_cached(&req, &state, entry, || {
        load_live_page(&state, site_id, &locale, &page_path)
    })
    .await
}

/// A live page's delivery JSON: the published snapshot with the page's
/// running experiments. One statement, no transaction: published snapshots
/// and running experiments need no tenant scope.
async fn load_live_page(
    state: &AppState,
    site_id: Uuid,
    locale: &str,
    path: &str,
) -> Result<(Vec<u8>, Option<String>), ApiError> {
    let (locale, path) = (locale.to_owned(), path.to_owned());
    state
        .db
        .unscoped(move |conn| {
            let page =
                routing::live_page(conn, site_id, &locale, &path)?.ok_or(ApiError::NotFound)?;
            if page.experiments == "[]" {
                // The common case: the snapshot's bytes as stored, versioned
                // by its revision.
                return Ok((
                    page.snapshot.into_bytes(),
                    Some(format!("\"r-{}\"", page.revision_id)),
                ));
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

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AssignQuery {
    /// The page's path.
    pub path: String,
    /// The visitor's stable id (1 to 64 of `A-Z a-z 0-9 - _ .`).
    pub visitor: String,
    /// Default: the site's default locale.
    pub locale: Option<String>,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    /// Feature flags, comma-separated, as targeting rules name them.
    pub flag: Option<String>,
    /// `1` when the visitor asked not to be tracked (Do Not Track, no consent):
    /// every experiment answers its control, untracked.
    pub dnt: Option<String>,
}

/// Variants of a page's running experiments for one visitor, decided as the
/// renderer decides them (the same hash in `cms-shared`), for frontends that
/// prefer the server to assign.
#[utoipa::path(
    tag = "delivery",
    params(("site" = Uuid, Path), AssignQuery),
    responses((status = 200, body = Assignments), (status = 404, body = Problem), (status = 422, body = Problem))
)]
#[get("/delivery/sites/{site}/assign")]
async fn assign(
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    query: web::Query<AssignQuery>,
) -> Result<HttpResponse, ApiError> {
    let site_id = path.into_inner();
    let query = query.into_inner();
    if !crate::experiments::is_visitor_id(&query.visitor) {
        return Err(ApiError::invalid(
            "visitor",
            "must be 1 to 64 of A-Z a-z 0-9 - _ .",
        ));
    }
    let page_path =
        cms_shared::path::normalize_path(&query.path).map_err(|_| ApiError::NotFound)?;
    let locale = query.locale.clone().unwrap_or_default();
    let page = live_page_json(&state, site_id, &locale, &page_path).await?;
    let page_locale = page["locale"].as_str().unwrap_or_default().to_owned();
    let utm: Vec<(&'static str, String)> = [
        ("utm_source", &query.utm_source),
        ("utm_medium", &query.utm_medium),
        ("utm_campaign", &query.utm_campaign),
    ]
    .into_iter()
    .filter_map(|(key, value)| value.clone().map(|value| (key, value)))
    .collect();
    let flags = cms_shared::experiments::flags_from_query(&format!(
        "flag={}",
        query.flag.as_deref().unwrap_or_default()
    ));
    let visitor = cms_shared::experiments::Visitor {
        id: &query.visitor,
        locale: &page_locale,
        utm: &utm,
        flags: &flags,
        tracking_allowed: query.dnt.as_deref() != Some("1"),
    };
    let assignments = cms_shared::experiments::experiments_of(&page)
        .iter()
        .map(|experiment| cms_shared::experiments::assign(experiment, &visitor))
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "private, max-age=60"))
        .json(Assignments {
            visitor: query.visitor,
            assignments,
        }))
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
    /// Show this variant of the page's draft, running or paused experiments
    /// (the first that has it, or `experiment`'s).
    pub variant: Option<String>,
    /// Limit `variant` to this experiment.
    pub experiment: Option<Uuid>,
}

/// The experiment and variant a preview asks for: among the page's
/// experiments that are not completed (or just `experiment`), the newest
/// with a variant `key`.
fn preview_variant(
    conn: &mut diesel::PgConnection,
    page: &pages::Page,
    key: &str,
    experiment: Option<Uuid>,
) -> Result<(String, Variant), ApiError> {
    experiments::list_for_page(conn, page.id)?
        .into_iter()
        .rev()
        .filter(|x| x.status != "completed" && experiment.is_none_or(|id| id == x.id))
        .find_map(|x| {
            let variants: Vec<Variant> = serde_json::from_value(x.variants).ok()?;
            let variant = variants.into_iter().find(|v| v.key == key)?;
            Some((x.id.to_string(), variant))
        })
        .ok_or_else(|| ApiError::invalid("variant", "no open experiment of this page has it"))
}

/// The current draft of the page a preview token names, optionally with a
/// variant of one of its experiments applied. Never cached, never counted.
#[utoipa::path(
    tag = "delivery",
    params(PreviewQuery),
    responses(
        (status = 200, description = "The page's draft (`preview: true`), never cached", body = DeliveryPage),
        (status = 401, description = "The token is forged or expired", body = Problem),
        (status = 404, description = "The page no longer exists", body = Problem),
        (status = 422, description = "No open experiment of the page has the variant", body = Problem),
    )
)]
#[get("/delivery/preview")]
async fn preview(
    state: web::Data<AppState>,
    query: web::Query<PreviewQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
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
                if let Some(key) = &query.variant {
                    let shown = preview_variant(conn, &page, key, query.experiment)?;
                    apply_variant(&mut snapshot, &shown.0, &shown.1);
                    snapshot["preview_variant"] = json!({"experiment": shown.0, "variant": key});
                }
                // Through the contract type: a draft that would not
                // deserialise for a client fails here, not in a renderer.
                serde_json::from_value::<DeliveryPage>(snapshot).map_err(ApiError::internal)
            },
        )
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store, private"))
        .insert_header(("X-Robots-Tag", "noindex"))
        .json(snapshot))
}
