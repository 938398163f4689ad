//! Published documents (site manifests, pages, sitemaps) from the API, cached
//! in three places:
//! - process memory (moka), served without any network round trip;
//! - Redis (shared by every node, so a new node starts warm), when configured;
//! - a last-good copy per document, kept apart from invalidation, served when
//!   the API does not answer (stale-if-error).
//!
//! A document older than `fresh_for` is still served while one background
//! request revalidates it with `If-None-Match` (stale-while-revalidate).
//! Concurrent misses of one document make one upstream request (moka's entry
//! API is single-flight). Invalidation messages on `cms:invalidate` evict the
//! site's affected entries from memory and Redis on every node.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix_web::web::Bytes;
use fred::prelude::{ClientLike, HashesInterface, KeysInterface, Pool};

pub use crate::document::{Content, Doc, DocKey};
use crate::metrics::{inc, Metrics};
use crate::upstream::{Answer, Unavailable, Upstream};

/// How long Redis keeps a shared copy (freshness is judged separately).
const SHARED_TTL_SECS: i64 = 86_400;
/// Site manifests (host -> site routing) kept in memory: one per host.
const SITE_ENTRIES: u64 = 10_000;
/// After a failed revalidation, wait this long before trying again.
const RETRY_AFTER: Duration = Duration::from_secs(5);

/// What is known about a document: its content, or that it does not exist.
#[derive(Debug, Clone)]
pub struct Entry {
    pub doc: Option<Arc<Doc>>,
    fetched: Instant,
    /// Served from the last-good copy because the API did not answer.
    pub stale: bool,
    loaded_from: Source,
}

/// Where a lookup was answered from (the `X-Cache` header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Memory,
    Redis,
    Api,
    Stale,
}

impl Source {
    pub fn header(self) -> &'static str {
        match self {
            Source::Memory => "hit",
            Source::Redis => "hit-redis",
            Source::Api => "miss",
            Source::Stale => "stale",
        }
    }
}

pub struct Documents {
    /// Pages, sitemaps and clinic data (`CMS_RENDERER_CACHE_ENTRIES`).
    memory: moka::future::Cache<String, Entry>,
    /// Site manifests, kept even with the cache off: every request needs
    /// its host's, there are few, and invalidations evict them. A page miss
    /// then costs one api request, not two.
    sites: moka::future::Cache<String, Entry>,
    last_good: moka::future::Cache<String, Arc<Doc>>,
    redis: Option<Pool>,
    prefix: String,
    upstream: Upstream,
    fresh_for: Duration,
    refreshing: Mutex<HashSet<String>>,
    metrics: Arc<Metrics>,
    /// False with a capacity of 0: every lookup asks Redis/the API.
    caching: bool,
    /// Shared copies made before this moment (ms since the epoch) are only
    /// revalidated, never served as fresh: set when invalidations may have
    /// been lost (a reconnect, a Sentinel failover to a replica that had not
    /// received every deletion).
    shared_trusted_from: AtomicU64,
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64)
}

/// Shared copies are stored as `fetched-at-ms \n etag \n body`.
fn encode_shared(etag: &str, body: &[u8]) -> Vec<u8> {
    let mut raw = format!("{}\n{etag}\n", now_millis()).into_bytes();
    raw.extend_from_slice(body);
    raw
}

fn decode_shared(raw: &[u8]) -> Option<(u64, String, &[u8])> {
    let first = raw.iter().position(|b| *b == b'\n')?;
    let at = std::str::from_utf8(&raw[..first]).ok()?.parse().ok()?;
    let rest = &raw[first + 1..];
    let second = rest.iter().position(|b| *b == b'\n')?;
    let etag = std::str::from_utf8(&rest[..second]).ok()?.to_owned();
    Some((at, etag, &rest[second + 1..]))
}

impl Documents {
    pub fn new(
        upstream: Upstream,
        redis: Option<Pool>,
        prefix: &str,
        fresh_for: Duration,
        capacity: u64,
        metrics: Arc<Metrics>,
    ) -> Self {
        Documents {
            memory: moka::future::Cache::builder()
                .max_capacity(capacity)
                .time_to_live(Duration::from_secs(86_400))
                .support_invalidation_closures()
                .build(),
            sites: moka::future::Cache::builder()
                .max_capacity(SITE_ENTRIES)
                .time_to_live(Duration::from_secs(86_400))
                .support_invalidation_closures()
                .build(),
            last_good: moka::future::Cache::builder()
                .max_capacity(capacity)
                .time_to_live(Duration::from_secs(86_400))
                .build(),
            redis,
            prefix: prefix.to_owned(),
            upstream,
            fresh_for,
            refreshing: Mutex::new(HashSet::new()),
            metrics,
            caching: capacity > 0,
            shared_trusted_from: AtomicU64::new(0),
        }
    }

    pub fn upstream(&self) -> &Upstream {
        &self.upstream
    }

    /// The document, or `Unavailable` when neither the API nor any cache has it.
    pub async fn get(self: &Arc<Self>, key: &DocKey) -> Result<(Entry, Source), Unavailable> {
        if !self.caching && !key.is_manifest() {
            // Cache off (CMS_RENDERER_CACHE_ENTRIES=0), for debugging and for
            // measuring the miss path: moka with no capacity still keeps
            // entries until its housekeeping runs.
            let entry = self.load(key).await.inspect_err(|_| {
                inc(&self.metrics.doc_unavailable);
            })?;
            let source = if entry.stale {
                Source::Stale
            } else {
                entry.loaded_from
            };
            self.count(source);
            return Ok((entry, source));
        }
        let id = key.id();
        let tier = self.tier(key);
        if let Some(entry) = tier.get(&id).await {
            if entry.fetched.elapsed() >= self.fresh_for {
                self.revalidate_in_background(key.clone(), id);
            }
            let source = if entry.stale {
                Source::Stale
            } else {
                Source::Memory
            };
            self.count(source);
            return Ok((entry, source));
        }
        let loaded = tier
            .entry(id)
            .or_try_insert_with(self.load(key))
            .await
            .map_err(|err| (*err).clone());
        match loaded {
            Ok(found) => {
                // Only the caller that loaded it reports where from; the
                // others waited for that load and count as memory hits.
                let fresh = found.is_fresh();
                let entry = found.into_value();
                let source = match (entry.stale, fresh) {
                    (true, _) => Source::Stale,
                    (false, true) => entry.loaded_from,
                    (false, false) => Source::Memory,
                };
                self.count(source);
                Ok((entry, source))
            }
            Err(err) => {
                inc(&self.metrics.doc_unavailable);
                Err(err)
            }
        }
    }

    fn tier(&self, key: &DocKey) -> &moka::future::Cache<String, Entry> {
        if key.is_manifest() {
            &self.sites
        } else {
            &self.memory
        }
    }

    fn count(&self, source: Source) {
        inc(match source {
            Source::Memory => &self.metrics.doc_hits,
            Source::Redis => &self.metrics.doc_redis_hits,
            Source::Api => &self.metrics.doc_misses,
            Source::Stale => &self.metrics.doc_stale,
        });
    }

    fn revalidate_in_background(self: &Arc<Self>, key: DocKey, id: String) {
        let Ok(mut refreshing) = self.refreshing.lock() else {
            return;
        };
        if !refreshing.insert(id.clone()) {
            return;
        }
        drop(refreshing);
        let documents = Arc::clone(self);
        tokio::spawn(async move {
            match documents.load(&key).await {
                Ok(entry) => documents.tier(&key).insert(id.clone(), entry).await,
                Err(err) => tracing::debug!(error = %err, "revalidation failed"),
            }
            if let Ok(mut refreshing) = documents.refreshing.lock() {
                refreshing.remove(&id);
            }
        });
    }

    /// Redis, then the API (revalidating what is known), then the last-good copy.
    async fn load(&self, key: &DocKey) -> Result<Entry, Unavailable> {
        let id = key.id();
        let (hash, field) = key.shared(&self.prefix);
        let mut known: Option<Arc<Doc>> = self.last_good.get(&id).await;
        if let Some(pool) = self.connected_redis() {
            let raw: Result<Option<Bytes>, _> = pool.hget(&hash, &field).await;
            if let Ok(Some(raw)) = raw {
                if let Some((at, etag, body)) = decode_shared(&raw) {
                    if let Ok(doc) = Doc::parse(key, etag, Bytes::copy_from_slice(body)) {
                        let doc = Arc::new(doc);
                        let age = Duration::from_millis(now_millis().saturating_sub(at));
                        let trusted = at >= self.shared_trusted_from.load(Ordering::Relaxed);
                        if trusted && age < self.fresh_for {
                            self.last_good.insert(id, Arc::clone(&doc)).await;
                            return Ok(Entry {
                                doc: Some(doc),
                                fetched: Instant::now()
                                    .checked_sub(age)
                                    .unwrap_or_else(Instant::now),
                                stale: false,
                                loaded_from: Source::Redis,
                            });
                        }
                        known = Some(doc);
                    }
                }
            }
        }
        let answer = self
            .upstream
            .get(&key.api_path(), known.as_ref().map(|doc| doc.etag.as_str()))
            .await;
        let doc = match answer {
            Ok(Answer::Changed { etag, body }) => {
                let etag = etag.unwrap_or_default();
                let doc = Doc::parse(key, etag, body).map_err(|err| {
                    Unavailable(format!(
                        "the API sent an answer outside the delivery contract: {err}"
                    ))
                })?;
                self.share(&hash, &field, &doc.etag, &doc.body).await;
                Arc::new(doc)
            }
            Ok(Answer::NotModified) => match known {
                Some(doc) => {
                    self.share(&hash, &field, &doc.etag, &doc.body).await;
                    doc
                }
                None => return Err(Unavailable("304 without a cached copy".into())),
            },
            Ok(Answer::NotFound) => {
                return Ok(Entry {
                    doc: None,
                    fetched: Instant::now(),
                    stale: false,
                    loaded_from: Source::Api,
                })
            }
            Err(err) => {
                return match known {
                    Some(doc) => {
                        tracing::warn!(error = %err, document = %id, "API unavailable: serving the last good copy");
                        Ok(Entry {
                            doc: Some(doc),
                            // Retry the API soon, not at once.
                            fetched: Instant::now()
                                .checked_sub(self.fresh_for.saturating_sub(RETRY_AFTER))
                                .unwrap_or_else(Instant::now),
                            stale: true,
                            loaded_from: Source::Stale,
                        })
                    }
                    None => Err(err),
                };
            }
        };
        self.last_good.insert(id, Arc::clone(&doc)).await;
        Ok(Entry {
            doc: Some(doc),
            fetched: Instant::now(),
            stale: false,
            loaded_from: Source::Api,
        })
    }

    fn connected_redis(&self) -> Option<&Pool> {
        self.redis.as_ref().filter(|pool| pool.is_connected())
    }

    async fn share(&self, hash: &str, field: &str, etag: &str, body: &[u8]) {
        let Some(pool) = self.connected_redis() else {
            return;
        };
        let stored: Result<i64, _> = pool
            .hset(hash, (field, Bytes::from(encode_shared(etag, body))))
            .await;
        let expired: Result<i64, _> = pool.expire(hash, SHARED_TTL_SECS, None).await;
        if let Err(err) = stored.and(expired) {
            tracing::debug!(error = %err, "cannot write the shared cache");
        }
    }

    /// Evicts what a change of `site` (at `paths`, or all of it when empty)
    /// makes stale, here and in Redis.
    pub async fn invalidate(&self, site: &str, paths: &[String], position: Option<&str>) {
        inc(&self.metrics.invalidations);
        let page_prefix = format!("p|{site}|");
        let sitemap = format!("s|{site}");
        let clinic_data = format!("c|{site}");
        let mut hosts: Vec<String> = Vec::new();
        for (id, entry) in self.sites.iter() {
            if let Some(host) = id.strip_prefix("m|") {
                let of_site = entry
                    .doc
                    .as_ref()
                    .and_then(|doc| doc.manifest())
                    .is_some_and(|manifest| manifest.site_id.to_string() == site);
                if of_site {
                    hosts.push(host.to_owned());
                }
            }
        }
        if let Some(position) = position {
            self.upstream.want(site, position);
            for host in &hosts {
                self.upstream.want(host, position);
            }
        }
        let site_owned = site.to_owned();
        let paths_owned = paths.to_vec();
        let evict_pages = self.memory.invalidate_entries_if(move |id, _| {
            if let Some(rest) = id.strip_prefix(&page_prefix) {
                let path = rest.split_once('|').map_or("", |(_, path)| path);
                return paths_owned.is_empty() || paths_owned.iter().any(|p| p == path);
            }
            *id == sitemap || *id == clinic_data
        });
        // Manifests of the site, and unknown hosts (a new domain may now
        // answer).
        let evict_sites = self.sites.invalidate_entries_if(move |_, entry| {
            entry
                .doc
                .as_ref()
                .and_then(|doc| doc.manifest())
                .is_none_or(|manifest| manifest.site_id.to_string() == site_owned)
        });
        if let Err(err) = evict_pages.and(evict_sites) {
            tracing::warn!(error = %err, "cannot evict documents");
        }
        if let Some(pool) = self.connected_redis() {
            let mut keys: Vec<String> = paths
                .iter()
                .map(|path| format!("{}rc:p:{site}:{path}", self.prefix))
                .collect();
            keys.push(format!("{}rc:s:{site}", self.prefix));
            keys.push(format!("{}rc:c:{site}", self.prefix));
            keys.extend(
                hosts
                    .iter()
                    .map(|host| format!("{}rc:m:{host}", self.prefix)),
            );
            let deleted: Result<i64, _> = pool.del(keys).await;
            if let Err(err) = deleted {
                tracing::debug!(error = %err, "cannot evict shared documents");
            }
        }
    }

    /// Evicts `site`'s clinic data, here and in Redis; pages stay.
    pub async fn invalidate_clinic_data(&self, site: &str, position: Option<&str>) {
        inc(&self.metrics.invalidations);
        if let Some(position) = position {
            self.upstream.want(site, position);
        }
        let key = DocKey::ClinicData {
            site: site.to_owned(),
        };
        self.memory.invalidate(&key.id()).await;
        if let Some(pool) = self.connected_redis() {
            let (hash, _) = key.shared(&self.prefix);
            let deleted: Result<i64, _> = pool.del(hash).await;
            if let Err(err) = deleted {
                tracing::debug!(error = %err, "cannot evict shared clinic data");
            }
        }
    }

    /// Drops every document in memory and stops trusting the shared copies
    /// made so far (each is revalidated with the API on its next use).
    pub fn forget_all(&self) {
        self.shared_trusted_from
            .store(now_millis(), Ordering::Relaxed);
        self.memory.invalidate_all();
        self.sites.invalidate_all();
    }
}
