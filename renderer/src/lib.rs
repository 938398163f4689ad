//! The renderer: serves the public HTML of every landing from the delivery
//! API over cached HTTP (see `cache`), rendered with tera (see `render`).

pub mod assets;
pub mod booking;
pub mod cache;
pub mod config;
pub mod document;
pub mod experiments;
pub mod forms;
pub mod invalidation;
pub mod media;
pub mod metrics;
pub mod outbox;
pub mod pages;
pub mod render;
pub mod response;
pub mod security;
pub mod site;
pub mod state;
pub mod upstream;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{get, web, App, HttpResponse, HttpServer};
use cms_shared::redis_endpoint::RedisEndpoint;
use fred::prelude::{Builder, ClientLike, Config as RedisConfig, Pool, ServerConfig};
use serde::Serialize;

pub use config::Config;
use state::RendererState;

#[derive(Debug, thiserror::Error)]
pub enum RendererError {
    #[error(transparent)]
    Template(#[from] render::TemplateError),
    #[error("redis: {0}")]
    Redis(#[from] fred::error::Error),
    #[error("http client: {0}")]
    Client(#[from] reqwest::Error),
    #[error("cannot listen: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
}

#[derive(Serialize)]
struct Readiness {
    status: &'static str,
    /// `ok`, `unavailable` (in-process cache only) or `not_configured`.
    redis: &'static str,
}

#[get("/healthz")]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// Ready whenever the process runs: Redis only shares the cache, so its absence
/// is reported but does not take the node out of rotation.
#[get("/readyz")]
async fn readyz(state: web::Data<RendererState>) -> HttpResponse {
    let redis = match &state.redis {
        None => "not_configured",
        Some(pool) => {
            let ping =
                tokio::time::timeout(Duration::from_millis(500), pool.next().ping::<String>(None))
                    .await;
            if matches!(ping, Ok(Ok(_))) {
                "ok"
            } else {
                "unavailable"
            }
        }
    };
    HttpResponse::Ok().json(Readiness {
        status: "ok",
        redis,
    })
}

#[get("/metrics")]
async fn prometheus(state: web::Data<RendererState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render(state.outbox.pending_in_memory()))
}

pub struct Renderer {
    port: u16,
    server: actix_web::dev::Server,
}

/// fred's configuration for a Redis URL, or for the master the Sentinels
/// name (fred asks them again on every reconnect, so a failover is followed).
fn redis_config(endpoint: &RedisEndpoint) -> Result<RedisConfig, RendererError> {
    Ok(match endpoint {
        RedisEndpoint::Url(url) => RedisConfig::from_url(url)?,
        RedisEndpoint::Sentinel { sentinels, service } => RedisConfig {
            server: ServerConfig::new_sentinel(sentinels.clone(), service.clone()),
            ..RedisConfig::default()
        },
    })
}

fn redis_pool(config: RedisConfig) -> Result<Pool, RendererError> {
    let pool = Builder::from_config(config)
        .with_connection_config(|conn| conn.connection_timeout = Duration::from_millis(500))
        .with_performance_config(|perf| perf.default_command_timeout = Duration::from_millis(300))
        .set_policy(fred::prelude::ReconnectPolicy::new_constant(0, 500))
        .build_pool(2)?;
    // Connect in the background: a missing Redis must not stop the renderer.
    let connecting = pool.clone();
    tokio::spawn(async move {
        if let Err(err) = connecting.init().await {
            tracing::warn!(error = %err, "Redis does not answer: in-process cache only");
        }
    });
    Ok(pool)
}

impl Renderer {
    pub async fn build(config: Config) -> Result<Self, RendererError> {
        // reqwest's rustls is built without a crypto provider: ring it is.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let metrics = Arc::new(metrics::Metrics::default());
        let assets = web::Data::new(assets::Assets::new());
        let templates = Arc::new(render::Templates::load(
            config.templates_dir.as_deref(),
            assets.urls(),
            Arc::clone(&metrics),
        )?);
        let redis_config = config.redis.as_ref().map(redis_config).transpose()?;
        let redis = match &redis_config {
            None => {
                tracing::warn!("neither REDIS_URL nor REDIS_SENTINELS is set: the renderer uses its in-process cache only");
                None
            }
            Some(redis_config) => Some(redis_pool(redis_config.clone())?),
        };
        let upstream = upstream::Upstream::new(&config.api_url, config.api_timeout)?;
        let exposures = experiments::Exposures::start(upstream.clone(), Arc::clone(&metrics));
        let outbox = Arc::new(outbox::Outbox::new(redis.clone(), &config.redis_prefix));
        outbox::spawn(Arc::clone(&outbox), upstream.clone(), Arc::clone(&metrics));
        let documents = Arc::new(cache::Documents::new(
            upstream,
            redis.clone(),
            &config.redis_prefix,
            config.fresh_for,
            config.cache_entries,
            Arc::clone(&metrics),
        ));
        if let Some(redis_config) = redis_config {
            invalidation::subscribe(redis_config, Arc::clone(&documents), Arc::clone(&metrics))
                .await?;
        }
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let state = web::Data::new(RendererState {
            outbox,
            exposures,
            shells: moka::future::Cache::builder()
                .max_capacity(config.cache_entries)
                .time_to_live(Duration::from_secs(86_400))
                .build(),
            render_slots: Arc::new(tokio::sync::Semaphore::new(cores)),
            config: config.clone(),
            templates,
            documents,
            redis,
            metrics,
        });
        let listener = TcpListener::bind(config.listen_addr)?;
        let port = listener.local_addr()?.port();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(assets.clone())
                .app_data(web::FormConfig::default().limit(16 * 1024))
                .service(healthz)
                .service(readyz)
                .service(prometheus)
                .service(assets::asset)
                .service(assets::demo_image)
                .service(media::media_file)
                .service(pages::robots)
                .service(pages::sitemap)
                .service(forms::submit_lead)
                .service(booking::slots)
                .service(booking::book)
                .default_service(web::to(pages::page))
        })
        .listen(listener)?
        .shutdown_timeout(10)
        .run();
        Ok(Renderer { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server from outside (tests stop a renderer mid-run).
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
