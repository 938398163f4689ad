//! Wakes workers when a job is enqueued: one connection per process does
//! `LISTEN cms_jobs` and each notification (the queue's name, sent at the
//! enqueueing transaction's commit) wakes that queue's claim loop. diesel
//! reads pending notifications without blocking and exposes no socket to
//! wait on, so the thread checks its socket every few milliseconds (a local
//! read, no round trip to the server). Workers also poll on their own, so a
//! lost connection delays jobs by at most the poll interval.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use diesel::{Connection, PgConnection, RunQueryDsl};
use tokio::sync::Notify;

/// How often the listening thread reads its socket.
const CHECK_EVERY: Duration = Duration::from_millis(2);
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// Starts the listening thread; it ends when `stop` is set. `wake` holds
/// each queue's waker.
pub fn spawn(
    database_url: String,
    wake: Arc<HashMap<String, Arc<Notify>>>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("jobs-listener".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Err(err) = listen(&database_url, &wake, &stop) {
                    tracing::warn!(error = %err, "job notifications lost; reconnecting (workers poll meanwhile)");
                    std::thread::sleep(RECONNECT_AFTER);
                }
            }
        })
        .unwrap_or_else(|err| {
            tracing::error!(error = %err, "cannot start the job listener; workers poll only");
            std::thread::spawn(|| {})
        })
}

fn listen(
    database_url: &str,
    wake: &HashMap<String, Arc<Notify>>,
    stop: &AtomicBool,
) -> Result<(), String> {
    let mut conn = PgConnection::establish(database_url).map_err(|err| err.to_string())?;
    diesel::sql_query("LISTEN cms_jobs")
        .execute(&mut conn)
        .map_err(|err| err.to_string())?;
    // Anything enqueued while we were not listening is claimed by this first
    // wake-up rather than by the next poll.
    wake.values().for_each(|notify| notify.notify_one());
    let mut idle = Duration::ZERO;
    while !stop.load(Ordering::Relaxed) {
        let mut woke = false;
        for notification in conn.notifications_iter() {
            let notification = notification.map_err(|err| err.to_string())?;
            if let Some(notify) = wake.get(&notification.payload) {
                notify.notify_one();
            }
            woke = true;
        }
        if woke {
            idle = Duration::ZERO;
        } else {
            std::thread::sleep(CHECK_EVERY);
            idle += CHECK_EVERY;
            // A dead connection yields no error from a socket read alone:
            // prove it alive now and then.
            if idle >= Duration::from_secs(30) {
                diesel::sql_query("SELECT 1")
                    .execute(&mut conn)
                    .map_err(|err| err.to_string())?;
                idle = Duration::ZERO;
            }
        }
    }
    Ok(())
}
