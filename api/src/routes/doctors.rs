//! `/api/v1/doctors` with their weekly schedule and its exceptions, for
//! editors; the public doctor list and detail (with published reviews) under
//! `/api/v1/delivery/sites/{site}/doctors`. Filters take an id or a slug.

use actix_web::{delete, get, patch, post, put, web, HttpRequest, HttpResponse};
use chrono::{NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::clinics::{public_json, slug_rule};
use crate::auth::extract::TenantCtx;
use crate::auth::roles::Permission;
use crate::db::doctors::{
    self, Doctor, DoctorChanges, DoctorFilter, DoctorRow, ScheduleException, ScheduleShift,
};
use crate::db::reviews::{self, Review};
use crate::db::{clinics, services};
use crate::error::{ApiError, FieldError, Problem};
use crate::http::json::{rules, ValidJson, Validate};
use crate::http::pagination::{ListResponse, PageQuery, PageRequest};
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_doctors)
        .service(create_doctor)
        .service(get_doctor)
        .service(get_schedule)
        .service(put_schedule)
        .service(add_exception)
        .service(list_exceptions)
        .service(update_doctor)
        .service(delete_doctor)
        .service(delete_exception)
        .service(public_doctors)
        .service(public_doctor);
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct DoctorQuery {
    /// A specialization id or slug (`cardiology`).
    pub specialization: Option<String>,
    /// A clinic id or slug.
    pub clinic: Option<String>,
    /// A service id or slug.
    pub service: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

fn filter_from(
    conn: &mut diesel::PgConnection,
    query: &DoctorQuery,
    active_only: bool,
) -> Result<Option<DoctorFilter>, ApiError> {
    let mut filter = DoctorFilter {
        active_only,
        ..DoctorFilter::default()
    };
    if let Some(key) = &query.specialization {
        match clinics::resolve_specialization(conn, key)? {
            Some(id) => filter.specialization = Some(id),
            None => return Ok(None),
        }
    }
    if let Some(key) = &query.clinic {
        match clinics::resolve(conn, key)? {
            Some(id) => filter.clinic = Some(id),
            None => return Ok(None),
        }
    }
    if let Some(key) = &query.service {
        match services::resolve(conn, key)? {
            Some(id) => filter.service = Some(id),
            None => return Ok(None),
        }
    }
    Ok(Some(filter))
}

/// Ids as a set: a repeated id links once.
pub fn distinct(mut ids: Vec<Uuid>) -> Vec<Uuid> {
    ids.sort();
    ids.dedup();
    ids
}

fn page_of(query: &DoctorQuery) -> Result<PageRequest, ApiError> {
    PageRequest::try_from(PageQuery {
        limit: query.limit,
        cursor: query.cursor.clone(),
    })
}

/// List doctors (a fixed number of queries whatever the page size).
#[utoipa::path(
    tag = "doctors",
    params(DoctorQuery),
    responses((status = 200, body = ListResponse<Doctor>), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[get("/doctors")]
async fn list_doctors(
    ctx: TenantCtx,
    query: web::Query<DoctorQuery>,
) -> Result<web::Json<ListResponse<Doctor>>, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let query = query.into_inner();
    let page = page_of(&query)?;
    let rows = ctx
        .tx({
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
    pub bio: Option<String>,
    pub experience_years: Option<i32>,
    pub education: Option<String>,
    #[schema(value_type = Option<Vec<HashMap<String, serde_json::Value>>>)]
    pub certificates: Option<Value>,
    pub consultation_price_minor: Option<i64>,
    pub clinic_ids: Vec<Uuid>,
    pub service_ids: Vec<Uuid>,
}

impl Validate for CreateDoctor {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        slug_rule(&mut errors, "slug", &self.slug);
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
async fn create_doctor(
    ctx: TenantCtx,
    body: ValidJson<CreateDoctor>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let body = body.0;
    let now = Utc::now();
    let row = DoctorRow {
        id: Uuid::now_v7(),
        tenant_id: ctx.tenant_id,
        user_id: body.user_id,
        specialization_id: body.specialization_id,
        slug: body.slug,
        name: body.name.trim().to_owned(),
        photo: body.photo,
        bio: body.bio.unwrap_or_default(),
        experience_years: body.experience_years.unwrap_or(0),
        education: body.education.unwrap_or_default(),
        certificates: body
            .certificates
            .unwrap_or_else(|| Value::Array(Vec::new())),
        consultation_price_minor: body.consultation_price_minor,
        rating_total: 0,
        reviews_count: 0,
        is_active: true,
        created_at: now,
        updated_at: now,
    };
    let (clinic_ids, service_ids) = (distinct(body.clinic_ids), distinct(body.service_ids));
    let audit = ctx.audit();
    let created = ctx
        .tx(move |conn| {
            if clinics::resolve_specialization(conn, &row.specialization_id.to_string())?.is_none()
            {
                return Err(ApiError::invalid(
                    "specialization_id",
                    "is not a specialization",
                ));
            }
            if clinics::find_many(conn, &clinic_ids)?.len() != clinic_ids.len() {
                return Err(ApiError::invalid("clinic_ids", "names an unknown clinic"));
            }
            if services::count_existing(conn, &service_ids)? != service_ids.len() {
                return Err(ApiError::invalid("service_ids", "names an unknown service"));
            }
            let created = doctors::insert(conn, &row, &clinic_ids, &service_ids)?;
            audit.created(conn, "doctor", created.id, &created)?;
            Ok(created)
        })
        .await?;
    Ok(HttpResponse::Created().json(created))
}

/// Get a doctor.
#[utoipa::path(
    tag = "doctors",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Doctor), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/doctors/{id}")]
async fn get_doctor(ctx: TenantCtx, path: web::Path<Uuid>) -> Result<web::Json<Doctor>, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let id = path.into_inner();
    Ok(web::Json(
        ctx.tx(move |conn| doctors::find(conn, id)?.ok_or(ApiError::NotFound))
            .await?,
    ))
}

/// The doctor's weekly schedule.
#[utoipa::path(
    tag = "doctors",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<ScheduleShift>), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/doctors/{id}/schedule")]
async fn get_schedule(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
) -> Result<web::Json<Vec<ScheduleShift>>, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let id = path.into_inner();
    Ok(web::Json(
        ctx.tx(move |conn| {
            doctors::find(conn, id)?.ok_or(ApiError::NotFound)?;
            Ok(doctors::schedule(conn, id)?)
        })
        .await?,
    ))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShiftBody {
    pub clinic_id: Uuid,
    /// ISO weekday: 1 = Monday ... 7 = Sunday.
    pub day_of_week: i32,
    /// `HH:MM` local time of the clinic.
    pub start: String,
    pub end: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleBody {
    /// The whole week; a day with a break is two shifts.
    pub shifts: Vec<ShiftBody>,
}

fn parse_time(value: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(value, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(value, "%H:%M:%S"))
        .ok()
}

impl Validate for ScheduleBody {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        for (index, shift) in self.shifts.iter().enumerate() {
            if !(1..=7).contains(&shift.day_of_week) {
                errors.push(FieldError::new(
                    &format!("shifts.{index}.day_of_week"),
                    "must be 1 (Monday) to 7 (Sunday)",
                ));
            }
            match (parse_time(&shift.start), parse_time(&shift.end)) {
                (Some(start), Some(end)) if start < end => {}
                (None, _) => errors.push(FieldError::new(
                    &format!("shifts.{index}.start"),
                    "must be a time HH:MM",
                )),
                (_, None) => errors.push(FieldError::new(
                    &format!("shifts.{index}.end"),
                    "must be a time HH:MM",
                )),
                _ => errors.push(FieldError::new(
                    &format!("shifts.{index}.end"),
                    "must be after start",
                )),
            }
        }
        // A doctor is in one place at a time: shifts of a day may not overlap.
        for (index, shift) in self.shifts.iter().enumerate() {
            let overlaps = self.shifts[..index].iter().any(|other| {
                other.day_of_week == shift.day_of_week
                    && match (
                        parse_time(&shift.start),
                        parse_time(&shift.end),
                        parse_time(&other.start),
                        parse_time(&other.end),
                    ) {
                        (Some(start), Some(end), Some(other_start), Some(other_end)) => {
                            start < other_end && other_start < end
                        }
                        _ => false,
                    }
            });
            if overlaps {
                errors.push(FieldError::new(
                    &format!("shifts.{index}.start"),
                    "overlaps another shift of the same day",
                ));
            }
        }
        errors
    }
}

/// Replace the doctor's weekly schedule.
#[utoipa::path(
    tag = "doctors",
    params(("id" = Uuid, Path)),
    request_body = ScheduleBody,
    responses((status = 200, body = Vec<ScheduleShift>), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[put("/doctors/{id}/schedule")]
async fn put_schedule(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: ValidJson<ScheduleBody>,
) -> Result<web::Json<Vec<ScheduleShift>>, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let doctor = path.into_inner();
    let tenant_id = ctx.tenant_id;
    let shifts: Vec<ScheduleShift> = body
        .0
        .shifts
        .iter()
        .filter_map(|shift| {
            Some(ScheduleShift {
                id: Uuid::now_v7(),
                tenant_id,
                doctor_id: doctor,
                clinic_id: shift.clinic_id,
                day_of_week: shift.day_of_week,
                start_time: parse_time(&shift.start)?,
                end_time: parse_time(&shift.end)?,
                is_active: true,
            })
        })
        .collect();
    let audit = ctx.audit();
    let saved = ctx
        .tx(move |conn| {
            let found = doctors::find(conn, doctor)?.ok_or(ApiError::NotFound)?;
            for (index, shift) in shifts.iter().enumerate() {
                if !found.clinic_ids.contains(&shift.clinic_id) {
                    return Err(ApiError::invalid(
                        &format!("shifts.{index}.clinic_id"),
                        "is not a clinic of this doctor",
                    ));
                }
            }
            let before = doctors::schedule(conn, doctor)?;
            let after = doctors::replace_schedule(conn, doctor, &shifts)?;
            audit.updated(conn, "doctor_schedule", doctor, &before, &after)?;
            Ok(after)
        })
        .await?;
    state.slots.forget();
    Ok(web::Json(saved))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ExceptionRange {
    /// First date (default today).
    pub from: Option<NaiveDate>,
    /// Last date (default a year after `from`).
    pub to: Option<NaiveDate>,
}

/// The doctor's schedule exceptions between two dates.
#[utoipa::path(
    tag = "doctors",
    params(("id" = Uuid, Path), ExceptionRange),
    responses((status = 200, body = Vec<ScheduleException>), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/doctors/{id}/exceptions")]
async fn list_exceptions(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
    range: web::Query<ExceptionRange>,
) -> Result<web::Json<Vec<ScheduleException>>, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let doctor = path.into_inner();
    let from = range.from.unwrap_or_else(|| Utc::now().date_naive());
    let to = range.to.unwrap_or(from + chrono::Duration::days(366));
    Ok(web::Json(
        ctx.tx(move |conn| {
            doctors::find(conn, doctor)?.ok_or(ApiError::NotFound)?;
            Ok(doctors::exceptions(conn, doctor, from, to)?)
        })
        .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExceptionBody {
    /// `null`: every clinic of the doctor.
    pub clinic_id: Option<Uuid>,
    pub date: NaiveDate,
    /// Both or neither; neither means the whole day.
    pub start: Option<String>,
    pub end: Option<String>,
    /// `off` (vacation, sick day) or `extra` (an additional shift).
    pub kind: String,
    pub reason: Option<String>,
}

impl Validate for ExceptionBody {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if self.kind != "off" && self.kind != "extra" {
            errors.push(FieldError::new("kind", "must be off or extra"));
        }
        // A doctor works an extra shift in one place.
        if self.kind == "extra" && self.clinic_id.is_none() {
            errors.push(FieldError::new(
                "clinic_id",
                "an extra shift needs the clinic it is worked at",
            ));
        }
        match (&self.start, &self.end) {
            (None, None) if self.kind == "extra" => errors.push(FieldError::new(
                "start",
                "an extra shift needs start and end",
            )),
            (None, None) => {}
            (Some(start), Some(end)) => match (parse_time(start), parse_time(end)) {
                (Some(start), Some(end)) if start < end => {}
                _ => errors.push(FieldError::new(
                    "end",
                    "start and end must be times HH:MM with end after start",
                )),
            },
            _ => errors.push(FieldError::new("end", "start and end come together")),
        }
        errors
    }
}

/// Add a schedule exception (a day off, part of a day off, an extra shift).
#[utoipa::path(
    tag = "doctors",
    params(("id" = Uuid, Path)),
    request_body = ExceptionBody,
    responses((status = 201, body = ScheduleException), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[post("/doctors/{id}/exceptions")]
async fn add_exception(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: ValidJson<ExceptionBody>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let doctor = path.into_inner();
    let body = body.0;
    let exception = ScheduleException {
        id: Uuid::now_v7(),
        tenant_id: ctx.tenant_id,
        doctor_id: doctor,
        clinic_id: body.clinic_id,
        date: body.date,
        start_time: body.start.as_deref().and_then(parse_time),
        end_time: body.end.as_deref().and_then(parse_time),
        kind: body.kind,
        reason: body.reason.unwrap_or_default(),
    };
    let audit = ctx.audit();
    let created = ctx
        .tx(move |conn| {
            let found = doctors::find(conn, doctor)?.ok_or(ApiError::NotFound)?;
            if exception
                .clinic_id
                .is_some_and(|clinic| !found.clinic_ids.contains(&clinic))
            {
                return Err(ApiError::invalid(
                    "clinic_id",
                    "is not a clinic of this doctor",
                ));
            }
            let created = doctors::insert_exception(conn, &exception)?;
            audit.created(conn, "schedule_exception", created.id, &created)?;
            Ok(created)
        })
        .await?;
    state.slots.forget();
    Ok(HttpResponse::Created().json(created))
}

/// The site's active doctors, with the same filters as the editor list.
#[utoipa::path(
    tag = "delivery",
    params(("site" = Uuid, Path), DoctorQuery),
    responses((status = 200, body = ListResponse<Doctor>), (status = 304), (status = 404, body = Problem))
)]
#[get("/delivery/sites/{site}/doctors")]
async fn public_doctors(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    query: web::Query<DoctorQuery>,
) -> Result<HttpResponse, ApiError> {
    let site = path.into_inner();
    let query = query.into_inner();
    let page = page_of(&query)?;
    let rows = state
        .db
        .site_tx(site, {
            let page = page.clone();
            move |conn| match filter_from(conn, &query, true)? {
                Some(filter) => Ok(doctors::list(conn, &filter, &page)?),
                None => Ok(Vec::new()),
            }
        })
        .await?;
    Ok(public_json(
        &req,
        &ListResponse::from_rows(rows, &page, |d| d.id),
    ))
}

/// A doctor with their latest published reviews.
#[derive(Debug, Serialize, ToSchema)]
pub struct DoctorDetail {
    #[serde(flatten)]
    pub doctor: Doctor,
    pub reviews: Vec<Review>,
}

/// One doctor (by id or slug) with published reviews.
#[utoipa::path(
    tag = "delivery",
    params(("site" = Uuid, Path), ("doctor" = String, Path, description = "id or slug")),
    responses((status = 200, body = DoctorDetail), (status = 304), (status = 404, body = Problem))
)]
#[get("/delivery/sites/{site}/doctors/{doctor}")]
async fn public_doctor(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, String)>,
) -> Result<HttpResponse, ApiError> {
    let (site, key) = path.into_inner();
    let detail = state
        .db
        .site_tx(site, move |conn| {
            let id = doctors::resolve(conn, &key)?.ok_or(ApiError::NotFound)?;
            let doctor = doctors::find(conn, id)?
                .filter(|doctor| doctor.is_active)
                .ok_or(ApiError::NotFound)?;
            let page = PageRequest {
                limit: 20,
                after: None,
            };
            let reviews = reviews::list(conn, Some(id), true, &page)?;
            Ok(DoctorDetail { doctor, reviews })
        })
        .await?;
    Ok(public_json(&req, &detail))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateDoctor {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub specialization_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub photo: Option<String>,
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

impl Validate for UpdateDoctor {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if let Some(slug) = &self.slug {
            slug_rule(&mut errors, "slug", slug);
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
    params(("id" = Uuid, Path)),
    request_body = UpdateDoctor,
    responses((status = 200, body = Doctor), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[patch("/doctors/{id}")]
async fn update_doctor(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: ValidJson<UpdateDoctor>,
) -> Result<web::Json<Doctor>, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let id = path.into_inner();
    let body = body.0;
    let changes = DoctorChanges {
        specialization_id: body.specialization_id,
        user_id: body.user_id.map(Some),
        slug: body.slug,
        name: body.name.map(|name| name.trim().to_owned()),
        photo: body.photo.map(Some),
        bio: body.bio,
        experience_years: body.experience_years,
        education: body.education,
        certificates: body.certificates,
        consultation_price_minor: body.consultation_price_minor.map(Some),
        is_active: body.is_active,
        updated_at: Some(Utc::now()),
    };
    let (clinic_ids, service_ids) = (
        body.clinic_ids.map(distinct),
        body.service_ids.map(distinct),
    );
    let audit = ctx.audit();
    let updated = ctx
        .tx(move |conn| {
            let before = doctors::find(conn, id)?.ok_or(ApiError::NotFound)?;
            if let Some(specialization) = changes.specialization_id {
                if clinics::resolve_specialization(conn, &specialization.to_string())?.is_none() {
                    return Err(ApiError::invalid(
                        "specialization_id",
                        "is not a specialization",
                    ));
                }
            }
            if let Some(ids) = &clinic_ids {
                if clinics::find_many(conn, ids)?.len() != ids.len() {
                    return Err(ApiError::invalid("clinic_ids", "names an unknown clinic"));
                }
            }
            if let Some(ids) = &service_ids {
                if services::count_existing(conn, ids)? != ids.len() {
                    return Err(ApiError::invalid("service_ids", "names an unknown service"));
                }
            }
            let after = doctors::update(
                conn,
                id,
                &changes,
                clinic_ids.as_deref(),
                service_ids.as_deref(),
            )?
            .ok_or(ApiError::NotFound)?;
            audit.updated(conn, "doctor", id, &before, &after)?;
            Ok(after)
        })
        .await?;
    state.slots.forget();
    Ok(web::Json(updated))
}

/// Delete a doctor (refused with 409 while appointments refer to them:
/// deactivate with `is_active: false` instead).
#[utoipa::path(
    tag = "doctors",
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = []))
)]
#[delete("/doctors/{id}")]
async fn delete_doctor(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let id = path.into_inner();
    let audit = ctx.audit();
    ctx.tx(move |conn| {
        let before = doctors::find(conn, id)?.ok_or(ApiError::NotFound)?;
        doctors::delete(conn, id)?;
        audit.deleted(conn, "doctor", id, &before)?;
        Ok(())
    })
    .await?;
    state.slots.forget();
    Ok(HttpResponse::NoContent().finish())
}

/// Remove a schedule exception.
#[utoipa::path(
    tag = "doctors",
    params(("id" = Uuid, Path), ("exception" = Uuid, Path)),
    responses((status = 204), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[delete("/doctors/{id}/exceptions/{exception}")]
async fn delete_exception(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let (doctor, exception) = path.into_inner();
    let audit = ctx.audit();
    ctx.tx(move |conn| {
        if doctors::delete_exception(conn, doctor, exception)? == 0 {
            return Err(ApiError::NotFound);
        }
        audit.deleted(
            conn,
            "schedule_exception",
            exception,
            &serde_json::json!({"doctor_id": doctor}),
        )?;
        Ok(())
    })
    .await?;
    state.slots.forget();
    Ok(HttpResponse::NoContent().finish())
}
