//! `/api/v1/media`: the tenant's media library. Upload (multipart, judged
//! from the bytes), list with filters, read, edit (alt text, decorative,
//! title, tags, focal point, crop), delete (409 while used), usage,
//! regenerate after the presets change, and the tenant's quota.
//!
//! Split by action group: `upload` (the multipart form), `library` (list,
//! read, edit, delete, usage), `admin` (regenerate, quota).

mod admin;
mod library;
mod upload;

use crate::error::FieldError;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(upload::upload_media)
        .service(library::list_media)
        .service(admin::regenerate_media)
        .service(admin::get_quota)
        .service(admin::set_quota)
        .service(library::get_media)
        .service(library::update_media)
        .service(library::delete_media)
        .service(library::media_usage);
}

pub(super) fn check_tags(errors: &mut Vec<FieldError>, tags: &[String]) {
    if tags.len() > 30 {
        errors.push(FieldError::new("tags", "at most 30 tags"));
    }
    if tags
        .iter()
        .any(|tag| tag.is_empty() || tag.chars().count() > 50)
    {
        errors.push(FieldError::new("tags", "each tag has 1 to 50 characters"));
    }
}

pub(super) fn check_texts(errors: &mut Vec<FieldError>, alt: Option<&str>, title: Option<&str>) {
    if alt.is_some_and(|alt| alt.chars().count() > 1000) {
        errors.push(FieldError::new("alt", "must be at most 1000 characters"));
    }
    if title.is_some_and(|title| title.chars().count() > 300) {
        errors.push(FieldError::new("title", "must be at most 300 characters"));
    }
}
