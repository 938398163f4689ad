//! Booking an appointment, by a guest on a site or by a signed-in patient.

use actix_web::{post, web, HttpRequest, HttpResponse};
use chrono::DateTime;
use serde::Deserialize;
use std::time::Duration as StdDuration;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::auth::roles::Role;
use crate::clinic::{
    self,
    booking::{self, Booked, Booker, Booking},
};
use crate::db::appointments::{self, Appointment};
use crate::db::sites;
use crate::error::{ApiError, FieldError, Problem};
use crate::http::etag::idempotency_key;
use crate::http::json::{rules, ValidJson, Validate};
use crate::state::AppState;

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

impl BookingRequest {
    /// The booking this request asks for, in `tenant_id` (on `site_id` for guests).
    fn booking(
        &self,
        tenant_id: Uuid,
        site_id: Option<Uuid>,
        idempotency_key: Option<String>,
    ) -> Result<Booking, ApiError> {
        Ok(Booking {
            tenant_id,
            site_id,
            doctor: self.doctor.clone(),
            service: self.service.clone(),
            start: DateTime::parse_from_rfc3339(&self.start)
                .map_err(|_| ApiError::invalid("start", "must be an RFC 3339 time"))?,
            notes: self.notes.clone(),
            idempotency_key,
        })
    }
}

const GUEST_WINDOW: StdDuration = StdDuration::from_secs(3600);

/// 201 with a new appointment, 200 with an earlier one; `Location` names it.
fn answer(
    Booked {
        appointment,
        created,
    }: Booked,
) -> HttpResponse {
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
    let ip = crate::http::client_ip(&req, &state.config)
        .map(|ip| ip.to_string())
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
    let booked = state
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
            booking::book(
                conn,
                &config,
                request.booking(tenant_id, Some(site), key)?,
                booker,
            )
        })
        .await?;
    if booked.created {
        state.slots.forget();
    }
    Ok(answer(booked))
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
    let booked = ctx
        .tx(move |conn| {
            let patient = appointments::patient_of_user(conn, user)?.ok_or_else(|| {
                ApiError::Forbidden("this account has no patient profile in this tenant".into())
            })?;
            booking::book(
                conn,
                &config,
                request.booking(tenant_id, None, key)?,
                Booker::Patient(patient),
            )
        })
        .await?;
    if booked.created {
        state.slots.forget();
    }
    Ok(answer(booked))
}
