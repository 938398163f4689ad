//! The job worker: per queue, a claim loop that takes as many ready jobs as
//! it has free slots (the queue's concurrency), runs each under a lease of
//! its own claim (`leases`: renewed on a connection of its own, the handler
//! cancelled when the lease is lost), and finishes it fenced on that claim.
//! Completions are written in batches by one task (one statement for many
//! jobs). Every node also rescues jobs whose lease expired and inserts its
//! cron slots.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::web;
use chrono::Utc;
use tokio::sync::{mpsc, watch, Notify, Semaphore};
use uuid::Uuid;

use super::handlers::Registry;
use super::leases::{self, Leases};
use super::metrics::Outcome;
use super::{cron, listener, Claim, Job, JobContext, JobError};
use crate::db::jobs as job_db;
use crate::state::AppState;

/// Jobs claimed in one statement at most.
const MAX_CLAIM: usize = 200;

/// How a worker runs. `from_config` reads the app's configuration.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Queue names and how many of their jobs run at once.
    pub queues: Vec<(String, usize)>,
    pub lease: Duration,
    /// Claim without a notification this often (notifications may be lost).
    pub poll: Duration,
    pub backoff_base: Duration,
    /// Whether this worker inserts cron slots.
    pub cron: bool,
}

impl WorkerConfig {
    pub fn from_config(config: &crate::config::Config) -> Self {
        WorkerConfig {
            queues: config.job_queues.clone(),
            lease: config.job_lease,
            poll: config.job_poll,
            backoff_base: config.job_backoff_base,
            cron: true,
        }
    }
}

/// A job whose handler succeeded, waiting for its batch completion.
struct Finished {
    claim: Claim,
    queue: String,
    started: Instant,
}

/// Shared by the worker's tasks.
struct Shared {
    id: Uuid,
    state: web::Data<AppState>,
    registry: Arc<Registry>,
    config: WorkerConfig,
    /// Jobs claimed and not finished.
    leases: Arc<Leases>,
    completions: mpsc::UnboundedSender<Finished>,
}

/// A running worker; `shutdown` stops it gracefully.
pub struct WorkerHandle {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    /// Stops the heartbeats and the watchdog, which outlive the claim loops
    /// so that jobs finishing during the grace period keep their leases.
    leases_stop: watch::Sender<bool>,
    listener_stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    lease_tasks: Vec<tokio::task::JoinHandle<()>>,
    completer: Option<tokio::task::JoinHandle<()>>,
}

/// `api worker`: runs a worker with the handlers of `registry` until SIGTERM
/// or Ctrl-C, then stops it gracefully (`shutdown`, with the configured
/// grace period).
pub async fn run_until_stopped(state: web::Data<AppState>, registry: Registry) {
    let worker = start(
        state.clone(),
        registry,
        WorkerConfig::from_config(&state.config),
    );
    stop_signal().await;
    tracing::info!("worker stopping: finishing running jobs");
    worker.shutdown(state.config.job_shutdown_grace).await;
}

/// SIGTERM or Ctrl-C.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Starts a worker with the handlers of `registry`.
pub fn start(state: web::Data<AppState>, registry: Registry, config: WorkerConfig) -> WorkerHandle {
    let (completions, completed) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        id: Uuid::now_v7(),
        leases: Arc::new(Leases::new(config.lease)),
        state,
        registry: Arc::new(registry),
        config,
        completions,
    });
    let (stop, stopping) = watch::channel(false);
    let (leases_stop, leases_stopping) = watch::channel(false);
    let wake: HashMap<String, Arc<Notify>> = shared
        .config
        .queues
        .iter()
        .map(|(queue, _)| (queue.clone(), Arc::new(Notify::new())))
        .collect();
    let wake = Arc::new(wake);
    let listener_stop = Arc::new(AtomicBool::new(false));
    listener::spawn(
        shared.state.config.database_url.clone(),
        Arc::clone(&wake),
        Arc::clone(&listener_stop),
    );
    let mut tasks = Vec::new();
    for (queue, concurrency) in shared.config.queues.clone() {
        let notify = Arc::clone(&wake[&queue]);
        tasks.push(tokio::spawn(claim_loop(
            Arc::clone(&shared),
            queue,
            concurrency,
            notify,
            stopping.clone(),
        )));
    }
    tasks.push(tokio::spawn(rescues(Arc::clone(&shared), stopping.clone())));
    if shared.config.cron {
        tasks.push(tokio::spawn(cron::run(
            shared.state.clone(),
            cron::schedules(),
            stopping.clone(),
        )));
    }
    let lease_tasks = vec![
        tokio::spawn(leases::heartbeats(
            Arc::clone(&shared.leases),
            shared.state.config.database_url.clone(),
            leases_stopping.clone(),
        )),
        tokio::spawn(leases::watchdog(
            Arc::clone(&shared.leases),
            leases_stopping,
        )),
    ];
    let completer = tokio::spawn(complete_batches(
        shared.state.clone(),
        Arc::clone(&shared.leases),
        completed,
    ));
    tracing::info!(worker = %shared.id, queues = ?shared.config.queues, "job worker started");
    WorkerHandle {
        shared,
        stop,
        leases_stop,
        listener_stop,
        tasks,
        lease_tasks,
        completer: Some(completer),
    }
}

impl WorkerHandle {
    pub fn id(&self) -> Uuid {
        self.shared.id
    }

    /// Stops claiming and lets running jobs finish for up to `grace` (their
    /// leases still renewed). Handlers still running then are cancelled and
    /// their jobs interrupted: the attempt counts, so a job that always
    /// hangs uses its attempts up, and it runs again at once elsewhere.
    /// Writes the last completions.
    pub async fn shutdown(mut self, grace: Duration) {
        let _ = self.stop.send(true);
        self.listener_stop.store(true, Ordering::Relaxed);
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline && !self.shared.leases.is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let left = self.shared.leases.take_all();
        if !left.is_empty() {
            let reason = format!(
                "interrupted: the worker shut down and the job had not finished within the {} s grace period",
                grace.as_secs_f64()
            );
            let interrupted = self
                .shared
                .state
                .db
                .unscoped(move |conn| Ok(job_db::interrupt(conn, &left, &reason)?))
                .await;
            tracing::warn!(interrupted = ?interrupted, "job worker interrupted unfinished jobs");
        }
        let _ = self.leases_stop.send(true);
        for task in self.lease_tasks.drain(..) {
            let _ = task.await;
        }
        // The completer ends once every sender is gone: the running jobs'
        // tasks hold clones through `shared`.
        let shared = self.shared;
        drop(shared);
        if let Some(completer) = self.completer.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), completer).await;
        }
        tracing::info!("job worker stopped");
    }
}

async fn claim_loop(
    shared: Arc<Shared>,
    queue: String,
    concurrency: usize,
    notify: Arc<Notify>,
    mut stopping: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(concurrency.max(1)));
    // Whether the last claim found as many jobs as it asked for.
    let mut busy = false;
    loop {
        if *stopping.borrow() {
            return;
        }
        // Wait for a free slot, then take every other free one.
        let first = tokio::select! {
            permit = Arc::clone(&slots).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
            _ = stopping.changed() => return,
        };
        let mut permits = vec![first];
        take_free(&slots, &mut permits);
        if busy && permits.len() < concurrency / 2 {
            // The queue is busy and most slots are still finishing: give them
            // a moment, so one claim takes many jobs instead of one each.
            tokio::time::sleep(Duration::from_millis(1)).await;
            take_free(&slots, &mut permits);
        }
        let asked = permits.len();
        let claimed = claim(&shared, &queue, asked).await;
        let got = claimed.len();
        busy = got == asked;
        for (job, permit) in claimed.into_iter().zip(permits) {
            let shared = Arc::clone(&shared);
            tokio::spawn(async move {
                run(&shared, job).await;
                drop(permit);
            });
        }
        if got < asked {
            // The queue is drained: sleep until a notification or the poll.
            tokio::select! {
                _ = notify.notified() => {}
                _ = tokio::time::sleep(shared.config.poll) => {}
                _ = stopping.changed() => return,
            }
        }
    }
}

/// Adds every free slot to `permits`, up to a claim's size.
fn take_free(slots: &Arc<Semaphore>, permits: &mut Vec<tokio::sync::OwnedSemaphorePermit>) {
    while permits.len() < MAX_CLAIM {
        match Arc::clone(slots).try_acquire_owned() {
            Ok(permit) => permits.push(permit),
            Err(_) => break,
        }
    }
}

async fn claim(shared: &Arc<Shared>, queue: &str, limit: usize) -> Vec<Job> {
    let (worker, queue_name) = (shared.id, queue.to_owned());
    let lease = shared.leases.seconds();
    let sent_at = Instant::now();
    let claimed = shared
        .state
        .db
        .unscoped(move |conn| {
            Ok(job_db::claim(
                conn,
                &queue_name,
                worker,
                limit as i32,
                lease,
            )?)
        })
        .await;
    match claimed {
        Ok(jobs) => {
            shared.leases.claimed(&jobs, sent_at);
            jobs
        }
        Err(err) => {
            tracing::warn!(queue, error = %err, "claiming jobs failed; retrying after the poll interval");
            tokio::time::sleep(shared.config.poll).await;
            Vec::new()
        }
    }
}

/// Runs one claimed job and records how it ended.
async fn run(shared: &Arc<Shared>, job: Job) {
    let started = Instant::now();
    let (queue, kind, attempt) = (job.queue.clone(), job.kind.clone(), job.attempt);
    let Some(claim) = job.claim() else {
        tracing::error!(job = %job.id, "a claimed job came without its claim token");
        return;
    };
    let outcome = match shared.registry.get(&kind) {
        None => Err(JobError::Discard(format!(
            "no handler for job kind {kind:?}"
        ))),
        Some(handler) => {
            let ctx = JobContext::new(shared.state.clone(), job);
            // Its own task: a panicking handler fails its attempt, not the
            // worker, and a lost lease cancels it.
            let task = tokio::spawn(handler.run(ctx.clone()));
            if !shared.leases.attach(claim, task.abort_handle()) {
                task.abort();
            }
            match task.await {
                Ok(Ok(())) if ctx.completed() => {
                    shared
                        .state
                        .jobs
                        .observe(&queue, Outcome::Completed, started.elapsed());
                    shared.leases.forget(claim);
                    return;
                }
                Ok(result) => result,
                Err(err) if err.is_cancelled() => Err(JobError::LeaseLost),
                Err(err) => Err(JobError::Retry(format!("the job panicked: {err}"))),
            }
        }
    };
    let error = match outcome {
        Ok(()) => {
            let _ = shared.completions.send(Finished {
                claim,
                queue,
                started,
            });
            return;
        }
        Err(error) => error,
    };
    let retry_at = match &error {
        // Nothing of a run whose claim is gone is recorded.
        JobError::LeaseLost => {
            tracing::warn!(job = %claim.id, kind, attempt, "job run cancelled: its lease was lost");
            shared
                .state
                .jobs
                .observe(&queue, Outcome::Failed, started.elapsed());
            shared.leases.forget(claim);
            return;
        }
        JobError::Discard(_) => None,
        JobError::RetryAfter(_, after) => Some(*after),
        JobError::Retry(_) => Some(
            shared
                .registry
                .get(&kind)
                .map_or(shared.config.backoff_base, |handler| {
                    handler.backoff(attempt, shared.config.backoff_base)
                }),
        ),
    }
    .map(|after| Utc::now() + chrono::Duration::from_std(after).unwrap_or_default());
    let message = error.message().to_owned();
    let failed = shared
        .state
        .db
        .unscoped(move |conn| Ok(job_db::fail(conn, claim, &message, retry_at)?))
        .await;
    let outcome = match failed.as_ref().map(|state| state.as_deref()) {
        Ok(Some("discarded")) => Outcome::Discarded,
        _ => Outcome::Failed,
    };
    tracing::warn!(job = %claim.id, kind, attempt, error = error.message(), state = ?failed, "job attempt failed");
    shared
        .state
        .jobs
        .observe(&queue, outcome, started.elapsed());
    shared.leases.forget(claim);
}

/// Writes completions in batches: whatever finished while the last batch was
/// being written goes in the next statement. Each is fenced on its claim.
/// Ends when every sender (held by `Shared`) is gone.
async fn complete_batches(
    state: web::Data<AppState>,
    leases: Arc<Leases>,
    mut completed: mpsc::UnboundedReceiver<Finished>,
) {
    let mut batch = Vec::with_capacity(512);
    while completed.recv_many(&mut batch, 512).await > 0 {
        let claims: Vec<Claim> = batch.iter().map(|finished| finished.claim).collect();
        let mut attempts = 0;
        let done = loop {
            let sent = claims.clone();
            match state
                .db
                .unscoped(move |conn| Ok(job_db::complete(conn, &sent)?))
                .await
            {
                Ok(done) => break done,
                Err(err) if attempts < 5 => {
                    attempts += 1;
                    tracing::warn!(error = %err, "completing jobs failed; retrying");
                    tokio::time::sleep(Duration::from_millis(200 * attempts)).await;
                }
                Err(err) => {
                    // Their leases expire and the rescuer runs them again.
                    tracing::error!(error = %err, jobs = claims.len(), "cannot complete jobs");
                    break Vec::new();
                }
            }
        };
        if done.len() < claims.len() {
            tracing::warn!(
                lost = claims.len() - done.len(),
                "finished jobs whose claim no longer held were not completed"
            );
        }
        for finished in batch.drain(..) {
            let outcome = if done.contains(&finished.claim.id) {
                Outcome::Completed
            } else {
                Outcome::Failed
            };
            state
                .jobs
                .observe(&finished.queue, outcome, finished.started.elapsed());
            leases.forget(finished.claim);
        }
    }
}

/// Returns jobs whose lease expired to their queue, on every node.
async fn rescues(shared: Arc<Shared>, mut stopping: watch::Receiver<bool>) {
    let every = (shared.config.lease / 2).max(Duration::from_millis(500));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stopping.changed() => return,
        }
        match shared
            .state
            .db
            .unscoped(|conn| Ok(job_db::rescue(conn)?))
            .await
        {
            Ok(0) => {}
            Ok(rescued) => {
                tracing::warn!(rescued, "jobs of a lost worker returned to their queues")
            }
            Err(err) => tracing::warn!(error = %err, "rescuing jobs failed"),
        }
    }
}
