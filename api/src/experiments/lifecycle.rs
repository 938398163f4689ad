//! An experiment's lifecycle: `draft -> running <-> paused -> completed`.
//! Starting needs a published page; completing may name a winner and make
//! it the page's published content. Each move is checked against the locked
//! experiment, so preconditions hold at the moment of the move.

use chrono::Utc;
use cms_shared::experiments::{apply_variant, Variant};
use diesel::PgConnection;
use serde_json::json;
use uuid::Uuid;

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
