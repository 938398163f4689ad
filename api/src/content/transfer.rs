//! Moving landings: a site exports as one JSON document (site, custom modules,
//! pages with their blocks and live snapshots) and imports as a new site with
//! new ids. Cloning is an export in the source tenant followed by an import in
//! the target tenant, each in one transaction. An imported document is not
//! trusted: every block's props, including those of live snapshots, are
//! validated against their module and sanitised again.

use std::collections::HashMap;

use chrono::Utc;
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use super::modules::{self as module_rules};
use crate::db::audit::Audit;
use crate::db::domains::{self, Domain};
use crate::db::modules::{self, CustomModule};
use crate::db::pages::{self, Block, Page, PageStatus, Revision};
use crate::db::sites::{self, NewSite, Site};
use crate::error::{ApiError, FieldError};
use crate::media::resolve;

pub const FORMAT: &str = "cms-site/1";

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SiteDocument {
    /// Always `cms-site/1`.
    pub format: String,
    pub site: SiteExport,
    pub custom_modules: Vec<ModuleExport>,
    pub pages: Vec<PageExport>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SiteExport {
    pub name: String,
    pub default_locale: String,
    pub locales: Vec<String>,
    #[schema(value_type = HashMap<String, serde_json::Value>)]
    pub theme: Value,
    #[schema(value_type = HashMap<String, serde_json::Value>)]
    pub analytics: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModuleExport {
    pub key: String,
    pub name: String,
    pub category: String,
    #[schema(value_type = HashMap<String, serde_json::Value>)]
    pub props_schema: Value,
    pub template: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PageExport {
    pub locale: String,
    pub path: String,
    pub title: String,
    #[schema(value_type = HashMap<String, serde_json::Value>)]
    pub seo: Value,
    /// `draft`, `published`, `scheduled` or `archived` (scheduled imports as draft).
    // A string, not `PageStatus`: an import takes any other value as draft.
    pub status: String,
    pub blocks: Vec<BlockExport>,
    /// The live snapshot (delivery JSON) when the page is published.
    #[schema(value_type = Option<HashMap<String, serde_json::Value>>)]
    pub published: Option<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockExport {
    pub module: String,
    #[schema(value_type = HashMap<String, serde_json::Value>)]
    pub props: Value,
    /// Hidden in the draft (documents without it: shown).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hidden: bool,
}

/// The document of a site of the current tenant (fixed number of queries).
pub fn export(conn: &mut PgConnection, site_id: Uuid) -> Result<SiteDocument, ApiError> {
    let site = sites::find(conn, site_id)?.ok_or(ApiError::NotFound)?;
    let site_pages = pages::all_for_site(conn, site_id)?;
    let page_ids: Vec<Uuid> = site_pages.iter().map(|page| page.id).collect();
    let mut blocks_by_page: HashMap<Uuid, Vec<Block>> = HashMap::new();
    for block in pages::blocks_of_pages(conn, &page_ids)? {
        blocks_by_page.entry(block.page_id).or_default().push(block);
    }
    let live_ids: Vec<Uuid> = site_pages
        .iter()
        .filter(|page| page.status == PageStatus::Published)
        .filter_map(|page| page.published_revision_id)
        .collect();
    let snapshots: HashMap<Uuid, Value> = pages::revisions_by_ids(conn, &live_ids)?
        .into_iter()
        .map(|revision| (revision.id, revision.snapshot))
        .collect();
    let mut module_keys: Vec<String> = blocks_by_page
        .values()
        .flatten()
        .map(|b| b.module_key.clone())
        .collect();
    for snapshot in snapshots.values() {
        if let Some(blocks) = snapshot["blocks"].as_array() {
            module_keys.extend(
                blocks
                    .iter()
                    .filter_map(|b| b["module"].as_str().map(str::to_owned)),
            );
        }
    }
    module_keys.sort();
    module_keys.dedup();
    let custom_modules = modules::find_custom_many(conn, &module_keys)?
        .into_iter()
        .map(|m| ModuleExport {
            key: m.key,
            name: m.name,
            category: m.category,
            props_schema: m.props_schema,
            template: m.template,
        })
        .collect();
    let pages = site_pages
        .into_iter()
        .map(|page| {
            let published = page
                .published_revision_id
                .filter(|_| page.status == PageStatus::Published)
                .and_then(|id| snapshots.get(&id).cloned());
            PageExport {
                blocks: blocks_by_page
                    .remove(&page.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|b| BlockExport {
                        module: b.module_key,
                        props: b.props,
                        hidden: b.hidden,
                    })
                    .collect(),
                locale: page.locale,
                path: page.path,
                title: page.title,
                seo: page.seo,
                status: page.status.to_string(),
                published,
            }
        })
        .collect();
    Ok(SiteDocument {
        format: FORMAT.to_owned(),
        site: SiteExport {
            name: site.name,
            default_locale: site.default_locale,
            locales: site.locales,
            theme: site.theme,
            analytics: site.analytics,
        },
        custom_modules,
        pages,
    })
}

/// Module schemas by key, read and compiled once per import.
struct Library {
    schemas: HashMap<String, (Value, jsonschema::Validator)>,
}

impl Library {
    fn load(conn: &mut PgConnection) -> Result<Self, ApiError> {
        let mut raw: HashMap<String, Value> = modules::list_builtins(conn)?
            .into_iter()
            .map(|m| (m.key, m.props_schema))
            .collect();
        for custom in modules::list_custom(conn)? {
            raw.entry(custom.key).or_insert(custom.props_schema);
        }
        let mut schemas = HashMap::with_capacity(raw.len());
        for (key, schema) in raw {
            let validator = module_rules::compile(&schema)?;
            schemas.insert(key, (schema, validator));
        }
        Ok(Library { schemas })
    }

    fn check(&self, where_: &str, module: &str, props: Value) -> Result<Value, ApiError> {
        let (schema, validator) = self.schemas.get(module).ok_or_else(|| {
            ApiError::invalid(
                where_,
                format!("uses module {module:?}, which the library lacks"),
            )
        })?;
        module_rules::validate_with(validator, schema, props).map_err(|err| match err {
            ApiError::Validation(errors) => ApiError::Validation(
                errors
                    .into_iter()
                    .map(|e| FieldError {
                        field: format!("{where_}.{}", e.field),
                        pointer: format!("/{}{}", where_.replace('.', "/"), e.pointer),
                        message: e.message,
                    })
                    .collect(),
            ),
            other => other,
        })
    }
}

/// Creates the document's custom modules the tenant lacks; a key the tenant
/// already uses must have the same definition.
fn import_modules(
    conn: &mut PgConnection,
    audit: &Audit,
    document: &SiteDocument,
) -> Result<(), ApiError> {
    for (index, module) in document.custom_modules.iter().enumerate() {
        let field = format!("custom_modules.{index}");
        if modules::find_builtin(conn, &module.key)?.is_some() {
            return Err(ApiError::invalid(
                &field,
                format!("{:?} is a built-in module key", module.key),
            ));
        }
        match modules::find_custom(conn, &module.key)? {
            Some(existing)
                if existing.props_schema == module.props_schema
                    && existing.template == module.template => {}
            Some(_) => {
                return Err(ApiError::Conflict(format!(
                    "custom module {:?} exists in the target tenant with another definition",
                    module.key
                )))
            }
            None => {
                module_rules::check_schema(&module.props_schema)
                    .map_err(|e| ApiError::Validation(vec![e]))?;
                module_rules::check_template(&module.template)
                    .map_err(|e| ApiError::Validation(vec![e]))?;
                let now = Utc::now();
                let created = modules::insert_custom(
                    conn,
                    &CustomModule {
                        id: Uuid::now_v7(),
                        tenant_id: audit.tenant_id,
                        key: module.key.clone(),
                        name: module.name.clone(),
                        category: module.category.clone(),
                        props_schema: module.props_schema.clone(),
                        template: module.template.clone(),
                        version: 1,
                        created_at: now,
                        updated_at: now,
                    },
                )?;
                audit.created(conn, "module", created.id, &created)?;
            }
        }
    }
    Ok(())
}

/// Imports `document` as a new site of the audit's tenant, answering on `host`.
pub fn import(
    conn: &mut PgConnection,
    audit: &Audit,
    document: SiteDocument,
    name: &str,
    host: &str,
) -> Result<Site, ApiError> {
    if document.format != FORMAT {
        return Err(ApiError::invalid("format", format!("must be {FORMAT}")));
    }
    let host = cms_shared::host::normalize_host(host)
        .map_err(|err| ApiError::invalid("domain", err.to_string()))?;
    import_modules(conn, audit, &document)?;
    let library = Library::load(conn)?;

    let tenant_id = audit.tenant_id;
    let now = Utc::now();
    let site = sites::insert(
        conn,
        &NewSite {
            id: Uuid::now_v7(),
            tenant_id,
            name: name.trim().to_owned(),
            default_locale: document.site.default_locale.clone(),
            locales: document.site.locales.clone(),
            theme: document.site.theme.clone(),
            analytics: document.site.analytics.clone(),
        },
    )?;
    domains::insert(
        conn,
        &Domain {
            id: Uuid::now_v7(),
            tenant_id,
            site_id: site.id,
            host,
            is_primary: true,
            created_at: now,
        },
    )?;

    let mut page_rows = Vec::with_capacity(document.pages.len());
    let mut block_rows = Vec::new();
    let mut revision_rows = Vec::new();
    for (index, export) in document.pages.into_iter().enumerate() {
        let where_ = format!("pages.{index}");
        let path = cms_shared::path::normalize_path(&export.path)
            .map_err(|err| ApiError::invalid(&format!("{where_}.path"), err.to_string()))?;
        let page_id = Uuid::now_v7();
        let first_block = block_rows.len();
        for (position, block) in export.blocks.into_iter().enumerate() {
            let props = library.check(
                &format!("{where_}.blocks.{position}"),
                &block.module,
                block.props,
            )?;
            block_rows.push(Block {
                id: Uuid::now_v7(),
                tenant_id,
                page_id,
                position: position as i32,
                module_key: block.module,
                props,
                version: 1,
                created_at: now,
                updated_at: now,
                hidden: block.hidden,
            });
        }
        let exported_status = export.status.parse::<PageStatus>().ok();
        let live = match (exported_status, export.published) {
            (Some(PageStatus::Published), Some(snapshot)) => {
                let revision_id = Uuid::now_v7();
                let draft: Vec<(Uuid, &str)> = block_rows[first_block..]
                    .iter()
                    .map(|block| (block.id, block.module_key.as_str()))
                    .collect();
                let snapshot = rebuild_snapshot(
                    &library,
                    &where_,
                    snapshot,
                    (page_id, site.id, revision_id),
                    &draft,
                )?;
                let locale = snapshot["locale"]
                    .as_str()
                    .unwrap_or(&export.locale)
                    .to_owned();
                let live_path = snapshot["path"].as_str().unwrap_or(&path).to_owned();
                revision_rows.push(Revision {
                    id: revision_id,
                    tenant_id,
                    page_id,
                    number: 1,
                    snapshot,
                    created_by: audit.actor.user_id,
                    created_at: now,
                });
                Some((revision_id, locale, live_path))
            }
            _ => None,
        };
        let status = match (&live, exported_status) {
            (Some(_), _) => PageStatus::Published,
            (None, Some(PageStatus::Archived)) => PageStatus::Archived,
            _ => PageStatus::Draft,
        };
        page_rows.push(Page {
            id: page_id,
            tenant_id,
            site_id: site.id,
            locale: export.locale,
            path,
            title: export.title,
            seo: export.seo,
            status,
            publish_at: None,
            published_revision_id: None,
            published_at: None,
            published_locale: live.as_ref().map(|(_, locale, _)| locale.clone()),
            published_path: live.as_ref().map(|(_, _, path)| path.clone()),
            version: 1,
            created_at: now,
            updated_at: now,
        });
    }
    pages::insert_many(conn, &page_rows)?;
    pages::insert_blocks(conn, &block_rows)?;
    for revision in &revision_rows {
        pages::insert_revision(conn, revision)?;
        pages::set_live_revision(conn, revision.page_id, revision.id, now)?;
    }
    audit.event(conn, "site", "import", site.id, None::<&Site>, Some(&site))?;
    Ok(site)
}

/// A live snapshot with new ids and every block re-validated. A live block
/// takes the id of the draft block at its position when their modules match,
/// so experiments (which name blocks by id) apply to the live page too.
fn rebuild_snapshot(
    library: &Library,
    where_: &str,
    mut snapshot: Value,
    (page_id, site_id, revision_id): (Uuid, Uuid, Uuid),
    draft: &[(Uuid, &str)],
) -> Result<Value, ApiError> {
    let blocks = snapshot["blocks"].as_array().cloned().unwrap_or_default();
    let mut rebuilt = Vec::with_capacity(blocks.len());
    for (index, block) in blocks.into_iter().enumerate() {
        let module = block["module"].as_str().unwrap_or_default().to_owned();
        // Images resolved at publish validate as the references they were.
        let mut props = library.check(
            &format!("{where_}.published.blocks.{index}"),
            &module,
            resolve::as_references(&block["props"]),
        )?;
        resolve::restore_resolved(&mut props, &block["props"]);
        let id = draft
            .get(index)
            .filter(|(_, draft_module)| *draft_module == module)
            .map_or_else(Uuid::now_v7, |(id, _)| *id);
        rebuilt.push(json!({"id": id, "module": module, "props": props}));
    }
    snapshot["blocks"] = Value::Array(rebuilt);
    snapshot["id"] = json!(page_id);
    snapshot["site_id"] = json!(site_id);
    snapshot["revision_id"] = json!(revision_id);
    if let Some(path) = snapshot["path"].as_str() {
        let path = cms_shared::path::normalize_path(path).map_err(|err| {
            ApiError::invalid(&format!("{where_}.published.path"), err.to_string())
        })?;
        snapshot["path"] = json!(path);
    }
    Ok(snapshot)
}

/// Clones a site without a calling user (the `api clone-site` command): the
/// source tenant comes from the site, the target is it or `tenant`.
pub async fn clone_as_system(
    db: &crate::db::Db,
    site_id: Uuid,
    name: &str,
    domain: &str,
    tenant: Option<String>,
) -> Result<Site, ApiError> {
    use crate::db::audit::Actor;
    use crate::db::{routing, set_scope, tenants, Scope};
    let (name, domain) = (name.to_owned(), domain.to_owned());
    let (source_tenant, document) = db
        .tx(Scope::global(), move |conn| {
            let tenant_id = routing::site_tenant(conn, site_id)?.ok_or(ApiError::NotFound)?;
            set_scope(
                conn,
                Scope {
                    tenant_id: Some(tenant_id),
                    user_id: None,
                },
            )?;
            Ok((tenant_id, export(conn, site_id)?))
        })
        .await?;
    db.tx(Scope::global(), move |conn| {
        let target = match tenant {
            Some(key) => {
                tenants::find_by_key(conn, &key)?
                    .ok_or_else(|| ApiError::invalid("tenant", "no such tenant"))?
                    .id
            }
            None => source_tenant,
        };
        set_scope(
            conn,
            Scope {
                tenant_id: Some(target),
                user_id: None,
            },
        )?;
        let audit = Audit {
            actor: Actor {
                user_id: None,
                request_id: Some("cli".into()),
            },
            tenant_id: target,
        };
        import(conn, &audit, document, &name, &domain)
    })
    .await
}
