//! Short-lived shared state (rate-limit counters, revoked access tokens) in
//! Redis, with an in-process fallback: when Redis is not configured or does not
//! answer, the same operations run on a local map, so the api keeps working on
//! a single node and says so in its log.
//!
//! Redis is one server (`REDIS_URL`) or the master its Sentinels name
//! (`REDIS_SENTINELS`): those are asked every half second, and a failover
//! moves every command and subscription to the promoted replica.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use cms_shared::redis_endpoint::RedisEndpoint;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::sentinel::Sentinel;
use tokio::sync::watch;

/// Redis commands give up after this long and fall back to the local map.
const REDIS_TIMEOUT: Duration = Duration::from_millis(300);
/// The local map is pruned of expired entries once it grows past this.
const LOCAL_PRUNE_AT: usize = 10_000;
/// How often the Sentinels are asked for the master: a failover is followed
/// within this much of the Sentinels agreeing on it.
const SENTINEL_CHECK: Duration = Duration::from_millis(500);
/// The longest one question to the Sentinels (and the master's role check) may take.
const SENTINEL_TIMEOUT: Duration = Duration::from_secs(2);

/// What `/readyz` says of Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedisHealth {
    NotConfigured,
    Ok,
    /// Configured but not answering: in-process fallbacks meanwhile.
    Unavailable,
    /// The Sentinels answer but name no master for the service.
    NoMaster,
}

impl RedisHealth {
    pub fn as_str(self) -> &'static str {
        match self {
            RedisHealth::NotConfigured => "not_configured",
            RedisHealth::Ok => "ok",
            RedisHealth::Unavailable => "unavailable",
            RedisHealth::NoMaster => "no_master",
        }
    }
}

/// The Redis server in use.
#[derive(Clone)]
struct Link {
    client: redis::Client,
    manager: ConnectionManager,
    /// `host:port`.
    address: String,
}

impl Link {
    fn open(client: redis::Client) -> Result<Self, String> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT))
            .set_number_of_retries(1);
        let address = client.get_connection_info().addr().to_string();
        let manager = ConnectionManager::new_lazy_with_config(client.clone(), config)
            .map_err(|err| err.to_string())?;
        Ok(Link {
            client,
            manager,
            address,
        })
    }
}

/// What the last question to the Sentinels found, so each change is logged once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum SentinelAnswer {
    Pending = 0,
    Master = 1,
    NoMaster = 2,
    Failing = 3,
}

/// The link, shared with the task that follows the Sentinels.
struct Shared {
    link: RwLock<Option<Link>>,
    /// Bumped whenever the link moves to another server: subscriptions
    /// on the old one end and start again on the new one.
    moves: watch::Sender<u64>,
    sentinel: AtomicU8,
    /// When the link last moved from one server to another (ms since the
    /// epoch, 0: never): what was written before may be missing writes.
    moved_at: AtomicU64,
}

/// Milliseconds since the Unix epoch.
pub fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}

pub struct Kv {
    shared: Arc<Shared>,
    configured: bool,
    prefix: String,
    local: Mutex<HashMap<String, (u64, Instant)>>,
    redis_failing: AtomicBool,
}

impl Kv {
    /// Sets up the client: a `REDIS_URL` connects lazily; Sentinels are asked
    /// for the master once (a bounded wait) and then followed in the
    /// background. `probe` reports whether Redis answers.
    pub async fn connect(endpoint: Option<&RedisEndpoint>, prefix: &str) -> Result<Self, String> {
        let (moves, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            link: RwLock::new(None),
            moves,
            sentinel: AtomicU8::new(SentinelAnswer::Pending as u8),
            moved_at: AtomicU64::new(0),
        });
        match endpoint {
            None => {}
            Some(RedisEndpoint::Url(url)) => {
                let client =
                    redis::Client::open(url.as_str()).map_err(|err| format!("REDIS_URL: {err}"))?;
                *shared.link.write().map_err(|err| err.to_string())? = Some(Link::open(client)?);
            }
            Some(RedisEndpoint::Sentinel { sentinels, service }) => {
                let urls: Vec<String> = sentinels
                    .iter()
                    .map(|(host, port)| format!("redis://{host}:{port}"))
                    .collect();
                let mut sentinel =
                    Sentinel::build(urls).map_err(|err| format!("REDIS_SENTINELS: {err}"))?;
                follow_master(&shared, &mut sentinel, service).await;
                let following = Arc::clone(&shared);
                let service = service.clone();
                tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(SENTINEL_CHECK).await;
                        follow_master(&following, &mut sentinel, &service).await;
                    }
                });
            }
        }
        Ok(Kv {
            shared,
            configured: endpoint.is_some(),
            prefix: prefix.to_owned(),
            local: Mutex::new(HashMap::new()),
            redis_failing: AtomicBool::new(false),
        })
    }

    /// Whether a Redis URL or Sentinels are configured.
    pub fn is_configured(&self) -> bool {
        self.configured
    }

    /// `read` of the link in use, without cloning the rest of it (every
    /// Redis command asks for the connection).
    fn with_link<T>(&self, read: impl FnOnce(&Link) -> T) -> Option<T> {
        self.shared.link.read().ok()?.as_ref().map(read)
    }

    /// The shared connection, for callers with their own Redis commands.
    pub fn redis(&self) -> Option<ConnectionManager> {
        self.with_link(|link| link.manager.clone())
    }

    /// The client, for connections of their own (subscriptions).
    pub fn client(&self) -> Option<redis::Client> {
        self.with_link(|link| link.client.clone())
    }

    /// `host:port` of the Redis server in use (the Sentinels' master).
    pub fn server(&self) -> Option<String> {
        self.with_link(|link| link.address.clone())
    }

    /// When the server in use last changed (ms since the epoch; 0: never).
    /// Shared entries written before then may lack writes the old master
    /// took but never passed to its replica.
    pub fn moved_at_millis(&self) -> u64 {
        self.shared.moved_at.load(Ordering::Relaxed)
    }

    /// Changes whenever the server in use changes (a Sentinel failover).
    pub fn moves(&self) -> watch::Receiver<u64> {
        self.shared.moves.subscribe()
    }

    /// Prefix every key of this process starts with.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Whether Redis answers PING (a Sentinel setup with no master is told apart).
    pub async fn probe(&self) -> RedisHealth {
        if !self.configured {
            return RedisHealth::NotConfigured;
        }
        if self.shared.sentinel.load(Ordering::Relaxed) == SentinelAnswer::NoMaster as u8 {
            return RedisHealth::NoMaster;
        }
        let Some(mut conn) = self.redis() else {
            return RedisHealth::Unavailable;
        };
        let pong: Result<String, _> = redis::cmd("PING").query_async(&mut conn).await;
        if pong.is_ok() {
            RedisHealth::Ok
        } else {
            RedisHealth::Unavailable
        }
    }

    /// Counts one hit in a fixed window; answers the count so far and the
    /// seconds until the window resets.
    pub async fn hit(&self, key: &str, window: Duration) -> (u64, u64) {
        let key = format!("{}{key}", self.prefix);
        let window_secs = window.as_secs().max(1);
        if let Some(mut conn) = self.redis() {
            let result: Result<(u64, i64), _> = redis::pipe()
                .atomic()
                .cmd("SET")
                .arg(&key)
                .arg(0)
                .arg("EX")
                .arg(window_secs)
                .arg("NX")
                .ignore()
                .cmd("INCR")
                .arg(&key)
                .cmd("TTL")
                .arg(&key)
                .query_async(&mut conn)
                .await;
            match result {
                Ok((count, ttl)) => {
                    self.redis_recovered();
                    return (count, u64::try_from(ttl).unwrap_or(window_secs).max(1));
                }
                Err(err) => self.redis_failed(&err),
            }
        }
        self.local_hit(key, window)
    }

    /// Counts `amount` hits on each key in one fixed window, in one round trip;
    /// answers each key's count so far and seconds until its window resets.
    pub async fn hit_many(&self, keys: &[(String, u64)], window: Duration) -> Vec<(u64, u64)> {
        let window_secs = window.as_secs().max(1);
        let keys: Vec<(String, u64)> = keys
            .iter()
            .map(|(key, amount)| (format!("{}{key}", self.prefix), *amount))
            .collect();
        if let Some(mut conn) = self.redis() {
            let mut pipe = redis::pipe();
            for (key, amount) in &keys {
                pipe.cmd("SET")
                    .arg(key)
                    .arg(0)
                    .arg("EX")
                    .arg(window_secs)
                    .arg("NX")
                    .ignore()
                    .cmd("INCRBY")
                    .arg(key)
                    .arg(*amount)
                    .cmd("TTL")
                    .arg(key);
            }
            let result: Result<Vec<(u64, i64)>, _> = pipe.query_async(&mut conn).await;
            match result {
                Ok(counts) => {
                    self.redis_recovered();
                    return counts
                        .into_iter()
                        .map(|(count, ttl)| {
                            (count, u64::try_from(ttl).unwrap_or(window_secs).max(1))
                        })
                        .collect();
                }
                Err(err) => self.redis_failed(&err),
            }
        }
        keys.into_iter()
            .map(|(key, amount)| self.local_add(key, window, amount))
            .collect()
    }

    /// Marks `key` for `ttl` (e.g. a revoked token id).
    pub async fn set_flag(&self, key: &str, ttl: Duration) {
        let key = format!("{}{key}", self.prefix);
        if let Some(mut conn) = self.redis() {
            let result: Result<(), _> = redis::cmd("SET")
                .arg(&key)
                .arg(1)
                .arg("EX")
                .arg(ttl.as_secs().max(1))
                .query_async(&mut conn)
                .await;
            match result {
                Ok(()) => self.redis_recovered(),
                Err(err) => self.redis_failed(&err),
            }
        }
        // Also kept locally: a flag set while Redis is down must still hold here.
        let _ = self.local_hit(key, ttl);
    }

    /// Stores `value` under `key` for `ttl`, in Redis only (nothing when it
    /// is down or not configured: callers treat a missing value as none).
    pub async fn set_value(&self, key: &str, value: &str, ttl: Duration) {
        let key = format!("{}{key}", self.prefix);
        if let Some(mut conn) = self.redis() {
            let result: Result<(), _> = redis::cmd("SET")
                .arg(&key)
                .arg(value)
                .arg("PX")
                .arg(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1))
                .query_async(&mut conn)
                .await;
            match result {
                Ok(()) => self.redis_recovered(),
                Err(err) => self.redis_failed(&err),
            }
        }
    }

    /// The value `set_value` stored under `key`, if Redis has it.
    pub async fn get_value(&self, key: &str) -> Option<String> {
        let key = format!("{}{key}", self.prefix);
        let mut conn = self.redis()?;
        let result: Result<Option<String>, _> =
            redis::cmd("GET").arg(&key).query_async(&mut conn).await;
        match result {
            Ok(value) => {
                self.redis_recovered();
                value
            }
            Err(err) => {
                self.redis_failed(&err);
                None
            }
        }
    }

    pub async fn has_flag(&self, key: &str) -> bool {
        let key = format!("{}{key}", self.prefix);
        if self.local_get(&key).is_some() {
            return true;
        }
        if let Some(mut conn) = self.redis() {
            let result: Result<bool, _> =
                redis::cmd("EXISTS").arg(&key).query_async(&mut conn).await;
            match result {
                Ok(found) => {
                    self.redis_recovered();
                    return found;
                }
                Err(err) => self.redis_failed(&err),
            }
        }
        false
    }

    fn local_hit(&self, key: String, window: Duration) -> (u64, u64) {
        self.local_add(key, window, 1)
    }

    fn local_add(&self, key: String, window: Duration, amount: u64) -> (u64, u64) {
        let now = Instant::now();
        let Ok(mut map) = self.local.lock() else {
            return (0, window.as_secs());
        };
        if map.len() > LOCAL_PRUNE_AT {
            map.retain(|_, (_, expires)| *expires > now);
        }
        let entry = map.entry(key).or_insert((0, now + window));
        if entry.1 <= now {
            *entry = (0, now + window);
        }
        entry.0 += amount;
        let remaining = entry.1.saturating_duration_since(now).as_secs().max(1);
        (entry.0, remaining)
    }

    fn local_get(&self, key: &str) -> Option<u64> {
        let map = self.local.lock().ok()?;
        map.get(key)
            .filter(|(_, expires)| *expires > Instant::now())
            .map(|(count, _)| *count)
    }

    pub fn redis_failed(&self, err: &redis::RedisError) {
        if !self.redis_failing.swap(true, Ordering::Relaxed) {
            tracing::warn!(error = %err, "Redis is unavailable; using in-process fallbacks until it answers again");
        }
    }

    pub fn redis_recovered(&self) {
        if self.redis_failing.swap(false, Ordering::Relaxed) {
            tracing::info!("Redis answers again; shared state is back in Redis");
        }
    }
}

/// Asks the Sentinels for the master of `service` (the library also checks
/// that the node it names says it is a master) and moves the link when it
/// changed. Each change of answer is logged once.
async fn follow_master(shared: &Shared, sentinel: &mut Sentinel, service: &str) {
    let found = tokio::time::timeout(SENTINEL_TIMEOUT, sentinel.async_master_for(service, None))
        .await
        .unwrap_or_else(|_| {
            Err(redis::RedisError::from((
                redis::ErrorKind::Io,
                "no answer in time",
            )))
        });
    let answer = match found {
        Ok(client) => {
            let address = client.get_connection_info().addr().to_string();
            let current = shared
                .link
                .read()
                .ok()
                .and_then(|link| link.as_ref().map(|link| link.address.clone()));
            if current.as_deref() != Some(address.as_str()) {
                match Link::open(client) {
                    Ok(link) => {
                        if let Ok(mut slot) = shared.link.write() {
                            *slot = Some(link);
                        }
                        shared.moves.send_modify(|moves| *moves += 1);
                        match current {
                            Some(old) => {
                                shared.moved_at.store(now_millis(), Ordering::Relaxed);
                                tracing::warn!(
                                "Redis failover: the Sentinels name {address} master of {service:?} (was {old})"
                            )
                            }
                            None => tracing::info!(
                                "Redis master of Sentinel service {service:?} is {address}"
                            ),
                        }
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "cannot open the Redis master {address}")
                    }
                }
            }
            SentinelAnswer::Master
        }
        Err(err) if err.kind() == redis::ErrorKind::MasterNameNotFoundBySentinel => {
            if shared.sentinel.load(Ordering::Relaxed) != SentinelAnswer::NoMaster as u8 {
                tracing::error!(
                    "the Sentinels know no master for service {service:?} (check REDIS_SENTINEL_SERVICE): rate limits, revocations and caches use in-process fallbacks until one is named"
                );
            }
            SentinelAnswer::NoMaster
        }
        Err(err) => {
            if shared.sentinel.load(Ordering::Relaxed) != SentinelAnswer::Failing as u8 {
                tracing::warn!(
                    error = %err,
                    "cannot reach the Redis master of Sentinel service {service:?} (Sentinels down, or a failover in progress): in-process fallbacks until one answers"
                );
            }
            SentinelAnswer::Failing
        }
    };
    shared.sentinel.store(answer as u8, Ordering::Relaxed);
}
