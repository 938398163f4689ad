//! The delivery response cache and its invalidation.
//!
//! Each entry is stored with the generation counter it was built under: a
//! page's own counter, or the site's for manifests and sitemaps. A read takes
//! the entry and its current counter in one MGET and serves the entry only if
//! they match. Publishing bumps exactly the affected counters (no SCAN, no key
//! listing), so stale entries are never served, and they expire by TTL.
//! Every invalidation is also published on `cms:invalidate` for renderers.
//! Without Redis the same scheme runs on in-process maps (single node).
//!
//! In front of Redis sits a near cache in process memory: entries read from or
//! written to Redis are kept per site and served without a round trip, but
//! only while this process is subscribed to `cms:invalidate`, whose messages
//! (from any api node, scheduler or worker) evict the site's entries. A lost
//! subscription empties it and turns it off until the subscription is back.
//!
//! With read replicas, every invalidation carries the primary's WAL position
//! after the change (`position`). Each node keeps the newest position per
//! site (its own changes and the messages of others): a miss fills the cache
//! only from a node that has replayed it, and a request sent with a newer
//! position than this node has seen (a renderer that got the message first)
//! skips the near cache. So no cache is refilled with the page from before
//! the change by a replica that has not caught up.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::web::Bytes;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::positions::{self, Lsn};
use crate::db::Db;
use crate::kv::Kv;

/// The channel renderers subscribe to.
pub const INVALIDATION_CHANNEL: &str = "cms:invalidate";
const LOCAL_MAX_ENTRIES: usize = 20_000;
/// Near-cache entries are dropped after this long even without a message, a
/// bound on the damage of an invalidation lost in transit.
const NEAR_TTL: Duration = Duration::from_secs(60);
/// Pause before subscribing again after the subscription failed.
const RESUBSCRIBE_AFTER: Duration = Duration::from_secs(1);

/// A cached delivery response.
#[derive(Debug, Clone)]
pub struct Cached {
    pub etag: String,
    pub body: Bytes,
}

/// What a change makes stale: the site's manifest and sitemap, and these pages.
#[derive(Debug, Clone, Serialize)]
pub struct Invalidation {
    pub tenant: Uuid,
    pub site: Uuid,
    /// `(locale, path)` of every page whose delivery changed.
    #[serde(skip)]
    pub pages: Vec<(String, String)>,
    /// The changed paths (all locales), as renderers evict them.
    pub paths: Vec<String>,
    /// The site's generation after the change.
    pub generation: u64,
    /// Only the tenant's clinic data changed (doctors, services, clinics,
    /// reviews): renderers drop their copy of it and keep the pages.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub clinic_data: bool,
    /// The primary's WAL position after the change (with read replicas):
    /// whoever refills from a replica asks for at least this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
}

impl Invalidation {
    pub fn site(tenant: Uuid, site: Uuid) -> Self {
        Invalidation {
            tenant,
            site,
            pages: Vec::new(),
            paths: Vec::new(),
            generation: 0,
            clinic_data: false,
            position: None,
        }
    }

    pub fn page(tenant: Uuid, site: Uuid, locale: &str, path: &str) -> Self {
        Invalidation {
            tenant,
            site,
            pages: vec![(locale.to_owned(), path.to_owned())],
            paths: vec![path.to_owned()],
            generation: 0,
            clinic_data: false,
            position: None,
        }
    }
}

/// Which delivery document an entry is.
pub enum Entry<'a> {
    Page {
        site: Uuid,
        locale: &'a str,
        path: &'a str,
    },
    Manifest {
        site: Uuid,
    },
    Sitemap {
        site: Uuid,
    },
}

impl Entry<'_> {
    pub fn site(&self) -> Uuid {
        match self {
            Entry::Page { site, .. } | Entry::Manifest { site } | Entry::Sitemap { site } => *site,
        }
    }
}

/// What `get` found: the entry if current, and what `put` needs to store a
/// fresh one without racing an invalidation.
pub struct Lookup {
    pub hit: Option<Cached>,
    /// Where the hit came from: `memory` (near cache), `redis` or `local`
    /// (the in-process fallback without Redis).
    pub tier: &'static str,
    generation: u64,
    near_epoch: Option<u64>,
}

#[derive(Default)]
pub struct DeliveryCache {
    local_entries: Mutex<HashMap<String, (Cached, Instant)>>,
    local_generations: Mutex<HashMap<String, u64>>,
    near: Arc<NearCache>,
    /// With read replicas: where invalidations made outside a request (jobs)
    /// read the primary's WAL position.
    primary: Option<Db>,
}

/// Delivery responses in process memory, per site. Each site has an epoch
/// that every eviction moves on: a response read (from Redis or the database)
/// before an eviction carries the old epoch and is not stored.
#[derive(Default)]
struct NearCache {
    capacity: usize,
    subscribed: AtomicBool,
    sites: Mutex<NearSites>,
    /// The newest invalidation position per site (with read replicas).
    site_positions: Mutex<HashMap<Uuid, Lsn>>,
}

#[derive(Default)]
struct NearSites {
    entries: usize,
    by_site: HashMap<Uuid, NearSite>,
}

#[derive(Default)]
struct NearSite {
    epoch: u64,
    entries: HashMap<String, (Cached, Instant)>,
}

impl NearCache {
    fn active(&self) -> bool {
        self.capacity > 0 && self.subscribed.load(Ordering::Acquire)
    }

    /// The entry if present and unexpired, and the site's epoch.
    fn get(&self, site: Uuid, key: &str) -> Option<(Option<Cached>, u64)> {
        if !self.active() {
            return None;
        }
        let sites = self.sites.lock().ok()?;
        let Some(near_site) = sites.by_site.get(&site) else {
            return Some((None, 0));
        };
        let hit = near_site
            .entries
            .get(key)
            .filter(|(_, expires)| *expires > Instant::now())
            .map(|(cached, _)| cached.clone());
        Some((hit, near_site.epoch))
    }

    fn put(&self, site: Uuid, key: &str, epoch: u64, cached: &Cached, ttl: Duration) {
        if !self.active() {
            return;
        }
        let Ok(mut sites) = self.sites.lock() else {
            return;
        };
        if sites.entries >= self.capacity {
            // Bounded memory, simply: start over (epochs stay).
            for near_site in sites.by_site.values_mut() {
                near_site.entries.clear();
            }
            sites.entries = 0;
        }
        let near_site = sites.by_site.entry(site).or_default();
        if near_site.epoch != epoch {
            return;
        }
        let added = near_site
            .entries
            .insert(key.to_owned(), (cached.clone(), Instant::now() + ttl))
            .is_none();
        if added {
            sites.entries += 1;
        }
    }

    fn note_position(&self, site: Uuid, position: Lsn) {
        if let Ok(mut positions) = self.site_positions.lock() {
            let known = positions.entry(site).or_default();
            *known = (*known).max(position);
        }
    }

    fn position(&self, site: Uuid) -> Lsn {
        self.site_positions
            .lock()
            .ok()
            .and_then(|positions| positions.get(&site).copied())
            .unwrap_or_default()
    }

    fn evict_site(&self, site: Uuid) {
        if let Ok(mut sites) = self.sites.lock() {
            let near_site = sites.by_site.entry(site).or_default();
            near_site.epoch += 1;
            let removed = near_site.entries.len();
            near_site.entries.clear();
            sites.entries -= removed;
        }
    }

    fn evict_all(&self) {
        if let Ok(mut sites) = self.sites.lock() {
            for near_site in sites.by_site.values_mut() {
                near_site.epoch += 1;
                near_site.entries.clear();
            }
            sites.entries = 0;
        }
    }
}

/// An entry as stored: the generation it was built under, when it was
/// written (ms since the epoch), its ETag, its body.
fn encode(generation: u64, cached: &Cached) -> Vec<u8> {
    let mut raw = Vec::with_capacity(40 + cached.etag.len() + cached.body.len());
    raw.extend_from_slice(format!("{generation}\n{}\n", crate::kv::now_millis()).as_bytes());
    raw.extend_from_slice(cached.etag.as_bytes());
    raw.push(b'\n');
    raw.extend_from_slice(&cached.body);
    raw
}

/// The generation, the time written and the entry.
fn decode(raw: &[u8]) -> Option<(u64, u64, Cached)> {
    let mut parts = raw.splitn(4, |b| *b == b'\n');
    let generation = std::str::from_utf8(parts.next()?).ok()?.parse().ok()?;
    let written = std::str::from_utf8(parts.next()?).ok()?.parse().ok()?;
    let etag = String::from_utf8(parts.next()?.to_vec()).ok()?;
    let body = Bytes::copy_from_slice(parts.next()?);
    Some((generation, written, Cached { etag, body }))
}

impl DeliveryCache {
    /// The generation counter and the entry key of `entry`. Both carry the
    /// site in a hash tag, so one MGET reads them even on Redis Cluster.
    fn keys(kv: &Kv, entry: &Entry) -> (String, String) {
        let prefix = kv.prefix();
        match entry {
            Entry::Page { site, locale, path } => (
                format!("{prefix}gen:{{{site}}}:page:{locale}:{path}"),
                format!("{prefix}dl:{{{site}}}:page:{locale}:{path}"),
            ),
            Entry::Manifest { site } => (
                format!("{prefix}gen:{{{site}}}:site"),
                format!("{prefix}dl:{{{site}}}:manifest"),
            ),
            Entry::Sitemap { site } => (
                format!("{prefix}gen:{{{site}}}:site"),
                format!("{prefix}dl:{{{site}}}:sitemap"),
            ),
        }
    }

    pub fn new(near_cache_entries: usize) -> Self {
        DeliveryCache {
            near: Arc::new(NearCache {
                capacity: near_cache_entries,
                ..NearCache::default()
            }),
            ..DeliveryCache::default()
        }
    }

    /// Reads the primary's WAL positions for invalidations made outside a
    /// request (only with read replicas).
    pub fn with_primary(mut self, db: Db) -> Self {
        self.primary = db.replicas().is_some().then_some(db);
        self
    }

    /// Makes the current request's reads see `site`'s newest known change
    /// before its miss is filled.
    pub fn require_site(&self, site: Uuid) {
        let known = self.near.position(site);
        if !known.is_none() {
            positions::require(known);
        }
    }

    /// The cached response if it is of the current generation: from the near
    /// cache, else with one Redis round trip (`MGET entry generation`).
    pub async fn get(&self, kv: &Kv, entry: &Entry<'_>) -> Lookup {
        let (generation_key, entry_key) = Self::keys(kv, entry);
        // Sent a newer position than this node has seen: its near cache may
        // not have been evicted yet.
        let behind = positions::required() > self.near.position(entry.site());
        let near = if behind {
            None
        } else {
            self.near.get(entry.site(), &entry_key)
        };
        let near_epoch = near.as_ref().map(|(_, epoch)| *epoch);
        if let Some((Some(cached), _)) = near {
            return Lookup {
                hit: Some(cached),
                tier: "memory",
                generation: 0,
                near_epoch: None,
            };
        }
        if let Some(mut conn) = kv.redis() {
            let result: Result<(Option<Vec<u8>>, Option<u64>), _> = redis::cmd("MGET")
                .arg(&entry_key)
                .arg(&generation_key)
                .query_async(&mut conn)
                .await;
            match result {
                Ok((raw, generation)) => {
                    kv.redis_recovered();
                    let generation = generation.unwrap_or(0);
                    // Entries written before a Sentinel failover may have
                    // lost their generation bump with the old master.
                    let trusted_from = kv.moved_at_millis();
                    let hit = raw
                        .as_deref()
                        .and_then(decode)
                        .filter(|(built_under, written, _)| {
                            *built_under == generation && *written >= trusted_from
                        })
                        .map(|(_, _, cached)| cached);
                    if let (Some(cached), Some(epoch)) = (&hit, near_epoch) {
                        self.near
                            .put(entry.site(), &entry_key, epoch, cached, NEAR_TTL);
                    }
                    return Lookup {
                        hit,
                        tier: "redis",
                        generation,
                        near_epoch,
                    };
                }
                Err(err) => kv.redis_failed(&err),
            }
        }
        let generation = self.local_generation(&generation_key);
        let now = Instant::now();
        let hit = self.local_entries.lock().ok().and_then(|entries| {
            entries
                .get(&format!("{entry_key}:{generation}"))
                .filter(|(_, expires)| *expires > now)
                .map(|(cached, _)| cached.clone())
        });
        Lookup {
            hit,
            tier: "local",
            generation,
            near_epoch: None,
        }
    }

    /// Stores a response built after `lookup` missed, for at most `ttl`. A
    /// change that lands in between moves the generation (and the near
    /// cache's epoch) on, so such an entry is never served.
    pub async fn put(
        &self,
        kv: &Kv,
        entry: &Entry<'_>,
        lookup: &Lookup,
        cached: &Cached,
        ttl: Duration,
    ) {
        let (_, entry_key) = Self::keys(kv, entry);
        let generation = lookup.generation;
        if let Some(mut conn) = kv.redis() {
            let result: Result<(), _> = redis::cmd("SET")
                .arg(&entry_key)
                .arg(encode(generation, cached))
                .arg("EX")
                .arg(ttl.as_secs().max(1))
                .query_async(&mut conn)
                .await;
            match result {
                Ok(()) => {
                    kv.redis_recovered();
                    if let Some(epoch) = lookup.near_epoch {
                        self.near
                            .put(entry.site(), &entry_key, epoch, cached, ttl.min(NEAR_TTL));
                    }
                    return;
                }
                Err(err) => kv.redis_failed(&err),
            }
        }
        if let Ok(mut entries) = self.local_entries.lock() {
            if entries.len() >= LOCAL_MAX_ENTRIES {
                let now = Instant::now();
                entries.retain(|_, (_, expires)| *expires > now);
                if entries.len() >= LOCAL_MAX_ENTRIES {
                    entries.clear();
                }
            }
            entries.insert(
                format!("{entry_key}:{generation}"),
                (cached.clone(), Instant::now() + ttl),
            );
        }
    }

    /// Bumps the generations `change` touches and announces it on `cms:invalidate`.
    /// Tells every renderer that `site`'s clinic data changed. Nothing of the
    /// api's own delivery cache depends on it, so only the message goes out.
    pub async fn announce_clinic_data(&self, kv: &Kv, tenant: Uuid, site: Uuid) {
        let Some(mut conn) = kv.redis() else {
            return;
        };
        let change = Invalidation {
            clinic_data: true,
            position: self.change_position().await.map(|at| at.to_string()),
            ..Invalidation::site(tenant, site)
        };
        let message = serde_json::to_string(&change).unwrap_or_default();
        let published: Result<i64, _> = redis::cmd("PUBLISH")
            .arg(INVALIDATION_CHANNEL)
            .arg(message)
            .query_async(&mut conn)
            .await;
        if let Err(err) = published {
            kv.redis_failed(&err);
        }
    }

    /// The primary's WAL position after the change being announced: the
    /// request's own commit, or read from the primary (jobs). None without
    /// replicas.
    async fn change_position(&self) -> Option<Lsn> {
        let db = self.primary.as_ref()?;
        let committed = positions::current().map(|request| request.committed());
        if let Some(at) = committed.filter(|at| !at.is_none()) {
            return Some(at);
        }
        db.unscoped(|conn| Ok(crate::db::commit_position(conn)))
            .await
            .ok()
    }

    pub async fn invalidate(&self, kv: &Kv, mut change: Invalidation) {
        if let Some(at) = self.change_position().await {
            self.near.note_position(change.site, at);
            change.position = Some(at.to_string());
        }
        let site_key = Self::keys(kv, &Entry::Manifest { site: change.site }).0;
        // A page is cached under its locale and, when asked for without one,
        // under "" (the site's default): both go.
        let mut page_keys: Vec<String> = change
            .pages
            .iter()
            .flat_map(|(locale, path)| [(locale.as_str(), path), ("", path)])
            .map(|(locale, path)| {
                Self::keys(
                    kv,
                    &Entry::Page {
                        site: change.site,
                        locale,
                        path,
                    },
                )
                .0
            })
            .collect();
        page_keys.sort();
        page_keys.dedup();
        if let Some(mut conn) = kv.redis() {
            let mut pipe = redis::pipe();
            pipe.atomic().cmd("INCR").arg(&site_key);
            for key in &page_keys {
                pipe.cmd("INCR").arg(key).ignore();
            }
            let bumped: Result<(u64,), _> = pipe.query_async(&mut conn).await;
            match bumped {
                Ok((generation,)) => {
                    change.generation = generation;
                    let message = serde_json::to_string(&change).unwrap_or_default();
                    let published: Result<i64, _> = redis::cmd("PUBLISH")
                        .arg(INVALIDATION_CHANNEL)
                        .arg(message)
                        .query_async(&mut conn)
                        .await;
                    if let Err(err) = published {
                        kv.redis_failed(&err);
                    }
                }
                Err(err) => kv.redis_failed(&err),
            }
        }
        // This node sees its own change at once, not when the message is back.
        self.near.evict_site(change.site);
        // The local generations move too: they key the fallback entries.
        if let Ok(mut generations) = self.local_generations.lock() {
            for key in page_keys.iter().chain(std::iter::once(&site_key)) {
                *generations.entry(key.clone()).or_default() += 1;
            }
        }
    }

    fn local_generation(&self, key: &str) -> u64 {
        self.local_generations
            .lock()
            .ok()
            .and_then(|generations| generations.get(key).copied())
            .unwrap_or(0)
    }
}

#[derive(Deserialize)]
struct InvalidationMessage {
    site: Uuid,
    #[serde(default)]
    position: Option<String>,
    /// Clinic data is not in the near cache: such messages evict nothing here.
    #[serde(default)]
    clinic_data: bool,
}

/// Keeps this process subscribed to `cms:invalidate` (resubscribing after
/// failures, and on the new master after a Sentinel failover) and evicts the
/// near cache by its messages. Without Redis there is nothing to do.
pub fn spawn_subscriber(kv: Arc<Kv>, cache: &DeliveryCache) {
    if !kv.is_configured() {
        return;
    }
    // Subscribed even with the near cache off: the messages' positions
    // guard the fills (with read replicas).
    let near = Arc::clone(&cache.near);
    let mut moves = kv.moves();
    tokio::spawn(async move {
        loop {
            moves.mark_unchanged();
            let Some(client) = kv.client() else {
                // Sentinels have named no master yet.
                tokio::time::sleep(RESUBSCRIBE_AFTER).await;
                continue;
            };
            match client.get_async_pubsub().await {
                Ok(mut pubsub) => match pubsub.subscribe(INVALIDATION_CHANNEL).await {
                    Ok(()) => {
                        // Messages sent while unsubscribed are lost: start empty.
                        near.evict_all();
                        near.subscribed.store(true, Ordering::Release);
                        tracing::info!("near cache on: subscribed to {INVALIDATION_CHANNEL}");
                        let mut messages = pubsub.on_message();
                        loop {
                            let message = tokio::select! {
                                message = messages.next() => message,
                                // The master moved: what this connection
                                // hears from now on is not what is published.
                                _ = moves.changed() => None,
                            };
                            let Some(message) = message else { break };
                            apply_invalidation(&near, message.get_payload_bytes());
                        }
                        near.subscribed.store(false, Ordering::Release);
                        near.evict_all();
                        tracing::warn!(
                            "near cache off: lost the {INVALIDATION_CHANNEL} subscription"
                        );
                    }
                    Err(err) => {
                        tracing::debug!(error = %err, "cannot subscribe to {INVALIDATION_CHANNEL}")
                    }
                },
                Err(err) => {
                    tracing::debug!(error = %err, "cannot subscribe to {INVALIDATION_CHANNEL}")
                }
            }
            tokio::time::sleep(RESUBSCRIBE_AFTER).await;
        }
    });
}

fn apply_invalidation(near: &NearCache, payload: &[u8]) {
    let parsed = serde_json::from_slice::<InvalidationMessage>(payload);
    if let Ok(change) = &parsed {
        if let Some(at) = change.position.as_deref().and_then(Lsn::parse) {
            near.note_position(change.site, at);
        }
    }
    match parsed {
        Ok(change) if change.clinic_data => {}
        Ok(change) => near.evict_site(change.site),
        // Not ours to understand: be safe.
        Err(_) => near.evict_all(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_keep_their_generation_and_write_time_and_the_old_layout_is_a_miss() {
        let cached = Cached {
            etag: "\"abc\"".into(),
            body: Bytes::from_static(b"{\"a\":\"b\\nc\"}"),
        };
        let before = crate::kv::now_millis();
        let (generation, written, back) = decode(&encode(7, &cached)).unwrap();
        assert_eq!(generation, 7);
        assert!(written >= before && written <= crate::kv::now_millis());
        assert_eq!(back.etag, cached.etag);
        assert_eq!(back.body, cached.body);
        // Written by a node before this layout: generation, ETag, body.
        assert!(decode(b"7\n\"abc\"\n{}").is_none());
    }
}
