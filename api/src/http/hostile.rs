//! Hostile values in the request line, refused before any route sees them:
//! the counterpart for query strings and path segments of what `ValidJson`
//! does for bodies. A NUL (PostgreSQL refuses 0x00 in `text`, so it would
//! fail as a 500 half-way through a query), bytes that are not UTF-8 once
//! percent-decoded, or a value past `MAX_VALUE_BYTES` answers 422 naming
//! the parameter, on every route at once, the ones to come included.
//!
//! Path parameters are named from the OpenAPI document's path templates (the
//! same registration builds the router), so `/doctors/%00` answers for
//! `doctor`, not for "segment 5".

use std::borrow::Cow;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, Error, ResponseError};
use percent_encoding::percent_decode;

use crate::error::{ApiError, FieldError};

/// Longest single query value or path segment, in bytes once decoded. The
/// longest legitimate ones (preview tokens, cursors, page paths) stay far
/// below it.
pub const MAX_VALUE_BYTES: usize = 2048;

/// The path templates of the api, split into segments: `{name}` segments are
/// parameters, the others literals.
#[derive(Debug, Default)]
pub struct PathTemplates {
    templates: Vec<Vec<String>>,
}

impl PathTemplates {
    pub fn from_spec(spec: &utoipa::openapi::OpenApi) -> Self {
        PathTemplates {
            templates: spec
                .paths
                .paths
                .keys()
                .map(|path| segments(path).map(str::to_owned).collect())
                .collect(),
        }
    }

    /// The parameter that segment `index` of a request path with these raw
    /// segments stands for, when a template with literals in the same places
    /// has a parameter there.
    fn parameter(&self, raw: &[&str], index: usize) -> Option<&str> {
        self.templates
            .iter()
            .filter(|template| template.len() == raw.len() && is_parameter(&template[index]))
            .find(|template| {
                template
                    .iter()
                    .zip(raw)
                    .enumerate()
                    .all(|(at, (part, seen))| at == index || is_parameter(part) || part == seen)
            })
            .map(|template| {
                template[index]
                    .trim_start_matches('{')
                    .trim_end_matches('}')
            })
    }
}

fn is_parameter(part: &str) -> bool {
    part.starts_with('{') && part.ends_with('}')
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|segment| !segment.is_empty())
}

/// What is wrong with one decoded value, if anything.
fn judge(decoded: &[u8]) -> Option<String> {
    if decoded.contains(&0) {
        Some("must not contain NUL (%00) characters".into())
    } else if std::str::from_utf8(decoded).is_err() {
        Some("must be UTF-8 text once percent-decoded".into())
    } else if decoded.len() > MAX_VALUE_BYTES {
        Some(format!("must be at most {MAX_VALUE_BYTES} bytes"))
    } else {
        None
    }
}

/// Every hostile value of a request line: path segments named by `templates`
/// (or `path` when no template matches), then query parameters by name.
pub fn hostile_values(templates: &PathTemplates, path: &str, query: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let raw: Vec<&str> = segments(path).collect();
    for (index, segment) in raw.iter().enumerate() {
        let decoded: Cow<[u8]> = percent_decode(segment.as_bytes()).into();
        if let Some(message) = judge(&decoded) {
            let name = templates.parameter(&raw, index).unwrap_or("path");
            errors.push(FieldError::new(name, format!("path parameter {message}")));
        }
    }
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let plus_as_space = |text: &str| text.replace('+', " ");
        let decoded_name: Vec<u8> = percent_decode(plus_as_space(name).as_bytes()).collect();
        let decoded_value: Vec<u8> = percent_decode(plus_as_space(value).as_bytes()).collect();
        let shown = match judge(&decoded_name) {
            Some(_) => "query".to_owned(),
            None => String::from_utf8_lossy(&decoded_name).into_owned(),
        };
        if let Some(message) = judge(&decoded_name).or_else(|| judge(&decoded_value)) {
            errors.push(FieldError::new(
                &shown,
                format!("query parameter {message}"),
            ));
        }
        if errors.len() >= 20 {
            break;
        }
    }
    errors
}

/// Middleware: answers 422 for a request line with hostile values, before
/// routing. Innermost, so CORS headers and the request log still apply.
pub async fn refuse_hostile_values(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let errors = match req.app_data::<web::Data<PathTemplates>>() {
        Some(templates) => hostile_values(templates, req.uri().path(), req.query_string()),
        None => hostile_values(
            &PathTemplates::default(),
            req.uri().path(),
            req.query_string(),
        ),
    };
    if errors.is_empty() {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let response = ApiError::Validation(errors).error_response();
    Ok(req.into_response(response).map_into_right_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn templates() -> PathTemplates {
        PathTemplates {
            templates: [
                "/api/v1/doctors/{doctor}",
                "/api/v1/doctors/search",
                "/api/v1/delivery/sites/{site}/doctors/{doctor}",
            ]
            .iter()
            .map(|path| segments(path).map(str::to_owned).collect())
            .collect(),
        }
    }

    fn fields(path: &str, query: &str) -> Vec<String> {
        hostile_values(&templates(), path, query)
            .into_iter()
            .map(|error| error.field)
            .collect()
    }

    #[test]
    fn nul_bad_utf8_and_long_values_are_named() {
        assert_eq!(fields("/api/v1/doctors/%00", ""), ["doctor"]);
        assert_eq!(
            fields("/api/v1/delivery/sites/s1/doctors/%FF%FE", ""),
            ["doctor"]
        );
        assert_eq!(fields("/api/v1/delivery/sites/%00/doctors/x", ""), ["site"]);
        assert_eq!(fields("/nowhere/%00", ""), ["path"]);
        assert_eq!(fields("/api/v1/doctors", "clinic=%00&limit=5"), ["clinic"]);
        assert_eq!(fields("/api/v1/doctors", "q=a+b&x=%FF%FE"), ["x"]);
        let long = "a".repeat(MAX_VALUE_BYTES + 1);
        assert_eq!(fields("/api/v1/doctors", &format!("q={long}")), ["q"]);
        assert_eq!(fields(&format!("/api/v1/doctors/{long}"), ""), ["doctor"]);
        assert_eq!(fields("/api/v1/doctors", "%00=1"), ["query"]);
    }

    #[test]
    fn ordinary_values_pass() {
        assert!(fields(
            "/api/v1/doctors/search",
            "q=%D0%B0%D0%BD%D0%BD%D0%B0&cursor=abc%3D%3D"
        )
        .is_empty());
        assert!(fields("/api/v1/doctors/0190f0aa-0000-7000-8000-000000000000", "").is_empty());
        let longest = "a".repeat(MAX_VALUE_BYTES);
        assert!(fields("/api/v1/doctors", &format!("q={longest}")).is_empty());
    }
}
