//! `/api/v1/pages/{id}/experiments` and `/api/v1/experiments/{id}`: A/B
//! experiments of a page, their lifecycle (`start`, `pause`, `complete`,
//! optionally publishing the winner), results and an HTML report.
//! Anything that changes what delivery serves invalidates the page.

use actix_web::http::header;
use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::Utc;
use cms_shared::experiments::{apply_variant, Variant};
use diesel::PgConnection;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::auth::roles::Permission;
use crate::content::publish;
use crate::db::audit::Audit;
use crate::db::experiments::{self, Experiment, ExperimentChanges};
use crate::db::pages::{self, Block, Page};
use crate::error::{ApiError, FieldError, Problem};
use crate::experiments::results::{self, Results};
use crate::experiments::{
    changes_more_than_weights, check_coverage, check_goal, check_hypothesis, check_name,
    check_targeting, check_variants, resolve_variants, weights_of, ExperimentPatch, NewExperiment,
};
use crate::http::etag::{created_with_etag, ok_with_etag, IfMatch};
use crate::http::json::{ValidJson, Validate};
use crate::http::pagination::ListResponse;
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_experiments)
        .service(create_experiment)
        .service(get_experiment)
        .service(update_experiment)
        .service(delete_experiment)
        .service(start_experiment)
        .service(pause_experiment)
        .service(complete_experiment)
        .service(experiment_results)
        .service(experiment_report);
}

impl Validate for NewExperiment {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        check_name(&mut errors, &self.name);
        check_hypothesis(&mut errors, &self.hypothesis);
        check_goal(&mut errors, &self.goal);
        check_coverage(&mut errors, self.coverage);
        check_variants(&mut errors, &self.variants);
        check_targeting(&mut errors, &self.targeting, &self.variants);
        errors
    }
}

impl Validate for ExperimentPatch {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if let Some(name) = &self.name {
            check_name(&mut errors, name);
        }
        if let Some(hypothesis) = &self.hypothesis {
            check_hypothesis(&mut errors, hypothesis);
        }
        if let Some(goal) = &self.goal {
            check_goal(&mut errors, goal);
        }
        if let Some(coverage) = self.coverage {
            check_coverage(&mut errors, coverage);
        }
        if let Some(variants) = &self.variants {
            check_variants(&mut errors, variants);
        }
        errors
    }
}

/// After a change commits: delivery and event validation see it at once.
async fn changed(state: &AppState, experiment: Uuid, page: Option<&Page>) {
    state.experiment_routes.forget(experiment).await;
    if let Some(page) = page {
        state
            .cache
            .invalidate(&state.kv, publish::invalidation_of(page))
            .await;
    }
}

/// A page's experiments, oldest first.
#[utoipa::path(
    tag = "experiments",
    params(("id" = Uuid, Path, description = "Page id")),
    responses((status = 200, body = ListResponse<Experiment>), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/pages/{id}/experiments")]
async fn list_experiments(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
) -> Result<web::Json<ListResponse<Experiment>>, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let page_id = path.into_inner();
    let items = ctx
        .tx(move |conn| {
            pages::find(conn, page_id)?.ok_or(ApiError::NotFound)?;
            Ok(experiments::list_for_page(conn, page_id)?)
        })
        .await?;
    Ok(web::Json(ListResponse {
        items,
        next_cursor: None,
    }))
}

/// Create a draft experiment on a page.
#[utoipa::path(
    tag = "experiments",
    params(("id" = Uuid, Path, description = "Page id")),
    request_body = NewExperiment,
    responses((status = 201, body = Experiment), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[post("/pages/{id}/experiments")]
async fn create_experiment(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
    body: ValidJson<NewExperiment>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let page_id = path.into_inner();
    let body = body.0;
    let (tenant_id, user_id) = (ctx.tenant_id, ctx.user.user_id());
    let audit = ctx.audit();
    let created = ctx
        .tx(move |conn| {
            let page = pages::find(conn, page_id)?.ok_or(ApiError::NotFound)?;
            let variants = resolve_variants(conn, page_id, body.variants)?;
            let id = Uuid::now_v7();
            let now = Utc::now();
            let created = experiments::insert(
                conn,
                &Experiment {
                    id,
                    tenant_id,
                    site_id: page.site_id,
                    page_id,
                    name: body.name.trim().to_owned(),
                    hypothesis: body.hypothesis.trim().to_owned(),
                    status: "draft".into(),
                    coverage: body.coverage,
                    goal: body.goal,
                    seed: id.to_string(),
                    variants,
                    targeting: serde_json::to_value(&body.targeting).map_err(ApiError::internal)?,
                    weight_history: json!([]),
                    winner: None,
                    version: 1,
                    started_at: None,
                    completed_at: None,
                    created_by: Some(user_id),
                    created_at: now,
                    updated_at: now,
                },
            )?;
            audit.created(conn, "experiment", created.id, &created)?;
            Ok(created)
        })
        .await?;
    Ok(created_with_etag(
        format!("/api/v1/experiments/{}", created.id),
        created.version,
        &created,
    ))
}

/// One experiment.
#[utoipa::path(
    tag = "experiments",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Experiment), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/experiments/{id}")]
async fn get_experiment(ctx: TenantCtx, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let id = path.into_inner();
    let experiment = ctx
        .tx(move |conn| experiments::find(conn, id)?.ok_or(ApiError::NotFound))
        .await?;
    Ok(ok_with_etag(experiment.version, &experiment))
}

/// Change an experiment. A draft takes any change. Once started (running or
/// paused) only the name, hypothesis, coverage and variant weights may change
/// (409 otherwise), and each weight change is recorded in `weight_history`.
/// A completed experiment is final.
#[utoipa::path(
    tag = "experiments",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)),
    request_body = ExperimentPatch,
    responses(
        (status = 200, body = Experiment), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 412, body = Problem), (status = 422, body = Problem)
    ),
    security(("bearer" = []))
)]
#[patch("/experiments/{id}")]
async fn update_experiment(
    state: web::Data<AppState>,
    ctx: TenantCtx,
    path: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<ExperimentPatch>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let id = path.into_inner();
    let patch = body.0;
    let audit = ctx.audit();
    let user_id = ctx.user.user_id();
    let (after, page) = ctx
        .tx(move |conn| {
            let before = experiments::lock(conn, id)?.ok_or(ApiError::NotFound)?;
            if_match.check(before.version)?;
            let old_variants: Vec<Variant> =
                serde_json::from_value(before.variants.clone()).map_err(ApiError::internal)?;
            let started = matches!(before.status.as_str(), "running" | "paused");
            if before.status == "completed" {
                return Err(ApiError::Conflict(
                    "the experiment is completed: create a new one to test again".into(),
                ));
            }
            let mut changes = ExperimentChanges {
                name: patch.name.map(|name| name.trim().to_owned()),
                hypothesis: patch.hypothesis.map(|h| h.trim().to_owned()),
                coverage: patch.coverage,
                ..Default::default()
            };
            if started && (patch.goal.is_some() || patch.targeting.is_some()) {
                return Err(ApiError::Conflict(
                    "the experiment has started: its goal and targeting are fixed (only name, hypothesis, coverage and weights may change)".into(),
                ));
            }
            let variants = patch.variants.unwrap_or_else(|| old_variants.clone());
            if let Some(targeting) = &patch.targeting {
                let mut errors = Vec::new();
                check_targeting(&mut errors, targeting, &variants);
                if !errors.is_empty() {
                    return Err(ApiError::Validation(errors));
                }
                changes.targeting =
                    Some(serde_json::to_value(targeting).map_err(ApiError::internal)?);
            }
            changes.goal = patch.goal;
            if variants != old_variants {
                if started {
                    if changes_more_than_weights(&old_variants, &variants) {
                        return Err(ApiError::Conflict(
                            "the experiment has started: variants cannot change, only their weights".into(),
                        ));
                    }
                    let mut history = before.weight_history.as_array().cloned().unwrap_or_default();
                    history.push(json!({
                        "at": Utc::now(),
                        "by": user_id,
                        "from": weights_of(&old_variants),
                        "to": weights_of(&variants),
                    }));
                    changes.weight_history = Some(Value::Array(history));
                    changes.variants =
                        Some(serde_json::to_value(&variants).map_err(ApiError::internal)?);
                } else {
                    changes.variants = Some(resolve_variants(conn, before.page_id, variants)?);
                }
            }
            let after = experiments::update(conn, id, &changes)?;
            audit.updated(conn, "experiment", id, &before, &after)?;
            // Delivery carries running experiments only.
            let page = if after.status == "running" {
                pages::find(conn, after.page_id)?
            } else {
                None
            };
            Ok((after, page))
        })
        .await?;
    changed(&state, id, page.as_ref()).await;
    Ok(ok_with_etag(after.version, &after))
}

/// Delete an experiment and its events; a running one must be paused or
/// completed first (409).
#[utoipa::path(
    tag = "experiments",
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = []))
)]
#[delete("/experiments/{id}")]
async fn delete_experiment(
    state: web::Data<AppState>,
    ctx: TenantCtx,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let id = path.into_inner();
    let audit = ctx.audit();
    ctx.tx(move |conn| {
        let before = experiments::lock(conn, id)?.ok_or(ApiError::NotFound)?;
        if before.status == "running" {
            return Err(ApiError::Conflict(
                "the experiment is running: pause or complete it first".into(),
            ));
        }
        experiments::delete(conn, id)?;
        audit.deleted(conn, "experiment", id, &before)?;
        Ok(())
    })
    .await?;
    changed(&state, id, None).await;
    Ok(HttpResponse::NoContent().finish())
}

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
async fn start_experiment(
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
async fn pause_experiment(
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
async fn complete_experiment(
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

async fn load_results(ctx: &TenantCtx, id: Uuid) -> Result<Results, ApiError> {
    ctx.require(Permission::ReadContent)?;
    ctx.tx(move |conn| {
        let experiment = experiments::find(conn, id)?.ok_or(ApiError::NotFound)?;
        results::compute(conn, &experiment)
    })
    .await
}

/// Per variant: visitors, conversions, rate, uplift over control with a 95%
/// interval, p-value, chance to beat control; the sample ratio check; the
/// cumulative series. Computed from the durable event record.
#[utoipa::path(
    tag = "experiments",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Results), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/experiments/{id}/results")]
async fn experiment_results(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let results = load_results(&ctx, path.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .json(results))
}

/// The results as an HTML page for editors, with an SVG chart of the
/// cumulative conversion rate per variant.
#[utoipa::path(
    tag = "experiments",
    params(("id" = Uuid, Path)),
    responses((status = 200, description = "HTML report", content_type = "text/html"), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/experiments/{id}/report")]
async fn experiment_report(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let results = load_results(&ctx, path.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
        ))
        .content_type("text/html; charset=utf-8")
        .body(results::report_html(&results)))
}
