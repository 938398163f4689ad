//! The `renderer` binary: serves public landing HTML (configuration from the environment).

use std::process::ExitCode;

use cms_renderer::{Config, Renderer};
use tracing_subscriber::EnvFilter;

#[actix_web::main]
async fn main() -> ExitCode {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .init();
    let result = async {
        let renderer = Renderer::build(Config::from_env()?).await?;
        tracing::info!(port = renderer.port(), "renderer listening");
        renderer.run_until_stopped().await?;
        Ok::<(), Box<dyn std::error::Error>>(())
    };
    match result.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
