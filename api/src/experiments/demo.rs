//! The demo landing's experiment: a running headline test on the home page,
//! so `make run` shows variants, exposures and results from the first visit.

use chrono::Utc;
use diesel::PgConnection;
use serde_json::json;
use uuid::Uuid;

use crate::db::experiments::{self, Experiment};
use crate::db::{pages, routing};
use crate::error::ApiError;

/// Starts "Home headline" on the home page of the site on `host`, unless the
/// page already has experiments. Runs in the tenant's scope.
pub fn seed(conn: &mut PgConnection, tenant_id: Uuid, host: &str) -> Result<(), ApiError> {
    let Some(route) = routing::host(conn, host)? else {
        return Ok(());
    };
    let Some(home) = pages::all_for_site(conn, route.site_id)?
        .into_iter()
        .find(|page| page.path == "/" && page.status == "published")
    else {
        return Ok(());
    };
    if !experiments::list_for_page(conn, home.id)?.is_empty() {
        return Ok(());
    }
    let blocks = pages::blocks(conn, home.id)?;
    let block_of = |module: &str| {
        blocks
            .iter()
            .find(|block| block.module_key == module)
            .map(|block| block.id.to_string())
    };
    let (Some(hero), Some(form)) = (block_of("hero"), block_of("lead_form")) else {
        return Ok(());
    };
    let id = Uuid::now_v7();
    let now = Utc::now();
    experiments::insert(
        conn,
        &Experiment {
            id,
            tenant_id,
            site_id: route.site_id,
            page_id: home.id,
            name: "Home headline".into(),
            hypothesis: "A concrete promise (this week, no queues) brings more callback requests than a general one.".into(),
            status: "running".into(),
            coverage: 100.0,
            goal: "lead_submitted".into(),
            seed: id.to_string(),
            variants: json!([
                {"key": "a", "name": "Control", "weight": 50},
                {"key": "b", "name": "This week, no queues", "weight": 50, "overrides": {
                    hero: {"title": "See a specialist this week, without queues"},
                    form: {"submit_label": "Get my appointment"}
                }}
            ]),
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
