//! Authentication and authorization: password hashing, access and refresh
//! tokens, roles and who may grant them (`members`), login rate limits, and
//! the request extractors that carry who is calling (`AuthUser`, `TenantCtx`,
//! `PlatformAdmin`).

pub mod extract;
pub mod members;
pub mod password;
pub mod rate_limit;
pub mod roles;
pub mod session;
pub mod session_cookie;
pub mod tokens;
