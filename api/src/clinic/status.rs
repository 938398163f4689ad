//! The appointment status machine: the statuses and the moves between them,
//! who may make which move (viewers none, patients only a timely
//! cancellation, doctors no payments), and the payment recorded with a
//! payment move.

use chrono::{Duration, Utc};
use diesel::PgConnection;
use uuid::Uuid;

use crate::auth::roles::Role;
use crate::db::appointments::{self, Appointment, AppointmentStatus, PaymentStatus};
use crate::error::ApiError;

/// Moves the locked appointment `before` to `status` and `payment_status`
/// (`None` keeps the current one) for a member of `role`, patients until
/// `cancel_window` before the start; answers the appointment after.
pub fn change(
    conn: &mut PgConnection,
    role: Role,
    before: &Appointment,
    status: Option<AppointmentStatus>,
    payment_status: Option<PaymentStatus>,
    cancel_window: Duration,
) -> Result<Appointment, ApiError> {
    if role == Role::Viewer {
        return Err(ApiError::Forbidden(
            "viewers may not change appointments".into(),
        ));
    }
    let patient_pays = payment_status.is_some();
    let status = status.unwrap_or(before.status);
    let payment = payment_status.unwrap_or(before.payment_status);
    if role == Role::Patient {
        if status != AppointmentStatus::Cancelled || patient_pays {
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
    if status != before.status && !status_move_allowed(before.status, status) {
        return Err(ApiError::Conflict(format!(
            "an appointment cannot go from {} to {status}",
            before.status
        )));
    }
    if payment != before.payment_status {
        if role == Role::Doctor {
            return Err(ApiError::Forbidden("doctors do not change payments".into()));
        }
        if !payment_move_allowed(before.payment_status, payment) {
            return Err(ApiError::Conflict(format!(
                "a payment cannot go from {} to {payment}",
                before.payment_status
            )));
        }
    }
    let after = appointments::set_status(conn, before.id, status, payment)?;
    crate::webhooks::emit_appointment_change(conn, before, &after)?;
    if payment != before.payment_status {
        appointments::record_payment(
            conn,
            &appointments::Payment {
                id: Uuid::now_v7(),
                tenant_id: before.tenant_id,
                appointment_id: before.id,
                amount_minor: before.price_minor,
                currency: before.currency.clone(),
                status: payment,
                provider: "manual".into(),
                provider_reference: None,
                created_at: Utc::now(),
            },
        )?;
    }
    crate::notifications::on_status_changed(conn, before, &after)?;
    Ok(after)
}

/// Whether an appointment may go from `from` to `to`.
pub fn status_move_allowed(from: AppointmentStatus, to: AppointmentStatus) -> bool {
    use AppointmentStatus::*;
    matches!(
        (from, to),
        (Scheduled, Confirmed | Cancelled) | (Confirmed, Completed | Cancelled | NoShow)
    )
}

/// Whether an appointment's payment may go from `from` to `to`.
pub fn payment_move_allowed(from: PaymentStatus, to: PaymentStatus) -> bool {
    use PaymentStatus::*;
    matches!((from, to), (Pending, Paid) | (Paid, Refunded))
}

#[cfg(test)]
mod tests {
    use super::*;
    use AppointmentStatus::*;
    use PaymentStatus::*;

    #[test]
    fn only_documented_status_moves_are_allowed() {
        assert!(status_move_allowed(Scheduled, Confirmed));
        assert!(status_move_allowed(Confirmed, Completed));
        assert!(status_move_allowed(Scheduled, Cancelled));
        assert!(!status_move_allowed(Completed, Scheduled));
        assert!(!status_move_allowed(Cancelled, Confirmed));
        assert!(!status_move_allowed(Scheduled, Completed));
        assert!(payment_move_allowed(Pending, Paid));
        assert!(!payment_move_allowed(Refunded, Paid));
        assert!(!payment_move_allowed(Pending, Refunded));
    }

    #[test]
    fn statuses_map_to_the_strings_of_the_check_constraints() {
        let statuses: Vec<&str> = AppointmentStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            statuses,
            [
                "scheduled",
                "confirmed",
                "completed",
                "cancelled",
                "no_show"
            ]
        );
        let payments: Vec<&str> = PaymentStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(payments, ["pending", "paid", "refunded"]);
        for status in AppointmentStatus::ALL {
            assert_eq!(status.as_str().parse(), Ok(*status));
        }
        for payment in PaymentStatus::ALL {
            assert_eq!(payment.as_str().parse(), Ok(*payment));
        }
        assert!("no-show".parse::<AppointmentStatus>().is_err());
        assert!("Paid".parse::<PaymentStatus>().is_err());
    }
}
