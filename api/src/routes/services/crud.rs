//! Services: list, create, read, update and delete, with their clinic links.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::Utc;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::auth::roles::Permission;
use crate::clinic::catalog::{self, Links};
use crate::clinic::{self, invalidation};
use crate::db::services::{self, Service, ServiceChanges, ServiceRow};
use crate::error::{ApiError, FieldError, Problem};
use crate::http::etag::{created_with_etag, ok_with_etag, IfMatch};
use crate::http::json::{rules, ValidJson, Validate};
use crate::http::pagination::{ListResponse, PageQuery, PageRequest};
use crate::state::AppState;

use super::{filter_from, ServiceQuery};

/// List services.
#[utoipa::path(
    tag = "services",
    params(ServiceQuery),
    responses((status = 200, body = ListResponse<Service>), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[get("/services")]
pub(super) async fn list_services(
    ctx: TenantCtx,
    query: web::Query<ServiceQuery>,
) -> Result<web::Json<ListResponse<Service>>, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let query = query.into_inner();
    let page = PageRequest::try_from(PageQuery {
        limit: query.limit,
        cursor: query.cursor.clone(),
    })?;
    let rows = ctx
        .read({
            let page = page.clone();
            move |conn| match filter_from(conn, &query, false)? {
                Some(filter) => Ok(services::list(conn, &filter, &page)?),
                None => Ok(Vec::new()),
            }
        })
        .await?;
    Ok(web::Json(ListResponse::from_rows(rows, &page, |s| s.id)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateService {
    pub slug: String,
    pub name: String,
    pub category_id: Uuid,
    pub description: Option<String>,
    /// Minor units (kopecks, cents).
    pub price_minor: i64,
    /// ISO 4217, default `RUB`.
    pub currency: Option<String>,
    pub duration_minutes: i32,
    pub preparation: Option<String>,
    pub clinic_ids: Vec<Uuid>,
}

impl CreateService {
    /// The new service's row (version 1) and its distinct clinics.
    fn row(self, tenant_id: Uuid) -> (ServiceRow, Vec<Uuid>) {
        let now = Utc::now();
        let row = ServiceRow {
            id: Uuid::now_v7(),
            tenant_id,
            category_id: self.category_id,
            slug: self.slug,
            name: self.name.trim().to_owned(),
            description: self.description.unwrap_or_default(),
            price_minor: self.price_minor,
            currency: self.currency.unwrap_or_else(|| "RUB".to_owned()),
            duration_minutes: self.duration_minutes,
            preparation: self.preparation.unwrap_or_default(),
            is_active: true,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        (row, clinic::distinct(self.clinic_ids))
    }
}

impl Validate for CreateService {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        rules::slug(&mut errors, "slug", &self.slug);
        rules::text(&mut errors, "name", &self.name, 200);
        if self.price_minor < 0 {
            errors.push(FieldError::new("price_minor", "must not be negative"));
        }
        if !(5..=720).contains(&self.duration_minutes) {
            errors.push(FieldError::new(
                "duration_minutes",
                "must be 5 to 720 minutes",
            ));
        }
        if let Some(currency) = &self.currency {
            if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
                errors.push(FieldError::new(
                    "currency",
                    "must be an ISO 4217 code such as RUB",
                ));
            }
        }
        errors
    }
}

/// Create a service offered at the given clinics.
#[utoipa::path(
    tag = "services",
    request_body = CreateService,
    responses((status = 201, body = Service), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[post("/services")]
pub(super) async fn create_service(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    body: ValidJson<CreateService>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let ((row, clinic_ids), audit) = (body.0.row(ctx.tenant_id), ctx.audit());
    let created = ctx
        .tx(move |conn| catalog::create_service(conn, &audit, &row, &clinic_ids))
        .await?;
    invalidation::data_changed(&state, ctx.tenant_id).await;
    Ok(created_with_etag(
        format!("/api/v1/services/{}", created.id),
        created.version,
        &created,
    ))
}

/// Get a service.
#[utoipa::path(
    tag = "services",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Service), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/services/{id}")]
pub(super) async fn get_service(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let id = path.into_inner();
    let service = ctx
        .read(move |conn| services::find(conn, id)?.ok_or(ApiError::NotFound))
        .await?;
    Ok(ok_with_etag(service.version, &service))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateService {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub category_id: Option<Uuid>,
    pub description: Option<String>,
    pub price_minor: Option<i64>,
    pub currency: Option<String>,
    pub duration_minutes: Option<i32>,
    pub preparation: Option<String>,
    pub is_active: Option<bool>,
    /// Replaces the clinics that offer it.
    pub clinic_ids: Option<Vec<Uuid>>,
}

impl UpdateService {
    /// The columns a PATCH changes and the clinics that replace the current ones.
    fn changes(self) -> (ServiceChanges, Links) {
        let changes = ServiceChanges {
            category_id: self.category_id,
            slug: self.slug,
            name: self.name.map(|name| name.trim().to_owned()),
            description: self.description,
            price_minor: self.price_minor,
            currency: self.currency,
            duration_minutes: self.duration_minutes,
            preparation: self.preparation,
            is_active: self.is_active,
            updated_at: Some(Utc::now()),
        };
        let links = Links {
            clinic_ids: self.clinic_ids.map(clinic::distinct),
            service_ids: None,
        };
        (changes, links)
    }
}

impl Validate for UpdateService {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if let Some(slug) = &self.slug {
            rules::slug(&mut errors, "slug", slug);
        }
        if let Some(name) = &self.name {
            rules::text(&mut errors, "name", name, 200);
        }
        if self.price_minor.is_some_and(|p| p < 0) {
            errors.push(FieldError::new("price_minor", "must not be negative"));
        }
        if self
            .duration_minutes
            .is_some_and(|m| !(5..=720).contains(&m))
        {
            errors.push(FieldError::new(
                "duration_minutes",
                "must be 5 to 720 minutes",
            ));
        }
        if let Some(currency) = &self.currency {
            if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
                errors.push(FieldError::new(
                    "currency",
                    "must be an ISO 4217 code such as RUB",
                ));
            }
        }
        errors
    }
}

/// Change a service (booked appointments keep the price they were booked at).
#[utoipa::path(
    tag = "services",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version being changed")),
    request_body = UpdateService,
    responses((status = 200, body = Service), (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[patch("/services/{id}")]
pub(super) async fn update_service(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<UpdateService>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let (id, (changes, links), audit) = (path.into_inner(), body.0.changes(), ctx.audit());
    let updated = ctx
        .tx(move |conn| catalog::update_service(conn, &audit, id, &if_match, &changes, &links))
        .await?;
    state.slots.forget();
    invalidation::data_changed(&state, ctx.tenant_id).await;
    Ok(ok_with_etag(updated.version, &updated))
}

/// Delete a service (409 while appointments refer to it: deactivate instead).
#[utoipa::path(
    tag = "services",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version being deleted")),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem)),
    security(("bearer" = []))
)]
#[delete("/services/{id}")]
pub(super) async fn delete_service(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let (id, audit) = (path.into_inner(), ctx.audit());
    ctx.tx(move |conn| catalog::delete_service(conn, &audit, id, &if_match))
        .await?;
    invalidation::data_changed(&state, ctx.tenant_id).await;
    Ok(HttpResponse::NoContent().finish())
}
