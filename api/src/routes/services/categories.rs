//! Service categories: list, create, delete.

use actix_web::{delete, get, post, web, HttpResponse};
use chrono::Utc;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::auth::roles::Permission;
use crate::db::services::{self, ServiceCategory};
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
    Ok(HttpResponse::Created().json(created))
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
