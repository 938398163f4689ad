//! Generated landing documents for demo data and load tests: realistic pages
//! made of built-in modules, imported through the same path as user documents.

use serde_json::{json, Value};

use super::transfer::{BlockExport, PageExport, SiteDocument, SiteExport, FORMAT};

fn block(module: &str, props: Value) -> BlockExport {
    BlockExport {
        module: module.to_owned(),
        props,
    }
}

fn home_blocks(brand: &str) -> Vec<BlockExport> {
    vec![
        block(
            "header",
            json!({"links": [{"label": "Services", "href": "/services"}, {"label": "About", "href": "/about"}], "cta": {"label": "Book a visit", "href": "#lead"}}),
        ),
        block(
            "hero",
            json!({"title": format!("{brand}: care that fits your day"), "subtitle": "Same-week appointments with specialists you can trust.", "cta": {"label": "Book a visit", "href": "#lead"}, "image": {"src": "/media/hero.jpg", "alt": "Reception", "width": 1600, "height": 900}}),
        ),
        block(
            "features",
            json!({"title": "Why patients choose us", "items": [
                {"title": "No queues", "text": "Book online and come at your time."},
                {"title": "Specialists", "text": "Thirty doctors in twelve fields."},
                {"title": "Clear prices", "text": "The price you see is the price you pay."}
            ]}),
        ),
        block(
            "stats",
            json!({"items": [{"value": "12", "label": "years"}, {"value": "40k", "label": "patients a year"}, {"value": "4.9", "label": "average rating"}]}),
        ),
        block(
            "faq",
            json!({"title": "Questions", "items": [
                {"question": "Do I need a referral?", "answer": "<p>No. Book any specialist directly.</p>"},
                {"question": "Can I pay by card?", "answer": "<p>Yes, and online before the visit.</p>"}
            ]}),
        ),
        block(
            "lead_form",
            json!({"title": "Book a visit", "fields": ["name", "phone"], "submit_label": "Call me back"}),
        ),
        block(
            "footer",
            json!({"text": format!("<p>{brand}</p>"), "copyright": format!("© {brand}")}),
        ),
    ]
}

fn inner_blocks(title: &str) -> Vec<BlockExport> {
    vec![
        block("header", json!({"links": [{"label": "Home", "href": "/"}]})),
        block(
            "hero",
            json!({"title": title, "subtitle": "Everything you need to know before your visit."}),
        ),
        block(
            "rich_text",
            json!({"html": format!("<h2>{title}</h2><p>Our team answers within one working day. <a href=\"/\">Back home</a>.</p>")}),
        ),
        block(
            "cta",
            json!({"title": "Ready to book?", "button": {"label": "Book a visit", "href": "/#lead"}}),
        ),
        block("footer", json!({"copyright": "All rights reserved"})),
    ]
}

/// A published landing of `pages` pages (`/`, then `/page-1`, ...) in English.
pub fn landing_document(brand: &str, pages: usize) -> SiteDocument {
    let pages = (0..pages.max(1))
        .map(|index| {
            let (path, title, blocks) = if index == 0 {
                ("/".to_owned(), brand.to_owned(), home_blocks(brand))
            } else {
                let title = format!("{brand}: section {index}");
                (format!("/page-{index}"), title.clone(), inner_blocks(&title))
            };
            let snapshot = json!({
                "path": path,
                "locale": "en",
                "title": title,
                "seo": {"meta_title": title, "meta_description": format!("{brand}: appointments, prices, doctors.")},
                "blocks": blocks.iter().map(|b| json!({"module": b.module, "props": b.props})).collect::<Vec<_>>(),
                "experiments": [],
                "custom_modules": {},
            });
            PageExport {
                locale: "en".into(),
                path,
                seo: snapshot["seo"].clone(),
                title,
                status: "published".into(),
                blocks,
                published: Some(snapshot),
            }
        })
        .collect();
    SiteDocument {
        format: FORMAT.to_owned(),
        site: SiteExport {
            name: brand.to_owned(),
            default_locale: "en".into(),
            locales: vec!["en".into(), "ru".into()],
            theme: json!({"primary_color": "#0f766e", "font": "Inter"}),
            analytics: json!({}),
        },
        custom_modules: Vec::new(),
        pages,
    }
}
