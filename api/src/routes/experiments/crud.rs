//! A page's experiments: list, create, read, update and delete.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::Utc;
use serde_json::json;
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::auth::roles::Permission;
use crate::db::experiments::{self, Experiment, ExperimentStatus};
use crate::db::pages::{self};
use crate::error::{ApiError, Problem};
use crate::experiments::{lifecycle, resolve_variants, ExperimentPatch, NewExperiment};
use crate::http::etag::{created_with_etag, ok_with_etag, IfMatch};
use crate::http::json::ValidJson;
use crate::http::pagination::ListResponse;
use crate::state::AppState;

use super::changed;

/// A page's experiments, oldest first.
#[utoipa::path(
    tag = "experiments",
    params(("id" = Uuid, Path, description = "Page id")),
    responses((status = 200, body = ListResponse<Experiment>), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/pages/{id}/experiments")]
pub(super) async fn list_experiments(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
) -> Result<web::Json<ListResponse<Experiment>>, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let page_id = path.into_inner();
    let items = ctx
        .read(move |conn| {
            pages::find(conn, page_id)?.ok_or(ApiError::NotFound)?;
            Ok(experiments::list_for_page(conn, page_id)?)
        })
        .await?;
    Ok(web::Json(ListResponse {
        items,
        next_cursor: None,
    }))
}

/// Create a draft experiment on a page.
#[utoipa::path(
    tag = "experiments",
    params(("id" = Uuid, Path, description = "Page id")),
    request_body = NewExperiment,
    responses((status = 201, body = Experiment), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[post("/pages/{id}/experiments")]
pub(super) async fn create_experiment(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
    body: ValidJson<NewExperiment>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let page_id = path.into_inner();
    let body = body.0;
    let (tenant_id, user_id) = (ctx.tenant_id, ctx.user.user_id());
    let audit = ctx.audit();
    let created = ctx
        .tx(move |conn| {
            let page = pages::find(conn, page_id)?.ok_or(ApiError::NotFound)?;
            let variants = resolve_variants(conn, page_id, body.variants)?;
            let id = Uuid::now_v7();
            let now = Utc::now();
            let created = experiments::insert(
                conn,
                &Experiment {
                    id,
                    tenant_id,
                    site_id: page.site_id,
                    page_id,
                    name: body.name.trim().to_owned(),
                    hypothesis: body.hypothesis.trim().to_owned(),
                    status: ExperimentStatus::Draft,
                    coverage: body.coverage,
                    goal: body.goal,
                    seed: id.to_string(),
                    variants,
                    targeting: serde_json::to_value(&body.targeting).map_err(ApiError::internal)?,
                    weight_history: json!([]),
                    winner: None,
                    version: 1,
                    started_at: None,
                    completed_at: None,
                    created_by: Some(user_id),
                    created_at: now,
                    updated_at: now,
                },
            )?;
            audit.created(conn, "experiment", created.id, &created)?;
            Ok(created)
        })
        .await?;
    Ok(created_with_etag(
        format!("/api/v1/experiments/{}", created.id),
        created.version,
        &created,
    ))
}

/// One experiment.
#[utoipa::path(
    tag = "experiments",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Experiment), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/experiments/{id}")]
pub(super) async fn get_experiment(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let id = path.into_inner();
    let experiment = ctx
        .read(move |conn| experiments::find(conn, id)?.ok_or(ApiError::NotFound))
        .await?;
    Ok(ok_with_etag(experiment.version, &experiment))
}

/// Change an experiment. A draft takes any change. Once started (running or
/// paused) only the name, hypothesis, coverage and variant weights may change
/// (409 otherwise), and each weight change is recorded in `weight_history`.
/// A completed experiment is final.
#[utoipa::path(
    tag = "experiments",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)),
    request_body = ExperimentPatch,
    responses(
        (status = 200, body = Experiment), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 412, body = Problem), (status = 422, body = Problem)
    ),
    security(("bearer" = []))
)]
#[patch("/experiments/{id}")]
pub(super) async fn update_experiment(
    state: web::Data<AppState>,
    ctx: TenantCtx,
    path: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<ExperimentPatch>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let id = path.into_inner();
    let patch = body.0;
    let audit = ctx.audit();
    let user_id = ctx.user.user_id();
    let (after, page) = ctx
        .tx(move |conn| lifecycle::update(conn, &audit, id, &if_match, patch, user_id))
        .await?;
    changed(&state, id, page.as_ref()).await;
    Ok(ok_with_etag(after.version, &after))
}

/// Delete an experiment and its events; a running one must be paused or
/// completed first (409).
#[utoipa::path(
    tag = "experiments",
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = []))
)]
#[delete("/experiments/{id}")]
pub(super) async fn delete_experiment(
    state: web::Data<AppState>,
    ctx: TenantCtx,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let id = path.into_inner();
    let audit = ctx.audit();
    ctx.tx(move |conn| lifecycle::delete(conn, &audit, id))
        .await?;
    changed(&state, id, None).await;
    Ok(HttpResponse::NoContent().finish())
}
