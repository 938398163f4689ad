//! The delivery API as the renderer sees it: conditional GETs of published
//! JSON and lead forwarding. Every call is bounded by the configured timeout;
//! anything but an answer from a healthy API is `Unavailable`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::web::Bytes;
use reqwest::{header, StatusCode};

pub enum Answer {
    Changed { etag: Option<String>, body: Bytes },
    NotModified,
    NotFound,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("the API is unavailable: {0}")]
pub struct Unavailable(pub String);

#[derive(Clone)]
pub struct Upstream {
    client: reqwest::Client,
    base: String,
    /// WAL positions of recent invalidations, by site id and host: the api
    /// answers GETs about them from a replica only once it has replayed the
    /// change (read replicas), so a refill never brings back the old page.
    wanted: Arc<Mutex<HashMap<String, (String, Instant)>>>,
}

/// How long a change's position is sent along: past it every replica
/// serving reads has replayed it (the api's lag bound is 5 s by default).
const WANTED_FOR: Duration = Duration::from_secs(60);

/// The site id or host a delivery path is about.
fn subject_of(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/api/v1/delivery/sites/")?;
    let rest = rest.strip_prefix("by-host/").unwrap_or(rest);
    rest.split(['/', '?'])
        .next()
        .filter(|subject| !subject.is_empty())
}

impl Upstream {
    pub fn new(base: &str, timeout: Duration) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .pool_max_idle_per_host(64)
            .build()?;
        Ok(Upstream {
            client,
            base: base.to_owned(),
            wanted: Arc::default(),
        })
    }

    /// GETs about `subject` (a site id or host) ask for at least `position`
    /// for a while.
    pub fn want(&self, subject: &str, position: &str) {
        if let Ok(mut wanted) = self.wanted.lock() {
            let now = Instant::now();
            wanted.retain(|_, (_, since)| now.duration_since(*since) < WANTED_FOR);
            wanted.insert(subject.to_owned(), (position.to_owned(), now));
        }
    }

    fn wanted_position(&self, path: &str) -> Option<String> {
        let subject = subject_of(path)?;
        let wanted = self.wanted.lock().ok()?;
        let (position, since) = wanted.get(subject)?;
        (since.elapsed() < WANTED_FOR).then(|| position.clone())
    }

    /// GET `path`, revalidating `etag` if given.
    pub async fn get(&self, path: &str, etag: Option<&str>) -> Result<Answer, Unavailable> {
        let mut request = self.client.get(format!("{}{path}", self.base));
        if let Some(etag) = etag {
            request = request.header(header::IF_NONE_MATCH, etag);
        }
        if let Some(position) = self.wanted_position(path) {
            request = request.header("x-cms-wal-position", position);
        }
        let response = request
            .send()
            .await
            .map_err(|err| Unavailable(err.to_string()))?;
        match response.status() {
            StatusCode::NOT_MODIFIED => Ok(Answer::NotModified),
            StatusCode::NOT_FOUND => Ok(Answer::NotFound),
            status if status.is_success() => {
                let etag = response
                    .headers()
                    .get(header::ETAG)
                    .and_then(|value| value.to_str().ok())
                    .map(str::to_owned);
                let body = response
                    .bytes()
                    .await
                    .map_err(|err| Unavailable(err.to_string()))?;
                Ok(Answer::Changed { etag, body })
            }
            status => Err(Unavailable(format!("GET {path} answered {status}"))),
        }
    }

    /// GET `path` with the given request headers, answering the status, the
    /// headers and the whole body (media objects: a few hundred KB at most).
    pub async fn get_raw(
        &self,
        path: &str,
        headers: header::HeaderMap,
    ) -> Result<(StatusCode, header::HeaderMap, Bytes), Unavailable> {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .headers(headers)
            .send()
            .await
            .map_err(|err| Unavailable(err.to_string()))?;
        let (status, headers) = (response.status(), response.headers().clone());
        let body = response
            .bytes()
            .await
            .map_err(|err| Unavailable(err.to_string()))?;
        Ok((status, headers, body))
    }

    /// GET `path` uncached: the status and the JSON body (`Null` when not JSON).
    pub async fn get_json(&self, path: &str) -> Result<(u16, serde_json::Value), Unavailable> {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .map_err(|err| Unavailable(err.to_string()))?;
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(serde_json::Value::Null);
        Ok((status, body))
    }

    /// POST a JSON body; answers the status code and the JSON answer (`Null`
    /// when not JSON).
    pub async fn post_plain(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<(u16, serde_json::Value), Unavailable> {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .map_err(|err| Unavailable(err.to_string()))?;
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(serde_json::Value::Null);
        Ok((status, body))
    }

    /// POST a JSON body with an `Idempotency-Key`; answers the status code.
    pub async fn post_json(
        &self,
        path: &str,
        body: &serde_json::Value,
        idempotency_key: &str,
    ) -> Result<u16, Unavailable> {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("idempotency-key", idempotency_key)
            .json(body)
            .send()
            .await
            .map_err(|err| Unavailable(err.to_string()))?;
        Ok(response.status().as_u16())
    }

    /// POST with the answer's status and JSON body (`Null` when not JSON),
    /// for `visitor` (sent as `X-Forwarded-For`: the api counts its per-address
    /// limits by the visitor, not by this node, when it trusts this node).
    pub async fn post_json_answer(
        &self,
        path: &str,
        body: &serde_json::Value,
        idempotency_key: &str,
        visitor: Option<std::net::IpAddr>,
    ) -> Result<(u16, serde_json::Value), Unavailable> {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("idempotency-key", idempotency_key);
        if let Some(visitor) = visitor {
            request = request.header("x-forwarded-for", visitor.to_string());
        }
        let response = request
            .json(body)
            .send()
            .await
            .map_err(|err| Unavailable(err.to_string()))?;
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(serde_json::Value::Null);
        Ok((status, body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_site_s_documents_ask_for_its_position() {
        assert_eq!(
            subject_of("/api/v1/delivery/sites/by-host/alpha.localhost"),
            Some("alpha.localhost")
        );
        assert_eq!(
            subject_of("/api/v1/delivery/sites/abc/pages?path=/"),
            Some("abc")
        );
        assert_eq!(
            subject_of("/api/v1/delivery/sites/abc/sitemap"),
            Some("abc")
        );
        assert_eq!(subject_of("/api/v1/media/x"), None);
        let _ = rustls::crypto::ring::default_provider().install_default();
        let upstream = Upstream::new("http://127.0.0.1:1", Duration::from_secs(1)).unwrap();
        upstream.want("abc", "0/3000060");
        assert_eq!(
            upstream
                .wanted_position("/api/v1/delivery/sites/abc/pages?path=/")
                .as_deref(),
            Some("0/3000060")
        );
        assert_eq!(
            upstream.wanted_position("/api/v1/delivery/sites/other/sitemap"),
            None
        );
    }
}
