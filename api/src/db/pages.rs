//! Queries on `pages`, `page_blocks` and `page_revisions` (all tenant-owned).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::schema::{page_blocks, page_revisions, pages};
use crate::db::cursor::PageRequest;

crate::db_enum! {
    /// Where a page stands: only `published` pages answer on delivery;
    /// `scheduled` ones go live at their `publish_at`.
    pub enum PageStatus {
        Draft = "draft",
        Published = "published",
        Scheduled = "scheduled",
        Archived = "archived",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, ToSchema)]
#[diesel(table_name = pages)]
pub struct Page {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub site_id: Uuid,
    pub locale: String,
    /// Normalised: leading slash, no trailing slash (except `/`), lowercase.
    pub path: String,
    pub title: String,
    /// `meta_title`, `meta_description`, `canonical`, `og_image`, `noindex`.
    #[schema(value_type = HashMap<String, serde_json::Value>)]
    pub seo: Value,
    /// `draft`, `published`, `scheduled` or `archived`.
    pub status: PageStatus,
    pub publish_at: Option<DateTime<Utc>>,
    pub published_revision_id: Option<Uuid>,
    pub published_at: Option<DateTime<Utc>>,
    /// Where the live revision answers (may differ from a moved draft).
    pub published_locale: Option<String>,
    pub published_path: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(AsChangeset, Default)]
#[diesel(table_name = pages)]
pub struct PageChanges {
    pub locale: Option<String>,
    pub path: Option<String>,
    pub title: Option<String>,
    pub seo: Option<Value>,
    pub status: Option<PageStatus>,
    pub publish_at: Option<Option<DateTime<Utc>>>,
    pub published_revision_id: Option<Option<Uuid>>,
    pub published_at: Option<Option<DateTime<Utc>>>,
    pub published_locale: Option<Option<String>>,
    pub published_path: Option<Option<String>>,
}

/// Filters of the page list.
#[derive(Debug, Clone, Default)]
pub struct PageFilter {
    pub status: Option<PageStatus>,
    pub locale: Option<String>,
    pub path_prefix: Option<String>,
    pub updated_since: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, ToSchema)]
#[diesel(table_name = page_blocks)]
pub struct Block {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub page_id: Uuid,
    pub position: i32,
    /// Key of a built-in or custom module.
    #[serde(rename = "module")]
    pub module_key: String,
    #[schema(value_type = HashMap<String, serde_json::Value>)]
    pub props: Value,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Kept in the draft but left out of previews and what gets published.
    pub hidden: bool,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, ToSchema)]
#[diesel(table_name = page_revisions)]
pub struct Revision {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub page_id: Uuid,
    /// 1, 2, 3... per page.
    pub number: i32,
    /// The delivery JSON as published.
    #[schema(value_type = HashMap<String, serde_json::Value>)]
    pub snapshot: Value,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

pub fn list(
    conn: &mut PgConnection,
    site_id: Uuid,
    filter: &PageFilter,
    page: &PageRequest,
) -> QueryResult<Vec<Page>> {
    let mut query = pages::table
        .filter(pages::site_id.eq(site_id))
        .select(Page::as_select())
        .order(pages::id)
        .limit(page.fetch_limit())
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(pages::id.gt(after));
    }
    if let Some(status) = filter.status {
        query = query.filter(pages::status.eq(status));
    }
    if let Some(locale) = &filter.locale {
        query = query.filter(pages::locale.eq(locale.clone()));
    }
    if let Some(prefix) = &filter.path_prefix {
        let escaped = prefix
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        query = query.filter(pages::path.like(format!("{escaped}%")));
    }
    if let Some(since) = filter.updated_since {
        query = query.filter(pages::updated_at.ge(since));
    }
    query.load(conn)
}

pub fn all_for_site(conn: &mut PgConnection, site_id: Uuid) -> QueryResult<Vec<Page>> {
    pages::table
        .filter(pages::site_id.eq(site_id))
        .select(Page::as_select())
        .order(pages::id)
        .load(conn)
}

pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Page>> {
    pages::table
        .find(id)
        .select(Page::as_select())
        .first(conn)
        .optional()
}

pub fn lock(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Page>> {
    pages::table
        .find(id)
        .select(Page::as_select())
        .for_update()
        .first(conn)
        .optional()
}

/// Locks a page unless another transaction holds it (the scheduler's claim).
pub fn lock_skip_locked(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Page>> {
    pages::table
        .find(id)
        .select(Page::as_select())
        .for_update()
        .skip_locked()
        .first(conn)
        .optional()
}

/// The live snapshot answering on a path: revision id and delivery JSON, in
/// one query.
pub fn published_for_site(conn: &mut PgConnection, site_id: Uuid) -> QueryResult<Vec<Page>> {
    pages::table
        .filter(pages::site_id.eq(site_id))
        .filter(pages::status.eq(PageStatus::Published))
        .select(Page::as_select())
        .order((pages::published_locale, pages::published_path))
        .load(conn)
}

pub fn insert(conn: &mut PgConnection, page: &Page) -> QueryResult<Page> {
    diesel::insert_into(pages::table)
        .values(page)
        .returning(Page::as_returning())
        .get_result(conn)
}

pub fn insert_many(conn: &mut PgConnection, rows: &[Page]) -> QueryResult<usize> {
    diesel::insert_into(pages::table).values(rows).execute(conn)
}

pub fn update(conn: &mut PgConnection, id: Uuid, changes: &PageChanges) -> QueryResult<Page> {
    diesel::update(pages::table.find(id))
        .set((
            changes,
            pages::version.eq(pages::version + 1),
            pages::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Page::as_returning())
        .get_result(conn)
}

/// Records that the page's content changed (a block edit): bumps its version.
pub fn touch(conn: &mut PgConnection, id: Uuid) -> QueryResult<Page> {
    diesel::update(pages::table.find(id))
        .set((
            pages::version.eq(pages::version + 1),
            pages::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Page::as_returning())
        .get_result(conn)
}

/// Points an imported page at its live revision (inserted after the page).
pub fn set_live_revision(
    conn: &mut PgConnection,
    id: Uuid,
    revision_id: Uuid,
    at: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::update(pages::table.find(id))
        .set((
            pages::published_revision_id.eq(revision_id),
            pages::published_at.eq(at),
        ))
        .execute(conn)
}

pub fn delete(conn: &mut PgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::delete(pages::table.find(id)).execute(conn)
}

pub fn blocks(conn: &mut PgConnection, page_id: Uuid) -> QueryResult<Vec<Block>> {
    page_blocks::table
        .filter(page_blocks::page_id.eq(page_id))
        .select(Block::as_select())
        .order(page_blocks::position)
        .load(conn)
}

/// The blocks of many pages in one query, in page then position order.
pub fn blocks_of_pages(conn: &mut PgConnection, page_ids: &[Uuid]) -> QueryResult<Vec<Block>> {
    page_blocks::table
        .filter(page_blocks::page_id.eq_any(page_ids))
        .select(Block::as_select())
        .order((page_blocks::page_id, page_blocks::position))
        .load(conn)
}

pub fn find_block(conn: &mut PgConnection, page_id: Uuid, id: Uuid) -> QueryResult<Option<Block>> {
    page_blocks::table
        .filter(page_blocks::page_id.eq(page_id).and(page_blocks::id.eq(id)))
        .select(Block::as_select())
        .first(conn)
        .optional()
}

pub fn insert_block(conn: &mut PgConnection, block: &Block) -> QueryResult<Block> {
    diesel::insert_into(page_blocks::table)
        .values(block)
        .returning(Block::as_returning())
        .get_result(conn)
}

pub fn insert_blocks(conn: &mut PgConnection, rows: &[Block]) -> QueryResult<usize> {
    diesel::insert_into(page_blocks::table)
        .values(rows)
        .execute(conn)
}

/// What a block edit changes; `None` leaves a column as it is.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = page_blocks)]
pub struct BlockChanges {
    pub props: Option<Value>,
    pub hidden: Option<bool>,
}

/// Applies `changes` as one new version of the block.
pub fn update_block(
    conn: &mut PgConnection,
    id: Uuid,
    changes: &BlockChanges,
) -> QueryResult<Block> {
    diesel::update(page_blocks::table.find(id))
        .set((
            changes,
            page_blocks::version.eq(page_blocks::version + 1),
            page_blocks::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Block::as_returning())
        .get_result(conn)
}

pub fn set_block_position(conn: &mut PgConnection, id: Uuid, position: i32) -> QueryResult<usize> {
    diesel::update(page_blocks::table.find(id))
        .set(page_blocks::position.eq(position))
        .execute(conn)
}

pub fn delete_block(conn: &mut PgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::delete(page_blocks::table.find(id)).execute(conn)
}

pub fn revisions(conn: &mut PgConnection, page_id: Uuid) -> QueryResult<Vec<Revision>> {
    page_revisions::table
        .filter(page_revisions::page_id.eq(page_id))
        .select(Revision::as_select())
        .order(page_revisions::number.desc())
        .load(conn)
}

pub fn find_revision(
    conn: &mut PgConnection,
    page_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<Revision>> {
    page_revisions::table
        .filter(
            page_revisions::page_id
                .eq(page_id)
                .and(page_revisions::id.eq(id)),
        )
        .select(Revision::as_select())
        .first(conn)
        .optional()
}

/// Published snapshots of many revisions in one query.
pub fn revisions_by_ids(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<Revision>> {
    page_revisions::table
        .filter(page_revisions::id.eq_any(ids))
        .select(Revision::as_select())
        .load(conn)
}

pub fn next_revision_number(conn: &mut PgConnection, page_id: Uuid) -> QueryResult<i32> {
    let current: Option<i32> = page_revisions::table
        .filter(page_revisions::page_id.eq(page_id))
        .select(diesel::dsl::max(page_revisions::number))
        .first(conn)?;
    Ok(current.unwrap_or(0) + 1)
}

pub fn insert_revision(conn: &mut PgConnection, revision: &Revision) -> QueryResult<Revision> {
    diesel::insert_into(page_revisions::table)
        .values(revision)
        .returning(Revision::as_returning())
        .get_result(conn)
}
