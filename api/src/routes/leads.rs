//! Leads: `POST /api/v1/delivery/sites/{site}/leads` takes a lead-form
//! submission (public; the renderer forwards its forms here, external
//! frontends may post directly) and `GET /api/v1/sites/{site}/leads` lists
//! them to editors. A retried submission with the same `Idempotency-Key`
//! answers the lead it already created instead of a second one.

use std::collections::BTreeMap;
use std::time::Duration;

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::auth::roles::Permission;
use crate::db::leads::{self, Lead};
use crate::db::{experiments, sites};
use crate::error::{ApiError, FieldError, Problem};
use crate::http::etag::idempotency_key;
use crate::http::json::{rules, ValidJson, Validate};
use crate::http::pagination::{ListResponse, PageQuery, PageRequest};
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(submit_lead).service(list_leads);
}

const UTM_KEYS: [&str; 5] = [
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
];
/// Submissions one visitor may send to one site per window.
const PER_VISITOR_WINDOW: Duration = Duration::from_secs(600);

/// What a visitor typed; at least a phone or an email.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadFields {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub comment: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitLead {
    pub page_id: Option<Uuid>,
    /// The page the form was on.
    pub path: String,
    /// The experiment variant the visitor saw, if any.
    pub variant: Option<String>,
    pub visitor_id: Option<String>,
    pub fields: LeadFields,
    /// `utm_source`, `utm_medium`, `utm_campaign`, `utm_term`, `utm_content`.
    #[serde(default)]
    pub utm: BTreeMap<String, String>,
}

fn optional_text(errors: &mut Vec<FieldError>, field: &str, value: Option<&str>, max: usize) {
    if let Some(value) = value.filter(|value| !value.trim().is_empty()) {
        rules::text(errors, field, value, max);
    }
}

impl Validate for SubmitLead {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if cms_shared::path::normalize_path(&self.path).is_err() {
            errors.push(FieldError::new(
                "path",
                "must be a page path such as /about",
            ));
        }
        optional_text(&mut errors, "variant", self.variant.as_deref(), 64);
        optional_text(&mut errors, "visitor_id", self.visitor_id.as_deref(), 64);
        let fields = &self.fields;
        optional_text(&mut errors, "fields.name", fields.name.as_deref(), 120);
        optional_text(
            &mut errors,
            "fields.comment",
            fields.comment.as_deref(),
            2000,
        );
        let phone = fields.phone.as_deref().map(str::trim).unwrap_or_default();
        let email = fields.email.as_deref().map(str::trim).unwrap_or_default();
        if !phone.is_empty() {
            let digits = phone.chars().filter(char::is_ascii_digit).count();
            let allowed = phone
                .chars()
                .all(|c| c.is_ascii_digit() || " +()-.".contains(c));
            if !allowed || !(5..=20).contains(&digits) {
                errors.push(FieldError::new(
                    "fields.phone",
                    "must be a phone number of 5 to 20 digits",
                ));
            }
        }
        if !email.is_empty() {
            rules::email(&mut errors, "fields.email", email);
        }
        if phone.is_empty() && email.is_empty() {
            errors.push(FieldError::new(
                "fields.phone",
                "a phone or an email is needed to answer the lead",
            ));
        }
        for (key, value) in &self.utm {
            let field = format!("utm.{key}");
            if !UTM_KEYS.contains(&key.as_str()) {
                errors.push(FieldError::new(&field, "is not a UTM parameter"));
            } else if value.chars().count() > 200 {
                errors.push(FieldError::new(&field, "must be at most 200 characters"));
            }
        }
        errors
    }
}

fn clean(value: Option<String>) -> Option<String> {
    value
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// Take a lead-form submission for a published site; it converts the visitor
/// in running experiments whose goal is `lead_submitted`. 201 with the new lead;
/// 200 with the earlier one when the `Idempotency-Key` was seen before.
#[utoipa::path(
    tag = "delivery",
    params(
        ("site" = Uuid, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key create one lead")
    ),
    request_body = SubmitLead,
    responses(
        (status = 201, body = Lead), (status = 200, body = Lead),
        (status = 404, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)
    )
)]
#[post("/delivery/sites/{site}/leads")]
async fn submit_lead(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: ValidJson<SubmitLead>,
) -> Result<HttpResponse, ApiError> {
    let site_id = path.into_inner();
    let submission = body.0;
    let idempotency_key = idempotency_key(&req)?;
    if let Some(visitor) = &submission.visitor_id {
        let (count, reset) = state
            .kv
            .hit(&format!("rl:lead:{site_id}:{visitor}"), PER_VISITOR_WINDOW)
            .await;
        if count > u64::from(state.config.lead_limit_per_visitor) {
            return Err(ApiError::TooManyRequests {
                retry_after_secs: reset,
            });
        }
    }
    let (lead, created) = state
        .db
        .site_tx(site_id, move |conn| {
            let tenant_id = sites::find(conn, site_id)?
                .ok_or(ApiError::NotFound)?
                .tenant_id;
            let fields = submission.fields;
            let lead = Lead {
                id: Uuid::now_v7(),
                tenant_id,
                site_id,
                page_id: submission.page_id,
                path: cms_shared::path::normalize_path(&submission.path)
                    .map_err(|_| ApiError::invalid("path", "must be a page path"))?,
                variant: clean(submission.variant),
                visitor_id: clean(submission.visitor_id),
                fields: json!({
                    "name": clean(fields.name),
                    "phone": clean(fields.phone),
                    "email": clean(fields.email),
                    "comment": clean(fields.comment),
                }),
                utm: json!(submission.utm),
                idempotency_key,
                created_at: Utc::now(),
            };
            let (lead, created) = leads::insert_once(conn, &lead)?;
            crate::notifications::lead_received(conn, &lead, created)?;
            if let (true, Some(visitor)) = (created, &lead.visitor_id) {
                // A lead is the `lead_submitted` goal of the visitor's
                // running experiments on this site.
                experiments::record_lead_conversion(conn, site_id, visitor)?;
            }
            if created {
                crate::webhooks::emit(conn, lead.tenant_id, "lead.created", &lead)?;
            }
            Ok((lead, created))
        })
        .await?;
    let mut response = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response.json(lead))
}

/// List a site's leads, newest first.
#[utoipa::path(
    tag = "sites",
    params(("site" = Uuid, Path), PageQuery),
    responses((status = 200, body = ListResponse<Lead>), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/sites/{site}/leads")]
async fn list_leads(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<ListResponse<Lead>>, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let site_id = path.into_inner();
    let page = PageRequest::try_from(query.into_inner())?;
    let rows = ctx
        .read({
            let page = page.clone();
            move |conn| {
                sites::find(conn, site_id)?.ok_or(ApiError::NotFound)?;
                Ok(leads::list_for_site(conn, site_id, &page)?)
            }
        })
        .await?;
    Ok(web::Json(ListResponse::from_rows(rows, &page, |lead| {
        lead.id
    })))
}
