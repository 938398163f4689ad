//! The library: list with filters, read, edit, delete (409 while used), usage.

use actix_web::{delete, get, patch, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use cms_shared::media::{CropRect, FocalPoint, MediaItem, MediaUse};

use super::{check_tags, check_texts};
use crate::auth::extract::TenantCtx;
use crate::auth::roles::Permission;
use crate::db::media::{self as store, ListFilter, MediaKind};
use crate::error::{ApiError, FieldError, Problem};
use crate::http::etag::{ok_with_etag, IfMatch};
use crate::http::json::{ValidJson, Validate};
use crate::http::pagination::{ListResponse, PageQuery, PageRequest};
use crate::media::{self, Edit};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MediaFilter {
    /// `jpeg`, `png`, `webp`, `gif`, `avif`.
    pub kind: Option<String>,
    /// Media carrying this tag.
    pub tag: Option<String>,
    /// Text in the file name, alt text or title (case-insensitive).
    pub q: Option<String>,
    /// `true`: only media nothing uses.
    pub unused: Option<bool>,
    /// Uploaded at or after this instant (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// The library, newest first.
#[utoipa::path(
    tag = "media",
    params(MediaFilter),
    responses((status = 200, body = ListResponse<MediaItem>), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[get("/media")]
pub(super) async fn list_media(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    query: web::Query<MediaFilter>,
) -> Result<web::Json<ListResponse<MediaItem>>, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let query = query.into_inner();
    let page = PageRequest::try_from(PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    })?;
    let kind = query
        .kind
        .map(|kind| {
            kind.parse::<MediaKind>()
                .map_err(|_| ApiError::invalid("kind", "is one of jpeg, png, webp, gif, avif, svg"))
        })
        .transpose()?;
    let text = query
        .q
        .map(|q| q.trim().to_owned())
        .filter(|q| !q.is_empty());
    if text.as_ref().is_some_and(|q| q.chars().count() > 200) {
        return Err(ApiError::invalid("q", "must be at most 200 characters"));
    }
    let filter = ListFilter {
        kind,
        tag: query.tag,
        text,
        unused: query.unused.unwrap_or(false),
        since: query.since,
    };
    let rows = ctx
        .read({
            let page = page.clone();
            move |conn| Ok(store::list(conn, &filter, &page)?)
        })
        .await?;
    let config = &state.config.media;
    Ok(web::Json(
        ListResponse::from_rows(rows, &page, |m| m.id)
            .map(|rows| rows.iter().map(|row| media::item(config, row)).collect()),
    ))
}

/// One media, with its renditions and placeholder.
#[utoipa::path(
    tag = "media",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = MediaItem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/media/{id}")]
pub(super) async fn get_media(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let id = path.into_inner();
    let row = ctx
        .read(move |conn| store::find(conn, id)?.ok_or(ApiError::NotFound))
        .await?;
    Ok(ok_with_etag(
        row.version,
        &media::item(&state.config.media, &row),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMedia {
    pub alt: Option<String>,
    /// A decorative image may be used without alt text (it gets `alt=""`).
    pub decorative: Option<bool>,
    pub title: Option<String>,
    pub tags: Option<Vec<String>>,
    /// Where fill crops centre (fractions 0..1); renditions are made again.
    pub focal_point: Option<FocalPoint>,
    /// A crop in displayed pixels, or `null` to remove it; renditions are
    /// made again.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<CropRect>)]
    pub crop: Option<Option<CropRect>>,
}

fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

impl Validate for UpdateMedia {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        check_texts(&mut errors, self.alt.as_deref(), self.title.as_deref());
        if let Some(tags) = &self.tags {
            check_tags(&mut errors, tags);
        }
        if let Some(point) = &self.focal_point {
            if !(0.0..=1.0).contains(&point.x) || !(0.0..=1.0).contains(&point.y) {
                errors.push(FieldError::new(
                    "focal_point",
                    "x and y are fractions from 0 to 1",
                ));
            }
        }
        errors
    }
}

/// Change alt text, the decorative flag, title, tags, focal point or crop.
#[utoipa::path(
    tag = "media",
    params(("id" = Uuid, Path)),
    request_body = UpdateMedia,
    responses((status = 200, body = MediaItem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[patch("/media/{id}")]
pub(super) async fn update_media(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<UpdateMedia>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let body = body.0;
    let edit = Edit {
        alt: body.alt.map(|alt| alt.trim().to_owned()),
        decorative: body.decorative,
        title: body.title.map(|title| title.trim().to_owned()),
        tags: body.tags.map(|mut tags| {
            tags.iter_mut().for_each(|tag| *tag = tag.trim().to_owned());
            tags.sort();
            tags.dedup();
            tags
        }),
        focal_point: body.focal_point,
        crop: body.crop,
    };
    let (id, audit, config) = (path.into_inner(), ctx.audit(), state.config.media.clone());
    let row = ctx
        .tx(move |conn| media::edit(conn, &audit, &config, id, &if_match, edit))
        .await?;
    Ok(ok_with_etag(
        row.version,
        &media::item(&state.config.media, &row),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteQuery {
    /// Admins only: delete although it is used. Live pages keep showing it
    /// until their next publish; drafts, doctors and sites lose it.
    pub force: Option<bool>,
}

/// Delete a media: 409 listing its users while anything uses it.
#[utoipa::path(
    tag = "media",
    params(("id" = Uuid, Path), DeleteQuery),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, description = "In use: `used_by` lists what uses it", body = Problem), (status = 412, body = Problem)),
    security(("bearer" = []))
)]
#[delete("/media/{id}")]
pub(super) async fn delete_media(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    query: web::Query<DeleteQuery>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let force = query.force.unwrap_or(false);
    if force {
        ctx.require(Permission::ManageSettings)?;
    }
    let (id, audit) = (path.into_inner(), ctx.audit());
    let gone = ctx
        .tx(move |conn| media::remove(conn, &audit, id, &if_match, force))
        .await?;
    if let Some(gone) = gone {
        if let Err(err) = state.media.delete_all(gone.tenant_id, &gone.sha256).await {
            // The row is gone; objects left behind are unreachable garbage.
            tracing::warn!(error = %err, media_id = %gone.id, "deleting a media's objects failed");
        }
    }
    Ok(HttpResponse::NoContent().finish())
}

/// What uses a media.
#[derive(Debug, Serialize, ToSchema)]
pub struct MediaUsage {
    pub items: Vec<MediaUse>,
}

/// Which pages (draft blocks and live revisions), doctors and sites use it.
#[utoipa::path(
    tag = "media",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = MediaUsage), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/media/{id}/usage")]
pub(super) async fn media_usage(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
) -> Result<web::Json<MediaUsage>, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let id = path.into_inner();
    let items = ctx
        .read(move |conn| {
            store::find(conn, id)?.ok_or(ApiError::NotFound)?;
            media::usage(conn, id)
        })
        .await?;
    Ok(web::Json(MediaUsage { items }))
}
