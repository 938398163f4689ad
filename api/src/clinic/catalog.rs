//! Writes to the clinic catalogue: clinics, specializations, service
//! categories, services and doctors. Each runs inside the caller's
//! transaction and leaves its audit record there. A change or a delete first
//! locks the row (`FOR UPDATE`) and checks `If-Match` against its version;
//! the UPDATE bumps the version, so two editors never overwrite each other.

use diesel::PgConnection;
use uuid::Uuid;

use crate::db::audit::Audit;
use crate::db::clinics::{self, Clinic, ClinicChanges, Specialization, SpecializationChanges};
use crate::db::doctors::{self, Doctor, DoctorChanges, DoctorRow};
use crate::db::media as media_store;
use crate::db::services::{
    self, CategoryChanges, Service, ServiceCategory, ServiceChanges, ServiceRow,
};
use crate::error::ApiError;
use crate::http::etag::IfMatch;

/// The locked row, if it exists (404) and `If-Match` names its version (412).
fn checked<T>(
    row: Option<T>,
    if_match: &IfMatch,
    version: impl Fn(&T) -> i32,
) -> Result<T, ApiError> {
    let row = row.ok_or(ApiError::NotFound)?;
    if_match.check(version(&row))?;
    Ok(row)
}

/// New links of a service or doctor: `None` keeps the current ones.
#[derive(Debug, Default)]
pub struct Links {
    pub clinic_ids: Option<Vec<Uuid>>,
    pub service_ids: Option<Vec<Uuid>>,
}

pub fn create_clinic(
    conn: &mut PgConnection,
    audit: &Audit,
    clinic: &Clinic,
) -> Result<Clinic, ApiError> {
    let created = clinics::insert(conn, clinic)?;
    audit.created(conn, "clinic", created.id, &created)?;
    Ok(created)
}

pub fn update_clinic(
    conn: &mut PgConnection,
    audit: &Audit,
    id: Uuid,
    if_match: &IfMatch,
    changes: &ClinicChanges,
) -> Result<Clinic, ApiError> {
    let before = checked(clinics::lock(conn, id)?, if_match, |row| row.version)?;
    let after = clinics::update(conn, id, changes)?;
    audit.updated(conn, "clinic", id, &before, &after)?;
    Ok(after)
}

/// Deletes a clinic (409 while appointments refer to it).
pub fn delete_clinic(
    conn: &mut PgConnection,
    audit: &Audit,
    id: Uuid,
    if_match: &IfMatch,
) -> Result<(), ApiError> {
    let before = checked(clinics::lock(conn, id)?, if_match, |row| row.version)?;
    clinics::delete(conn, id)?;
    audit.deleted(conn, "clinic", id, &before)
}

pub fn create_specialization(
    conn: &mut PgConnection,
    audit: &Audit,
    specialization: &Specialization,
) -> Result<Specialization, ApiError> {
    let created = clinics::insert_specialization(conn, specialization)?;
    audit.created(conn, "specialization", created.id, &created)?;
    Ok(created)
}

pub fn update_specialization(
    conn: &mut PgConnection,
    audit: &Audit,
    id: Uuid,
    if_match: &IfMatch,
    changes: &SpecializationChanges,
) -> Result<Specialization, ApiError> {
    let before = checked(clinics::lock_specialization(conn, id)?, if_match, |row| {
        row.version
    })?;
    let after = clinics::update_specialization(conn, id, changes)?;
    audit.updated(conn, "specialization", id, &before, &after)?;
    Ok(after)
}

/// Deletes a specialization (409 while doctors have it).
pub fn delete_specialization(
    conn: &mut PgConnection,
    audit: &Audit,
    id: Uuid,
    if_match: &IfMatch,
) -> Result<(), ApiError> {
    let before = checked(clinics::lock_specialization(conn, id)?, if_match, |row| {
        row.version
    })?;
    clinics::delete_specialization(conn, id)?;
    audit.deleted(conn, "specialization", id, &before)
}

fn require_category(conn: &mut PgConnection, field: &str, id: Uuid) -> Result<(), ApiError> {
    if services::category_subtree(conn, &id.to_string())?.is_empty() {
        return Err(ApiError::invalid(field, "is not a category"));
    }
    Ok(())
}

/// Creates a category under an existing parent (or at the top level).
pub fn create_category(
    conn: &mut PgConnection,
    audit: &Audit,
    category: &ServiceCategory,
) -> Result<ServiceCategory, ApiError> {
    if let Some(parent) = category.parent_id {
        require_category(conn, "parent_id", parent)?;
    }
    let created = services::insert_category(conn, category)?;
    audit.created(conn, "service_category", created.id, &created)?;
    Ok(created)
}

/// Renames, moves (never under itself or one of its own subcategories) or
/// reorders a category.
pub fn update_category(
    conn: &mut PgConnection,
    audit: &Audit,
    id: Uuid,
    if_match: &IfMatch,
    changes: &CategoryChanges,
) -> Result<ServiceCategory, ApiError> {
    let before = checked(services::lock_category(conn, id)?, if_match, |row| {
        row.version
    })?;
    if let Some(Some(parent)) = changes.parent_id {
        if services::lock_category(conn, parent)?.is_none() {
            return Err(ApiError::invalid("parent_id", "no such category"));
        }
        if services::would_cycle(conn, id, parent)? {
            return Err(ApiError::invalid(
                "parent_id",
                "a category cannot move under itself or one of its subcategories",
            ));
        }
    }
    let after = services::update_category(conn, id, changes)?;
    audit.updated(conn, "service_category", id, &before, &after)?;
    Ok(after)
}

/// Deletes a category with its subcategories (409 while services belong to them).
pub fn delete_category(
    conn: &mut PgConnection,
    audit: &Audit,
    id: Uuid,
    if_match: &IfMatch,
) -> Result<(), ApiError> {
    let before = checked(services::lock_category(conn, id)?, if_match, |row| {
        row.version
    })?;
    services::delete_category(conn, id)?;
    audit.deleted(conn, "service_category", id, &before)
}

fn require_clinics(conn: &mut PgConnection, ids: &[Uuid]) -> Result<(), ApiError> {
    if clinics::find_many(conn, ids)?.len() != ids.len() {
        return Err(ApiError::invalid("clinic_ids", "names an unknown clinic"));
    }
    Ok(())
}

fn require_services(conn: &mut PgConnection, ids: &[Uuid]) -> Result<(), ApiError> {
    if services::count_existing(conn, ids)? != ids.len() {
        return Err(ApiError::invalid("service_ids", "names an unknown service"));
    }
    Ok(())
}

/// A doctor's photo must be an image of the tenant's library (another
/// tenant's media is invisible here, so it is unknown too).
fn require_photo(conn: &mut PgConnection, id: Option<Uuid>) -> Result<(), ApiError> {
    let Some(id) = id else {
        return Ok(());
    };
    match media_store::find(conn, id)? {
        Some(media) if media.deleted_at.is_none() => Ok(()),
        _ => Err(ApiError::invalid(
            "photo_media_id",
            "is not a media of this tenant's library",
        )),
    }
}

fn require_specialization(conn: &mut PgConnection, id: Uuid) -> Result<(), ApiError> {
    if clinics::resolve_specialization(conn, &id.to_string())?.is_none() {
        return Err(ApiError::invalid(
            "specialization_id",
            "is not a specialization",
        ));
    }
    Ok(())
}

/// Creates a service offered at `clinic_ids` (distinct ids).
pub fn create_service(
    conn: &mut PgConnection,
    audit: &Audit,
    row: &ServiceRow,
    clinic_ids: &[Uuid],
) -> Result<Service, ApiError> {
    require_category(conn, "category_id", row.category_id)?;
    require_clinics(conn, clinic_ids)?;
    let created = services::insert(conn, row, clinic_ids)?;
    audit.created(conn, "service", created.id, &created)?;
    Ok(created)
}

/// Changes a service; `links.clinic_ids` replaces its clinics when given.
pub fn update_service(
    conn: &mut PgConnection,
    audit: &Audit,
    id: Uuid,
    if_match: &IfMatch,
    changes: &ServiceChanges,
    links: &Links,
) -> Result<Service, ApiError> {
    let before = checked(services::lock(conn, id)?, if_match, |row| row.version)?;
    if let Some(category) = changes.category_id {
        require_category(conn, "category_id", category)?;
    }
    if let Some(ids) = &links.clinic_ids {
        require_clinics(conn, ids)?;
    }
    let after = services::update(conn, id, changes, links.clinic_ids.as_deref())?
        .ok_or(ApiError::NotFound)?;
    audit.updated(conn, "service", id, &before, &after)?;
    Ok(after)
}

/// Deletes a service (409 while appointments refer to it).
pub fn delete_service(
    conn: &mut PgConnection,
    audit: &Audit,
    id: Uuid,
    if_match: &IfMatch,
) -> Result<(), ApiError> {
    let before = checked(services::lock(conn, id)?, if_match, |row| row.version)?;
    services::delete(conn, id)?;
    audit.deleted(conn, "service", id, &before)
}

/// Creates a doctor working at `clinic_ids` and offering `service_ids`
/// (distinct ids).
pub fn create_doctor(
    conn: &mut PgConnection,
    audit: &Audit,
    row: &DoctorRow,
    clinic_ids: &[Uuid],
    service_ids: &[Uuid],
) -> Result<Doctor, ApiError> {
    require_specialization(conn, row.specialization_id)?;
    require_clinics(conn, clinic_ids)?;
    require_services(conn, service_ids)?;
    require_photo(conn, row.photo_media_id)?;
    let created = doctors::insert(conn, row, clinic_ids, service_ids)?;
    audit.created(conn, "doctor", created.id, &created)?;
    Ok(created)
}

/// Changes a doctor; `links` replace their clinics and services when given.
pub fn update_doctor(
    conn: &mut PgConnection,
    audit: &Audit,
    id: Uuid,
    if_match: &IfMatch,
    changes: &DoctorChanges,
    links: &Links,
) -> Result<Doctor, ApiError> {
    let before = checked(doctors::lock(conn, id)?, if_match, |row| row.version)?;
    if let Some(specialization) = changes.specialization_id {
        require_specialization(conn, specialization)?;
    }
    if let Some(ids) = &links.clinic_ids {
        require_clinics(conn, ids)?;
    }
    if let Some(ids) = &links.service_ids {
        require_services(conn, ids)?;
    }
    if let Some(photo) = changes.photo_media_id {
        require_photo(conn, photo)?;
    }
    let after = doctors::update(
        conn,
        id,
        changes,
        links.clinic_ids.as_deref(),
        links.service_ids.as_deref(),
    )?
    .ok_or(ApiError::NotFound)?;
    audit.updated(conn, "doctor", id, &before, &after)?;
    Ok(after)
}

/// Deletes a doctor (409 while appointments refer to them).
pub fn delete_doctor(
    conn: &mut PgConnection,
    audit: &Audit,
    id: Uuid,
    if_match: &IfMatch,
) -> Result<(), ApiError> {
    let before = checked(doctors::lock(conn, id)?, if_match, |row| row.version)?;
    doctors::delete(conn, id)?;
    audit.deleted(conn, "doctor", id, &before)
}
