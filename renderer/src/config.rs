//! Typed configuration of the renderer, read once from the environment.

use std::net::SocketAddr;

#[derive(Debug, Clone)]
pub struct Config {
    /// `CMS_RENDERER_ADDR`, default `127.0.0.1:8081`; tests use port 0.
    pub listen_addr: SocketAddr,
    /// `CMS_API_URL`, default `http://127.0.0.1:8080`: where page JSON comes from.
    pub api_url: String,
    /// `REDIS_URL`; unset or empty means the in-process cache only.
    pub redis_url: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("{name} is not valid: {reason}")]
pub struct ConfigError {
    name: &'static str,
    reason: String,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let raw_addr = get("CMS_RENDERER_ADDR").unwrap_or_else(|| "127.0.0.1:8081".to_owned());
        let listen_addr =
            raw_addr
                .parse()
                .map_err(|err: std::net::AddrParseError| ConfigError {
                    name: "CMS_RENDERER_ADDR",
                    reason: format!("{raw_addr:?}: {err}"),
                })?;
        Ok(Config {
            listen_addr,
            api_url: get("CMS_API_URL").unwrap_or_else(|| "http://127.0.0.1:8080".to_owned()),
            redis_url: get("REDIS_URL"),
        })
    }
}
