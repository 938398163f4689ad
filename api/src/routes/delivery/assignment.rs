//! `assign`: which variant of each running experiment a visitor sees.

use actix_web::http::header;
use actix_web::{get, web, HttpResponse};
use cms_shared::delivery::Assignments;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::error::{ApiError, Problem};
use crate::state::AppState;

use super::live_page_json;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AssignQuery {
    /// The page's path.
    pub path: String,
    /// The visitor's stable id (1 to 64 of `A-Z a-z 0-9 - _ .`).
    pub visitor: String,
    /// Default: the site's default locale.
    pub locale: Option<String>,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    /// Feature flags, comma-separated, as targeting rules name them.
    pub flag: Option<String>,
    /// `1` when the visitor asked not to be tracked (Do Not Track, no consent):
    /// every experiment answers its control, untracked.
    pub dnt: Option<String>,
}

/// Variants of a page's running experiments for one visitor, decided as the
/// renderer decides them (the same hash in `cms-shared`), for frontends that
/// prefer the server to assign.
#[utoipa::path(
    tag = "delivery",
    params(("site" = Uuid, Path), AssignQuery),
    responses((status = 200, body = Assignments), (status = 404, body = Problem), (status = 422, body = Problem))
)]
#[get("/delivery/sites/{site}/assign")]
pub(super) async fn assign(
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    query: web::Query<AssignQuery>,
) -> Result<HttpResponse, ApiError> {
    let site_id = path.into_inner();
    let query = query.into_inner();
    if !crate::experiments::is_visitor_id(&query.visitor) {
        return Err(ApiError::invalid(
            "visitor",
            "must be 1 to 64 of A-Z a-z 0-9 - _ .",
        ));
    }
    let page_path =
        cms_shared::path::normalize_path(&query.path).map_err(|_| ApiError::NotFound)?;
    let locale = query.locale.clone().unwrap_or_default();
    let page = live_page_json(&state, site_id, &locale, &page_path).await?;
    let page_locale = page["locale"].as_str().unwrap_or_default().to_owned();
    let utm: Vec<(&'static str, String)> = [
        ("utm_source", &query.utm_source),
        ("utm_medium", &query.utm_medium),
        ("utm_campaign", &query.utm_campaign),
    ]
    .into_iter()
    .filter_map(|(key, value)| value.clone().map(|value| (key, value)))
    .collect();
    let flags = cms_shared::experiments::flags_from_query(&format!(
        "flag={}",
        query.flag.as_deref().unwrap_or_default()
    ));
    let visitor = cms_shared::experiments::Visitor {
        id: &query.visitor,
        locale: &page_locale,
        utm: &utm,
        flags: &flags,
        tracking_allowed: query.dnt.as_deref() != Some("1"),
    };
    let assignments = cms_shared::experiments::experiments_of(&page)
        .iter()
        .map(|experiment| cms_shared::experiments::assign(experiment, &visitor))
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "private, max-age=60"))
        .json(Assignments {
            visitor: query.visitor,
            assignments,
        }))
}
