//! The delivery API as the renderer sees it: conditional GETs of published
//! JSON and lead forwarding. Every call is bounded by the configured timeout;
//! anything but an answer from a healthy API is `Unavailable`.

use std::time::Duration;

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
        })
    }

    /// GET `path`, revalidating `etag` if given.
    pub async fn get(&self, path: &str, etag: Option<&str>) -> Result<Answer, Unavailable> {
        let mut request = self.client.get(format!("{}{path}", self.base));
        if let Some(etag) = etag {
            request = request.header(header::IF_NONE_MATCH, etag);
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

    /// POST with the answer's status and JSON body (`Null` when not JSON).
    pub async fn post_json_answer(
        &self,
        path: &str,
        body: &serde_json::Value,
        idempotency_key: &str,
    ) -> Result<(u16, serde_json::Value), Unavailable> {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("idempotency-key", idempotency_key)
            .json(body)
            .send()
            .await
            .map_err(|err| Unavailable(err.to_string()))?;
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(serde_json::Value::Null);
        Ok((status, body))
    }
}
