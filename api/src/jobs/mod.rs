//! Durable background jobs in PostgreSQL (`jobs` table, see its migration).
//!
//! - Enqueue with `enqueue` inside the business transaction: a rolled-back
//!   booking leaves no job. `NOTIFY cms_jobs` at commit wakes the workers.
//! - Workers (`worker`) claim batches with `FOR UPDATE SKIP LOCKED`, taking
//!   turns between tenants, hold each job under a claim of its own whose
//!   lease they heartbeat (a lost lease cancels the handler), and finish it
//!   fenced on that claim; any node's rescuer returns jobs whose worker
//!   died. Shutdown waits for running handlers up to a grace period. Failures retry with exponential backoff and jitter up to
//!   `max_attempts`, then the job is `discarded` with its errors kept.
//! - Unique keys make a job at most once per tenant (reminders, cron slots);
//!   `cron` inserts each slot's system job on every node, once.
//! - What a job does is a `Handler` registered by kind (`handlers`).

pub mod admin;
pub mod bench;
pub mod cron;
pub mod handlers;
mod leases;
pub mod listener;
pub mod metrics;
pub mod worker;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use diesel::PgConnection;
use uuid::Uuid;

use crate::db::audit::{Actor, Audit};
use crate::db::jobs as job_db;
pub use crate::db::jobs::{enqueue, Claim, Job, JobState, NewJob};
use crate::db::Scope;
use crate::error::ApiError;
use crate::state::AppState;

/// Why a job's attempt failed, and what happens next.
#[derive(Debug)]
pub enum JobError {
    /// Try again after the handler's backoff (if attempts are left).
    Retry(String),
    /// Try again after this long (a provider's `Retry-After`).
    RetryAfter(String, Duration),
    /// Trying again cannot help (bad arguments, a refusal): discard now.
    Discard(String),
    /// This run's claim no longer holds (its lease ran out and the job was
    /// rescued, or it was cancelled): it wrote nothing, and nothing of it is
    /// recorded; the job's current run, if any, is the one that counts.
    LeaseLost,
}

impl JobError {
    pub fn message(&self) -> &str {
        match self {
            JobError::Retry(message)
            | JobError::RetryAfter(message, _)
            | JobError::Discard(message) => message,
            JobError::LeaseLost => "the job's claim no longer holds (lease lost)",
        }
    }
}

/// A failure of our own infrastructure (the database) is worth retrying.
impl From<ApiError> for JobError {
    fn from(err: ApiError) -> Self {
        match err {
            ApiError::NotFound => {
                JobError::Discard("what the job is about no longer exists".into())
            }
            other => JobError::Retry(other.to_string()),
        }
    }
}

pub type JobFuture = Pin<Box<dyn Future<Output = Result<(), JobError>> + Send>>;

/// What a job of one kind does. `run` may run more than once for one job
/// (a worker killed after the work, before completing): make it idempotent,
/// or write its effect and complete the job in one transaction
/// (`JobContext::complete_with`), or record progress before a side effect
/// outside the database.
pub trait Handler: Send + Sync + 'static {
    fn run(&self, ctx: JobContext) -> JobFuture;

    /// The delay before attempt `attempt + 1` after attempt `attempt` failed:
    /// by default exponential from `base` (1x, 2x, 4x, ...), at most an hour,
    /// with ±25% jitter so retries of many jobs do not arrive together.
    fn backoff(&self, attempt: i32, base: Duration) -> Duration {
        exponential_backoff(attempt, base)
    }
}

pub fn exponential_backoff(attempt: i32, base: Duration) -> Duration {
    let exponent = attempt.clamp(1, 30) - 1;
    let delay = base
        .saturating_mul(2_u32.saturating_pow(exponent as u32))
        .min(Duration::from_secs(3600));
    let jitter = 0.75 + rand::random::<f64>() * 0.5;
    delay.mul_f64(jitter)
}

/// What a running job can reach: the app's state and the job itself.
#[derive(Clone)]
pub struct JobContext {
    pub state: web::Data<AppState>,
    pub job: Job,
    /// Set once `complete_with` completed the job in its own transaction.
    completed: Arc<AtomicBool>,
}

impl JobContext {
    pub(crate) fn new(state: web::Data<AppState>, job: Job) -> Self {
        JobContext {
            state,
            job,
            completed: Arc::default(),
        }
    }

    /// Whether the handler already completed the job (`complete_with`).
    pub(crate) fn completed(&self) -> bool {
        self.completed.load(Ordering::Acquire)
    }

    /// Runs `work` and completes the job in one transaction in the job's
    /// scope, fenced on this run's claim: the transaction first locks the
    /// job's row if the claim still holds, so a stale run (its lease ran out
    /// and the job was rescued) writes nothing and ends `LeaseLost`, and no
    /// rescue can take the job while the write commits. A handler whose
    /// effect is a database write makes it exactly once this way.
    pub async fn complete_with<T, F>(&self, work: F) -> Result<T, JobError>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let claim = self
            .job
            .claim()
            .ok_or_else(|| JobError::Discard("the job is not running under a claim".into()))?;
        let done = self
            .tx(move |conn| {
                if !job_db::hold(conn, claim)? {
                    return Ok(None);
                }
                let value = work(conn)?;
                if job_db::complete(conn, &[claim])?.is_empty() {
                    return Err(ApiError::internal("a held claim did not complete"));
                }
                Ok(Some(value))
            })
            .await?;
        let value = done.ok_or(JobError::LeaseLost)?;
        self.completed.store(true, Ordering::Release);
        Ok(value)
    }
    /// The job's tenant (`None` for system jobs).
    pub fn tenant_id(&self) -> Option<Uuid> {
        self.job.tenant_id
    }

    /// Runs `work` in one transaction in the job's tenant scope (global for
    /// a system job).
    pub async fn tx<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let scope = Scope {
            tenant_id: self.job.tenant_id,
            user_id: None,
        };
        self.state.db.tx(scope, work).await
    }

    /// The audit actor of the job's writes: no user, the job as request id.
    pub fn audit(&self) -> Option<Audit> {
        Some(Audit {
            actor: Actor {
                user_id: None,
                request_id: Some(format!("job:{}", self.job.id)),
            },
            tenant_id: self.job.tenant_id?,
        })
    }

    /// An argument of the job, typed.
    pub fn arg<T: serde::de::DeserializeOwned>(&self, name: &str) -> Result<T, JobError> {
        serde_json::from_value(self.job.args.get(name).cloned().unwrap_or_default())
            .map_err(|err| JobError::Discard(format!("argument {name}: {err}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_with_jitter_and_is_capped() {
        let base = Duration::from_secs(2);
        for attempt in 1..=5 {
            let expected = 2.0 * 2_f64.powi(attempt - 1);
            let delay = exponential_backoff(attempt, base).as_secs_f64();
            assert!(
                delay >= expected * 0.75 && delay <= expected * 1.25,
                "attempt {attempt}: {delay}"
            );
        }
        assert!(exponential_backoff(40, base) <= Duration::from_secs(4500));
    }
}
