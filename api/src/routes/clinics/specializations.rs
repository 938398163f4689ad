//! The tenant's doctor specializations: list, create, change, delete.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::Utc;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::auth::roles::Permission;
use crate::db::clinics::{self, Specialization, SpecializationChanges};
use crate::error::{ApiError, FieldError, Problem};
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
        .tx(|conn| Ok(clinics::list_specializations(conn)?))
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
    let body = body.0;
    let specialization = Specialization {
        id: Uuid::now_v7(),
        tenant_id: ctx.tenant_id,
        slug: body.slug,
        name: body.name.trim().to_owned(),
        description: body.description.unwrap_or_default(),
        icon: body.icon.unwrap_or_default(),
        created_at: Utc::now(),
    };
    let audit = ctx.audit();
    let created = ctx
        .tx(move |conn| {
            let created = clinics::insert_specialization(conn, &specialization)?;
            audit.created(conn, "specialization", created.id, &created)?;
            Ok(created)
        })
        .await?;
    crate::clinic::invalidation::data_changed(&state, ctx.tenant_id).await;
    Ok(HttpResponse::Created()
        .insert_header((
            "Location",
            format!("/api/v1/specializations/{}", created.id),
        ))
        .json(created))
}

/// Change a specialization.
#[utoipa::path(
    tag = "clinics",
    params(("id" = Uuid, Path)),
    request_body = UpdateSpecialization,
    responses(
        (status = 200, description = "The changed specialization", body = Specialization),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem),
    ),
    security(("bearer" = []))
)]
#[patch("/specializations/{id}")]
pub(super) async fn update_specialization(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: ValidJson<UpdateSpecialization>,
) -> Result<web::Json<Specialization>, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let id = path.into_inner();
    let body = body.0;
    let changes = SpecializationChanges {
        slug: body.slug,
        name: body.name.map(|name| name.trim().to_owned()),
        description: body.description,
        icon: body.icon,
    };
    let audit = ctx.audit();
    let updated = ctx
        .tx(move |conn| {
            let before = clinics::lock_specialization(conn, id)?.ok_or(ApiError::NotFound)?;
            let after = clinics::update_specialization(conn, id, &changes)?;
            audit.updated(conn, "specialization", id, &before, &after)?;
            Ok(after)
        })
        .await?;
    crate::clinic::invalidation::data_changed(&state, ctx.tenant_id).await;
    Ok(web::Json(updated))
}

/// Delete a specialization (409 while doctors have it).
#[utoipa::path(
    tag = "clinics",
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = []))
)]
#[delete("/specializations/{id}")]
pub(super) async fn delete_specialization(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let id = path.into_inner();
    let audit = ctx.audit();
    ctx.tx(move |conn| {
        if clinics::delete_specialization(conn, id)? == 0 {
            return Err(ApiError::NotFound);
        }
        audit.deleted(conn, "specialization", id, &serde_json::json!({"id": id}))?;
        Ok(())
    })
    .await?;
    crate::clinic::invalidation::data_changed(&state, ctx.tenant_id).await;
    Ok(HttpResponse::NoContent().finish())
}
