//! SVG uploads, for tenants that turn them on (`PUT /media/quota` with
//! `allow_svg`; refused otherwise). An SVG is a document that can carry
//! scripts, event handlers, `foreignObject` HTML and references to other
//! origins, so the upload is rewritten by Cloudflare's `svg-hush` before it
//! is stored: only drawing elements and attributes survive, with no
//! external or `data:` references. What is stored is the rewritten file
//! (its hash is the dedupe key), served with a CSP that forbids scripts
//! even if something slipped through (`routes::media_files`).
//!
//! Vector images are not rasterised: the sanitised file is their one
//! rendition, and its size comes from its `width`/`height` or `viewBox`.

use xml::reader::{EventReader, XmlEvent};

/// Dimensions when an SVG states none (a replaced element's CSS default).
const DEFAULT_SIZE: (u32, u32) = (300, 150);
/// Stated sizes are clamped to this (layout hints, not pixel counts).
const MAX_SIDE: f64 = 16_384.0;

/// A sanitised SVG.
#[derive(Debug, Clone, PartialEq)]
pub struct Sanitised {
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// Whether an upload is SVG text (an XML document whose root is `<svg>`, or
/// that mentions one near its start): such files are never judged as
/// raster images.
pub fn looks_like_svg(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(4096)];
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    let text = text.trim_start_matches('\u{feff}').trim_start();
    text.starts_with('<') && text.contains("<svg")
}

/// Rewrites an SVG to its safe subset and reads its size; `Err` names why
/// it is not a usable SVG.
pub fn sanitise(bytes: &[u8]) -> Result<Sanitised, String> {
    let filter = svg_hush::Filter::new();
    let mut out = Vec::with_capacity(bytes.len());
    filter
        .filter(bytes, &mut out)
        .map_err(|err| format!("is not a well-formed SVG document ({err})"))?;
    let (width, height) = size_of(&out)?;
    Ok(Sanitised {
        bytes: out,
        width,
        height,
    })
}

/// The size of a (sanitised) SVG from its root element.
fn size_of(svg: &[u8]) -> Result<(u32, u32), String> {
    let reader = EventReader::new(svg);
    for event in reader {
        match event {
            Ok(XmlEvent::StartElement {
                name, attributes, ..
            }) => {
                if name.local_name != "svg" {
                    return Err(format!(
                        "is not an SVG image: its root element is <{}>",
                        name.local_name
                    ));
                }
                let attribute = |wanted: &str| {
                    attributes
                        .iter()
                        .find(|a| a.name.local_name == wanted && a.name.prefix.is_none())
                        .map(|a| a.value.as_str())
                };
                let view_box = attribute("viewBox").and_then(view_box_size);
                let width = attribute("width").and_then(length);
                let height = attribute("height").and_then(length);
                let size = match (width, height, view_box) {
                    (Some(w), Some(h), _) => (w, h),
                    (Some(w), None, Some((vw, vh))) => (w, w * vh / vw),
                    (None, Some(h), Some((vw, vh))) => (h * vw / vh, h),
                    (None, None, Some(size)) => size,
                    _ => (f64::from(DEFAULT_SIZE.0), f64::from(DEFAULT_SIZE.1)),
                };
                let side = |value: f64| value.round().clamp(1.0, MAX_SIDE) as u32;
                return Ok((side(size.0), side(size.1)));
            }
            Ok(_) => continue,
            Err(err) => return Err(format!("is not a well-formed SVG document ({err})")),
        }
    }
    Err("is not an SVG image: it has no root element".into())
}

/// A length in user units (`120`, `120px`); percentages and other units
/// depend on where the image is shown, so they give no size.
fn length(value: &str) -> Option<f64> {
    let number = value.trim().strip_suffix("px").unwrap_or(value.trim());
    number
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite() && *n > 0.0)
}

/// The width and height of a `viewBox="min-x min-y width height"`.
fn view_box_size(value: &str) -> Option<(f64, f64)> {
    let numbers: Vec<f64> = value
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|part| !part.is_empty())
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    match numbers[..] {
        [_, _, width, height]
            if width > 0.0 && height > 0.0 && width.is_finite() && height.is_finite() =>
        {
            Some((width, height))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sanitised_text(svg: &str) -> String {
        String::from_utf8(sanitise(svg.as_bytes()).unwrap().bytes).unwrap()
    }

    #[test]
    fn scripts_handlers_foreign_html_and_outside_references_are_removed() {
        let text = sanitised_text(
            r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="120" height="60">
              <script>alert(1)</script>
              <rect width="10" height="10" fill="red" onclick="alert(2)" onload="alert(3)"/>
              <foreignObject><body xmlns="http://www.w3.org/1999/xhtml"><iframe src="https://evil.example/"/></body></foreignObject>
              <image href="https://evil.example/track.png" width="5" height="5"/>
              <a xlink:href="javascript:alert(4)"><circle r="4"/></a>
              <use href="data:image/svg+xml;base64,PHN2Zy8+"/>
            </svg>"#,
        );
        for banned in [
            "script",
            "onclick",
            "onload",
            "foreignObject",
            "iframe",
            "evil.example",
            "javascript:",
            "data:",
        ] {
            assert!(!text.contains(banned), "{banned} survived in {text}");
        }
        assert!(text.contains("<rect"), "drawing is kept: {text}");
        assert!(text.contains("<circle"), "drawing is kept: {text}");
    }

    #[test]
    fn the_size_comes_from_width_and_height_then_the_view_box() {
        let size = |svg: &str| {
            let s = sanitise(svg.as_bytes()).unwrap();
            (s.width, s.height)
        };
        let ns = r#"xmlns="http://www.w3.org/2000/svg""#;
        assert_eq!(
            size(&format!(r#"<svg {ns} width="120px" height="60"/>"#)),
            (120, 60)
        );
        assert_eq!(
            size(&format!(r#"<svg {ns} viewBox="0 0 64 32"/>"#)),
            (64, 32)
        );
        assert_eq!(
            size(&format!(r#"<svg {ns} width="128" viewBox="0,0,64,32"/>"#)),
            (128, 64)
        );
        assert_eq!(
            size(&format!(r#"<svg {ns} width="100%" height="2em"/>"#)),
            (300, 150)
        );
        assert_eq!(
            size(&format!(r#"<svg {ns} width="1e9" height="5"/>"#)),
            (16_384, 5)
        );
    }

    #[test]
    fn other_documents_and_entity_expansion_are_refused() {
        assert!(sanitise(b"<html><svg/></html>").is_err());
        assert!(sanitise(b"<svg").is_err());
        let laughs = r#"<?xml version="1.0"?>
<!DOCTYPE svg [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>
<svg xmlns="http://www.w3.org/2000/svg"><text>&c;</text></svg>"#;
        match sanitise(laughs.as_bytes()) {
            Err(_) => {}
            Ok(out) => assert!(out.bytes.len() < 4096, "entities were expanded"),
        }
    }

    #[test]
    fn svg_is_recognised_from_its_text() {
        assert!(looks_like_svg(b"<svg xmlns='http://www.w3.org/2000/svg'/>"));
        assert!(looks_like_svg(b"\xef\xbb\xbf <?xml version='1.0'?><svg/>"));
        assert!(looks_like_svg(b"<!-- logo --><svg/>"));
        assert!(!looks_like_svg(b"\x89PNG\r\n\x1a\n"));
        assert!(!looks_like_svg(b"<html><body>hi</body></html>"));
    }
}
