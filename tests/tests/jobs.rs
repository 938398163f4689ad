//! The job queue against real PostgreSQL: enqueueing commits or rolls back
//! with the business transaction, failures retry with growing delays and end
//! `discarded` with their errors, a retry through the api runs the job again,
//! a worker that vanished mid-job is rescued and its late completion fenced
//! off, one tenant's backlog does not starve another, unique keys and cron
//! slots insert once, shutdown interrupts unfinished jobs, and the admin api
//! is limited to the tenant's owners and admins.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use cms_api::db::jobs::{self as job_db, NewJob};
use cms_api::db::Scope;
use cms_api::jobs::handlers::Registry;
use cms_api::jobs::worker::{self, WorkerConfig};
use cms_api::jobs::{Handler, JobContext, JobError, JobFuture};
use cms_tests::*;
use serde_json::{json, Value};
use uuid::Uuid;

const OWNER: &str = "admin@example.com";

fn quick(queues: &[(&str, usize)]) -> WorkerConfig {
    WorkerConfig {
        queues: queues.iter().map(|(q, n)| ((*q).to_owned(), *n)).collect(),
        lease: Duration::from_secs(2),
        poll: Duration::from_millis(100),
        backoff_base: Duration::from_millis(200),
        cron: false,
    }
}

/// What the test handlers saw: (job id, attempt, when, tenant).
type Seen = Arc<Mutex<Vec<(Uuid, i32, Instant, Option<Uuid>)>>>;

/// Fails the first `failures` attempts of every job, then succeeds.
struct Flaky {
    failures: i32,
    seen: Seen,
}

impl Handler for Flaky {
    fn run(&self, ctx: JobContext) -> JobFuture {
        self.seen.lock().unwrap().push((
            ctx.job.id,
            ctx.job.attempt,
            Instant::now(),
            ctx.job.tenant_id,
        ));
        let fail = ctx.job.attempt <= self.failures;
        Box::pin(async move {
            if fail {
                Err(JobError::Retry(format!(
                    "provider down (attempt {})",
                    ctx.job.attempt
                )))
            } else {
                Ok(())
            }
        })
    }
}

/// Sleeps `args.ms` milliseconds.
struct Sleepy {
    seen: Seen,
}

impl Handler for Sleepy {
    fn run(&self, ctx: JobContext) -> JobFuture {
        self.seen.lock().unwrap().push((
            ctx.job.id,
            ctx.job.attempt,
            Instant::now(),
            ctx.job.tenant_id,
        ));
        let ms = ctx.job.args["ms"].as_u64().unwrap_or(0);
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(())
        })
    }
}

async fn state_of(app: &TestApp) -> actix_web::web::Data<cms_api::state::AppState> {
    let mut config = app.config.clone();
    config.jobs_in_serve = false;
    cms_api::app::build_state(config).await.unwrap()
}

fn tenant_of(app: &TestApp, slug: &str) -> Uuid {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
    }
    let mut conn = app.admin_connection();
    diesel::sql_query("SELECT id FROM tenants WHERE slug = $1")
        .bind::<diesel::sql_types::Text, _>(slug)
        .get_result::<Id>(&mut conn)
        .unwrap()
        .id
}

async fn enqueue(
    state: &cms_api::state::AppState,
    tenant: Uuid,
    jobs: Vec<NewJob>,
) -> Vec<Option<Uuid>> {
    state
        .db
        .tx(
            Scope {
                tenant_id: Some(tenant),
                user_id: None,
            },
            move |conn| {
                Ok(jobs
                    .iter()
                    .map(|job| job_db::enqueue(conn, job).unwrap())
                    .collect())
            },
        )
        .await
        .unwrap()
}

async fn job_row(app: &TestApp, token: &str, id: Uuid) -> Value {
    app.get(&format!("/api/v1/jobs/{id}"), token)
        .await
        .expect(200)
        .body
}

async fn wait_for_state(
    app: &TestApp,
    token: &str,
    id: Uuid,
    state: &str,
    within: Duration,
) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let job = job_row(app, token, id).await;
        if job["state"] == state {
            return job;
        }
        assert!(Instant::now() < deadline, "job never became {state}: {job}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A worker-less state on `app`'s database, and one job of alpha's.
async fn one_job(
    app: &TestApp,
    kind: &str,
    args: Value,
) -> (actix_web::web::Data<cms_api::state::AppState>, Uuid) {
    let tenant = tenant_of(app, "alpha");
    let state = state_of(app).await;
    let id = enqueue(&state, tenant, vec![NewJob::new(tenant, kind, args)]).await[0].unwrap();
    (state, id)
}

/// A worker running one job at a time on `default`, with `handler` for
/// `kind` and leases of `lease`.
fn one_slot_worker(
    state: &actix_web::web::Data<cms_api::state::AppState>,
    kind: &str,
    handler: impl Handler,
    lease: Duration,
) -> worker::WorkerHandle {
    let mut registry = Registry::default();
    registry.register(kind, handler);
    let mut config = quick(&[("default", 1)]);
    config.lease = lease;
    worker::start(state.clone(), registry, config)
}

/// Takes job `id` from whoever runs it, as any node would once its lease
/// ran out: its lease is made past, the rescuer returns it, and `worker`
/// claims it (the one job of the `default` queue) under a new claim.
async fn take_over(
    app: &TestApp,
    state: &cms_api::state::AppState,
    id: Uuid,
    worker: Uuid,
) -> Vec<cms_api::jobs::Job> {
    {
        use diesel::prelude::*;
        diesel::sql_query(
            "UPDATE jobs SET lease_expires_at = now() - interval '1 second' WHERE id = $1",
        )
        .bind::<diesel::sql_types::Uuid, _>(id)
        .execute(&mut app.admin_connection())
        .unwrap();
    }
    let taken = state
        .db
        .unscoped(move |conn| {
            assert_eq!(job_db::rescue(conn)?, 1);
            Ok(job_db::claim(conn, "default", worker, 10, 60)?)
        })
        .await
        .unwrap();
    assert_eq!(taken.iter().map(|job| job.id).collect::<Vec<_>>(), vec![id]);
    taken
}

#[tokio::test]
async fn scheduling_a_page_enqueues_its_publish_job_in_the_same_transaction() {
    let app = TestApp::spawn_with(HashMap::from([("CMS_JOBS", "off".to_owned())])).await;
    let owner = app.login(OWNER, Some("alpha")).await;
    let site = app.first_site(&owner.access).await;
    let page = app
        .draft_page(&owner.access, &site, "/later", "Later")
        .await;
    let id = page["id"].as_str().unwrap();
    let at = (Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let jobs_before = app.count_rows("jobs");

    // A stale If-Match refuses the schedule: no job either.
    let stale = app
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/pages/{id}/publish"),
            Some(&owner.access),
            Some(&json!({"publish_at": at})),
            &[("If-Match", "\"v999\"")],
        )
        .await;
    stale.expect_problem(412);
    assert_eq!(app.count_rows("jobs"), jobs_before);

    app.post(
        &format!("/api/v1/pages/{id}/publish"),
        &owner.access,
        json!({"publish_at": at}),
    )
    .await
    .expect(200);
    assert_eq!(app.count_rows("jobs"), jobs_before + 1);
    let listed = app
        .get(
            "/api/v1/jobs?kind=page.publish&state=available",
            &owner.access,
        )
        .await
        .expect(200);
    let job = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|job| job["args"]["page_id"] == id)
        .expect("the page's publish job")
        .clone();
    let run_at: chrono::DateTime<Utc> = job["run_at"].as_str().unwrap().parse().unwrap();
    let wanted: chrono::DateTime<Utc> = at.parse().unwrap();
    assert!((run_at - wanted).num_milliseconds().abs() < 1);
    assert!(job.get("tenant_id").is_none() && job.get("lease_owner").is_none());

    // A page that is live cannot be scheduled (409): nothing enqueued.
    let live = app.draft_page(&owner.access, &site, "/live", "Live").await;
    let live_id = live["id"].as_str().unwrap();
    app.publish(&owner.access, live_id).await.expect(200);
    let count = app.count_rows("jobs");
    app.post(
        &format!("/api/v1/pages/{live_id}/publish"),
        &owner.access,
        json!({"publish_at": at}),
    )
    .await
    .expect_problem(409);
    assert_eq!(app.count_rows("jobs"), count);
}

#[tokio::test]
async fn failures_retry_with_growing_delays_then_discard_and_an_admin_retry_runs_it_again() {
    let app = TestApp::spawn_with(HashMap::from([("CMS_JOBS", "off".to_owned())])).await;
    let owner = app.login(OWNER, Some("alpha")).await;
    let tenant = tenant_of(&app, "alpha");
    let state = state_of(&app).await;
    let seen: Seen = Arc::default();
    let mut registry = Registry::default();
    registry.register(
        "test.flaky",
        Flaky {
            failures: 3,
            seen: Arc::clone(&seen),
        },
    );
    registry.register(
        "test.always_failing",
        Flaky {
            failures: i32::MAX,
            seen: Arc::clone(&seen),
        },
    );
    let running = worker::start(state.clone(), registry.clone(), quick(&[("default", 4)]));

    let ids = enqueue(
        &state,
        tenant,
        vec![
            NewJob::new(tenant, "test.flaky", json!({})),
            NewJob::new(tenant, "test.always_failing", json!({})).max_attempts(3),
        ],
    )
    .await;
    let (flaky, doomed) = (ids[0].unwrap(), ids[1].unwrap());
    let done = wait_for_state(
        &app,
        &owner.access,
        flaky,
        "completed",
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(done["attempt"], 4);
    assert_eq!(done["errors"].as_array().unwrap().len(), 3);
    let times: Vec<Instant> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|(id, ..)| *id == flaky)
        .map(|(_, _, at, _)| *at)
        .collect();
    assert_eq!(times.len(), 4, "three retries, one success");
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    // 200 ms, 400 ms, 800 ms (each ±25%). A retry never runs before its
    // delay, so each gap is at least the delay's lower bound; comparing gaps
    // with each other would be flaky, as jitter and pickup latency add up.
    for (gap, floor_ms) in gaps.iter().zip([150, 300, 600]) {
        assert!(*gap >= Duration::from_millis(floor_ms), "{gaps:?}");
    }

    let discarded = wait_for_state(
        &app,
        &owner.access,
        doomed,
        "discarded",
        Duration::from_secs(20),
    )
    .await;
    let errors = discarded["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 3);
    assert_eq!(errors[2]["error"], "provider down (attempt 3)");
    assert!(discarded["finished_at"].is_string());

    // The provider is back: an admin's retry runs it once more.
    running.shutdown(Duration::from_secs(2)).await;
    let mut registry = Registry::default();
    registry.register(
        "test.always_failing",
        Flaky {
            failures: 0,
            seen: Arc::clone(&seen),
        },
    );
    let running = worker::start(state.clone(), registry, quick(&[("default", 4)]));
    let retried = app
        .post(
            &format!("/api/v1/jobs/{doomed}/retry"),
            &owner.access,
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(retried.body["max_attempts"], 4);
    let completed = wait_for_state(
        &app,
        &owner.access,
        doomed,
        "completed",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(completed["attempt"], 4);
    // Retrying a completed job is refused, and the move was audited.
    app.post(
        &format!("/api/v1/jobs/{doomed}/retry"),
        &owner.access,
        json!({}),
    )
    .await
    .expect_problem(409);
    let audit = app
        .get("/api/v1/audit-log", &owner.access)
        .await
        .expect(200);
    assert!(
        audit.text.contains("\"action\":\"job.retry\""),
        "{}",
        audit.text
    );
    running.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn a_lost_workers_job_is_rescued_after_its_lease_and_its_late_completion_is_fenced() {
    let app = TestApp::spawn_with(HashMap::from([("CMS_JOBS", "off".to_owned())])).await;
    let owner = app.login(OWNER, Some("alpha")).await;
    let (state, id) = one_job(&app, "test.sleepy", json!({"ms": 0})).await;
    // A worker claims it with a 1 s lease, then vanishes (never heartbeats).
    let lost = Uuid::now_v7();
    let claimed = state
        .db
        .unscoped(move |conn| Ok(job_db::claim(conn, "default", lost, 10, 1)?))
        .await
        .unwrap();
    assert_eq!(claimed.iter().map(|j| j.id).collect::<Vec<_>>(), vec![id]);
    assert_eq!(job_row(&app, &owner.access, id).await["state"], "running");

    let seen: Seen = Arc::default();
    let mut registry = Registry::default();
    registry.register(
        "test.sleepy",
        Sleepy {
            seen: Arc::clone(&seen),
        },
    );
    let running = worker::start(state.clone(), registry, quick(&[("default", 2)]));
    let done = wait_for_state(
        &app,
        &owner.access,
        id,
        "completed",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(done["attempt"], 2);
    assert!(done["errors"][0]["error"]
        .as_str()
        .unwrap()
        .contains("lease expired"));
    assert_eq!(
        seen.lock().unwrap().len(),
        1,
        "ran once, by the live worker"
    );
    running.shutdown(Duration::from_secs(2)).await;

    // The fence is the claim, not the worker: the same worker id claims a
    // job, loses it (lease run out, rescued), claims it again, and while
    // that claim runs the lost run reports back under its old claim. Every
    // move of the old claim is refused; the new claim's stand.
    let tenant = tenant_of(&app, "alpha");
    let id = enqueue(
        &state,
        tenant,
        vec![NewJob::new(tenant, "test.sleepy", json!({"ms": 0}))],
    )
    .await[0]
        .unwrap();
    let first = state
        .db
        .unscoped(move |conn| Ok(job_db::claim(conn, "default", lost, 10, 30)?))
        .await
        .unwrap();
    let stale = first[0].claim().unwrap();
    let current = take_over(&app, &state, id, lost).await[0].claim().unwrap();
    assert_eq!(current.id, id);
    assert_ne!(current.token, stale.token);
    let refused = state
        .db
        .unscoped(move |conn| {
            Ok((
                job_db::heartbeat(conn, &[stale], 30)?,
                job_db::complete(conn, &[stale])?,
                job_db::fail(conn, stale, "late failure", None)?,
                job_db::interrupt(conn, &[stale], "late interruption")?,
            ))
        })
        .await
        .unwrap();
    assert!(refused.0.is_empty(), "a stale heartbeat renewed the lease");
    assert!(refused.1.is_empty(), "a stale completion was accepted");
    assert_eq!(refused.2, None, "a stale failure was recorded");
    assert_eq!(refused.3, 0, "a stale interruption was recorded");
    let row = job_row(&app, &owner.access, id).await;
    assert_eq!(row["state"], "running", "{row}");
    let accepted = state
        .db
        .unscoped(move |conn| {
            Ok((
                job_db::heartbeat(conn, &[current], 30)?,
                job_db::complete(conn, &[current])?,
            ))
        })
        .await
        .unwrap();
    assert_eq!(accepted, (vec![id], vec![id]));
    assert_eq!(job_row(&app, &owner.access, id).await["state"], "completed");
}

/// Waits until `release` is notified, then writes through `complete_with`
/// and reports what it answered.
struct Paused {
    started: Arc<tokio::sync::Notify>,
    release: Arc<tokio::sync::Notify>,
    answered: Arc<Mutex<Option<Result<(), String>>>>,
}

impl Handler for Paused {
    fn run(&self, ctx: JobContext) -> JobFuture {
        let (started, release, answered) = (
            Arc::clone(&self.started),
            Arc::clone(&self.release),
            Arc::clone(&self.answered),
        );
        Box::pin(async move {
            started.notify_one();
            release.notified().await;
            let id = ctx.job.id;
            let result = ctx
                .complete_with(move |conn| {
                    use diesel::prelude::*;
                    diesel::sql_query("INSERT INTO job_runs (job_id) VALUES ($1)")
                        .bind::<diesel::sql_types::Uuid, _>(id)
                        .execute(conn)?;
                    Ok(())
                })
                .await;
            *answered.lock().unwrap() = Some(
                result
                    .as_ref()
                    .map_err(|err| err.message().to_owned())
                    .copied(),
            );
            result
        })
    }
}

#[tokio::test]
async fn a_handler_whose_job_was_taken_over_writes_nothing_and_its_result_is_refused() {
    let app = TestApp::spawn_with(HashMap::from([("CMS_JOBS", "off".to_owned())])).await;
    let owner = app.login(OWNER, Some("alpha")).await;
    {
        use diesel::connection::SimpleConnection;
        app.admin_connection()
            .batch_execute(
                "CREATE TABLE job_runs (job_id uuid NOT NULL, pid integer, attempt integer);
                 GRANT SELECT, INSERT ON job_runs TO cms_app",
            )
            .unwrap();
    }
    let (state, id) = one_job(&app, "test.paused", json!({})).await;
    let handler = Paused {
        started: Arc::default(),
        release: Arc::default(),
        answered: Arc::default(),
    };
    let (started, release, answered) = (
        Arc::clone(&handler.started),
        Arc::clone(&handler.release),
        Arc::clone(&handler.answered),
    );
    // A long lease: this worker's own heartbeat does not notice in time.
    let running = one_slot_worker(&state, "test.paused", handler, Duration::from_secs(60));
    tokio::time::timeout(Duration::from_secs(10), started.notified())
        .await
        .expect("the job never started");
    // Meanwhile its lease is taken as lost (a pause longer than the lease):
    // rescued, and claimed by another worker.
    let taken = take_over(&app, &state, id, Uuid::now_v7()).await;
    release.notify_one();
    let deadline = Instant::now() + Duration::from_secs(10);
    let result = loop {
        if let Some(result) = answered.lock().unwrap().clone() {
            break result;
        }
        assert!(Instant::now() < deadline, "the handler never answered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(
        result.as_ref().is_err_and(|err| err.contains("lease lost")),
        "{result:?}"
    );
    assert_eq!(
        app.count_rows("job_runs"),
        0,
        "the stale run wrote its effect"
    );
    let row = job_row(&app, &owner.access, id).await;
    assert_eq!(
        row["state"], "running",
        "the new claim was disturbed: {row}"
    );
    assert_eq!(row["attempt"], 2);
    let current = taken[0].claim().unwrap();
    let completed = state
        .db
        .unscoped(move |conn| Ok(job_db::complete(conn, &[current])?))
        .await
        .unwrap();
    assert_eq!(completed, vec![id]);
    running.shutdown(Duration::from_secs(2)).await;
}

/// Runs until cancelled; says when it started and when it was dropped.
struct Endless {
    started: Arc<tokio::sync::Notify>,
    dropped: Arc<std::sync::atomic::AtomicBool>,
}

struct DropFlag(Arc<std::sync::atomic::AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Handler for Endless {
    fn run(&self, _ctx: JobContext) -> JobFuture {
        let (started, flag) = (
            Arc::clone(&self.started),
            DropFlag(Arc::clone(&self.dropped)),
        );
        Box::pin(async move {
            let _flag = flag;
            started.notify_one();
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(())
        })
    }
}

#[tokio::test]
async fn a_handler_whose_lease_is_lost_is_cancelled() {
    let app = TestApp::spawn_with(HashMap::from([("CMS_JOBS", "off".to_owned())])).await;
    let (state, id) = one_job(&app, "test.endless", json!({})).await;
    let handler = Endless {
        started: Arc::default(),
        dropped: Arc::default(),
    };
    let (started, dropped) = (Arc::clone(&handler.started), Arc::clone(&handler.dropped));
    // Heartbeats every second.
    let running = one_slot_worker(&state, "test.endless", handler, Duration::from_secs(3));
    tokio::time::timeout(Duration::from_secs(10), started.notified())
        .await
        .expect("the job never started");
    // The job is taken from this worker (as a rescue after a long pause
    // would): its next heartbeat learns it and cancels the handler.
    take_over(&app, &state, id, Uuid::now_v7()).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while !dropped.load(std::sync::atomic::Ordering::SeqCst) {
        assert!(
            Instant::now() < deadline,
            "the handler kept running after its lease was lost"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    running.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn leases_are_renewed_while_the_request_pool_is_exhausted() {
    let app = TestApp::spawn_with(HashMap::from([
        ("CMS_JOBS", "off".to_owned()),
        ("CMS_DB_POOL_SIZE", "1".to_owned()),
    ]))
    .await;
    let owner = app.login(OWNER, Some("alpha")).await;
    let (state, id) = one_job(&app, "test.sleepy", json!({"ms": 4000})).await;
    let seen: Seen = Arc::default();
    let mut registry = Registry::default();
    registry.register(
        "test.sleepy",
        Sleepy {
            seen: Arc::clone(&seen),
        },
    );
    let mut config = quick(&[("default", 1)]);
    config.lease = Duration::from_secs(2);
    let running = worker::start(state.clone(), registry, config);
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the job never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The pool's one connection is busy for longer than two leases while
    // the job runs: its heartbeats go through a connection of their own.
    state
        .db
        .tx(Scope::global(), |_conn| {
            std::thread::sleep(Duration::from_millis(4500));
            Ok(())
        })
        .await
        .unwrap();
    let done = wait_for_state(
        &app,
        &owner.access,
        id,
        "completed",
        Duration::from_secs(15),
    )
    .await;
    assert_eq!(done["attempt"], 1, "the lease was lost: {done}");
    assert_eq!(done["errors"], json!([]));
    assert_eq!(seen.lock().unwrap().len(), 1);
    running.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn one_tenants_backlog_does_not_starve_another() {
    let app = TestApp::spawn_with(HashMap::from([("CMS_JOBS", "off".to_owned())])).await;
    let (alpha, beta) = (tenant_of(&app, "alpha"), tenant_of(&app, "beta"));
    let state = state_of(&app).await;
    let backlog: Vec<NewJob> = (0..400)
        .map(|_| NewJob::new(alpha, "test.sleepy", json!({"ms": 5})))
        .collect();
    enqueue(&state, alpha, backlog).await;
    let theirs: Vec<NewJob> = (0..5)
        .map(|_| NewJob::new(beta, "test.sleepy", json!({"ms": 5})))
        .collect();
    enqueue(&state, beta, theirs).await;
    let seen: Seen = Arc::default();
    let mut registry = Registry::default();
    registry.register(
        "test.sleepy",
        Sleepy {
            seen: Arc::clone(&seen),
        },
    );
    let running = worker::start(state.clone(), registry, quick(&[("default", 4)]));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let order: Vec<Option<Uuid>> = seen.lock().unwrap().iter().map(|s| s.3).collect();
        if order.iter().filter(|t| **t == Some(beta)).count() == 5 {
            let last_beta = order.iter().rposition(|t| *t == Some(beta)).unwrap();
            assert!(
                last_beta < 20,
                "beta's 5 jobs waited behind {last_beta} jobs of alpha's 400"
            );
            break;
        }
        assert!(Instant::now() < deadline, "beta's jobs never ran");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    running.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn unique_keys_and_cron_slots_insert_once_and_shutdown_interrupts_unfinished_jobs() {
    let app = TestApp::spawn_with(HashMap::from([("CMS_JOBS", "off".to_owned())])).await;
    let owner = app.login(OWNER, Some("alpha")).await;
    let tenant = tenant_of(&app, "alpha");
    let state = state_of(&app).await;
    let key = format!("reminder:{}:24h", Uuid::now_v7());
    let ids = enqueue(
        &state,
        tenant,
        vec![
            NewJob::new(tenant, "test.sleepy", json!({"ms": 0})).unique(key.clone()),
            NewJob::new(tenant, "test.sleepy", json!({"ms": 0})).unique(key.clone()),
        ],
    )
    .await;
    assert!(ids[0].is_some() && ids[1].is_none());
    // A batch insert skips the key that exists and keeps the rest.
    let batch = vec![
        NewJob::new(tenant, "test.sleepy", json!({"ms": 0})).unique(key.clone()),
        NewJob::new(tenant, "test.sleepy", json!({"ms": 0}))
            .run_at(Utc::now() + chrono::Duration::hours(1)),
        NewJob::new(tenant, "test.sleepy", json!({"ms": 0}))
            .run_at(Utc::now() + chrono::Duration::hours(1)),
    ];
    let inserted = state
        .db
        .tx(
            Scope {
                tenant_id: Some(tenant),
                user_id: None,
            },
            move |conn| Ok(job_db::enqueue_many(conn, &batch)?),
        )
        .await
        .unwrap();
    assert_eq!(inserted, 2);

    // Two nodes insert the same cron slot: one job.
    let schedule = cms_api::jobs::cron::Schedule {
        name: "test-slot",
        kind: "test.sleepy",
        every: Duration::from_secs(3600),
    };
    let now = Utc::now();
    let mut inserted = 0;
    for _ in 0..2 {
        let job = schedule.job(now);
        let node = state_of(&app).await;
        if node
            .db
            .unscoped(move |conn| Ok(job_db::enqueue_system(conn, &job)?))
            .await
            .unwrap()
            .is_some()
        {
            inserted += 1;
        }
    }
    assert_eq!(inserted, 1);
    // System jobs are no tenant's: the api lists none.
    let listed = app
        .get("/api/v1/jobs?limit=200", &owner.access)
        .await
        .expect(200);
    assert!(!listed.text.contains("test-slot"));

    // Shutdown: a short job finishes within the grace period; a long one is
    // interrupted after it, its attempt counted and the reason recorded.
    let seen: Seen = Arc::default();
    let mut registry = Registry::default();
    registry.register(
        "test.sleepy",
        Sleepy {
            seen: Arc::clone(&seen),
        },
    );
    let ids = enqueue(
        &state,
        tenant,
        vec![
            NewJob::new(tenant, "test.sleepy", json!({"ms": 300})).queue("webhooks"),
            NewJob::new(tenant, "test.sleepy", json!({"ms": 60_000})).queue("webhooks"),
        ],
    )
    .await;
    let running = worker::start(state.clone(), registry, quick(&[("webhooks", 2)]));
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.lock().unwrap().len() < 2 {
        assert!(Instant::now() < deadline, "the jobs never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    running.shutdown(Duration::from_secs(1)).await;
    let short = job_row(&app, &owner.access, ids[0].unwrap()).await;
    let long = job_row(&app, &owner.access, ids[1].unwrap()).await;
    assert_eq!(short["state"], "completed");
    assert_eq!(long["state"], "retryable", "{long}");
    assert_eq!(long["attempt"], 1, "an interrupted attempt counts");
    assert!(
        long["errors"][0]["error"]
            .as_str()
            .unwrap()
            .contains("interrupted: the worker shut down"),
        "{long}"
    );
}

#[tokio::test]
async fn the_jobs_api_is_for_the_tenants_owners_and_admins_only() {
    let app = TestApp::spawn().await;
    let owner = app.login(OWNER, Some("alpha")).await;
    let editor = app.login("editor@alpha.example", None).await;
    let other = app.login(OWNER, Some("beta")).await;
    let tenant = tenant_of(&app, "alpha");
    let state = state_of(&app).await;
    let id = enqueue(
        &state,
        tenant,
        vec![NewJob::new(tenant, "test.unknown", json!({}))
            .run_at(Utc::now() + chrono::Duration::hours(1))],
    )
    .await[0]
        .unwrap();
    app.get("/api/v1/jobs", &editor.access)
        .await
        .expect_problem(403);
    app.get(&format!("/api/v1/jobs/{id}"), &other.access)
        .await
        .expect_problem(404);
    app.post(
        &format!("/api/v1/jobs/{id}/cancel"),
        &other.access,
        json!({}),
    )
    .await
    .expect_problem(404);
    app.post(
        &format!("/api/v1/jobs/{id}/retry"),
        &other.access,
        json!({}),
    )
    .await
    .expect_problem(404);
    assert_eq!(job_row(&app, &owner.access, id).await["state"], "available");
    // Query errors answer 400 like every other list's.
    app.get("/api/v1/jobs?state=nope", &owner.access)
        .await
        .expect_problem(400);

    let cancelled = app
        .post(
            &format!("/api/v1/jobs/{id}/cancel"),
            &owner.access,
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(cancelled.body["state"], "cancelled");
    app.post(
        &format!("/api/v1/jobs/{id}/cancel"),
        &owner.access,
        json!({}),
    )
    .await
    .expect_problem(409);

    // A job of an unknown kind is discarded (nothing could ever run it), and
    // the serving node's metrics count it.
    let retried = app
        .post(
            &format!("/api/v1/jobs/{id}/retry"),
            &owner.access,
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(retried.body["state"], "available");
    let discarded = wait_for_state(
        &app,
        &owner.access,
        id,
        "discarded",
        Duration::from_secs(10),
    )
    .await;
    assert!(discarded["errors"][0]["error"]
        .as_str()
        .unwrap()
        .contains("no handler"));
    let metrics = app.public("/metrics", &[]).await.text;
    assert!(
        metrics.contains("cms_jobs_total{queue=\"default\",outcome=\"discarded\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("cms_jobs_ready{queue="));
}

#[tokio::test]
async fn a_notification_wakes_an_idle_worker_long_before_its_poll_and_priorities_order_a_tenants_jobs(
) {
    let app = TestApp::spawn_with(HashMap::from([("CMS_JOBS", "off".to_owned())])).await;
    let tenant = tenant_of(&app, "alpha");
    let state = state_of(&app).await;
    let seen: Seen = Arc::default();
    let mut registry = Registry::default();
    registry.register(
        "test.sleepy",
        Sleepy {
            seen: Arc::clone(&seen),
        },
    );
    let config = WorkerConfig {
        poll: Duration::from_secs(30),
        ..quick(&[("default", 1)])
    };
    let running = worker::start(state.clone(), registry, config);
    // Let the worker go idle (its first claim finds nothing).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let enqueued = Instant::now();
    enqueue(
        &state,
        tenant,
        vec![NewJob::new(tenant, "test.sleepy", json!({"ms": 0}))],
    )
    .await;
    let deadline = enqueued + Duration::from_secs(10);
    while seen.lock().unwrap().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the job waited for the 30 s poll"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let picked_up = seen.lock().unwrap()[0].2 - enqueued;
    assert!(
        picked_up < Duration::from_secs(5),
        "picked up after {picked_up:?}"
    );
    running.shutdown(Duration::from_secs(2)).await;

    // With one slot, the urgent job enqueued last runs before the others.
    seen.lock().unwrap().clear();
    let ids = enqueue(
        &state,
        tenant,
        vec![
            NewJob::new(tenant, "test.sleepy", json!({"ms": 0})).priority(5),
            NewJob::new(tenant, "test.sleepy", json!({"ms": 0})).priority(5),
            NewJob::new(tenant, "test.sleepy", json!({"ms": 0})).priority(0),
        ],
    )
    .await;
    let mut registry = Registry::default();
    registry.register(
        "test.sleepy",
        Sleepy {
            seen: Arc::clone(&seen),
        },
    );
    let running = worker::start(state.clone(), registry, quick(&[("default", 1)]));
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.lock().unwrap().len() < 3 {
        assert!(Instant::now() < deadline, "the jobs never ran");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(seen.lock().unwrap()[0].0, ids[2].unwrap());
    running.shutdown(Duration::from_secs(2)).await;
}

/// Jobs are the owners' and admins' business: an editor can neither list,
/// read, retry nor cancel one (403), and nothing about the job changes.
#[tokio::test]
async fn an_editor_may_not_read_retry_or_cancel_jobs() {
    let app = TestApp::spawn_with(HashMap::from([("CMS_JOBS", "off".to_owned())])).await;
    let owner = app.login(PLATFORM_ADMIN, Some("alpha")).await.access;
    let editor = app.login(ALPHA_EDITOR, None).await.access;
    // The demo seed's reminder jobs of alpha's upcoming visits.
    let jobs = app
        .get("/api/v1/jobs?queue=notifications", &owner)
        .await
        .expect(200);
    let job = jobs.body["items"][0].clone();
    let id = job["id"].as_str().expect("a demo reminder job").to_owned();
    app.get("/api/v1/jobs", &editor).await.expect_problem(403);
    app.get(&format!("/api/v1/jobs/{id}"), &editor)
        .await
        .expect_problem(403);
    for action in ["retry", "cancel"] {
        app.post(&format!("/api/v1/jobs/{id}/{action}"), &editor, json!({}))
            .await
            .expect_problem(403);
    }
    let after = app
        .get(&format!("/api/v1/jobs/{id}"), &owner)
        .await
        .expect(200);
    assert_eq!(after.body["state"], job["state"]);
    assert_eq!(after.body["run_at"], job["run_at"]);
}
