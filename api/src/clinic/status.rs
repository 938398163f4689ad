//! The appointment status machine: the statuses and the moves between them,
//! who may make which move (viewers none, patients only a timely
//! cancellation, doctors no payments), and the payment recorded with a
//! payment move.

use chrono::{Duration, Utc};
use diesel::PgConnection;
use uuid::Uuid;

use crate::auth::roles::Role;
use crate::db::appointments::{self, Appointment};
use crate::error::ApiError;

/// Moves the locked appointment `before` to `status` and `payment_status`
/// (`None` keeps the current one) for a member of `role`, patients until
/// `cancel_window` before the start; answers the appointment after.
pub fn change(
    conn: &mut PgConnection,
    role: Role,
    before: &Appointment,
    status: Option<&str>,
    payment_status: Option<&str>,
    cancel_window: Duration,
) -> Result<Appointment, ApiError> {
    if role == Role::Viewer {
        return Err(ApiError::Forbidden(
            "viewers may not change appointments".into(),
        ));
    }
    let patient_pays = payment_status.is_some();
    let status = status.map_or_else(|| before.status.clone(), str::to_owned);
    let payment = payment_status.map_or_else(|| before.payment_status.clone(), str::to_owned);
    if role == Role::Patient {
        if status != "cancelled" || patient_pays {
            return Err(ApiError::Forbidden(
                "patients may only cancel their appointments".into(),
            ));
        }
        if before.starts_at - Utc::now() < cancel_window {
            return Err(ApiError::Conflict(format!(
                "appointments can be cancelled until {} hours before they start",
                cancel_window.num_hours()
            )));
        }
    }
    if status != before.status && !status_move_allowed(&before.status, &status) {
        return Err(ApiError::Conflict(format!(
            "an appointment cannot go from {} to {status}",
            before.status
        )));
    }
    if payment != before.payment_status {
        if role == Role::Doctor {
            return Err(ApiError::Forbidden("doctors do not change payments".into()));
        }
        if !payment_move_allowed(&before.payment_status, &payment) {
            return Err(ApiError::Conflict(format!(
                "a payment cannot go from {} to {payment}",
                before.payment_status
            )));
        }
    }
    let after = appointments::set_status(conn, before.id, &status, &payment)?;
    if payment != before.payment_status {
        appointments::record_payment(
            conn,
            &appointments::Payment {
                id: Uuid::now_v7(),
                tenant_id: before.tenant_id,
                appointment_id: before.id,
                amount_minor: before.price_minor,
                currency: before.currency.clone(),
                status: payment.clone(),
                provider: "manual".into(),
                provider_reference: None,
                created_at: Utc::now(),
            },
        )?;
    }
    Ok(after)
}

/// Appointment statuses.
pub const STATUSES: [&str; 5] = [
    "scheduled",
    "confirmed",
    "completed",
    "cancelled",
    "no_show",
];

/// Whether an appointment may go from `from` to `to`.
pub fn status_move_allowed(from: &str, to: &str) -> bool {
    matches!(
        (from, to),
        ("scheduled", "confirmed" | "cancelled")
            | ("confirmed", "completed" | "cancelled" | "no_show")
    )
}

/// Payment statuses of an appointment.
pub const PAYMENT_STATUSES: [&str; 3] = ["pending", "paid", "refunded"];

/// Whether an appointment's payment may go from `from` to `to`.
pub fn payment_move_allowed(from: &str, to: &str) -> bool {
    matches!((from, to), ("pending", "paid") | ("paid", "refunded"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_documented_status_moves_are_allowed() {
        assert!(status_move_allowed("scheduled", "confirmed"));
        assert!(status_move_allowed("confirmed", "completed"));
        assert!(status_move_allowed("scheduled", "cancelled"));
        assert!(!status_move_allowed("completed", "scheduled"));
        assert!(!status_move_allowed("cancelled", "confirmed"));
        assert!(!status_move_allowed("scheduled", "completed"));
        assert!(payment_move_allowed("pending", "paid"));
        assert!(!payment_move_allowed("refunded", "paid"));
        assert!(!payment_move_allowed("pending", "refunded"));
    }
}
