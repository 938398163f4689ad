//! Booking an appointment: the requested start must be a slot the doctor's
//! schedule offers for the service at that moment. The
//! `appointments_no_overlap` exclusion constraint decides races; a lost race
//! is answered with the nearest free slots.

use chrono::{DateTime, FixedOffset, Utc};
use cms_shared::slots::{self, Slot};
use diesel::PgConnection;
use uuid::Uuid;

use crate::config::Config;
use crate::db::appointments::{self, Appointment, AppointmentStatus, Patient, PaymentStatus};
use crate::db::{doctors, services};
use crate::error::ApiError;

/// What is asked for, already parsed.
#[derive(Debug, Clone)]
pub struct Booking {
    pub tenant_id: Uuid,
    /// The site a guest booked on; `None` for signed-in patients.
    pub site_id: Option<Uuid>,
    /// Doctor id or slug.
    pub doctor: String,
    /// Service id or slug.
    pub service: String,
    pub start: DateTime<FixedOffset>,
    pub notes: Option<String>,
    pub idempotency_key: Option<String>,
}

/// Who is booking.
#[derive(Debug, Clone)]
pub enum Booker {
    /// Found (or created) as a patient by phone.
    Guest {
        name: String,
        phone: String,
    },
    Patient(Patient),
}

/// The appointment booked, and whether it is new (false: an earlier booking
/// with the same idempotency key).
#[derive(Debug, Clone)]
pub struct Booked {
    pub appointment: Appointment,
    pub created: bool,
}

/// Checks the slot against the schedule and books it, everything in the
/// caller's one transaction.
pub fn book(
    conn: &mut PgConnection,
    config: &Config,
    booking: Booking,
    booker: Booker,
) -> Result<Booked, ApiError> {
    // A retry of a booking that went through answers that booking, even
    // though its slot is no longer free.
    if let Some(key) = &booking.idempotency_key {
        if let Some(existing) = appointments::find_by_idempotency_key(conn, key)? {
            return Ok(Booked {
                appointment: existing,
                created: false,
            });
        }
    }
    let start = booking.start;
    let now = Utc::now();
    if start.with_timezone(&Utc) <= now {
        return Err(ApiError::invalid("start", "is in the past"));
    }
    let (doctor, service) = doctor_and_service(conn, &booking.doctor, &booking.service)?;
    let (slot, offered) = offered_slot(conn, config, &doctor, &service, start, now)?;
    let patient = match booker {
        Booker::Patient(patient) => patient,
        Booker::Guest { name, phone } => appointments::patient_by_phone(
            conn,
            &Patient {
                id: Uuid::now_v7(),
                tenant_id: booking.tenant_id,
                user_id: None,
                name,
                phone,
                birth_date: None,
                gender: None,
                notifications_opt_out: false,
                created_at: now,
            },
        )?,
    };
    let appointment = Appointment {
        id: Uuid::now_v7(),
        tenant_id: booking.tenant_id,
        site_id: booking.site_id,
        patient_id: patient.id,
        doctor_id: doctor.id,
        service_id: service.id,
        clinic_id: slot.clinic,
        starts_at: slot.start.with_timezone(&Utc),
        ends_at: slot.end.with_timezone(&Utc),
        status: AppointmentStatus::Scheduled,
        payment_status: PaymentStatus::Pending,
        price_minor: doctor
            .consultation_price_minor
            .unwrap_or(service.price_minor),
        currency: service.currency.clone(),
        notes: booking.notes.unwrap_or_default(),
        idempotency_key: booking.idempotency_key,
        created_at: now,
        updated_at: now,
    };
    match appointments::insert_once(conn, &appointment) {
        Ok((appointment, created)) => {
            if created {
                crate::notifications::on_booked(conn, &appointment)?;
                crate::webhooks::emit(
                    conn,
                    appointment.tenant_id,
                    "appointment.created",
                    &appointment,
                )?;
            }
            Ok(Booked {
                appointment,
                created,
            })
        }
        Err(diesel::result::Error::DatabaseError(_, info))
            if info.constraint_name() == Some("appointments_no_overlap") =>
        {
            Err(slot_taken(&offered, start))
        }
        Err(err) => Err(err.into()),
    }
}

/// Moves a scheduled or confirmed appointment to `start`, which must be a
/// free slot of its doctor for its service; its reminders move with it and
/// the patient is told, in the caller's transaction.
pub fn reschedule(
    conn: &mut PgConnection,
    config: &Config,
    before: &Appointment,
    start: DateTime<FixedOffset>,
) -> Result<Appointment, ApiError> {
    if !matches!(
        before.status,
        AppointmentStatus::Scheduled | AppointmentStatus::Confirmed
    ) {
        return Err(ApiError::Conflict(format!(
            "a {} appointment cannot be moved",
            before.status
        )));
    }
    let now = Utc::now();
    if start.with_timezone(&Utc) <= now {
        return Err(ApiError::invalid("start", "is in the past"));
    }
    let (doctor, service) = doctor_and_service(
        conn,
        &before.doctor_id.to_string(),
        &before.service_id.to_string(),
    )?;
    let (slot, offered) = offered_slot(conn, config, &doctor, &service, start, now)?;
    let moved = match appointments::move_to(
        conn,
        before.id,
        slot.clinic,
        slot.start.with_timezone(&Utc),
        slot.end.with_timezone(&Utc),
    ) {
        Ok(moved) => moved,
        Err(diesel::result::Error::DatabaseError(_, info))
            if info.constraint_name() == Some("appointments_no_overlap") =>
        {
            return Err(slot_taken(&offered, start));
        }
        Err(err) => return Err(err.into()),
    };
    crate::notifications::on_rescheduled(conn, &moved)?;
    crate::webhooks::emit_appointment_change(conn, before, &moved)?;
    Ok(moved)
}

/// The doctor and service a booking or slot query names, checked together:
/// both active, and the doctor offers the service.
pub fn doctor_and_service(
    conn: &mut PgConnection,
    doctor: &str,
    service: &str,
) -> Result<(doctors::Doctor, services::Service), ApiError> {
    let doctor = doctors::resolve(conn, doctor)?
        .and_then(|id| doctors::find(conn, id).transpose())
        .transpose()?
        .filter(|doctor| doctor.is_active)
        .ok_or_else(|| ApiError::invalid("doctor", "is not a doctor of this site"))?;
    let service = services::resolve(conn, service)?
        .and_then(|id| services::find(conn, id).transpose())
        .transpose()?
        .filter(|service| service.is_active)
        .ok_or_else(|| ApiError::invalid("service", "is not a service of this site"))?;
    if !doctor.service_ids.contains(&service.id) {
        return Err(ApiError::invalid(
            "service",
            "is not offered by this doctor",
        ));
    }
    Ok((doctor, service))
}

/// The local dates a start may fall on: they differ from its own date by at
/// most one day.
/// The free slot of `doctor` for `service` starting at `start`, with every
/// slot offered around it (for a 409 naming the nearest if the insert still
/// loses a race): 409 when it is taken, 422 when the schedule has no such slot.
fn offered_slot(
    conn: &mut PgConnection,
    config: &Config,
    doctor: &doctors::Doctor,
    service: &services::Service,
    start: DateTime<FixedOffset>,
    now: DateTime<Utc>,
) -> Result<(Slot, Vec<Slot>), ApiError> {
    let rules = super::rules(config, service.duration_minutes);
    let (from, to) = days_around(start);
    let offered: Vec<Slot> = super::doctor_slots(conn, doctor.id, &rules, from, to, now)?
        .into_iter()
        .filter(|slot| service.clinic_ids.contains(&slot.clinic))
        .collect();
    if let Some(slot) = slots::offers(&offered, start).cloned() {
        return Ok((slot, offered));
    }
    Err(
        if rules_allow_time(conn, config, doctor, service, start, now)? {
            slot_taken(&offered, start)
        } else {
            ApiError::invalid(
                "start",
                "is not a slot of this doctor's schedule for this service (see available-slots)",
            )
        },
    )
}

fn days_around(start: DateTime<FixedOffset>) -> (chrono::NaiveDate, chrono::NaiveDate) {
    let day = start.date_naive();
    (day.pred_opt().unwrap_or(day), day.succ_opt().unwrap_or(day))
}

/// Whether `start` would be a slot if nothing were booked: tells "taken"
/// (409) from "not in the schedule" (422).
fn rules_allow_time(
    conn: &mut PgConnection,
    config: &Config,
    doctor: &doctors::Doctor,
    service: &services::Service,
    start: DateTime<FixedOffset>,
    now: DateTime<Utc>,
) -> Result<bool, ApiError> {
    let rules = super::rules(config, service.duration_minutes);
    let (from, to) = days_around(start);
    let free_of_bookings =
        super::doctor_slots_ignoring_bookings(conn, doctor.id, &rules, from, to, now)?;
    Ok(slots::offers(&free_of_bookings, start).is_some())
}

/// 409 with the three free slots nearest to `start`.
fn slot_taken(offered: &[Slot], start: DateTime<FixedOffset>) -> ApiError {
    // When a concurrent booking won the race, `offered` (read before it
    // committed) still lists the requested slot: never suggest it.
    let others: Vec<Slot> = offered
        .iter()
        .filter(|slot| slot.start != start)
        .cloned()
        .collect();
    ApiError::SlotTaken {
        nearest: slots::nearest(&others, start.with_timezone(&Utc), 3),
    }
}
