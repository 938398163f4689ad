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
