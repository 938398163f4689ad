//! Landings show a tenant's clinic data (clinics, specializations, service
//! categories, services, doctors, published reviews) from one document per
//! site that renderers cache. Every change to that data tells them at once,
//! instead of leaving it to `CMS_RENDERER_FRESH_SECS`.

use uuid::Uuid;

use crate::db::{sites, Scope};
use crate::state::AppState;

/// Announces to renderers that `tenant_id`'s clinic data changed, for each of
/// its sites. Called after the change committed; a failure to announce is
/// logged (renderers still refresh within their freshness window).
pub async fn data_changed(state: &AppState, tenant_id: Uuid) {
    let scope = Scope {
        tenant_id: Some(tenant_id),
        user_id: None,
    };
    match state.db.tx(scope, |conn| Ok(sites::ids(conn)?)).await {
        Ok(site_ids) => {
            for site in site_ids {
                state
                    .cache
                    .announce_clinic_data(&state.kv, tenant_id, site)
                    .await;
            }
        }
        Err(err) => {
            tracing::warn!(error = %err, "cannot list sites to announce a clinic data change")
        }
    }
}
