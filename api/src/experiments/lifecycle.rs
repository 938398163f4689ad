//! An experiment's lifecycle: `draft -> running <-> paused -> completed`.
//! Starting needs a published page; completing may name a winner and make
//! it the page's published content. Each move is checked against the locked
//! experiment, so preconditions hold at the moment of the move. Edits follow
//! the same rules: a started experiment keeps its goal, targeting and
//! variants (only weights move, recorded in its weight history), a completed
//! one is final, and a running one cannot be deleted.

use chrono::Utc;
use cms_shared::experiments::{apply_variant, Variant};
use diesel::PgConnection;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{
    changes_more_than_weights, check_targeting, resolve_variants, weights_of, ExperimentPatch,
};
use crate::content::publish::{self, Outcome};
use crate::db::audit::Audit;
use crate::db::experiments::{self, Experiment, ExperimentChanges, ExperimentStatus};
use crate::db::pages::{self, Block, Page, PageStatus};
use crate::error::ApiError;
use crate::http::etag::IfMatch;

/// Moves `id` from one of `from` to `to`, audited. `prepare` sees the locked
/// experiment and its page and answers the other changes (or refuses), so
/// preconditions hold at the moment of the move. Answers the experiment and
/// its page.
fn transition(
    conn: &mut PgConnection,
    audit: &Audit,
    id: Uuid,
    (from, to): (&[ExperimentStatus], ExperimentStatus),
    prepare: impl FnOnce(&Experiment, &Page) -> Result<ExperimentChanges, ApiError>,
) -> Result<(Experiment, Page), ApiError> {
    let before = experiments::lock(conn, id)?.ok_or(ApiError::NotFound)?;
    if !from.contains(&before.status) {
        let from: Vec<&str> = from.iter().map(|status| status.as_str()).collect();
        return Err(ApiError::Conflict(format!(
            "a {} experiment cannot move to {to} (only from {})",
            before.status,
            from.join(" or ")
        )));
    }
    let page = pages::find(conn, before.page_id)?.ok_or(ApiError::NotFound)?;
    let mut changes = prepare(&before, &page)?;
    changes.status = Some(to);
    let after = experiments::update(conn, id, &changes)?;
    audit.event(
        conn,
        "experiment",
        to.as_str(),
        id,
        Some(&before),
        Some(&after),
    )?;
    let event = match to {
        ExperimentStatus::Running => Some("experiment.started"),
        ExperimentStatus::Completed => Some("experiment.completed"),
        _ => None,
    };
    if let Some(event) = event {
        crate::webhooks::emit(conn, after.tenant_id, event, &after)?;
    }
    Ok((after, page))
}

/// Starts (or resumes) a draft or paused experiment: delivery carries it
/// from now on. The page must be published (409 otherwise).
pub fn start(
    conn: &mut PgConnection,
    audit: &Audit,
    id: Uuid,
) -> Result<(Experiment, Page), ApiError> {
    transition(
        conn,
        audit,
        id,
        (
            &[ExperimentStatus::Draft, ExperimentStatus::Paused],
            ExperimentStatus::Running,
        ),
        |current, page| {
            if page.status != PageStatus::Published {
                return Err(ApiError::Conflict(
                    "the page is not published: publish it before starting an experiment".into(),
                ));
            }
            Ok(ExperimentChanges {
                started_at: current.started_at.is_none().then_some(Some(Utc::now())),
                ..Default::default()
            })
        },
    )
}

/// Pauses a running experiment: everyone sees the control and events are
/// refused until it starts again.
pub fn pause(
    conn: &mut PgConnection,
    audit: &Audit,
    id: Uuid,
) -> Result<(Experiment, Page), ApiError> {
    transition(
        conn,
        audit,
        id,
        (&[ExperimentStatus::Running], ExperimentStatus::Paused),
        |_, _| Ok(ExperimentChanges::default()),
    )
}

/// Completes a running or paused experiment (final), recording `winner` (a
/// variant key, 422 otherwise). With `publish`, the winner's content becomes
/// the page's draft and is published: answers that publication too.
pub fn complete(
    conn: &mut PgConnection,
    audit: &Audit,
    media: &crate::config::MediaConfig,
    id: Uuid,
    winner: Option<String>,
    publish: bool,
) -> Result<(Experiment, Page, Option<Outcome>), ApiError> {
    let mut winning = None;
    let (after, page) = transition(
        conn,
        audit,
        id,
        (
            &[ExperimentStatus::Running, ExperimentStatus::Paused],
            ExperimentStatus::Completed,
        ),
        |current, _| {
            if let Some(key) = &winner {
                let variants: Vec<Variant> =
                    serde_json::from_value(current.variants.clone()).map_err(ApiError::internal)?;
                winning = Some(
                    variants
                        .into_iter()
                        .find(|v| &v.key == key)
                        .ok_or_else(|| ApiError::invalid("winner", "is not a variant key"))?,
                );
            }
            Ok(ExperimentChanges {
                winner: Some(winner.clone()),
                completed_at: Some(Some(Utc::now())),
                ..Default::default()
            })
        },
    )?;
    let published = match winning.filter(|_| publish) {
        Some(variant) => {
            adopt_variant(conn, audit, &page, id, &variant)?;
            Some(publish::publish_now(
                conn,
                audit,
                media,
                page.id,
                &IfMatch::default(),
            )?)
        }
        None => None,
    };
    Ok((after, page, published))
}

/// The page's live blocks with `variant` applied become its draft blocks
/// (block ids kept where they exist), ready to publish.
fn adopt_variant(
    conn: &mut PgConnection,
    audit: &Audit,
    page: &Page,
    experiment_id: Uuid,
    variant: &Variant,
) -> Result<(), ApiError> {
    let live = match page.published_revision_id {
        Some(revision) => {
            pages::find_revision(conn, page.id, revision)?
                .ok_or(ApiError::NotFound)?
                .snapshot
        }
        None => {
            return Err(ApiError::Conflict(
                "the page has no live revision to apply the winner to".into(),
            ))
        }
    };
    let mut content = live;
    apply_variant(&mut content, &experiment_id.to_string(), variant);
    let existing = pages::blocks(conn, page.id)?;
    for block in &existing {
        pages::delete_block(conn, block.id)?;
    }
    let now = Utc::now();
    let rows: Vec<Block> = content["blocks"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(position, block)| Block {
            id: block["id"]
                .as_str()
                .and_then(|id| Uuid::parse_str(id).ok())
                .unwrap_or_else(Uuid::now_v7),
            tenant_id: page.tenant_id,
            page_id: page.id,
            position: i32::try_from(position).unwrap_or(i32::MAX),
            module_key: block["module"].as_str().unwrap_or_default().to_owned(),
            props: block["props"].clone(),
            version: 1,
            created_at: now,
            updated_at: now,
            hidden: false,
        })
        .collect();
    pages::insert_blocks(conn, &rows)?;
    audit.event(
        conn,
        "page",
        "adopt_variant",
        page.id,
        Some(&json!({"blocks": existing.len()})),
        Some(&json!({"experiment": experiment_id, "variant": variant.key, "blocks": rows.len()})),
    )?;
    Ok(())
}

/// Applies an editor's `patch` to `id` (locked, checked against `if_match`),
/// audited. Answers the experiment and, while it runs, its page (whose
/// delivery then changes).
pub fn update(
    conn: &mut PgConnection,
    audit: &Audit,
    id: Uuid,
    if_match: &IfMatch,
    patch: ExperimentPatch,
    user_id: Uuid,
) -> Result<(Experiment, Option<Page>), ApiError> {
    let before = experiments::lock(conn, id)?.ok_or(ApiError::NotFound)?;
    if_match.check(before.version)?;
    if before.status == ExperimentStatus::Completed {
        return Err(ApiError::Conflict(
            "the experiment is completed: create a new one to test again".into(),
        ));
    }
    let started = matches!(
        before.status,
        ExperimentStatus::Running | ExperimentStatus::Paused
    );
    if started && (patch.goal.is_some() || patch.targeting.is_some()) {
        return Err(ApiError::Conflict(
            "the experiment has started: its goal and targeting are fixed (only name, hypothesis, coverage and weights may change)".into(),
        ));
    }
    let old_variants: Vec<Variant> =
        serde_json::from_value(before.variants.clone()).map_err(ApiError::internal)?;
    let mut changes = ExperimentChanges {
        name: patch.name.map(|name| name.trim().to_owned()),
        hypothesis: patch.hypothesis.map(|h| h.trim().to_owned()),
        coverage: patch.coverage,
        goal: patch.goal,
        ..Default::default()
    };
    let variants = patch.variants.unwrap_or_else(|| old_variants.clone());
    if let Some(targeting) = &patch.targeting {
        let mut errors = Vec::new();
        check_targeting(&mut errors, targeting, &variants);
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        changes.targeting = Some(serde_json::to_value(targeting).map_err(ApiError::internal)?);
    }
    if variants != old_variants {
        if started {
            if changes_more_than_weights(&old_variants, &variants) {
                return Err(ApiError::Conflict(
                    "the experiment has started: variants cannot change, only their weights".into(),
                ));
            }
            let mut history = before
                .weight_history
                .as_array()
                .cloned()
                .unwrap_or_default();
            history.push(json!({
                "at": Utc::now(),
                "by": user_id,
                "from": weights_of(&old_variants),
                "to": weights_of(&variants),
            }));
            changes.weight_history = Some(Value::Array(history));
            changes.variants = Some(serde_json::to_value(&variants).map_err(ApiError::internal)?);
        } else {
            changes.variants = Some(resolve_variants(conn, before.page_id, variants)?);
        }
    }
    let after = experiments::update(conn, id, &changes)?;
    audit.updated(conn, "experiment", id, &before, &after)?;
    // Delivery carries running experiments only.
    let page = if after.status == ExperimentStatus::Running {
        pages::find(conn, after.page_id)?
    } else {
        None
    };
    Ok((after, page))
}

/// Deletes `id` and its events, audited; a running experiment must be paused
/// or completed first (409).
pub fn delete(conn: &mut PgConnection, audit: &Audit, id: Uuid) -> Result<(), ApiError> {
    let before = experiments::lock(conn, id)?.ok_or(ApiError::NotFound)?;
    if before.status == ExperimentStatus::Running {
        return Err(ApiError::Conflict(
            "the experiment is running: pause or complete it first".into(),
        ));
    }
    experiments::delete(conn, id)?;
    audit.deleted(conn, "experiment", id, &before)?;
    Ok(())
}
