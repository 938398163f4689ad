//! The renderer: serves the public HTML of every landing. At this stage it
//! answers health and readiness and renders a not-found page per host; page
//! rendering from the delivery API arrives with the renderer issue.

pub mod config;

use std::net::TcpListener;
use std::time::Duration;

use actix_web::{get, web, App, HttpRequest, HttpResponse, HttpServer};
use fred::prelude::{Builder, ClientLike, Config as RedisConfig, Pool};
use serde::Serialize;

pub use config::Config;

/// Templates are embedded in the binary: nothing is read from the working directory.
const NOT_FOUND_TEMPLATE: &str = include_str!("../templates/not_found.html");

pub struct RendererState {
    templates: tera::Tera,
    redis: Option<Pool>,
}

#[derive(Debug, thiserror::Error)]
pub enum RendererError {
    #[error("template: {0}")]
    Template(#[from] tera::Error),
    #[error("redis: {0}")]
    Redis(#[from] fred::error::Error),
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

async fn not_found(req: HttpRequest, state: web::Data<RendererState>) -> HttpResponse {
    let host = req.connection_info().host().to_owned();
    let host = cms_shared::host::normalize_host(&host).unwrap_or_default();
    let mut context = tera::Context::new();
    context.insert("host", &host);
    context.insert("path", req.path());
    match state.templates.render("not_found.html", &context) {
        Ok(html) => HttpResponse::NotFound()
            .content_type("text/html; charset=utf-8")
            .body(html),
        Err(err) => {
            tracing::error!(error = %err, "not-found template failed");
            HttpResponse::NotFound()
                .content_type("text/plain; charset=utf-8")
                .body("Page not found")
        }
    }
}

pub struct Renderer {
    port: u16,
    server: actix_web::dev::Server,
}

impl Renderer {
    pub async fn build(config: Config) -> Result<Self, RendererError> {
        let mut templates = tera::Tera::default();
        templates.add_raw_template("not_found.html", NOT_FOUND_TEMPLATE)?;
        let redis = match &config.redis_url {
            None => {
                tracing::warn!("REDIS_URL is not set: the renderer uses its in-process cache only");
                None
            }
            Some(url) => {
                let pool = Builder::from_config(RedisConfig::from_url(url)?)
                    .with_connection_config(|conn| {
                        conn.connection_timeout = Duration::from_millis(500)
                    })
                    .build_pool(2)?;
                // Connect in the background: a missing Redis must not stop the renderer.
                let connecting = pool.clone();
                tokio::spawn(async move {
                    if let Err(err) = connecting.init().await {
                        tracing::warn!(error = %err, "Redis does not answer: in-process cache only");
                    }
                });
                Some(pool)
            }
        };
        let state = web::Data::new(RendererState { templates, redis });
        let listener = TcpListener::bind(config.listen_addr)?;
        let port = listener.local_addr()?.port();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .service(healthz)
                .service(readyz)
                .default_service(web::to(not_found))
        })
        .listen(listener)?
        .shutdown_timeout(10)
        .run();
        Ok(Renderer { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
