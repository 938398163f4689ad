//! Two-pass rendering: a page is rendered once, visitor-independent, into a
//! shell with marked holes (`<!--cms:name-->`); each request fills the holes
//! with a splice, no template run.

use std::sync::OnceLock;

use actix_web::web::Bytes;

/// What a hole is filled with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hole {
    /// Lead-form CSRF token.
    Csrf,
    /// One id per page view: a double-submitted form makes one lead.
    Submission,
    /// The CSP nonce of inline `<script>` and `<style>`.
    Nonce,
    /// A hidden UTM field of lead forms (`UTM_KEYS` index).
    Utm(usize),
}

impl Hole {
    fn parse(name: &str) -> Option<Hole> {
        match name {
            "csrf" => Some(Hole::Csrf),
            "submission" => Some(Hole::Submission),
            "nonce" => Some(Hole::Nonce),
            other => cms_shared::cache_key::UTM_KEYS
                .iter()
                .position(|key| *key == other)
                .map(Hole::Utm),
        }
    }
}

#[derive(Debug, Clone)]
enum Segment {
    Text(Bytes),
    Hole(Hole),
}

/// A rendered page with holes.
#[derive(Debug, Clone)]
pub struct Shell {
    segments: Vec<Segment>,
    length: usize,
    /// Whether any hole depends on the visitor (forms): such pages are not
    /// shared by caches.
    pub per_visitor: bool,
    /// Version of what the shell was rendered from.
    pub etag: String,
    /// For shells that are the same for every visitor: the response parts
    /// derived from the shell alone, computed on first use (a cache hit then
    /// costs no hashing at all).
    pub shared: OnceLock<SharedParts>,
}

/// The per-shell response parts of a page that is the same for everyone.
#[derive(Debug, Clone)]
pub struct SharedParts {
    pub nonce: String,
    pub content_security_policy: actix_web::http::header::HeaderValue,
    pub etag: String,
    pub body: Bytes,
}

/// Values of the holes of one response. UTM values are raw; they are
/// escaped here.
pub struct Fill<'a> {
    pub csrf: &'a str,
    pub submission: &'a str,
    pub nonce: &'a str,
    pub utm: &'a [(&'static str, String)],
}

const OPEN: &str = "<!--cms:";
const CLOSE: &str = "-->";

impl Shell {
    pub fn parse(html: &str, etag: String) -> Shell {
        let mut segments = Vec::new();
        let mut rest = html;
        let mut per_visitor = false;
        while let Some(start) = rest.find(OPEN) {
            let after = &rest[start + OPEN.len()..];
            let Some(end) = after.find(CLOSE) else {
                break;
            };
            match Hole::parse(&after[..end]) {
                Some(hole) => {
                    if start > 0 {
                        segments.push(Segment::Text(Bytes::copy_from_slice(
                            &rest.as_bytes()[..start],
                        )));
                    }
                    per_visitor |= hole != Hole::Nonce;
                    segments.push(Segment::Hole(hole));
                }
                None => segments.push(Segment::Text(Bytes::copy_from_slice(
                    &rest.as_bytes()[..start + OPEN.len() + end + CLOSE.len()],
                ))),
            }
            rest = &after[end + CLOSE.len()..];
        }
        if !rest.is_empty() {
            segments.push(Segment::Text(Bytes::copy_from_slice(rest.as_bytes())));
        }
        Shell {
            length: html.len(),
            segments,
            per_visitor,
            etag,
            shared: OnceLock::new(),
        }
    }

    pub fn fill(&self, fill: &Fill) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.length + 256);
        for segment in &self.segments {
            match segment {
                Segment::Text(text) => out.extend_from_slice(text),
                Segment::Hole(Hole::Csrf) => out.extend_from_slice(fill.csrf.as_bytes()),
                Segment::Hole(Hole::Submission) => {
                    out.extend_from_slice(fill.submission.as_bytes())
                }
                Segment::Hole(Hole::Nonce) => out.extend_from_slice(fill.nonce.as_bytes()),
                Segment::Hole(Hole::Utm(index)) => {
                    let key = cms_shared::cache_key::UTM_KEYS[*index];
                    if let Some((_, value)) = fill.utm.iter().find(|(name, _)| *name == key) {
                        out.extend_from_slice(escape_attr(value).as_bytes());
                    }
                }
            }
        }
        out
    }
}

/// Escapes text for an HTML attribute value or element content.
pub fn escape_attr(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn holes_are_filled_and_utm_values_escaped() {
        let shell = Shell::parse(
            "<style nonce=\"<!--cms:nonce-->\"></style><input value=\"<!--cms:csrf-->\"><input value=\"<!--cms:utm_campaign-->\"><!--cms:unknown--><!-- plain -->",
            "e".into(),
        );
        assert!(shell.per_visitor);
        let utm = vec![("utm_campaign", "\"><script>".to_owned())];
        let html = String::from_utf8(shell.fill(&Fill {
            csrf: "TOKEN",
            submission: "S",
            nonce: "N",
            utm: &utm,
        }))
        .unwrap();
        assert_eq!(
            html,
            "<style nonce=\"N\"></style><input value=\"TOKEN\"><input value=\"&quot;&gt;&lt;script&gt;\"><!--cms:unknown--><!-- plain -->"
        );
    }

    #[test]
    fn a_page_with_only_a_nonce_is_not_per_visitor() {
        let shell = Shell::parse("<script nonce=\"<!--cms:nonce-->\"></script>", "e".into());
        assert!(!shell.per_visitor);
    }
}
