//! `/api/v1/sites` and `/api/v1/sites/{id}/domains`: a tenant's landings and the
//! hosts they answer on. Row-level security confines every query to the
//! caller's tenant, so another tenant's site is simply not found (404).

mod crud;
mod hosts;

use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::FieldError;
use crate::http::json::{rules, Validate};

use crud::{create_site, delete_site, get_site, list_sites, update_site};
use hosts::{add_domain, list_domains, remove_domain};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_sites)
        .service(create_site)
        .service(get_site)
        .service(update_site)
        .service(delete_site)
        .service(list_domains)
        .service(add_domain)
        .service(remove_domain);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSite {
    pub name: String,
    /// Default `en`; must be one of `locales`.
    pub default_locale: Option<String>,
    /// Default `[default_locale]`.
    pub locales: Option<Vec<String>>,
    #[schema(value_type = Option<HashMap<String, serde_json::Value>>)]
    pub theme: Option<Value>,
    #[schema(value_type = Option<HashMap<String, serde_json::Value>>)]
    pub analytics: Option<Value>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSite {
    pub name: Option<String>,
    pub default_locale: Option<String>,
    pub locales: Option<Vec<String>>,
    #[schema(value_type = Option<HashMap<String, serde_json::Value>>)]
    pub theme: Option<Value>,
    #[schema(value_type = Option<HashMap<String, serde_json::Value>>)]
    pub analytics: Option<Value>,
}

fn validate_site_fields(
    errors: &mut Vec<FieldError>,
    name: Option<&str>,
    default_locale: Option<&str>,
    locales: Option<&[String]>,
    theme: Option<&Value>,
    analytics: Option<&Value>,
) {
    if let Some(name) = name {
        rules::text(errors, "name", name, 200);
    }
    if let Some(locale) = default_locale {
        rules::locale(errors, "default_locale", locale);
    }
    if let Some(locales) = locales {
        if locales.is_empty() || locales.len() > 50 {
            errors.push(FieldError::new("locales", "must list 1 to 50 locales"));
        }
        for (index, locale) in locales.iter().enumerate() {
            rules::locale(errors, &format!("locales.{index}"), locale);
        }
        if let Some(default) = default_locale {
            if !locales.iter().any(|locale| locale == default) {
                errors.push(FieldError::new("default_locale", "must be one of locales"));
            }
        }
    }
    for (field, value) in [("theme", theme), ("analytics", analytics)] {
        if value.is_some_and(|value| !value.is_object()) {
            errors.push(FieldError::new(field, "must be a JSON object"));
        }
    }
}

impl Validate for CreateSite {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let default_locale = self.default_locale.as_deref().unwrap_or("en");
        validate_site_fields(
            &mut errors,
            Some(&self.name),
            Some(default_locale),
            self.locales.as_deref(),
            self.theme.as_ref(),
            self.analytics.as_ref(),
        );
        errors
    }
}

impl Validate for UpdateSite {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        validate_site_fields(
            &mut errors,
            self.name.as_deref(),
            self.default_locale.as_deref(),
            self.locales.as_deref(),
            self.theme.as_ref(),
            self.analytics.as_ref(),
        );
        errors
    }
}
