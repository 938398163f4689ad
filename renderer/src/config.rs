//! Typed configuration of the renderer, read once from the environment.

use cms_shared::redis_endpoint::RedisEndpoint;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Config {
    /// `CMS_RENDERER_ADDR`, default `127.0.0.1:8081`; tests use port 0.
    pub listen_addr: SocketAddr,
    /// `CMS_API_URL`, default `http://127.0.0.1:8080`: where page JSON comes from.
    pub api_url: String,
    /// `REDIS_URL`, or `REDIS_SENTINELS` (`host:port,...`) with
    /// `REDIS_SENTINEL_SERVICE` (default `mymaster`). None of them means the
    /// in-process cache only.
    pub redis: Option<RedisEndpoint>,
    /// `CMS_REDIS_PREFIX`, default `cms:`: namespaces the shared cache keys.
    pub redis_prefix: String,
    /// `CMS_RENDERER_TRUSTED_PROXIES`: comma-separated proxy addresses whose
    /// `X-Forwarded-Host` and `X-Forwarded-For` are believed. Default none.
    pub trusted_proxies: Vec<IpAddr>,
    /// `CMS_RENDERER_PUBLIC_SCHEME`, default `https`: the scheme of canonical
    /// and hreflang URLs, sitemaps and the `Secure` cookie flag.
    pub public_scheme: String,
    /// `CMS_RENDERER_HSTS`, default off: send `Strict-Transport-Security`.
    pub hsts: bool,
    /// `CMS_RENDERER_TEMPLATES_DIR`: load templates from this directory
    /// (same file names as the embedded ones) instead of the binary.
    pub templates_dir: Option<PathBuf>,
    /// `CMS_RENDERER_SECRET`: key of CSP nonces and form submission ids; every node
    /// of a deployment needs the same one. Default: random per process.
    pub secret: Vec<u8>,
    /// `CMS_RENDERER_FRESH_SECS`, default 60: how long content from the API is
    /// used without asking it again (invalidation messages evict earlier).
    pub fresh_for: Duration,
    /// `CMS_RENDERER_API_TIMEOUT_MS`, default 2000: longest wait for the API.
    pub api_timeout: Duration,
    /// `CMS_RENDERER_CACHE_ENTRIES`, default 20000: page documents and
    /// rendered shells kept in memory (each); 0 turns caching them off. Site
    /// manifests (host -> site) are kept regardless, one per host.
    pub cache_entries: u64,
    /// `CMS_RENDERER_PREVIEW_ANCESTORS`: comma-separated origins (the
    /// editors' admin) allowed to show previews in a frame; every other page
    /// stays unframeable. Default none.
    pub preview_ancestors: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("{name} is not valid: {reason}")]
pub struct ConfigError {
    name: &'static str,
    reason: String,
}

fn parse<T: std::str::FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: &str,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    let raw = get(name).unwrap_or_else(|| default.to_owned());
    raw.trim().parse().map_err(|err: T::Err| ConfigError {
        name,
        reason: format!("{raw:?}: {err}"),
    })
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let trusted_proxies = get("CMS_RENDERER_TRUSTED_PROXIES")
            .map(|raw| {
                raw.split(',')
                    .map(str::trim)
                    .filter(|part| !part.is_empty())
                    .map(|part| {
                        part.parse()
                            .map_err(|err: std::net::AddrParseError| ConfigError {
                                name: "CMS_RENDERER_TRUSTED_PROXIES",
                                reason: format!("{part:?}: {err}"),
                            })
                    })
                    .collect::<Result<Vec<IpAddr>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        let public_scheme = get("CMS_RENDERER_PUBLIC_SCHEME").unwrap_or_else(|| "https".into());
        if public_scheme != "http" && public_scheme != "https" {
            return Err(ConfigError {
                name: "CMS_RENDERER_PUBLIC_SCHEME",
                reason: format!("{public_scheme:?}: must be http or https"),
            });
        }
        let secret = match get("CMS_RENDERER_SECRET") {
            Some(secret) if secret.len() >= 32 => secret.into_bytes(),
            Some(_) => {
                return Err(ConfigError {
                    name: "CMS_RENDERER_SECRET",
                    reason: "must be at least 32 characters".into(),
                })
            }
            None => {
                tracing::warn!("CMS_RENDERER_SECRET is not set: a random one is used, so each node's pages differ (nonces, submission ids) and a form sent twice through two nodes can make two leads");
                let bytes: [u8; 32] = rand::random();
                bytes.to_vec()
            }
        };
        let preview_ancestors = get("CMS_RENDERER_PREVIEW_ANCESTORS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|origin| !origin.is_empty())
            .map(|origin| {
                origin_only(origin).ok_or_else(|| ConfigError {
                    name: "CMS_RENDERER_PREVIEW_ANCESTORS",
                    reason: format!("{origin:?}: must be an origin like https://admin.example.com"),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Config {
            listen_addr: parse(&get, "CMS_RENDERER_ADDR", "127.0.0.1:8081")?,
            api_url: get("CMS_API_URL")
                .unwrap_or_else(|| "http://127.0.0.1:8080".to_owned())
                .trim_end_matches('/')
                .to_owned(),
            redis: RedisEndpoint::from_settings(get).map_err(|err| ConfigError {
                name: err.name,
                reason: err.reason,
            })?,
            redis_prefix: get("CMS_REDIS_PREFIX").unwrap_or_else(|| "cms:".to_owned()),
            trusted_proxies,
            public_scheme,
            hsts: parse(&get, "CMS_RENDERER_HSTS", "false")?,
            templates_dir: get("CMS_RENDERER_TEMPLATES_DIR").map(PathBuf::from),
            secret,
            fresh_for: Duration::from_secs(parse(&get, "CMS_RENDERER_FRESH_SECS", "60")?),
            api_timeout: Duration::from_millis(parse(&get, "CMS_RENDERER_API_TIMEOUT_MS", "2000")?),
            cache_entries: parse(&get, "CMS_RENDERER_CACHE_ENTRIES", "20000")?,
            preview_ancestors,
        })
    }
}

/// `origin` if it is exactly `http(s)://host[:port]` (it goes into a CSP
/// header, so nothing else may ride along).
fn origin_only(origin: &str) -> Option<String> {
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']');
    (!rest.is_empty() && rest.chars().all(allowed)).then(|| origin.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_ancestors_are_plain_origins() {
        let config = |value: &str| {
            Config::from_lookup(|name| {
                (name == "CMS_RENDERER_PREVIEW_ANCESTORS").then(|| value.to_owned())
            })
        };
        assert_eq!(
            config("http://127.0.0.1:8080, https://Admin.example.com")
                .unwrap()
                .preview_ancestors,
            vec!["http://127.0.0.1:8080", "https://admin.example.com"]
        );
        for bad in [
            "*",
            "admin.example.com",
            "https://a.example; script-src *",
            "https://a.example/x",
        ] {
            assert!(config(bad).is_err(), "{bad}");
        }
    }
}
