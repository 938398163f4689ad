//! Changing an appointment's status (confirm, cancel, complete, no-show).

use actix_web::{post, web};
use chrono::{DateTime, Duration, FixedOffset};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::auth::roles::Permission;
use crate::clinic;
use crate::db::appointments::{self, Appointment, AppointmentStatus, PaymentStatus};
use crate::error::{ApiError, FieldError, Problem};
use crate::http::json::{ValidJson, Validate};
use crate::state::AppState;

use super::{is_visible, visible_to};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    /// `confirmed`, `completed`, `cancelled` or `no_show`.
    pub status: Option<AppointmentStatus>,
    /// `paid` or `refunded` (staff only).
    pub payment_status: Option<PaymentStatus>,
}

impl Validate for StatusChange {
    fn validate(&self) -> Vec<FieldError> {
        if self.status.is_none() && self.payment_status.is_none() {
            vec![FieldError::new("status", "give status or payment_status")]
        } else {
            Vec::new()
        }
    }
}

/// Move an appointment through its status machine: `scheduled -> confirmed
/// -> completed | cancelled | no_show` (and `scheduled -> cancelled`),
/// payment `pending -> paid -> refunded`. Patients may only cancel their own,
/// until the cancellation window; doctors change only their own appointments.
#[utoipa::path(
    tag = "appointments",
    params(("id" = Uuid, Path)),
    request_body = StatusChange,
    responses((status = 200, body = Appointment), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[post("/appointments/{id}/status")]
pub(super) async fn change_status(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: ValidJson<StatusChange>,
) -> Result<web::Json<Appointment>, ApiError> {
    let id = path.into_inner();
    let change = body.0;
    let (role, user) = (ctx.role, ctx.user.user_id());
    let window = Duration::hours(state.config.booking_cancel_window_hours);
    let audit = ctx.audit();
    let updated = ctx
        .tx(move |conn| {
            let filter = visible_to(conn, role, user)?.ok_or(ApiError::NotFound)?;
            let before = appointments::lock(conn, id)?
                .filter(|appointment| is_visible(&filter, appointment))
                .ok_or(ApiError::NotFound)?;
            let after = clinic::status::change(
                conn,
                role,
                &before,
                change.status,
                change.payment_status,
                window,
            )?;
            audit.updated(conn, "appointment", id, &before, &after)?;
            Ok(after)
        })
        .await?;
    state.slots.forget();
    Ok(web::Json(updated))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reschedule {
    /// The new start, with its offset: a free slot of the same doctor and service.
    #[schema(value_type = String, format = DateTime)]
    pub start: DateTime<FixedOffset>,
}

impl Validate for Reschedule {
    fn validate(&self) -> Vec<FieldError> {
        Vec::new()
    }
}

/// Move an appointment to another free slot (staff only). Its reminders
/// move with it and the patient is told.
#[utoipa::path(
    tag = "appointments",
    params(("id" = Uuid, Path)),
    request_body = Reschedule,
    responses((status = 200, body = Appointment), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[post("/appointments/{id}/reschedule")]
pub(super) async fn reschedule(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: ValidJson<Reschedule>,
) -> Result<web::Json<Appointment>, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let id = path.into_inner();
    let start = body.0.start;
    let audit = ctx.audit();
    let config = state.config.clone();
    let moved = ctx
        .tx(move |conn| {
            let before = appointments::lock(conn, id)?.ok_or(ApiError::NotFound)?;
            let after = clinic::booking::reschedule(conn, &config, &before, start)?;
            audit.updated(conn, "appointment", id, &before, &after)?;
            Ok(after)
        })
        .await?;
    state.slots.forget();
    Ok(web::Json(moved))
}
