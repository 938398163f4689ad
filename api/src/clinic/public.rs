//! What visitors may see of the clinic records: the stored rows turned into
//! the public answers of `cms_shared::clinic` (no tenant ids, no doctors'
//! accounts, no patients), and the clinic-data document landings read.

use cms_shared::clinic::{
    ClinicData, DoctorDetail, PublicClinic, PublicDoctor, PublicReview, PublicService,
    PublicServiceCategory, PublicSpecialization,
};
use std::collections::HashMap;

use diesel::PgConnection;
use serde_json::Value;
use uuid::Uuid;

use crate::config::MediaConfig;
use crate::db::clinics::{self, Clinic, Specialization};
use crate::db::cursor::PageRequest;
use crate::db::doctors::{self, Doctor, DoctorFilter};
use crate::db::media::{self as media_store, Media};
use crate::db::reviews::{self, Review};
use crate::db::services::{self, Service, ServiceCategory, ServiceFilter};
use crate::error::ApiError;
use crate::media::resolve;

/// Records of one kind a public answer lists at most.
const PUBLIC_LIST_LIMIT: i64 = 200;
/// Published reviews the clinic-data document carries.
const CLINIC_DATA_REVIEWS: i64 = 50;
/// Published reviews a doctor's page carries.
const DOCTOR_REVIEWS: i64 = 20;

fn first(limit: i64) -> PageRequest {
    PageRequest { limit, after: None }
}

impl From<Clinic> for PublicClinic {
    fn from(clinic: Clinic) -> Self {
        PublicClinic {
            id: clinic.id,
            slug: clinic.slug,
            name: clinic.name,
            address: clinic.address,
            phone: clinic.phone,
            email: clinic.email,
            // Writes accept objects only (`routes::clinics`).
            working_hours: match clinic.working_hours {
                Value::Object(hours) => hours,
                _ => serde_json::Map::new(),
            },
            latitude: clinic.latitude,
            longitude: clinic.longitude,
            time_zone: clinic.time_zone,
            is_active: clinic.is_active,
            created_at: clinic.created_at,
            updated_at: clinic.updated_at,
        }
    }
}

impl From<Specialization> for PublicSpecialization {
    fn from(specialization: Specialization) -> Self {
        PublicSpecialization {
            id: specialization.id,
            slug: specialization.slug,
            name: specialization.name,
            description: specialization.description,
            icon: specialization.icon,
            created_at: specialization.created_at,
        }
    }
}

impl From<ServiceCategory> for PublicServiceCategory {
    fn from(category: ServiceCategory) -> Self {
        PublicServiceCategory {
            id: category.id,
            parent_id: category.parent_id,
            slug: category.slug,
            name: category.name,
            position: category.position,
            created_at: category.created_at,
        }
    }
}

impl From<Service> for PublicService {
    fn from(service: Service) -> Self {
        PublicService {
            id: service.id,
            category_id: service.category_id,
            slug: service.slug,
            name: service.name,
            description: service.description,
            price_minor: service.price_minor,
            currency: service.currency,
            duration_minutes: service.duration_minutes,
            preparation: service.preparation,
            is_active: service.is_active,
            clinic_ids: service.clinic_ids,
            created_at: service.created_at,
            updated_at: service.updated_at,
        }
    }
}

impl From<Doctor> for PublicDoctor {
    fn from(doctor: Doctor) -> Self {
        PublicDoctor {
            id: doctor.id,
            specialization_id: doctor.specialization_id,
            specialization: doctor.specialization,
            slug: doctor.slug,
            name: doctor.name,
            photo: doctor.photo,
            photo_image: None,
            bio: doctor.bio,
            experience_years: doctor.experience_years,
            education: doctor.education,
            // Writes accept arrays only (`routes::doctors`).
            certificates: match doctor.certificates {
                Value::Array(certificates) => certificates,
                _ => Vec::new(),
            },
            consultation_price_minor: doctor.consultation_price_minor,
            rating: doctor.rating,
            reviews_count: doctor.reviews_count,
            is_active: doctor.is_active,
            clinic_ids: doctor.clinic_ids,
            service_ids: doctor.service_ids,
            created_at: doctor.created_at,
            updated_at: doctor.updated_at,
        }
    }
}

impl From<Review> for PublicReview {
    fn from(review: Review) -> Self {
        PublicReview {
            id: review.id,
            doctor_id: review.doctor_id,
            rating: review.rating,
            comment: review.comment,
            is_verified: review.is_verified,
            created_at: review.created_at,
        }
    }
}

fn public<T, P: From<T>>(rows: Vec<T>) -> Vec<P> {
    rows.into_iter().map(P::from).collect()
}

/// The scope's active clinics.
pub fn active_clinics(conn: &mut PgConnection) -> Result<Vec<PublicClinic>, ApiError> {
    Ok(public(clinics::list(
        conn,
        Some(true),
        &first(PUBLIC_LIST_LIMIT),
    )?))
}

pub fn specializations(conn: &mut PgConnection) -> Result<Vec<PublicSpecialization>, ApiError> {
    Ok(public(clinics::list_specializations(conn)?))
}

/// An active doctor (by id or slug) with their latest published reviews.
pub fn doctor_detail(
    conn: &mut PgConnection,
    media: &MediaConfig,
    key: &str,
) -> Result<DoctorDetail, ApiError> {
    let id = doctors::resolve(conn, key)?.ok_or(ApiError::NotFound)?;
    let doctor = doctors::find(conn, id)?
        .filter(|doctor| doctor.is_active)
        .ok_or(ApiError::NotFound)?;
    let reviews = reviews::list(conn, Some(id), true, &first(DOCTOR_REVIEWS))?;
    let doctor = public_doctors(conn, media, vec![doctor])?
        .pop()
        .ok_or(ApiError::NotFound)?;
    Ok(DoctorDetail {
        doctor,
        reviews: public(reviews),
    })
}

/// The clinic-data document, in a fixed number of queries.
pub fn clinic_data(conn: &mut PgConnection, media: &MediaConfig) -> Result<ClinicData, ApiError> {
    let all = first(PUBLIC_LIST_LIMIT);
    let active_services = ServiceFilter {
        active_only: true,
        ..Default::default()
    };
    let active_doctors = DoctorFilter {
        active_only: true,
        ..Default::default()
    };
    Ok(ClinicData {
        clinics: active_clinics(conn)?,
        specializations: specializations(conn)?,
        categories: public(services::list_categories(conn)?),
        services: public(services::list(conn, &active_services, &all)?),
        doctors: {
            let rows = doctors::list(conn, &active_doctors, &all)?;
            public_doctors(conn, media, rows)?
        },
        reviews: public(reviews::list(
            conn,
            None,
            true,
            &first(CLINIC_DATA_REVIEWS),
        )?),
    })
}

/// Doctors as visitors see them, their photos from the media library
/// resolved (alt text: the media's, else the doctor's name).
pub fn public_doctors(
    conn: &mut PgConnection,
    media: &MediaConfig,
    rows: Vec<Doctor>,
) -> Result<Vec<PublicDoctor>, ApiError> {
    let ids: Vec<Uuid> = rows
        .iter()
        .filter_map(|doctor| doctor.photo_media_id)
        .collect();
    let found: HashMap<Uuid, Media> = if ids.is_empty() {
        HashMap::new()
    } else {
        media_store::find_many(conn, &ids)?
            .into_iter()
            .map(|found| (found.id, found))
            .collect()
    };
    Ok(rows
        .into_iter()
        .map(|doctor| {
            let photo_image = doctor
                .photo_media_id
                .and_then(|id| found.get(&id))
                .map(|photo| {
                    let alt =
                        (photo.alt.is_empty() && !photo.decorative).then_some(doctor.name.as_str());
                    resolve::resolved(media, photo, alt)
                });
            let mut public = PublicDoctor::from(doctor);
            public.photo_image = photo_image;
            public
        })
        .collect())
}

/// Services of a public list, as visitors see them.
pub fn public_services(rows: Vec<Service>) -> Vec<PublicService> {
    public(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use uuid::Uuid;

    #[test]
    fn public_reviews_do_not_name_the_patient() {
        let review = Review {
            id: Uuid::now_v7(),
            tenant_id: Uuid::now_v7(),
            patient_id: Uuid::now_v7(),
            doctor_id: Uuid::now_v7(),
            appointment_id: Some(Uuid::now_v7()),
            rating: 5,
            comment: "Kind and careful".into(),
            is_verified: true,
            is_published: true,
            moderated_at: None,
            created_at: Utc::now(),
        };
        let patient = review.patient_id.to_string();
        let appointment = review.appointment_id.unwrap().to_string();
        let json = serde_json::to_string(&PublicReview::from(review)).unwrap();
        assert!(
            !json.contains(&patient) && !json.contains(&appointment),
            "{json}"
        );
        assert!(json.contains("Kind and careful"));
    }
}
