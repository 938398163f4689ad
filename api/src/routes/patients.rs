//! `/api/v1/patients/me`: a signed-in patient's profile in the current
//! tenant (name, phone unique per tenant, birth date, gender). A profile
//! whose phone a guest booking already created is claimed, so earlier
//! bookings become the patient's own.

use actix_web::{get, put, web};
use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::auth::roles::Role;
use crate::clinic;
use crate::db::appointments::{self, Patient, PatientChanges};
use crate::error::{ApiError, FieldError, Problem};
use crate::http::json::{rules, ValidJson, Validate};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(my_profile).service(save_my_profile);
}

fn require_patient(ctx: &TenantCtx) -> Result<(), ApiError> {
    if ctx.role == Role::Patient {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only patients have a patient profile".into(),
        ))
    }
}

/// The signed-in patient's profile.
#[utoipa::path(
    tag = "appointments",
    responses((status = 200, body = Patient), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/patients/me")]
async fn my_profile(ctx: TenantCtx) -> Result<web::Json<Patient>, ApiError> {
    require_patient(&ctx)?;
    let user = ctx.user.user_id();
    Ok(web::Json(
        ctx.read(move |conn| appointments::patient_of_user(conn, user)?.ok_or(ApiError::NotFound))
            .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatientProfile {
    pub name: String,
    /// Normalised to E.164; unique among the tenant's patients.
    pub phone: String,
    pub birth_date: Option<NaiveDate>,
    /// `female`, `male` or `other`.
    pub gender: Option<String>,
    /// `true`: no reminders (booking, confirmation, cancellation and
    /// rescheduling messages still go out). Unchanged when absent.
    pub notifications_opt_out: Option<bool>,
}

impl Validate for PatientProfile {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        rules::text(&mut errors, "name", &self.name, 120);
        if clinic::normalize_phone(&self.phone).is_none() {
            errors.push(FieldError::new(
                "phone",
                "must be a phone number such as +7 916 123-45-67",
            ));
        }
        if let Some(gender) = &self.gender {
            if !["female", "male", "other"].contains(&gender.as_str()) {
                errors.push(FieldError::new("gender", "must be female, male or other"));
            }
        }
        if self
            .birth_date
            .is_some_and(|date| date > Utc::now().date_naive())
        {
            errors.push(FieldError::new("birth_date", "must not be in the future"));
        }
        errors
    }
}

/// Create or change the signed-in patient's profile.
#[utoipa::path(
    tag = "appointments",
    request_body = PatientProfile,
    responses((status = 200, body = Patient), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[put("/patients/me")]
async fn save_my_profile(
    ctx: TenantCtx,
    body: ValidJson<PatientProfile>,
) -> Result<web::Json<Patient>, ApiError> {
    require_patient(&ctx)?;
    let body = body.0;
    let (user, tenant_id) = (ctx.user.user_id(), ctx.tenant_id);
    let changes = PatientChanges {
        user_id: Some(user),
        name: body.name.trim().to_owned(),
        phone: clinic::normalize_phone(&body.phone).unwrap_or_default(),
        birth_date: body.birth_date,
        gender: body.gender,
        notifications_opt_out: body.notifications_opt_out,
    };
    let audit = ctx.audit();
    let saved = ctx
        .tx(move |conn| {
            let own = appointments::patient_of_user(conn, user)?;
            let by_phone = appointments::patient_by_exact_phone(conn, &changes.phone)?;
            let saved = match (own, by_phone) {
                (Some(own), Some(other)) if other.id != own.id => {
                    return Err(ApiError::Conflict(
                        "another patient already has this phone".into(),
                    ))
                }
                (Some(own), _) => {
                    let after = appointments::update_patient(conn, own.id, &changes)?;
                    audit.updated(conn, "patient", own.id, &own, &after)?;
                    after
                }
                (None, Some(guest)) if guest.user_id.is_none() => {
                    let after = appointments::update_patient(conn, guest.id, &changes)?;
                    audit.updated(conn, "patient", guest.id, &guest, &after)?;
                    after
                }
                (None, Some(_)) => {
                    return Err(ApiError::Conflict(
                        "another patient already has this phone".into(),
                    ))
                }
                (None, None) => {
                    let created = appointments::insert_patient(
                        conn,
                        &Patient {
                            id: Uuid::now_v7(),
                            tenant_id,
                            user_id: Some(user),
                            name: changes.name.clone(),
                            phone: changes.phone.clone(),
                            birth_date: changes.birth_date,
                            gender: changes.gender.clone(),
                            notifications_opt_out: changes.notifications_opt_out.unwrap_or(false),
                            created_at: Utc::now(),
                        },
                    )?;
                    audit.created(conn, "patient", created.id, &created)?;
                    created
                }
            };
            Ok(saved)
        })
        .await?;
    Ok(web::Json(saved))
}
