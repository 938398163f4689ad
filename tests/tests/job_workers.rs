//! Worker processes on one queue, as they run in production (the
//! `record_worker` binary is `api worker`'s own loop with one more job kind,
//! `test.record`, which inserts a row keyed by its job id in the transaction
//! that completes the job):
//! - two processes drain 10,000 jobs: every job's row exactly once;
//! - a process stopped with SIGSTOP past its lease, then resumed: the job was
//!   rescued and run by the other process, the stopped run's result is
//!   refused and its write never happens.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use cms_tests::*;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text, Uuid as SqlUuid};
use uuid::Uuid;

struct Worker {
    child: Child,
    log: std::path::PathBuf,
}

impl Worker {
    fn start(app: &TestApp, lease_secs: u32, concurrency: u32) -> Self {
        let log = std::env::temp_dir().join(format!("cms-worker-{}.log", Uuid::now_v7()));
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_record_worker"))
            .env("DATABASE_URL", app.db.app_url())
            .env("CMS_SECRETS_KEY", &*TEST_SECRETS_KEY)
            .env("REDIS_URL", redis_url())
            .env(
                "CMS_REDIS_PREFIX",
                format!("test:{}:", Uuid::now_v7().simple()),
            )
            .env(
                "CMS_JWT_PRIVATE_KEY",
                cms_api::auth::tokens::SigningKey::generate_pem().unwrap(),
            )
            .env(
                "CMS_MEDIA_DIR",
                std::env::temp_dir().join(format!("cms-media-{}", app.db.name)),
            )
            .env("CMS_JOB_QUEUES", format!("default={concurrency}"))
            .env("CMS_JOB_LEASE_SECS", lease_secs.to_string())
            .env("CMS_JOB_POLL_MS", "50")
            .env("CMS_DB_POOL_SIZE", "8")
            .env("RUST_LOG", "info")
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        Worker { child, log }
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, then waits for a clean exit.
    fn stop(mut self) {
        self.signal("TERM");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "worker exited {status}: {}", self.log());
                break;
            }
            assert!(Instant::now() < deadline, "the worker did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = std::fs::remove_file(&self.log);
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn make_job_runs(app: &TestApp) {
    use diesel::connection::SimpleConnection;
    app.admin_connection()
        .batch_execute(
            "CREATE TABLE job_runs (job_id uuid NOT NULL, pid integer NOT NULL, attempt integer NOT NULL);
             GRANT SELECT, INSERT ON job_runs TO cms_app",
        )
        .unwrap();
}

fn enqueue_records(app: &TestApp, tenant: &str, count: i32, ms: u64) -> Vec<Uuid> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
    }
    diesel::sql_query(
        "INSERT INTO jobs (id, tenant_id, kind, args)
         SELECT gen_random_uuid(), (SELECT id FROM tenants WHERE slug = $1), 'test.record',
                jsonb_build_object('ms', $3::bigint)
         FROM generate_series(1, $2)
         RETURNING id",
    )
    .bind::<Text, _>(tenant)
    .bind::<Integer, _>(count)
    .bind::<BigInt, _>(ms as i64)
    .load::<Id>(&mut app.admin_connection())
    .unwrap()
    .into_iter()
    .map(|row| row.id)
    .collect()
}

#[derive(QueryableByName, Debug)]
struct JobRow {
    #[diesel(sql_type = Text)]
    state: String,
    #[diesel(sql_type = Integer)]
    attempt: i32,
    #[diesel(sql_type = Text)]
    errors: String,
}

fn job(app: &TestApp, id: Uuid) -> JobRow {
    diesel::sql_query("SELECT state, attempt, errors::text AS errors FROM jobs WHERE id = $1")
        .bind::<SqlUuid, _>(id)
        .get_result(&mut app.admin_connection())
        .unwrap()
}

fn wait_until(within: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[derive(QueryableByName, Debug, PartialEq)]
struct Counts {
    #[diesel(sql_type = BigInt)]
    rows: i64,
    #[diesel(sql_type = BigInt)]
    jobs: i64,
    #[diesel(sql_type = BigInt)]
    pids: i64,
}

#[tokio::test]
async fn two_worker_processes_run_ten_thousand_jobs_exactly_once() {
    let app = TestApp::spawn_with(HashMap::from([("CMS_JOBS", "off".to_owned())])).await;
    make_job_runs(&app);
    let mut ids = enqueue_records(&app, "alpha", 5_000, 0);
    ids.extend(enqueue_records(&app, "beta", 5_000, 0));
    let workers = [Worker::start(&app, 5, 16), Worker::start(&app, 5, 16)];
    #[derive(QueryableByName)]
    struct Left {
        #[diesel(sql_type = BigInt)]
        left: i64,
    }
    let mut admin = app.admin_connection();
    wait_until(
        Duration::from_secs(240),
        "the 10,000 jobs completed",
        || {
            diesel::sql_query(
            "SELECT count(*) AS left FROM jobs WHERE kind = 'test.record' AND state <> 'completed'",
        )
        .get_result::<Left>(&mut admin)
        .unwrap()
        .left
            == 0
        },
    );
    let counts: Counts = diesel::sql_query(
        "SELECT count(*) AS rows, count(DISTINCT job_id) AS jobs, count(DISTINCT pid) AS pids FROM job_runs",
    )
    .get_result(&mut admin)
    .unwrap();
    assert_eq!(
        counts,
        Counts {
            rows: 10_000,
            jobs: 10_000,
            pids: 2
        },
        "every job's effect once, from both processes"
    );
    let missing: Left = diesel::sql_query(
        "SELECT count(*) AS left FROM jobs j
         WHERE kind = 'test.record' AND NOT EXISTS (SELECT 1 FROM job_runs r WHERE r.job_id = j.id)",
    )
    .get_result(&mut admin)
    .unwrap();
    assert_eq!(missing.left, 0);
    assert_eq!(ids.len(), 10_000);
    for worker in workers {
        worker.stop();
    }
}

#[tokio::test]
async fn a_worker_stopped_past_its_lease_has_its_late_result_refused_and_its_write_never_happens() {
    let app = TestApp::spawn_with(HashMap::from([("CMS_JOBS", "off".to_owned())])).await;
    make_job_runs(&app);
    let paused = Worker::start(&app, 2, 1);
    let id = enqueue_records(&app, "alpha", 1, 1500)[0];
    wait_until(
        Duration::from_secs(20),
        "the first worker took the job",
        || job(&app, id).state == "running",
    );
    paused.signal("STOP");
    // The other process rescues the job once the stopped one's lease runs
    // out, and runs it.
    let live = Worker::start(&app, 2, 1);
    wait_until(
        Duration::from_secs(30),
        "the job was rescued and completed",
        || job(&app, id).state == "completed",
    );
    let done = job(&app, id);
    assert_eq!(done.attempt, 2, "{done:?}");
    assert!(done.errors.contains("lease expired"), "{done:?}");

    // The stopped process wakes up: its run finds its lease lost.
    paused.signal("CONT");
    wait_until(Duration::from_secs(20), "the woken run gave up", || {
        paused.log().contains("its lease was lost")
    });
    #[derive(QueryableByName, Debug, PartialEq)]
    struct Run {
        #[diesel(sql_type = Integer)]
        pid: i32,
        #[diesel(sql_type = Integer)]
        attempt: i32,
    }
    let runs: Vec<Run> = diesel::sql_query("SELECT pid, attempt FROM job_runs WHERE job_id = $1")
        .bind::<SqlUuid, _>(id)
        .load(&mut app.admin_connection())
        .unwrap();
    assert_eq!(
        runs,
        vec![Run {
            pid: live.pid(),
            attempt: 2
        }],
        "the effect happened once, by the rescuing run"
    );
    let after = job(&app, id);
    assert_eq!((after.state.as_str(), after.attempt), ("completed", 2));
    paused.stop();
    live.stop();
}
