//! A page's blocks: list, add, update, delete and reorder. Each change bumps
//! the page's version.

use actix_web::{delete, get, patch, post, put, web, HttpResponse};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::auth::roles::Permission;
use crate::content::blocks;
use crate::db::pages::{self, Block};
use crate::error::{ApiError, FieldError, Problem};
use crate::http::etag::{ok_with_etag, IfMatch};
use crate::http::json::{rules, ValidJson, Validate};
use crate::http::pagination::ListResponse;

/// A page's blocks in order.
#[utoipa::path(
    tag = "pages",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ListResponse<Block>), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/pages/{id}/blocks")]
pub(super) async fn list_blocks(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
) -> Result<web::Json<ListResponse<Block>>, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let id = path.into_inner();
    let items = ctx
        .read(move |conn| {
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
    #[serde(default)]
    #[schema(value_type = Option<HashMap<String, serde_json::Value>>)]
    pub props: Option<Value>,
    /// Hide the block (kept in the draft, left out of previews and
    /// publishing) or show it again.
    #[serde(default)]
    pub hidden: Option<bool>,
}

impl Validate for UpdateBlock {
    fn validate(&self) -> Vec<FieldError> {
        match &self.props {
            Some(props) if !props.is_object() => {
                vec![FieldError::new("props", "must be a JSON object")]
            }
            None if self.hidden.is_none() => {
                vec![FieldError::new("props", "send props, hidden or both")]
            }
            _ => Vec::new(),
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
pub(super) async fn add_block(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<AddBlock>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let (page_id, body) = (path.into_inner(), body.0);
    let audit = ctx.audit();
    let (block, page) = ctx
        .tx(move |conn| {
            blocks::add(
                conn,
                &audit,
                page_id,
                &if_match,
                body.module,
                body.props,
                body.position,
            )
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

/// Replace a block's props, hide it or show it again.
#[utoipa::path(
    tag = "pages",
    params(("id" = Uuid, Path), ("block" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "ETag of the block")),
    request_body = UpdateBlock,
    responses((status = 200, body = Block), (status = 404, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[patch("/pages/{id}/blocks/{block}")]
pub(super) async fn update_block(
    ctx: TenantCtx,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    body: ValidJson<UpdateBlock>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let ((page_id, block_id), UpdateBlock { props, hidden }) = (path.into_inner(), body.0);
    let audit = ctx.audit();
    let block = ctx
        .tx(move |conn| blocks::update(conn, &audit, page_id, block_id, &if_match, props, hidden))
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
pub(super) async fn delete_block(
    ctx: TenantCtx,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let (page_id, block_id) = path.into_inner();
    let audit = ctx.audit();
    ctx.tx(move |conn| blocks::delete(conn, &audit, page_id, block_id))
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
pub(super) async fn reorder_blocks(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<ReorderBlocks>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let (page_id, order) = (path.into_inner(), body.0.block_ids);
    let audit = ctx.audit();
    let (items, page) = ctx
        .tx(move |conn| blocks::reorder(conn, &audit, page_id, &if_match, order))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", crate::http::etag::etag_for(page.version)))
        .json(ListResponse::complete(items)))
}
