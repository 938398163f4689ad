//! A site by host name, a live page by path, and the site's sitemap.

use actix_web::{get, web, HttpRequest, HttpResponse};
use cms_shared::delivery::{DeliveryPage, SiteManifest, Sitemap, SitemapEntry};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::content::cache::Entry;
use crate::db::{pages, routing, Scope};
use crate::error::{ApiError, Problem};
use crate::state::AppState;

use super::{load_live_page, manifest, serve_cached};

/// The site answering on a host: manifest with theme, locales, navigation and
/// running experiments.
#[utoipa::path(
    tag = "delivery",
    params(("host" = String, Path, description = "Host name, e.g. alpha.localhost")),
    responses((status = 200, body = SiteManifest), (status = 304), (status = 404, body = Problem))
)]
#[get("/delivery/sites/by-host/{host}")]
pub(super) async fn site_by_host(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let host =
        cms_shared::host::normalize_host(&path.into_inner()).map_err(|_| ApiError::NotFound)?;
    let route_host = host.clone();
    let route = state
        .db
        .read(Scope::global(), move |conn| {
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
            let media = state.config.media.clone();
            state.db.site_read(route.site_id, move |conn| {
                Ok((manifest(conn, &media, route.site_id)?, None))
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
pub(super) async fn delivery_page(
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

/// Published paths of a site with their last change.
#[utoipa::path(
    tag = "delivery",
    params(("site" = Uuid, Path)),
    responses((status = 200, body = Sitemap), (status = 304), (status = 404, body = Problem))
)]
#[get("/delivery/sites/{site}/sitemap")]
pub(super) async fn sitemap(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let site_id = path.into_inner();
    serve_cached(&req, &state, Entry::Sitemap { site: site_id }, || {
        state.db.site_read(site_id, move |conn| {
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
