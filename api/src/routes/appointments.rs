//! Booking: `GET /api/v1/delivery/sites/{site}/available-slots` and
//! `POST /api/v1/delivery/sites/{site}/appointments` (guests by name and
//! phone, rate limited per IP), `POST /api/v1/appointments` (signed-in
//! patients), and `/api/v1/appointments` for patients (their own), doctors
//! (theirs: IsDoctorOwner) and staff (all of the tenant), with the status
//! machine. Overlaps are impossible: the `appointments_no_overlap` exclusion
//! constraint refuses them under any concurrency, answered as 409 with the
//! nearest free slots.

use std::time::Duration as StdDuration;

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use cms_shared::slots::{self, Slot};

use crate::auth::extract::TenantCtx;
use crate::auth::roles::{Permission, Role};
use crate::clinic;
use crate::db::appointments::{self, Appointment, AppointmentFilter, Patient};
use crate::db::{doctors, services, sites};
use crate::error::{ApiError, FieldError, Problem};
use crate::http::etag::{idempotency_key, json_with_content_etag};
use crate::http::json::{rules, ValidJson, Validate};
use crate::http::pagination::{ListResponse, PageQuery, PageRequest};
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(available_slots)
        .service(book_as_guest)
        .service(book_as_patient)
        .service(list_appointments)
        .service(get_appointment)
        .service(change_status)
        .service(list_payments);
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct SlotQuery {
    /// Doctor id or slug.
    pub doctor: String,
    /// Service id or slug.
    pub service: String,
    /// One local date (`2026-12-01`), or use `from` and `to`.
    pub date: Option<NaiveDate>,
    pub from: Option<NaiveDate>,
    /// Inclusive; at most 31 days after `from`.
    pub to: Option<NaiveDate>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SlotView {
    /// RFC 3339 with the clinic's offset at that instant.
    #[schema(value_type = String, example = "2026-12-01T09:00:00+03:00")]
    pub start: DateTime<FixedOffset>,
    #[schema(value_type = String)]
    pub end: DateTime<FixedOffset>,
    pub clinic: Uuid,
}

impl From<&Slot> for SlotView {
    fn from(slot: &Slot) -> Self {
        SlotView {
            start: slot.start,
            end: slot.end,
            clinic: slot.clinic,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SlotList {
    pub items: Vec<SlotView>,
}

fn date_range(query: &SlotQuery) -> Result<(NaiveDate, NaiveDate), ApiError> {
    let (from, to) = match (query.date, query.from, query.to) {
        (Some(date), None, None) => (date, date),
        (None, Some(from), Some(to)) => (from, to),
        _ => {
            return Err(ApiError::invalid(
                "date",
                "give either date, or from and to",
            ))
        }
    };
    if to < from {
        return Err(ApiError::invalid("to", "must not be before from"));
    }
    if (to - from).num_days() >= clinic::MAX_RANGE_DAYS {
        return Err(ApiError::invalid(
            "to",
            "the range may span at most 31 days",
        ));
    }
    Ok((from, to))
}

/// The doctor and service a booking or slot query names, checked together.
fn doctor_and_service(
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

/// Free slots of a doctor for a service, in the clinics' time zones.
#[utoipa::path(
    tag = "delivery",
    params(("site" = Uuid, Path), SlotQuery),
    responses((status = 200, body = SlotList), (status = 404, body = Problem), (status = 422, body = Problem))
)]
#[get("/delivery/sites/{site}/available-slots")]
async fn available_slots(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    query: web::Query<SlotQuery>,
) -> Result<HttpResponse, ApiError> {
    let site = path.into_inner();
    let query = query.into_inner();
    let (from, to) = date_range(&query)?;
    let key = format!("{site}|{}|{}|{from}|{to}", query.doctor, query.service);
    let config = state.config.clone();
    let db = state.db.clone();
    let answer = state
        .slots
        .get_or_compute(key, async move {
            let items = db
                .site_tx(site, move |conn| {
                    let (doctor, service) =
                        doctor_and_service(conn, &query.doctor, &query.service)?;
                    let rules = clinic::rules(&config, service.duration_minutes);
                    let slots =
                        clinic::doctor_slots(conn, doctor.id, &rules, from, to, Utc::now())?;
                    let views: Vec<SlotView> = slots
                        .iter()
                        .filter(|slot| service.clinic_ids.contains(&slot.clinic))
                        .map(SlotView::from)
                        .collect();
                    serde_json::to_value(views).map_err(ApiError::internal)
                })
                .await?;
            Ok(clinic::SlotsAnswer::new(&items))
        })
        .await?;
    // Slots change with every booking: browsers and CDNs revalidate each
    // time (the ETag still saves the body when nothing changed).
    Ok(json_with_content_etag(
        &req,
        answer.body.clone(),
        &answer.etag,
        "no-cache",
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookingRequest {
    /// Doctor id or slug.
    pub doctor: String,
    /// Service id or slug.
    pub service: String,
    /// Exactly a `start` that `available-slots` returned (any offset).
    #[schema(value_type = String, example = "2026-12-01T09:00:00+03:00")]
    pub start: String,
    /// Guests: the patient's name (signed-in patients: their profile's).
    pub name: Option<String>,
    /// Guests: the patient's phone; a known phone finds the same patient.
    pub phone: Option<String>,
    pub notes: Option<String>,
}

impl Validate for BookingRequest {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if DateTime::parse_from_rfc3339(&self.start).is_err() {
            errors.push(FieldError::new(
                "start",
                "must be an RFC 3339 time as available-slots returns it",
            ));
        }
        if let Some(name) = &self.name {
            rules::text(&mut errors, "name", name, 120);
        }
        if let Some(phone) = &self.phone {
            if clinic::normalize_phone(phone).is_none() {
                errors.push(FieldError::new(
                    "phone",
                    "must be a phone number such as +7 916 123-45-67",
                ));
            }
        }
        if self
            .notes
            .as_ref()
            .is_some_and(|n| n.chars().count() > 2000)
        {
            errors.push(FieldError::new("notes", "must be at most 2000 characters"));
        }
        errors
    }
}

/// Who is booking.
enum Booker {
    Guest { name: String, phone: String },
    Patient(Patient),
}

struct Booking {
    tenant_id: Uuid,
    site_id: Option<Uuid>,
    request: BookingRequest,
    idempotency_key: Option<String>,
}

/// Checks the slot against the schedule and books it; the exclusion
/// constraint decides races. Everything in the caller's one transaction.
fn book(
    conn: &mut PgConnection,
    config: &crate::config::Config,
    booking: Booking,
    booker: Booker,
) -> Result<(Appointment, bool), ApiError> {
    let request = &booking.request;
    // A retry of a booking that went through answers that booking, even
    // though its slot is no longer free.
    if let Some(key) = &booking.idempotency_key {
        if let Some(existing) = appointments::find_by_idempotency_key(conn, key)? {
            return Ok((existing, false));
        }
    }
    let start = DateTime::parse_from_rfc3339(&request.start)
        .map_err(|_| ApiError::invalid("start", "must be an RFC 3339 time"))?;
    let now = Utc::now();
    if start.with_timezone(&Utc) <= now {
        return Err(ApiError::invalid("start", "is in the past"));
    }
    let (doctor, service) = doctor_and_service(conn, &request.doctor, &request.service)?;
    let rules = clinic::rules(config, service.duration_minutes);
    // Local dates differ from the UTC date by at most one day.
    let day = start.date_naive();
    let from = day.pred_opt().unwrap_or(day);
    let to = day.succ_opt().unwrap_or(day);
    let offered = clinic::doctor_slots(conn, doctor.id, &rules, from, to, now)?;
    let offered: Vec<Slot> = offered
        .into_iter()
        .filter(|slot| service.clinic_ids.contains(&slot.clinic))
        .collect();
    let Some(slot) = slots::offers(&offered, start).cloned() else {
        let within_schedule = rules_allow_time(conn, config, &doctor, &service, start, now)?;
        return Err(if within_schedule {
            slot_taken(&offered, start)
        } else {
            ApiError::invalid(
                "start",
                "is not a slot of this doctor's schedule for this service (see available-slots)",
            )
        });
    };
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
        status: "scheduled".into(),
        payment_status: "pending".into(),
        price_minor: doctor
            .consultation_price_minor
            .unwrap_or(service.price_minor),
        currency: service.currency.clone(),
        notes: request.notes.clone().unwrap_or_default(),
        idempotency_key: booking.idempotency_key.clone(),
        created_at: now,
        updated_at: now,
    };
    match appointments::insert_once(conn, &appointment) {
        Ok(done) => Ok(done),
        Err(diesel::result::Error::DatabaseError(_, info))
            if info.constraint_name() == Some("appointments_no_overlap") =>
        {
            Err(slot_taken(&offered, start))
        }
        Err(err) => Err(err.into()),
    }
}

/// Whether `start` would be a slot if nothing were booked: tells "taken"
/// (409) from "not in the schedule" (422).
fn rules_allow_time(
    conn: &mut PgConnection,
    config: &crate::config::Config,
    doctor: &doctors::Doctor,
    service: &services::Service,
    start: DateTime<FixedOffset>,
    now: DateTime<Utc>,
) -> Result<bool, ApiError> {
    let rules = clinic::rules(config, service.duration_minutes);
    let day = start.date_naive();
    let from = day.pred_opt().unwrap_or(day);
    let to = day.succ_opt().unwrap_or(day);
    let free_of_bookings =
        clinic::doctor_slots_ignoring_bookings(conn, doctor.id, &rules, from, to, now)?;
    Ok(slots::offers(&free_of_bookings, start).is_some())
}

fn slot_taken(offered: &[Slot], start: DateTime<FixedOffset>) -> ApiError {
    // When a concurrent booking won the race, `offered` (read before it
    // committed) still lists the requested slot: never suggest it.
    let others: Vec<Slot> = offered
        .iter()
        .filter(|slot| slot.start != start)
        .cloned()
        .collect();
    let nearest: Vec<serde_json::Value> = slots::nearest(&others, start.with_timezone(&Utc), 3)
        .iter()
        .map(
            |slot| serde_json::json!({"start": slot.start, "end": slot.end, "clinic": slot.clinic}),
        )
        .collect();
    ApiError::SlotTaken { nearest }
}

const GUEST_WINDOW: StdDuration = StdDuration::from_secs(3600);

fn booked(appointment: Appointment, created: bool) -> HttpResponse {
    let mut response = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((
            "Location",
            format!("/api/v1/appointments/{}", appointment.id),
        ))
        .json(appointment)
}

/// Book a slot as a guest (name and phone). 201 with the appointment; 200
/// with the earlier one for a repeated `Idempotency-Key`; 409 with the
/// nearest free slots when the slot was taken meanwhile.
#[utoipa::path(
    tag = "delivery",
    params(
        ("site" = Uuid, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key book once")
    ),
    request_body = BookingRequest,
    responses(
        (status = 201, body = Appointment), (status = 200, body = Appointment),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)
    )
)]
#[post("/delivery/sites/{site}/appointments")]
async fn book_as_guest(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: ValidJson<BookingRequest>,
) -> Result<HttpResponse, ApiError> {
    let site = path.into_inner();
    let request = body.0;
    let mut missing = Vec::new();
    if request.name.is_none() {
        missing.push(FieldError::new("name", "is required"));
    }
    if request.phone.is_none() {
        missing.push(FieldError::new("phone", "is required"));
    }
    if !missing.is_empty() {
        return Err(ApiError::Validation(missing));
    }
    let ip = req
        .peer_addr()
        .map(|addr| addr.ip().to_string())
        .unwrap_or_default();
    let (count, reset) = state
        .kv
        .hit(&format!("rl:booking:{site}:{ip}"), GUEST_WINDOW)
        .await;
    if count > u64::from(state.config.booking_limit_per_ip) {
        return Err(ApiError::TooManyRequests {
            retry_after_secs: reset,
        });
    }
    let key = idempotency_key(&req)?;
    let config = state.config.clone();
    let (appointment, created) = state
        .db
        .site_tx(site, move |conn| {
            let tenant_id = sites::find(conn, site)?
                .ok_or(ApiError::NotFound)?
                .tenant_id;
            let booker = Booker::Guest {
                name: request.name.clone().unwrap_or_default().trim().to_owned(),
                phone: request
                    .phone
                    .as_deref()
                    .and_then(clinic::normalize_phone)
                    .unwrap_or_default(),
            };
            book(
                conn,
                &config,
                Booking {
                    tenant_id,
                    site_id: Some(site),
                    request,
                    idempotency_key: key,
                },
                booker,
            )
        })
        .await?;
    if created {
        state.slots.forget();
    }
    Ok(booked(appointment, created))
}

/// Book a slot as the signed-in patient (role `patient` with a profile).
#[utoipa::path(
    tag = "appointments",
    params(("Idempotency-Key" = Option<String>, Header)),
    request_body = BookingRequest,
    responses(
        (status = 201, body = Appointment), (status = 200, body = Appointment),
        (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)
    ),
    security(("bearer" = []))
)]
#[post("/appointments")]
async fn book_as_patient(
    req: HttpRequest,
    ctx: TenantCtx,
    state: web::Data<AppState>,
    body: ValidJson<BookingRequest>,
) -> Result<HttpResponse, ApiError> {
    if ctx.role != Role::Patient {
        return Err(ApiError::Forbidden(
            "only patients book for themselves; staff book through the delivery endpoint".into(),
        ));
    }
    let key = idempotency_key(&req)?;
    let config = state.config.clone();
    let user = ctx.user.user_id();
    let tenant_id = ctx.tenant_id;
    let request = body.0;
    let (appointment, created) = ctx
        .tx(move |conn| {
            let patient = appointments::patient_of_user(conn, user)?.ok_or_else(|| {
                ApiError::Forbidden("this account has no patient profile in this tenant".into())
            })?;
            book(
                conn,
                &config,
                Booking {
                    tenant_id,
                    site_id: None,
                    request,
                    idempotency_key: key,
                },
                Booker::Patient(patient),
            )
        })
        .await?;
    if created {
        state.slots.forget();
    }
    Ok(booked(appointment, created))
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

#[derive(Debug, Deserialize, IntoParams)]
pub struct AppointmentQuery {
    /// Only this status.
    pub status: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// List appointments the caller may see.
#[utoipa::path(
    tag = "appointments",
    params(AppointmentQuery),
    responses((status = 200, body = ListResponse<Appointment>), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/appointments")]
async fn list_appointments(
    ctx: TenantCtx,
    query: web::Query<AppointmentQuery>,
) -> Result<web::Json<ListResponse<Appointment>>, ApiError> {
    let query = query.into_inner();
    let page = PageRequest::try_from(PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    })?;
    let (role, user) = (ctx.role, ctx.user.user_id());
    let rows = ctx
        .tx({
            let page = page.clone();
            move |conn| match visible_to(conn, role, user)? {
                Some(mut filter) => {
                    filter.status = query.status;
                    Ok(appointments::list(conn, &filter, &page)?)
                }
                None => Ok(Vec::new()),
            }
        })
        .await?;
    Ok(web::Json(ListResponse::from_rows(rows, &page, |a| a.id)))
}

/// Get an appointment (404 unless the caller may see it).
#[utoipa::path(
    tag = "appointments",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Appointment), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/appointments/{id}")]
async fn get_appointment(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
) -> Result<web::Json<Appointment>, ApiError> {
    let id = path.into_inner();
    let (role, user) = (ctx.role, ctx.user.user_id());
    let appointment = ctx
        .tx(move |conn| {
            let filter = visible_to(conn, role, user)?.ok_or(ApiError::NotFound)?;
            appointments::find(conn, id)?
                .filter(|appointment| is_visible(&filter, appointment))
                .ok_or(ApiError::NotFound)
        })
        .await?;
    Ok(web::Json(appointment))
}

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
async fn change_status(
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

/// The payment events of an appointment (recorded by payment status changes).
#[utoipa::path(
    tag = "appointments",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<appointments::Payment>), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/appointments/{id}/payments")]
async fn list_payments(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
) -> Result<web::Json<Vec<appointments::Payment>>, ApiError> {
    let id = path.into_inner();
    let (role, user) = (ctx.role, ctx.user.user_id());
    let payments = ctx
        .tx(move |conn| {
            let filter = visible_to(conn, role, user)?.ok_or(ApiError::NotFound)?;
            appointments::find(conn, id)?
                .filter(|appointment| is_visible(&filter, appointment))
                .ok_or(ApiError::NotFound)?;
            Ok(appointments::payments_of(conn, id)?)
        })
        .await?;
    Ok(web::Json(payments))
}
