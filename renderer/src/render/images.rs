//! Images of block props become `<picture>` markup before templates run:
//! AVIF and WebP `srcset`/`sizes` from the media's renditions (delivery's
//! `sources`; older hand-made `renditions` are WebP), `width`/`height`
//! always, the media's placeholder as a background that shows while the
//! image loads (a CSS rule in the page's nonced `<style>`: no JavaScript, and
//! no inline `style` attribute for the CSP to refuse), lazy loading for all
//! but the page's first image, which is the likely LCP element: eager,
//! `fetchpriority="high"`, and preloaded in its best format.

use serde_json::{Map, Value};

use super::shell::escape_attr;

/// Used when an image does not state its size, so the layout never jumps.
const DEFAULT_SIZE: (u64, u64) = (1600, 900);
const SIZES: &str = "(max-width: 860px) 100vw, 50vw";
/// A placeholder larger than this is left out (they are a few hundred bytes).
const MAX_PLACEHOLDER: usize = 4096;

/// What the page head needs to preload the first image.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Preload {
    pub src: String,
    pub srcset: Option<String>,
    pub sizes: &'static str,
    /// The MIME type of `srcset`'s candidates (`image/avif`), so a browser
    /// that cannot decode them skips the preload.
    pub r#type: Option<&'static str>,
}

/// The images of one page, in document order.
#[derive(Debug, Default)]
pub struct PageImages {
    seen: usize,
    pub preload: Option<Preload>,
    /// CSS rules giving images their placeholder background.
    placeholder_rules: Vec<String>,
}

impl PageImages {
    /// Walks `props` and adds an `html` field to every image object (an
    /// object with a `src`); the first image of the page is the preload.
    pub fn enrich(&mut self, props: &mut Value) {
        match props {
            Value::Object(map) => {
                if let Some(src) = map.get("src").and_then(Value::as_str) {
                    // An uploaded image whose renditions are still being
                    // made has no `src` yet: nothing is shown until they
                    // exist (the page is refreshed when they do).
                    let html = if src.is_empty() {
                        String::new()
                    } else {
                        self.picture(map)
                    };
                    map.insert("html".into(), Value::String(html));
                    return;
                }
                if map.get("media").is_some_and(Value::is_string) {
                    // A media reference not resolved yet: nothing to show.
                    map.insert("html".into(), Value::String(String::new()));
                    return;
                }
                for value in map.values_mut() {
                    self.enrich(value);
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.enrich(item);
                }
            }
            _ => {}
        }
    }

    /// The rules for the page's `<style>`: `.ph-N{background:...}` each.
    pub fn placeholder_css(&self) -> String {
        self.placeholder_rules.concat()
    }

    fn picture(&mut self, image: &Map<String, Value>) -> String {
        let first = self.seen == 0;
        self.seen += 1;
        let src = image.get("src").and_then(Value::as_str).unwrap_or_default();
        let alt = image.get("alt").and_then(Value::as_str).unwrap_or_default();
        let (width, height) = size(image);
        let avif = srcset(image.get("sources").and_then(|s| s.get("avif")));
        let webp = srcset(image.get("sources").and_then(|s| s.get("webp")))
            .or_else(|| srcset(image.get("renditions")));
        if first {
            let (srcset, r#type) = match (&avif, &webp) {
                (Some(avif), _) => (Some(avif.clone()), Some("image/avif")),
                (None, Some(webp)) => (Some(webp.clone()), Some("image/webp")),
                (None, None) => (None, None),
            };
            self.preload = Some(Preload {
                src: src.to_owned(),
                srcset,
                sizes: SIZES,
                r#type,
            });
        }
        let class = match image.get("placeholder").and_then(Value::as_str) {
            Some(uri) if is_safe_placeholder(uri) => {
                let class = format!("ph-{}", self.seen);
                self.placeholder_rules.push(format!(
                    ".{class}{{background:center/cover no-repeat url(\"{uri}\")}}"
                ));
                format!(r#" class="{class}""#)
            }
            _ => String::new(),
        };
        let loading = if first {
            r#" fetchpriority="high" decoding="async""#
        } else {
            r#" loading="lazy" decoding="async""#
        };
        let img = format!(
            r#"<img src="{}" alt="{}" width="{width}" height="{height}"{class}{loading}>"#,
            escape_attr(src),
            escape_attr(alt)
        );
        let sources: String = [("image/avif", avif), ("image/webp", webp)]
            .into_iter()
            .filter_map(|(mime, set)| {
                Some(format!(
                    r#"<source type="{mime}" srcset="{}" sizes="{SIZES}">"#,
                    escape_attr(&set?)
                ))
            })
            .collect();
        if sources.is_empty() {
            img
        } else {
            format!("<picture>{sources}{img}</picture>")
        }
    }
}

/// How wide a logo is drawn (the header's `.brand img` is 2.5rem high).
const LOGO_SIZES: &str = "240px";

/// The site's logo (the theme's `logo`, an image object the manifest
/// resolved) for a header block that names none. Above the fold, so loaded
/// at once, but neither the page's preload nor a placeholder: those belong
/// to the content's first image. Empty while it has no renditions.
pub fn logo_html(logo: Option<&Value>) -> String {
    let Some(image) = logo.and_then(Value::as_object) else {
        return String::new();
    };
    let src = image.get("src").and_then(Value::as_str).unwrap_or_default();
    if src.is_empty() {
        return String::new();
    }
    let alt = image.get("alt").and_then(Value::as_str).unwrap_or_default();
    let (width, height) = size(image);
    let sources: String = [("image/avif", "avif"), ("image/webp", "webp")]
        .into_iter()
        .filter_map(|(mime, key)| {
            let set = srcset(image.get("sources").and_then(|s| s.get(key)))?;
            Some(format!(
                r#"<source type="{mime}" srcset="{}" sizes="{LOGO_SIZES}">"#,
                escape_attr(&set)
            ))
        })
        .collect();
    format!(
        r#"<picture>{sources}<img src="{}" alt="{}" width="{width}" height="{height}" decoding="async"></picture>"#,
        escape_attr(src),
        escape_attr(alt)
    )
}

fn size(image: &Map<String, Value>) -> (u64, u64) {
    let width = image.get("width").and_then(Value::as_u64);
    let height = image.get("height").and_then(Value::as_u64);
    match (width, height) {
        (Some(w), Some(h)) => (w, h),
        (Some(w), None) => (w, w * DEFAULT_SIZE.1 / DEFAULT_SIZE.0),
        (None, Some(h)) => (h * DEFAULT_SIZE.0 / DEFAULT_SIZE.1, h),
        (None, None) => DEFAULT_SIZE,
    }
}

/// `src 320w, src 640w` of a list of `{src, width}` candidates.
fn srcset(candidates: Option<&Value>) -> Option<String> {
    let parts: Vec<String> = candidates?
        .as_array()?
        .iter()
        .filter_map(|candidate| {
            Some(format!(
                "{} {}w",
                candidate.get("src")?.as_str()?,
                candidate.get("width")?.as_u64()?
            ))
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// Only a small base64 PNG, JPEG or WebP data URI goes into the page's CSS:
/// nothing in it can end the rule or the `<style>` element.
fn is_safe_placeholder(uri: &str) -> bool {
    let Some(data) = [
        "data:image/png;base64,",
        "data:image/jpeg;base64,",
        "data:image/webp;base64,",
    ]
    .iter()
    .find_map(|prefix| uri.strip_prefix(prefix)) else {
        return false;
    };
    uri.len() <= MAX_PLACEHOLDER
        && !data.is_empty()
        && data
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn the_first_image_is_eager_and_preloaded_the_rest_lazy() {
        let mut props = json!({
            "image": {"src": "/a.jpg", "alt": "A \"quoted\"", "width": 800, "height": 600,
                      "renditions": [{"src": "/a-480.webp", "width": 480}, {"src": "/a-800.webp", "width": 800}]},
            "items": [{"photo": {"src": "/b.jpg"}}]
        });
        let mut images = PageImages::default();
        images.enrich(&mut props);
        let first = props["image"]["html"].as_str().unwrap();
        assert!(first.starts_with(
            "<picture><source type=\"image/webp\" srcset=\"/a-480.webp 480w, /a-800.webp 800w\""
        ));
        assert!(first.contains(r#"fetchpriority="high""#) && !first.contains("lazy"));
        assert!(first.contains(r#"alt="A &quot;quoted&quot;""#));
        let second = props["items"][0]["photo"]["html"].as_str().unwrap();
        assert!(second.contains(r#"loading="lazy" decoding="async""#));
        assert!(second.contains(r#"width="1600" height="900""#));
        let preload = images.preload.unwrap();
        assert_eq!(preload.src, "/a.jpg");
        assert_eq!(preload.r#type, Some("image/webp"));
    }

    #[test]
    fn media_images_get_avif_then_webp_sources_and_their_placeholder() {
        let placeholder = "data:image/png;base64,iVBORw0KGgo=";
        let mut props = json!({
            "a_hero": {"media": "m1", "src": "/media/t/a-1280.jpg", "alt": "Hall", "width": 1280, "height": 720,
                     "placeholder": placeholder,
                     "sources": {"avif": [{"src": "/media/t/a-640.avif", "width": 640}],
                                 "webp": [{"src": "/media/t/a-640.webp", "width": 640},
                                          {"src": "/media/t/a-1280.webp", "width": 1280}]}},
            "b_evil": {"src": "/b.jpg", "placeholder": "data:image/png;base64,AAAA\")}</style><script>"},
            "c_processing": {"media": "m2", "src": "", "alt": "Soon", "width": 10, "height": 10,
                             "sources": {"avif": [], "webp": []}},
            "d_unresolved": {"media": "m3", "alt": "Later"}
        });
        let mut images = PageImages::default();
        images.enrich(&mut props);
        let hero = props["a_hero"]["html"].as_str().unwrap();
        assert_eq!(
            hero,
            "<picture><source type=\"image/avif\" srcset=\"/media/t/a-640.avif 640w\" sizes=\"(max-width: 860px) 100vw, 50vw\">\
             <source type=\"image/webp\" srcset=\"/media/t/a-640.webp 640w, /media/t/a-1280.webp 1280w\" sizes=\"(max-width: 860px) 100vw, 50vw\">\
             <img src=\"/media/t/a-1280.jpg\" alt=\"Hall\" width=\"1280\" height=\"720\" class=\"ph-1\" fetchpriority=\"high\" decoding=\"async\"></picture>"
        );
        let preload = images.preload.clone().unwrap();
        assert_eq!(preload.srcset.as_deref(), Some("/media/t/a-640.avif 640w"));
        assert_eq!(preload.r#type, Some("image/avif"));
        // The hostile placeholder is left out; the good one is a rule.
        // An image still being processed shows nothing and is no page image.
        let evil = props["b_evil"]["html"].as_str().unwrap();
        assert!(!evil.contains("class="), "{evil}");
        assert_eq!(props["c_processing"]["html"], "");
        assert_eq!(props["d_unresolved"]["html"], "");
        assert_eq!(images.seen, 2);
        assert_eq!(
            images.placeholder_css(),
            format!(".ph-1{{background:center/cover no-repeat url(\"{placeholder}\")}}")
        );
    }

    #[test]
    fn a_logo_is_eager_at_its_own_size_and_takes_nothing_from_the_content() {
        let logo = json!({"media": "m1", "src": "/media/t/logo-320.jpg", "alt": "Alpha <Clinics>", "width": 320, "height": 80,
                          "placeholder": "data:image/png;base64,iVBORw0KGgo=",
                          "sources": {"avif": [{"src": "/media/t/logo-320.avif", "width": 320}], "webp": []}});
        assert_eq!(
            logo_html(Some(&logo)),
            "<picture><source type=\"image/avif\" srcset=\"/media/t/logo-320.avif 320w\" sizes=\"240px\">\
             <img src=\"/media/t/logo-320.jpg\" alt=\"Alpha &lt;Clinics&gt;\" width=\"320\" height=\"80\" decoding=\"async\"></picture>"
        );
        // Still being processed, or no logo: nothing.
        assert_eq!(logo_html(Some(&json!({"media": "m1", "src": ""}))), "");
        assert_eq!(logo_html(None), "");
    }
}
