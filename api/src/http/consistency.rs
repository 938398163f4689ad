//! Read-your-writes across requests (see `db::positions`): every request runs
//! inside its own positions scope. A request may send the
//! `X-Cms-Wal-Position` a write of its client answered; an answer whose
//! request committed a write carries the position after that commit, and the
//! signed-in user's newest position is also kept in Redis (for
//! `CMS_REPLICA_MAX_LAG_MS` plus one check) so a client that drops the header
//! still reads its own writes.

use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, Error};
use uuid::Uuid;

use crate::db::positions::{self, Lsn, RequestPositions, WAL_POSITION_HEADER};
use crate::error::ApiError;
use crate::state::AppState;

/// Test hook (`CMS_TEST_HOOKS=1`): milliseconds a replica's read transaction
/// sleeps before its queries, so a test can kill the replica inside it.
pub const TEST_READ_PAUSE_HEADER: &str = "x-cms-test-read-pause-ms";
/// Test hook (`CMS_TEST_HOOKS=1`): the node that answered the request's last
/// read (`primary`, `replica0`...).
pub const TEST_READ_NODE_HEADER: &str = "x-cms-read-node";

/// The Redis key of a user's newest commit position.
pub fn last_write_key(user_id: Uuid) -> String {
    format!("wal:{user_id}")
}

/// Parses the header a client sent back: 422 when it is not a position.
fn sent_position(req: &ServiceRequest) -> Result<Lsn, ApiError> {
    let Some(value) = req.headers().get(WAL_POSITION_HEADER) else {
        return Ok(Lsn::default());
    };
    value.to_str().ok().and_then(Lsn::parse).ok_or_else(|| {
        ApiError::invalid(
            "X-Cms-Wal-Position",
            "must be a WAL position as answered by a write, e.g. 0/3000060",
        )
    })
}

pub async fn track_positions(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let replicated = state
        .as_ref()
        .is_some_and(|state| state.db.replicas().is_some());
    let hooks = state.as_ref().is_some_and(|state| state.config.test_hooks);
    let sent = sent_position(&req)?;
    if !replicated && !hooks {
        // Nothing reads positions without replicas: no scope to set up.
        return next.call(req).await;
    }
    let pause = hooks
        .then(|| req.headers().get(TEST_READ_PAUSE_HEADER))
        .flatten()
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok())
        .map(Duration::from_millis);
    let request = RequestPositions::with_pause(sent, !req.method().is_safe(), pause);
    let mut response = positions::scope(request.clone(), next.call(req)).await?;
    if let (true, Some(state)) = (replicated, &state) {
        let committed = request.committed();
        if !committed.is_none() {
            if let Ok(value) = HeaderValue::from_str(&committed.to_string()) {
                response
                    .headers_mut()
                    .insert(HeaderName::from_static(WAL_POSITION_HEADER), value);
            }
            if let Some(user) = request.user() {
                let settings = &state.config.replicas;
                let keep = settings.max_lag + settings.check_interval;
                state
                    .kv
                    .set_value(&last_write_key(user), &committed.to_string(), keep)
                    .await;
            }
        }
    }
    if hooks {
        if let Some(node) = request
            .served_by()
            .and_then(|node| HeaderValue::from_str(&node).ok())
        {
            response
                .headers_mut()
                .insert(HeaderName::from_static(TEST_READ_NODE_HEADER), node);
        }
    }
    Ok(response)
}
