//! `/api/v1/clinics` and `/api/v1/specializations` for editors, and their
//! public lists under `/api/v1/delivery/sites/{site}/...` for frontends and
//! the renderer. Row-level security confines every query to one tenant.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use chrono::Utc;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::auth::roles::Permission;
use crate::db::clinics::{self, Clinic, ClinicChanges, Specialization};
use crate::error::{ApiError, FieldError, Problem};
use crate::http::etag::{content_etag, json_with_content_etag};
use crate::http::json::{rules, ValidJson, Validate};
use crate::http::pagination::{ListResponse, PageQuery, PageRequest};
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_clinics)
        .service(create_clinic)
        .service(get_clinic)
        .service(update_clinic)
        .service(delete_clinic)
        .service(list_specializations)
        .service(create_specialization)
        .service(delete_specialization)
        .service(public_clinics)
        .service(public_specializations)
        .service(public_clinic_data);
}

/// A public JSON answer with a content ETag (304 on a match) and a short
/// shared cache lifetime, like other delivery responses.
pub fn public_json<T: Serialize>(req: &HttpRequest, body: &T) -> HttpResponse {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let etag = content_etag(&bytes);
    json_with_content_etag(
        req,
        bytes.into(),
        &etag,
        "public, max-age=30, stale-while-revalidate=60",
    )
}

/// Slugs: lowercase letters, digits and dashes.
pub fn slug_rule(errors: &mut Vec<FieldError>, field: &str, value: &str) {
    if cms_shared::slug::parse_slug(value).is_err() {
        errors.push(FieldError::new(
            field,
            "must be 1 to 100 lowercase letters, digits and dashes",
        ));
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClinicBody {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    #[schema(value_type = Option<HashMap<String, serde_json::Value>>)]
    pub working_hours: Option<Value>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// IANA time zone, e.g. `Europe/Moscow`.
    pub time_zone: Option<String>,
    pub is_active: Option<bool>,
}

impl ClinicBody {
    fn check(&self, errors: &mut Vec<FieldError>) {
        if let Some(slug) = &self.slug {
            slug_rule(errors, "slug", slug);
        }
        if let Some(name) = &self.name {
            rules::text(errors, "name", name, 200);
        }
        if let Some(address) = &self.address {
            rules::text(errors, "address", address, 500);
        }
        if let Some(phone) = &self.phone {
            if crate::clinic::normalize_phone(phone).is_none() {
                errors.push(FieldError::new("phone", "must be a phone number"));
            }
        }
        if let Some(email) = &self.email {
            rules::email(errors, "email", email);
        }
        if self
            .working_hours
            .as_ref()
            .is_some_and(|hours| !hours.is_object())
        {
            errors.push(FieldError::new("working_hours", "must be a JSON object"));
        }
        if self.latitude.is_some() != self.longitude.is_some() {
            errors.push(FieldError::new(
                "latitude",
                "latitude and longitude come together",
            ));
        }
        if self.latitude.is_some_and(|v| !(-90.0..=90.0).contains(&v)) {
            errors.push(FieldError::new("latitude", "must be between -90 and 90"));
        }
        if self
            .longitude
            .is_some_and(|v| !(-180.0..=180.0).contains(&v))
        {
            errors.push(FieldError::new("longitude", "must be between -180 and 180"));
        }
        if let Some(zone) = &self.time_zone {
            if zone.parse::<Tz>().is_err() {
                errors.push(FieldError::new(
                    "time_zone",
                    "must be an IANA time zone such as Europe/Moscow",
                ));
            }
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(transparent)]
pub struct CreateClinic(pub ClinicBody);

impl Validate for CreateClinic {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        for (field, missing) in [
            ("slug", self.0.slug.is_none()),
            ("name", self.0.name.is_none()),
            ("time_zone", self.0.time_zone.is_none()),
        ] {
            if missing {
                errors.push(FieldError::new(field, "is required"));
            }
        }
        self.0.check(&mut errors);
        errors
    }
}

impl Validate for ClinicBody {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        self.check(&mut errors);
        errors
    }
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ClinicQuery {
    /// Only active (`true`) or inactive (`false`) clinics.
    pub active: Option<bool>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

fn page_of(limit: Option<i64>, cursor: Option<String>) -> Result<PageRequest, ApiError> {
    PageRequest::try_from(PageQuery { limit, cursor })
}

/// List the tenant's clinics.
#[utoipa::path(
    tag = "clinics",
    params(ClinicQuery),
    responses((status = 200, body = ListResponse<Clinic>), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/clinics")]
async fn list_clinics(
    ctx: TenantCtx,
    query: web::Query<ClinicQuery>,
) -> Result<web::Json<ListResponse<Clinic>>, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let query = query.into_inner();
    let page = page_of(query.limit, query.cursor)?;
    let rows = ctx
        .tx({
            let page = page.clone();
            move |conn| Ok(clinics::list(conn, query.active, &page)?)
        })
        .await?;
    Ok(web::Json(ListResponse::from_rows(rows, &page, |c| c.id)))
}

/// Create a clinic.
#[utoipa::path(
    tag = "clinics",
    request_body = ClinicBody,
    responses((status = 201, body = Clinic), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[post("/clinics")]
async fn create_clinic(
    ctx: TenantCtx,
    body: ValidJson<CreateClinic>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let body = body.0 .0;
    let now = Utc::now();
    let clinic = Clinic {
        id: Uuid::now_v7(),
        tenant_id: ctx.tenant_id,
        slug: body.slug.unwrap_or_default(),
        name: body.name.unwrap_or_default().trim().to_owned(),
        address: body.address.unwrap_or_default(),
        phone: body
            .phone
            .as_deref()
            .and_then(crate::clinic::normalize_phone)
            .unwrap_or_default(),
        email: body.email.unwrap_or_default(),
        working_hours: body
            .working_hours
            .unwrap_or_else(|| Value::Object(Default::default())),
        latitude: body.latitude,
        longitude: body.longitude,
        time_zone: body.time_zone.unwrap_or_default(),
        is_active: body.is_active.unwrap_or(true),
        created_at: now,
        updated_at: now,
    };
    let audit = ctx.audit();
    let clinic = ctx
        .tx(move |conn| {
            let clinic = clinics::insert(conn, &clinic)?;
            audit.created(conn, "clinic", clinic.id, &clinic)?;
            Ok(clinic)
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/clinics/{}", clinic.id)))
        .json(clinic))
}

/// Get a clinic.
#[utoipa::path(
    tag = "clinics",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Clinic), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/clinics/{id}")]
async fn get_clinic(ctx: TenantCtx, path: web::Path<Uuid>) -> Result<web::Json<Clinic>, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let id = path.into_inner();
    let clinic = ctx
        .tx(move |conn| clinics::find(conn, id)?.ok_or(ApiError::NotFound))
        .await?;
    Ok(web::Json(clinic))
}

/// Change a clinic.
#[utoipa::path(
    tag = "clinics",
    params(("id" = Uuid, Path)),
    request_body = ClinicBody,
    responses((status = 200, body = Clinic), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[patch("/clinics/{id}")]
async fn update_clinic(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
    body: ValidJson<ClinicBody>,
) -> Result<web::Json<Clinic>, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let id = path.into_inner();
    let body = body.0;
    let changes = ClinicChanges {
        slug: body.slug,
        name: body.name.map(|name| name.trim().to_owned()),
        address: body.address,
        phone: body
            .phone
            .as_deref()
            .and_then(crate::clinic::normalize_phone),
        email: body.email,
        working_hours: body.working_hours,
        latitude: body.latitude.map(Some),
        longitude: body.longitude.map(Some),
        time_zone: body.time_zone,
        is_active: body.is_active,
        updated_at: Some(Utc::now()),
    };
    let audit = ctx.audit();
    let clinic = ctx
        .tx(move |conn| {
            let before = clinics::find(conn, id)?.ok_or(ApiError::NotFound)?;
            let after = clinics::update(conn, id, &changes)?.ok_or(ApiError::NotFound)?;
            audit.updated(conn, "clinic", id, &before, &after)?;
            Ok(after)
        })
        .await?;
    Ok(web::Json(clinic))
}

/// Delete a clinic (refused while appointments refer to it).
#[utoipa::path(
    tag = "clinics",
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = []))
)]
#[delete("/clinics/{id}")]
async fn delete_clinic(ctx: TenantCtx, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let id = path.into_inner();
    let audit = ctx.audit();
    ctx.tx(move |conn| {
        let before = clinics::find(conn, id)?.ok_or(ApiError::NotFound)?;
        clinics::delete(conn, id)?;
        audit.deleted(conn, "clinic", id, &before)?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSpecialization {
    pub slug: String,
    pub name: String,
    pub description: Option<String>,
    pub icon: Option<String>,
}

impl Validate for CreateSpecialization {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        slug_rule(&mut errors, "slug", &self.slug);
        rules::text(&mut errors, "name", &self.name, 100);
        errors
    }
}

/// List specializations.
#[utoipa::path(
    tag = "clinics",
    responses((status = 200, body = Vec<Specialization>), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/specializations")]
async fn list_specializations(ctx: TenantCtx) -> Result<web::Json<Vec<Specialization>>, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let rows = ctx
        .tx(|conn| Ok(clinics::list_specializations(conn)?))
        .await?;
    Ok(web::Json(rows))
}

/// Create a specialization.
#[utoipa::path(
    tag = "clinics",
    request_body = CreateSpecialization,
    responses((status = 201, body = Specialization), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[post("/specializations")]
async fn create_specialization(
    ctx: TenantCtx,
    body: ValidJson<CreateSpecialization>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let body = body.0;
    let specialization = Specialization {
        id: Uuid::now_v7(),
        tenant_id: ctx.tenant_id,
        slug: body.slug,
        name: body.name.trim().to_owned(),
        description: body.description.unwrap_or_default(),
        icon: body.icon.unwrap_or_default(),
        created_at: Utc::now(),
    };
    let audit = ctx.audit();
    let created = ctx
        .tx(move |conn| {
            let created = clinics::insert_specialization(conn, &specialization)?;
            audit.created(conn, "specialization", created.id, &created)?;
            Ok(created)
        })
        .await?;
    Ok(HttpResponse::Created().json(created))
}

/// Delete a specialization (409 while doctors have it).
#[utoipa::path(
    tag = "clinics",
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = []))
)]
#[delete("/specializations/{id}")]
async fn delete_specialization(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let id = path.into_inner();
    let audit = ctx.audit();
    ctx.tx(move |conn| {
        if clinics::delete_specialization(conn, id)? == 0 {
            return Err(ApiError::NotFound);
        }
        audit.deleted(conn, "specialization", id, &serde_json::json!({"id": id}))?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The site's active clinics, for frontends and the renderer.
#[utoipa::path(
    tag = "delivery",
    params(("site" = Uuid, Path)),
    responses((status = 200, body = Vec<Clinic>), (status = 304), (status = 404, body = Problem))
)]
#[get("/delivery/sites/{site}/clinics")]
async fn public_clinics(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let site = path.into_inner();
    let page = PageRequest {
        limit: 200,
        after: None,
    };
    let rows = state
        .db
        .site_tx(site, move |conn| {
            Ok(clinics::list(conn, Some(true), &page)?)
        })
        .await?;
    Ok(public_json(&req, &serde_json::json!({ "items": rows })))
}

/// The site's specializations.
#[utoipa::path(
    tag = "delivery",
    params(("site" = Uuid, Path)),
    responses((status = 200, body = Vec<Specialization>), (status = 304), (status = 404, body = Problem))
)]
#[get("/delivery/sites/{site}/specializations")]
async fn public_specializations(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let site = path.into_inner();
    let rows = state
        .db
        .site_tx(site, |conn| Ok(clinics::list_specializations(conn)?))
        .await?;
    Ok(public_json(&req, &serde_json::json!({ "items": rows })))
}

/// Everything a landing shows about the site's clinics, in one document the
/// renderer caches: clinics, specializations, service categories, services,
/// doctors (active ones) and the latest published reviews.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClinicData {
    pub clinics: Vec<Clinic>,
    pub specializations: Vec<Specialization>,
    pub categories: Vec<crate::db::services::ServiceCategory>,
    pub services: Vec<crate::db::services::Service>,
    pub doctors: Vec<crate::db::doctors::Doctor>,
    pub reviews: Vec<crate::db::reviews::Review>,
}

/// The site's clinic data for landings (a fixed number of queries).
#[utoipa::path(
    tag = "delivery",
    params(("site" = Uuid, Path)),
    responses((status = 200, body = ClinicData), (status = 304), (status = 404, body = Problem))
)]
#[get("/delivery/sites/{site}/clinic-data")]
async fn public_clinic_data(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    use crate::db::{doctors, reviews, services};
    let site = path.into_inner();
    let data = state
        .db
        .site_tx(site, move |conn| {
            let all = PageRequest {
                limit: 200,
                after: None,
            };
            Ok(ClinicData {
                clinics: clinics::list(conn, Some(true), &all)?,
                specializations: clinics::list_specializations(conn)?,
                categories: services::list_categories(conn)?,
                services: services::list(
                    conn,
                    &services::ServiceFilter {
                        active_only: true,
                        ..Default::default()
                    },
                    &all,
                )?,
                doctors: doctors::list(
                    conn,
                    &doctors::DoctorFilter {
                        active_only: true,
                        ..Default::default()
                    },
                    &all,
                )?,
                reviews: reviews::list(
                    conn,
                    None,
                    true,
                    &PageRequest {
                        limit: 50,
                        after: None,
                    },
                )?,
            })
        })
        .await?;
    Ok(public_json(&req, &data))
}
