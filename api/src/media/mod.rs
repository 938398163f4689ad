//! The media library (issue 14): uploads judged from their bytes
//! (`inspect`), stored by content address (`storage`), turned into WebP,
//! AVIF and fallback renditions with a ThumbHash placeholder by jobs
//! (`jobs`, with the pixel work in the `cms-imaging` crate), and resolved into delivery's image objects wherever a
//! block, doctor or site refers to them (`resolve`).
//!
//! An upload: the bytes are inspected (type, pixel count, trailing bytes)
//! before anything decodes them (an SVG, where the tenant allows it, is
//! sanitised instead: `svg`); identical bytes in the tenant answer the
//! media that has them; otherwise one transaction reserves the quota under
//! the quota row's lock and inserts the row as `uploading`, the original is
//! stored, and a second transaction moves it to `processing` and enqueues its
//! renditions. A crash in between leaves an `uploading` row that the cleanup
//! cron removes, giving its quota back.

pub mod bench;
pub mod inspect;
pub mod jobs;
pub mod resolve;
pub mod storage;
pub mod svg;

use bytes::Bytes;
use chrono::Utc;
use diesel::PgConnection;
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use cms_shared::media::{CropRect, FocalPoint, MediaItem, Rendition};

use crate::config::MediaConfig;
use crate::db::audit::Audit;
use crate::db::jobs::{self as job_db, NewJob};
use crate::db::media::{self as store, Media, MediaChanges, MediaKind, MediaStatus};
use crate::error::ApiError;
use crate::http::etag::IfMatch;
use crate::state::AppState;
use inspect::{ImageKind, Refusal};
use storage::MediaKey;

/// What an upload request carried.
#[derive(Debug, Clone)]
pub struct Upload {
    pub bytes: Bytes,
    pub file_name: String,
    pub alt: String,
    pub title: String,
    pub tags: Vec<String>,
}

/// An upload's outcome: the media, and whether these bytes were new.
pub struct Uploaded {
    pub media: MediaItem,
    pub created: bool,
}

/// The object key of a media's variant.
pub fn key(media: &Media, variant: &str) -> MediaKey {
    MediaKey {
        tenant: media.tenant_id,
        sha256: media.sha256.clone(),
        variant: variant.to_owned(),
    }
}

/// The public URL of a media's variant.
pub fn url(config: &MediaConfig, media: &Media, variant: &str) -> String {
    format!(
        "{}/{}/{}/{}",
        config.base_url, media.tenant_id, media.sha256, variant
    )
}

/// One stored rendition, as kept in `media.renditions`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct StoredRendition {
    /// The object's variant name (`3fa2c1d0_w640.webp`).
    pub variant: String,
    pub format: String,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fill: Option<String>,
}

pub fn stored_renditions(media: &Media) -> Vec<StoredRendition> {
    serde_json::from_value(media.renditions.clone()).unwrap_or_default()
}

/// The library item as the api answers it.
pub fn item(config: &MediaConfig, media: &Media) -> MediaItem {
    let crop = jobs::crop_of(media);
    MediaItem {
        id: media.id,
        kind: media.kind.as_str().to_owned(),
        status: media.status.as_str().to_owned(),
        error: media.error.clone(),
        file_name: media.file_name.clone(),
        byte_size: media.byte_size as u64,
        width: crop.map_or(media.width as u32, |crop| crop.width),
        height: crop.map_or(media.height as u32, |crop| crop.height),
        frames: media.frames as u32,
        alt: media.alt.clone(),
        decorative: media.decorative,
        title: media.title.clone(),
        tags: media.tags.clone(),
        focal_point: FocalPoint {
            x: media.focal_x,
            y: media.focal_y,
        },
        crop,
        placeholder: media.placeholder.clone(),
        placeholder_uri: media.placeholder_uri.clone(),
        renditions: stored_renditions(media)
            .into_iter()
            .map(|stored| Rendition {
                url: url(config, media, &stored.variant),
                format: stored.format,
                width: stored.width,
                height: stored.height,
                bytes: stored.bytes,
                fill: stored.fill,
            })
            .collect(),
        presets: media.presets.clone(),
        version: media.version,
        created_at: media.created_at,
        updated_at: media.updated_at,
    }
}

fn refused(refusal: Refusal) -> ApiError {
    ApiError::invalid("file", refusal.to_string())
}

fn kind_of(kind: ImageKind) -> MediaKind {
    match kind {
        ImageKind::Jpeg => MediaKind::Jpeg,
        ImageKind::Png => MediaKind::Png,
        ImageKind::Webp => MediaKind::Webp,
        ImageKind::Gif => MediaKind::Gif,
        ImageKind::Avif => MediaKind::Avif,
    }
}

/// The renditions job of a media, for the current presets.
pub fn renditions_job(tenant_id: Uuid, media_id: Uuid, presets: &str) -> NewJob {
    NewJob::new(
        tenant_id,
        jobs::RENDITIONS_JOB,
        json!({"media_id": media_id, "presets": presets}),
    )
    .queue("media")
    .max_attempts(5)
    .unique(format!("media:{media_id}:renditions:{presets}"))
}

/// Stores an upload, or answers the tenant's media with the same bytes.
pub async fn upload(
    state: &AppState,
    audit: Audit,
    user_id: Option<Uuid>,
    upload: Upload,
) -> Result<Uploaded, ApiError> {
    let config = &state.config.media;
    let tenant_id = audit.tenant_id;
    let is_svg = svg::looks_like_svg(&upload.bytes);
    if is_svg && !svg_allowed(state, tenant_id).await? {
        return Err(ApiError::invalid(
            "file",
            "is an SVG image: this tenant does not accept SVG (scripts can hide in them; \
             an owner can allow them, sanitised, with PUT /api/v1/media/quota)",
        ));
    }
    let bytes = upload.bytes.clone();
    let max_pixels = config.max_pixels;
    // Header only: no pixel is decoded here, so a 30,000 x 30,000 "bomb"
    // costs a few kilobytes and microseconds.
    let judged = state
        .cpu
        .run(move || {
            if is_svg {
                judge_svg(&bytes)
            } else {
                judge_raster(bytes, max_pixels)
            }
        })
        .await?;
    let (quota_bytes, quota_count) = (config.quota_bytes, config.quota_count);
    let row = Media {
        id: Uuid::now_v7(),
        tenant_id,
        sha256: judged.sha256.clone(),
        kind: judged.kind,
        byte_size: judged.bytes.len() as i64,
        width: judged.width as i32,
        height: judged.height as i32,
        frames: judged.frames.min(i32::MAX as u64) as i32,
        file_name: upload.file_name.clone(),
        alt: upload.alt.clone(),
        decorative: false,
        title: upload.title.clone(),
        tags: upload.tags.clone(),
        focal_x: 0.5,
        focal_y: 0.5,
        crop_x: None,
        crop_y: None,
        crop_width: None,
        crop_height: None,
        status: MediaStatus::Uploading,
        error: None,
        placeholder: None,
        placeholder_uri: None,
        renditions: json!([]),
        presets: None,
        uploaded_by: user_id,
        deleted_at: None,
        version: 1,
        created_at: Utc::now(),
        updated_at: Utc::now(),
    };
    let stored = judged.bytes.clone();
    let reserve_audit = audit.clone();
    let reserved = state
        .db
        .tx(scope(tenant_id), move |conn| {
            if let Some(existing) = store::find_by_sha256(conn, &row.sha256)? {
                return Ok(Err(restore_if_deleted(conn, &reserve_audit, existing)?));
            }
            let quota = store::lock_quota(conn, tenant_id, quota_bytes, quota_count)?;
            if quota.used_count >= quota.max_count {
                return Err(ApiError::invalid(
                    "file",
                    format!("the media quota of {} files is used up", quota.max_count),
                ));
            }
            if quota.used_bytes + row.byte_size > quota.max_bytes {
                return Err(ApiError::invalid(
                    "file",
                    format!(
                        "would pass the media quota: {} of {} bytes used, this file has {}",
                        quota.used_bytes, quota.max_bytes, row.byte_size
                    ),
                ));
            }
            store::add_usage(conn, tenant_id, row.byte_size, 1)?;
            Ok(Ok(store::insert(conn, &row)?))
        })
        .await;
    let (row, created) = match reserved {
        Ok(Ok(row)) => (row, true),
        // The same bytes whose upload never finished storing (its process
        // died, or it is storing right now): store them again (the key is
        // their hash, so a racing store writes the same object) and let the
        // renditions follow, instead of answering a media with no original.
        Ok(Err(existing)) if existing.status == MediaStatus::Uploading => (existing, false),
        Ok(Err(existing)) => {
            return Ok(Uploaded {
                media: item(config, &existing),
                created: false,
            })
        }
        // The same bytes uploaded at the same moment: answer that media.
        Err(ApiError::Conflict(_)) => {
            let found = state
                .db
                .tx(scope(tenant_id), move |conn| {
                    store::find_by_sha256(conn, &judged.sha256)?.ok_or(ApiError::NotFound)
                })
                .await?;
            return Ok(Uploaded {
                media: item(config, &found),
                created: false,
            });
        }
        Err(err) => return Err(err),
    };
    if let Err(err) = state.media.put(&key(&row, "original"), stored).await {
        tracing::error!(error = %err, media_id = %row.id, "storing an upload failed");
        // Only the request that reserved the quota gives it back; a retried
        // store leaves the row to its first upload or to the sweep.
        if created {
            let failed = row.clone();
            state
                .db
                .tx(scope(tenant_id), move |conn| release(conn, &failed))
                .await?;
        }
        return Err(ApiError::Unavailable("media storage".into()));
    }
    let presets = config.presets_version();
    let media = state
        .db
        .tx(scope(tenant_id), move |conn| {
            let media = store::update(
                conn,
                row.id,
                &MediaChanges {
                    status: Some(MediaStatus::Processing),
                    ..Default::default()
                },
            )?;
            job_db::enqueue(conn, &renditions_job(tenant_id, media.id, &presets))?;
            if created {
                audit.created(conn, "media", media.id, &media)?;
            }
            Ok(media)
        })
        .await?;
    Ok(Uploaded {
        media: item(config, &media),
        created,
    })
}

fn scope(tenant_id: Uuid) -> crate::db::Scope {
    crate::db::Scope {
        tenant_id: Some(tenant_id),
        user_id: None,
    }
}

/// A re-upload of bytes deleted by force brings the media back.
fn restore_if_deleted(
    conn: &mut PgConnection,
    audit: &Audit,
    existing: Media,
) -> Result<Media, ApiError> {
    if existing.deleted_at.is_none() {
        return Ok(existing);
    }
    let restored = store::update(
        conn,
        existing.id,
        &MediaChanges {
            deleted_at: Some(None),
            ..Default::default()
        },
    )?;
    audit.event(
        conn,
        "media",
        "restore",
        restored.id,
        Some(&existing),
        Some(&restored),
    )?;
    Ok(restored)
}

/// Removes a media row and gives its quota back (its objects are the
/// caller's).
pub fn release(conn: &mut PgConnection, media: &Media) -> Result<(), ApiError> {
    store::lock_quota(conn, media.tenant_id, 0, 0)?;
    store::add_usage(conn, media.tenant_id, -media.byte_size, -1)?;
    store::delete(conn, media.id)?;
    Ok(())
}

/// An upload judged from its bytes: what is stored and what it is.
struct Judged {
    kind: MediaKind,
    width: u32,
    height: u32,
    frames: u64,
    sha256: String,
    /// The upload's bytes, or for an SVG the sanitised file.
    bytes: Bytes,
}

fn judge_raster(bytes: Bytes, max_pixels: u64) -> Result<Judged, ApiError> {
    let inspected = inspect::inspect(&bytes, max_pixels).map_err(refused)?;
    let frames = if inspected.kind == ImageKind::Gif {
        inspect::gif_frames(&bytes)
    } else {
        1
    };
    let total = u64::from(inspected.width) * u64::from(inspected.height) * frames;
    if total > max_pixels {
        return Err(refused(Refusal::TooManyPixels {
            width: inspected.width,
            height: inspected.height,
            limit: max_pixels,
        }));
    }
    Ok(Judged {
        kind: kind_of(inspected.kind),
        width: inspected.width,
        height: inspected.height,
        frames,
        sha256: hex::encode(Sha256::digest(&bytes)),
        bytes,
    })
}

fn judge_svg(bytes: &[u8]) -> Result<Judged, ApiError> {
    let sanitised = svg::sanitise(bytes).map_err(|reason| ApiError::invalid("file", reason))?;
    Ok(Judged {
        kind: MediaKind::Svg,
        width: sanitised.width,
        height: sanitised.height,
        frames: 1,
        sha256: hex::encode(Sha256::digest(&sanitised.bytes)),
        bytes: Bytes::from(sanitised.bytes),
    })
}

/// Whether the tenant has turned SVG uploads on.
async fn svg_allowed(state: &AppState, tenant_id: Uuid) -> Result<bool, ApiError> {
    let media = &state.config.media;
    let (quota_bytes, quota_count) = (media.quota_bytes, media.quota_count);
    state
        .db
        .tx(scope(tenant_id), move |conn| {
            Ok(store::lock_quota(conn, tenant_id, quota_bytes, quota_count)?.allow_svg)
        })
        .await
}

/// An editor's changes to a media.
#[derive(Debug, Clone, Default)]
pub struct Edit {
    pub alt: Option<String>,
    pub decorative: Option<bool>,
    pub title: Option<String>,
    pub tags: Option<Vec<String>>,
    pub focal_point: Option<FocalPoint>,
    /// `Some(None)` removes the crop.
    pub crop: Option<Option<CropRect>>,
}

/// Applies an edit; a new focal point or crop makes the renditions again.
pub fn edit(
    conn: &mut PgConnection,
    audit: &Audit,
    config: &MediaConfig,
    id: Uuid,
    if_match: &IfMatch,
    edit: Edit,
) -> Result<Media, ApiError> {
    let before = store::lock(conn, id)?.ok_or(ApiError::NotFound)?;
    if_match.check(before.version)?;
    let (original_width, original_height) = (before.width as u32, before.height as u32);
    if let Some(Some(crop)) = &edit.crop {
        if crop.width == 0
            || crop.height == 0
            || u64::from(crop.x) + u64::from(crop.width) > u64::from(original_width)
            || u64::from(crop.y) + u64::from(crop.height) > u64::from(original_height)
        {
            return Err(ApiError::invalid(
                "crop",
                format!("must lie inside the image ({original_width} x {original_height})"),
            ));
        }
    }
    let reprocess = edit.focal_point.is_some() || edit.crop.is_some();
    let crop = edit
        .crop
        .map(|crop| crop.map(|c| (c.x as i32, c.y as i32, c.width as i32, c.height as i32)));
    let changes = MediaChanges {
        alt: edit.alt,
        decorative: edit.decorative,
        title: edit.title,
        tags: edit.tags,
        focal_x: edit.focal_point.map(|p| p.x),
        focal_y: edit.focal_point.map(|p| p.y),
        crop_x: crop.map(|c| c.map(|c| c.0)),
        crop_y: crop.map(|c| c.map(|c| c.1)),
        crop_width: crop.map(|c| c.map(|c| c.2)),
        crop_height: crop.map(|c| c.map(|c| c.3)),
        status: reprocess.then_some(MediaStatus::Processing),
        ..Default::default()
    };
    let after = store::update(conn, id, &changes)?;
    if reprocess {
        // A new job key: the edit's version makes it distinct from earlier runs.
        let job = NewJob::new(
            after.tenant_id,
            jobs::RENDITIONS_JOB,
            json!({"media_id": id, "presets": config.presets_version()}),
        )
        .queue("media")
        .max_attempts(5)
        .unique(format!(
            "media:{id}:renditions:{}:v{}",
            config.presets_version(),
            after.version
        ));
        job_db::enqueue(conn, &job)?;
    }
    audit.updated(conn, "media", id, &before, &after)?;
    Ok(after)
}

/// Everything that uses a media.
pub fn usage(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Vec<cms_shared::media::MediaUse>, ApiError> {
    Ok(store::usage(conn, id)?
        .into_iter()
        .map(|found| cms_shared::media::MediaUse {
            kind: found.kind,
            id: found.id,
            block_id: found.block_id,
            label: found.label,
        })
        .collect())
}

/// Deletes a media: refused (409, listing its users) while anything uses
/// it, unless `force`. A forced delete takes it out of the library, off
/// doctors; live pages keep showing it until their next publish, after
/// which the cleanup cron removes its objects and gives its quota back.
/// Answers the media whose objects the caller deletes now.
pub fn remove(
    conn: &mut PgConnection,
    audit: &Audit,
    id: Uuid,
    if_match: &IfMatch,
    force: bool,
) -> Result<Option<Media>, ApiError> {
    let media = store::lock(conn, id)?.ok_or(ApiError::NotFound)?;
    if_match.check(media.version)?;
    let used_by = usage(conn, id)?;
    if used_by.is_empty() {
        release(conn, &media)?;
        audit.deleted(conn, "media", id, &media)?;
        return Ok(Some(media));
    }
    if !force {
        return Err(ApiError::InUse { used_by });
    }
    store::detach_from_doctors(conn, id)?;
    let deleted = store::update(
        conn,
        id,
        &MediaChanges {
            deleted_at: Some(Some(Utc::now())),
            ..Default::default()
        },
    )?;
    audit.event(
        conn,
        "media",
        "force_delete",
        id,
        Some(&media),
        Some(&deleted),
    )?;
    Ok(None)
}
