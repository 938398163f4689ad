//! `preview`: drafts and variants through a preview token.

use actix_web::http::header;
use actix_web::{get, web, HttpResponse};
use cms_shared::delivery::DeliveryPage;
use cms_shared::experiments::{apply_variant, Variant};
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::content::publish::draft_snapshot;
use crate::db::experiments::{self, ExperimentStatus};
use crate::db::{pages, Scope};
use crate::error::{ApiError, Problem};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PreviewQuery {
    /// From `POST /api/v1/pages/{id}/preview-token`.
    pub token: String,
    /// Show this variant of the page's draft, running or paused experiments
    /// (the first that has it, or `experiment`'s).
    pub variant: Option<String>,
    /// Limit `variant` to this experiment.
    pub experiment: Option<Uuid>,
}

/// The experiment and variant a preview asks for: among the page's
/// experiments that are not completed (or just `experiment`), the newest
/// with a variant `key`.
fn preview_variant(
    conn: &mut diesel::PgConnection,
    page: &pages::Page,
    key: &str,
    experiment: Option<Uuid>,
) -> Result<(String, Variant), ApiError> {
    experiments::list_for_page(conn, page.id)?
        .into_iter()
        .rev()
        .filter(|x| {
            x.status != ExperimentStatus::Completed && experiment.is_none_or(|id| id == x.id)
        })
        .find_map(|x| {
            let variants: Vec<Variant> = serde_json::from_value(x.variants).ok()?;
            let variant = variants.into_iter().find(|v| v.key == key)?;
            Some((x.id.to_string(), variant))
        })
        .ok_or_else(|| ApiError::invalid("variant", "no open experiment of this page has it"))
}

/// The current draft of the page a preview token names, optionally with a
/// variant of one of its experiments applied. Never cached, never counted.
#[utoipa::path(
    tag = "delivery",
    params(PreviewQuery),
    responses(
        (status = 200, description = "The page's draft (`preview: true`), never cached", body = DeliveryPage),
        (status = 401, description = "The token is forged or expired", body = Problem),
        (status = 404, description = "The page no longer exists", body = Problem),
        (status = 422, description = "No open experiment of the page has the variant", body = Problem),
    )
)]
#[get("/delivery/preview")]
pub(super) async fn preview(
    state: web::Data<AppState>,
    query: web::Query<PreviewQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let claims = state.config.signing_key.verify_preview(&query.token)?;
    let media = state.config.media.clone();
    let snapshot = state
        .db
        .read(
            Scope {
                tenant_id: Some(claims.tid),
                user_id: None,
            },
            move |conn| {
                let page = pages::find(conn, claims.page)?.ok_or(ApiError::NotFound)?;
                let mut snapshot = draft_snapshot(conn, &media, &page, None)?;
                snapshot["preview"] = json!(true);
                if let Some(key) = &query.variant {
                    let shown = preview_variant(conn, &page, key, query.experiment)?;
                    apply_variant(&mut snapshot, &shown.0, &shown.1);
                    snapshot["preview_variant"] = json!({"experiment": shown.0, "variant": key});
                }
                // Through the contract type: a draft that would not
                // deserialise for a client fails here, not in a renderer.
                serde_json::from_value::<DeliveryPage>(snapshot).map_err(ApiError::internal)
            },
        )
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store, private"))
        .insert_header(("X-Robots-Tag", "noindex"))
        .json(snapshot))
}
