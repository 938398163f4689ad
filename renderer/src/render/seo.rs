//! What search engines and link previews read: title, description,
//! canonical, hreflang alternates, Open Graph, JSON-LD (Organization, and
//! MedicalClinic / Physician where the page shows clinic data), and the theme
//! as CSS custom properties (values checked, since they land in a `<style>`).

use cms_shared::delivery::{DeliveryBlock, SiteManifest};
use serde_json::{json, Value};

use super::{PageHead, PageRequest};

pub fn page_seo(request: &PageRequest, page: &PageHead) -> Value {
    let seo = page.seo;
    let title = seo
        .meta_title
        .as_deref()
        .filter(|t| !t.is_empty())
        .unwrap_or(page.title);
    let canonical = seo
        .canonical
        .as_deref()
        .filter(|c| c.starts_with("https://") || c.starts_with("http://"))
        .map(str::to_owned)
        .unwrap_or_else(|| page_url(request.origin, request.locale_prefix, page.path));
    json!({
        "title": title,
        "description": seo.meta_description.as_deref().unwrap_or_default(),
        "canonical": canonical,
        "og_image": seo.og_image,
        "noindex": seo.noindex.unwrap_or(false),
    })
}

fn page_url(origin: &str, prefix: &str, path: &str) -> String {
    if path == "/" && !prefix.is_empty() {
        format!("{origin}{prefix}")
    } else {
        format!("{origin}{prefix}{path}")
    }
}

/// The URL prefix of `locale` on a site: none for the default locale.
pub fn locale_prefix(manifest: &SiteManifest, locale: &str) -> String {
    if manifest.default_locale == locale {
        String::new()
    } else {
        format!("/{locale}")
    }
}

/// `hreflang` links: the same path published in every locale of the site.
pub fn alternates(request: &PageRequest, path: &str) -> Vec<Value> {
    let mut links: Vec<Value> = request
        .manifest
        .navigation
        .iter()
        .filter(|item| item.path == path)
        .map(|item| {
            let prefix = locale_prefix(request.manifest, &item.locale);
            json!({"locale": item.locale, "href": page_url(request.origin, &prefix, path)})
        })
        .collect();
    if links.len() < 2 {
        return Vec::new();
    }
    let default = &request.manifest.default_locale;
    let prefix = locale_prefix(request.manifest, default);
    links.push(json!({"locale": "x-default", "href": page_url(request.origin, &prefix, path)}));
    links
}

fn css_value(value: Option<&str>, fallback: &str) -> String {
    value
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || " #,.-%()".contains(c))
        })
        .unwrap_or(fallback)
        .to_owned()
}

pub fn theme(manifest: &SiteManifest) -> Value {
    let setting = |key: &str| manifest.theme.get(key).and_then(Value::as_str);
    json!({
        "primary": css_value(setting("primary_color"), "#0f766e"),
        "accent": css_value(setting("accent_color"), "#f59e0b"),
        "font": css_value(setting("font"), "system-ui"),
    })
}

const CLINIC_MODULES: [&str; 5] = [
    "contacts_map",
    "doctors_list",
    "services_list",
    "booking_widget",
    "reviews",
];

/// JSON-LD for the page, safe to place inside `<script>`.
pub fn json_ld(request: &PageRequest, page: &PageHead, blocks: &[DeliveryBlock]) -> String {
    let name = &request.manifest.name;
    let url = format!("{}/", request.origin);
    let module = |key: &str| blocks.iter().find(|b| b.module == key);
    let is_clinic = blocks
        .iter()
        .any(|b| CLINIC_MODULES.contains(&b.module.as_str()));
    let mut graph = vec![
        json!({"@type": "Organization", "@id": format!("{url}#organization"), "name": name, "url": url}),
    ];
    if is_clinic {
        let mut clinic = json!({"@type": "MedicalClinic", "@id": format!("{url}#clinic"), "name": name, "url": url});
        if let Some(contacts) = module("contacts_map") {
            let prop = |key: &str| contacts.props.get(key);
            if let Some(address) = prop("address").and_then(Value::as_str) {
                clinic["address"] = json!(address);
            }
            if let Some(phone) = prop("phone").and_then(Value::as_str) {
                clinic["telephone"] = json!(phone);
            }
            if let (Some(lat), Some(lon)) = (
                prop("latitude").and_then(Value::as_f64),
                prop("longitude").and_then(Value::as_f64),
            ) {
                clinic["geo"] =
                    json!({"@type": "GeoCoordinates", "latitude": lat, "longitude": lon});
            }
            if let Some(hours) = prop("hours").and_then(Value::as_str) {
                clinic["openingHours"] = json!(hours);
            }
        }
        graph.push(clinic);
        if let Some(team) = module("team") {
            let members = team.props.get("items").and_then(Value::as_array);
            for member in members.into_iter().flatten() {
                if let Some(member_name) = member["name"].as_str() {
                    graph.push(json!({
                        "@type": "Physician",
                        "name": member_name,
                        "medicalSpecialty": member["role"],
                        "worksFor": {"@id": format!("{url}#clinic")},
                    }));
                }
            }
        }
    }
    graph.push(json!({
        "@type": "WebPage",
        "name": page.title,
        "inLanguage": page.locale,
        "publisher": {"@id": format!("{url}#organization")},
    }));
    let document = json!({"@context": "https://schema.org", "@graph": graph});
    // `</` would end the script element early.
    serde_json::to_string(&document)
        .unwrap_or_default()
        .replace("</", "<\\/")
}
