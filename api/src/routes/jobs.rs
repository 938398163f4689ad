//! `/api/v1/jobs`: the tenant's background jobs (notifications, webhooks,
//! scheduled publishing), for owners and admins: list, read with attempts
//! and errors, retry, cancel.

use actix_web::{get, post, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::auth::roles::Permission;
use crate::db::jobs::{self as job_db, Job, JobFilter, JobState};
use crate::error::{ApiError, Problem};
use crate::http::pagination::{ListResponse, PageQuery, PageRequest};
use crate::jobs::admin;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_jobs)
        .service(get_job)
        .service(retry_job)
        .service(cancel_job);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobQuery {
    pub state: Option<JobState>,
    pub queue: Option<String>,
    /// A job kind (`page.publish`).
    pub kind: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// The tenant's jobs, newest first.
#[utoipa::path(
    tag = "jobs",
    params(JobQuery),
    responses((status = 200, body = ListResponse<Job>), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[get("/jobs")]
async fn list_jobs(
    ctx: TenantCtx,
    query: web::Query<JobQuery>,
) -> Result<web::Json<ListResponse<Job>>, ApiError> {
    ctx.require(Permission::ManageJobs)?;
    let query = query.into_inner();
    let page = PageRequest::try_from(PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    })?;
    let filter = JobFilter {
        state: query.state,
        queue: query.queue,
        kind: query.kind,
    };
    let rows = ctx
        .read({
            let page = page.clone();
            move |conn| Ok(job_db::list(conn, &filter, &page)?)
        })
        .await?;
    Ok(web::Json(ListResponse::from_rows(rows, &page, |job| {
        job.id
    })))
}

/// One job with its attempts and errors.
#[utoipa::path(
    tag = "jobs",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Job), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/jobs/{id}")]
async fn get_job(ctx: TenantCtx, path: web::Path<Uuid>) -> Result<web::Json<Job>, ApiError> {
    ctx.require(Permission::ManageJobs)?;
    let id = path.into_inner();
    let job = ctx
        .read(move |conn| job_db::find(conn, id)?.ok_or(ApiError::NotFound))
        .await?;
    Ok(web::Json(job))
}

/// Run a discarded, cancelled or retryable job again now.
#[utoipa::path(
    tag = "jobs",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Job), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = []))
)]
#[post("/jobs/{id}/retry")]
async fn retry_job(ctx: TenantCtx, path: web::Path<Uuid>) -> Result<web::Json<Job>, ApiError> {
    ctx.require(Permission::ManageJobs)?;
    let (id, audit) = (path.into_inner(), ctx.audit());
    let job = ctx.tx(move |conn| admin::retry(conn, &audit, id)).await?;
    Ok(web::Json(job))
}

/// Cancel a job that has not started.
#[utoipa::path(
    tag = "jobs",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Job), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = []))
)]
#[post("/jobs/{id}/cancel")]
async fn cancel_job(ctx: TenantCtx, path: web::Path<Uuid>) -> Result<web::Json<Job>, ApiError> {
    ctx.require(Permission::ManageJobs)?;
    let (id, audit) = (path.into_inner(), ctx.audit());
    let job = ctx.tx(move |conn| admin::cancel(conn, &audit, id)).await?;
    Ok(web::Json(job))
}
