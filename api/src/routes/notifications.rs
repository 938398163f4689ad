//! `/api/v1/notification-*` and `/api/v1/notifications`: a tenant's message
//! templates, notification settings, SMS/email providers (credentials are
//! write-only) and the log of messages sent, for owners and admins.

use actix_web::{get, post, put, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::auth::roles::Permission;
use crate::db::notifications::{self as db, Notification, Provider, Settings, Template};
use crate::error::{ApiError, FieldError, Problem};
use crate::http::json::{ValidJson, Validate};
use crate::http::pagination::{ListResponse, PageQuery, PageRequest};
use crate::notifications::secrets::Keys;
use crate::notifications::{parse_time, templates, Channel, Event};
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_templates)
        .service(put_template)
        .service(preview_template)
        .service(get_settings)
        .service(put_settings)
        .service(list_providers)
        .service(put_provider)
        .service(list_notifications);
}

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
async fn list_templates(ctx: TenantCtx) -> Result<web::Json<ListResponse<Template>>, ApiError> {
    ctx.require(Permission::ManageSettings)?;
    let rows = ctx.tx(|conn| Ok(db::templates(conn)?)).await?;
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
async fn put_template(
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
async fn preview_template(
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

/// The tenant's notification settings (defaults until saved).
#[utoipa::path(
    tag = "notifications",
    responses((status = 200, body = Settings), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/notification-settings")]
async fn get_settings(ctx: TenantCtx) -> Result<web::Json<Settings>, ApiError> {
    ctx.require(Permission::ManageSettings)?;
    let tenant = ctx.tenant_id;
    Ok(web::Json(
        ctx.tx(move |conn| Ok(db::settings(conn, tenant)?)).await?,
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
async fn put_settings(
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

/// A configured provider, without its credentials.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderView {
    /// `sms_ru`, `smsc`, `smsaero` or `smtp`.
    pub kind: String,
    pub channel: String,
    pub base_url: Option<String>,
    pub sender: String,
    pub is_active: bool,
    /// Always true: credentials are stored (sealed) and never answered.
    pub credentials_set: bool,
    pub updated_at: DateTime<Utc>,
}

impl From<&Provider> for ProviderView {
    fn from(provider: &Provider) -> Self {
        ProviderView {
            kind: provider.kind.clone(),
            channel: provider.channel.clone(),
            base_url: provider.base_url.clone(),
            sender: provider.sender.clone(),
            is_active: provider.is_active,
            credentials_set: true,
            updated_at: provider.updated_at,
        }
    }
}

/// Credentials and settings of one provider. Credentials by kind:
/// `sms_ru` {api_id}; `smsc` {login, password}; `smsaero` {email, api_key};
/// `smtp` {username, password} (optional).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutProvider {
    #[schema(value_type = Object)]
    pub credentials: serde_json::Map<String, Value>,
    /// The provider's API (or `smtp://host:port`); default its public one.
    pub base_url: Option<String>,
    #[serde(default)]
    pub sender: String,
    #[serde(default = "active")]
    pub is_active: bool,
}

fn active() -> bool {
    true
}

/// The credential fields each kind needs.
fn required_credentials(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "sms_ru" => &["api_id"],
        "smsc" => &["login", "password"],
        "smsaero" => &["email", "api_key"],
        "smtp" => &[],
        _ => return None,
    })
}

impl Validate for PutProvider {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if self.credentials.values().any(|v| !v.is_string()) {
            errors.push(FieldError::new("credentials", "values must be strings"));
        }
        if let Some(url) = &self.base_url {
            let ok = ["http://", "https://", "smtp://", "smtps://"]
                .iter()
                .any(|p| url.starts_with(p));
            if !ok || url.len() > 300 {
                errors.push(FieldError::new(
                    "base_url",
                    "must be an http(s) or smtp URL",
                ));
            }
        }
        if self.sender.len() > 64 {
            errors.push(FieldError::new("sender", "must be at most 64 characters"));
        }
        errors
    }
}

/// Configure a provider. Credentials are sealed (ChaCha20-Poly1305) and never
/// answered or logged; the answer says which provider is configured.
#[utoipa::path(
    tag = "notifications",
    params(("kind" = String, Path, description = "sms_ru, smsc, smsaero or smtp")),
    request_body = PutProvider,
    responses((status = 200, body = ProviderView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[put("/notification-providers/{kind}")]
async fn put_provider(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ValidJson<PutProvider>,
) -> Result<web::Json<ProviderView>, ApiError> {
    ctx.require(Permission::ManageSettings)?;
    let kind = path.into_inner();
    let required = required_credentials(&kind).ok_or(ApiError::NotFound)?;
    let body = body.0;
    if let Some(missing) = required
        .iter()
        .find(|name| !body.credentials.contains_key(**name))
    {
        return Err(ApiError::invalid(
            &format!("credentials.{missing}"),
            "is required",
        ));
    }
    let keys = Keys::new(state.config.secrets_key, state.config.secrets_key_old);
    let plaintext = serde_json::to_vec(&body.credentials).unwrap_or_default();
    let sealed = keys.seal(ctx.tenant_id, &plaintext);
    let now = Utc::now();
    let provider = Provider {
        tenant_id: ctx.tenant_id,
        channel: if kind == "smtp" { "email" } else { "sms" }.into(),
        kind,
        base_url: body.base_url,
        sender: body.sender,
        key_id: sealed.key_id,
        nonce: sealed.nonce,
        ciphertext: sealed.ciphertext,
        is_active: body.is_active,
        created_at: now,
        updated_at: now,
    };
    let audit = ctx.audit();
    let tenant = ctx.tenant_id;
    let view = ctx
        .tx(move |conn| {
            let saved = db::upsert_provider(conn, &provider)?;
            let view = ProviderView::from(&saved);
            // The audit entry holds the view: never the credentials.
            audit.event(
                conn,
                "notification_provider",
                "configure",
                tenant,
                None,
                Some(&view),
            )?;
            Ok(view)
        })
        .await?;
    Ok(web::Json(view))
}

/// The configured providers, without credentials.
#[utoipa::path(
    tag = "notifications",
    responses((status = 200, body = ListResponse<ProviderView>), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/notification-providers")]
async fn list_providers(ctx: TenantCtx) -> Result<web::Json<ListResponse<ProviderView>>, ApiError> {
    ctx.require(Permission::ManageSettings)?;
    let rows = ctx.tx(|conn| Ok(db::providers(conn)?)).await?;
    Ok(web::Json(ListResponse::complete(
        rows.iter().map(ProviderView::from).collect(),
    )))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// The messages sent (and skipped or failed), newest first.
#[utoipa::path(
    tag = "notifications",
    params(LogQuery),
    responses((status = 200, body = ListResponse<Notification>), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[get("/notifications")]
async fn list_notifications(
    ctx: TenantCtx,
    query: web::Query<LogQuery>,
) -> Result<web::Json<ListResponse<Notification>>, ApiError> {
    ctx.require(Permission::ManageSettings)?;
    let query = query.into_inner();
    let page = PageRequest::try_from(PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    })?;
    let rows = ctx
        .tx({
            let page = page.clone();
            move |conn| Ok(db::list(conn, &page)?)
        })
        .await?;
    Ok(web::Json(ListResponse::from_rows(rows, &page, |row| {
        row.id
    })))
}
