//! Clinics: list, create, read, update and delete.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::Utc;
use serde_json::Value;
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::auth::roles::Permission;
use crate::db::clinics::{self, Clinic, ClinicChanges};
use crate::error::{ApiError, Problem};
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
        .tx({
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
    let body = body.0 .0;
    let now = Utc::now();
    let clinic = Clinic {
        id: Uuid::now_v7(),
        tenant_id: ctx.tenant_id,
        slug: body.slug.unwrap_or_default(),
        name: body.name.unwrap_or_default().trim().to_owned(),
        address: body.address.unwrap_or_default(),
        phone: body
            .phone
            .as_deref()
            .and_then(crate::clinic::normalize_phone)
            .unwrap_or_default(),
        email: body.email.unwrap_or_default(),
        working_hours: body
            .working_hours
            .unwrap_or_else(|| Value::Object(Default::default())),
        latitude: body.latitude,
        longitude: body.longitude,
        time_zone: body.time_zone.unwrap_or_default(),
        is_active: body.is_active.unwrap_or(true),
        created_at: now,
        updated_at: now,
    };
    let audit = ctx.audit();
    let clinic = ctx
        .tx(move |conn| {
            let clinic = clinics::insert(conn, &clinic)?;
            audit.created(conn, "clinic", clinic.id, &clinic)?;
            Ok(clinic)
        })
        .await?;
    crate::clinic::invalidation::data_changed(&state, ctx.tenant_id).await;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/clinics/{}", clinic.id)))
        .json(clinic))
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
) -> Result<web::Json<Clinic>, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let id = path.into_inner();
    let clinic = ctx
        .tx(move |conn| clinics::find(conn, id)?.ok_or(ApiError::NotFound))
        .await?;
    Ok(web::Json(clinic))
}

/// Change a clinic.
#[utoipa::path(
    tag = "clinics",
    params(("id" = Uuid, Path)),
    request_body = ClinicBody,
    responses((status = 200, body = Clinic), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[patch("/clinics/{id}")]
pub(super) async fn update_clinic(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: ValidJson<ClinicBody>,
) -> Result<web::Json<Clinic>, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let id = path.into_inner();
    let body = body.0;
    let changes = ClinicChanges {
        slug: body.slug,
        name: body.name.map(|name| name.trim().to_owned()),
        address: body.address,
        phone: body
            .phone
            .as_deref()
            .and_then(crate::clinic::normalize_phone),
        email: body.email,
        working_hours: body.working_hours,
        latitude: body.latitude.map(Some),
        longitude: body.longitude.map(Some),
        time_zone: body.time_zone,
        is_active: body.is_active,
        updated_at: Some(Utc::now()),
    };
    let audit = ctx.audit();
    let clinic = ctx
        .tx(move |conn| {
            let before = clinics::find(conn, id)?.ok_or(ApiError::NotFound)?;
            let after = clinics::update(conn, id, &changes)?.ok_or(ApiError::NotFound)?;
            audit.updated(conn, "clinic", id, &before, &after)?;
            Ok(after)
        })
        .await?;
    crate::clinic::invalidation::data_changed(&state, ctx.tenant_id).await;
    Ok(web::Json(clinic))
}

/// Delete a clinic (refused while appointments refer to it).
#[utoipa::path(
    tag = "clinics",
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = []))
)]
#[delete("/clinics/{id}")]
pub(super) async fn delete_clinic(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let id = path.into_inner();
    let audit = ctx.audit();
    ctx.tx(move |conn| {
        let before = clinics::find(conn, id)?.ok_or(ApiError::NotFound)?;
        clinics::delete(conn, id)?;
        audit.deleted(conn, "clinic", id, &before)?;
        Ok(())
    })
    .await?;
    crate::clinic::invalidation::data_changed(&state, ctx.tenant_id).await;
    Ok(HttpResponse::NoContent().finish())
}
