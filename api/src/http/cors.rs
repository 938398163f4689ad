//! CORS for browser clients, by the `actix-cors` middleware. Public endpoints
//! (delivery, JWKS, the spec) answer any origin, without credentials;
//! management endpoints answer only `CMS_ADMIN_ORIGINS` plus the origins a
//! tenant allows in its settings. A preflight carries no token, so the
//! tenants' origins are checked as one set, kept in memory and reloaded every
//! `CMS_CORS_REFRESH_SECS` (and at once on the node that changed them). An
//! origin not allowed gets no CORS headers: the browser blocks the answer.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use actix_cors::Cors;
use actix_web::http::{header, Method};

use crate::db::{Db, Scope};

/// Headers a browser app may send to the api.
const ALLOWED_HEADERS: [&str; 7] = [
    "authorization",
    "x-cms-wal-position",
    "content-type",
    "if-match",
    "if-none-match",
    "idempotency-key",
    "accept",
];
/// Headers a browser app may read from the api's answers.
const EXPOSED_HEADERS: [&str; 6] = [
    "etag",
    "x-cms-wal-position",
    "cache-control",
    "retry-after",
    "x-request-id",
    "location",
];
/// How long a browser may reuse a preflight answer (Chromium caps it at 2 h).
const PREFLIGHT_MAX_AGE_SECS: usize = 7200;

/// Paths any origin may read: published content and what verifies tokens.
pub fn is_public_path(path: &str) -> bool {
    path.starts_with("/api/v1/delivery/")
        || path == "/api/v1/auth/jwks.json"
        || path == "/api/v1/openapi.json"
}

/// `scheme://host[:port]`, lowercased: the form browsers send in `Origin`.
pub fn parse_origin(value: &str) -> Result<String, String> {
    let lower = value.trim().to_ascii_lowercase();
    let Some((scheme, rest)) = lower.split_once("://") else {
        return Err("must be an origin such as https://admin.example.com".into());
    };
    if scheme != "http" && scheme != "https" {
        return Err("must start with http:// or https://".into());
    }
    // The port follows the last colon, unless that colon is inside an IPv6 literal.
    let (host, port) = match rest.rfind(':') {
        Some(at) if !rest[at..].contains(']') => (&rest[..at], Some(&rest[at + 1..])),
        _ => (rest, None),
    };
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'[' | b']' | b':'));
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    if !host_ok || !port_ok {
        return Err("must be scheme://host[:port] with no path, query or credentials".into());
    }
    Ok(lower)
}

/// The origins allowed on management endpoints.
#[derive(Clone, Default)]
pub struct AllowedOrigins {
    admin: Arc<HashSet<String>>,
    tenants: Arc<RwLock<Arc<HashSet<String>>>>,
}

impl AllowedOrigins {
    pub fn new(admin_origins: &[String]) -> Self {
        AllowedOrigins {
            admin: Arc::new(admin_origins.iter().cloned().collect()),
            tenants: Arc::default(),
        }
    }

    pub fn allows(&self, origin: &str) -> bool {
        if self.admin.contains(origin) {
            return true;
        }
        let tenants = match self.tenants.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        };
        tenants.contains(origin)
    }

    /// Reads every active tenant's origins again.
    pub async fn reload(&self, db: &Db) -> Result<(), crate::error::ApiError> {
        let origins = db
            .tx(Scope::global(), |conn| {
                Ok(crate::db::tenants::all_allowed_origins(conn)?)
            })
            .await?;
        let fresh = Arc::new(origins.into_iter().collect::<HashSet<_>>());
        match self.tenants.write() {
            Ok(mut guard) => *guard = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
        Ok(())
    }

    /// Reloads now and then every `every`, for as long as the process runs.
    pub fn spawn_refresh(&self, db: Db, every: Duration) -> tokio::task::JoinHandle<()> {
        let origins = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(err) = origins.reload(&db).await {
                    tracing::warn!(error = %err, "cannot reload tenants' allowed origins");
                }
                tokio::time::sleep(every).await;
            }
        })
    }

    /// The middleware for one actix worker.
    pub fn middleware(&self) -> Cors {
        let origins = self.clone();
        Cors::default()
            .allowed_origin_fn(move |origin, head| {
                is_public_path(head.uri.path())
                    || origin.to_str().is_ok_and(|origin| origins.allows(origin))
            })
            .allowed_methods([
                Method::GET,
                Method::HEAD,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allowed_headers(ALLOWED_HEADERS.map(header::HeaderName::from_static))
            .expose_headers(EXPOSED_HEADERS.map(header::HeaderName::from_static))
            .max_age(PREFLIGHT_MAX_AGE_SECS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_parse_to_the_form_browsers_send() {
        assert_eq!(
            parse_origin("HTTPS://Admin.Example.com").unwrap(),
            "https://admin.example.com"
        );
        assert_eq!(
            parse_origin("http://127.0.0.1:5173").unwrap(),
            "http://127.0.0.1:5173"
        );
        for bad in [
            "admin.example.com",
            "ftp://x.example",
            "https://x.example/path",
            "https://user@x.example",
            "https://x.example:port",
            "https://",
            "https://x.example?q",
        ] {
            assert!(parse_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn public_paths_are_delivery_jwks_and_the_spec_only() {
        assert!(is_public_path("/api/v1/delivery/sites/x/pages"));
        assert!(is_public_path("/api/v1/auth/jwks.json"));
        assert!(!is_public_path("/api/v1/auth/login"));
        assert!(!is_public_path("/api/v1/sites"));
    }
}
