//! Changing an appointment's status (confirm, cancel, complete, no-show).

use actix_web::{post, web};
use chrono::{Duration, Utc};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::auth::roles::Role;
use crate::clinic;
use crate::db::appointments::{self, Appointment};
use crate::error::{ApiError, FieldError, Problem};
use crate::http::json::{ValidJson, Validate};
use crate::state::AppState;

use super::{is_visible, visible_to};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    /// `confirmed`, `completed`, `cancelled` or `no_show`.
    pub status: Option<String>,
    /// `paid` or `refunded` (staff only).
    pub payment_status: Option<String>,
}

impl Validate for StatusChange {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if self.status.is_none() && self.payment_status.is_none() {
            errors.push(FieldError::new("status", "give status or payment_status"));
        }
        if let Some(status) = &self.status {
            if !clinic::STATUSES.contains(&status.as_str()) {
                errors.push(FieldError::new(
                    "status",
                    "must be scheduled, confirmed, completed, cancelled or no_show",
                ));
            }
        }
        if let Some(status) = &self.payment_status {
            if !clinic::PAYMENT_STATUSES.contains(&status.as_str()) {
                errors.push(FieldError::new(
                    "payment_status",
                    "must be pending, paid or refunded",
                ));
            }
        }
        errors
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
            if role == Role::Viewer {
                return Err(ApiError::Forbidden(
                    "viewers may not change appointments".into(),
                ));
            }
            let status = change
                .status
                .clone()
                .unwrap_or_else(|| before.status.clone());
            let payment = change
                .payment_status
                .clone()
                .unwrap_or_else(|| before.payment_status.clone());
            if role == Role::Patient {
                if status != "cancelled" || change.payment_status.is_some() {
                    return Err(ApiError::Forbidden(
                        "patients may only cancel their appointments".into(),
                    ));
                }
                if before.starts_at - Utc::now() < window {
                    return Err(ApiError::Conflict(format!(
                        "appointments can be cancelled until {} hours before they start",
                        window.num_hours()
                    )));
                }
            }
            if status != before.status && !clinic::status_move_allowed(&before.status, &status) {
                return Err(ApiError::Conflict(format!(
                    "an appointment cannot go from {} to {status}",
                    before.status
                )));
            }
            if payment != before.payment_status {
                if role == Role::Doctor {
                    return Err(ApiError::Forbidden("doctors do not change payments".into()));
                }
                if !clinic::payment_move_allowed(&before.payment_status, &payment) {
                    return Err(ApiError::Conflict(format!(
                        "a payment cannot go from {} to {payment}",
                        before.payment_status
                    )));
                }
            }
            let after = appointments::set_status(conn, id, &status, &payment)?;
            if payment != before.payment_status {
                appointments::record_payment(
                    conn,
                    &appointments::Payment {
                        id: Uuid::now_v7(),
                        tenant_id: before.tenant_id,
                        appointment_id: id,
                        amount_minor: before.price_minor,
                        currency: before.currency.clone(),
                        status: payment.clone(),
                        provider: "manual".into(),
                        provider_reference: None,
                        created_at: Utc::now(),
                    },
                )?;
            }
            audit.updated(conn, "appointment", id, &before, &after)?;
            Ok(after)
        })
        .await?;
    state.slots.forget();
    Ok(web::Json(updated))
}
