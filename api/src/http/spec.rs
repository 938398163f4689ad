//! What the OpenAPI specification requires and utoipa leaves to each route:
//! a description on every response (the status's meaning where the route
//! gives none), `servers`, and `security: []` on public operations. Free-form
//! objects (props, themes) are typed at their fields as maps
//! (`value_type = HashMap<String, serde_json::Value>`), never a bare `Object`,
//! which generators read as an empty record.

use utoipa::openapi::path::Operation;
use utoipa::openapi::server::Server;
use utoipa::openapi::RefOr;

/// The document with the gaps above filled.
pub fn complete(mut spec: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let mut this_api = Server::new("/");
    this_api.description = Some("The api answering this document".into());
    let mut local = Server::new("http://127.0.0.1:8080");
    local.description = Some("`make run` on this machine".into());
    spec.servers = Some(vec![this_api, local]);
    for item in spec.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            complete_operation(operation);
        }
    }
    spec
}

fn complete_operation(operation: &mut Operation) {
    // No global requirement: an operation that names none is public, and
    // says so (`[]`) for validators and generators.
    if operation.security.is_none() {
        operation.security = Some(Vec::new());
    }
    for (status, response) in &mut operation.responses.responses {
        if let RefOr::T(response) = response {
            if response.description.is_empty() {
                response.description = status_meaning(status).to_owned();
            }
        }
    }
}

/// What a status means in this api when a route says nothing more.
fn status_meaning(status: &str) -> &'static str {
    match status {
        "200" => "OK",
        "201" => "Created: the new resource, with its ETag and Location",
        "202" => "Accepted",
        "204" => "Done; no body",
        "304" => "Not modified since the ETag sent in If-None-Match",
        "400" => "Malformed request (problem+json)",
        "401" => "Missing, expired or invalid token (problem+json)",
        "403" => "The caller's role may not do this (problem+json)",
        "404" => "No such resource in the caller's tenant (problem+json)",
        "409" => "Conflicts with the resource's current state (problem+json)",
        "412" => "The resource changed since the ETag in If-Match (problem+json)",
        "413" => "The body is larger than the limit (problem+json)",
        "415" => "The body is not application/json (problem+json)",
        "422" => "Invalid fields, each named in `errors` (problem+json)",
        "429" => "Too many requests; retry after Retry-After seconds (problem+json)",
        "503" => "A dependency is unavailable; retry shortly (problem+json)",
        _ => "See the operation's description",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    /// Every response is described, every operation names its security and
    /// no object schema is left without fields or `additionalProperties`
    /// (generators would type it as an empty record).
    #[test]
    fn every_response_is_described_and_no_object_is_left_untyped() {
        let document = serde_json::to_value(crate::app::openapi()).unwrap_or_default();
        assert!(document["servers"]
            .as_array()
            .is_some_and(|s| !s.is_empty()));
        let declared_tags: Vec<&str> = document["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|tag| tag["name"].as_str())
            .collect();
        let mut operation_ids = std::collections::HashSet::new();
        let mut operations = 0;
        for item in document["paths"]
            .as_object()
            .into_iter()
            .flat_map(|p| p.values())
        {
            for (method, operation) in item.as_object().into_iter().flatten() {
                operations += 1;
                assert!(operation["security"].is_array(), "{method} {operation}");
                assert!(operation["operationId"].is_string(), "{method} {operation}");
                assert!(operation["tags"].as_array().is_some_and(|t| !t.is_empty()));
                for tag in operation["tags"].as_array().into_iter().flatten() {
                    let tag = tag.as_str().unwrap_or_default();
                    assert!(declared_tags.contains(&tag), "tag {tag} is not declared");
                }
                let id = operation["operationId"].as_str().unwrap_or_default();
                assert!(
                    operation_ids.insert(id.to_owned()),
                    "operationId {id} twice"
                );
                for (status, response) in operation["responses"].as_object().into_iter().flatten() {
                    let described = response["description"]
                        .as_str()
                        .is_some_and(|d| !d.is_empty());
                    assert!(described, "{method} {status} has no description");
                }
            }
        }
        assert!(operations > 100, "{operations}");
        let mut untyped = Vec::new();
        find_untyped_objects(&document, "#", &mut untyped);
        assert!(untyped.is_empty(), "untyped objects: {untyped:#?}");
    }

    fn find_untyped_objects(value: &Value, at: &str, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                let is_object = map.get("type").is_some_and(|kind| {
                    kind == "object"
                        || kind
                            .as_array()
                            .is_some_and(|k| k.iter().any(|k| k == "object"))
                });
                let shaped = [
                    "properties",
                    "additionalProperties",
                    "$ref",
                    "allOf",
                    "oneOf",
                    "anyOf",
                ]
                .iter()
                .any(|key| map.contains_key(*key));
                if is_object && !shaped {
                    found.push(at.to_owned());
                }
                for (key, child) in map {
                    find_untyped_objects(child, &format!("{at}/{key}"), found);
                }
            }
            Value::Array(items) => {
                for (index, child) in items.iter().enumerate() {
                    find_untyped_objects(child, &format!("{at}/{index}"), found);
                }
            }
            _ => {}
        }
    }
}
