//! `/media/{tenant}/{sha256}/{variant}`: the bytes of media renditions, for
//! browsers. Content-addressed (new bytes or settings, new URL), so cached
//! for a year as immutable; one range per request; never the uploaded
//! original (it keeps the uploader's metadata). The URL holds the SHA-256 of
//! the upload: it cannot be guessed without the image itself, and nothing
//! lists a tenant's objects.

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use uuid::Uuid;

use crate::error::{ApiError, Problem};
use crate::http::etag::if_none_match;
use crate::media::storage::MediaKey;
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(media_file);
}

fn content_type(variant: &str) -> Option<&'static str> {
    let (_, extension) = variant.rsplit_once('.')?;
    match extension {
        "webp" => Some("image/webp"),
        "avif" => Some("image/avif"),
        "jpg" => Some("image/jpeg"),
        "png" => Some("image/png"),
        // Sanitised at upload; the CSP below keeps scripts off regardless.
        "svg" => Some("image/svg+xml"),
        _ => None,
    }
}

/// A `Range: bytes=...` header of one range, against an object of `size`
/// bytes: `Ok(None)` for none (or one we ignore, as RFC 9110 allows),
/// `Err(())` when it cannot be satisfied.
fn parse_range(value: &str, size: u64) -> Result<Option<std::ops::Range<u64>>, ()> {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((start, end)) = spec.split_once('-') else {
        return Ok(None);
    };
    let (start, end) = (start.trim(), end.trim());
    let range = if start.is_empty() {
        let suffix: u64 = end.parse().map_err(|_| ())?;
        if suffix == 0 {
            return Err(());
        }
        size.saturating_sub(suffix)..size
    } else {
        let start: u64 = start.parse().map_err(|_| ())?;
        let end: u64 = if end.is_empty() {
            size.saturating_sub(1)
        } else {
            end.parse::<u64>()
                .map_err(|_| ())?
                .min(size.saturating_sub(1))
        };
        if start >= size || end < start {
            return Err(());
        }
        start..end + 1
    };
    Ok(Some(range))
}

/// A rendition's bytes (public: the URL is the capability).
#[utoipa::path(
    tag = "media",
    params(
        ("tenant" = Uuid, Path),
        ("sha256" = String, Path, description = "SHA-256 of the upload (hex)"),
        ("variant" = String, Path, description = "A rendition's name, e.g. `3fa2c1d0_w640.webp`"),
    ),
    responses(
        (status = 200, description = "The rendition; immutable", content_type = "image/*"),
        (status = 206, description = "One range of it"),
        (status = 304, description = "Not modified"),
        (status = 404, body = Problem),
        (status = 416, description = "The range lies outside the object"),
    )
)]
#[get("/media/{tenant}/{sha256}/{variant}")]
async fn media_file(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, sha256, variant) = path.into_inner();
    let mime = content_type(&variant).ok_or(ApiError::NotFound)?;
    let key = MediaKey {
        tenant,
        sha256,
        variant,
    };
    let etag = format!(
        "\"{}-{}\"",
        &key.sha256.get(..16).unwrap_or_default(),
        key.variant
    );
    let immutable = "public, max-age=31536000, immutable";
    if if_none_match(&req, &etag) {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .insert_header((header::CACHE_CONTROL, immutable))
            .finish());
    }
    let storage = |err: crate::media::storage::StorageError| match err {
        crate::media::storage::StorageError::BadVariant(_) => ApiError::NotFound,
        other => ApiError::Unavailable(other.to_string()),
    };
    let requested = req
        .headers()
        .get(header::RANGE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let mut response;
    let body = match requested {
        None => {
            let (bytes, _) = state
                .media
                .read(&key, None)
                .await
                .map_err(storage)?
                .ok_or(ApiError::NotFound)?;
            response = HttpResponse::Ok();
            bytes
        }
        Some(range) => {
            let size = state
                .media
                .size(&key)
                .await
                .map_err(storage)?
                .ok_or(ApiError::NotFound)?;
            match parse_range(&range, size) {
                Err(()) => {
                    return Ok(HttpResponse::RangeNotSatisfiable()
                        .insert_header((header::CONTENT_RANGE, format!("bytes */{size}")))
                        .finish())
                }
                Ok(None) => {
                    let (bytes, _) = state
                        .media
                        .read(&key, None)
                        .await
                        .map_err(storage)?
                        .ok_or(ApiError::NotFound)?;
                    response = HttpResponse::Ok();
                    bytes
                }
                Ok(Some(range)) => {
                    let (bytes, _) = state
                        .media
                        .read(&key, Some(range.clone()))
                        .await
                        .map_err(storage)?
                        .ok_or(ApiError::NotFound)?;
                    response = HttpResponse::PartialContent();
                    response.insert_header((
                        header::CONTENT_RANGE,
                        format!("bytes {}-{}/{size}", range.start, range.end - 1),
                    ));
                    bytes
                }
            }
        }
    };
    Ok(response
        .content_type(mime)
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, immutable))
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header(("Cross-Origin-Resource-Policy", "cross-origin"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; sandbox",
        ))
        .body(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_read_as_rfc_9110_says() {
        assert_eq!(parse_range("bytes=0-9", 100), Ok(Some(0..10)));
        assert_eq!(parse_range("bytes=90-", 100), Ok(Some(90..100)));
        assert_eq!(parse_range("bytes=-10", 100), Ok(Some(90..100)));
        assert_eq!(parse_range("bytes=95-200", 100), Ok(Some(95..100)));
        assert_eq!(parse_range("bytes=100-", 100), Err(()));
        assert_eq!(parse_range("bytes=5-1", 100), Err(()));
        assert_eq!(parse_range("bytes=0-1,5-6", 100), Ok(None));
        assert_eq!(parse_range("items=0-1", 100), Ok(None));
    }
}
