//! The api service of the landing CMS: `/api/v1` over actix-web, PostgreSQL
//! through diesel with row-level security per tenant, Redis for shared state.

pub mod app;
pub mod auth;
pub mod blocking;
pub mod clinic;
pub mod config;
pub mod content;
pub mod db;
pub mod error;
pub mod experiments;
pub mod http;
pub mod jobs;
pub mod kv;
pub mod media;
pub mod notifications;
pub mod outbound;
pub mod routes;
pub mod secrets;
pub mod seed;
pub mod state;
pub mod telemetry;
pub mod webhooks;

pub use app::{openapi, Application};
pub use config::Config;
