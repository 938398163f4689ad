//! `available-slots`: a doctor's free times for a service, cached per node.

use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::{NaiveDate, Utc};
use cms_shared::clinic::SlotList;
use cms_shared::slots::Slot;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::clinic::{self, booking::doctor_and_service};
use crate::error::{ApiError, Problem};
use crate::http::etag::json_with_content_etag;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
pub struct SlotQuery {
    /// Doctor id or slug.
    pub doctor: String,
    /// Service id or slug.
    pub service: String,
    /// One local date (`2026-12-01`), or use `from` and `to`.
    pub date: Option<NaiveDate>,
    pub from: Option<NaiveDate>,
    /// Inclusive; at most 31 days after `from`.
    pub to: Option<NaiveDate>,
}

fn date_range(query: &SlotQuery) -> Result<(NaiveDate, NaiveDate), ApiError> {
    let (from, to) = match (query.date, query.from, query.to) {
        (Some(date), None, None) => (date, date),
        (None, Some(from), Some(to)) => (from, to),
        _ => {
            return Err(ApiError::invalid(
                "date",
                "give either date, or from and to",
            ))
        }
    };
    if to < from {
        return Err(ApiError::invalid("to", "must not be before from"));
    }
    if (to - from).num_days() >= clinic::MAX_RANGE_DAYS {
        return Err(ApiError::invalid(
            "to",
            "the range may span at most 31 days",
        ));
    }
    Ok((from, to))
}

/// Free slots of a doctor for a service, in the clinics' time zones.
#[utoipa::path(
    tag = "delivery",
    params(("site" = Uuid, Path), SlotQuery),
    responses((status = 200, body = SlotList), (status = 404, body = Problem), (status = 422, body = Problem))
)]
#[get("/delivery/sites/{site}/available-slots")]
pub(super) async fn available_slots(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    query: web::Query<SlotQuery>,
) -> Result<HttpResponse, ApiError> {
    let site = path.into_inner();
    let query = query.into_inner();
    let (from, to) = date_range(&query)?;
    let key = format!("{site}|{}|{}|{from}|{to}", query.doctor, query.service);
    let config = state.config.clone();
    let db = state.db.clone();
    let answer = state
        .slots
        .get_or_compute(key, async move {
            let items = db
                .site_read(site, move |conn| {
                    let (doctor, service) =
                        doctor_and_service(conn, &query.doctor, &query.service)?;
                    let rules = clinic::rules(&config, service.duration_minutes);
                    let slots =
                        clinic::doctor_slots(conn, doctor.id, &rules, from, to, Utc::now())?;
                    let items: Vec<Slot> = slots
                        .into_iter()
                        .filter(|slot| service.clinic_ids.contains(&slot.clinic))
                        .collect();
                    Ok(SlotList { items })
                })
                .await?;
            Ok(clinic::SlotsAnswer::new(&items))
        })
        .await?;
    // Slots change with every booking: browsers and CDNs revalidate each
    // time (the ETag still saves the body when nothing changed).
    Ok(json_with_content_etag(
        &req,
        answer.body.clone(),
        &answer.etag,
        "no-cache",
    ))
}
