//! Doctors as a site's visitors see them (delivery, no authentication).

use actix_web::{get, web, HttpRequest, HttpResponse};
use cms_shared::clinic::{DoctorDetail, PublicDoctor};
use uuid::Uuid;

use crate::clinic::public;
use crate::db::doctors;
use crate::error::{ApiError, Problem};
use crate::http::etag::public_json;
use crate::http::pagination::ListResponse;
use crate::state::AppState;

use super::{filter_from, page_of, DoctorQuery};

/// The site's active doctors, with the same filters as the editor list.
#[utoipa::path(
    tag = "delivery",
    params(("site" = Uuid, Path), DoctorQuery),
    responses((status = 200, body = ListResponse<PublicDoctor>), (status = 304), (status = 404, body = Problem))
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
    let media = state.config.media.clone();
    let rows = state
        .db
        .site_read(site, {
            let page = page.clone();
            move |conn| match filter_from(conn, &query, true)? {
                Some(filter) => {
                    let rows = doctors::list(conn, &filter, &page)?;
                    public::public_doctors(conn, &media, rows)
                }
                None => Ok(Vec::new()),
            }
        })
        .await?;
    let list = ListResponse::from_rows(rows, &page, |d| d.id);
    Ok(public_json(&req, &list))
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
    let media = state.config.media.clone();
    let detail = state
        .db
        .site_read(site, move |conn| public::doctor_detail(conn, &media, &key))
        .await?;
    Ok(public_json(&req, &detail))
}
