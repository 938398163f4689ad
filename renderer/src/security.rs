//! Response headers every HTML answer carries, and the keyed tokens
//! (CSRF, CSP nonce, form submission id) derived from the renderer's secret.

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::HttpResponseBuilder;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::Config;

type HmacSha256 = Hmac<Sha256>;

/// `HMAC(secret, purpose | parts...)`, URL-safe base64 without padding.
pub fn token(secret: &[u8], purpose: &str, parts: &[&str]) -> String {
    let Ok(mut mac) = HmacSha256::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(purpose.as_bytes());
    for part in parts {
        mac.update(b"|");
        mac.update(part.as_bytes());
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&mac.finalize().into_bytes()[..18])
}

/// CSP (with the response's nonce for inline `<script>` and `<style>`) and
/// the other browser protections.
pub fn apply(response: &mut HttpResponseBuilder, config: &Config, nonce: Option<&str>) {
    let policy = content_security_policy(config, nonce);
    let policy = HeaderValue::from_str(&policy)
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"));
    apply_with_policy(response, config, policy);
}

/// The Content-Security-Policy value for a response with `nonce`.
pub fn content_security_policy(config: &Config, nonce: Option<&str>) -> String {
    let (script, style) = match nonce {
        Some(nonce) => (
            format!("script-src 'self' 'nonce-{nonce}'"),
            format!("style-src 'self' 'nonce-{nonce}'"),
        ),
        None => (
            "script-src 'self'".to_owned(),
            "style-src 'self'".to_owned(),
        ),
    };
    let upgrade = if config.public_scheme == "https" {
        "; upgrade-insecure-requests"
    } else {
        ""
    };
    format!(
        "default-src 'self'; {script}; {style}; img-src 'self' data: https:; font-src 'self' data:; \
         connect-src 'self'; frame-src 'none'; object-src 'none'; base-uri 'self'; form-action 'self'; \
         frame-ancestors 'none'{upgrade}"
    )
}

/// The browser protections with a CSP computed before (pages shared by every
/// visitor compute theirs once per shell).
pub fn apply_with_policy(response: &mut HttpResponseBuilder, config: &Config, csp: HeaderValue) {
    response
        .insert_header(("Content-Security-Policy", csp))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Referrer-Policy", "strict-origin-when-cross-origin"))
        .insert_header((
            "Permissions-Policy",
            "camera=(), microphone=(), geolocation=(), payment=(), interest-cohort=()",
        ))
        .insert_header(("X-Frame-Options", "DENY"));
    if config.hsts {
        response.insert_header((
            HeaderName::from_static("strict-transport-security"),
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_differ_by_purpose_parts_and_secret() {
        let secret = b"0123456789abcdef0123456789abcdef";
        let nonce = token(secret, "nonce", &["shell-1"]);
        assert_eq!(nonce, token(secret, "nonce", &["shell-1"]));
        assert_ne!(nonce, token(secret, "nonce", &["shell-2"]));
        assert_ne!(nonce, token(secret, "submission", &["shell-1"]));
        assert_ne!(
            nonce,
            token(b"another secret of 32 characters!", "nonce", &["shell-1"])
        );
        assert_eq!(nonce.len(), 24, "18 bytes in URL-safe base64");
    }
}
