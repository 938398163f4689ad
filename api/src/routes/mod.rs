//! Every route of the api, one module per resource. The same registration
//! builds the actix router and the OpenAPI document, so they cannot drift.

pub mod admin_app;
pub mod appointments;
pub mod audit;
pub mod auth;
pub mod clinics;
pub mod delivery;
pub mod doctors;
pub mod experiment_events;
pub mod experiments;
pub mod health;
pub mod jobs;
pub mod leads;
pub mod media;
pub mod media_files;
pub mod memberships;
pub mod modules;
pub mod notifications;
pub mod pages;
pub mod patients;
pub mod reviews;
pub mod services;
pub mod site_transfer;
pub mod sites;
pub mod spec;
pub mod tenant_settings;
pub mod tenants;
pub mod users;
pub mod webhooks;

use utoipa_actix_web::service_config::ServiceConfig;

/// Routes under `/api/v1`.
pub fn configure_v1(cfg: &mut ServiceConfig) {
    // actix tries routes in this order, one pattern match each: the public
    // delivery routes, which carry nearly all the traffic (renderers), come
    // first so a miss does not pay for matching every management route.
    cfg.configure(delivery::configure)
        .configure(experiment_events::configure)
        .configure(auth::configure)
        .configure(tenants::configure)
        .configure(site_transfer::configure)
        .configure(sites::configure)
        .configure(modules::configure)
        .configure(pages::configure)
        .configure(experiments::configure)
        .configure(leads::configure)
        .configure(clinics::configure)
        .configure(services::configure)
        .configure(doctors::configure)
        .configure(appointments::configure)
        .configure(reviews::configure)
        .configure(patients::configure)
        .configure(tenant_settings::configure)
        .configure(users::configure)
        .configure(memberships::configure)
        .configure(audit::configure)
        .configure(jobs::configure)
        .configure(notifications::configure)
        .configure(webhooks::configure)
        .configure(media::configure)
        .configure(spec::configure);
}
