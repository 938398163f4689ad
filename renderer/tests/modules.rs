//! Snapshots of the HTML of every built-in module, rendered from the props in
//! `fixtures/modules.json`. A template change shows up as a reviewed diff
//! (`cargo insta review`), never silently.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use cms_renderer::render::{AssetUrls, Templates, BUILTIN_MODULES};
use serde_json::Value;

fn templates() -> Templates {
    Templates::load(
        None,
        AssetUrls {
            css: "/assets/site.css".into(),
            js: "/assets/site.js".into(),
        },
        Arc::new(cms_renderer::metrics::Metrics::default()),
    )
    .unwrap()
}

#[test]
fn every_built_in_module_matches_its_snapshot() {
    let fixtures: Value = serde_json::from_str(include_str!("fixtures/modules.json")).unwrap();
    let templates = templates();
    for module in BUILTIN_MODULES {
        let props = fixtures
            .get(module)
            .unwrap_or_else(|| panic!("fixtures/modules.json has no {module}"));
        let html = templates.module_html(module, props);
        assert!(
            !html.contains("module-unavailable"),
            "{module} failed to render"
        );
        insta::assert_snapshot!(format!("module_{module}"), html);
    }
}

#[test]
fn text_props_are_escaped_and_an_unknown_module_is_a_placeholder() {
    let templates = templates();
    let html = templates.module_html(
        "hero",
        &serde_json::json!({"title": "<script>alert(1)</script>"}),
    );
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(!html.contains("<script>"));
    let unknown = templates.module_html("no_such_module", &serde_json::json!({}));
    assert!(unknown.contains("module-unavailable"));
}

#[test]
fn a_broken_custom_template_renders_a_placeholder_and_the_rest_of_the_page() {
    let templates = templates();
    let site_id = "00000000-0000-0000-0000-0000000000a1";
    let manifest: cms_shared::delivery::SiteManifest = serde_json::from_value(serde_json::json!({
        "site_id": site_id, "tenant_id": site_id, "name": "Demo", "default_locale": "en",
        "locales": ["en"], "theme": {}, "analytics": {}, "hosts": [], "navigation": []
    }))
    .unwrap();
    let page: cms_shared::delivery::DeliveryPage = serde_json::from_value(serde_json::json!({
        "id": "00000000-0000-0000-0000-0000000000b0", "site_id": site_id, "revision_id": null,
        "path": "/", "locale": "en", "title": "Home", "seo": {},
        "blocks": [
            {"id": "b1", "module": "promo", "props": {}},
            {"id": "b2", "module": "badge", "props": {"label": "New"}},
            {"id": "b3", "module": "hero", "props": {"title": "Still here"}}
        ],
        "custom_modules": {
            "promo": {"template": "{% for x in %}", "version": 1},
            "badge": {"template": "<span class=\"badge\">{{ props.label }}</span>", "version": 3}
        }
    }))
    .unwrap();
    let request = cms_renderer::render::PageRequest {
        manifest: &manifest,
        origin: "http://demo.localhost",
        locale_prefix: "",
        clinic: None,
    };
    let shell = templates.page(&request, &page, "v1".into());
    let html = String::from_utf8(shell.fill(&cms_renderer::render::shell::Fill {
        submission: "",
        nonce: "n",
        utm: &[],
    }))
    .unwrap();
    assert!(
        html.contains(r#"<div class="module-unavailable" data-module="promo" hidden></div>"#),
        "{html}"
    );
    assert!(html.contains(r#"<span class="badge">New</span>"#), "{html}");
    assert!(html.contains("Still here"));
}
