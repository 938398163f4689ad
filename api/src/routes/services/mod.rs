//! `/api/v1/service-categories` (a tree) and `/api/v1/services` for editors,
//! and the public service list under `/api/v1/delivery/sites/{site}/services`.
//! `?category=` takes an id or a slug and includes its subcategories.

mod categories;
mod crud;
mod public;

use serde::Deserialize;
use utoipa::IntoParams;

use crate::db::services::{self, ServiceFilter};
use crate::db::{clinics, doctors};
use crate::error::ApiError;

use categories::{
    create_category, delete_category, get_category, list_categories, update_category,
};
use crud::{create_service, delete_service, get_service, list_services, update_service};
use public::public_services;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_categories)
        .service(create_category)
        .service(list_services)
        .service(create_service)
        .service(get_service)
        .service(update_service)
        .service(delete_service)
        .service(get_category)
        .service(update_category)
        .service(delete_category)
        .service(public_services);
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ServiceQuery {
    /// A category id or slug; its subcategories are included.
    pub category: Option<String>,
    /// A clinic id or slug.
    pub clinic: Option<String>,
    /// A doctor id or slug.
    pub doctor: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

fn filter_from(
    conn: &mut diesel::PgConnection,
    query: &ServiceQuery,
    active_only: bool,
) -> Result<Option<ServiceFilter>, ApiError> {
    let mut filter = ServiceFilter {
        active_only,
        ..ServiceFilter::default()
    };
    if let Some(category) = &query.category {
        let ids = services::category_subtree(conn, category)?;
        if ids.is_empty() {
            return Ok(None);
        }
        filter.categories = Some(ids);
    }
    if let Some(clinic) = &query.clinic {
        match clinics::resolve(conn, clinic)? {
            Some(id) => filter.clinic = Some(id),
            None => return Ok(None),
        }
    }
    if let Some(doctor) = &query.doctor {
        match doctors::resolve(conn, doctor)? {
            Some(id) => filter.doctor = Some(id),
            None => return Ok(None),
        }
    }
    Ok(Some(filter))
}
