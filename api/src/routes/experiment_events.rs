//! `POST /api/v1/delivery/events`: exposures, conversions and custom events
//! of running experiments, in batches, from renderers and external
//! frontends. A batch is checked whole (shape, then against the experiments)
//! and stored whole or not at all; each (experiment, kind, name, visitor)
//! counts once. Storage is the durable record in PostgreSQL, written before
//! the answer, so a restart of anything loses nothing that was acknowledged.

use std::collections::BTreeMap;
use std::time::Duration;

use actix_web::{post, web, HttpRequest, HttpResponse};
use cms_shared::events::{EventBatch, EventKind, EventsAccepted};
use uuid::Uuid;

use crate::db::experiments::{self as experiment_db, EventRows, ExperimentStatus};
use crate::db::{set_scope, Scope};
use crate::error::{ApiError, FieldError, Problem};
use crate::experiments::{is_event_name, is_visitor_id};
use crate::http::json::{ValidJson, Validate};
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(ingest_events);
}

/// Events per batch at most.
pub const MAX_BATCH: usize = 100;
const LIMIT_WINDOW: Duration = Duration::from_secs(60);

impl Validate for EventBatch {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if self.events.is_empty() || self.events.len() > MAX_BATCH {
            errors.push(FieldError::new(
                "events",
                format!("must hold 1 to {MAX_BATCH} events"),
            ));
        }
        for (index, event) in self.events.iter().enumerate() {
            let field = |name: &str| format!("events.{index}.{name}");
            if !is_visitor_id(&event.visitor) {
                errors.push(FieldError::new(
                    &field("visitor"),
                    "must be 1 to 64 of A-Z a-z 0-9 - _ .",
                ));
            }
            match (event.kind, &event.name) {
                (EventKind::Exposure, None) | (EventKind::Conversion, None) => {}
                (EventKind::Exposure, Some(_)) => {
                    errors.push(FieldError::new(&field("name"), "exposures have no name"));
                }
                (EventKind::Conversion | EventKind::Custom, Some(name)) if is_event_name(name) => {}
                (EventKind::Conversion | EventKind::Custom, Some(_)) => {
                    errors.push(FieldError::new(
                        &field("name"),
                        "must be an event name: 1 to 64 of a-z, 0-9, _ . : -",
                    ))
                }
                (EventKind::Custom, None) => {
                    errors.push(FieldError::new(&field("name"), "custom events need a name"));
                }
            }
        }
        errors
    }
}

/// The client's address; trusted senders (renderer nodes) are not limited
/// per address.
fn limited_address(req: &HttpRequest, state: &AppState) -> Option<String> {
    let ip = crate::http::client_ip(req, &state.config)?;
    (!state.config.events_trusted_sources.contains(&ip)).then(|| ip.to_string())
}

/// 429 when this batch takes the address or any visitor over its limit.
async fn check_limits(
    req: &HttpRequest,
    state: &AppState,
    batch: &EventBatch,
) -> Result<(), ApiError> {
    let mut per_visitor: BTreeMap<&str, u64> = BTreeMap::new();
    for event in &batch.events {
        *per_visitor.entry(event.visitor.as_str()).or_default() += 1;
    }
    let mut keys: Vec<(String, u64)> = per_visitor
        .iter()
        .map(|(visitor, count)| (format!("rl:events:v:{visitor}"), *count))
        .collect();
    let address = limited_address(req, state);
    if let Some(ip) = &address {
        keys.push((format!("rl:events:ip:{ip}"), batch.events.len() as u64));
    }
    let counts = state.kv.hit_many(&keys, LIMIT_WINDOW).await;
    let visitor_limit = u64::from(state.config.events_limit_per_visitor);
    let ip_limit = u64::from(state.config.events_limit_per_ip);
    let over = counts.iter().enumerate().find(|(index, (count, _))| {
        let limit = if address.is_some() && *index == keys.len() - 1 {
            ip_limit
        } else {
            visitor_limit
        };
        *count > limit
    });
    match over {
        Some((_, (_, reset))) => Err(ApiError::TooManyRequests {
            retry_after_secs: *reset,
        }),
        None => Ok(()),
    }
}

/// Record a batch of experiment events. Every event must name a running
/// experiment and one of its variants, else the whole batch is refused
/// (422, each problem by JSON pointer) and nothing is counted. Repeats of an
/// event already recorded are accepted and not counted again.
#[utoipa::path(
    tag = "delivery",
    request_body = EventBatch,
    responses(
        (status = 202, body = EventsAccepted), (status = 400, body = Problem),
        (status = 422, body = Problem), (status = 429, body = Problem)
    )
)]
#[post("/delivery/events")]
async fn ingest_events(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: ValidJson<EventBatch>,
) -> Result<HttpResponse, ApiError> {
    let batch = body.0;
    check_limits(&req, &state, &batch).await?;
    let mut ids: Vec<Uuid> = batch.events.iter().map(|e| e.experiment).collect();
    ids.sort_unstable();
    ids.dedup();
    let routes = state.experiment_routes.lookup(&state.db, &ids).await?;
    let mut errors = Vec::new();
    let mut per_tenant: BTreeMap<Uuid, EventRows> = BTreeMap::new();
    for (index, event) in batch.events.iter().enumerate() {
        let field = |name: &str| format!("events.{index}.{name}");
        let Some(Some(route)) = routes.get(&event.experiment) else {
            errors.push(FieldError::new(&field("experiment"), "no such experiment"));
            continue;
        };
        if route.status != ExperimentStatus::Running {
            errors.push(FieldError::new(
                &field("experiment"),
                format!("the experiment is {}, not running", route.status),
            ));
            continue;
        }
        if !route.variant_keys.contains(&event.variant) {
            errors.push(FieldError::new(
                &field("variant"),
                format!(
                    "not a variant of this experiment ({})",
                    route.variant_keys.join(", ")
                ),
            ));
            continue;
        }
        let name = match event.kind {
            EventKind::Exposure => "",
            EventKind::Conversion => event.name.as_deref().unwrap_or(&route.goal),
            EventKind::Custom => event.name.as_deref().unwrap_or_default(),
        };
        per_tenant.entry(route.tenant_id).or_default().push(
            route.id,
            event.kind,
            name,
            &event.visitor,
            &event.variant,
        );
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    // One transaction for the whole batch, switching the RLS tenant between
    // tenants' rows: a renderer's batch spans sites, and it is stored whole.
    let recorded = state
        .db
        .tx(Scope::global(), move |conn| {
            let mut recorded = 0;
            for (tenant_id, rows) in &per_tenant {
                set_scope(
                    conn,
                    Scope {
                        tenant_id: Some(*tenant_id),
                        user_id: None,
                    },
                )?;
                recorded += experiment_db::insert_events(conn, *tenant_id, rows)?;
            }
            Ok(recorded)
        })
        .await?;
    let accepted = batch.events.len();
    Ok(HttpResponse::Accepted().json(EventsAccepted {
        accepted,
        recorded,
        duplicates: accepted as i64 - recorded,
    }))
}
