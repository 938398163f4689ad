//! An experiment's results with statistics, as JSON and as a report.

use actix_web::http::header;
use actix_web::{get, web, HttpResponse};
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::auth::roles::Permission;
use crate::db::experiments::{self};
use crate::error::{ApiError, Problem};
use crate::experiments::results::{self, Results};

async fn load_results(ctx: &TenantCtx, id: Uuid) -> Result<Results, ApiError> {
    ctx.require(Permission::ReadContent)?;
    ctx.tx(move |conn| {
        let experiment = experiments::find(conn, id)?.ok_or(ApiError::NotFound)?;
        results::compute(conn, &experiment)
    })
    .await
}

/// Per variant: visitors, conversions, rate, uplift over control with a 95%
/// interval, p-value, chance to beat control; the sample ratio check; the
/// cumulative series. Computed from the durable event record.
#[utoipa::path(
    tag = "experiments",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Results), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/experiments/{id}/results")]
pub(super) async fn experiment_results(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let results = load_results(&ctx, path.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .json(results))
}

/// The results as an HTML page for editors, with an SVG chart of the
/// cumulative conversion rate per variant.
#[utoipa::path(
    tag = "experiments",
    params(("id" = Uuid, Path)),
    responses((status = 200, description = "HTML report", content_type = "text/html"), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/experiments/{id}/report")]
pub(super) async fn experiment_report(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let results = load_results(&ctx, path.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
        ))
        .content_type("text/html; charset=utf-8")
        .body(results::report_html(&results)))
}
