//! Clinics: list, create, read, update and delete.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::auth::roles::Permission;
use crate::clinic::{catalog, invalidation};
use crate::db::clinics::{self, Clinic};
use crate::error::{ApiError, Problem};
use crate::http::etag::{created_with_etag, ok_with_etag, IfMatch};
use crate::http::json::ValidJson;
use crate::http::pagination::ListResponse;
use crate::state::AppState;

use super::{page_of, ClinicBody, ClinicQuery, CreateClinic};

/// List the tenant's clinics.
#[utoipa::path(
    tag = "clinics",
    params(ClinicQuery),
    responses((status = 200, body = ListResponse<Clinic>), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/clinics")]
pub(super) async fn list_clinics(
    ctx: TenantCtx,
    query: web::Query<ClinicQuery>,
) -> Result<web::Json<ListResponse<Clinic>>, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let query = query.into_inner();
    let page = page_of(query.limit, query.cursor)?;
    let rows = ctx
        .read({
            let page = page.clone();
            move |conn| Ok(clinics::list(conn, query.active, &page)?)
        })
        .await?;
    Ok(web::Json(ListResponse::from_rows(rows, &page, |c| c.id)))
}

/// Create a clinic.
#[utoipa::path(
    tag = "clinics",
    request_body = ClinicBody,
    responses((status = 201, body = Clinic), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[post("/clinics")]
pub(super) async fn create_clinic(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    body: ValidJson<CreateClinic>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let (clinic, audit) = (body.0.clinic(ctx.tenant_id), ctx.audit());
    let clinic = ctx
        .tx(move |conn| catalog::create_clinic(conn, &audit, &clinic))
        .await?;
    invalidation::data_changed(&state, ctx.tenant_id).await;
    Ok(created_with_etag(
        format!("/api/v1/clinics/{}", clinic.id),
        clinic.version,
        &clinic,
    ))
}

/// Get a clinic.
#[utoipa::path(
    tag = "clinics",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Clinic), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/clinics/{id}")]
pub(super) async fn get_clinic(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let id = path.into_inner();
    let clinic = ctx
        .read(move |conn| clinics::find(conn, id)?.ok_or(ApiError::NotFound))
        .await?;
    Ok(ok_with_etag(clinic.version, &clinic))
}

/// Change a clinic.
#[utoipa::path(
    tag = "clinics",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version being changed")),
    request_body = ClinicBody,
    responses((status = 200, body = Clinic), (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[patch("/clinics/{id}")]
pub(super) async fn update_clinic(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<ClinicBody>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let (id, changes, audit) = (path.into_inner(), body.0.changes(), ctx.audit());
    let clinic = ctx
        .tx(move |conn| catalog::update_clinic(conn, &audit, id, &if_match, &changes))
        .await?;
    invalidation::data_changed(&state, ctx.tenant_id).await;
    Ok(ok_with_etag(clinic.version, &clinic))
}

/// Delete a clinic (refused while appointments refer to it).
#[utoipa::path(
    tag = "clinics",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version being deleted")),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem)),
    security(("bearer" = []))
)]
#[delete("/clinics/{id}")]
pub(super) async fn delete_clinic(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let (id, audit) = (path.into_inner(), ctx.audit());
    ctx.tx(move |conn| catalog::delete_clinic(conn, &audit, id, &if_match))
        .await?;
    invalidation::data_changed(&state, ctx.tenant_id).await;
    Ok(HttpResponse::NoContent().finish())
}
