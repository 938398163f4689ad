//! `/api/v1/webhooks`: the tenant's outgoing webhook endpoints, for owners
//! and admins: create (the secret is answered once), list, read, change,
//! delete, rotate the secret, the delivery log, replay, and a test event.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::auth::roles::Permission;
use crate::db::webhooks::{self as store, Endpoint, EndpointChanges};
use crate::error::{ApiError, FieldError, Problem};
use crate::http::etag::{ok_with_etag, IfMatch};
use crate::http::json::{ValidJson, Validate};
use crate::http::pagination::{ListResponse, PageQuery, PageRequest};
use crate::state::AppState;
use crate::webhooks::{self, signing, EndpointWithSecret, MessageLog, NewEndpoint};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_endpoint)
        .service(list_endpoints)
        .service(get_endpoint)
        .service(update_endpoint)
        .service(delete_endpoint)
        .service(rotate_secret)
        .service(list_messages)
        .service(replay_message)
        .service(test_endpoint);
}

fn check_description(errors: &mut Vec<FieldError>, value: &str) {
    if value.trim().chars().count() > 500 {
        errors.push(FieldError::new(
            "description",
            "must be at most 500 characters",
        ));
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEndpoint {
    /// An http(s) URL reaching a public address.
    pub url: String,
    #[serde(default)]
    pub description: String,
    /// Event types (`page.published`, ...) or `*` for all.
    pub events: Vec<String>,
}

impl Validate for CreateEndpoint {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if let Err(reason) = webhooks::parse_url(&self.url) {
            errors.push(FieldError::new("url", reason));
        }
        check_description(&mut errors, &self.description);
        webhooks::validate_events(&mut errors, &self.events);
        errors
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateEndpoint {
    pub url: Option<String>,
    pub description: Option<String>,
    pub events: Option<Vec<String>>,
    /// `true` enables a disabled endpoint again (its failure record cleared).
    pub enabled: Option<bool>,
}

impl Validate for UpdateEndpoint {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if let Some(url) = &self.url {
            if let Err(reason) = webhooks::parse_url(url) {
                errors.push(FieldError::new("url", reason));
            }
        }
        if let Some(description) = &self.description {
            check_description(&mut errors, description);
        }
        if let Some(events) = &self.events {
            webhooks::validate_events(&mut errors, events);
        }
        errors
    }
}

/// Register an endpoint. The answer carries its secret, shown only this once.
#[utoipa::path(
    tag = "webhooks",
    request_body = CreateEndpoint,
    responses(
        (status = 201, description = "The endpoint with its secret", body = EndpointWithSecret),
        (status = 403, description = "Only owners and admins manage webhooks", body = Problem),
        (status = 422, description = "Unknown event, not an http(s) URL, or a URL reaching a private address", body = Problem),
    ),
    security(("bearer" = []))
)]
#[post("/webhooks")]
async fn create_endpoint(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    body: ValidJson<CreateEndpoint>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::ManageWebhooks)?;
    let body = body.0;
    let url = webhooks::check_url(&body.url, &state.config.outbound).await?;
    let input = NewEndpoint {
        url,
        description: body.description.trim().to_owned(),
        events: body.events,
    };
    let (audit, keys) = (ctx.audit(), state.config.secrets());
    let created = ctx
        .tx(move |conn| webhooks::create(conn, &audit, &keys, input))
        .await?;
    Ok(HttpResponse::Created().json(created))
}

/// The tenant's endpoints (without secrets).
#[utoipa::path(
    tag = "webhooks",
    params(PageQuery),
    responses((status = 200, body = ListResponse<Endpoint>), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[get("/webhooks")]
async fn list_endpoints(
    ctx: TenantCtx,
    query: web::Query<PageQuery>,
) -> Result<web::Json<ListResponse<Endpoint>>, ApiError> {
    ctx.require(Permission::ManageWebhooks)?;
    let page = PageRequest::try_from(query.into_inner())?;
    let rows = ctx
        .read({
            let page = page.clone();
            move |conn| Ok(store::list(conn, &page)?)
        })
        .await?;
    Ok(web::Json(ListResponse::from_rows(rows, &page, |e| e.id)))
}

/// One endpoint (without its secret).
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Endpoint), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/webhooks/{id}")]
async fn get_endpoint(ctx: TenantCtx, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::ManageWebhooks)?;
    let id = path.into_inner();
    let endpoint = ctx
        .read(move |conn| store::find(conn, id)?.ok_or(ApiError::NotFound))
        .await?;
    Ok(ok_with_etag(endpoint.version, &endpoint))
}

/// Change an endpoint's URL, description, events, or enable/disable it.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path)),
    request_body = UpdateEndpoint,
    responses((status = 200, body = Endpoint), (status = 403, body = Problem), (status = 404, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[patch("/webhooks/{id}")]
async fn update_endpoint(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<UpdateEndpoint>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::ManageWebhooks)?;
    let body = body.0;
    let url = match &body.url {
        Some(url) => Some(webhooks::check_url(url, &state.config.outbound).await?),
        None => None,
    };
    let changes = EndpointChanges {
        url,
        description: body.description.map(|text| text.trim().to_owned()),
        events: body.events,
        enabled: body.enabled,
        ..Default::default()
    };
    let (id, audit) = (path.into_inner(), ctx.audit());
    let endpoint = ctx
        .tx(move |conn| webhooks::update(conn, &audit, id, &if_match, changes))
        .await?;
    Ok(ok_with_etag(endpoint.version, &endpoint))
}

/// Delete an endpoint and its delivery log.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 412, body = Problem)),
    security(("bearer" = []))
)]
#[delete("/webhooks/{id}")]
async fn delete_endpoint(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::ManageWebhooks)?;
    let (id, audit) = (path.into_inner(), ctx.audit());
    ctx.tx(move |conn| webhooks::delete(conn, &audit, id, &if_match))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A new secret, shown once; the previous one keeps signing for 24 hours
/// (deliveries carry both signatures, space-separated).
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = EndpointWithSecret), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[post("/webhooks/{id}/rotate-secret")]
async fn rotate_secret(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<web::Json<EndpointWithSecret>, ApiError> {
    ctx.require(Permission::ManageWebhooks)?;
    let (id, audit, keys) = (path.into_inner(), ctx.audit(), state.config.secrets());
    let rotated = ctx
        .tx(move |conn| webhooks::rotate_secret(conn, &audit, &keys, id))
        .await?;
    Ok(web::Json(rotated))
}

/// The endpoint's delivery log: its messages, newest first (the cursor goes
/// on to older ones), each with every delivery attempt.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path), PageQuery),
    responses((status = 200, body = ListResponse<MessageLog>), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[get("/webhooks/{id}/messages")]
async fn list_messages(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<ListResponse<MessageLog>>, ApiError> {
    ctx.require(Permission::ManageWebhooks)?;
    let page = PageRequest::try_from(query.into_inner())?;
    let id = path.into_inner();
    let log = ctx
        .read({
            let page = page.clone();
            move |conn| webhooks::log(conn, id, &page)
        })
        .await?;
    Ok(web::Json(ListResponse::from_rows(log, &page, |message| {
        signing::parse_message_id(&message.id).unwrap_or_default()
    })))
}

/// Send a message to the endpoint again, under the same `webhook-id`.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path), ("msg" = String, Path, description = "The message id (`msg_...`)")),
    responses((status = 202, body = MessageLog), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[post("/webhooks/{id}/messages/{msg}/replay")]
async fn replay_message(
    ctx: TenantCtx,
    path: web::Path<(Uuid, String)>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::ManageWebhooks)?;
    let (id, msg) = path.into_inner();
    let message = signing::parse_message_id(&msg).ok_or(ApiError::NotFound)?;
    let audit = ctx.audit();
    let replayed = ctx
        .tx(move |conn| webhooks::replay(conn, &audit, id, message))
        .await?;
    Ok(HttpResponse::Accepted().json(replayed))
}

/// Send a `webhook.test` event to the endpoint.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path)),
    responses((status = 202, body = MessageLog), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[post("/webhooks/{id}/test")]
async fn test_endpoint(ctx: TenantCtx, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::ManageWebhooks)?;
    let (id, audit) = (path.into_inner(), ctx.audit());
    let sent = ctx
        .tx(move |conn| webhooks::send_test(conn, &audit, id))
        .await?;
    Ok(HttpResponse::Accepted().json(sent))
}
