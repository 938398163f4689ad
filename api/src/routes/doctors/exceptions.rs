//! A doctor's schedule exceptions (days off, extra hours): list, add, delete.

use actix_web::{delete, get, post, web, HttpResponse};
use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::auth::roles::Permission;
use crate::db::doctors::{self, ExceptionKind, ScheduleException};
use crate::error::{ApiError, FieldError, Problem};
use crate::http::json::{ValidJson, Validate};
use crate::state::AppState;

use super::parse_time;

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
pub(super) async fn list_exceptions(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
    range: web::Query<ExceptionRange>,
) -> Result<web::Json<Vec<ScheduleException>>, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let doctor = path.into_inner();
    let from = range.from.unwrap_or_else(|| Utc::now().date_naive());
    let to = range.to.unwrap_or(from + chrono::Duration::days(366));
    Ok(web::Json(
        ctx.read(move |conn| {
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
    pub kind: ExceptionKind,
    pub reason: Option<String>,
}

impl Validate for ExceptionBody {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let extra = self.kind == ExceptionKind::Extra;
        // A doctor works an extra shift in one place.
        if extra && self.clinic_id.is_none() {
            errors.push(FieldError::new(
                "clinic_id",
                "an extra shift needs the clinic it is worked at",
            ));
        }
        match (&self.start, &self.end) {
            (None, None) if extra => errors.push(FieldError::new(
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
pub(super) async fn add_exception(
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

/// Remove a schedule exception.
#[utoipa::path(
    tag = "doctors",
    params(("id" = Uuid, Path), ("exception" = Uuid, Path)),
    responses((status = 204), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[delete("/doctors/{id}/exceptions/{exception}")]
pub(super) async fn delete_exception(
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
