//! Content services shared by routes, jobs and the CLI: the module
//! library and props validation, a page's blocks in order, publishing (snapshots, revisions), the
//! delivery cache with its invalidation, and site export/import/clone.
//! Invalidation lives here, not in handlers, so every path that publishes
//! (editors, publish jobs, clone) invalidates the same way.

pub mod blocks;
pub mod builtin;
pub mod cache;
pub mod demo;
pub mod modules;
pub mod publish;
pub mod transfer;
