//! What every request can reach: configuration, the database, shared state
//! (Redis or in-process), the CPU-bound blocking pool and metrics. Built once in
//! `Application::build` and handed to actix as `Data<AppState>`.

use crate::blocking::Blocking;
use crate::clinic::slots_cache::SlotsCache;
use crate::config::Config;
use crate::content::cache::DeliveryCache;
use crate::db::Db;
use crate::experiments::routes_cache::ExperimentRoutes;
use crate::http::cors::AllowedOrigins;
use crate::http::metrics::Metrics;
use crate::jobs::metrics::JobMetrics;
use crate::kv::Kv;

pub struct AppState {
    pub config: Config,
    pub db: Db,
    pub kv: std::sync::Arc<Kv>,
    /// CPU-heavy work (argon2): bounded by the core count so logins queue
    /// instead of starving everything else.
    pub cpu: Blocking,
    /// Image decoding and encoding (media renditions): bounded apart from
    /// `cpu` so a batch of renditions cannot hold up logins.
    pub images: Blocking,
    /// Where media originals and renditions live.
    pub media: crate::media::storage::MediaStore,
    pub metrics: Metrics,
    /// What this process's job workers did.
    pub jobs: JobMetrics,
    /// Origins allowed on management endpoints (CORS).
    pub origins: AllowedOrigins,
    pub cache: DeliveryCache,
    /// Recent `available-slots` answers.
    pub slots: SlotsCache,
    /// Experiments event ingestion has looked up recently.
    pub experiment_routes: ExperimentRoutes,
}
