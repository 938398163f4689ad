//! Message templates: list, create or replace, preview.

use actix_web::{get, post, put, web};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::auth::roles::Permission;
use crate::db::notifications::{self as db, Template};
use crate::error::{ApiError, FieldError, Problem};
use crate::http::json::{ValidJson, Validate};
use crate::http::pagination::ListResponse;
use crate::notifications::{templates, Channel, Event};

/// One template to create or replace, by event, channel and locale.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutTemplate {
    /// `appointment.booked`, `appointment.confirmed`, `appointment.cancelled`,
    /// `appointment.rescheduled`, `appointment.reminder`, `lead.received`,
    /// `review.pending`.
    pub event: String,
    /// `sms` or `email`.
    pub channel: String,
    /// Two letters: `ru`, `en`.
    pub locale: String,
    #[serde(default)]
    pub subject: String,
    /// A tera template.
    pub body: String,
}

fn check_key(event: &str, channel: &str, locale: &str, errors: &mut Vec<FieldError>) {
    if Event::parse(event).is_none() {
        errors.push(FieldError::new("event", "is not a notification event"));
    }
    if Channel::parse(channel).is_none() {
        errors.push(FieldError::new("channel", "must be sms or email"));
    }
    if locale.len() != 2 || !locale.chars().all(|c| c.is_ascii_lowercase()) {
        errors.push(FieldError::new("locale", "must be two lowercase letters"));
    }
}

impl Validate for PutTemplate {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        check_key(&self.event, &self.channel, &self.locale, &mut errors);
        if self.body.trim().is_empty() || self.body.len() > 4000 {
            errors.push(FieldError::new("body", "must be 1 to 4000 characters"));
        } else if let Err(error) = templates::check("body", &self.body) {
            errors.push(error);
        }
        if self.subject.len() > 300 {
            errors.push(FieldError::new("subject", "must be at most 300 characters"));
        } else if let Err(error) = templates::check("subject", &self.subject) {
            errors.push(error);
        }
        errors
    }
}

/// The tenant's own templates (events without one use the built-in text).
#[utoipa::path(
    tag = "notifications",
    responses((status = 200, body = ListResponse<Template>), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/notification-templates")]
pub(super) async fn list_templates(
    ctx: TenantCtx,
) -> Result<web::Json<ListResponse<Template>>, ApiError> {
    ctx.require(Permission::ManageSettings)?;
    let rows = ctx.read(|conn| Ok(db::templates(conn)?)).await?;
    Ok(web::Json(ListResponse::complete(rows)))
}

/// Create or replace the template of an event, channel and locale.
#[utoipa::path(
    tag = "notifications",
    request_body = PutTemplate,
    responses((status = 200, body = Template), (status = 403, body = Problem), (status = 422, description = "Unknown event or channel, or a body that does not compile", body = Problem)),
    security(("bearer" = []))
)]
#[put("/notification-templates")]
pub(super) async fn put_template(
    ctx: TenantCtx,
    body: ValidJson<PutTemplate>,
) -> Result<web::Json<Template>, ApiError> {
    ctx.require(Permission::ManageSettings)?;
    let body = body.0;
    let audit = ctx.audit();
    let now = Utc::now();
    let template = Template {
        id: Uuid::now_v7(),
        tenant_id: ctx.tenant_id,
        event: body.event,
        channel: body.channel,
        locale: body.locale,
        subject: body.subject,
        body: body.body,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let saved = ctx
        .tx(move |conn| {
            let before = db::template(conn, &template.event, &template.channel, &template.locale)?;
            let after = db::upsert_template(conn, &template)?;
            match before {
                Some(before) => {
                    audit.updated(conn, "notification_template", after.id, &before, &after)?
                }
                None => audit.created(conn, "notification_template", after.id, &after)?,
            }
            Ok(after)
        })
        .await?;
    Ok(web::Json(saved))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewTemplate {
    #[serde(default)]
    pub subject: String,
    pub body: String,
    /// Values to render with instead of the sample ones.
    pub values: Option<Value>,
}

impl Validate for PreviewTemplate {
    fn validate(&self) -> Vec<FieldError> {
        [
            templates::check("subject", &self.subject),
            templates::check("body", &self.body),
        ]
        .into_iter()
        .filter_map(Result::err)
        .collect()
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Preview {
    pub subject: String,
    pub body: String,
}

/// Render a template with sample data.
#[utoipa::path(
    tag = "notifications",
    request_body = PreviewTemplate,
    responses((status = 200, body = Preview), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[post("/notification-templates/preview")]
pub(super) async fn preview_template(
    ctx: TenantCtx,
    body: ValidJson<PreviewTemplate>,
) -> Result<web::Json<Preview>, ApiError> {
    ctx.require(Permission::ManageSettings)?;
    let values = body.0.values.unwrap_or_else(templates::sample_values);
    let render = |field: &str, source: &str| {
        templates::render(source, &values)
            .map_err(|err| ApiError::invalid(field, format!("does not render: {err}")))
    };
    Ok(web::Json(Preview {
        subject: render("subject", &body.0.subject)?,
        body: render("body", &body.0.body)?,
    }))
}
