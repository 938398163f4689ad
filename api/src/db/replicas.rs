//! Streaming read replicas (`DATABASE_REPLICA_URLS`). Read-only transactions
//! go round robin to replicas that are reachable, are standbys, lag less than
//! `CMS_REPLICA_MAX_LAG_BYTES`/`_MS` and have replayed the request's required
//! WAL position; otherwise to the primary. A connection-class failure during
//! a read (the replica died, was shut down, or cancelled the read for a
//! recovery conflict) takes the replica out at once and reruns the whole
//! read-only transaction on the next node, so the request still answers.
//!
//! A background thread checks every replica each `CMS_REPLICA_CHECK_MS`:
//! `pg_is_in_recovery()`, `pg_last_wal_replay_lsn()` against the primary's
//! `pg_current_wal_lsn()`; a replica that fails or lags is taken out and put
//! back (with a fresh pool: the old one's connections died with the server)
//! when a check passes again. Every change is logged once.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, Pool};
use diesel::sql_types::{Bool, Text};
use diesel::{Connection, QueryableByName, RunQueryDsl};

use super::positions::Lsn;
use super::PgPool;
use crate::error::ApiError;

/// What the replicas are allowed to lag and how often they are checked.
#[derive(Debug, Clone)]
pub struct ReplicaSettings {
    /// `DATABASE_REPLICA_URLS`, comma-separated; none: the primary serves all.
    pub urls: Vec<String>,
    /// `CMS_REPLICA_MAX_LAG_BYTES`, default 16 MiB of WAL not yet replayed.
    pub max_lag_bytes: u64,
    /// `CMS_REPLICA_MAX_LAG_MS`, default 5000: how long ago the primary
    /// passed the position the replica has replayed.
    pub max_lag: Duration,
    /// `CMS_REPLICA_CHECK_MS`, default 500.
    pub check_interval: Duration,
}

/// libpq settings added to replica URLs (unless the URL sets them) so a dead
/// or hung node fails a read in seconds, not at the kernel's TCP timeout.
const FAIL_FAST: [(&str, &str); 6] = [
    ("connect_timeout", "2"),
    ("keepalives", "1"),
    ("keepalives_idle", "5"),
    ("keepalives_interval", "1"),
    ("keepalives_count", "3"),
    ("tcp_user_timeout", "5000"),
];

fn fail_fast_url(url: &str) -> String {
    let mut url = url.to_owned();
    for (name, value) in FAIL_FAST {
        if !url.contains(&format!("{name}=")) {
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str(&format!("{name}={value}"));
        }
    }
    url
}

/// `host:port/db` of a URL, without user or password, for logs.
fn describe(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, rest)| rest);
    rest.split('?').next().unwrap_or(rest).to_owned()
}

/// Why a replica is not serving reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaState {
    /// Not checked yet.
    Starting,
    Serving,
    Lagging,
    Unreachable,
    /// It answers but is not in recovery: a primary configured as a replica.
    NotAStandby,
}

impl ReplicaState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReplicaState::Starting => "starting",
            ReplicaState::Serving => "ok",
            ReplicaState::Lagging => "lagging",
            ReplicaState::Unreachable => "unreachable",
            ReplicaState::NotAStandby => "not_a_standby",
        }
    }
}

pub struct Replica {
    /// `replica0`, `replica1`... in `DATABASE_REPLICA_URLS` order.
    pub name: String,
    /// host:port/db, for logs.
    pub address: String,
    url: String,
    pool: Mutex<PgPool>,
    pool_size: u32,
    checkout_timeout: Duration,
    serving: AtomicBool,
    state: Mutex<ReplicaState>,
    replayed: AtomicU64,
    lag_bytes: AtomicU64,
    lag_ms: AtomicU64,
    /// Read transactions this replica answered.
    pub reads: AtomicU64,
    /// Reads that failed here and were rerun on another node.
    pub failovers: AtomicU64,
}

/// A replica as `/readyz` and `/metrics` report it.
pub struct ReplicaReport {
    pub name: String,
    pub state: ReplicaState,
    pub lag_bytes: u64,
    pub lag_ms: u64,
    pub reads: u64,
    pub failovers: u64,
}

fn replica_pool(url: &str, size: u32, checkout_timeout: Duration) -> PgPool {
    Pool::builder()
        .max_size(size)
        .min_idle(Some(0))
        .connection_timeout(checkout_timeout)
        .test_on_check_out(false)
        .build_unchecked(ConnectionManager::<PgConnection>::new(url))
}

impl Replica {
    fn pool(&self) -> PgPool {
        self.pool.lock().map_or_else(
            |poisoned| poisoned.into_inner().clone(),
            |pool| pool.clone(),
        )
    }

    pub fn state(&self) -> ReplicaState {
        self.state
            .lock()
            .map_or(ReplicaState::Unreachable, |state| *state)
    }

    /// Changes the state, logging a change once; a replica coming back gets
    /// a fresh pool (the old connections died with the server).
    fn set_state(&self, next: ReplicaState, detail: &str) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        let before = *state;
        *state = next;
        let serving = next == ReplicaState::Serving;
        let was_serving = self.serving.swap(serving, Ordering::AcqRel);
        drop(state);
        if before == next {
            return;
        }
        if serving {
            if before != ReplicaState::Starting {
                if let Ok(mut pool) = self.pool.lock() {
                    *pool = replica_pool(&self.url, self.pool_size, self.checkout_timeout);
                }
            }
            tracing::info!(replica = %self.name, address = %self.address, "read replica serves reads");
        } else {
            let verb = if was_serving {
                "taken out"
            } else {
                "not serving"
            };
            match next {
                ReplicaState::NotAStandby => tracing::error!(
                    replica = %self.name, address = %self.address,
                    "read replica {verb}: it is not a standby (pg_is_in_recovery() is false), \
                     so it does not follow the primary and its data may differ; check \
                     DATABASE_REPLICA_URLS. Reads go to the other nodes"
                ),
                _ => tracing::warn!(
                    replica = %self.name, address = %self.address, state = next.as_str(),
                    "read replica {verb}: {detail}. Reads go to the other nodes"
                ),
            }
        }
    }

    /// Takes the replica out after a failed read (the checker puts it back).
    fn take_out(&self, error: &ApiError) {
        self.failovers.fetch_add(1, Ordering::Relaxed);
        self.set_state(
            ReplicaState::Unreachable,
            &format!("a read failed: {error}"),
        );
    }

    fn report(&self) -> ReplicaReport {
        ReplicaReport {
            name: self.name.clone(),
            state: self.state(),
            lag_bytes: self.lag_bytes.load(Ordering::Relaxed),
            lag_ms: self.lag_ms.load(Ordering::Relaxed),
            reads: self.reads.load(Ordering::Relaxed),
            failovers: self.failovers.load(Ordering::Relaxed),
        }
    }
}

pub struct Replicas {
    nodes: Vec<Arc<Replica>>,
    next: AtomicUsize,
    settings: ReplicaSettings,
    /// Read transactions the primary answered (no replica could).
    pub primary_reads: AtomicU64,
}

/// Where a read ran, for the test hook's header and the metrics.
pub const PRIMARY: &str = "primary";

impl Replicas {
    pub fn new(settings: ReplicaSettings, pool_size: u32, checkout_timeout: Duration) -> Arc<Self> {
        let nodes = settings
            .urls
            .iter()
            .enumerate()
            .map(|(index, url)| {
                let url = fail_fast_url(url);
                // A replica's checkout waits briefly: another node can answer.
                let checkout_timeout = checkout_timeout.min(Duration::from_millis(300));
                Arc::new(Replica {
                    name: format!("replica{index}"),
                    address: describe(&url),
                    pool: Mutex::new(replica_pool(&url, pool_size, checkout_timeout)),
                    url,
                    pool_size,
                    checkout_timeout,
                    serving: AtomicBool::new(false),
                    state: Mutex::new(ReplicaState::Starting),
                    replayed: AtomicU64::new(0),
                    lag_bytes: AtomicU64::new(0),
                    lag_ms: AtomicU64::new(0),
                    reads: AtomicU64::new(0),
                    failovers: AtomicU64::new(0),
                })
            })
            .collect();
        Arc::new(Replicas {
            nodes,
            next: AtomicUsize::new(0),
            settings,
            primary_reads: AtomicU64::new(0),
        })
    }

    pub fn reports(&self) -> Vec<ReplicaReport> {
        self.nodes.iter().map(|node| node.report()).collect()
    }

    /// Serving replicas that have replayed `required`, starting at the next
    /// in round-robin order.
    fn candidates(&self, required: Lsn) -> Vec<Arc<Replica>> {
        let count = self.nodes.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..count)
            .map(|offset| &self.nodes[(start + offset) % count])
            .filter(|node| {
                node.serving.load(Ordering::Acquire)
                    && node.replayed.load(Ordering::Acquire) >= required.0
            })
            .cloned()
            .collect()
    }

    /// Runs `read` on a replica that may serve it (in a `READ ONLY`
    /// transaction unless `single` says it is one statement), moving on to
    /// the next on a connection-class failure, and on the primary when none
    /// can. Returns the answer and the node that gave it.
    pub(super) fn run<T>(
        &self,
        primary: &PgPool,
        required: Lsn,
        pause: Option<Duration>,
        single: bool,
        read: &dyn Fn(&mut PgConnection) -> Result<T, ApiError>,
    ) -> (Result<T, ApiError>, String) {
        // The test hook holds only the first attempt open.
        let mut pause = pause;
        for replica in self.candidates(required) {
            let pause = pause.take();
            let attempt = replica
                .pool()
                .get()
                .map_err(ApiError::from)
                .and_then(|mut conn| {
                    let paused_read = |conn: &mut PgConnection| {
                        if let Some(pause) = pause {
                            test_pause(conn, pause)?;
                        }
                        read(conn)
                    };
                    let result = if single {
                        paused_read(&mut conn)
                    } else {
                        conn.build_transaction().read_only().run(paused_read)
                    };
                    super::discard_if_lost(&mut conn, &result);
                    result
                });
            match attempt {
                Err(error) if node_failed(&error) => {
                    replica.take_out(&error);
                }
                // Every connection busy: the next node may have one free.
                Err(ApiError::Unavailable(message)) if message.starts_with("database pool") => {}
                result => {
                    replica.reads.fetch_add(1, Ordering::Relaxed);
                    return (result, replica.name.clone());
                }
            }
        }
        self.primary_reads.fetch_add(1, Ordering::Relaxed);
        (super::read_on(primary, single, read), PRIMARY.to_owned())
    }
}

/// Failures that say the node, not the read, is at fault: rerunning the
/// read-only transaction elsewhere is safe and answers the request.
fn node_failed(error: &ApiError) -> bool {
    match error {
        ApiError::DatabaseLost(_) => true,
        ApiError::Unavailable(message) => {
            message.contains("conflict with recovery")
                || (message.starts_with("database pool")
                    && message.contains("waiting for connection: "))
        }
        _ => false,
    }
}

/// The test hook `X-Cms-Test-Read-Pause-Ms` (`CMS_TEST_HOOKS=1` only): holds
/// a replica's read transaction open so a test can kill the server inside it.
fn test_pause(conn: &mut PgConnection, pause: Duration) -> Result<(), ApiError> {
    diesel::sql_query("SELECT pg_sleep($1)")
        .bind::<diesel::sql_types::Double, _>(pause.as_secs_f64())
        .execute(conn)?;
    Ok(())
}

#[derive(QueryableByName)]
struct Standby {
    #[diesel(sql_type = Bool)]
    recovery: bool,
    #[diesel(sql_type = Text)]
    replayed: String,
}

#[derive(QueryableByName)]
struct Current {
    #[diesel(sql_type = Text)]
    position: String,
}

/// The checker's view of the primary's WAL over the last minutes, to turn a
/// replica's replayed position into an age.
struct PrimaryHistory {
    samples: VecDeque<(Instant, Lsn)>,
}

impl PrimaryHistory {
    const KEEP: Duration = Duration::from_secs(600);

    fn record(&mut self, now: Instant, at: Lsn) {
        if self.samples.back().is_none_or(|(_, last)| *last != at) {
            self.samples.push_back((now, at));
        }
        while self
            .samples
            .front()
            .is_some_and(|(when, _)| now.duration_since(*when) > Self::KEEP)
            && self.samples.len() > 1
        {
            self.samples.pop_front();
        }
    }

    fn latest(&self) -> Option<Lsn> {
        self.samples.back().map(|(_, at)| *at)
    }

    /// How long ago the primary first moved past `replayed`: 0 when the
    /// replica has everything the primary had.
    fn lag(&self, now: Instant, replayed: Lsn) -> Duration {
        self.samples
            .iter()
            .find(|(_, at)| *at > replayed)
            .map_or(Duration::ZERO, |(when, _)| now.duration_since(*when))
    }
}

/// Starts the checker thread; it ends when the replicas are dropped.
pub fn spawn_checks(replicas: &Arc<Replicas>, primary_url: &str) {
    let weak: Weak<Replicas> = Arc::downgrade(replicas);
    let primary_url = fail_fast_url(primary_url);
    let interval = replicas.settings.check_interval;
    let spawned = std::thread::Builder::new()
        .name("replica-checks".into())
        .spawn(move || {
            let mut primary: Option<PgConnection> = None;
            let mut standbys: Vec<Option<PgConnection>> = Vec::new();
            let mut history = PrimaryHistory {
                samples: VecDeque::new(),
            };
            while let Some(replicas) = weak.upgrade() {
                standbys.resize_with(replicas.nodes.len(), || None);
                let now = Instant::now();
                match query_position(&mut primary, &primary_url) {
                    Ok(at) => history.record(now, at),
                    Err(err) => {
                        tracing::debug!(error = %err, "replica checks: the primary does not answer")
                    }
                }
                for (replica, conn) in replicas.nodes.iter().zip(standbys.iter_mut()) {
                    check(&replicas.settings, replica, conn, &history);
                }
                drop(replicas);
                std::thread::sleep(interval);
            }
        });
    if let Err(err) = spawned {
        tracing::error!(error = %err, "cannot start the replica checks: reads stay on the primary");
    }
}

fn connected<'a>(
    slot: &'a mut Option<PgConnection>,
    url: &str,
) -> Result<&'a mut PgConnection, String> {
    if slot.is_none() {
        *slot = Some(PgConnection::establish(url).map_err(|err| err.to_string())?);
    }
    slot.as_mut().ok_or_else(|| "no connection".to_owned())
}

fn query_position(slot: &mut Option<PgConnection>, url: &str) -> Result<Lsn, String> {
    let conn = connected(slot, url)?;
    let current = diesel::sql_query("SELECT pg_current_wal_lsn()::text AS position")
        .get_result::<Current>(conn)
        .map_err(|err| {
            *slot = None;
            err.to_string()
        })?;
    Lsn::parse(&current.position)
        .ok_or_else(|| format!("unreadable position {:?}", current.position))
}

fn check(
    settings: &ReplicaSettings,
    replica: &Replica,
    slot: &mut Option<PgConnection>,
    history: &PrimaryHistory,
) {
    let now = Instant::now();
    let standby = connected(slot, &replica.url).and_then(|conn| {
        diesel::sql_query(
            "SELECT pg_is_in_recovery() AS recovery, \
                    coalesce(pg_last_wal_replay_lsn(), '0/0')::text AS replayed",
        )
        .get_result::<Standby>(conn)
        .map_err(|err| err.to_string())
    });
    let standby = match standby {
        Ok(standby) => standby,
        Err(err) => {
            *slot = None;
            replica.set_state(ReplicaState::Unreachable, &format!("unreachable: {err}"));
            return;
        }
    };
    if !standby.recovery {
        replica.set_state(ReplicaState::NotAStandby, "not a standby");
        return;
    }
    let replayed = Lsn::parse(&standby.replayed).unwrap_or_default();
    replica.replayed.store(replayed.0, Ordering::Release);
    // Without a view of the primary the lag is unknown: the replica keeps
    // serving what it has (reads that need newer go to the primary, which
    // then fails like any write would).
    let Some(primary_at) = history.latest() else {
        if replica.state() == ReplicaState::Starting {
            replica.set_state(ReplicaState::Serving, "");
        }
        return;
    };
    let lag_bytes = primary_at.0.saturating_sub(replayed.0);
    let lag = history.lag(now, replayed);
    replica.lag_bytes.store(lag_bytes, Ordering::Relaxed);
    replica.lag_ms.store(
        u64::try_from(lag.as_millis()).unwrap_or(u64::MAX),
        Ordering::Relaxed,
    );
    if lag_bytes > settings.max_lag_bytes || lag > settings.max_lag {
        replica.set_state(
            ReplicaState::Lagging,
            &format!(
                "it lags {lag_bytes} bytes and {} ms (bounds {} bytes, {} ms)",
                lag.as_millis(),
                settings.max_lag_bytes,
                settings.max_lag.as_millis()
            ),
        );
    } else {
        replica.set_state(ReplicaState::Serving, "");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replica_urls_get_fail_fast_settings_unless_they_set_their_own() {
        assert_eq!(
            fail_fast_url("postgres://u:p@h:5/db?connect_timeout=9"),
            "postgres://u:p@h:5/db?connect_timeout=9&keepalives=1&keepalives_idle=5\
             &keepalives_interval=1&keepalives_count=3&tcp_user_timeout=5000"
        );
        assert!(fail_fast_url("postgres://h/db").starts_with("postgres://h/db?connect_timeout=2&"));
        assert_eq!(
            describe("postgres://user:secret@db1:5433/cms?x=1"),
            "db1:5433/cms"
        );
    }

    #[test]
    fn lag_is_how_long_ago_the_primary_passed_the_replayed_position() {
        let start = Instant::now();
        let mut history = PrimaryHistory {
            samples: VecDeque::new(),
        };
        history.record(start, Lsn(100));
        history.record(start + Duration::from_secs(1), Lsn(200));
        history.record(start + Duration::from_secs(2), Lsn(300));
        let now = start + Duration::from_secs(3);
        assert_eq!(history.lag(now, Lsn(300)), Duration::ZERO);
        assert_eq!(history.lag(now, Lsn(250)), Duration::from_secs(1));
        assert_eq!(history.lag(now, Lsn(150)), Duration::from_secs(2));
        assert_eq!(history.latest(), Some(Lsn(300)));
    }

    #[test]
    fn only_node_failures_move_a_read_to_another_node() {
        assert!(node_failed(&ApiError::DatabaseLost(
            "server closed the connection".into()
        )));
        assert!(node_failed(&ApiError::Unavailable(
            "canceling statement due to conflict with recovery".into()
        )));
        assert!(node_failed(&ApiError::Unavailable(
            "database pool: timed out waiting for connection: connection refused".into()
        )));
        assert!(!node_failed(&ApiError::NotFound));
        assert!(!node_failed(&ApiError::Unavailable(
            "database pool: timed out waiting for connection".into()
        )));
    }
}
