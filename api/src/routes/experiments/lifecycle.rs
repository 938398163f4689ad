//! Starting, pausing and completing an experiment (optionally adopting a
//! variant into the page's draft).

use actix_web::{post, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::auth::roles::Permission;
use crate::db::experiments::Experiment;
use crate::error::{ApiError, FieldError, Problem};
use crate::experiments::lifecycle;
use crate::http::etag::ok_with_etag;
use crate::http::json::{ValidJson, Validate};
use crate::state::AppState;

use super::changed;

/// Start (or resume) an experiment: delivery carries it from now on. The
/// page must be published.
#[utoipa::path(
    tag = "experiments",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Experiment), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = []))
)]
#[post("/experiments/{id}/start")]
pub(super) async fn start_experiment(
    state: web::Data<AppState>,
    ctx: TenantCtx,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let id = path.into_inner();
    let audit = ctx.audit();
    let (after, page) = ctx
        .tx(move |conn| lifecycle::start(conn, &audit, id))
        .await?;
    changed(&state, id, Some(&page)).await;
    Ok(ok_with_etag(after.version, &after))
}

/// Pause a running experiment: everyone sees the control and events are
/// refused until it starts again.
#[utoipa::path(
    tag = "experiments",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Experiment), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = []))
)]
#[post("/experiments/{id}/pause")]
pub(super) async fn pause_experiment(
    state: web::Data<AppState>,
    ctx: TenantCtx,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let id = path.into_inner();
    let audit = ctx.audit();
    let (after, page) = ctx
        .tx(move |conn| lifecycle::pause(conn, &audit, id))
        .await?;
    changed(&state, id, Some(&page)).await;
    Ok(ok_with_etag(after.version, &after))
}

/// How an experiment ends.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Completion {
    /// The variant key that won, if any.
    pub winner: Option<String>,
    /// Make the winner the page's content: its blocks become the draft and
    /// are published. Needs `winner`.
    #[serde(default)]
    pub publish: bool,
}

impl Validate for Completion {
    fn validate(&self) -> Vec<FieldError> {
        if self.publish && self.winner.is_none() {
            vec![FieldError::new("winner", "is required to publish a winner")]
        } else {
            Vec::new()
        }
    }
}

/// Complete an experiment (final). With `{"winner": "b", "publish": true}`
/// the winning variant becomes the page's published content.
#[utoipa::path(
    tag = "experiments",
    params(("id" = Uuid, Path)),
    request_body(content = Option<Completion>),
    responses((status = 200, body = Experiment), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[post("/experiments/{id}/complete")]
pub(super) async fn complete_experiment(
    state: web::Data<AppState>,
    ctx: TenantCtx,
    path: web::Path<Uuid>,
    body: Option<ValidJson<Completion>>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let id = path.into_inner();
    let completion = body.map(|body| body.0).unwrap_or_default();
    let (audit, media) = (ctx.audit(), state.config.media.clone());
    let (after, page, published) = ctx
        .tx(move |conn| {
            lifecycle::complete(
                conn,
                &audit,
                &media,
                id,
                completion.winner,
                completion.publish,
            )
        })
        .await?;
    changed(&state, id, Some(&page)).await;
    if let Some(outcome) = published {
        state
            .cache
            .invalidate(&state.kv, outcome.invalidation)
            .await;
    }
    Ok(ok_with_etag(after.version, &after))
}
