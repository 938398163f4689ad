//! What search engines and link previews read: title, description,
//! canonical, hreflang alternates, Open Graph, JSON-LD (Organization, and
//! MedicalClinic / Physician where the page shows clinic data), and the theme
//! as CSS custom properties (values checked, since they land in a `<style>`).

use serde_json::{json, Value};

use super::PageRequest;

pub fn page_seo(request: &PageRequest, page: &Value) -> Value {
    let seo = &page["seo"];
    let title = seo["meta_title"]
        .as_str()
        .filter(|t| !t.is_empty())
        .or(page["title"].as_str())
        .unwrap_or_default();
    let path = page["path"].as_str().unwrap_or("/");
    let canonical = seo["canonical"]
        .as_str()
        .filter(|c| c.starts_with("https://") || c.starts_with("http://"))
        .map(str::to_owned)
        .unwrap_or_else(|| page_url(request.origin, request.locale_prefix, path));
    json!({
        "title": title,
        "description": seo["meta_description"].as_str().unwrap_or_default(),
        "canonical": canonical,
        "og_image": seo["og_image"].as_str(),
        "noindex": seo["noindex"].as_bool().unwrap_or(false),
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
pub fn locale_prefix(manifest: &Value, locale: &str) -> String {
    if manifest["default_locale"].as_str() == Some(locale) {
        String::new()
    } else {
        format!("/{locale}")
    }
}

/// `hreflang` links: the same path published in every locale of the site.
pub fn alternates(request: &PageRequest, page: &Value) -> Vec<Value> {
    let path = page["path"].as_str().unwrap_or("/");
    let mut links: Vec<Value> = request.manifest["navigation"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter(|item| item["path"].as_str() == Some(path))
                .filter_map(|item| {
                    let locale = item["locale"].as_str()?;
                    let prefix = locale_prefix(request.manifest, locale);
                    Some(json!({"locale": locale, "href": page_url(request.origin, &prefix, path)}))
                })
                .collect()
        })
        .unwrap_or_default();
    if links.len() < 2 {
        return Vec::new();
    }
    if let Some(default) = request.manifest["default_locale"].as_str() {
        let prefix = locale_prefix(request.manifest, default);
        links.push(json!({"locale": "x-default", "href": page_url(request.origin, &prefix, path)}));
    }
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

pub fn theme(manifest: &Value) -> Value {
    let theme = &manifest["theme"];
    json!({
        "primary": css_value(theme["primary_color"].as_str(), "#0f766e"),
        "accent": css_value(theme["accent_color"].as_str(), "#f59e0b"),
        "font": css_value(theme["font"].as_str(), "system-ui"),
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
pub fn json_ld(request: &PageRequest, page: &Value, blocks: &[Value]) -> String {
    let name = request.manifest["name"].as_str().unwrap_or_default();
    let url = format!("{}/", request.origin);
    let module = |key: &str| blocks.iter().find(|b| b["module"].as_str() == Some(key));
    let is_clinic = blocks
        .iter()
        .any(|b| CLINIC_MODULES.contains(&b["module"].as_str().unwrap_or_default()));
    let mut graph = vec![
        json!({"@type": "Organization", "@id": format!("{url}#organization"), "name": name, "url": url}),
    ];
    if is_clinic {
        let mut clinic = json!({"@type": "MedicalClinic", "@id": format!("{url}#clinic"), "name": name, "url": url});
        if let Some(contacts) = module("contacts_map") {
            let props = &contacts["props"];
            if let Some(address) = props["address"].as_str() {
                clinic["address"] = json!(address);
            }
            if let Some(phone) = props["phone"].as_str() {
                clinic["telephone"] = json!(phone);
            }
            if let (Some(lat), Some(lon)) =
                (props["latitude"].as_f64(), props["longitude"].as_f64())
            {
                clinic["geo"] =
                    json!({"@type": "GeoCoordinates", "latitude": lat, "longitude": lon});
            }
            if let Some(hours) = props["hours"].as_str() {
                clinic["openingHours"] = json!(hours);
            }
        }
        graph.push(clinic);
        if let Some(team) = module("team") {
            for member in team["props"]["items"].as_array().into_iter().flatten() {
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
        "name": page["title"],
        "inLanguage": page["locale"],
        "publisher": {"@id": format!("{url}#organization")},
    }));
    let document = json!({"@context": "https://schema.org", "@graph": graph});
    // `</` would end the script element early.
    serde_json::to_string(&document)
        .unwrap_or_default()
        .replace("</", "<\\/")
}
