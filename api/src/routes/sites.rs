//! `/api/v1/sites` and `/api/v1/sites/{id}/domains`: a tenant's landings and the
//! hosts they answer on. Row-level security confines every query to the
//! caller's tenant, so another tenant's site is simply not found (404).

use actix_web::{delete, get, patch, post, web, HttpResponse};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::auth::roles::Permission;
use crate::content::cache::Invalidation;
use crate::db::domains::{self, Domain};
use crate::db::sites::{self, NewSite, Site, SiteChanges};
use crate::error::{ApiError, FieldError, Problem};
use crate::http::etag::{created_with_etag, ok_with_etag, IfMatch};
use crate::http::json::{rules, ValidJson, Validate};
use crate::http::pagination::{ListResponse, PageQuery, PageRequest};
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_sites)
        .service(create_site)
        .service(get_site)
        .service(update_site)
        .service(delete_site)
        .service(list_domains)
        .service(add_domain)
        .service(remove_domain);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSite {
    pub name: String,
    /// Default `en`; must be one of `locales`.
    pub default_locale: Option<String>,
    /// Default `[default_locale]`.
    pub locales: Option<Vec<String>>,
    #[schema(value_type = Option<HashMap<String, serde_json::Value>>)]
    pub theme: Option<Value>,
    #[schema(value_type = Option<HashMap<String, serde_json::Value>>)]
    pub analytics: Option<Value>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSite {
    pub name: Option<String>,
    pub default_locale: Option<String>,
    pub locales: Option<Vec<String>>,
    #[schema(value_type = Option<HashMap<String, serde_json::Value>>)]
    pub theme: Option<Value>,
    #[schema(value_type = Option<HashMap<String, serde_json::Value>>)]
    pub analytics: Option<Value>,
}

fn validate_site_fields(
    errors: &mut Vec<FieldError>,
    name: Option<&str>,
    default_locale: Option<&str>,
    locales: Option<&[String]>,
    theme: Option<&Value>,
    analytics: Option<&Value>,
) {
    if let Some(name) = name {
        rules::text(errors, "name", name, 200);
    }
    if let Some(locale) = default_locale {
        rules::locale(errors, "default_locale", locale);
    }
    if let Some(locales) = locales {
        if locales.is_empty() || locales.len() > 50 {
            errors.push(FieldError::new("locales", "must list 1 to 50 locales"));
        }
        for (index, locale) in locales.iter().enumerate() {
            rules::locale(errors, &format!("locales.{index}"), locale);
        }
        if let Some(default) = default_locale {
            if !locales.iter().any(|locale| locale == default) {
                errors.push(FieldError::new("default_locale", "must be one of locales"));
            }
        }
    }
    for (field, value) in [("theme", theme), ("analytics", analytics)] {
        if value.is_some_and(|value| !value.is_object()) {
            errors.push(FieldError::new(field, "must be a JSON object"));
        }
    }
}

impl Validate for CreateSite {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let default_locale = self.default_locale.as_deref().unwrap_or("en");
        validate_site_fields(
            &mut errors,
            Some(&self.name),
            Some(default_locale),
            self.locales.as_deref(),
            self.theme.as_ref(),
            self.analytics.as_ref(),
        );
        errors
    }
}

impl Validate for UpdateSite {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        validate_site_fields(
            &mut errors,
            self.name.as_deref(),
            self.default_locale.as_deref(),
            self.locales.as_deref(),
            self.theme.as_ref(),
            self.analytics.as_ref(),
        );
        errors
    }
}

/// List the tenant's sites.
#[utoipa::path(
    tag = "sites",
    params(PageQuery),
    responses((status = 200, body = ListResponse<Site>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[get("/sites")]
async fn list_sites(
    ctx: TenantCtx,
    query: web::Query<PageQuery>,
) -> Result<web::Json<ListResponse<Site>>, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let page = PageRequest::try_from(query.into_inner())?;
    let rows = ctx
        .tx({
            let page = page.clone();
            move |conn| Ok(sites::list(conn, &page)?)
        })
        .await?;
    Ok(web::Json(ListResponse::from_rows(rows, &page, |site| {
        site.id
    })))
}

/// Create a site.
#[utoipa::path(
    tag = "sites",
    request_body = CreateSite,
    responses((status = 201, body = Site), (status = 400, body = Problem), (status = 403, body = Problem), (status = 413, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[post("/sites")]
async fn create_site(
    ctx: TenantCtx,
    body: ValidJson<CreateSite>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let body = body.0;
    let default_locale = body.default_locale.unwrap_or_else(|| "en".to_owned());
    let new_site = NewSite {
        id: Uuid::now_v7(),
        tenant_id: ctx.tenant_id,
        name: body.name.trim().to_owned(),
        locales: body.locales.unwrap_or_else(|| vec![default_locale.clone()]),
        default_locale,
        theme: body
            .theme
            .unwrap_or_else(|| Value::Object(Default::default())),
        analytics: body
            .analytics
            .unwrap_or_else(|| Value::Object(Default::default())),
    };
    let audit = ctx.audit();
    let site = ctx
        .tx(move |conn| {
            let site = sites::insert(conn, &new_site)?;
            audit.created(conn, "site", site.id, &site)?;
            Ok(site)
        })
        .await?;
    Ok(created_with_etag(
        format!("/api/v1/sites/{}", site.id),
        site.version,
        &site,
    ))
}

/// Get a site.
#[utoipa::path(
    tag = "sites",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Site), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/sites/{id}")]
async fn get_site(ctx: TenantCtx, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let id = path.into_inner();
    let site = ctx
        .tx(move |conn| sites::find(conn, id)?.ok_or(ApiError::NotFound))
        .await?;
    Ok(ok_with_etag(site.version, &site))
}

/// Change a site. Send `If-Match` with the ETag you read to avoid overwriting
/// another editor's change (412 if it changed meanwhile).
#[utoipa::path(
    tag = "sites",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version being changed")),
    request_body = UpdateSite,
    responses((status = 200, body = Site), (status = 404, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[patch("/sites/{id}")]
async fn update_site(
    state: web::Data<AppState>,
    ctx: TenantCtx,
    path: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<UpdateSite>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let id = path.into_inner();
    let body = body.0;
    let audit = ctx.audit();
    let site = ctx
        .tx(move |conn| {
            let before = sites::lock(conn, id)?.ok_or(ApiError::NotFound)?;
            if_match.check(before.version)?;
            let locales = body
                .locales
                .clone()
                .unwrap_or_else(|| before.locales.clone());
            let default_locale = body
                .default_locale
                .clone()
                .unwrap_or_else(|| before.default_locale.clone());
            if !locales.contains(&default_locale) {
                return Err(ApiError::invalid(
                    "default_locale",
                    "must be one of locales",
                ));
            }
            let changes = SiteChanges {
                name: body.name.map(|name| name.trim().to_owned()),
                default_locale: body.default_locale,
                locales: body.locales,
                theme: body.theme,
                analytics: body.analytics,
            };
            let after = sites::update(conn, id, &changes)?;
            audit.updated(conn, "site", id, &before, &after)?;
            Ok(after)
        })
        .await?;
    state
        .cache
        .invalidate(&state.kv, Invalidation::site(site.tenant_id, site.id))
        .await;
    Ok(ok_with_etag(site.version, &site))
}

/// Delete a site and its domains.
#[utoipa::path(
    tag = "sites",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version being deleted")),
    responses((status = 204), (status = 404, body = Problem), (status = 412, body = Problem)),
    security(("bearer" = []))
)]
#[delete("/sites/{id}")]
async fn delete_site(
    state: web::Data<AppState>,
    ctx: TenantCtx,
    path: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let id = path.into_inner();
    let audit = ctx.audit();
    ctx.tx(move |conn| {
        let before = sites::lock(conn, id)?.ok_or(ApiError::NotFound)?;
        if_match.check(before.version)?;
        sites::delete(conn, id)?;
        audit.deleted(conn, "site", id, &before)?;
        Ok(())
    })
    .await?;
    state
        .cache
        .invalidate(&state.kv, Invalidation::site(ctx.tenant_id, id))
        .await;
    Ok(HttpResponse::NoContent().finish())
}

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
async fn list_domains(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
) -> Result<web::Json<ListResponse<Domain>>, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let site_id = path.into_inner();
    let items = ctx
        .tx(move |conn| {
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
async fn add_domain(
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
async fn remove_domain(
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
