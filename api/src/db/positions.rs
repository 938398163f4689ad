//! Read-your-writes by WAL position. A request that wrote learns the primary's
//! WAL position after its COMMIT; the writer gets it back (the
//! `X-Cms-Wal-Position` response header, and the user's Redis entry) and any
//! read that carries it is served by a replica only once that replica has
//! replayed it, otherwise by the primary.
//!
//! The positions travel with the request as a tokio task-local set by the
//! `consistency` middleware, so the 200 places that open a transaction need no
//! extra argument: `Db::tx` records the commit, `Db::read` reads what is
//! required. Work outside a request (jobs, commands) has no scope and reads
//! whatever a healthy replica has.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The header a write's answer carries and a later read may send back.
pub const WAL_POSITION_HEADER: &str = "x-cms-wal-position";

/// A WAL position (PostgreSQL's `pg_lsn`) as one number; 0 is "none".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Lsn(pub u64);

impl Lsn {
    /// Parses PostgreSQL's text form, `16/B374D848`.
    pub fn parse(text: &str) -> Option<Lsn> {
        let (high, low) = text.trim().split_once('/')?;
        if high.is_empty() || low.is_empty() || high.len() > 8 || low.len() > 8 {
            return None;
        }
        let high = u64::from_str_radix(high, 16).ok()?;
        let low = u64::from_str_radix(low, 16).ok()?;
        Some(Lsn(high << 32 | low))
    }

    pub fn is_none(self) -> bool {
        self.0 == 0
    }
}

impl std::fmt::Display for Lsn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

/// One request's positions: the least a read must see, and the newest commit
/// of its own writes.
#[derive(Debug, Default)]
pub struct RequestPositions {
    required: AtomicU64,
    committed: AtomicU64,
    /// Whether the request's method may write (its commits are recorded).
    writes: AtomicBool,
    /// The test hook's pause inside a replica's read transaction.
    read_pause: Option<Duration>,
    /// The node that answered the request's last read.
    served_by: Mutex<Option<String>>,
    /// The signed-in user, once the auth extractor has verified the token.
    user: Mutex<Option<uuid::Uuid>>,
}

impl RequestPositions {
    pub fn new(required: Lsn, writes: bool) -> Arc<Self> {
        Self::with_pause(required, writes, None)
    }

    pub fn with_pause(required: Lsn, writes: bool, read_pause: Option<Duration>) -> Arc<Self> {
        Arc::new(RequestPositions {
            required: AtomicU64::new(required.0),
            committed: AtomicU64::new(0),
            writes: AtomicBool::new(writes),
            read_pause,
            served_by: Mutex::new(None),
            user: Mutex::new(None),
        })
    }

    pub fn user(&self) -> Option<uuid::Uuid> {
        self.user.lock().ok().and_then(|user| *user)
    }

    /// The node that answered the request's last read (`primary`, `replica0`...).
    pub fn served_by(&self) -> Option<String> {
        self.served_by.lock().ok().and_then(|node| node.clone())
    }

    /// Raises what reads of this request must see (e.g. the position kept
    /// for the signed-in user).
    pub fn require(&self, at_least: Lsn) {
        self.required.fetch_max(at_least.0, Ordering::Relaxed);
    }

    pub fn committed(&self) -> Lsn {
        Lsn(self.committed.load(Ordering::Relaxed))
    }

    /// What a read must see: the position it was sent with, and its own
    /// request's commits.
    fn required(&self) -> Lsn {
        Lsn(self
            .required
            .load(Ordering::Relaxed)
            .max(self.committed.load(Ordering::Relaxed)))
    }
}

tokio::task_local! {
    static REQUEST: Arc<RequestPositions>;
}

/// Runs `future` with `positions` as its request's positions.
pub async fn scope<F: std::future::Future>(
    positions: Arc<RequestPositions>,
    future: F,
) -> F::Output {
    REQUEST.scope(positions, future).await
}

/// The current request's positions, if any.
pub fn current() -> Option<Arc<RequestPositions>> {
    REQUEST.try_with(Arc::clone).ok()
}

/// The least WAL position the current request's reads must see.
pub fn required() -> Lsn {
    REQUEST
        .try_with(|positions| positions.required())
        .unwrap_or_default()
}

/// Whether the current request records the positions of its commits.
pub fn records_commits() -> bool {
    REQUEST
        .try_with(|positions| positions.writes.load(Ordering::Relaxed))
        .unwrap_or(false)
}

/// The test hook's pause for the current request's replica reads.
pub fn read_pause() -> Option<Duration> {
    REQUEST
        .try_with(|positions| positions.read_pause)
        .ok()
        .flatten()
}

/// Records which node answered the current request's read.
pub fn note_served_by(node: String) {
    let _ = REQUEST.try_with(|positions| {
        if let Ok(mut served_by) = positions.served_by.lock() {
            *served_by = Some(node);
        }
    });
}

/// Raises what the current request's reads must see (e.g. a site's newest
/// invalidation before its delivery cache is filled).
pub fn require(at_least: Lsn) {
    let _ = REQUEST.try_with(|positions| positions.require(at_least));
}

/// Records the signed-in user of the current request, whose newest commit
/// position `at_least` its reads must see.
pub fn note_user(user_id: uuid::Uuid, at_least: Lsn) {
    let _ = REQUEST.try_with(|positions| {
        positions.require(at_least);
        if let Ok(mut user) = positions.user.lock() {
            *user = Some(user_id);
        }
    });
}

/// Records a commit of the current request.
pub fn note_commit(at: Lsn) {
    let _ = REQUEST.try_with(|positions| positions.committed.fetch_max(at.0, Ordering::Relaxed));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_parse_and_print_like_postgresql() {
        let lsn = Lsn::parse("16/B374D848").unwrap();
        assert_eq!(lsn.0, 0x16_B374_D848);
        assert_eq!(lsn.to_string(), "16/B374D848");
        assert_eq!(Lsn::parse("0/0"), Some(Lsn(0)));
        assert!(Lsn::parse("0/3000060").unwrap() < Lsn::parse("1/0").unwrap());
        for bad in ["", "/", "1/", "/1", "x/1", "1/2/3", "123456789/0", "1 2"] {
            assert_eq!(Lsn::parse(bad), None, "{bad:?}");
        }
    }

    #[tokio::test]
    async fn a_request_must_see_its_own_commits_and_what_it_was_sent_with() {
        assert_eq!(required(), Lsn(0), "outside a request nothing is required");
        let positions = RequestPositions::new(Lsn(10), true);
        scope(Arc::clone(&positions), async {
            assert!(records_commits());
            assert_eq!(required(), Lsn(10));
            note_commit(Lsn(25));
            assert_eq!(required(), Lsn(25));
            note_commit(Lsn(20));
            assert_eq!(required(), Lsn(25), "an older commit lowers nothing");
        })
        .await;
        assert_eq!(positions.committed(), Lsn(25));
    }
}
