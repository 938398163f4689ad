//! Clinics, specializations and a site's clinic data as visitors see them.

use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::clinics::{self, Clinic, Specialization};
use crate::error::{ApiError, Problem};
use crate::http::etag::public_json;
use crate::http::pagination::PageRequest;
use crate::state::AppState;

/// The site's active clinics, for frontends and the renderer.
#[utoipa::path(
    tag = "delivery",
    params(("site" = Uuid, Path)),
    responses((status = 200, body = Vec<Clinic>), (status = 304), (status = 404, body = Problem))
)]
#[get("/delivery/sites/{site}/clinics")]
pub(super) async fn public_clinics(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let site = path.into_inner();
    let page = PageRequest {
        limit: 200,
        after: None,
    };
    let rows = state
        .db
        .site_tx(site, move |conn| {
            Ok(clinics::list(conn, Some(true), &page)?)
        })
        .await?;
    Ok(public_json(&req, &serde_json::json!({ "items": rows })))
}

/// The site's specializations.
#[utoipa::path(
    tag = "delivery",
    params(("site" = Uuid, Path)),
    responses((status = 200, body = Vec<Specialization>), (status = 304), (status = 404, body = Problem))
)]
#[get("/delivery/sites/{site}/specializations")]
pub(super) async fn public_specializations(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let site = path.into_inner();
    let rows = state
        .db
        .site_tx(site, |conn| Ok(clinics::list_specializations(conn)?))
        .await?;
    Ok(public_json(&req, &serde_json::json!({ "items": rows })))
}

/// Everything a landing shows about the site's clinics, in one document the
/// renderer caches: clinics, specializations, service categories, services,
/// doctors (active ones) and the latest published reviews.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClinicData {
    pub clinics: Vec<Clinic>,
    pub specializations: Vec<Specialization>,
    pub categories: Vec<crate::db::services::ServiceCategory>,
    pub services: Vec<crate::db::services::Service>,
    pub doctors: Vec<crate::db::doctors::Doctor>,
    pub reviews: Vec<crate::db::reviews::Review>,
}

/// The site's clinic data for landings (a fixed number of queries).
#[utoipa::path(
    tag = "delivery",
    params(("site" = Uuid, Path)),
    responses((status = 200, body = ClinicData), (status = 304), (status = 404, body = Problem))
)]
#[get("/delivery/sites/{site}/clinic-data")]
pub(super) async fn public_clinic_data(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    use crate::db::{doctors, reviews, services};
    let site = path.into_inner();
    let data = state
        .db
        .site_tx(site, move |conn| {
            let all = PageRequest {
                limit: 200,
                after: None,
            };
            Ok(ClinicData {
                clinics: clinics::list(conn, Some(true), &all)?,
                specializations: clinics::list_specializations(conn)?,
                categories: services::list_categories(conn)?,
                services: services::list(
                    conn,
                    &services::ServiceFilter {
                        active_only: true,
                        ..Default::default()
                    },
                    &all,
                )?,
                doctors: doctors::list(
                    conn,
                    &doctors::DoctorFilter {
                        active_only: true,
                        ..Default::default()
                    },
                    &all,
                )?,
                reviews: reviews::list(
                    conn,
                    None,
                    true,
                    &PageRequest {
                        limit: 50,
                        after: None,
                    },
                )?,
            })
        })
        .await?;
    Ok(public_json(&req, &data))
}
