//! Modules as blocks use them: resolving a key to its schema (built-in or the
//! tenant's custom module), validating and sanitising props, and checking
//! custom templates and schemas before they are saved.

use diesel::PgConnection;
use serde_json::Value;

use crate::db::modules;
use crate::error::{ApiError, FieldError};

/// What a block needs to know about its module.
pub struct ModuleDef {
    pub props_schema: Value,
}

/// The module named `key`: a built-in or one of the current tenant's.
pub fn resolve(conn: &mut PgConnection, key: &str) -> Result<ModuleDef, ApiError> {
    if let Some(builtin) = modules::find_builtin(conn, key)? {
        return Ok(ModuleDef {
            props_schema: builtin.props_schema,
        });
    }
    match modules::find_custom(conn, key)? {
        Some(custom) => Ok(ModuleDef {
            props_schema: custom.props_schema,
        }),
        None => Err(ApiError::invalid(
            "module",
            format!("no module {key:?} in the library"),
        )),
    }
}

/// Validates `props` against `schema` (422 listing every failure by JSON
/// pointer under `/props`) and answers them with rich text sanitised.
pub fn validate_props(schema: &Value, props: Value) -> Result<Value, ApiError> {
    validate_with(&compile(schema)?, schema, props)
}

/// A module schema compiled for repeated validation.
pub fn compile(schema: &Value) -> Result<jsonschema::Validator, ApiError> {
    jsonschema::validator_for(schema)
        .map_err(|err| ApiError::internal(format!("module schema does not compile: {err}")))
}

/// `validate_props` with an already compiled schema.
pub fn validate_with(
    validator: &jsonschema::Validator,
    schema: &Value,
    mut props: Value,
) -> Result<Value, ApiError> {
    let errors: Vec<FieldError> = validator
        .iter_errors(&props)
        .map(|error| {
            let pointer = format!("/props{}", error.instance_path());
            FieldError {
                field: pointer.trim_start_matches('/').replace('/', "."),
                pointer,
                message: error.to_string(),
            }
        })
        .collect();
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    sanitize_rich_text(schema, &mut props);
    Ok(props)
}

/// Cleans every string the schema marks `"contentMediaType": "text/html"`:
/// scripts, event handlers and `javascript:` URLs are removed.
pub fn sanitize_rich_text(schema: &Value, value: &mut Value) {
    match value {
        Value::String(text)
            if schema.get("contentMediaType").and_then(Value::as_str) == Some("text/html") =>
        {
            *text = ammonia::clean(text);
        }
        Value::Object(map) => {
            if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
                for (key, child) in map.iter_mut() {
                    if let Some(child_schema) = properties.get(key) {
                        sanitize_rich_text(child_schema, child);
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for item in items {
                    sanitize_rich_text(item_schema, item);
                }
            }
        }
        _ => {}
    }
}

/// Checks a custom module's schema: valid JSON Schema describing an object.
pub fn check_schema(schema: &Value) -> Result<(), FieldError> {
    if schema.get("type").and_then(Value::as_str) != Some("object") {
        return Err(FieldError::new(
            "props_schema",
            "must be a JSON Schema with \"type\": \"object\"",
        ));
    }
    jsonschema::meta::validate(schema).map_err(|err| {
        FieldError::new("props_schema", format!("is not a valid JSON Schema: {err}"))
    })?;
    jsonschema::validator_for(schema)
        .map(|_| ())
        .map_err(|err| FieldError::new("props_schema", format!("cannot be used: {err}")))
}

/// Compiles a custom module's tera template the way the renderer will.
pub fn check_template(source: &str) -> Result<(), FieldError> {
    let mut tera = tera::Tera::default();
    tera.add_raw_template("module.html", source).map_err(|err| {
        FieldError::new(
            "template",
            format!("does not compile: {}", error_chain(&err)),
        )
    })
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rich_text_schema() -> Value {
        json!({"type": "object", "required": ["html"], "properties": {
            "html": {"type": "string", "contentMediaType": "text/html"},
            "items": {"type": "array", "items": {"type": "object", "properties": {"answer": {"type": "string", "contentMediaType": "text/html"}}}}
        }})
    }

    #[test]
    fn rich_text_is_sanitised_wherever_the_schema_marks_it() {
        let props = json!({
            "html": "<p onclick=\"x()\">Hi<script>alert(1)</script><a href=\"javascript:alert(1)\">x</a></p>",
            "items": [{"answer": "<img src=x onerror=alert(1)>ok"}]
        });
        let clean = validate_props(&rich_text_schema(), props).unwrap();
        let html = clean["html"].as_str().unwrap();
        assert!(
            !html.contains("script") && !html.contains("onclick") && !html.contains("javascript:"),
            "{html}"
        );
        assert!(html.contains("<p>Hi"), "{html}");
        assert!(!clean["items"][0]["answer"]
            .as_str()
            .unwrap()
            .contains("onerror"));
    }

    #[test]
    fn schema_failures_name_json_pointers() {
        let error =
            validate_props(&rich_text_schema(), json!({"items": [{"answer": 5}]})).unwrap_err();
        let ApiError::Validation(errors) = error else {
            panic!("{error:?}")
        };
        let pointers: Vec<&str> = errors.iter().map(|e| e.pointer.as_str()).collect();
        assert!(pointers.contains(&"/props/items/0/answer"), "{pointers:?}");
        assert!(
            pointers.contains(&"/props"),
            "missing html is reported at the object: {pointers:?}"
        );
    }

    #[test]
    fn broken_templates_and_schemas_are_refused() {
        assert!(check_template("<h1>{{ props.title }}</h1>").is_ok());
        assert!(check_template("<h1>{{ props.title </h1>").is_err());
        assert!(check_template("{% if x %}unclosed").is_err());
        assert!(check_schema(&json!({"type": "object"})).is_ok());
        assert!(check_schema(&json!({"type": "string"})).is_err());
        assert!(
            check_schema(&json!({"type": "object", "properties": {"a": {"type": 5}}})).is_err()
        );
    }

    #[test]
    fn every_builtin_schema_compiles() {
        let modules = crate::content::builtin::builtin_modules();
        assert!(modules.len() >= 20);
        for module in modules {
            assert!(check_schema(&module.props_schema).is_ok(), "{}", module.key);
        }
    }
}
