//! The leases of the jobs one worker runs, and what keeps them honest: a
//! heartbeat on a database connection of its own renews them, and a watchdog
//! cancels a handler as soon as its lease may have run out, before another
//! node can rescue the job and run it again. A handler's database write is
//! fenced on its claim as well (`JobContext::complete_with`), because
//! cancelling a task cannot stop a statement already sent.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::AbortHandle;
use uuid::Uuid;

use crate::db::jobs::{self as job_db, Claim, Job};
use crate::db::Db;

/// One running job of this worker.
struct Held {
    token: Uuid,
    /// When the lease runs out as far as this worker knows: measured from
    /// just before the statement that set or renewed it, so never later than
    /// the database's own expiry, which the rescuer goes by.
    until: Instant,
    /// The handler's task, once started.
    handler: Option<AbortHandle>,
}

/// The claims a worker holds.
pub(super) struct Leases {
    lease: Duration,
    held: Mutex<HashMap<Uuid, Held>>,
}

impl Leases {
    pub(super) fn new(lease: Duration) -> Self {
        Leases {
            lease,
            held: Mutex::new(HashMap::new()),
        }
    }

    /// The lease in whole seconds, as the routing functions take it.
    pub(super) fn seconds(&self) -> i32 {
        self.lease.as_secs().clamp(1, 3600) as i32
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<Uuid, Held>) -> T) -> T {
        let mut held = self
            .held
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut held)
    }

    /// Records jobs claimed by a statement sent at `sent_at`.
    pub(super) fn claimed(&self, jobs: &[Job], sent_at: Instant) {
        let until = sent_at + Duration::from_secs(self.seconds() as u64);
        self.with(|held| {
            for job in jobs {
                if let Some(claim) = job.claim() {
                    held.insert(
                        claim.id,
                        Held {
                            token: claim.token,
                            until,
                            handler: None,
                        },
                    );
                }
            }
        });
    }

    /// Attaches the handler's task to its claim; `false` when the claim was
    /// already lost (the caller cancels the task).
    pub(super) fn attach(&self, claim: Claim, handler: AbortHandle) -> bool {
        self.with(|held| match held.get_mut(&claim.id) {
            Some(entry) if entry.token == claim.token => {
                entry.handler = Some(handler);
                true
            }
            _ => false,
        })
    }

    /// Forgets a finished claim. A stale run of a job this worker claimed
    /// again since leaves the new claim alone.
    pub(super) fn forget(&self, claim: Claim) {
        self.with(|held| {
            if held
                .get(&claim.id)
                .is_some_and(|entry| entry.token == claim.token)
            {
                held.remove(&claim.id);
            }
        });
    }

    pub(super) fn claims(&self) -> Vec<Claim> {
        self.with(|held| {
            held.iter()
                .map(|(id, entry)| Claim {
                    id: *id,
                    token: entry.token,
                })
                .collect()
        })
    }

    pub(super) fn is_empty(&self) -> bool {
        self.with(|held| held.is_empty())
    }

    /// Applies a heartbeat sent at `sent_at` for `sent`, of which the
    /// database still held `still_held`: those are renewed, the others lost
    /// (their handlers cancelled). Answers how many were lost.
    pub(super) fn renewed(
        &self,
        sent: &[Claim],
        still_held: &HashSet<Uuid>,
        sent_at: Instant,
    ) -> usize {
        let until = sent_at + Duration::from_secs(self.seconds() as u64);
        self.with(|held| {
            let mut lost = 0;
            for claim in sent {
                let Some(entry) = held.get_mut(&claim.id) else {
                    continue;
                };
                if entry.token != claim.token {
                    continue;
                }
                if still_held.contains(&claim.id) {
                    entry.until = entry.until.max(until);
                } else if let Some(entry) = held.remove(&claim.id) {
                    cancel(entry);
                    lost += 1;
                }
            }
            lost
        })
    }

    /// Cancels the handlers whose lease may have run out by `now`. Answers
    /// how many.
    pub(super) fn expire(&self, now: Instant) -> usize {
        self.with(|held| {
            let expired: Vec<Uuid> = held
                .iter()
                .filter(|(_, entry)| entry.until <= now)
                .map(|(id, _)| *id)
                .collect();
            for id in &expired {
                if let Some(entry) = held.remove(id) {
                    cancel(entry);
                }
            }
            expired.len()
        })
    }

    /// Takes every claim, cancelling its handler (a stopping worker whose
    /// grace period is over).
    pub(super) fn take_all(&self) -> Vec<Claim> {
        self.with(|held| {
            held.drain()
                .map(|(id, entry)| {
                    let token = entry.token;
                    cancel(entry);
                    Claim { id, token }
                })
                .collect()
        })
    }
}

fn cancel(entry: Held) {
    if let Some(handler) = entry.handler {
        handler.abort();
    }
}

/// Renews the worker's leases every third of the lease, on a connection of
/// its own. Ends when `stop` turns true.
pub(super) async fn heartbeats(
    leases: std::sync::Arc<Leases>,
    database_url: String,
    mut stop: watch::Receiver<bool>,
) {
    let every = leases.lease / 3;
    let db = Db::dedicated(&database_url, every.max(Duration::from_millis(200)));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
        let sent = leases.claims();
        if sent.is_empty() {
            continue;
        }
        let sent_at = Instant::now();
        let (claims, seconds) = (sent.clone(), leases.seconds());
        match db
            .unscoped(move |conn| Ok(job_db::heartbeat(conn, &claims, seconds)?))
            .await
        {
            Ok(still_held) => {
                let still_held: HashSet<Uuid> = still_held.into_iter().collect();
                let lost = leases.renewed(&sent, &still_held, sent_at);
                if lost > 0 {
                    tracing::warn!(
                        lost,
                        "jobs were taken from this worker (rescued or cancelled): their handlers are cancelled"
                    );
                }
            }
            Err(err) => tracing::warn!(
                error = %err,
                "job heartbeat failed; handlers are cancelled if their lease runs out first"
            ),
        }
    }
}

/// Cancels handlers whose lease ran out without a renewal, checking ten
/// times a lease. Ends when `stop` turns true.
pub(super) async fn watchdog(leases: std::sync::Arc<Leases>, mut stop: watch::Receiver<bool>) {
    let every = (leases.lease / 10).clamp(Duration::from_millis(20), Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
        let expired = leases.expire(Instant::now());
        if expired > 0 {
            tracing::warn!(
                expired,
                "job leases ran out before a heartbeat renewed them: their handlers are cancelled"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(token: Uuid) -> Job {
        let now = chrono::Utc::now();
        Job {
            id: Uuid::now_v7(),
            tenant_id: None,
            queue: "default".into(),
            kind: "noop".into(),
            args: serde_json::json!({}),
            state: crate::db::jobs::JobState::Running,
            priority: 2,
            attempt: 1,
            max_attempts: 20,
            run_at: now,
            unique_key: None,
            lease_owner: None,
            lease_expires_at: None,
            errors: serde_json::json!([]),
            created_at: now,
            updated_at: now,
            attempted_at: None,
            finished_at: None,
            claim_token: Some(token),
        }
    }

    #[tokio::test]
    async fn a_stale_run_never_touches_the_new_claim_of_its_job() {
        let leases = Leases::new(Duration::from_secs(30));
        let first = job(Uuid::now_v7());
        leases.claimed(std::slice::from_ref(&first), Instant::now());
        let stale = first.claim().unwrap();
        // The job is claimed again (after a rescue) under a new token.
        let mut again = first.clone();
        again.claim_token = Some(Uuid::now_v7());
        leases.claimed(std::slice::from_ref(&again), Instant::now());
        leases.forget(stale);
        assert_eq!(leases.claims(), vec![again.claim().unwrap()]);
        let task = tokio::spawn(std::future::pending::<()>());
        assert!(!leases.attach(stale, task.abort_handle()));
        assert!(leases.attach(again.claim().unwrap(), task.abort_handle()));
    }

    #[tokio::test]
    async fn a_lost_or_expired_lease_cancels_its_handler() {
        let leases = Leases::new(Duration::from_secs(3));
        let (kept, lost) = (job(Uuid::now_v7()), job(Uuid::now_v7()));
        let start = Instant::now();
        leases.claimed(&[kept.clone(), lost.clone()], start);
        let kept_task = tokio::spawn(std::future::pending::<()>());
        let lost_task = tokio::spawn(std::future::pending::<()>());
        assert!(leases.attach(kept.claim().unwrap(), kept_task.abort_handle()));
        assert!(leases.attach(lost.claim().unwrap(), lost_task.abort_handle()));
        let sent = leases.claims();
        let still: HashSet<Uuid> = [kept.id].into();
        let renewed_at = start + Duration::from_secs(2);
        assert_eq!(leases.renewed(&sent, &still, renewed_at), 1);
        assert!(lost_task.await.unwrap_err().is_cancelled());
        // Renewed at +2 s: alive at +4 s, gone at +5 s.
        assert_eq!(leases.expire(start + Duration::from_secs(4)), 0);
        assert_eq!(leases.expire(start + Duration::from_secs(5)), 1);
        assert!(kept_task.await.unwrap_err().is_cancelled());
        assert!(leases.is_empty());
    }
}
