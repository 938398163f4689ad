//! Doctors as a site's visitors see them (delivery, no authentication).

use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::doctors::{self, Doctor};
use crate::db::reviews::{self, Review};
use crate::error::{ApiError, Problem};
use crate::http::etag::public_json;
use crate::http::pagination::{ListResponse, PageRequest};
use crate::state::AppState;

use super::{filter_from, page_of, DoctorQuery};

/// The site's active doctors, with the same filters as the editor list.
#[utoipa::path(
    tag = "delivery",
    params(("site" = Uuid, Path), DoctorQuery),
    responses((status = 200, body = ListResponse<Doctor>), (status = 304), (status = 404, body = Problem))
)]
#[get("/delivery/sites/{site}/doctors")]
pub(super) async fn public_doctors(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    query: web::Query<DoctorQuery>,
) -> Result<HttpResponse, ApiError> {
    let site = path.into_inner();
    let query = query.into_inner();
    let page = page_of(&query)?;
    let rows = state
        .db
        .site_tx(site, {
            let page = page.clone();
            move |conn| match filter_from(conn, &query, true)? {
                Some(filter) => Ok(doctors::list(conn, &filter, &page)?),
                None => Ok(Vec::new()),
            }
        })
        .await?;
    Ok(public_json(
        &req,
        &ListResponse::from_rows(rows, &page, |d| d.id),
    ))
}

/// A doctor with their latest published reviews.
#[derive(Debug, Serialize, ToSchema)]
pub struct DoctorDetail {
    #[serde(flatten)]
    pub doctor: Doctor,
    pub reviews: Vec<Review>,
}

/// One doctor (by id or slug) with published reviews.
#[utoipa::path(
    tag = "delivery",
    params(("site" = Uuid, Path), ("doctor" = String, Path, description = "id or slug")),
    responses((status = 200, body = DoctorDetail), (status = 304), (status = 404, body = Problem))
)]
#[get("/delivery/sites/{site}/doctors/{doctor}")]
pub(super) async fn public_doctor(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, String)>,
) -> Result<HttpResponse, ApiError> {
    let (site, key) = path.into_inner();
    let detail = state
        .db
        .site_tx(site, move |conn| {
            let id = doctors::resolve(conn, &key)?.ok_or(ApiError::NotFound)?;
            let doctor = doctors::find(conn, id)?
                .filter(|doctor| doctor.is_active)
                .ok_or(ApiError::NotFound)?;
            let page = PageRequest {
                limit: 20,
                after: None,
            };
            let reviews = reviews::list(conn, Some(id), true, &page)?;
            Ok(DoctorDetail { doctor, reviews })
        })
        .await?;
    Ok(public_json(&req, &detail))
}
