//! Publishing: a revision freezes the page and its blocks as the exact delivery
//! JSON; the page points at it. Every operation answers what it made stale;
//! callers invalidate after their transaction commits.

use chrono::Utc;
use diesel::PgConnection;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::cache::Invalidation;
use crate::config::MediaConfig;
use crate::db::audit::Audit;
use crate::db::jobs::{self, NewJob};
use crate::db::modules;
use crate::db::pages::{self, Page, PageChanges, PageStatus, Revision};
use crate::error::{ApiError, FieldError};
use crate::http::etag::IfMatch;
use crate::media::resolve;

/// The delivery JSON of the page's current draft: what a publish would freeze,
/// and what a preview shows.
pub fn draft_snapshot(
    conn: &mut PgConnection,
    media: &MediaConfig,
    page: &Page,
    revision_id: Option<Uuid>,
) -> Result<Value, ApiError> {
    let blocks = pages::blocks(conn, page.id)?;
    let mut custom_keys: Vec<String> = blocks
        .iter()
        .map(|block| block.module_key.clone())
        .collect();
    custom_keys.sort();
    custom_keys.dedup();
    let custom_modules: Map<String, Value> = modules::find_custom_many(conn, &custom_keys)?
        .into_iter()
        .map(|module| {
            (
                module.key,
                json!({"template": module.template, "version": module.version}),
            )
        })
        .collect();
    let mut snapshot = json!({
        "id": page.id,
        "site_id": page.site_id,
        "revision_id": revision_id,
        "path": page.path,
        "locale": page.locale,
        "title": page.title,
        "seo": page.seo,
        "blocks": blocks
            .iter()
            .filter(|block| !block.hidden)
            .map(|block| json!({"id": block.id, "module": block.module_key, "props": block.props}))
            .collect::<Vec<_>>(),
        "experiments": [],
        "custom_modules": custom_modules,
        "published_at": Utc::now(),
    });
    resolve::resolve_snapshot(conn, media, &mut snapshot)?;
    Ok(snapshot)
}

/// A snapshot about to go live may not show media deleted from the library
/// (a live page keeps showing them only until its next publish).
fn refuse_deleted_media(conn: &mut PgConnection, snapshot: &Value) -> Result<(), ApiError> {
    let refs = resolve::references(&snapshot["blocks"], "blocks");
    let ids: Vec<Uuid> = refs.iter().filter_map(|r| r.id).collect();
    if ids.is_empty() {
        return Ok(());
    }
    let present: Vec<Uuid> = crate::db::media::existing(conn, &ids)?
        .into_iter()
        .map(|media| media.id)
        .collect();
    let errors: Vec<FieldError> = refs
        .iter()
        .filter(|r| r.id.is_none_or(|id| !present.contains(&id)))
        .map(|r| {
            FieldError::new(
                &format!("{}.media", r.path),
                "was deleted from the media library: choose another image",
            )
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// What changed: the page as it is now, the revision made live (if any), and
/// the cache entries to invalidate.
pub struct Outcome {
    pub page: Page,
    pub revision: Option<Revision>,
    pub invalidation: Invalidation,
}

fn invalidation_for(before: &Page, after: &Page) -> Invalidation {
    let mut change = Invalidation::site(after.tenant_id, after.site_id);
    for page in [before, after] {
        if let (Some(locale), Some(path)) = (&page.published_locale, &page.published_path) {
            if !change.pages.contains(&(locale.clone(), path.clone())) {
                change.pages.push((locale.clone(), path.clone()));
                if !change.paths.contains(path) {
                    change.paths.push(path.clone());
                }
            }
        }
    }
    change
}

fn make_live(
    conn: &mut PgConnection,
    audit: &Audit,
    before: &Page,
    snapshot: Value,
    verb: &str,
) -> Result<Outcome, ApiError> {
    let revision_id = Uuid::now_v7();
    let mut snapshot = snapshot;
    snapshot["revision_id"] = json!(revision_id);
    let locale = snapshot["locale"]
        .as_str()
        .unwrap_or(&before.locale)
        .to_owned();
    let path = snapshot["path"].as_str().unwrap_or(&before.path).to_owned();
    let number = pages::next_revision_number(conn, before.id)?;
    let revision = pages::insert_revision(
        conn,
        &Revision {
            id: revision_id,
            tenant_id: before.tenant_id,
            page_id: before.id,
            number,
            snapshot,
            created_by: audit.actor.user_id,
            created_at: Utc::now(),
        },
    )?;
    let page = pages::update(
        conn,
        before.id,
        &PageChanges {
            status: Some(PageStatus::Published),
            publish_at: Some(None),
            published_revision_id: Some(Some(revision.id)),
            published_at: Some(Some(revision.created_at)),
            published_locale: Some(Some(locale)),
            published_path: Some(Some(path)),
            ..Default::default()
        },
    )?;
    audit.event(conn, "page", verb, page.id, Some(before), Some(&page))?;
    crate::webhooks::emit(conn, page.tenant_id, "page.published", &page)?;
    Ok(Outcome {
        invalidation: invalidation_for(before, &page),
        page,
        revision: Some(revision),
    })
}

/// Publishes the current draft now.
pub fn publish_now(
    conn: &mut PgConnection,
    audit: &Audit,
    media: &MediaConfig,
    page_id: Uuid,
    if_match: &IfMatch,
) -> Result<Outcome, ApiError> {
    let before = pages::lock(conn, page_id)?.ok_or(ApiError::NotFound)?;
    if_match.check(before.version)?;
    let snapshot = draft_snapshot(conn, media, &before, None)?;
    refuse_deleted_media(conn, &snapshot)?;
    make_live(conn, audit, &before, snapshot, "publish")
}

/// The job kind that publishes a scheduled page.
pub const PUBLISH_JOB: &str = "page.publish";

/// One publish job per page and schedule (the jobs migration writes the same
/// key for pages scheduled before it).
pub fn publish_job_key(page_id: Uuid, at: chrono::DateTime<Utc>) -> String {
    format!(
        "{PUBLISH_JOB}:{page_id}:{}",
        at.format("%Y-%m-%dT%H:%M:%S%.6fZ")
    )
}

/// Publishes the page as its publish job does: only if it is still scheduled
/// and due, and only if no other transaction holds it (SKIP LOCKED).
pub fn publish_scheduled(
    conn: &mut PgConnection,
    audit: &Audit,
    media: &MediaConfig,
    page_id: Uuid,
) -> Result<Option<Outcome>, ApiError> {
    let Some(before) = pages::lock_skip_locked(conn, page_id)? else {
        return Ok(None);
    };
    let due = before.status == PageStatus::Scheduled
        && before.publish_at.is_some_and(|at| at <= Utc::now());
    if !due {
        return Ok(None);
    }
    let snapshot = draft_snapshot(conn, media, &before, None)?;
    refuse_deleted_media(conn, &snapshot)?;
    make_live(conn, audit, &before, snapshot, "publish").map(Some)
}

/// Schedules the current draft for `at` (the snapshot is taken then).
pub fn schedule(
    conn: &mut PgConnection,
    audit: &Audit,
    page_id: Uuid,
    at: chrono::DateTime<Utc>,
    if_match: &IfMatch,
) -> Result<Outcome, ApiError> {
    let before = pages::lock(conn, page_id)?.ok_or(ApiError::NotFound)?;
    if_match.check(before.version)?;
    if before.status == PageStatus::Published {
        return Err(ApiError::Conflict(
            "the page is live: unpublish it first, or publish now".into(),
        ));
    }
    let page = pages::update(
        conn,
        page_id,
        &PageChanges {
            status: Some(PageStatus::Scheduled),
            publish_at: Some(Some(at)),
            ..Default::default()
        },
    )?;
    audit.event(
        conn,
        "page",
        "schedule",
        page.id,
        Some(&before),
        Some(&page),
    )?;
    // Published by a job at `at`, committed with the schedule. A job of an
    // earlier schedule finds the page not yet due and does nothing.
    jobs::enqueue(
        conn,
        &NewJob::new(page.tenant_id, PUBLISH_JOB, json!({ "page_id": page.id }))
            .run_at(at)
            .priority(1)
            .unique(publish_job_key(page.id, at)),
    )?;
    Ok(Outcome {
        invalidation: Invalidation::site(page.tenant_id, page.site_id),
        page,
        revision: None,
    })
}

/// Makes an older revision live again, as a new revision with its content.
pub fn restore(
    conn: &mut PgConnection,
    audit: &Audit,
    media: &MediaConfig,
    page_id: Uuid,
    revision_id: Uuid,
    if_match: &IfMatch,
) -> Result<Outcome, ApiError> {
    let before = pages::lock(conn, page_id)?.ok_or(ApiError::NotFound)?;
    if_match.check(before.version)?;
    let old = pages::find_revision(conn, page_id, revision_id)?.ok_or(ApiError::NotFound)?;
    let mut snapshot = old.snapshot;
    snapshot["published_at"] = json!(Utc::now());
    // Its images as they are now (renditions may have been remade since).
    refuse_deleted_media(conn, &snapshot)?;
    resolve::resolve_snapshot(conn, media, &mut snapshot)?;
    make_live(conn, audit, &before, snapshot, "restore")
}

/// Takes the page off delivery (it goes back to draft; revisions are kept).
pub fn unpublish(
    conn: &mut PgConnection,
    audit: &Audit,
    page_id: Uuid,
    if_match: &IfMatch,
) -> Result<Outcome, ApiError> {
    let before = pages::lock(conn, page_id)?.ok_or(ApiError::NotFound)?;
    if_match.check(before.version)?;
    let page = pages::update(
        conn,
        page_id,
        &PageChanges {
            status: Some(PageStatus::Draft),
            publish_at: Some(None),
            ..Default::default()
        },
    )?;
    audit.event(
        conn,
        "page",
        "unpublish",
        page.id,
        Some(&before),
        Some(&page),
    )?;
    crate::webhooks::emit(conn, page.tenant_id, "page.unpublished", &page)?;
    Ok(Outcome {
        invalidation: invalidation_for(&before, &page),
        page,
        revision: None,
    })
}

/// What deleting or archiving a page makes stale.
pub fn invalidation_of(page: &Page) -> Invalidation {
    invalidation_for(page, page)
}
