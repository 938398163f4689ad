//! Generated landing documents for demo data and load tests: realistic pages
//! made of built-in modules, imported through the same path as user documents.

use serde_json::{json, Value};
use uuid::Uuid;

use super::transfer::{BlockExport, PageExport, SiteDocument, SiteExport, FORMAT};
use crate::db::pages::PageStatus;

fn block(module: &str, props: Value) -> BlockExport {
    BlockExport {
        module: module.to_owned(),
        props,
        hidden: false,
    }
}

/// A demo image served by the renderer, with its WebP renditions.
fn demo_image(name: &str, alt: &str, width: u32, height: u32, widths: &[u32]) -> Value {
    json!({
        "src": format!("/assets/demo/{name}.jpg"),
        "alt": alt,
        "width": width,
        "height": height,
        "renditions": widths.iter().map(|w| json!({"src": format!("/assets/demo/{name}-{w}.webp"), "width": w})).collect::<Vec<_>>(),
    })
}

fn hero_image() -> Value {
    demo_image("hero", "Our reception", 1600, 900, &[480, 960, 1600])
}

fn home_blocks(brand: &str) -> Vec<BlockExport> {
    vec![
        block(
            "header",
            json!({"links": [{"label": "Clinic", "href": "/clinic"}, {"label": "About", "href": "/page-2"}], "cta": {"label": "Book a visit", "href": "#lead"}}),
        ),
        block(
            "hero",
            json!({"title": format!("{brand}: care that fits your day"), "subtitle": "Same-week appointments with specialists you can trust.", "cta": {"label": "Book a visit", "href": "#lead"}, "image": hero_image()}),
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

/// Every other built-in module, on the demo landing's `/clinic` page.
fn clinic_blocks(brand: &str) -> Vec<BlockExport> {
    let doctor = demo_image("doctor", "A doctor of the clinic", 600, 600, &[480, 600]);
    let clinic = demo_image(
        "clinic",
        "The clinic building",
        1200,
        800,
        &[480, 960, 1200],
    );
    vec![
        block(
            "header",
            json!({"links": [{"label": "Home", "href": "/"}, {"label": "Book", "href": "#lead"}], "sticky": true}),
        ),
        block(
            "hero",
            json!({"title": format!("{brand} clinic"), "subtitle": "Doctors, services and appointments in one place.", "align": "center"}),
        ),
        block(
            "steps",
            json!({"title": "How a visit works", "items": [
                {"title": "Book", "text": "Pick a time online or by phone."},
                {"title": "Visit", "text": "Come in; no paperwork at the desk."},
                {"title": "Follow up", "text": "Results and advice in your inbox."}
            ]}),
        ),
        block(
            "doctors_list",
            json!({"title": "Our doctors", "specialization": "cardiology", "limit": 6}),
        ),
        block(
            "team",
            json!({"title": "Lead physicians", "items": [
                {"name": "Dr. Anna Petrova", "role": "Cardiologist", "photo": doctor, "bio": "Fifteen years of practice."},
                {"name": "Dr. Ivan Sokolov", "role": "Therapist", "bio": "Family medicine and prevention."}
            ]}),
        ),
        block(
            "services_list",
            json!({"title": "Services", "category": "diagnostics", "show_prices": true}),
        ),
        block(
            "testimonials",
            json!({"title": "What patients say", "items": [
                {"quote": "Booked in two minutes, seen on time.", "author": "Maria", "role": "patient"},
                {"quote": "Clear prices and kind doctors.", "author": "Oleg"}
            ]}),
        ),
        block("reviews", json!({"title": "Patient reviews", "limit": 5})),
        block(
            "pricing",
            json!({"title": "Prices", "items": [
                {"name": "First visit", "price": "$40", "features": ["Consultation", "Plan of care"]},
                {"name": "Check-up", "price": "$120", "period": "year", "features": ["Blood tests", "ECG", "Two visits"], "highlighted": true, "cta": {"label": "Book a check-up", "href": "#lead"}}
            ]}),
        ),
        block(
            "gallery",
            json!({"title": "Inside the clinic", "images": [clinic.clone(), hero_image()]}),
        ),
        block(
            "video",
            json!({"title": "A tour of the clinic", "url": "https://example.com/tour", "poster": clinic}),
        ),
        block(
            "logos",
            json!({"title": "Insurers we work with", "logos": [demo_image("doctor", "Partner insurer", 600, 600, &[480, 600])]}),
        ),
        block(
            "rich_text",
            json!({"html": "<h2>Before your visit</h2><p>Bring an ID and any earlier results. <a href=\"/\">Back home</a>.</p>"}),
        ),
        block(
            "booking_widget",
            json!({"title": "Book an appointment", "service": "consultation"}),
        ),
        block(
            "contacts_map",
            json!({"title": "Find us", "address": "1 Clinic Street", "phone": "+1 555 0100", "email": "care@example.com", "latitude": 55.75, "longitude": 37.62, "hours": "Mon-Sat 8:00-20:00"}),
        ),
        block(
            "cta",
            json!({"title": "Questions?", "text": "Call us or leave your number.", "button": {"label": "Call me back", "href": "#lead"}}),
        ),
        block(
            "lead_form",
            json!({"title": "Request a call", "fields": ["name", "phone", "email", "comment"], "submit_label": "Send"}),
        ),
        block(
            "footer",
            json!({"text": format!("<p>{brand}</p>"), "links": [{"label": "Home", "href": "/"}], "copyright": format!("© {brand}")}),
        ),
    ]
}

/// The demo landing's images uploaded to the media library (`api seed` does
/// it through the upload pipeline, so `make run` shows real renditions).
#[derive(Debug, Clone, Copy)]
pub struct DemoImages {
    pub hero: Uuid,
    pub doctor: Uuid,
    pub clinic: Uuid,
}

impl DemoImages {
    /// The shipped files (`renderer/assets/demo/`), their alt text and the
    /// slot each fills.
    pub const FILES: [(&'static str, &'static [u8], &'static str); 3] = [
        (
            "hero",
            include_bytes!("../../../renderer/assets/demo/hero.jpg"),
            "Our reception",
        ),
        (
            "doctor",
            include_bytes!("../../../renderer/assets/demo/doctor.jpg"),
            "A doctor of the clinic",
        ),
        (
            "clinic",
            include_bytes!("../../../renderer/assets/demo/clinic.jpg"),
            "The clinic building",
        ),
    ];

    pub fn ids(&self) -> [Uuid; 3] {
        [self.hero, self.doctor, self.clinic]
    }

    fn for_asset(&self, src: &str) -> Option<Uuid> {
        let name = src.strip_prefix("/assets/demo/")?.strip_suffix(".jpg")?;
        match name {
            "hero" => Some(self.hero),
            "doctor" => Some(self.doctor),
            "clinic" => Some(self.clinic),
            _ => None,
        }
    }

    /// Replaces every demo asset image in `value` by a reference to its
    /// media, keeping the block's alt text as the override.
    fn reference_in(&self, value: &mut Value) {
        match value {
            Value::Object(map) => {
                let asset = map
                    .get("src")
                    .and_then(Value::as_str)
                    .and_then(|src| self.for_asset(src));
                if let Some(id) = asset {
                    let alt = map.get("alt").cloned().unwrap_or(Value::Null);
                    *value = json!({"media": id, "alt": alt});
                    return;
                }
                for child in map.values_mut() {
                    self.reference_in(child);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.reference_in(item)),
            _ => {}
        }
    }
}

/// The demo landing of `make run`: a home page, a page showing every other
/// built-in module, and a plain inner page. With `images`, its pictures are
/// those media; without, the renderer's own demo files.
pub fn demo_document(brand: &str, images: Option<DemoImages>) -> SiteDocument {
    let mut document = demo_document_with_assets(brand);
    if let Some(images) = images {
        for page in &mut document.pages {
            for block in &mut page.blocks {
                images.reference_in(&mut block.props);
            }
            if let Some(published) = page.published.as_mut() {
                images.reference_in(published);
            }
        }
    }
    document
}

fn demo_document_with_assets(brand: &str) -> SiteDocument {
    let mut document = landing_document(brand, 3);
    if let Some(page) = document.pages.get_mut(1) {
        let blocks = clinic_blocks(brand);
        let title = format!("{brand} clinic");
        page.path = "/clinic".into();
        page.title = title.clone();
        page.seo = json!({"meta_title": title, "meta_description": format!("{brand}: doctors, services, prices and booking.")});
        page.published = Some(json!({
            "path": "/clinic",
            "locale": "en",
            "title": title,
            "seo": page.seo,
            "blocks": blocks.iter().map(|b| json!({"module": b.module, "props": b.props})).collect::<Vec<_>>(),
            "experiments": [],
            "custom_modules": {},
        }));
        page.blocks = blocks;
    }
    document
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
                status: PageStatus::Published.to_string(),
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
