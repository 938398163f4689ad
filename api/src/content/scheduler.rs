//! Scheduled publishing, run in-process by `api serve` (and alone by
//! `api worker`): every tick, pages whose `publish_at` has passed are published
//! and invalidated. Several workers may run: each page is claimed with
//! `FOR UPDATE SKIP LOCKED` and re-checked, so none is published twice, and a
//! worker that dies mid-way leaves the page scheduled for the next tick.

use std::time::Duration;

use actix_web::web;

use super::publish;
use crate::db::audit::{Actor, Audit};
use crate::db::{routing, Scope};
use crate::error::ApiError;
use crate::state::AppState;

const BATCH: i32 = 100;

/// Publishes every due page once; answers how many it published.
pub async fn run_once(state: &AppState) -> Result<usize, ApiError> {
    let due = state
        .db
        .tx(Scope::global(), |conn| Ok(routing::due_pages(conn, BATCH)?))
        .await?;
    let mut published = 0;
    for item in due {
        let audit = Audit {
            actor: Actor {
                user_id: None,
                request_id: Some("scheduler".into()),
            },
            tenant_id: item.tenant_id,
        };
        let scope = Scope {
            tenant_id: Some(item.tenant_id),
            user_id: None,
        };
        match state
            .db
            .tx(scope, move |conn| {
                publish::publish_scheduled(conn, &audit, item.page_id)
            })
            .await
        {
            Ok(Some(outcome)) => {
                state
                    .cache
                    .invalidate(&state.kv, outcome.invalidation)
                    .await;
                tracing::info!(page_id = %item.page_id, "scheduled page published");
                published += 1;
            }
            Ok(None) => {}
            Err(err) => {
                tracing::warn!(page_id = %item.page_id, error = %err, "scheduled publish failed; retrying next tick")
            }
        }
    }
    Ok(published)
}

/// Runs `run_once` every `interval` until the process ends.
pub fn spawn(state: web::Data<AppState>, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(err) = run_once(&state).await {
                tracing::warn!(error = %err, "scheduler tick failed");
            }
        }
    })
}
