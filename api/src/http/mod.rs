//! HTTP plumbing shared by every route: typed JSON bodies, pagination,
//! ETag/If-Match, request ids and metrics, hostile values in the request line,
//! read-your-writes positions.

pub mod consistency;
pub mod cors;
pub mod etag;
pub mod hostile;
pub mod json;
pub mod metrics;
pub mod pagination;
pub mod request_id;
pub mod spec;

/// The client's address: the peer, or what a trusted proxy
/// (`CMS_TRUSTED_PROXIES`) says in `X-Forwarded-For`.
pub fn client_ip(
    req: &actix_web::HttpRequest,
    config: &crate::config::Config,
) -> Option<std::net::IpAddr> {
    let peer = req.peer_addr()?.ip();
    let forwarded = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|value| value.to_str().ok());
    Some(cms_shared::forwarded::client_ip(
        peer,
        forwarded,
        &config.trusted_proxies,
    ))
}
