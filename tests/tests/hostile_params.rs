//! Every query and path parameter of every operation in the committed spec,
//! given a NUL, bytes that are not UTF-8, and 20,000 characters, as an
//! anonymous caller and as a tenant's owner: each answers 422 naming the
//! parameter, never a 5xx. Generated from `openapi/openapi.json`, so a new
//! operation is covered the day it is documented.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cms_tests::{TestApp, PLATFORM_ADMIN};
use reqwest::Method;
use serde_json::{json, Value};

/// One parameter to attack: where it goes and its name.
struct Target {
    method: Method,
    template: String,
    location: String,
    name: String,
}

fn targets(spec: &Value) -> Vec<Target> {
    let mut found = Vec::new();
    for (template, item) in spec["paths"].as_object().unwrap() {
        let shared = item["parameters"].as_array().cloned().unwrap_or_default();
        for (method, operation) in item.as_object().unwrap() {
            let Ok(method) = method.to_uppercase().parse::<Method>() else {
                continue;
            };
            if !matches!(
                method,
                Method::GET | Method::POST | Method::PUT | Method::PATCH | Method::DELETE
            ) {
                continue;
            }
            let own = operation["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for parameter in shared.iter().chain(own.iter()) {
                assert!(
                    parameter.get("$ref").is_none(),
                    "parameters are inline in this spec: {parameter}"
                );
                let location = parameter["in"].as_str().unwrap();
                if location == "path" || location == "query" {
                    found.push(Target {
                        method: method.clone(),
                        template: template.clone(),
                        location: location.to_owned(),
                        name: parameter["name"].as_str().unwrap().to_owned(),
                    });
                }
            }
        }
    }
    found
}

/// The template with every path parameter filled: real ids where the demo
/// data has them (so a handler would reach its queries), else a new id.
fn fill(template: &str, site: &str, except: Option<&str>, hostile: &str) -> String {
    let mut path = String::new();
    for segment in template.split('/').filter(|s| !s.is_empty()) {
        path.push('/');
        match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) if Some(name) == except => path.push_str(hostile),
            Some("site") => path.push_str(site),
            Some(_) => path.push_str("0190f0aa-0000-7000-8000-000000000001"),
            None => path.push_str(segment),
        }
    }
    path
}

#[tokio::test]
async fn every_spec_parameter_refuses_hostile_values_with_a_422_naming_it() {
    let app = TestApp::spawn().await;
    let owner = app.login(PLATFORM_ADMIN, Some("alpha")).await.access;
    let site = app.first_site(&owner).await;
    let spec: Value = serde_json::from_str(include_str!("../../openapi/openapi.json")).unwrap();
    let targets = targets(&spec);
    assert!(
        targets.len() > 150,
        "only {} parameters found",
        targets.len()
    );
    let long = "x".repeat(20_000);
    let hostile = ["%00", "%FF%FE", long.as_str()];

    let mut failures = Vec::new();
    let mut sent = 0;
    for target in &targets {
        for value in hostile {
            let url = if target.location == "path" {
                fill(&target.template, &site, Some(&target.name), value)
            } else {
                format!(
                    "{}?{}={value}",
                    fill(&target.template, &site, None, ""),
                    target.name
                )
            };
            for token in [None, Some(owner.as_str())] {
                let body = matches!(target.method, Method::POST | Method::PUT | Method::PATCH)
                    .then(|| json!({}));
                let reply = app
                    .send(target.method.clone(), &url, token, body.as_ref(), &[])
                    .await;
                sent += 1;
                let shown = &url[..url.len().min(120)];
                let who = if token.is_some() {
                    "owner"
                } else {
                    "anonymous"
                };
                if reply.status.is_server_error() {
                    failures.push(format!(
                        "{} {shown} ({who}): {} {}",
                        target.method, reply.status, reply.text
                    ));
                } else if reply.status != 422 || reply.error_fields() != [target.name.clone()] {
                    failures.push(format!(
                        "{} {shown} ({who}): {} {} instead of 422 naming {}",
                        target.method,
                        reply.status,
                        reply.text.chars().take(200).collect::<String>(),
                        target.name
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {sent} requests failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
