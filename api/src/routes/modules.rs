//! `/api/v1/modules`: the module library blocks are made of. Built-in modules
//! are readable by every tenant and writable by none; a tenant adds custom
//! modules (JSON Schema for props + tera template, compile-checked on save).

use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::Utc;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::auth::roles::Permission;
use crate::content::modules::{check_schema, check_template};
use crate::db::modules::{self, CustomModule, CustomModuleChanges};
use crate::db::schema::page_blocks;
use crate::error::{ApiError, FieldError, Problem};
use crate::http::etag::{created_with_etag, ok_with_etag, IfMatch};
use crate::http::json::{rules, ValidJson, Validate};
use crate::http::pagination::ListResponse;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_modules)
        .service(get_module)
        .service(create_module)
        .service(update_module)
        .service(delete_module);
}

/// A module of the library as editors see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModuleView {
    pub key: String,
    pub name: String,
    pub category: String,
    /// JSON Schema of the props a block of this module takes.
    #[schema(value_type = HashMap<String, serde_json::Value>)]
    pub props_schema: Value,
    /// Built-in modules ship with the renderer and cannot be changed.
    pub builtin: bool,
    /// The tera template of a custom module.
    pub template: Option<String>,
    pub version: Option<i32>,
}

impl From<CustomModule> for ModuleView {
    fn from(module: CustomModule) -> Self {
        ModuleView {
            key: module.key,
            name: module.name,
            category: module.category,
            props_schema: module.props_schema,
            builtin: false,
            template: Some(module.template),
            version: Some(module.version),
        }
    }
}

fn key_rule(errors: &mut Vec<FieldError>, key: &str) {
    let valid = (2..=63).contains(&key.len())
        && key.as_bytes()[0].is_ascii_lowercase()
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !valid {
        errors.push(FieldError::new(
            "key",
            "must be 2 to 63 lowercase letters, digits or underscores, starting with a letter",
        ));
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateModule {
    pub key: String,
    pub name: String,
    pub category: String,
    /// JSON Schema with `"type": "object"`; strings with
    /// `"contentMediaType": "text/html"` are sanitised rich text.
    #[schema(value_type = HashMap<String, serde_json::Value>)]
    pub props_schema: Value,
    /// tera template; the block's props are available as `props`.
    pub template: String,
}

impl Validate for CreateModule {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        key_rule(&mut errors, &self.key);
        rules::text(&mut errors, "name", &self.name, 200);
        rules::text(&mut errors, "category", &self.category, 60);
        errors.extend(check_schema(&self.props_schema).err());
        if self.template.len() > 200_000 {
            errors.push(FieldError::new("template", "must be at most 200000 bytes"));
        } else {
            errors.extend(check_template(&self.template).err());
        }
        errors
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateModule {
    pub name: Option<String>,
    pub category: Option<String>,
    #[schema(value_type = Option<HashMap<String, serde_json::Value>>)]
    pub props_schema: Option<Value>,
    pub template: Option<String>,
}

impl Validate for UpdateModule {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if let Some(name) = &self.name {
            rules::text(&mut errors, "name", name, 200);
        }
        if let Some(category) = &self.category {
            rules::text(&mut errors, "category", category, 60);
        }
        if let Some(schema) = &self.props_schema {
            errors.extend(check_schema(schema).err());
        }
        if let Some(template) = &self.template {
            errors.extend(check_template(template).err());
        }
        errors
    }
}

/// The library: built-in modules, then the tenant's custom ones.
#[utoipa::path(
    tag = "modules",
    responses((status = 200, body = ListResponse<ModuleView>), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/modules")]
async fn list_modules(ctx: TenantCtx) -> Result<web::Json<ListResponse<ModuleView>>, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let items = ctx
        .read(|conn| {
            let mut items: Vec<ModuleView> = modules::list_builtins(conn)?
                .into_iter()
                .map(|m| ModuleView {
                    key: m.key,
                    name: m.name,
                    category: m.category,
                    props_schema: m.props_schema,
                    builtin: true,
                    template: None,
                    version: None,
                })
                .collect();
            items.extend(
                modules::list_custom(conn)?
                    .into_iter()
                    .map(ModuleView::from),
            );
            Ok(items)
        })
        .await?;
    Ok(web::Json(ListResponse::complete(items)))
}

/// One module of the library.
#[utoipa::path(
    tag = "modules",
    params(("key" = String, Path)),
    responses((status = 200, body = ModuleView), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/modules/{key}")]
async fn get_module(ctx: TenantCtx, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let key = path.into_inner();
    let view = ctx
        .read(move |conn| {
            if let Some(m) = modules::find_builtin(conn, &key)? {
                return Ok(ModuleView {
                    key: m.key,
                    name: m.name,
                    category: m.category,
                    props_schema: m.props_schema,
                    builtin: true,
                    template: None,
                    version: None,
                });
            }
            modules::find_custom(conn, &key)?
                .map(ModuleView::from)
                .ok_or(ApiError::NotFound)
        })
        .await?;
    Ok(match view.version {
        Some(version) => ok_with_etag(version, &view),
        None => HttpResponse::Ok().json(view),
    })
}

/// Add a custom module (422 with tera's message when the template does not compile).
#[utoipa::path(
    tag = "modules",
    request_body = CreateModule,
    responses((status = 201, body = ModuleView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[post("/modules")]
async fn create_module(
    ctx: TenantCtx,
    body: ValidJson<CreateModule>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let body = body.0;
    let (audit, tenant_id) = (ctx.audit(), ctx.tenant_id);
    let module = ctx
        .tx(move |conn| {
            if modules::find_builtin(conn, &body.key)?.is_some() {
                return Err(ApiError::Conflict(format!(
                    "{:?} is a built-in module",
                    body.key
                )));
            }
            let now = Utc::now();
            let module = modules::insert_custom(
                conn,
                &CustomModule {
                    id: Uuid::now_v7(),
                    tenant_id,
                    key: body.key,
                    name: body.name.trim().to_owned(),
                    category: body.category.trim().to_owned(),
                    props_schema: body.props_schema,
                    template: body.template,
                    version: 1,
                    created_at: now,
                    updated_at: now,
                },
            )?;
            audit.created(conn, "module", module.id, &module)?;
            Ok(module)
        })
        .await?;
    let location = format!("/api/v1/modules/{}", module.key);
    let version = module.version;
    Ok(created_with_etag(
        location,
        version,
        &ModuleView::from(module),
    ))
}

/// Change a custom module (built-ins answer 404 here: they cannot be changed).
#[utoipa::path(
    tag = "modules",
    params(("key" = String, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version being changed")),
    request_body = UpdateModule,
    responses((status = 200, body = ModuleView), (status = 404, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[patch("/modules/{key}")]
async fn update_module(
    ctx: TenantCtx,
    path: web::Path<String>,
    if_match: IfMatch,
    body: ValidJson<UpdateModule>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let (key, body) = (path.into_inner(), body.0);
    let audit = ctx.audit();
    let module = ctx
        .tx(move |conn| {
            let before = modules::lock_custom(conn, &key)?.ok_or(ApiError::NotFound)?;
            if_match.check(before.version)?;
            let changes = CustomModuleChanges {
                name: body.name.map(|n| n.trim().to_owned()),
                category: body.category.map(|c| c.trim().to_owned()),
                props_schema: body.props_schema,
                template: body.template,
            };
            let after = modules::update_custom(conn, before.id, &changes)?;
            audit.updated(conn, "module", after.id, &before, &after)?;
            Ok(after)
        })
        .await?;
    let version = module.version;
    Ok(ok_with_etag(version, &ModuleView::from(module)))
}

/// Delete a custom module no block uses (409 otherwise).
#[utoipa::path(
    tag = "modules",
    params(("key" = String, Path)),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = []))
)]
#[delete("/modules/{key}")]
async fn delete_module(ctx: TenantCtx, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let key = path.into_inner();
    let audit = ctx.audit();
    ctx.tx(move |conn| {
        let before = modules::lock_custom(conn, &key)?.ok_or(ApiError::NotFound)?;
        let used: i64 = page_blocks::table
            .filter(page_blocks::module_key.eq(&key))
            .count()
            .get_result(conn)?;
        if used > 0 {
            return Err(ApiError::Conflict(format!("{used} blocks use this module")));
        }
        modules::delete_custom(conn, before.id)?;
        audit.deleted(conn, "module", before.id, &before)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
