//! `ValidJson<T>`: the body extractor every write uses. It tells apart what a
//! client can get wrong, each with its own status: wrong content type (415), too
//! large (413), not JSON (400), JSON of the wrong shape (422 naming the field),
//! and values that break the resource's rules (422 listing every field).

use actix_web::http::header;
use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, FieldError};
use crate::state::AppState;

/// Used only if the app state is missing (it never is in a built app).
const DEFAULT_BODY_LIMIT: usize = 256 * 1024;

/// A request body that checks its own values after parsing.
pub trait Validate {
    /// Every rule the value breaks, as field errors (empty when valid).
    fn validate(&self) -> Vec<FieldError>;
}

/// A JSON body that parsed and validated, of at most `CMS_BODY_LIMIT_BYTES`.
#[derive(Debug)]
pub struct ValidJson<T>(pub T);

/// The same for site documents, of at most `CMS_IMPORT_LIMIT_BYTES`.
#[derive(Debug)]
pub struct LargeJson<T>(pub T);

impl<T> FromRequest for ValidJson<T>
where
    T: DeserializeOwned + Validate + 'static,
{
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_json(req, payload, limit(req, |config| config.body_limit_bytes));
        Box::pin(async move { body.await.map(ValidJson) })
    }
}

impl<T> FromRequest for LargeJson<T>
where
    T: DeserializeOwned + Validate + 'static,
{
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_json(req, payload, limit(req, |config| config.import_limit_bytes));
        Box::pin(async move { body.await.map(LargeJson) })
    }
}

/// A body limit from the configuration.
fn limit(req: &HttpRequest, pick: fn(&crate::config::Config) -> usize) -> usize {
    req.app_data::<web::Data<AppState>>()
        .map_or(DEFAULT_BODY_LIMIT, |state| pick(&state.config))
}

fn read_json<T>(
    req: &HttpRequest,
    payload: &mut Payload,
    limit: usize,
) -> LocalBoxFuture<'static, Result<T, ApiError>>
where
    T: DeserializeOwned + Validate + 'static,
{
    {
        let content_type_ok = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .map(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json" || mime.ends_with("+json")
            })
            .unwrap_or(false);
        let declared_length = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !content_type_ok {
                return Err(ApiError::UnsupportedMediaType);
            }
            if declared_length.is_some_and(|length| length > limit) {
                return Err(ApiError::PayloadTooLarge { limit });
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk
                    .map_err(|err| ApiError::BadRequest(format!("cannot read body: {err}")))?;
                if body.len() + chunk.len() > limit {
                    return Err(ApiError::PayloadTooLarge { limit });
                }
                body.extend_from_slice(&chunk);
            }
            parse_body(&body)
        })
    }
}

/// Parses and validates a body; public so the rules can be unit-tested.
pub fn parse_body<T: DeserializeOwned + Validate>(body: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|err| ApiError::BadRequest(format!("the body is not valid JSON: {err}")))?;
    if !value.is_object() {
        return Err(ApiError::BadRequest(
            "the body must be a JSON object".into(),
        ));
    }
    let hostile = hostile_values(&value);
    if !hostile.is_empty() {
        return Err(ApiError::Validation(hostile));
    }
    let parsed: T = serde_path_to_error::deserialize(value).map_err(|err| {
        // `events[2].kind` -> `events.2.kind`, as field errors name items.
        let path = err.path().to_string().replace('[', ".").replace(']', "");
        let inner = err.into_inner().to_string();
        let field = if path == "." {
            missing_field(&inner).unwrap_or_else(|| "body".to_owned())
        } else {
            path
        };
        ApiError::Validation(vec![FieldError::new(&field, inner)])
    })?;
    let errors = parsed.validate();
    if errors.is_empty() {
        Ok(parsed)
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// Deepest nesting of arrays and objects a body may have (the body itself is
/// depth 1). Block props and module schemas stay far below it.
pub const MAX_DEPTH: usize = 32;
/// Longest single string (in characters) any body may carry; fields with
/// their own rules are stricter.
pub const MAX_STRING_CHARS: usize = 65_536;

/// Values no field of any resource accepts, whatever its own rules: NUL
/// characters (PostgreSQL refuses 0x00 in `text` and `\u0000` in `jsonb`, so
/// they would fail as a 500 half-way through a write), strings past
/// `MAX_STRING_CHARS`, and nesting past `MAX_DEPTH`. Keys count as strings.
/// Unpaired surrogate escapes never get here: the JSON parser refuses them
/// with a 400 that gives their position.
fn hostile_values(value: &serde_json::Value) -> Vec<FieldError> {
    fn check_text(errors: &mut Vec<FieldError>, path: &str, text: &str) {
        if text.contains('\0') {
            errors.push(FieldError::new(
                path,
                "must not contain NUL (\\u0000) characters",
            ));
        } else if text.chars().count() > MAX_STRING_CHARS {
            errors.push(FieldError::new(
                path,
                format!("must be at most {MAX_STRING_CHARS} characters"),
            ));
        }
    }
    fn walk(errors: &mut Vec<FieldError>, path: &str, value: &serde_json::Value, depth: usize) {
        use serde_json::Value;
        if errors.len() >= 20 {
            return;
        }
        let field = |child: &str| {
            if path.is_empty() {
                child.to_owned()
            } else {
                format!("{path}.{child}")
            }
        };
        match value {
            Value::String(text) => {
                check_text(errors, if path.is_empty() { "body" } else { path }, text)
            }
            Value::Array(_) | Value::Object(_) if depth > MAX_DEPTH => {
                errors.push(FieldError::new(
                    if path.is_empty() { "body" } else { path },
                    format!("nests deeper than {MAX_DEPTH} levels"),
                ))
            }
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    walk(errors, &field(&index.to_string()), item, depth + 1);
                }
            }
            Value::Object(map) => {
                for (key, item) in map {
                    let child = field(key);
                    check_text(errors, &child, key);
                    walk(errors, &child, item, depth + 1);
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
    let mut errors = Vec::new();
    walk(&mut errors, "", value, 1);
    errors
}

/// For `Option<Option<T>>` fields with `#[serde(default)]`: absent is `None`
/// (leave it), `null` is `Some(None)` (clear it), a value is `Some(Some(v))`.
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(deserializer).map(Some)
}

/// serde reports a missing field at the parent's path; name the field instead.
fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_owned())
}

/// Helpers for `Validate` implementations.
pub mod rules {
    use crate::error::FieldError;

    pub fn text(errors: &mut Vec<FieldError>, field: &str, value: &str, max: usize) {
        let trimmed = value.trim();
        if trimmed.is_empty() {
            errors.push(FieldError::new(field, "must not be empty"));
        } else if trimmed.chars().count() > max {
            errors.push(FieldError::new(
                field,
                format!("must be at most {max} characters"),
            ));
        }
    }

    /// Slugs: lowercase letters, digits and dashes.
    pub fn slug(errors: &mut Vec<FieldError>, field: &str, value: &str) {
        if cms_shared::slug::parse_slug(value).is_err() {
            errors.push(FieldError::new(
                field,
                "must be 1 to 100 lowercase letters, digits and dashes",
            ));
        }
    }

    pub fn email(errors: &mut Vec<FieldError>, field: &str, value: &str) {
        let valid = value.len() <= 254
            && value.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !value.chars().any(char::is_whitespace)
            });
        if !valid {
            errors.push(FieldError::new(field, "must be an email address"));
        }
    }

    pub fn password(errors: &mut Vec<FieldError>, field: &str, value: &str) {
        let length = value.chars().count();
        if !(12..=256).contains(&length) {
            errors.push(FieldError::new(field, "must be 12 to 256 characters long"));
        }
    }

    /// BCP 47-ish locale tags: `en`, `ru`, `pt-BR`.
    pub fn locale(errors: &mut Vec<FieldError>, field: &str, value: &str) {
        let mut parts = value.split('-');
        let language_ok = parts.next().is_some_and(|p| {
            (2..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_lowercase())
        });
        let rest_ok = parts
            .all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
        if !(language_ok && rest_ok) {
            errors.push(FieldError::new(
                field,
                "must be a locale tag such as en or pt-BR",
            ));
        }
    }
}
