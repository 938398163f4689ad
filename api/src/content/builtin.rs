//! The built-in module library: key, name, category and the JSON Schema of
//! each module's props. The renderer ships a template per key; `api setup` and
//! `api migrate` register these rows so every tenant can use them.
//!
//! A string prop with `"contentMediaType": "text/html"` is rich text: it is
//! sanitised on write (no scripts, event handlers or `javascript:` URLs).

use serde_json::{json, Value};

pub struct BuiltinModule {
    pub key: &'static str,
    pub name: &'static str,
    pub category: &'static str,
    pub props_schema: Value,
}

fn text(max: u32) -> Value {
    json!({"type": "string", "maxLength": max})
}

fn html() -> Value {
    json!({"type": "string", "contentMediaType": "text/html", "maxLength": 100000})
}

fn url() -> Value {
    json!({"type": "string", "maxLength": 2048, "pattern": "^(https?://|/|#|mailto:|tel:)"})
}

/// An image prop: a media of the library (`{"media": id, "alt"?}`: delivery
/// resolves it into src, sizes, sources and placeholder), or, as before the
/// library, an image by URL with hand-made renditions.
fn image() -> Value {
    json!({"oneOf": [media_image(), url_image()]})
}

fn media_image() -> Value {
    json!({
        "type": "object",
        "required": ["media"],
        "properties": {
            "media": {"type": "string", "format": "uuid", "pattern": "^[0-9a-fA-F-]{36}$"},
            "alt": {"description": "Overrides the media's alt text here", "type": "string", "maxLength": 300}
        },
        "additionalProperties": false
    })
}

fn url_image() -> Value {
    json!({
        "type": "object",
        "required": ["src"],
        "properties": {
            "src": url(),
            "alt": text(300),
            "width": {"type": "integer", "minimum": 1, "maximum": 10000},
            "height": {"type": "integer", "minimum": 1, "maximum": 10000},
            "renditions": {
                "description": "WebP renditions of the image at several widths (srcset)",
                "type": "array",
                "maxItems": 8,
                "items": {
                    "type": "object",
                    "required": ["src", "width"],
                    "properties": {"src": url(), "width": {"type": "integer", "minimum": 1, "maximum": 10000}},
                    "additionalProperties": false
                }
            }
        },
        "additionalProperties": false
    })
}

fn link() -> Value {
    json!({
        "type": "object",
        "required": ["label", "href"],
        "properties": {"label": text(120), "href": url()},
        "additionalProperties": false
    })
}

fn list_of(item: Value, max: u32) -> Value {
    json!({"type": "array", "items": item, "maxItems": max})
}

fn object(required: &[&str], properties: Value) -> Value {
    json!({"type": "object", "required": required, "properties": properties, "additionalProperties": false})
}

fn module(
    key: &'static str,
    name: &'static str,
    category: &'static str,
    props_schema: Value,
) -> BuiltinModule {
    BuiltinModule {
        key,
        name,
        category,
        props_schema,
    }
}

/// Every built-in module, in library order.
pub fn builtin_modules() -> Vec<BuiltinModule> {
    let titled_items = |item_props: Value, required: &[&str]| {
        object(
            &["items"],
            json!({"title": text(200), "items": list_of(object(required, item_props), 50)}),
        )
    };
    vec![
        module(
            "header",
            "Header and navigation",
            "layout",
            object(
                &[],
                json!({
                    "logo": image(), "links": list_of(link(), 12), "cta": link(), "sticky": {"type": "boolean"}
                }),
            ),
        ),
        module(
            "hero",
            "Hero",
            "intro",
            object(
                &["title"],
                json!({
                    "title": text(200), "subtitle": text(500), "image": image(), "cta": link(),
                    "align": {"enum": ["left", "center"]}
                }),
            ),
        ),
        module(
            "rich_text",
            "Rich text",
            "content",
            object(&["html"], json!({"html": html()})),
        ),
        module(
            "features",
            "Features",
            "content",
            titled_items(
                json!({"title": text(120), "text": text(600), "icon": text(60)}),
                &["title"],
            ),
        ),
        module(
            "steps",
            "Steps",
            "content",
            titled_items(json!({"title": text(120), "text": text(600)}), &["title"]),
        ),
        module(
            "stats",
            "Stats",
            "content",
            titled_items(
                json!({"value": text(40), "label": text(120)}),
                &["value", "label"],
            ),
        ),
        module(
            "cta",
            "Call to action",
            "conversion",
            object(
                &["title", "button"],
                json!({
                    "title": text(200), "text": text(600), "button": link()
                }),
            ),
        ),
        module(
            "lead_form",
            "Lead form",
            "conversion",
            object(
                &["title"],
                json!({
                    "title": text(200), "text": text(600), "submit_label": text(60),
                    "fields": list_of(json!({"enum": ["name", "phone", "email", "comment"]}), 4),
                    "success_message": text(300)
                }),
            ),
        ),
        module(
            "faq",
            "FAQ",
            "content",
            titled_items(
                json!({"question": text(300), "answer": html()}),
                &["question", "answer"],
            ),
        ),
        module(
            "testimonials",
            "Testimonials",
            "social_proof",
            titled_items(
                json!({
                    "quote": text(1000), "author": text(120), "role": text(120), "photo": image()
                }),
                &["quote", "author"],
            ),
        ),
        module(
            "pricing",
            "Pricing",
            "conversion",
            titled_items(
                json!({
                    "name": text(120), "price": text(40), "period": text(40),
                    "features": list_of(text(200), 30), "cta": link(), "highlighted": {"type": "boolean"}
                }),
                &["name", "price"],
            ),
        ),
        module(
            "gallery",
            "Gallery",
            "media",
            object(
                &["images"],
                json!({"title": text(200), "images": list_of(image(), 60)}),
            ),
        ),
        module(
            "video",
            "Video",
            "media",
            object(
                &["url"],
                json!({"title": text(200), "url": url(), "poster": image()}),
            ),
        ),
        module(
            "logos",
            "Logos",
            "social_proof",
            object(
                &["logos"],
                json!({"title": text(200), "logos": list_of(image(), 40)}),
            ),
        ),
        module(
            "team",
            "Team",
            "people",
            titled_items(
                json!({"name": text(120), "role": text(120), "photo": image(), "bio": text(1000)}),
                &["name"],
            ),
        ),
        module(
            "contacts_map",
            "Contacts and map",
            "clinic",
            object(
                &[],
                json!({
                    "title": text(200), "address": text(300), "phone": text(40), "email": text(254),
                    "latitude": {"type": "number", "minimum": -90, "maximum": 90},
                    "longitude": {"type": "number", "minimum": -180, "maximum": 180},
                    "hours": text(300)
                }),
            ),
        ),
        module(
            "doctors_list",
            "Doctors",
            "clinic",
            object(
                &[],
                json!({
                    "title": text(200), "specialization": text(120), "clinic": text(120), "limit": {"type": "integer", "minimum": 1, "maximum": 50}
                }),
            ),
        ),
        module(
            "services_list",
            "Services",
            "clinic",
            object(
                &[],
                json!({
                    "title": text(200), "category": text(120), "show_prices": {"type": "boolean"}
                }),
            ),
        ),
        module(
            "booking_widget",
            "Booking widget",
            "clinic",
            object(
                &[],
                json!({
                    "title": text(200), "doctor": text(120), "service": text(120), "clinic": text(120)
                }),
            ),
        ),
        module(
            "reviews",
            "Reviews",
            "social_proof",
            object(
                &[],
                json!({
                    "title": text(200), "doctor": text(120), "limit": {"type": "integer", "minimum": 1, "maximum": 50}
                }),
            ),
        ),
        module(
            "footer",
            "Footer",
            "layout",
            object(
                &[],
                json!({
                    "text": html(), "links": list_of(link(), 30), "copyright": text(200)
                }),
            ),
        ),
    ]
}
