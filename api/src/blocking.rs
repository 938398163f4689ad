//! The one way to run blocking work (diesel queries, argon2 hashing) from async
//! handlers: on tokio's blocking threads, with a semaphore bounding how many run
//! at once so a burst queues instead of exhausting connections or memory.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::error::ApiError;

/// How long a job may wait for a slot before the request answers 503.
const QUEUE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct Blocking {
    name: &'static str,
    slots: Arc<Semaphore>,
}

impl Blocking {
    pub fn new(name: &'static str, max_concurrent: usize) -> Self {
        Blocking {
            name,
            slots: Arc::new(Semaphore::new(max_concurrent.max(1))),
        }
    }

    /// Runs `job` on a blocking thread once a slot is free.
    pub async fn run<T, F>(&self, job: F) -> Result<T, ApiError>
    where
        F: FnOnce() -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let permit = tokio::time::timeout(QUEUE_TIMEOUT, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| ApiError::Unavailable(format!("{} queue is full", self.name)))?
            .map_err(ApiError::internal)?;
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            span.in_scope(job)
        })
        .await
        .map_err(ApiError::internal)?
    }
}
