//! `/api/v1/sites/{id}/export`, `/api/v1/sites/import`, `/api/v1/sites/{id}/clone`:
//! landings as one JSON document, and whole-site copies (pages, blocks, the
//! custom modules they use, live snapshots) within a tenant or into another
//! tenant the caller administers.

use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::auth::roles::{Permission, Role};
use crate::content::cache::Invalidation;
use crate::content::transfer::{self, SiteDocument};
use crate::db::audit::Audit;
use crate::db::sites::Site;
use crate::db::{memberships, tenants, Scope};
use crate::error::{ApiError, FieldError, Problem};
use crate::http::etag::created_with_etag;
use crate::http::json::{rules, LargeJson, ValidJson, Validate};
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(export_site)
        .service(import_site)
        .service(clone_site);
}

fn name_and_domain(errors: &mut Vec<FieldError>, name: &str, domain: &str) {
    rules::text(errors, "name", name, 200);
    if let Err(err) = cms_shared::host::normalize_host(domain) {
        errors.push(FieldError::new("domain", err.to_string()));
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloneSite {
    /// Name of the new site.
    pub name: String,
    /// Host the new site answers on (must be free).
    pub domain: String,
    /// Target tenant (slug or id) the caller also owns or administers; default this one.
    pub tenant: Option<String>,
}

impl Validate for CloneSite {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        name_and_domain(&mut errors, &self.name, &self.domain);
        errors
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportSite {
    pub name: String,
    pub domain: String,
    pub document: SiteDocument,
}

impl Validate for ImportSite {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        name_and_domain(&mut errors, &self.name, &self.domain);
        errors
    }
}

/// The whole site as one document (for import here or in another installation).
#[utoipa::path(
    tag = "sites",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = SiteDocument), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/sites/{id}/export")]
async fn export_site(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
) -> Result<web::Json<SiteDocument>, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let id = path.into_inner();
    Ok(web::Json(
        ctx.read(move |conn| transfer::export(conn, id)).await?,
    ))
}

/// Create a site from a document (`GET /sites/{id}/export`). Every block is
/// validated against its module again.
#[utoipa::path(
    tag = "sites",
    request_body = ImportSite,
    responses((status = 201, body = Site), (status = 409, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[post("/sites/import")]
async fn import_site(
    state: web::Data<AppState>,
    ctx: TenantCtx,
    body: LargeJson<ImportSite>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let ImportSite {
        name,
        domain,
        document,
    } = body.0;
    let audit = ctx.audit();
    let site = ctx
        .tx(move |conn| transfer::import(conn, &audit, document, &name, &domain))
        .await?;
    state
        .cache
        .invalidate(&state.kv, Invalidation::site(site.tenant_id, site.id))
        .await;
    Ok(created_with_etag(
        format!("/api/v1/sites/{}", site.id),
        site.version,
        &site,
    ))
}

/// The tenant a clone goes to: this one, or another the caller owns or administers.
async fn clone_target(
    state: &AppState,
    ctx: &TenantCtx,
    key: Option<String>,
) -> Result<Uuid, ApiError> {
    let Some(key) = key else {
        return Ok(ctx.tenant_id);
    };
    let user_id = ctx.user.user_id();
    state
        .db
        .tx(Scope::user(user_id), move |conn| {
            let refused = || ApiError::Forbidden(format!("you do not administer tenant {key:?}"));
            let tenant = tenants::find_by_key(conn, &key)?
                .filter(|t| t.status == "active")
                .ok_or_else(refused)?;
            let membership =
                memberships::find_for_user(conn, tenant.id, user_id)?.ok_or_else(refused)?;
            match membership.role {
                Role::Owner | Role::Admin => Ok(tenant.id),
                _ => Err(refused()),
            }
        })
        .await
}

/// Copy a site with its pages, blocks, the custom modules they use and what is
/// live, under a new name and host, into this tenant or another the caller
/// administers. One transaction reads the source, one writes the copy.
#[utoipa::path(
    tag = "sites",
    params(("id" = Uuid, Path)),
    request_body = CloneSite,
    responses((status = 201, body = Site), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[post("/sites/{id}/clone")]
async fn clone_site(
    state: web::Data<AppState>,
    ctx: TenantCtx,
    path: web::Path<Uuid>,
    body: ValidJson<CloneSite>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let (
        source,
        CloneSite {
            name,
            domain,
            tenant,
        },
    ) = (path.into_inner(), body.0);
    let document = ctx.tx(move |conn| transfer::export(conn, source)).await?;
    let target = clone_target(&state, &ctx, tenant).await?;
    let audit = Audit {
        actor: ctx.user.actor(),
        tenant_id: target,
    };
    let site = state
        .db
        .tx(Scope::tenant(target, ctx.user.user_id()), move |conn| {
            transfer::import(conn, &audit, document, &name, &domain)
        })
        .await?;
    state
        .cache
        .invalidate(&state.kv, Invalidation::site(site.tenant_id, site.id))
        .await;
    Ok(created_with_etag(
        format!("/api/v1/sites/{}", site.id),
        site.version,
        &site,
    ))
}
