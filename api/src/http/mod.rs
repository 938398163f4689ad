//! HTTP plumbing shared by every route: typed JSON bodies, pagination,
//! ETag/If-Match, request ids and metrics.

pub mod cors;
pub mod etag;
pub mod json;
pub mod metrics;
pub mod pagination;
pub mod request_id;
pub mod spec;
