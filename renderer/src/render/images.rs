//! Images of block props become `<picture>` markup before templates run:
//! WebP `srcset`/`sizes` where the media has renditions, `width`/`height`
//! always, lazy loading for all but the page's first image, which is the
//! likely LCP element: eager, `fetchpriority="high"`, and preloaded.

use serde_json::{Map, Value};

use super::shell::escape_attr;

/// Used when an image does not state its size, so the layout never jumps.
const DEFAULT_SIZE: (u64, u64) = (1600, 900);
const SIZES: &str = "(max-width: 860px) 100vw, 50vw";

/// What the page head needs to preload the first image.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Preload {
    pub src: String,
    pub srcset: Option<String>,
    pub sizes: &'static str,
}

/// Walks `props` and adds an `html` field to every image object (an object
/// with a `src`); the first image seen on the page becomes the preload.
pub fn enrich(props: &mut Value, preload: &mut Option<Preload>, seen_any: &mut bool) {
    match props {
        Value::Object(map) => {
            if map.get("src").is_some_and(Value::is_string) {
                let first = !*seen_any;
                *seen_any = true;
                let html = picture(map, first);
                if first {
                    *preload = Some(Preload {
                        src: map["src"].as_str().unwrap_or_default().to_owned(),
                        srcset: srcset(map),
                        sizes: SIZES,
                    });
                }
                map.insert("html".into(), Value::String(html));
                return;
            }
            for value in map.values_mut() {
                enrich(value, preload, seen_any);
            }
        }
        Value::Array(items) => {
            for item in items {
                enrich(item, preload, seen_any);
            }
        }
        _ => {}
    }
}

fn srcset(image: &Map<String, Value>) -> Option<String> {
    let renditions = image.get("renditions")?.as_array()?;
    let parts: Vec<String> = renditions
        .iter()
        .filter_map(|rendition| {
            Some(format!(
                "{} {}w",
                rendition.get("src")?.as_str()?,
                rendition.get("width")?.as_u64()?
            ))
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

fn picture(image: &Map<String, Value>, first: bool) -> String {
    let src = image.get("src").and_then(Value::as_str).unwrap_or_default();
    let alt = image.get("alt").and_then(Value::as_str).unwrap_or_default();
    let width = image.get("width").and_then(Value::as_u64);
    let height = image.get("height").and_then(Value::as_u64);
    let (width, height) = match (width, height) {
        (Some(w), Some(h)) => (w, h),
        (Some(w), None) => (w, w * DEFAULT_SIZE.1 / DEFAULT_SIZE.0),
        (None, Some(h)) => (h * DEFAULT_SIZE.0 / DEFAULT_SIZE.1, h),
        (None, None) => DEFAULT_SIZE,
    };
    let loading = if first {
        r#" fetchpriority="high" decoding="async""#
    } else {
        r#" loading="lazy" decoding="async""#
    };
    let img = format!(
        r#"<img src="{}" alt="{}" width="{width}" height="{height}"{loading}>"#,
        escape_attr(src),
        escape_attr(alt)
    );
    match srcset(image) {
        Some(srcset) => format!(
            r#"<picture><source type="image/webp" srcset="{}" sizes="{SIZES}">{img}</picture>"#,
            escape_attr(&srcset)
        ),
        None => img,
    }
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
        let (mut preload, mut seen) = (None, false);
        enrich(&mut props, &mut preload, &mut seen);
        let first = props["image"]["html"].as_str().unwrap();
        assert!(first.starts_with(
            "<picture><source type=\"image/webp\" srcset=\"/a-480.webp 480w, /a-800.webp 800w\""
        ));
        assert!(first.contains(r#"fetchpriority="high""#) && !first.contains("lazy"));
        assert!(first.contains(r#"alt="A &quot;quoted&quot;""#));
        let second = props["items"][0]["photo"]["html"].as_str().unwrap();
        assert!(second.contains(r#"loading="lazy" decoding="async""#));
        assert!(second.contains(r#"width="1600" height="900""#));
        assert_eq!(preload.unwrap().src, "/a.jpg");
    }
}
