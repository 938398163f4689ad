//! `/api/v1/doctors` with their weekly schedule and its exceptions, for
//! editors; the public doctor list and detail (with published reviews) under
//! `/api/v1/delivery/sites/{site}/doctors`. Filters take an id or a slug.

mod crud;
mod exceptions;
mod public;
mod schedule;

use chrono::NaiveTime;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::db::doctors::DoctorFilter;
use crate::db::{clinics, services};
use crate::error::ApiError;
use crate::http::pagination::{PageQuery, PageRequest};

use crud::{create_doctor, delete_doctor, get_doctor, list_doctors, update_doctor};
use exceptions::{add_exception, delete_exception, list_exceptions};
use public::{public_doctor, public_doctors};
use schedule::{get_schedule, put_schedule};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_doctors)
        .service(create_doctor)
        .service(get_doctor)
        .service(get_schedule)
        .service(put_schedule)
        .service(add_exception)
        .service(list_exceptions)
        .service(update_doctor)
        .service(delete_doctor)
        .service(delete_exception)
        .service(public_doctors)
        .service(public_doctor);
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct DoctorQuery {
    /// A specialization id or slug (`cardiology`).
    pub specialization: Option<String>,
    /// A clinic id or slug.
    pub clinic: Option<String>,
    /// A service id or slug.
    pub service: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

fn filter_from(
    conn: &mut diesel::PgConnection,
    query: &DoctorQuery,
    active_only: bool,
) -> Result<Option<DoctorFilter>, ApiError> {
    let mut filter = DoctorFilter {
        active_only,
        ..DoctorFilter::default()
    };
    if let Some(key) = &query.specialization {
        match clinics::resolve_specialization(conn, key)? {
            Some(id) => filter.specialization = Some(id),
            None => return Ok(None),
        }
    }
    if let Some(key) = &query.clinic {
        match clinics::resolve(conn, key)? {
            Some(id) => filter.clinic = Some(id),
            None => return Ok(None),
        }
    }
    if let Some(key) = &query.service {
        match services::resolve(conn, key)? {
            Some(id) => filter.service = Some(id),
            None => return Ok(None),
        }
    }
    Ok(Some(filter))
}

fn page_of(query: &DoctorQuery) -> Result<PageRequest, ApiError> {
    PageRequest::try_from(PageQuery {
        limit: query.limit,
        cursor: query.cursor.clone(),
    })
}

fn parse_time(value: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(value, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(value, "%H:%M:%S"))
        .ok()
}
