//! Short-lived tokens that let the renderer show a page's draft.

use actix_web::{post, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::auth::roles::Permission;
use crate::auth::tokens::PreviewClaims;
use crate::db::pages::{self};
use crate::error::{ApiError, Problem};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewToken {
    /// Pass as `GET /api/v1/delivery/preview?token=...`.
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// A short-lived token that shows this page's current draft, and nothing else.
#[utoipa::path(
    tag = "pages",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = PreviewToken), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[post("/pages/{id}/preview-token")]
pub(super) async fn preview_token(
    state: web::Data<AppState>,
    ctx: TenantCtx,
    path: web::Path<Uuid>,
) -> Result<web::Json<PreviewToken>, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let id = path.into_inner();
    ctx.tx(move |conn| pages::find(conn, id)?.ok_or(ApiError::NotFound))
        .await?;
    let now = Utc::now();
    let expires_at =
        now + chrono::Duration::from_std(state.config.preview_ttl).map_err(ApiError::internal)?;
    let token = state.config.signing_key.sign_preview(&PreviewClaims {
        page: id,
        tid: ctx.tenant_id,
        exp: expires_at.timestamp(),
        iat: now.timestamp(),
    })?;
    Ok(web::Json(PreviewToken { token, expires_at }))
}
