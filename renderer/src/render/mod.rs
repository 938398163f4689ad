//! Page rendering with tera: a base layout, one template per built-in module
//! (embedded in the binary, or read from `CMS_RENDERER_TEMPLATES_DIR`), and
//! tenant custom modules compiled from the source the API delivers, once per
//! module version. A custom module that fails renders as an empty
//! placeholder and is logged; the page still renders.

pub mod clinic;
pub mod images;
pub mod seo;
pub mod shell;

use std::path::Path;
use std::sync::Arc;

use cms_shared::delivery::{CustomModuleSource, DeliveryBlock, DeliveryPage, Seo, SiteManifest};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::metrics::{inc, Metrics};
use images::{logo_html, PageImages};
use shell::Shell;

/// Every built-in module key; each has `modules/<key>.html`.
pub const BUILTIN_MODULES: [&str; 21] = [
    "header",
    "hero",
    "rich_text",
    "features",
    "steps",
    "stats",
    "cta",
    "lead_form",
    "faq",
    "testimonials",
    "pricing",
    "gallery",
    "video",
    "logos",
    "team",
    "contacts_map",
    "doctors_list",
    "services_list",
    "booking_widget",
    "reviews",
    "footer",
];

macro_rules! embedded {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../templates/", $name)))),*]
    };
}

const EMBEDDED: &[(&str, &str)] = embedded!(
    "base.html",
    "standalone.html",
    "not_found.html",
    "site_not_found.html",
    "unavailable.html",
    "thanks.html",
    "modules/header.html",
    "modules/hero.html",
    "modules/rich_text.html",
    "modules/features.html",
    "modules/steps.html",
    "modules/stats.html",
    "modules/cta.html",
    "modules/lead_form.html",
    "modules/faq.html",
    "modules/testimonials.html",
    "modules/pricing.html",
    "modules/gallery.html",
    "modules/video.html",
    "modules/logos.html",
    "modules/team.html",
    "modules/contacts_map.html",
    "modules/doctors_list.html",
    "modules/services_list.html",
    "modules/booking_widget.html",
    "modules/reviews.html",
    "modules/footer.html",
);

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("template {name}: {source}")]
    Tera { name: String, source: tera::Error },
    #[error("template {name}: {source}")]
    Read {
        name: String,
        source: std::io::Error,
    },
}

/// URLs of the fingerprinted assets.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AssetUrls {
    pub css: String,
    pub js: String,
}

pub struct Templates {
    tera: tera::Tera,
    custom: moka::sync::Cache<String, Arc<Result<tera::Tera, String>>>,
    metrics: Arc<Metrics>,
    pub assets: AssetUrls,
}

/// What the layout and SEO need of a page (a delivered page, or the site's
/// own not-found page).
pub struct PageHead<'a> {
    pub id: Option<Uuid>,
    pub path: &'a str,
    pub locale: &'a str,
    pub title: &'a str,
    pub seo: &'a Seo,
}

impl<'a> PageHead<'a> {
    pub fn of(page: &'a DeliveryPage) -> Self {
        PageHead {
            id: Some(page.id),
            path: &page.path,
            locale: &page.locale,
            title: &page.title,
            seo: &page.seo,
        }
    }

    /// The page as templates see it (`page.id`, `page.path`, ...).
    fn values(&self) -> Value {
        json!({"id": self.id, "path": self.path, "locale": self.locale, "title": self.title})
    }
}

/// A block's own template source when its module is the tenant's.
struct BlockSource<'a> {
    site_id: &'a str,
    custom: Option<&'a CustomModuleSource>,
}

/// Everything about the request a page render needs (no visitor data).
pub struct PageRequest<'a> {
    pub manifest: &'a SiteManifest,
    /// `scheme://host[:port]` the page answers on.
    pub origin: &'a str,
    /// The URL prefix of the locale (`""` for the default, `/ru` otherwise).
    pub locale_prefix: &'a str,
    /// The site's clinic data for clinic modules, when the api has it.
    pub clinic: Option<&'a cms_shared::clinic::ClinicData>,
}

impl Templates {
    pub fn load(
        dir: Option<&Path>,
        assets: AssetUrls,
        metrics: Arc<Metrics>,
    ) -> Result<Self, TemplateError> {
        let mut tera = tera::Tera::default();
        for (name, embedded) in EMBEDDED {
            let source = match dir {
                Some(dir) => std::fs::read_to_string(dir.join(name)).map_err(|source| {
                    TemplateError::Read {
                        name: (*name).to_owned(),
                        source,
                    }
                })?,
                None => (*embedded).to_owned(),
            };
            tera.add_raw_template(name, &source)
                .map_err(|source| TemplateError::Tera {
                    name: (*name).to_owned(),
                    source,
                })?;
        }
        Ok(Templates {
            tera,
            custom: moka::sync::Cache::new(1_000),
            metrics,
            assets,
        })
    }

    /// A standalone page (`not_found.html`, `unavailable.html`, `thanks.html`).
    pub fn standalone(&self, name: &str, values: &Value) -> String {
        let mut context = tera::Context::new();
        if let Value::Object(map) = values {
            for (key, value) in map {
                context.insert(key.clone(), value);
            }
        }
        context.insert("assets", &self.assets);
        self.tera.render(name, &context).unwrap_or_else(|err| {
            tracing::error!(error = %err, template = name, "standalone template failed");
            "<!doctype html><title>Error</title><p>This page cannot be shown.</p>".to_owned()
        })
    }

    /// Renders a published page into a shell.
    pub fn page(&self, request: &PageRequest, page: &DeliveryPage, etag: String) -> Shell {
        let site = site_values(request.manifest);
        let mut images = PageImages::default();
        let head = PageHead::of(page);
        let page_values = head.values();
        let site_id = page.site_id.to_string();
        let mut parts: Vec<(String, String)> = Vec::with_capacity(page.blocks.len());
        let home = format!("{}/", request.locale_prefix);
        for block in &page.blocks {
            let mut props = Value::Object(block.props.clone());
            images.enrich(&mut props);
            // Clinic data shown by the block (doctor photos are page images
            // like any other: the first one of the page loads eagerly).
            let mut clinic_view = clinic::view(&block.module, &props, request.clinic);
            if let Some(view) = clinic_view.as_mut() {
                images.enrich(view);
            }
            let context = BlockContext {
                props: &props,
                block_id: &block.id,
                page: &page_values,
                site: &site,
                home: &home,
                clinic_view: clinic_view.as_ref(),
            };
            let source = BlockSource {
                site_id: &site_id,
                custom: page.custom_modules.get(&block.module),
            };
            let html = self.block(&block.module, &context, &source);
            parts.push((block.module.clone(), html));
        }
        let (header, main, footer) = split_layout(parts);
        let html = self.layout(
            request,
            &head,
            &page.blocks,
            &images,
            [&header, &main, &footer],
        );
        Shell::parse(&html, etag)
    }

    /// One block alone, on a page of a site called "Demo" (snapshot tests,
    /// previews of a module in the library).
    pub fn module_html(&self, module: &str, props: &Value) -> String {
        let mut props = props.clone();
        PageImages::default().enrich(&mut props);
        let page = json!({"id": "00000000-0000-0000-0000-000000000001", "path": "/", "locale": "en", "title": "Demo"});
        let context = BlockContext {
            props: &props,
            block_id: "00000000-0000-0000-0000-0000000000b1",
            page: &page,
            site: &json!({"id": null, "name": "Demo"}),
            home: "/",
            clinic_view: None,
        };
        let source = BlockSource {
            site_id: "",
            custom: None,
        };
        self.block(module, &context, &source)
    }

    /// The site's own 404 page: its layout around a not-found notice.
    pub fn site_not_found(&self, request: &PageRequest, path: &str, locale: &str) -> Shell {
        let site = site_values(request.manifest);
        let mut context = tera::Context::new();
        context.insert("site", &site);
        context.insert("path", path);
        context.insert("home", &format!("{}/", request.locale_prefix));
        let notice = self
            .tera
            .render("site_not_found.html", &context)
            .unwrap_or_default();
        let title = format!("Page not found | {}", request.manifest.name);
        let seo = Seo {
            noindex: Some(true),
            ..Seo::default()
        };
        let head = PageHead {
            id: None,
            path,
            locale,
            title: &title,
            seo: &seo,
        };
        let no_images = PageImages::default();
        let html = self.layout(request, &head, &[], &no_images, ["", &notice, ""]);
        Shell::parse(&html, "404".into())
    }

    /// The base layout around rendered header, main and footer HTML.
    fn layout(
        &self,
        request: &PageRequest,
        head: &PageHead,
        blocks: &[DeliveryBlock],
        images: &PageImages,
        [header, main, footer]: [&str; 3],
    ) -> String {
        let mut context = tera::Context::new();
        context.insert("page", &head.values());
        context.insert("site", &site_values(request.manifest));
        context.insert("seo", &seo::page_seo(request, head));
        context.insert("alternates", &seo::alternates(request, head.path));
        context.insert("theme", &seo::theme(request.manifest));
        context.insert("json_ld", &seo::json_ld(request, head, blocks));
        context.insert("preload", &images.preload);
        context.insert("placeholder_css", &images.placeholder_css());
        context.insert("assets", &self.assets);
        context.insert("header_html", header);
        context.insert("main_html", main);
        context.insert("footer_html", footer);
        self.tera
            .render("base.html", &context)
            .unwrap_or_else(|err| {
                tracing::error!(error = %err, "base template failed");
                main.to_owned()
            })
    }

    fn block(&self, module: &str, values: &BlockContext, source: &BlockSource) -> String {
        let mut context = tera::Context::new();
        context.insert("props", values.props);
        context.insert("block", &json!({"id": values.block_id, "module": module}));
        context.insert("page", values.page);
        context.insert("site", values.site);
        context.insert("home", values.home);
        if module == "lead_form" {
            context.insert("fields", &lead_fields(values.props));
        }
        if module == "contacts_map" {
            context.insert("map_url", &map_url(values.props));
        }
        if let Some(view) = values.clinic_view {
            context.insert("clinic", view);
        }
        if BUILTIN_MODULES.contains(&module) {
            return match self
                .tera
                .render(&format!("modules/{module}.html"), &context)
            {
                Ok(html) => html,
                Err(err) => self.placeholder(module, &err.to_string()),
            };
        }
        let Some(custom) = source.custom else {
            return self.placeholder(module, "unknown module");
        };
        let key = format!("{}|{module}|{}", source.site_id, custom.version);
        let compiled = self.custom.get_with(key, || {
            let mut tera = tera::Tera::default();
            Arc::new(
                tera.add_raw_template("module.html", &custom.template)
                    .map(|()| tera)
                    .map_err(|err| err.to_string()),
            )
        });
        match compiled.as_ref() {
            Ok(tera) => match tera.render("module.html", &context) {
                Ok(html) => format!(
                    r#"<div class="custom-module" data-module="{}">{html}</div>"#,
                    shell::escape_attr(module)
                ),
                Err(err) => self.placeholder(module, &err.to_string()),
            },
            Err(err) => self.placeholder(module, err),
        }
    }

    fn placeholder(&self, module: &str, reason: &str) -> String {
        inc(&self.metrics.template_failures);
        tracing::error!(module, reason, "module failed to render: placeholder shown");
        format!(
            r#"<div class="module-unavailable" data-module="{}" hidden></div>"#,
            shell::escape_attr(module)
        )
    }
}

/// What a block's template reads besides its module's source.
struct BlockContext<'a> {
    props: &'a Value,
    block_id: &'a str,
    page: &'a Value,
    site: &'a Value,
    home: &'a str,
    clinic_view: Option<&'a Value>,
}

fn site_values(manifest: &SiteManifest) -> Value {
    json!({"id": manifest.site_id, "name": manifest.name, "logo": logo_html(manifest.theme.get("logo"))})
}

/// Leading `header` blocks go before `<main>`, trailing `footer` blocks after.
fn split_layout(parts: Vec<(String, String)>) -> (String, String, String) {
    let leading = parts.iter().take_while(|(m, _)| m == "header").count();
    let trailing = parts[leading..]
        .iter()
        .rev()
        .take_while(|(m, _)| m == "footer")
        .count();
    let main_end = parts.len() - trailing;
    let join = |slice: &[(String, String)]| {
        slice
            .iter()
            .map(|(_, html)| html.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    };
    (
        join(&parts[..leading]),
        join(&parts[leading..main_end]),
        join(&parts[main_end..]),
    )
}

fn lead_fields(props: &Value) -> Vec<Value> {
    let names: Vec<String> = props["fields"]
        .as_array()
        .map(|fields| {
            fields
                .iter()
                .filter_map(|f| f.as_str().map(str::to_owned))
                .collect()
        })
        .filter(|fields: &Vec<String>| !fields.is_empty())
        .unwrap_or_else(|| vec!["name".into(), "phone".into()]);
    let has_email = names.iter().any(|n| n == "email");
    names
        .iter()
        .map(|name| {
            let (label, kind, autocomplete, required) = match name.as_str() {
                "name" => ("Your name", "text", "name", false),
                "phone" => ("Phone", "tel", "tel", !has_email),
                "email" => ("Email", "email", "email", false),
                _ => ("Comment", "text", "off", false),
            };
            json!({"name": name, "label": label, "type": kind, "autocomplete": autocomplete, "required": required})
        })
        .collect()
}

fn map_url(props: &Value) -> Option<String> {
    let lat = props["latitude"].as_f64()?;
    let lon = props["longitude"].as_f64()?;
    Some(format!(
        "https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=16/{lat}/{lon}"
    ))
}
