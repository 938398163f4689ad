//! Every route of the api, one module per resource. The same registration
//! builds the actix router and the OpenAPI document, so they cannot drift.

pub mod audit;
pub mod auth;
pub mod health;
pub mod memberships;
pub mod sites;
pub mod spec;
pub mod tenants;
pub mod users;

use utoipa_actix_web::service_config::ServiceConfig;

/// Routes under `/api/v1`.
pub fn configure_v1(cfg: &mut ServiceConfig) {
    cfg.configure(auth::configure)
        .configure(tenants::configure)
        .configure(sites::configure)
        .configure(users::configure)
        .configure(memberships::configure)
        .configure(audit::configure)
        .configure(spec::configure);
}
