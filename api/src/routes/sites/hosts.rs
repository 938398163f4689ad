//! A site's domains: list, add, remove.

use actix_web::{delete, get, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::auth::roles::Permission;
use crate::content::cache::Invalidation;
use crate::db::domains::{self, Domain};
use crate::db::sites::{self};
use crate::error::{ApiError, FieldError, Problem};
use crate::http::json::{ValidJson, Validate};
use crate::http::pagination::ListResponse;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddDomain {
    /// Host name; stored lowercase without port (`Alpha.Example.com:443` -> `alpha.example.com`).
    pub host: String,
    /// Make it the site's canonical host (demotes the previous one).
    #[serde(default)]
    pub is_primary: bool,
}

impl Validate for AddDomain {
    fn validate(&self) -> Vec<FieldError> {
        match cms_shared::host::normalize_host(&self.host) {
            Ok(_) => Vec::new(),
            Err(err) => vec![FieldError::new("host", err.to_string())],
        }
    }
}

/// The hosts a site answers on.
#[utoipa::path(
    tag = "sites",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ListResponse<Domain>), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/sites/{id}/domains")]
pub(super) async fn list_domains(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
) -> Result<web::Json<ListResponse<Domain>>, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let site_id = path.into_inner();
    let items = ctx
        .read(move |conn| {
            sites::find(conn, site_id)?.ok_or(ApiError::NotFound)?;
            Ok(domains::list_for_site(conn, site_id)?)
        })
        .await?;
    Ok(web::Json(ListResponse::complete(items)))
}

/// Attach a host to a site. Hosts are unique across all tenants (409 if taken).
#[utoipa::path(
    tag = "sites",
    params(("id" = Uuid, Path)),
    request_body = AddDomain,
    responses((status = 201, body = Domain), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[post("/sites/{id}/domains")]
pub(super) async fn add_domain(
    state: web::Data<AppState>,
    ctx: TenantCtx,
    path: web::Path<Uuid>,
    body: ValidJson<AddDomain>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let site_id = path.into_inner();
    let host = cms_shared::host::normalize_host(&body.0.host)
        .map_err(|err| ApiError::invalid("host", err.to_string()))?;
    let is_primary = body.0.is_primary;
    let (audit, tenant_id) = (ctx.audit(), ctx.tenant_id);
    let domain = ctx
        .tx(move |conn| {
            sites::find(conn, site_id)?.ok_or(ApiError::NotFound)?;
            let domain = domains::insert(
                conn,
                &Domain {
                    id: Uuid::now_v7(),
                    tenant_id,
                    site_id,
                    host,
                    is_primary,
                    created_at: chrono::Utc::now(),
                },
            )?;
            audit.created(conn, "domain", domain.id, &domain)?;
            Ok(domain)
        })
        .await?;
    state
        .cache
        .invalidate(&state.kv, Invalidation::site(tenant_id, site_id))
        .await;
    Ok(HttpResponse::Created()
        .insert_header((
            "Location",
            format!("/api/v1/sites/{site_id}/domains/{}", domain.id),
        ))
        .json(domain))
}

/// Detach a host from a site.
#[utoipa::path(
    tag = "sites",
    params(("id" = Uuid, Path), ("domain_id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[delete("/sites/{id}/domains/{domain_id}")]
pub(super) async fn remove_domain(
    state: web::Data<AppState>,
    ctx: TenantCtx,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let (site_id, domain_id) = path.into_inner();
    let audit = ctx.audit();
    ctx.tx(move |conn| {
        let before = domains::find(conn, site_id, domain_id)?.ok_or(ApiError::NotFound)?;
        domains::delete(conn, domain_id)?;
        audit.deleted(conn, "domain", domain_id, &before)?;
        Ok(())
    })
    .await?;
    state
        .cache
        .invalidate(&state.kv, Invalidation::site(ctx.tenant_id, site_id))
        .await;
    Ok(HttpResponse::NoContent().finish())
}
