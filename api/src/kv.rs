//! Short-lived shared state (rate-limit counters, revoked access tokens) in
//! Redis, with an in-process fallback: when Redis is not configured or does not
//! answer, the same operations run on a local map, so the api keeps working on
//! a single node and says so in its log.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// Redis commands give up after this long and fall back to the local map.
const REDIS_TIMEOUT: Duration = Duration::from_millis(300);
/// The local map is pruned of expired entries once it grows past this.
const LOCAL_PRUNE_AT: usize = 10_000;

pub struct Kv {
    redis: Option<ConnectionManager>,
    client: Option<redis::Client>,
    prefix: String,
    local: Mutex<HashMap<String, (u64, Instant)>>,
    redis_failing: AtomicBool,
}

impl Kv {
    /// Sets up the client without connecting; `probe` reports whether Redis answers.
    pub fn new(redis_url: Option<&str>, prefix: &str) -> Result<Self, String> {
        let client = redis_url
            .map(|url| redis::Client::open(url).map_err(|err| format!("REDIS_URL: {err}")))
            .transpose()?;
        let redis = client
            .clone()
            .map(|client| {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(REDIS_TIMEOUT))
                    .set_response_timeout(Some(REDIS_TIMEOUT))
                    .set_number_of_retries(1);
                ConnectionManager::new_lazy_with_config(client, config)
                    .map_err(|err| err.to_string())
            })
            .transpose()?;
        Ok(Kv {
            redis,
            client,
            prefix: prefix.to_owned(),
            local: Mutex::new(HashMap::new()),
            redis_failing: AtomicBool::new(false),
        })
    }

    /// The shared connection, for callers with their own Redis commands.
    pub fn redis(&self) -> Option<ConnectionManager> {
        self.redis.clone()
    }

    /// The client, for connections of their own (subscriptions).
    pub fn client(&self) -> Option<&redis::Client> {
        self.client.as_ref()
    }

    /// Prefix every key of this process starts with.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `Some(true)` when Redis answers PING, `Some(false)` when it does not,
    /// `None` when it is not configured.
    pub async fn probe(&self) -> Option<bool> {
        let mut conn = self.redis.clone()?;
        let pong: Result<String, _> = redis::cmd("PING").query_async(&mut conn).await;
        Some(pong.is_ok())
    }

    /// Counts one hit in a fixed window; answers the count so far and the
    /// seconds until the window resets.
    pub async fn hit(&self, key: &str, window: Duration) -> (u64, u64) {
        let key = format!("{}{key}", self.prefix);
        let window_secs = window.as_secs().max(1);
        if let Some(mut conn) = self.redis.clone() {
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
        if let Some(mut conn) = self.redis.clone() {
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
        if let Some(mut conn) = self.redis.clone() {
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
        if let Some(mut conn) = self.redis.clone() {
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
        let mut conn = self.redis.clone()?;
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
        if let Some(mut conn) = self.redis.clone() {
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
