//! `/api/v1/clinics` and `/api/v1/specializations` for editors, and their
//! public lists under `/api/v1/delivery/sites/{site}/...` for frontends and
//! the renderer. Row-level security confines every query to one tenant.

mod crud;
mod public;
mod specializations;

use chrono::Utc;
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::db::clinics::{Clinic, ClinicChanges};
use crate::error::{ApiError, FieldError};
use crate::http::json::{rules, Validate};
use crate::http::pagination::{PageQuery, PageRequest};

use crud::{create_clinic, delete_clinic, get_clinic, list_clinics, update_clinic};
use public::{public_clinic_data, public_clinics, public_specializations};
use specializations::{
    create_specialization, delete_specialization, get_specialization, list_specializations,
    update_specialization,
};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_clinics)
        .service(create_clinic)
        .service(get_clinic)
        .service(update_clinic)
        .service(delete_clinic)
        .service(list_specializations)
        .service(create_specialization)
        .service(get_specialization)
        .service(update_specialization)
        .service(delete_specialization)
        .service(public_clinics)
        .service(public_specializations)
        .service(public_clinic_data);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClinicBody {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    #[schema(value_type = Option<HashMap<String, serde_json::Value>>)]
    pub working_hours: Option<Value>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// IANA time zone, e.g. `Europe/Moscow`.
    pub time_zone: Option<String>,
    pub is_active: Option<bool>,
}

impl ClinicBody {
    /// The columns a PATCH changes (names trimmed, phones in E.164).
    fn changes(self) -> ClinicChanges {
        ClinicChanges {
            slug: self.slug,
            name: self.name.map(|name| name.trim().to_owned()),
            address: self.address,
            phone: self
                .phone
                .as_deref()
                .and_then(crate::clinic::normalize_phone),
            email: self.email,
            working_hours: self.working_hours,
            latitude: self.latitude.map(Some),
            longitude: self.longitude.map(Some),
            time_zone: self.time_zone,
            is_active: self.is_active,
            updated_at: Some(Utc::now()),
        }
    }

    fn check(&self, errors: &mut Vec<FieldError>) {
        if let Some(slug) = &self.slug {
            rules::slug(errors, "slug", slug);
        }
        if let Some(name) = &self.name {
            rules::text(errors, "name", name, 200);
        }
        if let Some(address) = &self.address {
            rules::text(errors, "address", address, 500);
        }
        if let Some(phone) = &self.phone {
            if crate::clinic::normalize_phone(phone).is_none() {
                errors.push(FieldError::new("phone", "must be a phone number"));
            }
        }
        if let Some(email) = &self.email {
            rules::email(errors, "email", email);
        }
        if self
            .working_hours
            .as_ref()
            .is_some_and(|hours| !hours.is_object())
        {
            errors.push(FieldError::new("working_hours", "must be a JSON object"));
        }
        if self.latitude.is_some() != self.longitude.is_some() {
            errors.push(FieldError::new(
                "latitude",
                "latitude and longitude come together",
            ));
        }
        if self.latitude.is_some_and(|v| !(-90.0..=90.0).contains(&v)) {
            errors.push(FieldError::new("latitude", "must be between -90 and 90"));
        }
        if self
            .longitude
            .is_some_and(|v| !(-180.0..=180.0).contains(&v))
        {
            errors.push(FieldError::new("longitude", "must be between -180 and 180"));
        }
        if let Some(zone) = &self.time_zone {
            if zone.parse::<Tz>().is_err() {
                errors.push(FieldError::new(
                    "time_zone",
                    "must be an IANA time zone such as Europe/Moscow",
                ));
            }
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(transparent)]
pub struct CreateClinic(pub ClinicBody);

impl CreateClinic {
    /// The new clinic, version 1 (required fields are checked by `validate`).
    fn clinic(self, tenant_id: Uuid) -> Clinic {
        let body = self.0;
        let now = Utc::now();
        Clinic {
            id: Uuid::now_v7(),
            tenant_id,
            slug: body.slug.unwrap_or_default(),
            name: body.name.unwrap_or_default().trim().to_owned(),
            address: body.address.unwrap_or_default(),
            phone: body
                .phone
                .as_deref()
                .and_then(crate::clinic::normalize_phone)
                .unwrap_or_default(),
            email: body.email.unwrap_or_default(),
            working_hours: body
                .working_hours
                .unwrap_or_else(|| Value::Object(Default::default())),
            latitude: body.latitude,
            longitude: body.longitude,
            time_zone: body.time_zone.unwrap_or_default(),
            is_active: body.is_active.unwrap_or(true),
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }
}

impl Validate for CreateClinic {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        for (field, missing) in [
            ("slug", self.0.slug.is_none()),
            ("name", self.0.name.is_none()),
            ("time_zone", self.0.time_zone.is_none()),
        ] {
            if missing {
                errors.push(FieldError::new(field, "is required"));
            }
        }
        self.0.check(&mut errors);
        errors
    }
}

impl Validate for ClinicBody {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        self.check(&mut errors);
        errors
    }
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ClinicQuery {
    /// Only active (`true`) or inactive (`false`) clinics.
    pub active: Option<bool>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

fn page_of(limit: Option<i64>, cursor: Option<String>) -> Result<PageRequest, ApiError> {
    PageRequest::try_from(PageQuery { limit, cursor })
}
