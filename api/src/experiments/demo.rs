//! Demo experiments: a running headline test on the demo landing's home page,
//! so `make run` shows variants, exposures and results from the first visit;
//! and two running experiments on each load-test landing's home page, so the
//! renderer benchmark measures caching with experiments on.

use chrono::Utc;
use diesel::PgConnection;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::db::experiments::{self, Experiment, ExperimentStatus};
use crate::db::pages::{self, Block, Page, PageStatus};
use crate::db::routing;
use crate::error::ApiError;

/// The published home page of the site on `host` and its blocks, unless it
/// has experiments already (seeding is idempotent).
fn bare_home(conn: &mut PgConnection, host: &str) -> Result<Option<(Page, Vec<Block>)>, ApiError> {
    let Some(route) = routing::host(conn, host)? else {
        return Ok(None);
    };
    let Some(home) = pages::all_for_site(conn, route.site_id)?
        .into_iter()
        .find(|page| page.path == "/" && page.status == PageStatus::Published)
    else {
        return Ok(None);
    };
    if !experiments::list_for_page(conn, home.id)?.is_empty() {
        return Ok(None);
    }
    let blocks = pages::blocks(conn, home.id)?;
    Ok(Some((home, blocks)))
}

fn block_id(blocks: &[Block], module: &str) -> Option<String> {
    blocks
        .iter()
        .find(|block| block.module_key == module)
        .map(|block| block.id.to_string())
}

/// A running 50/50 experiment on `page` with the goal `lead_submitted`.
fn start(
    conn: &mut PgConnection,
    page: &Page,
    name: &str,
    hypothesis: &str,
    variants: Value,
) -> Result<(), ApiError> {
    let id = Uuid::now_v7();
    let now = Utc::now();
    experiments::insert(
        conn,
        &Experiment {
            id,
            tenant_id: page.tenant_id,
            site_id: page.site_id,
            page_id: page.id,
            name: name.into(),
            hypothesis: hypothesis.into(),
            status: ExperimentStatus::Running,
            coverage: 100.0,
            goal: "lead_submitted".into(),
            seed: id.to_string(),
            variants,
            targeting: json!([]),
            weight_history: json!([]),
            winner: None,
            version: 1,
            started_at: Some(now),
            completed_at: None,
            created_by: None,
            created_at: now,
            updated_at: now,
        },
    )?;
    Ok(())
}

/// Starts "Home headline" on the home page of the demo landing on `host`:
/// variant `b` changes the hero's title and the lead form's button.
pub fn seed(conn: &mut PgConnection, host: &str) -> Result<(), ApiError> {
    let Some((home, blocks)) = bare_home(conn, host)? else {
        return Ok(());
    };
    let (Some(hero), Some(form)) = (block_id(&blocks, "hero"), block_id(&blocks, "lead_form"))
    else {
        return Ok(());
    };
    start(
        conn,
        &home,
        "Home headline",
        "A concrete promise (this week, no queues) brings more callback requests than a general one.",
        json!([
            {"key": "a", "name": "Control", "weight": 50},
            {"key": "b", "name": "This week, no queues", "weight": 50, "overrides": {
                hero: {"title": "See a specialist this week, without queues"},
                form: {"submit_label": "Get my appointment"}
            }}
        ]),
    )
}

/// Starts two experiments on the home page of the load-test landing on
/// `host`: "Headline" (the hero's title) and "Proof" (a stats block after
/// the hero).
pub fn seed_pair(conn: &mut PgConnection, host: &str) -> Result<(), ApiError> {
    let Some((home, blocks)) = bare_home(conn, host)? else {
        return Ok(());
    };
    let Some(hero) = block_id(&blocks, "hero") else {
        return Ok(());
    };
    start(
        conn,
        &home,
        "Headline",
        "",
        json!([
            {"key": "a", "weight": 50},
            {"key": "b", "weight": 50, "overrides": {hero.clone(): {"title": "Book today, see a doctor this week"}}}
        ]),
    )?;
    start(
        conn,
        &home,
        "Proof",
        "",
        json!([
            {"key": "a", "weight": 50},
            {"key": "b", "weight": 50, "insert": [{"after": hero, "module": "stats", "props": {"items": [{"value": "40k", "label": "patients a year"}]}}]}
        ]),
    )
}
