//! Cron schedules: every node inserts each slot's job (a system job) under
//! the unique key `cron:<name>:<slot>`, so a slot runs once however many
//! nodes run, with no leader to elect; a node that was down inserts the
//! current slot when it is back (missed slots are not replayed).

use std::time::Duration;

use actix_web::web;
use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;
use tokio::sync::watch;

use super::handlers::{PRUNE_JOB, PUBLISH_DUE_JOB};
use crate::db::jobs::{self as job_db, NewJob};
use crate::state::AppState;

/// A job inserted every `every`, at multiples of it since the epoch.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub name: &'static str,
    pub kind: &'static str,
    pub every: Duration,
}

impl Schedule {
    /// The slot `at` falls in, and when it started.
    pub fn slot(&self, at: DateTime<Utc>) -> (i64, DateTime<Utc>) {
        let every = self.every.as_secs().max(1) as i64;
        let slot = at.timestamp().div_euclid(every);
        let start = Utc.timestamp_opt(slot * every, 0).single().unwrap_or(at);
        (slot, start)
    }

    pub fn job(&self, at: DateTime<Utc>) -> NewJob {
        let (slot, start) = self.slot(at);
        NewJob {
            tenant_id: None,
            ..NewJob::new(uuid::Uuid::nil(), self.kind, json!({}))
        }
        .run_at(start)
        .max_attempts(3)
        .unique(format!("cron:{}:{slot}", self.name))
    }
}

/// The api's schedules.
pub fn schedules() -> Vec<Schedule> {
    vec![
        Schedule {
            name: "publish-due-pages",
            kind: PUBLISH_DUE_JOB,
            every: Duration::from_secs(60),
        },
        Schedule {
            name: "prune-jobs",
            kind: PRUNE_JOB,
            every: Duration::from_secs(3600),
        },
        Schedule {
            name: "media-cleanup",
            kind: crate::media::jobs::SWEEP_JOB,
            every: Duration::from_secs(3600),
        },
    ]
}

/// Inserts each schedule's current slot, checking every second.
pub async fn run(
    state: web::Data<AppState>,
    schedules: Vec<Schedule>,
    mut stopping: watch::Receiver<bool>,
) {
    let mut inserted: Vec<Option<i64>> = vec![None; schedules.len()];
    loop {
        let now = Utc::now();
        for (schedule, last) in schedules.iter().zip(inserted.iter_mut()) {
            let (slot, _) = schedule.slot(now);
            if *last == Some(slot) {
                continue;
            }
            let job = schedule.job(now);
            match state
                .db
                .unscoped(move |conn| Ok(job_db::enqueue_system(conn, &job)?))
                .await
            {
                Ok(_) => *last = Some(slot),
                Err(err) => {
                    tracing::warn!(schedule = schedule.name, error = %err, "cannot insert a cron slot")
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stopping.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_multiples_of_the_period_and_name_their_key() {
        let schedule = Schedule {
            name: "x",
            kind: "noop",
            every: Duration::from_secs(60),
        };
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 10, 30, 59).unwrap();
        let (slot, start) = schedule.slot(at);
        assert_eq!(start, Utc.with_ymd_and_hms(2026, 12, 1, 10, 30, 0).unwrap());
        assert_eq!(schedule.slot(at + chrono::Duration::seconds(1)).0, slot + 1);
        let job = schedule.job(at);
        assert_eq!(
            job.unique_key.as_deref(),
            Some(format!("cron:x:{slot}").as_str())
        );
        assert_eq!(job.tenant_id, None);
    }
}
