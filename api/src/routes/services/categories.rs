//! Service categories: list, create, read, change (rename, move, reorder), delete.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::Utc;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::auth::roles::Permission;
use crate::clinic::{catalog, invalidation};
use crate::db::services::{self, CategoryChanges, ServiceCategory};
use crate::error::{ApiError, FieldError, Problem};
use crate::http::etag::{created_with_etag, ok_with_etag, IfMatch};
use crate::http::json::{rules, ValidJson, Validate};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCategory {
    pub slug: String,
    pub name: String,
    pub parent_id: Option<Uuid>,
    pub position: Option<i32>,
}

impl CreateCategory {
    /// The new category, version 1.
    fn category(self, tenant_id: Uuid) -> ServiceCategory {
        ServiceCategory {
            id: Uuid::now_v7(),
            tenant_id,
            parent_id: self.parent_id,
            slug: self.slug,
            name: self.name.trim().to_owned(),
            position: self.position.unwrap_or(0),
            created_at: Utc::now(),
            version: 1,
        }
    }
}

impl Validate for CreateCategory {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        rules::slug(&mut errors, "slug", &self.slug);
        rules::text(&mut errors, "name", &self.name, 100);
        errors
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCategory {
    pub slug: Option<String>,
    pub name: Option<String>,
    /// Another category to move under, or null for the top level.
    #[serde(default, deserialize_with = "crate::http::json::present")]
    #[schema(value_type = Option<Uuid>)]
    pub parent_id: Option<Option<Uuid>>,
    pub position: Option<i32>,
}

impl UpdateCategory {
    fn changes(self) -> CategoryChanges {
        CategoryChanges {
            slug: self.slug,
            name: self.name.map(|name| name.trim().to_owned()),
            parent_id: self.parent_id,
            position: self.position,
        }
    }
}

impl Validate for UpdateCategory {
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
            && self.parent_id.is_none()
            && self.position.is_none()
        {
            errors.push(FieldError::new("body", "name at least one field to change"));
        }
        errors
    }
}

/// List service categories (flat, each with its `parent_id`, in order).
#[utoipa::path(
    tag = "services",
    responses((status = 200, body = Vec<ServiceCategory>), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/service-categories")]
pub(super) async fn list_categories(
    ctx: TenantCtx,
) -> Result<web::Json<Vec<ServiceCategory>>, ApiError> {
    ctx.require(Permission::ReadContent)?;
    Ok(web::Json(
        ctx.read(|conn| Ok(services::list_categories(conn)?))
            .await?,
    ))
}

/// Create a service category.
#[utoipa::path(
    tag = "services",
    request_body = CreateCategory,
    responses((status = 201, body = ServiceCategory), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[post("/service-categories")]
pub(super) async fn create_category(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    body: ValidJson<CreateCategory>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let (category, audit) = (body.0.category(ctx.tenant_id), ctx.audit());
    let created = ctx
        .tx(move |conn| catalog::create_category(conn, &audit, &category))
        .await?;
    invalidation::data_changed(&state, ctx.tenant_id).await;
    Ok(created_with_etag(
        format!("/api/v1/service-categories/{}", created.id),
        created.version,
        &created,
    ))
}

/// Get a service category.
#[utoipa::path(
    tag = "services",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ServiceCategory), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/service-categories/{id}")]
pub(super) async fn get_category(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let id = path.into_inner();
    let category = ctx
        .read(move |conn| services::find_category(conn, id)?.ok_or(ApiError::NotFound))
        .await?;
    Ok(ok_with_etag(category.version, &category))
}

/// Change a service category: rename it, move it under another (never under
/// itself or one of its own subcategories) or reorder it among its siblings.
#[utoipa::path(
    tag = "services",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version being changed")),
    request_body = UpdateCategory,
    responses(
        (status = 200, description = "The changed category", body = ServiceCategory),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem),
    ),
    security(("bearer" = []))
)]
#[patch("/service-categories/{id}")]
pub(super) async fn update_category(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<UpdateCategory>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let (id, changes, audit) = (path.into_inner(), body.0.changes(), ctx.audit());
    let updated = ctx
        .tx(move |conn| catalog::update_category(conn, &audit, id, &if_match, &changes))
        .await?;
    invalidation::data_changed(&state, ctx.tenant_id).await;
    Ok(ok_with_etag(updated.version, &updated))
}

/// Delete a service category and its subcategories (409 while services belong to them).
#[utoipa::path(
    tag = "services",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version being deleted")),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem)),
    security(("bearer" = []))
)]
#[delete("/service-categories/{id}")]
pub(super) async fn delete_category(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let (id, audit) = (path.into_inner(), ctx.audit());
    ctx.tx(move |conn| catalog::delete_category(conn, &audit, id, &if_match))
        .await?;
    invalidation::data_changed(&state, ctx.tenant_id).await;
    Ok(HttpResponse::NoContent().finish())
}
