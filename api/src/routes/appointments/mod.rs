//! Booking: `GET /api/v1/delivery/sites/{site}/available-slots` and
//! `POST /api/v1/delivery/sites/{site}/appointments` (guests by name and
//! phone, rate limited per IP), `POST /api/v1/appointments` (signed-in
//! patients), and `/api/v1/appointments` for patients (their own), doctors
//! (theirs: IsDoctorOwner) and staff (all of the tenant), with the status
//! machine. Overlaps are impossible: the `appointments_no_overlap` exclusion
//! constraint refuses them under any concurrency, answered as 409 with the
//! nearest free slots.

mod availability;
mod booking;
mod payments;
mod read;
mod status;

use diesel::PgConnection;
use uuid::Uuid;

use crate::auth::roles::{Permission, Role};
use crate::db::appointments::{self, Appointment, AppointmentFilter};
use crate::db::doctors;
use crate::error::ApiError;

use availability::available_slots;
use booking::{book_as_guest, book_as_patient};
use payments::list_payments;
use read::{get_appointment, list_appointments};
use status::change_status;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(available_slots)
        .service(book_as_guest)
        .service(book_as_patient)
        .service(list_appointments)
        .service(get_appointment)
        .service(change_status)
        .service(status::reschedule)
        .service(list_payments);
}

/// What the caller may see: staff everything, doctors theirs, patients their own.
fn visible_to(
    conn: &mut PgConnection,
    ctx_role: Role,
    user: Uuid,
) -> Result<Option<AppointmentFilter>, ApiError> {
    let mut filter = AppointmentFilter::default();
    match ctx_role {
        Role::Patient => match appointments::patient_of_user(conn, user)? {
            Some(patient) => filter.patient = Some(patient.id),
            None => return Ok(None),
        },
        Role::Doctor => match doctors::of_user(conn, user)? {
            Some(doctor) => filter.doctor = Some(doctor),
            None => return Ok(None),
        },
        role if role.allows(Permission::ReadContent) => {}
        _ => {
            return Err(ApiError::Forbidden(
                "the role may not read appointments".into(),
            ))
        }
    }
    Ok(Some(filter))
}

fn is_visible(filter: &AppointmentFilter, appointment: &Appointment) -> bool {
    filter.patient.is_none_or(|p| p == appointment.patient_id)
        && filter.doctor.is_none_or(|d| d == appointment.doctor_id)
}
