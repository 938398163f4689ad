//! Providers (credentials sealed, never answered) and the message log.

use actix_web::{get, post, put, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::auth::roles::Permission;
use crate::db::notifications::{self as db, Notification, Provider};
use crate::error::{ApiError, FieldError, Problem};
use crate::http::json::{ValidJson, Validate};
use crate::http::pagination::{ListResponse, PageQuery, PageRequest};
use crate::state::AppState;

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
    /// Field names by kind (see above); values are strings.
    #[schema(value_type = std::collections::HashMap<String, String>)]
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
pub(super) async fn put_provider(
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
    if kind == "smtp" {
        if let Some(url) = body
            .base_url
            .as_deref()
            .or(state.config.smtp_relay_url.as_deref())
        {
            let mut smtp = crate::notifications::email::Smtp::from_url(url, &body.sender)
                .map_err(|reason| ApiError::invalid("base_url", reason))?;
            let field = |name: &str| body.credentials.get(name).and_then(|v| v.as_str());
            if let (Some(username), Some(password)) = (field("username"), field("password")) {
                smtp.login(username.to_owned(), password.to_owned())
                    .map_err(|reason| ApiError::invalid("base_url", reason))?;
            }
        }
    }
    crate::notifications::check_provider_address(
        &state.config.outbound,
        state.config.smtp_relay_url.as_deref(),
        &kind,
        body.base_url.as_deref(),
        &body.sender,
    )
    .await?;
    let keys = state.config.secrets();
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
pub(super) async fn list_providers(
    ctx: TenantCtx,
) -> Result<web::Json<ListResponse<ProviderView>>, ApiError> {
    ctx.require(Permission::ManageSettings)?;
    let rows = ctx.read(|conn| Ok(db::providers(conn)?)).await?;
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
pub(super) async fn list_notifications(
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
        .read({
            let page = page.clone();
            move |conn| Ok(db::list(conn, &page)?)
        })
        .await?;
    Ok(web::Json(ListResponse::from_rows(rows, &page, |row| {
        row.id
    })))
}

/// Send a message again as a new one: for a message whose outcome is
/// `unknown` (the provider may have sent it, so the queue never does it
/// again by itself) or that `failed`. Audited.
#[utoipa::path(
    tag = "notifications",
    params(("id" = Uuid, Path, description = "The message to send again")),
    responses(
        (status = 202, description = "A new message, queued", body = Notification),
        (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "The message was sent, skipped or is still pending", body = Problem),
    ),
    security(("bearer" = []))
)]
#[post("/notifications/{id}/resend")]
pub(super) async fn resend_notification(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::ManageSettings)?;
    let id = path.into_inner();
    let audit = ctx.audit();
    let copy = ctx
        .tx(move |conn| crate::notifications::resend(conn, &audit, id))
        .await?;
    Ok(HttpResponse::Accepted().json(copy))
}
