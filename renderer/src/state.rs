//! What every handler shares.

use std::sync::Arc;

use fred::prelude::Pool;
use tokio::sync::Semaphore;

use crate::cache::Documents;
use crate::config::Config;
use crate::metrics::{inc, Metrics};
use crate::outbox::Outbox;
use crate::render::shell::Shell;
use crate::render::Templates;

pub struct RendererState {
    pub config: Config,
    pub templates: Arc<Templates>,
    pub documents: Arc<Documents>,
    /// Rendered shells by page key and the versions they were rendered from.
    pub shells: moka::future::Cache<String, Arc<Shell>>,
    pub redis: Option<Pool>,
    pub metrics: Arc<Metrics>,
    pub outbox: Arc<Outbox>,
    pub exposures: crate::experiments::Exposures,
    /// Bounds template runs (CPU work) to one per core, off the async workers.
    pub render_slots: Arc<Semaphore>,
}

impl RendererState {
    /// The shell under `key`, rendering it (once, however many requests wait
    /// for it) on the bounded blocking pool. `None` if rendering panicked.
    pub async fn shell<F>(&self, key: &str, render: F) -> Option<Arc<Shell>>
    where
        F: FnOnce() -> Shell + Send + 'static,
    {
        if let Some(shell) = self.shells.get(key).await {
            inc(&self.metrics.shell_hits);
            return Some(shell);
        }
        let slots = Arc::clone(&self.render_slots);
        let metrics = Arc::clone(&self.metrics);
        if self.config.cache_entries == 0 {
            // Cache off: render every time (see `Documents::get`).
            let _permit = slots.acquire_owned().await.ok()?;
            inc(&metrics.shell_misses);
            return tokio::task::spawn_blocking(render).await.ok().map(Arc::new);
        }
        self.shells
            .try_get_with(key.to_owned(), async move {
                let _permit = slots.acquire_owned().await.map_err(|_| ())?;
                inc(&metrics.shell_misses);
                tokio::task::spawn_blocking(render)
                    .await
                    .map(Arc::new)
                    .map_err(|_| ())
            })
            .await
            .ok()
    }
}
