//! Pages of a site: list, create, read, update (SEO fields, paths) and delete.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::auth::roles::Permission;
use crate::content::publish;
use crate::db::pages::{self, Page, PageChanges, PageFilter, PageStatus};
use crate::db::sites;
use crate::error::{ApiError, FieldError, Problem};
use crate::http::etag::{created_with_etag, ok_with_etag, IfMatch};
use crate::http::json::{rules, ValidJson, Validate};
use crate::http::pagination::{ListResponse, PageQuery, PageRequest};
use crate::state::AppState;

const SEO_TEXT_FIELDS: [(&str, usize); 2] = [("meta_title", 200), ("meta_description", 500)];

const SEO_URL_FIELDS: [&str; 2] = ["canonical", "og_image"];

fn seo_rules(errors: &mut Vec<FieldError>, seo: &Value) {
    let Some(map) = seo.as_object() else {
        errors.push(FieldError::new("seo", "must be a JSON object"));
        return;
    };
    for (key, value) in map {
        let field = format!("seo.{key}");
        if let Some((_, max)) = SEO_TEXT_FIELDS.iter().find(|(name, _)| name == key) {
            match value.as_str() {
                Some(text) if text.chars().count() <= *max => {}
                _ => errors.push(FieldError::new(
                    &field,
                    format!("must be a string of at most {max} characters"),
                )),
            }
        } else if SEO_URL_FIELDS.contains(&key.as_str()) {
            let ok = value.as_str().is_some_and(|url| {
                url.len() <= 2048
                    && (url.starts_with("https://")
                        || url.starts_with("http://")
                        || url.starts_with('/'))
            });
            if !ok {
                errors.push(FieldError::new(&field, "must be an http(s) URL or a path"));
            }
        } else if key == "noindex" {
            if !value.is_boolean() {
                errors.push(FieldError::new(&field, "must be true or false"));
            }
        } else {
            errors.push(FieldError::new(&field, "is not a known SEO field (meta_title, meta_description, canonical, og_image, noindex)"));
        }
    }
}

fn path_rule(errors: &mut Vec<FieldError>, path: &str) {
    if let Err(err) = cms_shared::path::normalize_path(path) {
        errors.push(FieldError::new("path", err.to_string()));
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePage {
    /// One of the site's locales; default the site's default locale.
    pub locale: Option<String>,
    /// Normalised: `About//Team/` is stored as `/about/team`.
    pub path: String,
    pub title: String,
    #[schema(value_type = Option<HashMap<String, serde_json::Value>>)]
    pub seo: Option<Value>,
}

impl Validate for CreatePage {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        path_rule(&mut errors, &self.path);
        rules::text(&mut errors, "title", &self.title, 300);
        if let Some(locale) = &self.locale {
            rules::locale(&mut errors, "locale", locale);
        }
        if let Some(seo) = &self.seo {
            seo_rules(&mut errors, seo);
        }
        errors
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePage {
    pub locale: Option<String>,
    pub path: Option<String>,
    pub title: Option<String>,
    #[schema(value_type = Option<HashMap<String, serde_json::Value>>)]
    pub seo: Option<Value>,
    /// `draft` or `archived`; publishing has its own endpoints.
    pub status: Option<PageStatus>,
}

impl Validate for UpdatePage {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if let Some(path) = &self.path {
            path_rule(&mut errors, path);
        }
        if let Some(title) = &self.title {
            rules::text(&mut errors, "title", title, 300);
        }
        if let Some(locale) = &self.locale {
            rules::locale(&mut errors, "locale", locale);
        }
        if let Some(seo) = &self.seo {
            seo_rules(&mut errors, seo);
        }
        if let Some(status) = self.status {
            if !matches!(status, PageStatus::Draft | PageStatus::Archived) {
                errors.push(FieldError::new(
                    "status",
                    "must be draft or archived (use /publish and /unpublish)",
                ));
            }
        }
        errors
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageListQuery {
    /// `draft`, `published`, `scheduled` or `archived`.
    #[param(value_type = Option<PageStatus>)]
    pub status: Option<String>,
    pub locale: Option<String>,
    /// Pages whose path starts with this (`/blog`).
    pub path_prefix: Option<String>,
    /// Pages changed at or after this instant (RFC 3339).
    pub updated_since: Option<DateTime<Utc>>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// List a site's pages.
#[utoipa::path(
    tag = "pages",
    params(("site" = Uuid, Path), PageListQuery),
    responses((status = 200, body = ListResponse<Page>), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[get("/sites/{site}/pages")]
pub(super) async fn list_pages(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
    query: web::Query<PageListQuery>,
) -> Result<web::Json<ListResponse<Page>>, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let site_id = path.into_inner();
    let query = query.into_inner();
    // Parsed here rather than by the extractor: a bad status is a 422 naming
    // the field, as for bodies, not the extractor's 400.
    let status = query
        .status
        .as_deref()
        .map(str::parse::<PageStatus>)
        .transpose()
        .map_err(|_| {
            ApiError::invalid("status", "must be draft, published, scheduled or archived")
        })?;
    let page = PageRequest::try_from(PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    })?;
    let filter = PageFilter {
        status,
        locale: query.locale,
        path_prefix: query.path_prefix,
        updated_since: query.updated_since,
    };
    let rows = ctx
        .read({
            let page = page.clone();
            move |conn| {
                sites::find(conn, site_id)?.ok_or(ApiError::NotFound)?;
                Ok(pages::list(conn, site_id, &filter, &page)?)
            }
        })
        .await?;
    Ok(web::Json(ListResponse::from_rows(rows, &page, |p| p.id)))
}

/// Create a draft page.
#[utoipa::path(
    tag = "pages",
    params(("site" = Uuid, Path)),
    request_body = CreatePage,
    responses((status = 201, body = Page), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[post("/sites/{site}/pages")]
pub(super) async fn create_page(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
    body: ValidJson<CreatePage>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let (site_id, body) = (path.into_inner(), body.0);
    let (audit, tenant_id) = (ctx.audit(), ctx.tenant_id);
    let page = ctx
        .tx(move |conn| {
            let site = sites::find(conn, site_id)?.ok_or(ApiError::NotFound)?;
            let locale = body.locale.unwrap_or_else(|| site.default_locale.clone());
            if !site.locales.contains(&locale) {
                return Err(ApiError::invalid(
                    "locale",
                    format!("must be one of the site's locales {:?}", site.locales),
                ));
            }
            let now = Utc::now();
            let page = pages::insert(
                conn,
                &Page {
                    id: Uuid::now_v7(),
                    tenant_id,
                    site_id,
                    locale,
                    path: cms_shared::path::normalize_path(&body.path)
                        .map_err(|e| ApiError::invalid("path", e.to_string()))?,
                    title: body.title.trim().to_owned(),
                    seo: body
                        .seo
                        .unwrap_or_else(|| Value::Object(Default::default())),
                    status: PageStatus::Draft,
                    publish_at: None,
                    published_revision_id: None,
                    published_at: None,
                    published_locale: None,
                    published_path: None,
                    version: 1,
                    created_at: now,
                    updated_at: now,
                },
            )?;
            audit.created(conn, "page", page.id, &page)?;
            Ok(page)
        })
        .await?;
    Ok(created_with_etag(
        format!("/api/v1/pages/{}", page.id),
        page.version,
        &page,
    ))
}

/// Get a page.
#[utoipa::path(
    tag = "pages",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Page), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/pages/{id}")]
pub(super) async fn get_page(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let id = path.into_inner();
    let page = ctx
        .read(move |conn| pages::find(conn, id)?.ok_or(ApiError::NotFound))
        .await?;
    Ok(ok_with_etag(page.version, &page))
}

/// Change a page's draft (what visitors see changes only on publish).
#[utoipa::path(
    tag = "pages",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version being changed")),
    request_body = UpdatePage,
    responses((status = 200, body = Page), (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[patch("/pages/{id}")]
pub(super) async fn update_page(
    state: web::Data<AppState>,
    ctx: TenantCtx,
    path: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<UpdatePage>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let (id, body) = (path.into_inner(), body.0);
    let audit = ctx.audit();
    let (page, stale) = ctx
        .tx(move |conn| {
            let before = pages::lock(conn, id)?.ok_or(ApiError::NotFound)?;
            if_match.check(before.version)?;
            if let Some(locale) = &body.locale {
                let site = sites::find(conn, before.site_id)?.ok_or(ApiError::NotFound)?;
                if !site.locales.contains(locale) {
                    return Err(ApiError::invalid(
                        "locale",
                        format!("must be one of the site's locales {:?}", site.locales),
                    ));
                }
            }
            // Leaving `published` by any status change takes the page off delivery.
            let archiving = body.status.is_some() && before.status == PageStatus::Published;
            let changes = PageChanges {
                locale: body.locale,
                path: body
                    .path
                    .map(|p| cms_shared::path::normalize_path(&p))
                    .transpose()
                    .map_err(|e| ApiError::invalid("path", e.to_string()))?,
                title: body.title.map(|t| t.trim().to_owned()),
                seo: body.seo,
                publish_at: body.status.as_ref().map(|_| None),
                status: body.status,
                ..Default::default()
            };
            let after = pages::update(conn, id, &changes)?;
            audit.updated(conn, "page", id, &before, &after)?;
            Ok((after, archiving.then(|| publish::invalidation_of(&before))))
        })
        .await?;
    if let Some(change) = stale {
        state.cache.invalidate(&state.kv, change).await;
    }
    Ok(ok_with_etag(page.version, &page))
}

/// Delete a page with its blocks and revisions.
#[utoipa::path(
    tag = "pages",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version being deleted")),
    responses((status = 204), (status = 404, body = Problem), (status = 412, body = Problem)),
    security(("bearer" = []))
)]
#[delete("/pages/{id}")]
pub(super) async fn delete_page(
    state: web::Data<AppState>,
    ctx: TenantCtx,
    path: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let id = path.into_inner();
    let audit = ctx.audit();
    let change = ctx
        .tx(move |conn| {
            let before = pages::lock(conn, id)?.ok_or(ApiError::NotFound)?;
            if_match.check(before.version)?;
            pages::delete(conn, id)?;
            audit.deleted(conn, "page", id, &before)?;
            Ok(publish::invalidation_of(&before))
        })
        .await?;
    state.cache.invalidate(&state.kv, change).await;
    Ok(HttpResponse::NoContent().finish())
}
