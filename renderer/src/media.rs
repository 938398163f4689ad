//! `/media/...` on the site's own origin: the api's media objects passed
//! through (range and revalidation headers both ways), so a page's images
//! need no second origin and the CSP's `img-src 'self'` holds. The objects
//! are content-addressed and immutable: browsers and a CDN in front keep
//! them for a year; a deployment with a CDN for media sets the api's
//! `CMS_MEDIA_BASE_URL` to it and this route sees no traffic.

use actix_web::http::header::{self, HeaderName};
use actix_web::{get, web, HttpRequest, HttpResponse};

use crate::state::RendererState;

/// Request headers passed to the api.
const FORWARDED: [HeaderName; 3] = [header::RANGE, header::IF_NONE_MATCH, header::IF_RANGE];
/// Response headers passed back to the browser.
const RETURNED: [HeaderName; 8] = [
    header::CONTENT_TYPE,
    header::CONTENT_RANGE,
    header::ACCEPT_RANGES,
    header::ETAG,
    header::CACHE_CONTROL,
    header::LAST_MODIFIED,
    header::X_CONTENT_TYPE_OPTIONS,
    header::CONTENT_SECURITY_POLICY,
];

#[get("/media/{tenant}/{sha256}/{variant}")]
pub async fn media_file(
    req: HttpRequest,
    state: web::Data<RendererState>,
    path: web::Path<(String, String, String)>,
) -> HttpResponse {
    let (tenant, sha256, variant) = path.into_inner();
    // Only names the api could answer: nothing else reaches it from here.
    let plain = |part: &str, extra: &[u8]| {
        !part.is_empty()
            && part.len() <= 128
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
    };
    if !(plain(&tenant, b"-") && plain(&sha256, b"") && plain(&variant, b"_-.")) {
        return HttpResponse::NotFound().finish();
    }
    let mut headers = reqwest::header::HeaderMap::new();
    for name in FORWARDED {
        if let Some(value) = req.headers().get(&name) {
            if let Ok(value) = reqwest::header::HeaderValue::from_bytes(value.as_bytes()) {
                if let Ok(name) = reqwest::header::HeaderName::from_bytes(name.as_str().as_bytes())
                {
                    headers.insert(name, value);
                }
            }
        }
    }
    let answer = state
        .documents
        .upstream()
        .get_raw(&format!("/media/{tenant}/{sha256}/{variant}"), headers)
        .await;
    let (status, upstream_headers, body) = match answer {
        Ok(answer) => answer,
        Err(err) => {
            tracing::warn!(error = %err, "media file unavailable");
            return HttpResponse::ServiceUnavailable()
                .insert_header((header::RETRY_AFTER, "5"))
                .finish();
        }
    };
    let status = actix_web::http::StatusCode::from_u16(status.as_u16())
        .unwrap_or(actix_web::http::StatusCode::BAD_GATEWAY);
    let mut response = HttpResponse::build(status);
    for name in RETURNED {
        if let Some(value) = upstream_headers.get(name.as_str()) {
            if let Ok(value) = header::HeaderValue::from_bytes(value.as_bytes()) {
                response.insert_header((name, value));
            }
        }
    }
    response.body(body)
}
