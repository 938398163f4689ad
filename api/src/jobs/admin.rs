//! What a tenant admin may do to a job: retry one that failed or was
//! cancelled (it runs at once, with one more attempt if it had none left),
//! and cancel one that has not started. Each move is audited.

use diesel::PgConnection;
use uuid::Uuid;

use crate::db::audit::Audit;
use crate::db::jobs::{self as job_db, Job, JobState};
use crate::error::ApiError;

pub fn retry(conn: &mut PgConnection, audit: &Audit, id: Uuid) -> Result<Job, ApiError> {
    let before = job_db::lock(conn, id)?.ok_or(ApiError::NotFound)?;
    if !matches!(
        before.state,
        JobState::Discarded | JobState::Cancelled | JobState::Retryable
    ) {
        return Err(ApiError::Conflict(format!(
            "a {} job cannot be retried (only discarded, cancelled or retryable ones)",
            before.state
        )));
    }
    let after = job_db::retry_now(conn, &before)?;
    audit.event(conn, "job", "retry", id, Some(&before), Some(&after))?;
    Ok(after)
}

pub fn cancel(conn: &mut PgConnection, audit: &Audit, id: Uuid) -> Result<Job, ApiError> {
    let before = job_db::lock(conn, id)?.ok_or(ApiError::NotFound)?;
    if !matches!(before.state, JobState::Available | JobState::Retryable) {
        return Err(ApiError::Conflict(format!(
            "a {} job cannot be cancelled (only available or retryable ones)",
            before.state
        )));
    }
    let after = job_db::cancel(conn, id)?;
    audit.event(conn, "job", "cancel", id, Some(&before), Some(&after))?;
    Ok(after)
}
