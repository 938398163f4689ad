//! The media jobs: renditions (WebP and the fallback, fills, the ThumbHash)
//! as soon as an upload is stored, AVIF afterwards on its own low-priority
//! queue (rav1e takes seconds an image), a sweep of abandoned uploads, and
//! regeneration after the presets change.
//!
//! Rendition object names carry a recipe: a hash of the presets and of the
//! media's crop and focal point. New settings make new names, so a URL
//! never changes what it shows (it is cached for a year), and a job made for
//! an older recipe finds it outdated and does nothing.

use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::Utc;
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use cms_shared::media::{CropRect, FocalPoint};

use super::{key, resolve, StoredRendition};
use crate::config::MediaConfig;
use crate::db::jobs::{self as job_db, NewJob};
use crate::db::media::{self as store, Media, MediaChanges, MediaKind, MediaStatus};
use crate::jobs::{Handler, JobContext, JobError, JobFuture};
use cms_imaging as pixels;
use cms_imaging::{Encoded, Format, PixelError, Plan};

pub const RENDITIONS_JOB: &str = "media.renditions";
pub const AVIF_JOB: &str = "media.avif";
/// System cron: removes uploads whose process died while storing them.
pub const SWEEP_JOB: &str = "media.sweep";

/// The crop of a media, if it has one.
pub fn crop_of(media: &Media) -> Option<CropRect> {
    match (
        media.crop_x,
        media.crop_y,
        media.crop_width,
        media.crop_height,
    ) {
        (Some(x), Some(y), Some(width), Some(height)) => Some(CropRect {
            x: x as u32,
            y: y as u32,
            width: width as u32,
            height: height as u32,
        }),
        _ => None,
    }
}

/// Names what the renditions are made from: presets, crop, focal point.
pub fn recipe(config: &MediaConfig, media: &Media) -> String {
    let described = format!(
        "{};{:?};{};{}",
        config.presets_version(),
        crop_of(media),
        media.focal_x,
        media.focal_y
    );
    hex::encode(&Sha256::digest(described.as_bytes())[..4])
}

fn variant(recipe: &str, encoded: &Encoded) -> String {
    match &encoded.fill {
        Some(fill) => format!("{recipe}_{fill}.{}", encoded.format.extension()),
        None => format!("{recipe}_w{}.{}", encoded.width, encoded.format.extension()),
    }
}

fn plan(config: &MediaConfig, media: &Media) -> Plan {
    Plan {
        widths: config.widths.clone(),
        fills: config.fills.clone(),
        crop: crop_of(media),
        focal: FocalPoint {
            x: media.focal_x,
            y: media.focal_y,
        },
        webp_quality: config.webp_quality,
        jpeg_quality: config.jpeg_quality,
        avif_quality: config.avif_quality,
        avif_speed: config.avif_speed,
        deadline: Instant::now() + config.decode_timeout,
        deadline_secs: config.decode_timeout.as_secs(),
    }
}

/// The AVIF job of a media's recipe.
pub fn avif_job(tenant_id: Uuid, media_id: Uuid, recipe: &str) -> NewJob {
    NewJob::new(
        tenant_id,
        AVIF_JOB,
        json!({"media_id": media_id, "recipe": recipe}),
    )
    .queue("media_avif")
    .priority(5)
    .max_attempts(5)
    .unique(format!("media:{media_id}:avif:{recipe}"))
}

/// What a pixel failure means for the job: a file that cannot be decoded,
/// or takes too long, will not get better by retrying.
enum Outcome {
    Made(Vec<Encoded>, Option<String>, (u32, u32)),
    Unusable(String),
}

async fn make(
    ctx: &JobContext,
    media: &Media,
    formats: Vec<Format>,
    with_placeholder: bool,
) -> Result<Outcome, JobError> {
    let state = &ctx.state;
    let original = state
        .media
        .get(&key(media, "original"))
        .await
        .map_err(|err| JobError::Retry(err.to_string()))?
        .ok_or_else(|| JobError::Discard("the original is not in storage".into()))?;
    if media.kind == MediaKind::Svg {
        // Sanitised at upload: the vector file is its own one rendition.
        let size = (media.width as u32, media.height as u32);
        let file = Encoded {
            format: Format::Svg,
            width: size.0,
            height: size.1,
            fill: None,
            bytes: original.to_vec(),
        };
        return Ok(Outcome::Made(vec![file], None, size));
    }
    let config = &state.config.media;
    let plan = plan(config, media);
    let max_pixels = config.max_pixels;
    let timeout = config.decode_timeout;
    let work = state.images.run(move || {
        let decoded = match pixels::decode(&original, max_pixels) {
            Ok(decoded) => decoded,
            Err(err) => return Ok(Err(err)),
        };
        let size = (decoded.image.width(), decoded.image.height());
        let formats: Vec<Format> = formats
            .into_iter()
            .map(|format| match format {
                // The fallback stands for the original family.
                Format::Jpeg | Format::Png => pixels::fallback(decoded.has_alpha),
                other => other,
            })
            .collect();
        let placeholder = if with_placeholder {
            match pixels::thumbhash(&decoded, plan.crop) {
                Ok(hash) => Some(hash),
                Err(err) => return Ok(Err(err)),
            }
        } else {
            None
        };
        Ok(pixels::render(&decoded, &plan, &formats).map(|made| (made, placeholder, size)))
    });
    // The deadline inside stops the work between images; this one answers
    // the job even if one image's encoder runs long.
    match tokio::time::timeout(timeout + Duration::from_secs(30), work).await {
        Err(_) => Ok(Outcome::Unusable(format!(
            "took longer than {} s",
            timeout.as_secs()
        ))),
        Ok(Err(err)) => Err(JobError::Retry(err.to_string())),
        Ok(Ok(Err(err @ (PixelError::Decode(_) | PixelError::TimedOut(_))))) => {
            Ok(Outcome::Unusable(err.to_string()))
        }
        Ok(Ok(Err(err))) => Err(JobError::Retry(err.to_string())),
        Ok(Ok(Ok((made, placeholder, size)))) => Ok(Outcome::Made(made, placeholder, size)),
    }
}

async fn store_all(
    ctx: &JobContext,
    media: &Media,
    recipe: &str,
    made: Vec<Encoded>,
) -> Result<Vec<StoredRendition>, JobError> {
    let mut stored = Vec::with_capacity(made.len());
    for encoded in made {
        let name = variant(recipe, &encoded);
        let bytes = encoded.bytes.len() as u64;
        ctx.state
            .media
            .put(&key(media, &name), Bytes::from(encoded.bytes))
            .await
            .map_err(|err| JobError::Retry(err.to_string()))?;
        stored.push(StoredRendition {
            variant: name,
            format: encoded.format.name().to_owned(),
            width: encoded.width,
            height: encoded.height,
            bytes,
            fill: encoded.fill,
        });
    }
    Ok(stored)
}

async fn load(ctx: &JobContext) -> Result<Option<Media>, JobError> {
    let media_id: Uuid = ctx.arg("media_id")?;
    Ok(ctx.tx(move |conn| Ok(store::find(conn, media_id)?)).await?)
}

async fn mark_failed(ctx: &JobContext, media_id: Uuid, error: String) -> Result<(), JobError> {
    tracing::warn!(media_id = %media_id, error = %error, "media renditions failed");
    ctx.tx(move |conn| {
        store::update_processing(
            conn,
            media_id,
            &MediaChanges {
                status: Some(MediaStatus::Failed),
                error: Some(Some(error.chars().take(2000).collect())),
                ..Default::default()
            },
        )?;
        Ok(())
    })
    .await?;
    Ok(())
}

/// Deletes the objects of renditions no longer listed.
async fn delete_replaced(
    ctx: &JobContext,
    media: &Media,
    before: &[StoredRendition],
    after: &[StoredRendition],
) {
    for old in before {
        if after.iter().any(|new| new.variant == old.variant) {
            continue;
        }
        if let Err(err) = ctx.state.media.delete(&key(media, &old.variant)).await {
            tracing::warn!(error = %err, variant = %old.variant, "a replaced rendition could not be deleted");
        }
    }
}

/// WebP and fallback renditions, fills and the placeholder (`args.media_id`).
#[derive(Default)]
pub struct MakeRenditions;

impl Handler for MakeRenditions {
    fn run(&self, ctx: JobContext) -> JobFuture {
        Box::pin(async move {
            let Some(media) = load(&ctx).await? else {
                return Ok(());
            };
            let config = ctx.state.config.media.clone();
            let presets: String = ctx.arg("presets")?;
            if presets != config.presets_version() {
                // Enqueued by a node with other presets (a deploy in
                // progress): a node running those takes it.
                return Err(JobError::RetryAfter(
                    format!(
                        "made for presets {presets}; this node has {}",
                        config.presets_version()
                    ),
                    Duration::from_secs(30),
                ));
            }
            let made_with = recipe(&config, &media);
            let formats = vec![Format::Webp, Format::Jpeg];
            let (made, placeholder, size) = match make(&ctx, &media, formats, true).await? {
                Outcome::Made(made, placeholder, size) => (made, placeholder, size),
                Outcome::Unusable(error) => return mark_failed(&ctx, media.id, error).await,
            };
            let stored = store_all(&ctx, &media, &made_with, made).await?;
            let (id, tenant_id) = (media.id, media.tenant_id);
            let tx_config = config.clone();
            let committed = ctx
                .tx(move |conn| {
                    let Some(current) = store::lock(conn, id)? else {
                        return Ok(None);
                    };
                    if recipe(&tx_config, &current) != made_with {
                        // Edited meanwhile: that edit's job makes its own.
                        return Ok(None);
                    }
                    let before = super::stored_renditions(&current);
                    // AVIF of this recipe made earlier stays.
                    let mut renditions: Vec<StoredRendition> = before
                        .iter()
                        .filter(|r| r.format == "avif" && r.variant.starts_with(&made_with))
                        .cloned()
                        .collect();
                    renditions.extend(stored);
                    store::update_processing(
                        conn,
                        id,
                        &MediaChanges {
                            status: Some(MediaStatus::Ready),
                            error: Some(None),
                            placeholder_uri: Some(
                                placeholder.as_deref().and_then(pixels::placeholder_uri),
                            ),
                            placeholder: Some(placeholder),
                            renditions: Some(json!(renditions)),
                            presets: Some(Some(tx_config.presets_version())),
                            ..Default::default()
                        },
                    )?;
                    let media = store::set_size(conn, id, size.0 as i32, size.1 as i32)?;
                    if media.kind != MediaKind::Svg {
                        job_db::enqueue(conn, &avif_job(tenant_id, id, &made_with))?;
                    }
                    crate::webhooks::emit(
                        conn,
                        tenant_id,
                        "media.ready",
                        &super::item(&tx_config, &media),
                    )?;
                    let invalidations = resolve::refresh_live(conn, &tx_config, &media)?;
                    let doctors = store::shown_by_doctors(conn, id)?;
                    Ok(Some((media, before, renditions, (invalidations, doctors))))
                })
                .await?;
            let Some((media, before, after, shown)) = committed else {
                return Ok(());
            };
            announce(&ctx, tenant_id, shown).await;
            delete_replaced(&ctx, &media, &before, &after).await;
            tracing::info!(media_id = %media.id, renditions = after.len(), "media renditions made");
            Ok(())
        })
    }
}

/// Tells delivery caches and renderers that a media's renditions changed:
/// the live pages that show it, and its tenant's clinic data when it is a
/// doctor's photo.
async fn announce(
    ctx: &JobContext,
    tenant_id: Uuid,
    (pages, doctors): (Vec<crate::content::cache::Invalidation>, bool),
) {
    for invalidation in pages {
        ctx.state
            .cache
            .invalidate(&ctx.state.kv, invalidation)
            .await;
    }
    if doctors {
        crate::clinic::invalidation::data_changed(&ctx.state, tenant_id).await;
    }
}

/// AVIF renditions of a media's recipe (`args.media_id`, `args.recipe`).
#[derive(Default)]
pub struct MakeAvif;

impl Handler for MakeAvif {
    fn run(&self, ctx: JobContext) -> JobFuture {
        Box::pin(async move {
            let Some(media) = load(&ctx).await? else {
                return Ok(());
            };
            let config = ctx.state.config.media.clone();
            let wanted: String = ctx.arg("recipe")?;
            if recipe(&config, &media) != wanted {
                return Ok(());
            }
            let made = match make(&ctx, &media, vec![Format::Avif], false).await? {
                Outcome::Made(made, _, _) => made,
                Outcome::Unusable(error) => {
                    // WebP renditions exist; AVIF is a bonus. Logged, not failed.
                    tracing::warn!(media_id = %media.id, error = %error, "AVIF renditions failed");
                    return Ok(());
                }
            };
            let stored = store_all(&ctx, &media, &wanted, made).await?;
            let (id, tenant_id) = (media.id, media.tenant_id);
            let tx_config = config.clone();
            let committed = ctx
                .tx(move |conn| {
                    let Some(current) = store::lock(conn, id)? else {
                        return Ok(None);
                    };
                    if recipe(&tx_config, &current) != wanted {
                        return Ok(None);
                    }
                    let mut renditions: Vec<StoredRendition> = super::stored_renditions(&current)
                        .into_iter()
                        .filter(|r| r.format != "avif")
                        .collect();
                    renditions.extend(stored);
                    let media = store::update_processing(
                        conn,
                        id,
                        &MediaChanges {
                            renditions: Some(json!(renditions)),
                            ..Default::default()
                        },
                    )?;
                    let invalidations = resolve::refresh_live(conn, &tx_config, &media)?;
                    Ok(Some((invalidations, store::shown_by_doctors(conn, id)?)))
                })
                .await?;
            if let Some(shown) = committed {
                announce(&ctx, tenant_id, shown).await;
            }
            Ok(())
        })
    }
}

/// System cron: uploads left `uploading` for an hour (their process died
/// between reserving and storing), and media deleted by force that no live
/// page shows any more, are removed with their objects; their quota is
/// given back.
#[derive(Default)]
pub struct SweepUploads;

impl Handler for SweepUploads {
    fn run(&self, ctx: JobContext) -> JobFuture {
        Box::pin(async move {
            let state = ctx.state.clone();
            let before = Utc::now() - chrono::Duration::hours(1);
            let tenants = state
                .db
                .tx(crate::db::Scope::global(), move |conn| {
                    Ok(crate::db::routing::media_cleanup_tenants(conn, before)?)
                })
                .await?;
            for tenant_id in tenants {
                let scope = crate::db::Scope {
                    tenant_id: Some(tenant_id),
                    user_id: None,
                };
                let stale = state
                    .db
                    .tx(scope, move |conn| {
                        let mut gone = store::stale_uploads(conn, before)?;
                        // Deleted by force and shown by no live page any more.
                        gone.extend(store::purgeable(conn)?);
                        for media in &gone {
                            super::release(conn, media)?;
                        }
                        Ok(gone)
                    })
                    .await?;
                for media in stale {
                    let _ = state.media.delete_all(media.tenant_id, &media.sha256).await;
                }
            }
            Ok(())
        })
    }
}
