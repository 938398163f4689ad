//! A doctor's weekly schedule: read it and replace it whole.

use actix_web::{get, put, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::auth::roles::Permission;
use crate::db::doctors::{self, ScheduleShift};
use crate::error::{ApiError, FieldError, Problem};
use crate::http::json::{ValidJson, Validate};
use crate::state::AppState;

use super::parse_time;

/// The doctor's weekly schedule.
#[utoipa::path(
    tag = "doctors",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<ScheduleShift>), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/doctors/{id}/schedule")]
pub(super) async fn get_schedule(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
) -> Result<web::Json<Vec<ScheduleShift>>, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let id = path.into_inner();
    Ok(web::Json(
        ctx.read(move |conn| {
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
pub(super) async fn put_schedule(
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
