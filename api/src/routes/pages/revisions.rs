//! A page's published revisions and restoring one into the draft.

use actix_web::{get, post, web, HttpResponse};
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::auth::roles::Permission;
use crate::content::publish;
use crate::db::pages::{self, Revision};
use crate::error::{ApiError, Problem};
use crate::http::etag::{ok_with_etag, IfMatch};
use crate::http::pagination::ListResponse;
use crate::state::AppState;

use super::PublishResponse;

/// A page's revisions, newest first.
#[utoipa::path(
    tag = "pages",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ListResponse<Revision>), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/pages/{id}/revisions")]
pub(super) async fn list_revisions(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
) -> Result<web::Json<ListResponse<Revision>>, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let id = path.into_inner();
    let items = ctx
        .read(move |conn| {
            pages::find(conn, id)?.ok_or(ApiError::NotFound)?;
            Ok(pages::revisions(conn, id)?)
        })
        .await?;
    Ok(web::Json(ListResponse::complete(items)))
}

/// Roll back: publish an older revision's content again (as a new revision).
#[utoipa::path(
    tag = "pages",
    params(("id" = Uuid, Path), ("revision" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "ETag of the page")),
    responses((status = 200, body = PublishResponse), (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem)),
    security(("bearer" = []))
)]
#[post("/pages/{id}/revisions/{revision}/restore")]
pub(super) async fn restore_revision(
    state: web::Data<AppState>,
    ctx: TenantCtx,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let (id, revision) = path.into_inner();
    let (audit, media) = (ctx.audit(), state.config.media.clone());
    let outcome = ctx
        .tx(move |conn| publish::restore(conn, &audit, &media, id, revision, &if_match))
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
