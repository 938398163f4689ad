//! The delivery response cache and its invalidation.
//!
//! Each entry is stored with the generation counter it was built under: a
//! page's own counter, or the site's for manifests and sitemaps. A read takes
//! the entry and its current counter in one MGET and serves the entry only if
//! they match. Publishing bumps exactly the affected counters (no SCAN, no key
//! listing), so stale entries are never served, and they expire by TTL.
//! Every invalidation is also published on `cms:invalidate` for renderers.
//! Without Redis the same scheme runs on in-process maps (single node).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::web::Bytes;
use serde::Serialize;
use uuid::Uuid;

use crate::kv::Kv;

/// The channel renderers subscribe to.
pub const INVALIDATION_CHANNEL: &str = "cms:invalidate";
const LOCAL_MAX_ENTRIES: usize = 20_000;

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
}

impl Invalidation {
    pub fn site(tenant: Uuid, site: Uuid) -> Self {
        Invalidation {
            tenant,
            site,
            pages: Vec::new(),
            paths: Vec::new(),
            generation: 0,
        }
    }

    pub fn page(tenant: Uuid, site: Uuid, locale: &str, path: &str) -> Self {
        Invalidation {
            tenant,
            site,
            pages: vec![(locale.to_owned(), path.to_owned())],
            paths: vec![path.to_owned()],
            generation: 0,
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

#[derive(Default)]
pub struct DeliveryCache {
    local_entries: Mutex<HashMap<String, (Cached, Instant)>>,
    local_generations: Mutex<HashMap<String, u64>>,
}

/// An entry as stored: the generation it was built under, its ETag, its body.
fn encode(generation: u64, cached: &Cached) -> Vec<u8> {
    let mut raw = Vec::with_capacity(24 + cached.etag.len() + cached.body.len());
    raw.extend_from_slice(generation.to_string().as_bytes());
    raw.push(b'\n');
    raw.extend_from_slice(cached.etag.as_bytes());
    raw.push(b'\n');
    raw.extend_from_slice(&cached.body);
    raw
}

fn decode(raw: &[u8]) -> Option<(u64, Cached)> {
    let first = raw.iter().position(|b| *b == b'\n')?;
    let generation = std::str::from_utf8(&raw[..first]).ok()?.parse().ok()?;
    let rest = &raw[first + 1..];
    let second = rest.iter().position(|b| *b == b'\n')?;
    Some((
        generation,
        Cached {
            etag: String::from_utf8(rest[..second].to_vec()).ok()?,
            body: Bytes::copy_from_slice(&rest[second + 1..]),
        },
    ))
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

    /// The cached response if it is of the current generation, and that
    /// generation (for `put`). One round trip: `MGET entry generation`.
    pub async fn get(&self, kv: &Kv, entry: &Entry<'_>) -> (Option<Cached>, u64) {
        let (generation_key, entry_key) = Self::keys(kv, entry);
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
                    let hit = raw
                        .as_deref()
                        .and_then(decode)
                        .filter(|(built_under, _)| *built_under == generation)
                        .map(|(_, cached)| cached);
                    return (hit, generation);
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
        (hit, generation)
    }

    /// Stores a response built under `generation` (what `get` answered before
    /// the database was read), for at most `ttl`. A change that lands in
    /// between moves the generation on, so such an entry is never served.
    pub async fn put(
        &self,
        kv: &Kv,
        entry: &Entry<'_>,
        generation: u64,
        cached: &Cached,
        ttl: Duration,
    ) {
        let (_, entry_key) = Self::keys(kv, entry);
        if let Some(mut conn) = kv.redis() {
            let result: Result<(), _> = redis::cmd("SET")
                .arg(&entry_key)
                .arg(encode(generation, cached))
                .arg("EX")
                .arg(ttl.as_secs().max(1))
                .query_async(&mut conn)
                .await;
            match result {
                Ok(()) => return kv.redis_recovered(),
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
    pub async fn invalidate(&self, kv: &Kv, mut change: Invalidation) {
        let site_key = Self::keys(kv, &Entry::Manifest { site: change.site }).0;
        let page_keys: Vec<String> = change
            .pages
            .iter()
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
