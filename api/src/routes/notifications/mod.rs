//! `/api/v1/notification-*` and `/api/v1/notifications`: a tenant's message
//! templates (`templates`), notification settings (`settings`), SMS/email
//! providers with write-only credentials and the log of messages
//! (`providers`), for owners and admins.

mod providers;
mod settings;
mod templates;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(templates::list_templates)
        .service(templates::put_template)
        .service(templates::preview_template)
        .service(settings::get_notification_settings)
        .service(settings::put_notification_settings)
        .service(providers::list_providers)
        .service(providers::put_provider)
        .service(providers::list_notifications)
        .service(providers::resend_notification);
}
