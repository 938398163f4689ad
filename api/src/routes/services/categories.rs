//! Service categories: list, create, change (rename, move, reorder), delete.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::Utc;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::auth::roles::Permission;
use crate::db::services::{self, CategoryChanges, ServiceCategory};
use crate::error::{ApiError, FieldError, Problem};
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
        ctx.tx(|conn| Ok(services::list_categories(conn)?)).await?,
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
    let body = body.0;
    let category = ServiceCategory {
        id: Uuid::now_v7(),
        tenant_id: ctx.tenant_id,
        parent_id: body.parent_id,
        slug: body.slug,
        name: body.name.trim().to_owned(),
        position: body.position.unwrap_or(0),
        created_at: Utc::now(),
    };
    let audit = ctx.audit();
    let created = ctx
        .tx(move |conn| {
            if let Some(parent) = category.parent_id {
                if services::category_subtree(conn, &parent.to_string())?.is_empty() {
                    return Err(ApiError::invalid("parent_id", "is not a category"));
                }
            }
            let created = services::insert_category(conn, &category)?;
            audit.created(conn, "service_category", created.id, &created)?;
            Ok(created)
        })
        .await?;
    crate::clinic::invalidation::data_changed(&state, ctx.tenant_id).await;
    Ok(HttpResponse::Created()
        .insert_header((
            "Location",
            format!("/api/v1/service-categories/{}", created.id),
        ))
        .json(created))
}

/// Change a service category: rename it, move it under another (never under
/// itself or one of its own subcategories) or reorder it among its siblings.
#[utoipa::path(
    tag = "services",
    params(("id" = Uuid, Path)),
    request_body = UpdateCategory,
    responses(
        (status = 200, description = "The changed category", body = ServiceCategory),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem),
    ),
    security(("bearer" = []))
)]
#[patch("/service-categories/{id}")]
pub(super) async fn update_category(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: ValidJson<UpdateCategory>,
) -> Result<web::Json<ServiceCategory>, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let id = path.into_inner();
    let body = body.0;
    let changes = CategoryChanges {
        slug: body.slug,
        name: body.name.map(|name| name.trim().to_owned()),
        parent_id: body.parent_id,
        position: body.position,
    };
    let audit = ctx.audit();
    let updated = ctx
        .tx(move |conn| {
            let before = services::lock_category(conn, id)?.ok_or(ApiError::NotFound)?;
            if let Some(Some(parent)) = changes.parent_id {
                if services::lock_category(conn, parent)?.is_none() {
                    return Err(ApiError::invalid("parent_id", "no such category"));
                }
                if services::category_subtree(conn, &id.to_string())?.contains(&parent) {
                    return Err(ApiError::invalid(
                        "parent_id",
                        "a category cannot move under itself or one of its subcategories",
                    ));
                }
            }
            let after = services::update_category(conn, id, &changes)?;
            audit.updated(conn, "service_category", id, &before, &after)?;
            Ok(after)
        })
        .await?;
    crate::clinic::invalidation::data_changed(&state, ctx.tenant_id).await;
    Ok(web::Json(updated))
}

/// Delete a service category and its subcategories (409 while services belong to them).
#[utoipa::path(
    tag = "services",
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = []))
)]
#[delete("/service-categories/{id}")]
pub(super) async fn delete_category(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let id = path.into_inner();
    let audit = ctx.audit();
    ctx.tx(move |conn| {
        if services::delete_category(conn, id)? == 0 {
            return Err(ApiError::NotFound);
        }
        audit.deleted(conn, "service_category", id, &serde_json::json!({"id": id}))?;
        Ok(())
    })
    .await?;
    crate::clinic::invalidation::data_changed(&state, ctx.tenant_id).await;
    Ok(HttpResponse::NoContent().finish())
}
