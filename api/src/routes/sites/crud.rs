//! Sites: list, create, read, update and delete.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use serde_json::Value;
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::auth::roles::Permission;
use crate::content::cache::Invalidation;
use crate::db::sites::{self, NewSite, Site, SiteChanges};
use crate::error::{ApiError, Problem};
use crate::http::etag::{created_with_etag, ok_with_etag, IfMatch};
use crate::http::json::ValidJson;
use crate::http::pagination::{ListResponse, PageQuery, PageRequest};
use crate::media::resolve;
use crate::state::AppState;

use super::{CreateSite, UpdateSite};

/// List the tenant's sites.
#[utoipa::path(
    tag = "sites",
    params(PageQuery),
    responses((status = 200, body = ListResponse<Site>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[get("/sites")]
pub(super) async fn list_sites(
    ctx: TenantCtx,
    query: web::Query<PageQuery>,
) -> Result<web::Json<ListResponse<Site>>, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let page = PageRequest::try_from(query.into_inner())?;
    let rows = ctx
        .read({
            let page = page.clone();
            move |conn| Ok(sites::list(conn, &page)?)
        })
        .await?;
    Ok(web::Json(ListResponse::from_rows(rows, &page, |site| {
        site.id
    })))
}

/// Create a site.
#[utoipa::path(
    tag = "sites",
    request_body = CreateSite,
    responses((status = 201, body = Site), (status = 400, body = Problem), (status = 403, body = Problem), (status = 413, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[post("/sites")]
pub(super) async fn create_site(
    ctx: TenantCtx,
    body: ValidJson<CreateSite>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let body = body.0;
    let default_locale = body.default_locale.unwrap_or_else(|| "en".to_owned());
    let new_site = NewSite {
        id: Uuid::now_v7(),
        tenant_id: ctx.tenant_id,
        name: body.name.trim().to_owned(),
        locales: body.locales.unwrap_or_else(|| vec![default_locale.clone()]),
        default_locale,
        theme: body
            .theme
            .unwrap_or_else(|| Value::Object(Default::default())),
        analytics: body
            .analytics
            .unwrap_or_else(|| Value::Object(Default::default())),
    };
    let audit = ctx.audit();
    let site = ctx
        .tx(move |conn| {
            resolve::check_theme(conn, &new_site.theme)?;
            let site = sites::insert(conn, &new_site)?;
            audit.created(conn, "site", site.id, &site)?;
            Ok(site)
        })
        .await?;
    Ok(created_with_etag(
        format!("/api/v1/sites/{}", site.id),
        site.version,
        &site,
    ))
}

/// Get a site.
#[utoipa::path(
    tag = "sites",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Site), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/sites/{id}")]
pub(super) async fn get_site(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let id = path.into_inner();
    let site = ctx
        .read(move |conn| sites::find(conn, id)?.ok_or(ApiError::NotFound))
        .await?;
    Ok(ok_with_etag(site.version, &site))
}

/// Change a site. Send `If-Match` with the ETag you read to avoid overwriting
/// another editor's change (412 if it changed meanwhile).
#[utoipa::path(
    tag = "sites",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version being changed")),
    request_body = UpdateSite,
    responses((status = 200, body = Site), (status = 404, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[patch("/sites/{id}")]
pub(super) async fn update_site(
    state: web::Data<AppState>,
    ctx: TenantCtx,
    path: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<UpdateSite>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let id = path.into_inner();
    let body = body.0;
    let audit = ctx.audit();
    let site = ctx
        .tx(move |conn| {
            let before = sites::lock(conn, id)?.ok_or(ApiError::NotFound)?;
            if_match.check(before.version)?;
            let locales = body
                .locales
                .clone()
                .unwrap_or_else(|| before.locales.clone());
            let default_locale = body
                .default_locale
                .clone()
                .unwrap_or_else(|| before.default_locale.clone());
            if !locales.contains(&default_locale) {
                return Err(ApiError::invalid(
                    "default_locale",
                    "must be one of locales",
                ));
            }
            if let Some(theme) = &body.theme {
                resolve::check_theme(conn, theme)?;
            }
            let changes = SiteChanges {
                name: body.name.map(|name| name.trim().to_owned()),
                default_locale: body.default_locale,
                locales: body.locales,
                theme: body.theme,
                analytics: body.analytics,
            };
            let after = sites::update(conn, id, &changes)?;
            audit.updated(conn, "site", id, &before, &after)?;
            Ok(after)
        })
        .await?;
    state
        .cache
        .invalidate(&state.kv, Invalidation::site(site.tenant_id, site.id))
        .await;
    Ok(ok_with_etag(site.version, &site))
}

/// Delete a site and its domains.
#[utoipa::path(
    tag = "sites",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version being deleted")),
    responses((status = 204), (status = 404, body = Problem), (status = 412, body = Problem)),
    security(("bearer" = []))
)]
#[delete("/sites/{id}")]
pub(super) async fn delete_site(
    state: web::Data<AppState>,
    ctx: TenantCtx,
    path: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let id = path.into_inner();
    let audit = ctx.audit();
    ctx.tx(move |conn| {
        let before = sites::lock(conn, id)?.ok_or(ApiError::NotFound)?;
        if_match.check(before.version)?;
        sites::delete(conn, id)?;
        audit.deleted(conn, "site", id, &before)?;
        Ok(())
    })
    .await?;
    state
        .cache
        .invalidate(&state.kv, Invalidation::site(ctx.tenant_id, id))
        .await;
    Ok(HttpResponse::NoContent().finish())
}
