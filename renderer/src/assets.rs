//! The one CSS and one JS file, embedded and served under fingerprinted names
//! with `immutable` caching, and the demo images the demo landings use.

use actix_web::{get, web, HttpResponse};
use sha2::{Digest, Sha256};

use crate::render::AssetUrls;

const CSS: &str = include_str!("../assets/site.css");
const JS: &str = include_str!("../assets/site.js");

const DEMO: &[(&str, &[u8])] = &[
    ("hero.jpg", include_bytes!("../assets/demo/hero.jpg")),
    (
        "hero-480.webp",
        include_bytes!("../assets/demo/hero-480.webp"),
    ),
    (
        "hero-960.webp",
        include_bytes!("../assets/demo/hero-960.webp"),
    ),
    (
        "hero-1600.webp",
        include_bytes!("../assets/demo/hero-1600.webp"),
    ),
    ("clinic.jpg", include_bytes!("../assets/demo/clinic.jpg")),
    (
        "clinic-480.webp",
        include_bytes!("../assets/demo/clinic-480.webp"),
    ),
    (
        "clinic-960.webp",
        include_bytes!("../assets/demo/clinic-960.webp"),
    ),
    (
        "clinic-1200.webp",
        include_bytes!("../assets/demo/clinic-1200.webp"),
    ),
    ("doctor.jpg", include_bytes!("../assets/demo/doctor.jpg")),
    (
        "doctor-480.webp",
        include_bytes!("../assets/demo/doctor-480.webp"),
    ),
    (
        "doctor-600.webp",
        include_bytes!("../assets/demo/doctor-600.webp"),
    ),
];

pub struct Assets {
    css_name: String,
    js_name: String,
}

fn fingerprint(content: &str) -> String {
    hex::encode(&Sha256::digest(content.as_bytes())[..5])
}

impl Assets {
    pub fn new() -> Self {
        Assets {
            css_name: format!("site.{}.css", fingerprint(CSS)),
            js_name: format!("site.{}.js", fingerprint(JS)),
        }
    }

    pub fn urls(&self) -> AssetUrls {
        AssetUrls {
            css: format!("/assets/{}", self.css_name),
            js: format!("/assets/{}", self.js_name),
        }
    }
}

impl Default for Assets {
    fn default() -> Self {
        Self::new()
    }
}

#[get("/assets/{name}")]
pub async fn asset(name: web::Path<String>, assets: web::Data<Assets>) -> HttpResponse {
    let name = name.into_inner();
    let (content_type, body) = if name == assets.css_name {
        ("text/css; charset=utf-8", CSS)
    } else if name == assets.js_name {
        ("text/javascript; charset=utf-8", JS)
    } else {
        return HttpResponse::NotFound().finish();
    };
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("Cache-Control", "public, max-age=31536000, immutable"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(body)
}

#[get("/assets/demo/{name}")]
pub async fn demo_image(name: web::Path<String>) -> HttpResponse {
    let Some((file, bytes)) = DEMO.iter().find(|(file, _)| *file == name.as_str()) else {
        return HttpResponse::NotFound().finish();
    };
    let content_type = if file.ends_with(".webp") {
        "image/webp"
    } else {
        "image/jpeg"
    };
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("Cache-Control", "public, max-age=86400"))
        .body(*bytes)
}
