//! The tenant's notification settings.

use actix_web::{get, put, web};
use chrono::Utc;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::extract::TenantCtx;
use crate::auth::roles::Permission;
use crate::db::notifications::{self as db, Settings};
use crate::error::{ApiError, FieldError, Problem};
use crate::http::json::{ValidJson, Validate};
use crate::notifications::{parse_time, Channel};

/// The tenant's notification settings (defaults until saved).
#[utoipa::path(
    tag = "notifications",
    responses((status = 200, body = Settings), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/notification-settings")]
pub(super) async fn get_notification_settings(
    ctx: TenantCtx,
) -> Result<web::Json<Settings>, ApiError> {
    ctx.require(Permission::ManageSettings)?;
    let tenant = ctx.tenant_id;
    Ok(web::Json(
        ctx.read(move |conn| Ok(db::settings(conn, tenant)?))
            .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutSettings {
    /// Minutes before a visit, 10 to 10080 each, at most 5.
    pub reminder_offsets: Vec<i32>,
    /// `HH:MM`, local time in each clinic's zone.
    pub quiet_start: String,
    pub quiet_end: String,
    pub channels: Vec<String>,
    pub locale: String,
    pub staff_email: Option<String>,
}

impl Validate for PutSettings {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if self.reminder_offsets.len() > 5
            || self
                .reminder_offsets
                .iter()
                .any(|m| !(10..=10080).contains(m))
        {
            errors.push(FieldError::new(
                "reminder_offsets",
                "must be at most 5 offsets of 10 to 10080 minutes",
            ));
        }
        for (field, value) in [
            ("quiet_start", &self.quiet_start),
            ("quiet_end", &self.quiet_end),
        ] {
            if parse_time(value).is_none() {
                errors.push(FieldError::new(field, "must be HH:MM"));
            }
        }
        if self.channels.iter().any(|c| Channel::parse(c).is_none()) {
            errors.push(FieldError::new("channels", "may list only sms and email"));
        }
        if self.locale.len() != 2 || !self.locale.chars().all(|c| c.is_ascii_lowercase()) {
            errors.push(FieldError::new("locale", "must be two lowercase letters"));
        }
        if let Some(email) = &self.staff_email {
            if email.len() > 254 || !email.contains('@') || email.contains(char::is_whitespace) {
                errors.push(FieldError::new("staff_email", "is not an email address"));
            }
        }
        errors
    }
}

/// Change the tenant's notification settings. Reminders already scheduled
/// keep their times; new bookings use the new settings.
#[utoipa::path(
    tag = "notifications",
    request_body = PutSettings,
    responses((status = 200, body = Settings), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[put("/notification-settings")]
pub(super) async fn put_notification_settings(
    ctx: TenantCtx,
    body: ValidJson<PutSettings>,
) -> Result<web::Json<Settings>, ApiError> {
    ctx.require(Permission::ManageSettings)?;
    let body = body.0;
    let tenant = ctx.tenant_id;
    let audit = ctx.audit();
    let mut offsets = body.reminder_offsets;
    offsets.sort_unstable_by(|a, b| b.cmp(a));
    offsets.dedup();
    let mut channels = body.channels;
    channels.sort();
    channels.dedup();
    let settings = Settings {
        tenant_id: tenant,
        reminder_offsets: offsets,
        quiet_start: parse_time(&body.quiet_start).unwrap_or_default(),
        quiet_end: parse_time(&body.quiet_end).unwrap_or_default(),
        channels,
        locale: body.locale,
        staff_email: body.staff_email,
        updated_at: Utc::now(),
    };
    let saved = ctx
        .tx(move |conn| {
            let before = db::settings(conn, tenant)?;
            let after = db::save_settings(conn, &settings)?;
            audit.updated(conn, "notification_settings", tenant, &before, &after)?;
            Ok(after)
        })
        .await?;
    Ok(web::Json(saved))
}
