//! The job worker: per queue, a claim loop that takes as many ready jobs as
//! it has free slots (the queue's concurrency), runs each under a lease it
//! heartbeats, and finishes it fenced on that lease. Completions are written
//! in batches by one task (one statement for many jobs). Every node also
//! rescues jobs whose lease expired and inserts its cron slots.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::web;
use chrono::Utc;
use tokio::sync::{mpsc, watch, Notify, Semaphore};
use uuid::Uuid;

use super::handlers::Registry;
use super::metrics::Outcome;
use super::{cron, listener, Job, JobContext, JobError};
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

/// Shared by the worker's tasks.
struct Shared {
    id: Uuid,
    state: web::Data<AppState>,
    registry: Arc<Registry>,
    config: WorkerConfig,
    /// Jobs claimed and not finished.
    running: Arc<Mutex<HashSet<Uuid>>>,
    completions: mpsc::UnboundedSender<(Uuid, String, Instant)>,
}

/// A running worker; `shutdown` stops it gracefully.
pub struct WorkerHandle {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    listener_stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    completer: Option<tokio::task::JoinHandle<()>>,
}

/// Starts a worker with the handlers of `registry`.
pub fn start(state: web::Data<AppState>, registry: Registry, config: WorkerConfig) -> WorkerHandle {
    let (completions, completed) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        id: Uuid::now_v7(),
        state,
        registry: Arc::new(registry),
        config,
        running: Arc::new(Mutex::new(HashSet::new())),
        completions,
    });
    let (stop, stopping) = watch::channel(false);
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
    tasks.push(tokio::spawn(heartbeats(
        Arc::clone(&shared),
        stopping.clone(),
    )));
    tasks.push(tokio::spawn(rescues(Arc::clone(&shared), stopping.clone())));
    if shared.config.cron {
        tasks.push(tokio::spawn(cron::run(
            shared.state.clone(),
            cron::schedules(),
            stopping.clone(),
        )));
    }
    let completer = tokio::spawn(complete_batches(
        shared.id,
        shared.state.clone(),
        Arc::clone(&shared.running),
        completed,
    ));
    tracing::info!(worker = %shared.id, queues = ?shared.config.queues, "job worker started");
    WorkerHandle {
        shared,
        stop,
        listener_stop,
        tasks,
        completer: Some(completer),
    }
}

impl WorkerHandle {
    pub fn id(&self) -> Uuid {
        self.shared.id
    }

    /// Stops claiming, lets running jobs finish for up to `grace`, then gives
    /// back the ones still running (they run again elsewhere at once, the
    /// attempt not counted) and writes the last completions.
    pub async fn shutdown(mut self, grace: Duration) {
        let _ = self.stop.send(true);
        self.listener_stop.store(true, Ordering::Relaxed);
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline && !self.running_ids().is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let left = self.running_ids();
        if !left.is_empty() {
            let worker = self.shared.id;
            let released = self
                .shared
                .state
                .db
                .unscoped(move |conn| Ok(job_db::release(conn, worker, &left)?))
                .await;
            tracing::info!(released = ?released, "job worker gave back unfinished jobs");
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

    fn running_ids(&self) -> Vec<Uuid> {
        self.shared
            .running
            .lock()
            .map(|running| running.iter().copied().collect())
            .unwrap_or_default()
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
    let lease = shared.config.lease.as_secs().clamp(1, 3600) as i32;
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
            if let Ok(mut running) = shared.running.lock() {
                running.extend(jobs.iter().map(|job| job.id));
            }
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
    let (id, queue, kind, attempt) = (job.id, job.queue.clone(), job.kind.clone(), job.attempt);
    let outcome = match shared.registry.get(&kind) {
        None => Err(JobError::Discard(format!(
            "no handler for job kind {kind:?}"
        ))),
        Some(handler) => {
            let ctx = JobContext {
                state: shared.state.clone(),
                job,
            };
            // A panicking handler fails its attempt, not the worker.
            match tokio::spawn(handler.run(ctx)).await {
                Ok(result) => result,
                Err(err) => Err(JobError::Retry(format!("the job panicked: {err}"))),
            }
        }
    };
    match outcome {
        Ok(()) => {
            let _ = shared.completions.send((id, queue, started));
        }
        Err(error) => {
            let retry_at = match &error {
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
            let (worker, message) = (shared.id, error.message().to_owned());
            let failed = shared
                .state
                .db
                .unscoped(move |conn| Ok(job_db::fail(conn, worker, id, &message, retry_at)?))
                .await;
            let outcome = match failed.as_ref().map(|state| state.as_deref()) {
                Ok(Some("discarded")) => Outcome::Discarded,
                _ => Outcome::Failed,
            };
            tracing::warn!(job = %id, kind, attempt, error = error.message(), state = ?failed, "job attempt failed");
            shared
                .state
                .jobs
                .observe(&queue, outcome, started.elapsed());
            forget(&shared.running, &[id]);
        }
    }
}

fn forget(running: &Mutex<HashSet<Uuid>>, ids: &[Uuid]) {
    if let Ok(mut running) = running.lock() {
        for id in ids {
            running.remove(id);
        }
    }
}

/// Writes completions in batches: whatever finished while the last batch was
/// being written goes in the next statement.
/// Ends when every sender (held by `Shared`) is gone.
async fn complete_batches(
    worker: Uuid,
    state: web::Data<AppState>,
    running: Arc<Mutex<HashSet<Uuid>>>,
    mut completed: mpsc::UnboundedReceiver<(Uuid, String, Instant)>,
) {
    let mut batch = Vec::with_capacity(512);
    while completed.recv_many(&mut batch, 512).await > 0 {
        let ids: Vec<Uuid> = batch.iter().map(|(id, _, _)| *id).collect();
        let mut attempts = 0;
        let done = loop {
            let sent = ids.clone();
            match state
                .db
                .unscoped(move |conn| Ok(job_db::complete(conn, worker, &sent)?))
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
                    tracing::error!(error = %err, jobs = ids.len(), "cannot complete jobs");
                    break Vec::new();
                }
            }
        };
        if done.len() < ids.len() {
            tracing::warn!(
                lost = ids.len() - done.len(),
                "finished jobs whose lease this worker had lost were not completed"
            );
        }
        for (id, queue, started) in batch.drain(..) {
            let outcome = if done.contains(&id) {
                Outcome::Completed
            } else {
                Outcome::Failed
            };
            state.jobs.observe(&queue, outcome, started.elapsed());
        }
        forget(&running, &ids);
    }
}

/// Extends the leases of running jobs every third of the lease.
async fn heartbeats(shared: Arc<Shared>, mut stopping: watch::Receiver<bool>) {
    let every = shared.config.lease / 3;
    let lease = shared.config.lease.as_secs().clamp(1, 3600) as i32;
    loop {
        // On stop: one last heartbeat, so jobs finishing during the grace
        // period keep a whole lease, then the loop ends.
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stopping.changed() => {}
        }
        let ids: Vec<Uuid> = shared
            .running
            .lock()
            .map(|running| running.iter().copied().collect())
            .unwrap_or_default();
        if ids.is_empty() {
            if *stopping.borrow() {
                return;
            }
            continue;
        }
        let worker = shared.id;
        let sent = ids.clone();
        match shared
            .state
            .db
            .unscoped(move |conn| Ok(job_db::heartbeat(conn, worker, &sent, lease)?))
            .await
        {
            Ok(held) if held.len() < ids.len() => {
                tracing::warn!(
                    lost = ids.len() - held.len(),
                    "jobs were taken from this worker (lease expired)"
                );
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "job heartbeat failed"),
        }
        if *stopping.borrow() {
            return;
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
