//! Starting, pausing and completing an experiment (optionally adopting a
//! variant into the page's draft).

use actix_web::{post, web, HttpResponse};
use chrono::Utc;
use cms_shared::experiments::{apply_variant, Variant};
use diesel::PgConnection;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::auth::roles::Permission;
use crate::content::publish;
use crate::db::audit::Audit;
use crate::db::experiments::{self, Experiment, ExperimentChanges};
use crate::db::pages::{self, Block, Page};
use crate::error::{ApiError, FieldError, Problem};
use crate::http::etag::{ok_with_etag, IfMatch};
use crate::http::json::{ValidJson, Validate};
use crate::state::AppState;

use super::changed;

/// Moves `id` from one of `from` to `to`, audited. `prepare` sees the locked
/// experiment and its page and answers the other changes (or refuses), so
/// preconditions hold at the moment of the move. Answers the experiment and
/// its page.
fn transition(
    conn: &mut PgConnection,
    audit: &Audit,
    id: Uuid,
    (from, to): (&[&str], &str),
    prepare: impl FnOnce(&Experiment, &Page) -> Result<ExperimentChanges, ApiError>,
) -> Result<(Experiment, Page), ApiError> {
    let before = experiments::lock(conn, id)?.ok_or(ApiError::NotFound)?;
    if !from.contains(&before.status.as_str()) {
        return Err(ApiError::Conflict(format!(
            "a {} experiment cannot move to {to} (only from {})",
            before.status,
            from.join(" or ")
        )));
    }
    let page = pages::find(conn, before.page_id)?.ok_or(ApiError::NotFound)?;
    let mut changes = prepare(&before, &page)?;
    changes.status = Some(to.to_owned());
    let after = experiments::update(conn, id, &changes)?;
    audit.event(conn, "experiment", to, id, Some(&before), Some(&after))?;
    Ok((after, page))
}

/// Start (or resume) an experiment: delivery carries it from now on. The
/// page must be published.
#[utoipa::path(
    tag = "experiments",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Experiment), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = []))
)]
#[post("/experiments/{id}/start")]
pub(super) async fn start_experiment(
    state: web::Data<AppState>,
    ctx: TenantCtx,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let id = path.into_inner();
    let audit = ctx.audit();
    let (after, page) = ctx
        .tx(move |conn| {
            transition(
                conn,
                &audit,
                id,
                (&["draft", "paused"], "running"),
                |current, page| {
                    if page.status != "published" {
                        return Err(ApiError::Conflict(
                            "the page is not published: publish it before starting an experiment"
                                .into(),
                        ));
                    }
                    Ok(ExperimentChanges {
                        started_at: current.started_at.is_none().then_some(Some(Utc::now())),
                        ..Default::default()
                    })
                },
            )
        })
        .await?;
    changed(&state, id, Some(&page)).await;
    Ok(ok_with_etag(after.version, &after))
}

/// Pause a running experiment: everyone sees the control and events are
/// refused until it starts again.
#[utoipa::path(
    tag = "experiments",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Experiment), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = []))
)]
#[post("/experiments/{id}/pause")]
pub(super) async fn pause_experiment(
    state: web::Data<AppState>,
    ctx: TenantCtx,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let id = path.into_inner();
    let audit = ctx.audit();
    let (after, page) = ctx
        .tx(move |conn| {
            transition(conn, &audit, id, (&["running"], "paused"), |_, _| {
                Ok(ExperimentChanges::default())
            })
        })
        .await?;
    changed(&state, id, Some(&page)).await;
    Ok(ok_with_etag(after.version, &after))
}

/// How an experiment ends.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Completion {
    /// The variant key that won, if any.
    pub winner: Option<String>,
    /// Make the winner the page's content: its blocks become the draft and
    /// are published. Needs `winner`.
    #[serde(default)]
    pub publish: bool,
}

impl Validate for Completion {
    fn validate(&self) -> Vec<FieldError> {
        if self.publish && self.winner.is_none() {
            vec![FieldError::new("winner", "is required to publish a winner")]
        } else {
            Vec::new()
        }
    }
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

/// Complete an experiment (final). With `{"winner": "b", "publish": true}`
/// the winning variant becomes the page's published content.
#[utoipa::path(
    tag = "experiments",
    params(("id" = Uuid, Path)),
    request_body(content = Option<Completion>),
    responses((status = 200, body = Experiment), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[post("/experiments/{id}/complete")]
pub(super) async fn complete_experiment(
    state: web::Data<AppState>,
    ctx: TenantCtx,
    path: web::Path<Uuid>,
    body: Option<ValidJson<Completion>>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let id = path.into_inner();
    let completion = body.map(|body| body.0).unwrap_or_default();
    let audit = ctx.audit();
    let (after, page, published) = ctx
        .tx(move |conn| {
            let mut winner = None;
            let (after, page) = transition(
                conn,
                &audit,
                id,
                (&["running", "paused"], "completed"),
                |current, _| {
                    if let Some(key) = &completion.winner {
                        let variants: Vec<Variant> =
                            serde_json::from_value(current.variants.clone())
                                .map_err(ApiError::internal)?;
                        winner =
                            Some(variants.into_iter().find(|v| &v.key == key).ok_or_else(
                                || ApiError::invalid("winner", "is not a variant key"),
                            )?);
                    }
                    Ok(ExperimentChanges {
                        winner: Some(completion.winner.clone()),
                        completed_at: Some(Some(Utc::now())),
                        ..Default::default()
                    })
                },
            )?;
            let published = match winner.filter(|_| completion.publish) {
                Some(variant) => {
                    adopt_variant(conn, &audit, &page, id, &variant)?;
                    Some(publish::publish_now(
                        conn,
                        &audit,
                        page.id,
                        &IfMatch::default(),
                    )?)
                }
                None => None,
            };
            Ok((after, page, published))
        })
        .await?;
    changed(&state, id, Some(&page)).await;
    if let Some(outcome) = published {
        state
            .cache
            .invalidate(&state.kv, outcome.invalidation)
            .await;
    }
    Ok(ok_with_etag(after.version, &after))
}
