//! The booking widget's two requests: `GET /_cms/slots` passes the free
//! slots of a doctor, service and day through from the API (never cached:
//! they change with every booking), and `POST /_cms/appointments` books one
//! after checking the CSRF token, with an `Idempotency-Key` derived from the
//! page view and the choice, so a double submit books once. A booking is not
//! queued when the API is down (a slot cannot be promised later): the
//! visitor is asked to try again.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use cms_shared::problem::Problem;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::forms::{from_this_site, refused, thanks};
use crate::site::{site_manifest, visitor_address};
use crate::state::RendererState;
use crate::upstream::Answer;

#[derive(Debug, Deserialize)]
pub struct SlotQuery {
    doctor: String,
    service: String,
    date: String,
}

use crate::document::form_encode as encode;

#[get("/_cms/slots")]
pub async fn slots(
    req: HttpRequest,
    state: web::Data<RendererState>,
    query: web::Query<SlotQuery>,
) -> HttpResponse {
    let site = match site_manifest(&req, &state).await {
        Ok(found) => found.id(),
        Err(response) => return response,
    };
    let path = format!(
        "/api/v1/delivery/sites/{site}/available-slots?doctor={}&service={}&date={}",
        encode(&query.doctor),
        encode(&query.service),
        encode(&query.date)
    );
    let answer = state.documents.upstream().get(&path, None).await;
    let mut response = match answer {
        Ok(Answer::Changed { body, .. }) => {
            let mut ok = HttpResponse::Ok();
            ok.content_type("application/json");
            return ok.insert_header(("Cache-Control", "no-store")).body(body);
        }
        Ok(_) => HttpResponse::NotFound(),
        Err(_) => HttpResponse::ServiceUnavailable(),
    };
    response
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({"items": []}))
}

/// The api's problem answer; one outside the contract reads as a bare
/// problem (no nearest slots, no field errors).
fn problem_of(body: serde_json::Value) -> Problem {
    serde_json::from_value(body).unwrap_or_else(|_| Problem {
        problem_type: "about:blank".into(),
        title: String::new(),
        status: 0,
        detail: String::new(),
        errors: Vec::new(),
        nearest_slots: None,
        used_by: None,
    })
}

/// Local `HH:MM on YYYY-MM-DD` of an RFC 3339 time, as the visitor chose it.
fn local_time(start: &str) -> String {
    match (start.get(0..10), start.get(11..16)) {
        (Some(date), Some(time)) => format!("{time} on {date}"),
        _ => start.to_owned(),
    }
}

#[post("/_cms/appointments")]
pub async fn book(
    req: HttpRequest,
    state: web::Data<RendererState>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let form = form.into_inner();
    let field = |name: &str| {
        form.get(name)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    let path = cms_shared::path::normalize_path(&field("path")).unwrap_or_else(|_| "/".into());
    let back = format!("{path}#booking");
    let site = match site_manifest(&req, &state).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if !from_this_site(&req, &state) {
        return refused(&state, &back);
    }
    if field("start").is_empty() {
        return thanks(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "Please choose a free time.",
            &back,
        );
    }
    let body = json!({
        "doctor": field("doctor"), "service": field("service"), "start": field("start"),
        "name": field("name"), "phone": field("phone"),
    });
    let address = visitor_address(&req, &state);
    let key = hex::encode(Sha256::digest(
        format!(
            "{}|{}|{body}",
            field("submission"),
            address.map(|ip| ip.to_string()).unwrap_or_default()
        )
        .as_bytes(),
    ));
    let site = site.id();
    let answer = state
        .documents
        .upstream()
        .post_json_answer(
            &format!("/api/v1/delivery/sites/{site}/appointments"),
            &body,
            &key,
            address,
        )
        .await;
    match answer {
        Ok((200..=299, _)) => thanks(
            &state,
            StatusCode::OK,
            "received",
            &format!(
                "Your appointment is booked for {}. We will call you to confirm.",
                local_time(&field("start"))
            ),
            &back,
        ),
        Ok((409, problem)) => {
            let nearest: Vec<String> = problem_of(problem)
                .nearest_slots
                .unwrap_or_default()
                .iter()
                .map(|slot| local_time(&slot.start.to_rfc3339()))
                .collect();
            let message = if nearest.is_empty() {
                "That time was just taken. Please choose another.".to_owned()
            } else {
                format!(
                    "That time was just taken. Free times nearby: {}.",
                    nearest.join(", ")
                )
            };
            thanks(&state, StatusCode::CONFLICT, "taken", &message, &back)
        }
        Ok((429, _)) => thanks(
            &state,
            StatusCode::TOO_MANY_REQUESTS,
            "limited",
            "You have booked several times already. Please call us.",
            &back,
        ),
        Ok((422, problem)) => {
            let problems: Vec<String> = problem_of(problem)
                .errors
                .iter()
                .map(|error| format!("{} {}", error.field, error.message))
                .collect();
            thanks(
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                &format!("Please check the form: {}.", problems.join("; ")),
                &back,
            )
        }
        _ => thanks(
            &state,
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Booking is unavailable right now. Please try again in a minute or call us.",
            &back,
        ),
    }
}

/// The visitor's address: the peer, or what a trusted proxy in front of this
/// node says (`CMS_RENDERER_TRUSTED_PROXIES`).
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_as_the_visitor_chose_them() {
        assert_eq!(
            local_time("2026-12-01T09:30:00+03:00"),
            "09:30 on 2026-12-01"
        );
        assert_eq!(local_time("soon"), "soon");
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(encode("a b&c"), "a%20b%26c");
    }
}
