//! A page's blocks in order: adding one at a position (later ones move down),
//! changing props, removing one (the rest close up) and reordering them all.
//! Positions stay 0, 1, 2... without gaps. Every change locks the page first
//! and bumps its version, so `If-Match` on the page guards the whole draft.

use chrono::Utc;
use diesel::PgConnection;
use serde_json::Value;
use uuid::Uuid;

use super::modules as module_rules;
use crate::db::audit::Audit;
use crate::db::pages::{self, Block, BlockChanges, Page};
use crate::error::ApiError;
use crate::http::etag::IfMatch;

/// Props checked against the module's schema, and their media references
/// against the tenant's library (and alt text).
fn checked_props(conn: &mut PgConnection, schema: &Value, props: Value) -> Result<Value, ApiError> {
    let props = module_rules::validate_props(schema, props)?;
    let errors = crate::media::resolve::check_block_props(conn, &props, "props")?;
    if errors.is_empty() {
        Ok(props)
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// Adds a block of module `module_key` with `props` (checked against the module's
/// schema) at `position`: by default, and at most, the end. Answers the block
/// and the page after.
pub fn add(
    conn: &mut PgConnection,
    audit: &Audit,
    page_id: Uuid,
    if_match: &IfMatch,
    module_key: String,
    props: Value,
    position: Option<i32>,
) -> Result<(Block, Page), ApiError> {
    let page = pages::lock(conn, page_id)?.ok_or(ApiError::NotFound)?;
    if_match.check(page.version)?;
    let module = module_rules::resolve(conn, &module_key)?;
    let props = checked_props(conn, &module.props_schema, props)?;
    let existing = pages::blocks(conn, page_id)?;
    let end = existing.len() as i32;
    let position = position.map_or(end, |p| p.min(end));
    for later in existing.iter().filter(|b| b.position >= position) {
        pages::set_block_position(conn, later.id, later.position + 1)?;
    }
    let now = Utc::now();
    let block = pages::insert_block(
        conn,
        &Block {
            id: Uuid::now_v7(),
            tenant_id: page.tenant_id,
            page_id,
            position,
            module_key,
            props,
            version: 1,
            created_at: now,
            updated_at: now,
            hidden: false,
        },
    )?;
    audit.created(conn, "block", block.id, &block)?;
    Ok((block, pages::touch(conn, page_id)?))
}

/// Replaces a block's props (checked against its module's schema).
pub fn update(
    conn: &mut PgConnection,
    audit: &Audit,
    page_id: Uuid,
    block_id: Uuid,
    if_match: &IfMatch,
    props: Option<Value>,
    hidden: Option<bool>,
) -> Result<Block, ApiError> {
    pages::lock(conn, page_id)?.ok_or(ApiError::NotFound)?;
    let before = pages::find_block(conn, page_id, block_id)?.ok_or(ApiError::NotFound)?;
    if_match.check(before.version)?;
    let props = match props {
        Some(props) => {
            let module = module_rules::resolve(conn, &before.module_key)?;
            Some(checked_props(conn, &module.props_schema, props)?)
        }
        None => None,
    };
    let after = pages::update_block(conn, block_id, &BlockChanges { props, hidden })?;
    audit.updated(conn, "block", block_id, &before, &after)?;
    pages::touch(conn, page_id)?;
    Ok(after)
}

/// Removes a block; the blocks after it move up.
pub fn delete(
    conn: &mut PgConnection,
    audit: &Audit,
    page_id: Uuid,
    block_id: Uuid,
) -> Result<(), ApiError> {
    pages::lock(conn, page_id)?.ok_or(ApiError::NotFound)?;
    let before = pages::find_block(conn, page_id, block_id)?.ok_or(ApiError::NotFound)?;
    pages::delete_block(conn, block_id)?;
    for (position, block) in pages::blocks(conn, page_id)?.iter().enumerate() {
        pages::set_block_position(conn, block.id, position as i32)?;
    }
    audit.deleted(conn, "block", block_id, &before)?;
    pages::touch(conn, page_id)?;
    Ok(())
}

/// Puts the page's blocks in `order`, which must list every block of the
/// page exactly once (422 otherwise). Answers the blocks and the page after.
pub fn reorder(
    conn: &mut PgConnection,
    audit: &Audit,
    page_id: Uuid,
    if_match: &IfMatch,
    order: Vec<Uuid>,
) -> Result<(Vec<Block>, Page), ApiError> {
    let before = pages::lock(conn, page_id)?.ok_or(ApiError::NotFound)?;
    if_match.check(before.version)?;
    let current: Vec<Uuid> = pages::blocks(conn, page_id)?.iter().map(|b| b.id).collect();
    let mut known = current.clone();
    let mut wanted = order.clone();
    known.sort();
    wanted.sort();
    if known != wanted {
        return Err(ApiError::invalid(
            "block_ids",
            "must list every block of the page exactly once",
        ));
    }
    for (position, id) in order.iter().enumerate() {
        pages::set_block_position(conn, *id, position as i32)?;
    }
    let after = pages::touch(conn, page_id)?;
    audit.event(
        conn,
        "page",
        "reorder",
        page_id,
        Some(&current),
        Some(&order),
    )?;
    Ok((pages::blocks(conn, page_id)?, after))
}
