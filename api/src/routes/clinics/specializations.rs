//! The tenant's doctor specializations: list, create, read, change, delete.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::Utc;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::auth::roles::Permission;
use crate::clinic::{catalog, invalidation};
use crate::db::clinics::{self, Specialization, SpecializationChanges};
use crate::error::{ApiError, FieldError, Problem};
use crate::http::etag::{created_with_etag, ok_with_etag, IfMatch};
use crate::http::json::{rules, ValidJson, Validate};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSpecialization {
    pub slug: String,
    pub name: String,
    pub description: Option<String>,
    pub icon: Option<String>,
}

impl CreateSpecialization {
    /// The new specialization, version 1.
    fn specialization(self, tenant_id: Uuid) -> Specialization {
        Specialization {
            id: Uuid::now_v7(),
            tenant_id,
            slug: self.slug,
            name: self.name.trim().to_owned(),
            description: self.description.unwrap_or_default(),
            icon: self.icon.unwrap_or_default(),
            created_at: Utc::now(),
            version: 1,
        }
    }
}

impl Validate for CreateSpecialization {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        rules::slug(&mut errors, "slug", &self.slug);
        rules::text(&mut errors, "name", &self.name, 100);
        errors
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSpecialization {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub icon: Option<String>,
}

impl UpdateSpecialization {
    fn changes(self) -> SpecializationChanges {
        SpecializationChanges {
            slug: self.slug,
            name: self.name.map(|name| name.trim().to_owned()),
            description: self.description,
            icon: self.icon,
        }
    }
}

impl Validate for UpdateSpecialization {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if let Some(slug) = &self.slug {
            rules::slug(&mut errors, "slug", slug);
        }
        if let Some(name) = &self.name {
            rules::text(&mut errors, "name", name, 100);
        }
        if self.slug.is_none()
            && self.name.is_none()
            && self.description.is_none()
            && self.icon.is_none()
        {
            errors.push(FieldError::new("body", "name at least one field to change"));
        }
        errors
    }
}

/// List specializations.
#[utoipa::path(
    tag = "clinics",
    responses((status = 200, body = Vec<Specialization>), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/specializations")]
pub(super) async fn list_specializations(
    ctx: TenantCtx,
) -> Result<web::Json<Vec<Specialization>>, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let rows = ctx
        .read(|conn| Ok(clinics::list_specializations(conn)?))
        .await?;
    Ok(web::Json(rows))
}

/// Create a specialization.
#[utoipa::path(
    tag = "clinics",
    request_body = CreateSpecialization,
    responses((status = 201, body = Specialization), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[post("/specializations")]
pub(super) async fn create_specialization(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    body: ValidJson<CreateSpecialization>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let (specialization, audit) = (body.0.specialization(ctx.tenant_id), ctx.audit());
    let created = ctx
        .tx(move |conn| catalog::create_specialization(conn, &audit, &specialization))
        .await?;
    invalidation::data_changed(&state, ctx.tenant_id).await;
    Ok(created_with_etag(
        format!("/api/v1/specializations/{}", created.id),
        created.version,
        &created,
    ))
}

/// Get a specialization.
#[utoipa::path(
    tag = "clinics",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Specialization), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/specializations/{id}")]
pub(super) async fn get_specialization(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let id = path.into_inner();
    let specialization = ctx
        .read(move |conn| clinics::find_specialization(conn, id)?.ok_or(ApiError::NotFound))
        .await?;
    Ok(ok_with_etag(specialization.version, &specialization))
}

/// Change a specialization.
#[utoipa::path(
    tag = "clinics",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version being changed")),
    request_body = UpdateSpecialization,
    responses(
        (status = 200, description = "The changed specialization", body = Specialization),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem),
    ),
    security(("bearer" = []))
)]
#[patch("/specializations/{id}")]
pub(super) async fn update_specialization(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<UpdateSpecialization>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let (id, changes, audit) = (path.into_inner(), body.0.changes(), ctx.audit());
    let updated = ctx
        .tx(move |conn| catalog::update_specialization(conn, &audit, id, &if_match, &changes))
        .await?;
    invalidation::data_changed(&state, ctx.tenant_id).await;
    Ok(ok_with_etag(updated.version, &updated))
}

/// Delete a specialization (409 while doctors have it).
#[utoipa::path(
    tag = "clinics",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version being deleted")),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem)),
    security(("bearer" = []))
)]
#[delete("/specializations/{id}")]
pub(super) async fn delete_specialization(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let (id, audit) = (path.into_inner(), ctx.audit());
    ctx.tx(move |conn| catalog::delete_specialization(conn, &audit, id, &if_match))
        .await?;
    invalidation::data_changed(&state, ctx.tenant_id).await;
    Ok(HttpResponse::NoContent().finish())
}
