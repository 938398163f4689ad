//! `/api/v1/tenants`: the corporate clients, managed by platform admins only.
//! Each change is audited into the affected tenant's log.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::extract::PlatformAdmin;
use crate::db::tenants::{self, NewTenant, Tenant, TenantChanges};
use crate::error::{ApiError, FieldError, Problem};
use crate::http::etag::{created_with_etag, ok_with_etag, IfMatch};
use crate::http::json::{rules, ValidJson, Validate};
use crate::http::pagination::{ListResponse, PageQuery, PageRequest};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_tenants)
        .service(create_tenant)
        .service(get_tenant)
        .service(update_tenant)
        .service(delete_tenant);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    /// URL-safe name used at login (`alpha`).
    pub slug: String,
    pub name: String,
}

impl Validate for CreateTenant {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if let Err(err) = cms_shared::slug::parse_slug(&self.slug) {
            errors.push(FieldError::new("slug", err.to_string()));
        }
        rules::text(&mut errors, "name", &self.name, 200);
        errors
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTenant {
    pub name: Option<String>,
    /// `active` or `suspended`.
    pub status: Option<String>,
}

impl Validate for UpdateTenant {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if let Some(name) = &self.name {
            rules::text(&mut errors, "name", name, 200);
        }
        if let Some(status) = &self.status {
            if status != "active" && status != "suspended" {
                errors.push(FieldError::new("status", "must be active or suspended"));
            }
        }
        errors
    }
}

/// List tenants.
#[utoipa::path(
    tag = "tenants",
    params(PageQuery),
    responses((status = 200, body = ListResponse<Tenant>), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/tenants")]
async fn list_tenants(
    admin: PlatformAdmin,
    query: web::Query<PageQuery>,
) -> Result<web::Json<ListResponse<Tenant>>, ApiError> {
    let page = PageRequest::try_from(query.into_inner())?;
    let rows = admin
        .tx({
            let page = page.clone();
            move |conn| Ok(tenants::list(conn, &page)?)
        })
        .await?;
    Ok(web::Json(ListResponse::from_rows(rows, &page, |tenant| {
        tenant.id
    })))
}

/// Create a tenant.
#[utoipa::path(
    tag = "tenants",
    request_body = CreateTenant,
    responses(
        (status = 201, body = Tenant), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem),
    ),
    security(("bearer" = []))
)]
#[post("/tenants")]
async fn create_tenant(
    admin: PlatformAdmin,
    body: ValidJson<CreateTenant>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let id = Uuid::now_v7();
    let audit = admin.audit_in(id);
    let tenant = admin
        .tx_in(id, move |conn| {
            let tenant = tenants::insert(
                conn,
                &NewTenant {
                    id,
                    slug: &body.slug,
                    name: body.name.trim(),
                },
            )?;
            audit.created(conn, "tenant", id, &tenant)?;
            Ok(tenant)
        })
        .await?;
    Ok(created_with_etag(
        format!("/api/v1/tenants/{id}"),
        tenant.version,
        &tenant,
    ))
}

/// Get a tenant.
#[utoipa::path(
    tag = "tenants",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Tenant), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/tenants/{id}")]
async fn get_tenant(admin: PlatformAdmin, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let tenant = admin
        .tx(move |conn| tenants::find(conn, id)?.ok_or(ApiError::NotFound))
        .await?;
    Ok(ok_with_etag(tenant.version, &tenant))
}

/// Rename, suspend or reactivate a tenant.
#[utoipa::path(
    tag = "tenants",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version being changed")),
    request_body = UpdateTenant,
    responses(
        (status = 200, body = Tenant), (status = 404, body = Problem), (status = 412, body = Problem),
        (status = 422, body = Problem),
    ),
    security(("bearer" = []))
)]
#[patch("/tenants/{id}")]
async fn update_tenant(
    admin: PlatformAdmin,
    path: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<UpdateTenant>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let body = body.0;
    let audit = admin.audit_in(id);
    let tenant = admin
        .tx_in(id, move |conn| {
            let before = tenants::lock(conn, id)?.ok_or(ApiError::NotFound)?;
            if_match.check(before.version)?;
            let changes = TenantChanges {
                name: body.name.map(|name| name.trim().to_owned()),
                status: body.status,
            };
            let after = tenants::update(conn, id, &changes)?;
            audit.updated(conn, "tenant", id, &before, &after)?;
            Ok(after)
        })
        .await?;
    Ok(ok_with_etag(tenant.version, &tenant))
}

/// Delete a tenant with all its sites and memberships. Its audit log is kept.
#[utoipa::path(
    tag = "tenants",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version being deleted")),
    responses((status = 204), (status = 404, body = Problem), (status = 412, body = Problem)),
    security(("bearer" = []))
)]
#[delete("/tenants/{id}")]
async fn delete_tenant(
    admin: PlatformAdmin,
    path: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let audit = admin.audit_in(id);
    admin
        .tx_in(id, move |conn| {
            let before = tenants::lock(conn, id)?.ok_or(ApiError::NotFound)?;
            if_match.check(before.version)?;
            tenants::delete(conn, id)?;
            audit.deleted(conn, "tenant", id, &before)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
