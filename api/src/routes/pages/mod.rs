//! `/api/v1/sites/{site}/pages`, `/api/v1/pages/{id}` and its blocks,
//! publishing, revisions and preview tokens. Every content change bumps the
//! page's version (its ETag), so `If-Match` on the page guards the whole draft.

mod blocks;
mod crud;
mod preview;
mod publishing;
mod revisions;

use serde::Serialize;
use utoipa::ToSchema;

use crate::db::pages::{Page, Revision};

use blocks::{add_block, delete_block, list_blocks, reorder_blocks, update_block};
use crud::{create_page, delete_page, get_page, list_pages, update_page};
use preview::preview_token;
use publishing::{publish_page, unpublish_page};
use revisions::{list_revisions, restore_revision};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_pages)
        .service(create_page)
        .service(get_page)
        .service(update_page)
        .service(delete_page)
        .service(list_blocks)
        .service(add_block)
        .service(reorder_blocks)
        .service(update_block)
        .service(delete_block)
        .service(publish_page)
        .service(unpublish_page)
        .service(list_revisions)
        .service(restore_revision)
        .service(preview_token);
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublishResponse {
    pub page: Page,
    /// The revision made live (absent when scheduled).
    pub revision: Option<Revision>,
}
