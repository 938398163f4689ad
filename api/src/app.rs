//! Assembling the api: state, middleware, routes, the OpenAPI document and the
//! docs UI. `Application::build` binds the listener (port 0 in tests) and
//! refuses to start when the database role would bypass row-level security.

use std::net::TcpListener;

use actix_web::dev::{ServiceFactory, ServiceRequest};
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpResponse, HttpServer};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::{scope, AppExt, UtoipaApp};
use utoipa_swagger_ui::SwaggerUi;

use crate::blocking::Blocking;
use crate::config::{Config, MediaStorage};
use crate::content;
use crate::content::cache::DeliveryCache;
use crate::db::{Db, StartupError};
use crate::error::ApiError;
use crate::http::cors::AllowedOrigins;
use crate::http::metrics::Metrics;
use crate::http::request_id::observe;
use crate::jobs;
use crate::kv::{Kv, RedisHealth};
use crate::media::storage::MediaStore;
use crate::routes;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Landing CMS API",
        description = "Multi-tenant headless CMS for marketing landings and clinics. \
                       Errors are RFC 9457 problem+json; lists use cursor pagination; \
                       single resources carry an ETag and writes honour If-Match."
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Sessions and tokens"),
        (name = "tenants", description = "Corporate clients (platform admins)"),
        (name = "sites", description = "Landings, their hosts, export, import and cloning"),
        (name = "modules", description = "The module library blocks are made of"),
        (name = "pages", description = "Pages, blocks, publishing, revisions, preview"),
        (name = "delivery", description = "Public, cached, published content"),
        (name = "experiments", description = "A/B experiments of pages: variants, lifecycle, results"),
        (name = "users", description = "Members of the tenant"),
        (name = "tenant", description = "The caller's tenant: its own settings"),
        (name = "clinics", description = "Clinics, specializations and their public lists"),
        (name = "services", description = "Services and their category tree"),
        (name = "doctors", description = "Doctors, weekly schedules and exceptions"),
        (name = "appointments", description = "Bookings, their status and payments"),
        (name = "reviews", description = "Patients' reviews of doctors, with moderation"),
        (name = "memberships", description = "Roles in the tenant"),
        (name = "audit", description = "Record of every write"),
        (name = "jobs", description = "Background jobs of the tenant: state, attempts, errors, retry and cancel"),
        (name = "webhooks", description = "Outgoing webhooks (Standard Webhooks): endpoints, secrets, delivery log, replay"),
        (name = "notifications", description = "Patient and staff notifications: templates, settings, providers (write-only credentials) and the message log"),
        (name = "media", description = "The media library: uploads, renditions (WebP, AVIF), focal points, placeholders, usage, quota, and the files themselves"),
        (name = "operations", description = "Health, readiness, metrics"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Registers every documented route on `app`.
fn with_routes<T>(app: UtoipaApp<T>) -> UtoipaApp<T>
where
    T: ServiceFactory<ServiceRequest, Config = (), Error = actix_web::Error, InitError = ()>,
{
    app.openapi(ApiDoc::openapi())
        .configure(routes::health::configure)
        .configure(routes::media_files::configure)
        .service(scope::scope("/api/v1").configure(routes::configure_v1))
}

/// The OpenAPI document, exactly as served at `/api/v1/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let spec = with_routes(App::new().into_utoipa_app())
        .split_for_parts()
        .1;
    crate::http::spec::complete(spec)
}

fn path_error(err: actix_web::error::PathError, _: &actix_web::HttpRequest) -> actix_web::Error {
    tracing::debug!(error = %err, "unparseable path parameter");
    ApiError::NotFound.into()
}

fn query_error(
    err: actix_web::error::QueryPayloadError,
    _: &actix_web::HttpRequest,
) -> actix_web::Error {
    ApiError::BadRequest(format!("invalid query string: {err}")).into()
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header(("Location", "/api/docs/"))
        .finish()
}

/// Makes ring the process's TLS crypto provider (reqwest's rustls is built
/// without one). Every entry point calls it before building an HTTP client;
/// calling it again does nothing.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

pub struct Application {
    port: u16,
    server: actix_web::dev::Server,
    /// The in-process job worker (`CMS_JOBS=on`).
    worker: Option<jobs::worker::WorkerHandle>,
    worker_grace: std::time::Duration,
}

/// The state `serve` and `worker` run on: checks the database role, sets up
/// Redis (or says it runs without it).
pub async fn build_state(config: Config) -> Result<web::Data<AppState>, BuildError> {
    install_tls_provider();
    let db = Db::connect_with(
        &config.database_url,
        config.db_pool_size,
        config.db_checkout_timeout,
    )
    .map_err(|err| BuildError::Database(err.to_string()))?
    .with_replicas(
        &config.database_url,
        config.replicas.clone(),
        config.db_checkout_timeout,
    );
    db.ensure_role_is_bound_by_rls().await?;
    let kv = Kv::connect(config.redis.as_ref(), &config.redis_prefix)
        .await
        .map_err(BuildError::Redis)?;
    match kv.probe().await {
        RedisHealth::NotConfigured => tracing::warn!(
            "neither REDIS_URL nor REDIS_SENTINELS is set: caches, rate limits and token revocations use in-process fallbacks (single node only)"
        ),
        RedisHealth::Ok => tracing::info!(
            server = kv.server().unwrap_or_default(),
            "Redis connected"
        ),
        // follow_master has said why.
        RedisHealth::NoMaster => {}
        RedisHealth::Unavailable => {
            tracing::warn!("Redis does not answer: using in-process fallbacks until it does")
        }
    }
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let media = match &config.media.storage {
        MediaStorage::Local(dir) => MediaStore::local(dir)?,
        MediaStorage::S3 {
            bucket,
            endpoint,
            region,
            access_key_id,
            secret_access_key,
        } => MediaStore::s3(
            bucket,
            endpoint.as_deref(),
            region,
            access_key_id,
            secret_access_key,
        )?,
    };
    let decode_concurrency = config.media.decode_concurrency;
    let cache = DeliveryCache::new(config.delivery_near_cache_entries).with_primary(db.clone());
    let slots_cache_ms = config.slots_cache_ms;
    Ok(web::Data::new(AppState {
        origins: AllowedOrigins::new(&config.admin_origins),
        config,
        db,
        kv: std::sync::Arc::new(kv),
        cpu: Blocking::new("cpu", cores),
        images: Blocking::new("images", decode_concurrency),
        media,
        metrics: Metrics::default(),
        jobs: crate::jobs::metrics::JobMetrics::default(),
        cache,
        slots: crate::clinic::slots_cache::SlotsCache::new(slots_cache_ms),
        experiment_routes: crate::experiments::routes_cache::ExperimentRoutes::new(
            std::time::Duration::from_secs(2),
        ),
    }))
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, BuildError> {
        let listen_addr = config.listen_addr;
        let state = build_state(config).await?;
        let listener = TcpListener::bind(listen_addr)?;
        let port = listener.local_addr()?.port();
        let document = openapi();
        let templates = web::Data::new(crate::http::hostile::PathTemplates::from_spec(&document));
        let spec = web::Data::new(routes::spec::SpecJson(
            document
                .to_pretty_json()
                .map_err(|err| BuildError::Spec(err.to_string()))?
                .into(),
        ));
        let admin = web::Data::new(routes::admin_app::AdminApp::load(
            &state.config.admin_dir,
            state.config.admin_preview_url.as_deref(),
        ));
        content::cache::spawn_subscriber(std::sync::Arc::clone(&state.kv), &state.cache);
        state
            .origins
            .spawn_refresh(state.db.clone(), state.config.cors_refresh);
        let worker_grace = state.config.job_shutdown_grace;
        let worker = state.config.jobs_in_serve.then(|| {
            jobs::worker::start(
                state.clone(),
                jobs::handlers::Registry::standard(),
                jobs::worker::WorkerConfig::from_config(&state.config),
            )
        });
        let server = HttpServer::new(move || {
            let cors = state.origins.middleware();
            let (app, api) = with_routes(
                App::new()
                    .into_utoipa_app()
                    .app_data(state.clone())
                    .app_data(spec.clone())
                    .app_data(templates.clone())
                    .app_data(web::PathConfig::default().error_handler(path_error))
                    .app_data(web::QueryConfig::default().error_handler(query_error))
                    // CORS inside `observe`, so refused preflights are logged and counted
                    // too; hostile request lines inside CORS, so browsers can read the 422.
                    .map(|app| {
                        app.wrap(from_fn(crate::http::consistency::track_positions))
                            .wrap(from_fn(crate::http::hostile::refuse_hostile_values))
                            .wrap(cors)
                            .wrap(from_fn(observe))
                    }),
            )
            .split_for_parts();
            drop(api);
            app.service(
                SwaggerUi::new("/api/docs/{_:.*}")
                    .config(utoipa_swagger_ui::Config::from("/api/v1/openapi.json")),
            )
            .route("/api/docs", web::get().to(docs_redirect))
            .app_data(admin.clone())
            .configure(routes::admin_app::configure)
            .default_service(web::to(not_found))
        })
        .listen(listener)?
        .shutdown_timeout(10)
        .run();
        Ok(Application {
            port,
            server,
            worker,
            worker_grace,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server from outside (tests stop an api mid-run).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGINT/SIGTERM, then finishes in-flight requests (up to
    /// 10 s) and stops the job worker (its running jobs get the configured
    /// grace period).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        if let Some(worker) = self.worker {
            worker.shutdown(self.worker_grace).await;
        }
        served
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Startup(#[from] StartupError),
    #[error("database: {0}")]
    Database(String),
    #[error("redis: {0}")]
    Redis(String),
    #[error("openapi: {0}")]
    Spec(String),
    #[error("media storage: {0}")]
    Media(#[from] crate::media::storage::StorageError),
    #[error("cannot listen: {0}")]
    Io(#[from] std::io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// reqwest's rustls has no provider of its own: without the installed
    /// one, building a client panics, and https providers and webhook
    /// receivers could never be reached.
    #[test]
    fn with_the_provider_installed_https_clients_build() {
        install_tls_provider();
        install_tls_provider();
        let client = reqwest::Client::builder()
            .https_only(true)
            .build()
            .expect("a TLS client");
        drop(client);
        assert!(rustls::crypto::CryptoProvider::get_default().is_some());
    }
}
