//! The public clinic answers: what `/api/v1/delivery/sites/{site}/...` tells
//! visitors about clinics, doctors, services, reviews and free slots, and the
//! clinic-data document renderers cache. Only what a visitor may see: no
//! tenant ids, no doctors' accounts, no patients.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::slots::Slot;

/// A clinic as visitors see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicClinic {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub address: String,
    pub phone: String,
    pub email: String,
    /// Opening hours as shown to visitors: `{"mon": [["09:00", "18:00"]], ...}`.
    #[cfg_attr(feature = "openapi", schema(value_type = HashMap<String, serde_json::Value>))]
    pub working_hours: Map<String, Value>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// IANA time zone (`Europe/Moscow`): slots are computed and shown in it.
    pub time_zone: String,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A medical specialization (cardiology, dentistry).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicSpecialization {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub description: String,
    /// A CSS class or icon name the frontend maps to an icon.
    pub icon: String,
    pub created_at: DateTime<Utc>,
}

/// A category of services; categories form a tree through `parent_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicServiceCategory {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub slug: String,
    pub name: String,
    /// Order among siblings.
    pub position: i32,
    pub created_at: DateTime<Utc>,
}

/// A service with the clinics that offer it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicService {
    pub id: Uuid,
    pub category_id: Uuid,
    pub slug: String,
    pub name: String,
    pub description: String,
    /// Price in minor units (kopecks, cents).
    pub price_minor: i64,
    /// ISO 4217 (`RUB`).
    pub currency: String,
    pub duration_minutes: i32,
    /// What the patient should do before the visit.
    pub preparation: String,
    pub is_active: bool,
    pub clinic_ids: Vec<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A doctor with their specialization, clinics and services.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicDoctor {
    pub id: Uuid,
    pub specialization_id: Uuid,
    /// The specialization's name.
    pub specialization: String,
    pub slug: String,
    pub name: String,
    /// Photo URL.
    pub photo: Option<String>,
    /// The photo from the tenant's media library, resolved like a block's
    /// image (renditions, placeholder); preferred over `photo` when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo_image: Option<crate::media::ResolvedImage>,
    pub bio: String,
    pub experience_years: i32,
    pub education: String,
    /// Certificates as the editors entered them (`{"title": ..., "year": ...}`).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<HashMap<String, serde_json::Value>>))]
    pub certificates: Vec<Value>,
    /// Price of a consultation in minor units, when it differs from the service's.
    pub consultation_price_minor: Option<i64>,
    /// Average of published reviews, two decimals; 0 without reviews.
    pub rating: f64,
    pub reviews_count: i32,
    pub is_active: bool,
    pub clinic_ids: Vec<Uuid>,
    pub service_ids: Vec<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A published review. The patient who wrote it is not named.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicReview {
    pub id: Uuid,
    pub doctor_id: Uuid,
    /// 1 to 5.
    pub rating: i32,
    pub comment: String,
    /// Tied to the patient's own completed appointment with this doctor.
    pub is_verified: bool,
    pub created_at: DateTime<Utc>,
}

/// `GET /delivery/sites/{site}/doctors/{doctor}`: a doctor with their latest
/// published reviews.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DoctorDetail {
    #[serde(flatten)]
    pub doctor: PublicDoctor,
    pub reviews: Vec<PublicReview>,
}

/// `GET /delivery/sites/{site}/clinics`: the site's active clinics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClinicList {
    pub items: Vec<PublicClinic>,
}

/// `GET /delivery/sites/{site}/specializations`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SpecializationList {
    pub items: Vec<PublicSpecialization>,
}

/// `GET /delivery/sites/{site}/clinic-data`: everything a landing shows about
/// the site's clinics, in one document renderers cache: active clinics,
/// specializations, service categories, active services, active doctors and
/// the latest published reviews.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClinicData {
    pub clinics: Vec<PublicClinic>,
    pub specializations: Vec<PublicSpecialization>,
    pub categories: Vec<PublicServiceCategory>,
    pub services: Vec<PublicService>,
    pub doctors: Vec<PublicDoctor>,
    pub reviews: Vec<PublicReview>,
}

/// `GET /delivery/sites/{site}/available-slots`: free slots, sorted by start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlotList {
    pub items: Vec<Slot>,
}
