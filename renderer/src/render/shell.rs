//! Two-pass rendering: a page is rendered once, visitor-independent, into a
//! shell with marked holes (`<!--cms:name-->`); each request fills the holes
//! with a splice, no template run.

use std::sync::OnceLock;

use actix_web::web::Bytes;

/// What a hole is filled with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hole {
    /// The former per-visitor CSRF token, filled with nothing: posts are
    /// checked by `Sec-Fetch-Site`/`Origin` now, so pages with forms stay
    /// cacheable. Kept so custom templates written for it render cleanly.
    Csrf,
    /// The same for every view of one shell: with the fields and the
    /// visitor's address it keys a submission, so a double submit makes one lead.
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
    /// Whether any hole takes the URL's UTM values (lead forms): the same
    /// for everyone who asks for that URL, but filled per query string.
    pub takes_utm: bool,
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
    pub submission: String,
    pub content_security_policy: actix_web::http::header::HeaderValue,
    pub etag: String,
    pub body: Bytes,
}

/// Values of the holes of one response. UTM values are raw; they are
/// escaped here.
pub struct Fill<'a> {
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
        let mut takes_utm = false;
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
                    takes_utm |= matches!(hole, Hole::Utm(_));
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
            takes_utm,
            etag,
            shared: OnceLock::new(),
        }
    }

    pub fn fill(&self, fill: &Fill) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.length + 256);
        for segment in &self.segments {
            match segment {
                Segment::Text(text) => out.extend_from_slice(text),
                Segment::Hole(Hole::Csrf) => {}
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
            "<style nonce=\"<!--cms:nonce-->\"></style><input value=\"<!--cms:csrf-->\"><input value=\"<!--cms:submission-->\"><input value=\"<!--cms:utm_campaign-->\"><!--cms:unknown--><!-- plain -->",
            "e".into(),
        );
        let utm = vec![("utm_campaign", "\"><script>".to_owned())];
        let html = String::from_utf8(shell.fill(&Fill {
            submission: "S",
            nonce: "N",
            utm: &utm,
        }))
        .unwrap();
        assert_eq!(
            html,
            "<style nonce=\"N\"></style><input value=\"\"><input value=\"S\"><input value=\"&quot;&gt;&lt;script&gt;\"><!--cms:unknown--><!-- plain -->"
        );
    }

    #[test]
    fn only_utm_holes_make_a_shell_take_the_query_string() {
        let shell = Shell::parse("<script nonce=\"<!--cms:nonce-->\"></script>", "e".into());
        assert!(!shell.takes_utm);
        let form = Shell::parse(
            "<input value=\"<!--cms:submission-->\"><input value=\"<!--cms:utm_source-->\">",
            "e".into(),
        );
        assert!(form.takes_utm);
    }
}
