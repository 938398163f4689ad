//! Optimistic concurrency: single resources answer `ETag: "v<version>"`, and
//! writes carrying `If-Match` succeed only while the version is unchanged, so two
//! editors never silently overwrite each other.

use std::future::{ready, Ready};

use actix_web::http::header;
use actix_web::{dev::Payload, FromRequest, HttpRequest, HttpResponse};
use serde::Serialize;

use crate::error::ApiError;

pub fn etag_for(version: i32) -> String {
    format!("\"v{version}\"")
}

/// 200 with the body and its `ETag`.
pub fn ok_with_etag<T: Serialize>(version: i32, body: &T) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag_for(version)))
        .json(body)
}

/// 201 with the body, its `ETag` and `Location`.
pub fn created_with_etag<T: Serialize>(location: String, version: i32, body: &T) -> HttpResponse {
    HttpResponse::Created()
        .insert_header((header::ETAG, etag_for(version)))
        .insert_header((header::LOCATION, location))
        .json(body)
}

/// The `If-Match` header of a write, if any.
#[derive(Debug, Clone, Default)]
pub struct IfMatch(Option<Vec<String>>);

impl IfMatch {
    /// Fails with 412 when the header is present and names no current version.
    pub fn check(&self, current_version: i32) -> Result<(), ApiError> {
        let Some(tags) = &self.0 else {
            return Ok(());
        };
        let current = etag_for(current_version);
        if tags.iter().any(|tag| tag == "*" || *tag == current) {
            Ok(())
        } else {
            Err(ApiError::PreconditionFailed)
        }
    }
}

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let values: Vec<String> = req
            .headers()
            .get_all(header::IF_MATCH)
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(|tag| tag.trim().to_owned())
            .filter(|tag| !tag.is_empty())
            .collect();
        ready(Ok(IfMatch(if values.is_empty() {
            None
        } else {
            Some(values)
        })))
    }
}

/// A strong ETag naming these bytes (public answers that have no version).
pub fn content_etag(body: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!("\"{}\"", hex::encode(&Sha256::digest(body)[..12]))
}

/// Whether the request's `If-None-Match` names `etag` (or `*`).
pub fn if_none_match(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == etag || tag == "*")
}

/// 304 when the client has these bytes, else 200 with them; `ETag` and
/// `Cache-Control` either way.
pub fn json_with_content_etag(
    req: &HttpRequest,
    body: actix_web::web::Bytes,
    etag: &str,
    cache_control: &'static str,
) -> HttpResponse {
    let not_modified = if_none_match(req, etag);
    let mut response = if not_modified {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, etag.to_owned()))
        .insert_header((header::CACHE_CONTROL, cache_control));
    if not_modified {
        return response.finish();
    }
    response.content_type("application/json").body(body)
}

/// The request's `Idempotency-Key`: retries carrying the same key do the
/// work once. 422 when present but empty or longer than 200 characters.
pub fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    req.headers()
        .get("idempotency-key")
        .map(|value| {
            value
                .to_str()
                .ok()
                .map(str::trim)
                .filter(|key| !key.is_empty() && key.len() <= 200)
                .map(str::to_owned)
                .ok_or_else(|| {
                    ApiError::invalid("Idempotency-Key", "must be 1 to 200 visible characters")
                })
        })
        .transpose()
}

/// A public JSON answer with a content ETag (304 on a match) and a short
/// shared cache lifetime, like other delivery responses.
pub fn public_json<T: Serialize>(req: &HttpRequest, body: &T) -> HttpResponse {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let etag = content_etag(&bytes);
    json_with_content_etag(
        req,
        bytes.into(),
        &etag,
        "public, max-age=30, stale-while-revalidate=60",
    )
}
