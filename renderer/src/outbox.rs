//! Leads the api could not take yet: queued in Redis when it answers, else in
//! memory, and delivered oldest first by a background loop. A lead carries
//! its idempotency key, so delivering it twice stores it once.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::http::StatusCode;
use fred::prelude::{ClientLike, ListInterface, Pool};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::metrics::{inc, Metrics};
use crate::upstream::Upstream;

const OUTBOX_INTERVAL: Duration = Duration::from_secs(2);

/// A lead waiting for the API.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingLead {
    pub site: String,
    pub key: String,
    pub body: Value,
}

pub struct Outbox {
    redis: Option<Pool>,
    key: String,
    memory: Mutex<VecDeque<PendingLead>>,
}

pub enum Forwarded {
    Accepted,
    /// The API refused the lead itself (invalid, limited, no such site):
    /// retrying would not help.
    Rejected(StatusCode),
    Failed,
}

pub async fn forward(upstream: &Upstream, lead: &PendingLead) -> Forwarded {
    let path = format!("/api/v1/delivery/sites/{}/leads", lead.site);
    match upstream.post_json(&path, &lead.body, &lead.key).await {
        Ok(200..=299) => Forwarded::Accepted,
        Ok(429) => Forwarded::Rejected(StatusCode::TOO_MANY_REQUESTS),
        Ok(404) => Forwarded::Rejected(StatusCode::NOT_FOUND),
        Ok(400..=499) => Forwarded::Rejected(StatusCode::UNPROCESSABLE_ENTITY),
        _ => Forwarded::Failed,
    }
}

impl Outbox {
    pub fn new(redis: Option<Pool>, prefix: &str) -> Self {
        Outbox {
            redis,
            key: format!("{prefix}renderer:leads"),
            memory: Mutex::new(VecDeque::new()),
        }
    }

    fn connected(&self) -> Option<&Pool> {
        self.redis.as_ref().filter(|pool| pool.is_connected())
    }

    pub async fn push(&self, lead: PendingLead) {
        if let (Some(pool), Ok(raw)) = (self.connected(), serde_json::to_string(&lead)) {
            let pushed: Result<i64, _> = pool.lpush(&self.key, raw).await;
            if pushed.is_ok() {
                return;
            }
        }
        tracing::warn!(site = %lead.site, "lead queued in memory until the API answers");
        if let Ok(mut memory) = self.memory.lock() {
            memory.push_back(lead);
        }
    }

    pub fn pending_in_memory(&self) -> usize {
        self.memory.lock().map_or(0, |memory| memory.len())
    }

    /// Delivers queued leads, oldest first; stops at the first failure.
    pub async fn drain(&self, upstream: &Upstream, metrics: &Metrics) {
        loop {
            let next = self.memory.lock().ok().and_then(|mut m| m.pop_front());
            let Some(lead) = next else { break };
            match forward(upstream, &lead).await {
                Forwarded::Failed => {
                    if let Ok(mut memory) = self.memory.lock() {
                        memory.push_front(lead);
                    }
                    return;
                }
                Forwarded::Accepted => inc(&metrics.leads_delivered),
                Forwarded::Rejected(status) => {
                    tracing::error!(%status, site = %lead.site, "queued lead refused by the API")
                }
            }
        }
        let Some(pool) = self.connected() else { return };
        loop {
            // Peek, deliver, then remove: a crash in between delivers it
            // twice, which its idempotency key makes harmless.
            let oldest: Result<Option<String>, _> = pool.lindex(&self.key, -1).await;
            let Ok(Some(raw)) = oldest else { return };
            let Ok(lead) = serde_json::from_str::<PendingLead>(&raw) else {
                let _: Result<Option<String>, _> = pool.rpop(&self.key, None).await;
                continue;
            };
            match forward(upstream, &lead).await {
                Forwarded::Failed => return,
                Forwarded::Accepted => inc(&metrics.leads_delivered),
                Forwarded::Rejected(status) => {
                    tracing::error!(%status, site = %lead.site, "queued lead refused by the API")
                }
            }
            let _: Result<Option<String>, _> = pool.rpop(&self.key, None).await;
        }
    }
}

/// Runs `drain` every few seconds for the life of the process.
pub fn spawn(outbox: Arc<Outbox>, upstream: Upstream, metrics: Arc<Metrics>) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(OUTBOX_INTERVAL).await;
            outbox.drain(&upstream, &metrics).await;
        }
    });
}
