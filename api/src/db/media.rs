//! Queries on `media` and `media_quotas` (tenant-owned: RLS limits every
//! query to the current tenant), and the usage queries that find which
//! blocks, revisions, doctors and sites refer to a media.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text, Uuid as SqlUuid};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::cursor::PageRequest;
use super::schema::{media, media_quotas};

crate::db_enum! {
    /// Where a media stands in the pipeline.
    pub enum MediaStatus {
        /// The quota is reserved and the original is being stored.
        Uploading = "uploading",
        /// Renditions are being made.
        Processing = "processing",
        Ready = "ready",
        /// Its renditions could not be made (`error` says why).
        Failed = "failed",
    }
}

crate::db_enum! {
    /// An image family, decided from the bytes.
    pub enum MediaKind {
        Jpeg = "jpeg",
        Png = "png",
        Webp = "webp",
        Gif = "gif",
        Avif = "avif",
        Svg = "svg",
    }
}

/// A media row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = media)]
pub struct Media {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub sha256: String,
    pub kind: MediaKind,
    pub byte_size: i64,
    pub width: i32,
    pub height: i32,
    pub frames: i32,
    pub file_name: String,
    pub alt: String,
    pub decorative: bool,
    pub title: String,
    pub tags: Vec<String>,
    pub focal_x: f32,
    pub focal_y: f32,
    pub crop_x: Option<i32>,
    pub crop_y: Option<i32>,
    pub crop_width: Option<i32>,
    pub crop_height: Option<i32>,
    pub status: MediaStatus,
    pub error: Option<String>,
    pub placeholder: Option<String>,
    pub placeholder_uri: Option<String>,
    pub renditions: Value,
    pub presets: Option<String>,
    pub uploaded_by: Option<Uuid>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What an editor may change; `None` leaves a field alone.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = media)]
pub struct MediaChanges {
    pub alt: Option<String>,
    pub decorative: Option<bool>,
    pub title: Option<String>,
    pub tags: Option<Vec<String>>,
    pub focal_x: Option<f32>,
    pub focal_y: Option<f32>,
    pub crop_x: Option<Option<i32>>,
    pub crop_y: Option<Option<i32>>,
    pub crop_width: Option<Option<i32>>,
    pub crop_height: Option<Option<i32>>,
    pub status: Option<MediaStatus>,
    pub error: Option<Option<String>>,
    pub placeholder: Option<Option<String>>,
    pub placeholder_uri: Option<Option<String>>,
    pub renditions: Option<Value>,
    pub presets: Option<Option<String>>,
    pub deleted_at: Option<Option<DateTime<Utc>>>,
}

/// The tenant's quota and what it uses.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = media_quotas)]
pub struct Quota {
    #[serde(skip)]
    pub tenant_id: Uuid,
    pub max_bytes: i64,
    pub max_count: i32,
    pub used_bytes: i64,
    pub used_count: i32,
    /// Whether SVG uploads are accepted (sanitised).
    pub allow_svg: bool,
    pub updated_at: DateTime<Utc>,
}

/// Filters of the media list.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub kind: Option<MediaKind>,
    pub tag: Option<String>,
    /// Case-insensitive text in the file name, alt text or title.
    pub text: Option<String>,
    /// Only media nothing refers to.
    pub unused: bool,
    pub since: Option<DateTime<Utc>>,
}

pub fn insert(conn: &mut PgConnection, row: &Media) -> QueryResult<Media> {
    diesel::insert_into(media::table)
        .values(row)
        .returning(Media::as_returning())
        .get_result(conn)
}

/// A media of the current tenant, deleted ones included.
pub fn find_any(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Media>> {
    media::table
        .find(id)
        .select(Media::as_select())
        .first(conn)
        .optional()
}

/// A media of the current tenant that is in the library (not deleted).
pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Media>> {
    Ok(find_any(conn, id)?.filter(|row| row.deleted_at.is_none()))
}

/// Locks a media row for a change.
pub fn lock(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Media>> {
    media::table
        .find(id)
        .filter(media::deleted_at.is_null())
        .for_update()
        .select(Media::as_select())
        .first(conn)
        .optional()
}

/// Several media of the current tenant by id (deleted ones included: a
/// published page keeps showing a media deleted by force).
pub fn find_many(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<Media>> {
    media::table
        .filter(media::id.eq_any(ids))
        .select(Media::as_select())
        .load(conn)
}

/// The tenant's media with these bytes, if any.
pub fn find_by_sha256(conn: &mut PgConnection, sha256: &str) -> QueryResult<Option<Media>> {
    media::table
        .filter(media::sha256.eq(sha256))
        .select(Media::as_select())
        .first(conn)
        .optional()
}

pub fn update(conn: &mut PgConnection, id: Uuid, changes: &MediaChanges) -> QueryResult<Media> {
    diesel::update(media::table.find(id))
        .set((
            changes,
            media::version.eq(media::version + 1),
            media::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Media::as_returning())
        .get_result(conn)
}

/// What the rendition jobs write (status, renditions, placeholder, presets,
/// errors). Not an editor's change: the version (the ETag) stays, so an
/// editor's PATCH with the ETag read while renditions were being made
/// still applies instead of failing with 412.
pub fn update_processing(
    conn: &mut PgConnection,
    id: Uuid,
    changes: &MediaChanges,
) -> QueryResult<Media> {
    diesel::update(media::table.find(id))
        .set((changes, media::updated_at.eq(diesel::dsl::now)))
        .returning(Media::as_returning())
        .get_result(conn)
}

/// The displayed size, once the renditions job has decoded the image (the
/// header's size is before the EXIF orientation).
pub fn set_size(conn: &mut PgConnection, id: Uuid, width: i32, height: i32) -> QueryResult<Media> {
    diesel::update(media::table.find(id))
        .set((media::width.eq(width), media::height.eq(height)))
        .returning(Media::as_returning())
        .get_result(conn)
}

/// Deletes the row for good (its objects are the caller's to delete).
pub fn delete(conn: &mut PgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::delete(media::table.find(id)).execute(conn)
}

/// A page of the library, newest first.
pub fn list(
    conn: &mut PgConnection,
    filter: &ListFilter,
    page: &PageRequest,
) -> QueryResult<Vec<Media>> {
    let mut query = media::table
        .filter(media::deleted_at.is_null())
        .order(media::id.desc())
        .limit(page.fetch_limit())
        .select(Media::as_select())
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(media::id.lt(after));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(media::kind.eq(kind));
    }
    if let Some(tag) = &filter.tag {
        query = query.filter(media::tags.contains(vec![tag.clone()]));
    }
    if let Some(text) = &filter.text {
        let pattern = format!("%{}%", escape_like(text));
        query = query.filter(
            media::file_name
                .ilike(pattern.clone())
                .or(media::alt.ilike(pattern.clone()))
                .or(media::title.ilike(pattern)),
        );
    }
    if let Some(since) = filter.since {
        query = query.filter(media::created_at.ge(since));
    }
    if filter.unused {
        query = query.filter(diesel::dsl::sql::<Bool>(
            "NOT EXISTS (SELECT 1 FROM page_blocks b WHERE jsonb_path_exists(b.props, \
             '$.** ? (@.media == $id)', jsonb_build_object('id', media.id::text))) \
             AND NOT EXISTS (SELECT 1 FROM page_revisions r JOIN pages p ON p.published_revision_id = r.id \
             WHERE jsonb_path_exists(r.snapshot, '$.** ? (@.media == $id)', jsonb_build_object('id', media.id::text))) \
             AND NOT EXISTS (SELECT 1 FROM doctors d WHERE d.photo_media_id = media.id) \
             AND NOT EXISTS (SELECT 1 FROM sites s WHERE jsonb_path_exists(s.theme, \
             '$.** ? (@.media == $id)', jsonb_build_object('id', media.id::text)))",
        ));
    }
    query.load(conn)
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Which of these media ids exist in the tenant's library.
pub fn existing(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<Media>> {
    media::table
        .filter(media::id.eq_any(ids))
        .filter(media::deleted_at.is_null())
        .select(Media::as_select())
        .load(conn)
}

/// One use of a media.
#[derive(Debug, Clone, QueryableByName, Serialize, ToSchema)]
pub struct Use {
    /// `block` (a draft block), `published` (the live revision of a page),
    /// `doctor` or `site`.
    #[diesel(sql_type = Text)]
    pub kind: String,
    /// The page (blocks, published), doctor or site.
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    /// The block, for `block` uses.
    #[diesel(sql_type = diesel::sql_types::Nullable<SqlUuid>)]
    pub block_id: Option<Uuid>,
    /// The page's path, the doctor's or the site's name.
    #[diesel(sql_type = Text)]
    pub label: String,
}

#[derive(QueryableByName)]
struct SiteId {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// The sites whose theme refers to the media (a logo).
pub fn sites_using(conn: &mut PgConnection, id: Uuid) -> QueryResult<Vec<Uuid>> {
    let rows: Vec<SiteId> = diesel::sql_query(
        "SELECT s.id FROM sites s \
          WHERE jsonb_path_exists(s.theme, '$.** ? (@.media == $id)', jsonb_build_object('id', $1::text))",
    )
    .bind::<SqlUuid, _>(id)
    .load(conn)?;
    Ok(rows.into_iter().map(|row| row.id).collect())
}

/// Everything that refers to the media: draft blocks, live revisions,
/// doctors and site settings (theme).
pub fn usage(conn: &mut PgConnection, id: Uuid) -> QueryResult<Vec<Use>> {
    diesel::sql_query(
        "SELECT 'block' AS kind, p.id, b.id AS block_id, p.path AS label \
           FROM page_blocks b JOIN pages p ON p.id = b.page_id \
          WHERE jsonb_path_exists(b.props, '$.** ? (@.media == $id)', jsonb_build_object('id', $1::text)) \
         UNION ALL \
         SELECT 'published', p.id, NULL, coalesce(p.published_path, p.path) \
           FROM pages p JOIN page_revisions r ON r.id = p.published_revision_id \
          WHERE jsonb_path_exists(r.snapshot, '$.** ? (@.media == $id)', jsonb_build_object('id', $1::text)) \
         UNION ALL \
         SELECT 'doctor', d.id, NULL, d.name FROM doctors d WHERE d.photo_media_id = $1 \
         UNION ALL \
         SELECT 'site', s.id, NULL, s.name FROM sites s \
          WHERE jsonb_path_exists(s.theme, '$.** ? (@.media == $id)', jsonb_build_object('id', $1::text)) \
         ORDER BY 1, 4",
    )
    .bind::<SqlUuid, _>(id)
    .load(conn)
}

#[derive(QueryableByName)]
struct RevisionSnapshot {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    snapshot: Value,
}

/// The live revisions that show the media, locked (their snapshots are
/// rewritten when its renditions change): (revision id, snapshot).
pub fn live_revisions_using(conn: &mut PgConnection, id: Uuid) -> QueryResult<Vec<(Uuid, Value)>> {
    let rows: Vec<RevisionSnapshot> = diesel::sql_query(
        "SELECT r.id, r.snapshot FROM page_revisions r \
           JOIN pages p ON p.published_revision_id = r.id \
          WHERE jsonb_path_exists(r.snapshot, '$.** ? (@.media == $id)', jsonb_build_object('id', $1::text)) \
          ORDER BY r.id FOR UPDATE OF r",
    )
    .bind::<SqlUuid, _>(id)
    .load(conn)?;
    Ok(rows.into_iter().map(|row| (row.id, row.snapshot)).collect())
}

/// Whether a doctor's photo is media `id` (their clinic data must be
/// announced when its renditions change).
pub fn shown_by_doctors(conn: &mut PgConnection, id: Uuid) -> QueryResult<bool> {
    use super::schema::doctors;
    diesel::select(diesel::dsl::exists(
        doctors::table.filter(doctors::photo_media_id.eq(id)),
    ))
    .get_result(conn)
}

/// Writes a revision's snapshot back (after its media were re-resolved).
pub fn set_snapshot(
    conn: &mut PgConnection,
    revision: Uuid,
    snapshot: &Value,
) -> QueryResult<usize> {
    use super::schema::page_revisions;
    diesel::update(page_revisions::table.find(revision))
        .set(page_revisions::snapshot.eq(snapshot))
        .execute(conn)
}

/// Media forced out of the library that no live revision shows any more:
/// their rows and objects can go.
pub fn purgeable(conn: &mut PgConnection) -> QueryResult<Vec<Media>> {
    media::table
        .filter(media::deleted_at.is_not_null())
        .filter(diesel::dsl::sql::<Bool>(
            "NOT EXISTS (SELECT 1 FROM page_revisions r JOIN pages p ON p.published_revision_id = r.id \
             WHERE jsonb_path_exists(r.snapshot, '$.** ? (@.media == $id)', jsonb_build_object('id', media.id::text)))",
        ))
        .select(Media::as_select())
        .load(conn)
}

/// Media of the tenant's library whose renditions were not made with
/// `presets` (for regeneration).
pub fn outdated_ids(conn: &mut PgConnection, presets: &str) -> QueryResult<Vec<Uuid>> {
    media::table
        .filter(media::deleted_at.is_null())
        .filter(media::status.ne(MediaStatus::Uploading))
        .filter(media::presets.is_distinct_from(presets))
        .order(media::id)
        .select(media::id)
        .load(conn)
}

/// Takes a media off every doctor showing it.
pub fn detach_from_doctors(conn: &mut PgConnection, id: Uuid) -> QueryResult<usize> {
    use super::schema::doctors;
    diesel::update(doctors::table.filter(doctors::photo_media_id.eq(id)))
        .set(doctors::photo_media_id.eq(None::<Uuid>))
        .execute(conn)
}

/// The tenant's quota row, made with the defaults on first use, locked.
pub fn lock_quota(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    default_bytes: i64,
    default_count: i32,
) -> QueryResult<Quota> {
    diesel::insert_into(media_quotas::table)
        .values((
            media_quotas::tenant_id.eq(tenant_id),
            media_quotas::max_bytes.eq(default_bytes),
            media_quotas::max_count.eq(default_count),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?;
    media_quotas::table
        .find(tenant_id)
        .for_update()
        .select(Quota::as_select())
        .first(conn)
}

/// Adds (or with negative numbers, gives back) usage; the caller holds the
/// quota row's lock (`lock_quota`).
pub fn add_usage(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    bytes: i64,
    count: i32,
) -> QueryResult<usize> {
    diesel::update(media_quotas::table.find(tenant_id))
        .set((
            media_quotas::used_bytes.eq(media_quotas::used_bytes + bytes),
            media_quotas::used_count.eq(media_quotas::used_count + count),
            media_quotas::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
}

/// Changes the tenant's limits or SVG switch.
pub fn set_quota(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    max_bytes: Option<i64>,
    max_count: Option<i32>,
    allow_svg: Option<bool>,
) -> QueryResult<Quota> {
    let current = media_quotas::table
        .find(tenant_id)
        .select(Quota::as_select())
        .first(conn)?;
    diesel::update(media_quotas::table.find(tenant_id))
        .set((
            media_quotas::max_bytes.eq(max_bytes.unwrap_or(current.max_bytes)),
            media_quotas::max_count.eq(max_count.unwrap_or(current.max_count)),
            media_quotas::allow_svg.eq(allow_svg.unwrap_or(current.allow_svg)),
            media_quotas::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Quota::as_returning())
        .get_result(conn)
}

/// Uploads that never finished (the process died while storing the
/// original): older than `before`, still `uploading`.
pub fn stale_uploads(conn: &mut PgConnection, before: DateTime<Utc>) -> QueryResult<Vec<Media>> {
    media::table
        .filter(media::status.eq(MediaStatus::Uploading))
        .filter(media::created_at.lt(before))
        .select(Media::as_select())
        .load(conn)
}
