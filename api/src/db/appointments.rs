//! Queries on `patients` and `appointments` (tenant-owned: RLS limits every
//! query to the current tenant). Overlapping appointments of one doctor are
//! refused by the `appointments_no_overlap` exclusion constraint.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::schema::{appointments, patients};
use crate::db::cursor::PageRequest;

crate::db_enum! {
    /// Where an appointment stands: `scheduled -> confirmed -> completed |
    /// cancelled | no_show`, and `scheduled -> cancelled`.
    pub enum AppointmentStatus {
        Scheduled = "scheduled",
        Confirmed = "confirmed",
        Completed = "completed",
        Cancelled = "cancelled",
        NoShow = "no_show",
    }
}

crate::db_enum! {
    /// Where an appointment's payment stands: `pending -> paid -> refunded`.
    pub enum PaymentStatus {
        Pending = "pending",
        Paid = "paid",
        Refunded = "refunded",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, ToSchema)]
#[diesel(table_name = patients)]
pub struct Patient {
    pub id: Uuid,
    #[serde(skip)]
    pub tenant_id: Uuid,
    pub user_id: Option<Uuid>,
    pub name: String,
    /// E.164 (`+79161234567`).
    pub phone: String,
    pub birth_date: Option<NaiveDate>,
    pub gender: Option<String>,
    /// The patient asked for no non-essential messages (reminders); booking,
    /// confirmation, cancellation and rescheduling messages still go out.
    pub notifications_opt_out: bool,
    pub created_at: DateTime<Utc>,
}

pub fn patient_of_user(conn: &mut PgConnection, user_id: Uuid) -> QueryResult<Option<Patient>> {
    patients::table
        .filter(patients::user_id.eq(user_id))
        .select(Patient::as_select())
        .first(conn)
        .optional()
}

/// The patient with this phone, created when new (guests book by phone).
pub fn patient_by_phone(conn: &mut PgConnection, new: &Patient) -> QueryResult<Patient> {
    let inserted = diesel::insert_into(patients::table)
        .values(new)
        .on_conflict((patients::tenant_id, patients::phone))
        .do_nothing()
        .returning(Patient::as_returning())
        .get_result(conn)
        .optional()?;
    match inserted {
        Some(patient) => Ok(patient),
        None => patients::table
            .filter(patients::phone.eq(&new.phone))
            .select(Patient::as_select())
            .first(conn),
    }
}

pub fn insert_patient(conn: &mut PgConnection, patient: &Patient) -> QueryResult<Patient> {
    diesel::insert_into(patients::table)
        .values(patient)
        .returning(Patient::as_returning())
        .get_result(conn)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, ToSchema)]
#[diesel(table_name = appointments)]
pub struct Appointment {
    pub id: Uuid,
    #[serde(skip)]
    pub tenant_id: Uuid,
    pub site_id: Option<Uuid>,
    pub patient_id: Uuid,
    pub doctor_id: Uuid,
    pub service_id: Uuid,
    pub clinic_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// `scheduled`, `confirmed`, `completed`, `cancelled` or `no_show`.
    pub status: AppointmentStatus,
    /// `pending`, `paid` or `refunded`.
    pub payment_status: PaymentStatus,
    /// Copied from the service (or the doctor's consultation price) at booking.
    pub price_minor: i64,
    pub currency: String,
    pub notes: String,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub fn find_by_idempotency_key(
    conn: &mut PgConnection,
    key: &str,
) -> QueryResult<Option<Appointment>> {
    appointments::table
        .filter(appointments::idempotency_key.eq(key))
        .select(Appointment::as_select())
        .first(conn)
        .optional()
}

/// Inserts the appointment; with an idempotency key already used, answers
/// the earlier appointment instead (and false).
pub fn insert_once(
    conn: &mut PgConnection,
    appointment: &Appointment,
) -> QueryResult<(Appointment, bool)> {
    if let Some(key) = &appointment.idempotency_key {
        if let Some(existing) = find_by_idempotency_key(conn, key)? {
            return Ok((existing, false));
        }
    }
    let inserted = diesel::insert_into(appointments::table)
        .values(appointment)
        .returning(Appointment::as_returning())
        .get_result(conn)?;
    Ok((inserted, true))
}

#[derive(Debug, Default, Clone)]
pub struct AppointmentFilter {
    pub patient: Option<Uuid>,
    pub doctor: Option<Uuid>,
    pub status: Option<AppointmentStatus>,
}

pub fn list(
    conn: &mut PgConnection,
    filter: &AppointmentFilter,
    page: &PageRequest,
) -> QueryResult<Vec<Appointment>> {
    let mut query = appointments::table
        .select(Appointment::as_select())
        .order(appointments::id)
        .limit(page.fetch_limit())
        .into_boxed();
    if let Some(patient) = filter.patient {
        query = query.filter(appointments::patient_id.eq(patient));
    }
    if let Some(doctor) = filter.doctor {
        query = query.filter(appointments::doctor_id.eq(doctor));
    }
    if let Some(status) = filter.status {
        query = query.filter(appointments::status.eq(status));
    }
    if let Some(after) = page.after {
        query = query.filter(appointments::id.gt(after));
    }
    query.load(conn)
}

pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Appointment>> {
    appointments::table
        .find(id)
        .select(Appointment::as_select())
        .first(conn)
        .optional()
}

pub fn lock(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Appointment>> {
    appointments::table
        .find(id)
        .select(Appointment::as_select())
        .for_update()
        .first(conn)
        .optional()
}

pub fn set_status(
    conn: &mut PgConnection,
    id: Uuid,
    status: AppointmentStatus,
    payment_status: PaymentStatus,
) -> QueryResult<Appointment> {
    diesel::update(appointments::table.find(id))
        .set((
            appointments::status.eq(status),
            appointments::payment_status.eq(payment_status),
            appointments::updated_at.eq(Utc::now()),
        ))
        .returning(Appointment::as_returning())
        .get_result(conn)
}

/// Moves an appointment to another time (and clinic); the
/// `appointments_no_overlap` constraint refuses a taken time.
pub fn move_to(
    conn: &mut PgConnection,
    id: Uuid,
    clinic: Uuid,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
) -> QueryResult<Appointment> {
    diesel::update(appointments::table.find(id))
        .set((
            appointments::clinic_id.eq(clinic),
            appointments::starts_at.eq(starts_at),
            appointments::ends_at.eq(ends_at),
            appointments::updated_at.eq(Utc::now()),
        ))
        .returning(Appointment::as_returning())
        .get_result(conn)
}

/// The doctor's non-cancelled appointments overlapping `[from, to)`.
pub fn busy(
    conn: &mut PgConnection,
    doctor: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> QueryResult<Vec<(DateTime<Utc>, DateTime<Utc>)>> {
    appointments::table
        .filter(appointments::doctor_id.eq(doctor))
        .filter(appointments::status.ne(AppointmentStatus::Cancelled))
        .filter(appointments::starts_at.lt(to))
        .filter(appointments::ends_at.gt(from))
        .select((appointments::starts_at, appointments::ends_at))
        .load(conn)
}

#[derive(AsChangeset)]
#[diesel(table_name = patients)]
pub struct PatientChanges {
    pub user_id: Option<Uuid>,
    pub name: String,
    pub phone: String,
    pub birth_date: Option<NaiveDate>,
    pub gender: Option<String>,
    /// Unchanged when `None`.
    pub notifications_opt_out: Option<bool>,
}

pub fn patient_by_exact_phone(
    conn: &mut PgConnection,
    phone: &str,
) -> QueryResult<Option<Patient>> {
    patients::table
        .filter(patients::phone.eq(phone))
        .select(Patient::as_select())
        .first(conn)
        .optional()
}

pub fn update_patient(
    conn: &mut PgConnection,
    id: Uuid,
    changes: &PatientChanges,
) -> QueryResult<Patient> {
    diesel::update(patients::table.find(id))
        .set(changes)
        .returning(Patient::as_returning())
        .get_result(conn)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, ToSchema)]
#[diesel(table_name = super::schema::payments)]
pub struct Payment {
    pub id: Uuid,
    #[serde(skip)]
    pub tenant_id: Uuid,
    pub appointment_id: Uuid,
    pub amount_minor: i64,
    pub currency: String,
    /// `paid` or `refunded`: one row per payment event.
    pub status: PaymentStatus,
    /// `manual` when staff record it; a provider's name otherwise.
    pub provider: String,
    pub provider_reference: Option<String>,
    pub created_at: DateTime<Utc>,
}

pub fn record_payment(conn: &mut PgConnection, payment: &Payment) -> QueryResult<Payment> {
    diesel::insert_into(super::schema::payments::table)
        .values(payment)
        .returning(Payment::as_returning())
        .get_result(conn)
}

pub fn payments_of(conn: &mut PgConnection, appointment: Uuid) -> QueryResult<Vec<Payment>> {
    use super::schema::payments;
    payments::table
        .filter(payments::appointment_id.eq(appointment))
        .select(Payment::as_select())
        .order(payments::created_at)
        .load(conn)
}
