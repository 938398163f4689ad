//! Admins' actions: regenerate renditions after the presets change, and the quota.

use actix_web::{get, post, put, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::extract::TenantCtx;
use crate::auth::roles::Permission;
use crate::db::jobs as job_db;
use crate::db::media::{self as store, Quota};
use crate::error::{ApiError, FieldError, Problem};
use crate::http::json::{ValidJson, Validate};
use crate::media::{self};
use crate::state::AppState;

/// What a regeneration started.
#[derive(Debug, Serialize, ToSchema)]
pub struct Regeneration {
    /// The preset version renditions are now made with.
    pub presets: String,
    /// Renditions jobs enqueued (one per media not already made with these
    /// presets); follow them in `GET /jobs?kind=media.renditions`.
    pub enqueued: usize,
}

/// Make every media's renditions again with the current presets (after
/// `CMS_MEDIA_WIDTHS`, `_FILLS` or a quality changed). Admins.
#[utoipa::path(
    tag = "media",
    responses((status = 202, body = Regeneration), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[post("/media/regenerate")]
pub(super) async fn regenerate_media(
    ctx: TenantCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::ManageSettings)?;
    let presets = state.config.media.presets_version();
    let tenant_id = ctx.tenant_id;
    let job_presets = presets.clone();
    let audit = ctx.audit();
    let enqueued = ctx
        .tx(move |conn| {
            let ids = store::outdated_ids(conn, &job_presets)?;
            let jobs: Vec<_> = ids
                .iter()
                .map(|id| media::renditions_job(tenant_id, *id, &job_presets))
                .collect();
            let enqueued = job_db::enqueue_many(conn, &jobs)?;
            audit.event(
                conn,
                "media",
                "regenerate",
                tenant_id,
                None::<&serde_json::Value>,
                Some(&serde_json::json!({"presets": job_presets, "media": ids.len()})),
            )?;
            Ok(enqueued)
        })
        .await?;
    Ok(HttpResponse::Accepted().json(Regeneration { presets, enqueued }))
}

/// The tenant's media quota and what it uses.
#[utoipa::path(
    tag = "media",
    responses((status = 200, body = Quota), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/media/quota")]
pub(super) async fn get_quota(
    ctx: TenantCtx,
    state: web::Data<AppState>,
) -> Result<web::Json<Quota>, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let (tenant_id, config) = (ctx.tenant_id, state.config.media.clone());
    let quota = ctx
        .tx(move |conn| {
            Ok(store::lock_quota(
                conn,
                tenant_id,
                config.quota_bytes,
                config.quota_count,
            )?)
        })
        .await?;
    Ok(web::Json(quota))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetQuota {
    pub max_bytes: Option<i64>,
    pub max_count: Option<i32>,
    /// Accept SVG uploads, sanitised (no scripts, handlers, foreign HTML or
    /// outside references) and served under a CSP that runs no script.
    pub allow_svg: Option<bool>,
}

impl Validate for SetQuota {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if self.max_bytes.is_some_and(|bytes| bytes < 0) {
            errors.push(FieldError::new("max_bytes", "must be 0 or more"));
        }
        if self.max_count.is_some_and(|count| count < 0) {
            errors.push(FieldError::new("max_count", "must be 0 or more"));
        }
        errors
    }
}

/// Change the tenant's media limits and whether SVG is accepted (owners and
/// admins). Lowering the limits below what is used refuses new uploads;
/// nothing is deleted, and SVG already uploaded stays when it is turned off.
#[utoipa::path(
    tag = "media",
    request_body = SetQuota,
    responses((status = 200, body = Quota), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[put("/media/quota")]
pub(super) async fn set_quota(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    body: ValidJson<SetQuota>,
) -> Result<web::Json<Quota>, ApiError> {
    ctx.require(Permission::ManageSettings)?;
    let body = body.0;
    let (tenant_id, config, audit) = (ctx.tenant_id, state.config.media.clone(), ctx.audit());
    let quota = ctx
        .tx(move |conn| {
            let before =
                store::lock_quota(conn, tenant_id, config.quota_bytes, config.quota_count)?;
            let after = store::set_quota(
                conn,
                tenant_id,
                body.max_bytes,
                body.max_count,
                body.allow_svg,
            )?;
            audit.updated(conn, "media_quota", tenant_id, &before, &after)?;
            Ok(after)
        })
        .await?;
    Ok(web::Json(quota))
}
