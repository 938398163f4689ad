//! Publishing a page's draft (a snapshot and a revision) and unpublishing it.

use actix_web::{post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::auth::roles::Permission;
use crate::content::publish;
use crate::db::pages::Page;
use crate::error::{ApiError, FieldError, Problem};
use crate::http::etag::{ok_with_etag, IfMatch};
use crate::http::json::{ValidJson, Validate};
use crate::state::AppState;

use super::PublishResponse;

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// Publish at this instant instead of now (the page becomes `scheduled`).
    pub publish_at: Option<DateTime<Utc>>,
}

impl Validate for PublishRequest {
    fn validate(&self) -> Vec<FieldError> {
        Vec::new()
    }
}

/// Publish the draft now, or schedule it with `publish_at`.
#[utoipa::path(
    tag = "pages",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "ETag of the page")),
    request_body = PublishRequest,
    responses((status = 200, body = PublishResponse), (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem)),
    security(("bearer" = []))
)]
#[post("/pages/{id}/publish")]
pub(super) async fn publish_page(
    state: web::Data<AppState>,
    ctx: TenantCtx,
    path: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<PublishRequest>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let (id, at) = (path.into_inner(), body.0.publish_at);
    let (audit, media) = (ctx.audit(), state.config.media.clone());
    let outcome = ctx
        .tx(move |conn| match at {
            Some(at) if at > Utc::now() => publish::schedule(conn, &audit, id, at, &if_match),
            _ => publish::publish_now(conn, &audit, &media, id, &if_match),
        })
        .await?;
    state
        .cache
        .invalidate(&state.kv, outcome.invalidation)
        .await;
    Ok(ok_with_etag(
        outcome.page.version,
        &PublishResponse {
            page: outcome.page,
            revision: outcome.revision,
        },
    ))
}

/// Take a page off delivery (back to draft; its revisions stay).
#[utoipa::path(
    tag = "pages",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "ETag of the page")),
    responses((status = 200, body = Page), (status = 404, body = Problem), (status = 412, body = Problem)),
    security(("bearer" = []))
)]
#[post("/pages/{id}/unpublish")]
pub(super) async fn unpublish_page(
    state: web::Data<AppState>,
    ctx: TenantCtx,
    path: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let id = path.into_inner();
    let audit = ctx.audit();
    let outcome = ctx
        .tx(move |conn| publish::unpublish(conn, &audit, id, &if_match))
        .await?;
    state
        .cache
        .invalidate(&state.kv, outcome.invalidation)
        .await;
    Ok(ok_with_etag(outcome.page.version, &outcome.page))
}
