//! `/api/v1/tenant/settings`: what the caller's tenant sets for itself, by its
//! owners and admins. Today: the origins of the tenant's own browser apps that
//! may call the management API (CORS).

use actix_web::{get, patch, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::extract::TenantCtx;
use crate::auth::roles::Permission;
use crate::db::tenants::{self, TenantSettings};
use crate::error::{ApiError, FieldError, Problem};
use crate::http::cors::parse_origin;
use crate::http::etag::{ok_with_etag, IfMatch};
use crate::http::json::{ValidJson, Validate};
use crate::state::AppState;

/// More would make the preflight check a list nobody reviews.
const MAX_ORIGINS: usize = 50;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(get_settings).service(update_settings);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTenantSettings {
    /// Replaces the list: origins such as `https://admin.example.com`.
    pub allowed_origins: Option<Vec<String>>,
}

impl Validate for UpdateTenantSettings {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if let Some(origins) = &self.allowed_origins {
            if origins.len() > MAX_ORIGINS {
                errors.push(FieldError::new(
                    "allowed_origins",
                    format!("must list at most {MAX_ORIGINS} origins"),
                ));
            }
            for (index, origin) in origins.iter().enumerate() {
                if let Err(reason) = parse_origin(origin) {
                    errors.push(FieldError::new(&format!("allowed_origins.{index}"), reason));
                }
            }
        }
        errors
    }
}

/// The tenant's settings.
#[utoipa::path(
    tag = "tenant",
    responses(
        (status = 200, description = "The settings, with their ETag", body = TenantSettings),
        (status = 403, description = "Only owners and admins read settings", body = Problem),
    ),
    security(("bearer" = []))
)]
#[get("/tenant/settings")]
async fn get_settings(ctx: TenantCtx) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::ManageSettings)?;
    let id = ctx.tenant_id;
    let settings = ctx
        .read(move |conn| tenants::settings(conn, id)?.ok_or(ApiError::NotFound))
        .await?;
    Ok(ok_with_etag(settings.version, &settings))
}

/// Change the tenant's settings. New allowed origins take effect at once on
/// this node and within `CMS_CORS_REFRESH_SECS` on the others.
#[utoipa::path(
    tag = "tenant",
    params(("If-Match" = Option<String>, Header, description = "ETag of the settings being changed")),
    request_body = UpdateTenantSettings,
    responses(
        (status = 200, description = "The changed settings, with their new ETag", body = TenantSettings),
        (status = 403, description = "Only owners and admins change settings", body = Problem),
        (status = 412, description = "The settings changed since they were read", body = Problem),
        (status = 422, description = "An origin is not of the form scheme://host[:port]", body = Problem),
    ),
    security(("bearer" = []))
)]
#[patch("/tenant/settings")]
async fn update_settings(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    if_match: IfMatch,
    body: ValidJson<UpdateTenantSettings>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::ManageSettings)?;
    let id = ctx.tenant_id;
    let audit = ctx.audit();
    let origins = body.0.allowed_origins.map(|origins| {
        let mut parsed: Vec<String> = origins
            .iter()
            .filter_map(|origin| parse_origin(origin).ok())
            .collect();
        parsed.sort();
        parsed.dedup();
        parsed
    });
    let settings = ctx
        .tx(move |conn| {
            let before = tenants::lock_settings(conn, id)?.ok_or(ApiError::NotFound)?;
            if_match.check(before.version)?;
            let Some(origins) = origins else {
                return Ok(before);
            };
            let after = tenants::set_allowed_origins(conn, id, &origins)?;
            audit.updated(conn, "tenant_settings", id, &before, &after)?;
            Ok(after)
        })
        .await?;
    if let Err(err) = state.origins.reload(&state.db).await {
        tracing::warn!(error = %err, "cannot reload allowed origins after a change");
    }
    Ok(ok_with_etag(settings.version, &settings))
}
