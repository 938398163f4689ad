//! Booking an appointment, by a guest on a site or by a signed-in patient.

use actix_web::{post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, FixedOffset, Utc};
use cms_shared::slots::{self, Slot};
use diesel::PgConnection;
use serde::Deserialize;
use std::time::Duration as StdDuration;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::auth::roles::Role;
use crate::clinic;
use crate::db::appointments::{self, Appointment, Patient};
use crate::db::{doctors, services, sites};
use crate::error::{ApiError, FieldError, Problem};
use crate::http::etag::idempotency_key;
use crate::http::json::{rules, ValidJson, Validate};
use crate::state::AppState;

use super::doctor_and_service;

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
pub(super) async fn book_as_guest(
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
pub(super) async fn book_as_patient(
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
