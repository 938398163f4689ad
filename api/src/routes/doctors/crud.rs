//! Doctors: list, create, read, update and delete, with their clinic and
//! service links.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::Utc;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::auth::roles::Permission;
use crate::clinic::catalog::{self, Links};
use crate::clinic::{self, invalidation};
use crate::db::doctors::{self, Doctor, DoctorChanges, DoctorRow};
use crate::error::{ApiError, FieldError, Problem};
use crate::http::etag::{created_with_etag, ok_with_etag, IfMatch};
use crate::http::json::{rules, ValidJson, Validate};
use crate::http::pagination::ListResponse;
use crate::state::AppState;

use super::{filter_from, page_of, DoctorQuery};

/// List doctors (a fixed number of queries whatever the page size).
#[utoipa::path(
    tag = "doctors",
    params(DoctorQuery),
    responses((status = 200, body = ListResponse<Doctor>), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[get("/doctors")]
pub(super) async fn list_doctors(
    ctx: TenantCtx,
    query: web::Query<DoctorQuery>,
) -> Result<web::Json<ListResponse<Doctor>>, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let query = query.into_inner();
    let page = page_of(&query)?;
    let rows = ctx
        .read({
            let page = page.clone();
            move |conn| match filter_from(conn, &query, false)? {
                Some(filter) => Ok(doctors::list(conn, &filter, &page)?),
                None => Ok(Vec::new()),
            }
        })
        .await?;
    Ok(web::Json(ListResponse::from_rows(rows, &page, |d| d.id)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDoctor {
    pub slug: String,
    pub name: String,
    pub specialization_id: Uuid,
    /// The doctor's own account in this tenant (role `doctor`), if any.
    pub user_id: Option<Uuid>,
    pub photo: Option<String>,
    /// A media of the tenant's library shown as the doctor's photo.
    pub photo_media_id: Option<Uuid>,
    pub bio: Option<String>,
    pub experience_years: Option<i32>,
    pub education: Option<String>,
    #[schema(value_type = Option<Vec<HashMap<String, serde_json::Value>>>)]
    pub certificates: Option<Value>,
    pub consultation_price_minor: Option<i64>,
    pub clinic_ids: Vec<Uuid>,
    pub service_ids: Vec<Uuid>,
}

impl CreateDoctor {
    /// The new doctor's row (version 1), distinct clinics and services.
    fn row(self, tenant_id: Uuid) -> (DoctorRow, Vec<Uuid>, Vec<Uuid>) {
        let now = Utc::now();
        let row = DoctorRow {
            id: Uuid::now_v7(),
            tenant_id,
            user_id: self.user_id,
            specialization_id: self.specialization_id,
            slug: self.slug,
            name: self.name.trim().to_owned(),
            photo: self.photo,
            photo_media_id: self.photo_media_id,
            bio: self.bio.unwrap_or_default(),
            experience_years: self.experience_years.unwrap_or(0),
            education: self.education.unwrap_or_default(),
            certificates: self
                .certificates
                .unwrap_or_else(|| Value::Array(Vec::new())),
            consultation_price_minor: self.consultation_price_minor,
            rating_total: 0,
            reviews_count: 0,
            is_active: true,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        (
            row,
            clinic::distinct(self.clinic_ids),
            clinic::distinct(self.service_ids),
        )
    }
}

impl Validate for CreateDoctor {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        rules::slug(&mut errors, "slug", &self.slug);
        rules::text(&mut errors, "name", &self.name, 200);
        if self
            .experience_years
            .is_some_and(|years| !(0..=80).contains(&years))
        {
            errors.push(FieldError::new("experience_years", "must be 0 to 80"));
        }
        if self.consultation_price_minor.is_some_and(|p| p < 0) {
            errors.push(FieldError::new(
                "consultation_price_minor",
                "must not be negative",
            ));
        }
        if self
            .certificates
            .as_ref()
            .is_some_and(|value| !value.is_array())
        {
            errors.push(FieldError::new("certificates", "must be an array"));
        }
        if self.clinic_ids.is_empty() {
            errors.push(FieldError::new(
                "clinic_ids",
                "must name at least one clinic",
            ));
        }
        errors
    }
}

/// Create a doctor working at the given clinics and offering the given services.
#[utoipa::path(
    tag = "doctors",
    request_body = CreateDoctor,
    responses((status = 201, body = Doctor), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[post("/doctors")]
pub(super) async fn create_doctor(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    body: ValidJson<CreateDoctor>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let ((row, clinic_ids, service_ids), audit) = (body.0.row(ctx.tenant_id), ctx.audit());
    let created = ctx
        .tx(move |conn| catalog::create_doctor(conn, &audit, &row, &clinic_ids, &service_ids))
        .await?;
    invalidation::data_changed(&state, ctx.tenant_id).await;
    Ok(created_with_etag(
        format!("/api/v1/doctors/{}", created.id),
        created.version,
        &created,
    ))
}

/// Get a doctor.
#[utoipa::path(
    tag = "doctors",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Doctor), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/doctors/{id}")]
pub(super) async fn get_doctor(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let id = path.into_inner();
    let doctor = ctx
        .read(move |conn| doctors::find(conn, id)?.ok_or(ApiError::NotFound))
        .await?;
    Ok(ok_with_etag(doctor.version, &doctor))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateDoctor {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub specialization_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub photo: Option<String>,
    /// A media of the tenant's library as the photo, or `null` for none.
    #[serde(default, deserialize_with = "crate::http::json::present")]
    #[schema(value_type = Option<Uuid>)]
    pub photo_media_id: Option<Option<Uuid>>,
    pub bio: Option<String>,
    pub experience_years: Option<i32>,
    pub education: Option<String>,
    #[schema(value_type = Option<Vec<HashMap<String, serde_json::Value>>>)]
    pub certificates: Option<Value>,
    pub consultation_price_minor: Option<i64>,
    pub is_active: Option<bool>,
    /// Replaces the doctor's clinics.
    pub clinic_ids: Option<Vec<Uuid>>,
    /// Replaces the services the doctor offers.
    pub service_ids: Option<Vec<Uuid>>,
}

impl UpdateDoctor {
    /// The columns a PATCH changes and the links that replace the current ones.
    fn changes(self) -> (DoctorChanges, Links) {
        let changes = DoctorChanges {
            specialization_id: self.specialization_id,
            user_id: self.user_id.map(Some),
            slug: self.slug,
            name: self.name.map(|name| name.trim().to_owned()),
            photo: self.photo.map(Some),
            photo_media_id: self.photo_media_id,
            bio: self.bio,
            experience_years: self.experience_years,
            education: self.education,
            certificates: self.certificates,
            consultation_price_minor: self.consultation_price_minor.map(Some),
            is_active: self.is_active,
            updated_at: Some(Utc::now()),
        };
        let links = Links {
            clinic_ids: self.clinic_ids.map(clinic::distinct),
            service_ids: self.service_ids.map(clinic::distinct),
        };
        (changes, links)
    }
}

impl Validate for UpdateDoctor {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if let Some(slug) = &self.slug {
            rules::slug(&mut errors, "slug", slug);
        }
        if let Some(name) = &self.name {
            rules::text(&mut errors, "name", name, 200);
        }
        if self
            .experience_years
            .is_some_and(|years| !(0..=80).contains(&years))
        {
            errors.push(FieldError::new("experience_years", "must be 0 to 80"));
        }
        if self.consultation_price_minor.is_some_and(|p| p < 0) {
            errors.push(FieldError::new(
                "consultation_price_minor",
                "must not be negative",
            ));
        }
        if self.certificates.as_ref().is_some_and(|v| !v.is_array()) {
            errors.push(FieldError::new("certificates", "must be an array"));
        }
        if self.clinic_ids.as_ref().is_some_and(Vec::is_empty) {
            errors.push(FieldError::new(
                "clinic_ids",
                "must name at least one clinic",
            ));
        }
        errors
    }
}

/// Change a doctor (links to clinics and services are replaced when given).
#[utoipa::path(
    tag = "doctors",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version being changed")),
    request_body = UpdateDoctor,
    responses((status = 200, body = Doctor), (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[patch("/doctors/{id}")]
pub(super) async fn update_doctor(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<UpdateDoctor>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let (id, (changes, links), audit) = (path.into_inner(), body.0.changes(), ctx.audit());
    let updated = ctx
        .tx(move |conn| catalog::update_doctor(conn, &audit, id, &if_match, &changes, &links))
        .await?;
    state.slots.forget();
    invalidation::data_changed(&state, ctx.tenant_id).await;
    Ok(ok_with_etag(updated.version, &updated))
}

/// Delete a doctor (refused with 409 while appointments refer to them:
/// deactivate with `is_active: false` instead).
#[utoipa::path(
    tag = "doctors",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version being deleted")),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem)),
    security(("bearer" = []))
)]
#[delete("/doctors/{id}")]
pub(super) async fn delete_doctor(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let (id, audit) = (path.into_inner(), ctx.audit());
    ctx.tx(move |conn| catalog::delete_doctor(conn, &audit, id, &if_match))
        .await?;
    state.slots.forget();
    invalidation::data_changed(&state, ctx.tenant_id).await;
    Ok(HttpResponse::NoContent().finish())
}
