//! `/api/v1/sites/{site}/pages`, `/api/v1/pages/{id}` and its blocks,
//! publishing, revisions and preview tokens. Every content change bumps the
//! page's version (its ETag), so `If-Match` on the page guards the whole draft.

use actix_web::{delete, get, patch, post, put, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::auth::roles::Permission;
use crate::auth::tokens::PreviewClaims;
use crate::content::{modules as module_rules, publish};
use crate::db::pages::{self, Block, Page, PageChanges, PageFilter, Revision};
use crate::db::sites;
use crate::error::{ApiError, FieldError, Problem};
use crate::http::etag::{created_with_etag, ok_with_etag, IfMatch};
use crate::http::json::{rules, ValidJson, Validate};
use crate::http::pagination::{ListResponse, PageQuery, PageRequest};
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_pages)
        .service(create_page)
        .service(get_page)
        .service(update_page)
        .service(delete_page)
        .service(list_blocks)
        .service(add_block)
        .service(reorder_blocks)
        .service(update_block)
        .service(delete_block)
        .service(publish_page)
        .service(unpublish_page)
        .service(list_revisions)
        .service(restore_revision)
        .service(preview_token);
}

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
    pub status: Option<String>,
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
        if let Some(status) = &self.status {
            if status != "draft" && status != "archived" {
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
async fn list_pages(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
    query: web::Query<PageListQuery>,
) -> Result<web::Json<ListResponse<Page>>, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let site_id = path.into_inner();
    let query = query.into_inner();
    if let Some(status) = &query.status {
        if !["draft", "published", "scheduled", "archived"].contains(&status.as_str()) {
            return Err(ApiError::invalid(
                "status",
                "must be draft, published, scheduled or archived",
            ));
        }
    }
    let page = PageRequest::try_from(PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    })?;
    let filter = PageFilter {
        status: query.status,
        locale: query.locale,
        path_prefix: query.path_prefix,
        updated_since: query.updated_since,
    };
    let rows = ctx
        .tx({
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
async fn create_page(
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
                    status: "draft".into(),
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
async fn get_page(ctx: TenantCtx, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let id = path.into_inner();
    let page = ctx
        .tx(move |conn| pages::find(conn, id)?.ok_or(ApiError::NotFound))
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
async fn update_page(
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
            let archiving = body.status.is_some() && before.status == "published";
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
async fn delete_page(
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

/// A page's blocks in order.
#[utoipa::path(
    tag = "pages",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ListResponse<Block>), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/pages/{id}/blocks")]
async fn list_blocks(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
) -> Result<web::Json<ListResponse<Block>>, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let id = path.into_inner();
    let items = ctx
        .tx(move |conn| {
            pages::find(conn, id)?.ok_or(ApiError::NotFound)?;
            Ok(pages::blocks(conn, id)?)
        })
        .await?;
    Ok(web::Json(ListResponse::complete(items)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddBlock {
    /// Module key (`hero`, `rich_text`, or a custom module's key).
    pub module: String,
    /// Validated against the module's schema; rich text is sanitised.
    #[schema(value_type = HashMap<String, serde_json::Value>)]
    pub props: Value,
    /// 0-based place in the page; default the end.
    pub position: Option<i32>,
}

impl Validate for AddBlock {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        rules::text(&mut errors, "module", &self.module, 63);
        if !self.props.is_object() {
            errors.push(FieldError::new("props", "must be a JSON object"));
        }
        if self.position.is_some_and(|p| p < 0) {
            errors.push(FieldError::new("position", "must be 0 or more"));
        }
        errors
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBlock {
    /// The block's new props (replaces the old ones).
    #[schema(value_type = HashMap<String, serde_json::Value>)]
    pub props: Value,
}

impl Validate for UpdateBlock {
    fn validate(&self) -> Vec<FieldError> {
        if self.props.is_object() {
            Vec::new()
        } else {
            vec![FieldError::new("props", "must be a JSON object")]
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReorderBlocks {
    /// Every block id of the page, in the new order.
    pub block_ids: Vec<Uuid>,
}

impl Validate for ReorderBlocks {
    fn validate(&self) -> Vec<FieldError> {
        let mut ids = self.block_ids.clone();
        ids.sort();
        ids.dedup();
        if ids.len() == self.block_ids.len() {
            Vec::new()
        } else {
            vec![FieldError::new("block_ids", "must not repeat a block")]
        }
    }
}

/// Add a block to a page's draft.
#[utoipa::path(
    tag = "pages",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "ETag of the page")),
    request_body = AddBlock,
    responses((status = 201, body = Block), (status = 404, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[post("/pages/{id}/blocks")]
async fn add_block(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<AddBlock>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let (page_id, body) = (path.into_inner(), body.0);
    let (audit, tenant_id) = (ctx.audit(), ctx.tenant_id);
    let (block, page) = ctx
        .tx(move |conn| {
            let page = pages::lock(conn, page_id)?.ok_or(ApiError::NotFound)?;
            if_match.check(page.version)?;
            let module = module_rules::resolve(conn, &body.module)?;
            let props = module_rules::validate_props(&module.props_schema, body.props)?;
            let existing = pages::blocks(conn, page_id)?;
            let position = body
                .position
                .map_or(existing.len() as i32, |p| p.min(existing.len() as i32));
            for later in existing.iter().filter(|b| b.position >= position) {
                pages::set_block_position(conn, later.id, later.position + 1)?;
            }
            let now = Utc::now();
            let block = pages::insert_block(
                conn,
                &Block {
                    id: Uuid::now_v7(),
                    tenant_id,
                    page_id,
                    position,
                    module_key: body.module,
                    props,
                    version: 1,
                    created_at: now,
                    updated_at: now,
                },
            )?;
            audit.created(conn, "block", block.id, &block)?;
            Ok((block, pages::touch(conn, page_id)?))
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            "Location",
            format!("/api/v1/pages/{page_id}/blocks/{}", block.id),
        ))
        .insert_header(("ETag", crate::http::etag::etag_for(block.version)))
        .insert_header(("X-Page-ETag", crate::http::etag::etag_for(page.version)))
        .json(block))
}

/// Replace a block's props.
#[utoipa::path(
    tag = "pages",
    params(("id" = Uuid, Path), ("block" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "ETag of the block")),
    request_body = UpdateBlock,
    responses((status = 200, body = Block), (status = 404, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[patch("/pages/{id}/blocks/{block}")]
async fn update_block(
    ctx: TenantCtx,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    body: ValidJson<UpdateBlock>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let ((page_id, block_id), props) = (path.into_inner(), body.0.props);
    let audit = ctx.audit();
    let block = ctx
        .tx(move |conn| {
            pages::lock(conn, page_id)?.ok_or(ApiError::NotFound)?;
            let before = pages::find_block(conn, page_id, block_id)?.ok_or(ApiError::NotFound)?;
            if_match.check(before.version)?;
            let module = module_rules::resolve(conn, &before.module_key)?;
            let props = module_rules::validate_props(&module.props_schema, props)?;
            let after = pages::update_block_props(conn, block_id, &props)?;
            audit.updated(conn, "block", block_id, &before, &after)?;
            pages::touch(conn, page_id)?;
            Ok(after)
        })
        .await?;
    Ok(ok_with_etag(block.version, &block))
}

/// Remove a block from a page's draft.
#[utoipa::path(
    tag = "pages",
    params(("id" = Uuid, Path), ("block" = Uuid, Path)),
    responses((status = 204), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[delete("/pages/{id}/blocks/{block}")]
async fn delete_block(
    ctx: TenantCtx,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let (page_id, block_id) = path.into_inner();
    let audit = ctx.audit();
    ctx.tx(move |conn| {
        pages::lock(conn, page_id)?.ok_or(ApiError::NotFound)?;
        let before = pages::find_block(conn, page_id, block_id)?.ok_or(ApiError::NotFound)?;
        pages::delete_block(conn, block_id)?;
        for (position, block) in pages::blocks(conn, page_id)?.iter().enumerate() {
            pages::set_block_position(conn, block.id, position as i32)?;
        }
        audit.deleted(conn, "block", block_id, &before)?;
        pages::touch(conn, page_id)?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Put a page's blocks in a new order, all at once.
#[utoipa::path(
    tag = "pages",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "ETag of the page")),
    request_body = ReorderBlocks,
    responses((status = 200, body = ListResponse<Block>), (status = 404, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[put("/pages/{id}/blocks/order")]
async fn reorder_blocks(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<ReorderBlocks>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let (page_id, order) = (path.into_inner(), body.0.block_ids);
    let audit = ctx.audit();
    let (items, page) = ctx
        .tx(move |conn| {
            let before = pages::lock(conn, page_id)?.ok_or(ApiError::NotFound)?;
            if_match.check(before.version)?;
            let current = pages::blocks(conn, page_id)?;
            let mut known: Vec<Uuid> = current.iter().map(|b| b.id).collect();
            let mut wanted = order.clone();
            known.sort();
            wanted.sort();
            if known != wanted {
                return Err(ApiError::invalid(
                    "block_ids",
                    "must list every block of the page exactly once",
                ));
            }
            for (position, id) in order.iter().enumerate() {
                pages::set_block_position(conn, *id, position as i32)?;
            }
            let after = pages::touch(conn, page_id)?;
            let before_order: Vec<Uuid> = current.iter().map(|b| b.id).collect();
            audit.event(
                conn,
                "page",
                "reorder",
                page_id,
                Some(&before_order),
                Some(&order),
            )?;
            Ok((pages::blocks(conn, page_id)?, after))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", crate::http::etag::etag_for(page.version)))
        .json(ListResponse::complete(items)))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// Publish at this instant instead of now (the page becomes `scheduled`).
    pub publish_at: Option<DateTime<Utc>>,
}

impl Validate for PublishRequest {
    fn validate(&self) -> Vec<FieldError> {
        Vec::new()
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublishResponse {
    pub page: Page,
    /// The revision made live (absent when scheduled).
    pub revision: Option<Revision>,
}

/// Publish the draft now, or schedule it with `publish_at`.
#[utoipa::path(
    tag = "pages",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "ETag of the page")),
    request_body = PublishRequest,
    responses((status = 200, body = PublishResponse), (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem)),
    security(("bearer" = []))
)]
#[post("/pages/{id}/publish")]
async fn publish_page(
    state: web::Data<AppState>,
    ctx: TenantCtx,
    path: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<PublishRequest>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let (id, at) = (path.into_inner(), body.0.publish_at);
    let audit = ctx.audit();
    let outcome = ctx
        .tx(move |conn| match at {
            Some(at) if at > Utc::now() => publish::schedule(conn, &audit, id, at, &if_match),
            _ => publish::publish_now(conn, &audit, id, &if_match),
        })
        .await?;
    state
        .cache
        .invalidate(&state.kv, outcome.invalidation)
        .await;
    Ok(ok_with_etag(
        outcome.page.version,
        &PublishResponse {
            page: outcome.page,
            revision: outcome.revision,
        },
    ))
}

/// Take a page off delivery (back to draft; its revisions stay).
#[utoipa::path(
    tag = "pages",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "ETag of the page")),
    responses((status = 200, body = Page), (status = 404, body = Problem), (status = 412, body = Problem)),
    security(("bearer" = []))
)]
#[post("/pages/{id}/unpublish")]
async fn unpublish_page(
    state: web::Data<AppState>,
    ctx: TenantCtx,
    path: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let id = path.into_inner();
    let audit = ctx.audit();
    let outcome = ctx
        .tx(move |conn| publish::unpublish(conn, &audit, id, &if_match))
        .await?;
    state
        .cache
        .invalidate(&state.kv, outcome.invalidation)
        .await;
    Ok(ok_with_etag(outcome.page.version, &outcome.page))
}

/// A page's revisions, newest first.
#[utoipa::path(
    tag = "pages",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ListResponse<Revision>), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/pages/{id}/revisions")]
async fn list_revisions(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
) -> Result<web::Json<ListResponse<Revision>>, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let id = path.into_inner();
    let items = ctx
        .tx(move |conn| {
            pages::find(conn, id)?.ok_or(ApiError::NotFound)?;
            Ok(pages::revisions(conn, id)?)
        })
        .await?;
    Ok(web::Json(ListResponse::complete(items)))
}

/// Roll back: publish an older revision's content again (as a new revision).
#[utoipa::path(
    tag = "pages",
    params(("id" = Uuid, Path), ("revision" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "ETag of the page")),
    responses((status = 200, body = PublishResponse), (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem)),
    security(("bearer" = []))
)]
#[post("/pages/{id}/revisions/{revision}/restore")]
async fn restore_revision(
    state: web::Data<AppState>,
    ctx: TenantCtx,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let (id, revision) = path.into_inner();
    let audit = ctx.audit();
    let outcome = ctx
        .tx(move |conn| publish::restore(conn, &audit, id, revision, &if_match))
        .await?;
    state
        .cache
        .invalidate(&state.kv, outcome.invalidation)
        .await;
    Ok(ok_with_etag(
        outcome.page.version,
        &PublishResponse {
            page: outcome.page,
            revision: outcome.revision,
        },
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewToken {
    /// Pass as `GET /api/v1/delivery/preview?token=...`.
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// A short-lived token that shows this page's current draft, and nothing else.
#[utoipa::path(
    tag = "pages",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = PreviewToken), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[post("/pages/{id}/preview-token")]
async fn preview_token(
    state: web::Data<AppState>,
    ctx: TenantCtx,
    path: web::Path<Uuid>,
) -> Result<web::Json<PreviewToken>, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let id = path.into_inner();
    ctx.tx(move |conn| pages::find(conn, id)?.ok_or(ApiError::NotFound))
        .await?;
    let now = Utc::now();
    let expires_at =
        now + chrono::Duration::from_std(state.config.preview_ttl).map_err(ApiError::internal)?;
    let token = state.config.signing_key.sign_preview(&PreviewClaims {
        page: id,
        tid: ctx.tenant_id,
        exp: expires_at.timestamp(),
        iat: now.timestamp(),
    })?;
    Ok(web::Json(PreviewToken { token, expires_at }))
}
