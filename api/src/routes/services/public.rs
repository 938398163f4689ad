//! Services as a site's visitors see them (delivery, no authentication).

use actix_web::{get, web, HttpRequest, HttpResponse};
use uuid::Uuid;

use cms_shared::clinic::PublicService;

use crate::clinic::public;
use crate::db::services;
use crate::error::{ApiError, Problem};
use crate::http::etag::public_json;
use crate::http::pagination::{ListResponse, PageQuery, PageRequest};
use crate::state::AppState;

use super::{filter_from, ServiceQuery};

/// The site's active services, with the same filters as the editor list.
#[utoipa::path(
    tag = "delivery",
    params(("site" = Uuid, Path), ServiceQuery),
    responses((status = 200, body = ListResponse<PublicService>), (status = 304), (status = 404, body = Problem))
)]
#[get("/delivery/sites/{site}/services")]
pub(super) async fn public_services(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    query: web::Query<ServiceQuery>,
) -> Result<HttpResponse, ApiError> {
    let site = path.into_inner();
    let query = query.into_inner();
    let page = PageRequest::try_from(PageQuery {
        limit: query.limit,
        cursor: query.cursor.clone(),
    })?;
    let rows = state
        .db
        .site_read(site, {
            let page = page.clone();
            move |conn| match filter_from(conn, &query, true)? {
                Some(filter) => Ok(services::list(conn, &filter, &page)?),
                None => Ok(Vec::new()),
            }
        })
        .await?;
    let list = ListResponse::from_rows(rows, &page, |s| s.id);
    Ok(public_json(&req, &list.map(public::public_services)))
}
