//! Rules shared by the api and the renderer. No actix, no diesel: both services
//! (and external tools) can depend on it cheaply.

pub mod cache_key;
pub mod clinic;
pub mod delivery;
pub mod events;
pub mod experiments;
pub mod forwarded;
pub mod host;
pub mod media;
pub mod path;
pub mod problem;
pub mod redis_endpoint;
pub mod slots;
pub mod slug;
pub mod stats;
