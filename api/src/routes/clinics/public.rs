//! Clinics, specializations and a site's clinic data as visitors see them.

use actix_web::{get, web, HttpRequest, HttpResponse};
use cms_shared::clinic::{ClinicData, ClinicList, SpecializationList};
use uuid::Uuid;

use crate::clinic::public;
use crate::error::{ApiError, Problem};
use crate::http::etag::public_json;
use crate::state::AppState;

/// The site's active clinics, for frontends and the renderer.
#[utoipa::path(
    tag = "delivery",
    params(("site" = Uuid, Path)),
    responses((status = 200, body = ClinicList), (status = 304), (status = 404, body = Problem))
)]
#[get("/delivery/sites/{site}/clinics")]
pub(super) async fn public_clinics(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let items = state
        .db
        .site_read(path.into_inner(), public::active_clinics)
        .await?;
    Ok(public_json(&req, &ClinicList { items }))
}

/// The site's specializations.
#[utoipa::path(
    tag = "delivery",
    params(("site" = Uuid, Path)),
    responses((status = 200, body = SpecializationList), (status = 304), (status = 404, body = Problem))
)]
#[get("/delivery/sites/{site}/specializations")]
pub(super) async fn public_specializations(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let items = state
        .db
        .site_read(path.into_inner(), public::specializations)
        .await?;
    Ok(public_json(&req, &SpecializationList { items }))
}

/// The site's clinic data for landings (a fixed number of queries):
/// clinics, specializations, service categories, services, active doctors
/// and the latest published reviews.
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
    let media = state.config.media.clone();
    let data = state
        .db
        .site_read(path.into_inner(), move |conn| {
            public::clinic_data(conn, &media)
        })
        .await?;
    Ok(public_json(&req, &data))
}
