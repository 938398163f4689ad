//! Strings PostgreSQL cannot store (NUL), strings past any field's limit and
//! nesting past a sane depth are refused by the one body extractor every write
//! uses: 422 naming the field, for every family of write endpoints, and
//! nothing is written.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cms_tests::*;
use reqwest::Method;
use serde_json::{json, Value};

/// One write and the table that must not change because of it.
struct Case {
    family: &'static str,
    method: Method,
    path: String,
    token: Option<String>,
    body: Value,
    field: &'static str,
    table: &'static str,
}

/// A copy of `body` with `"\u{0}"` appended to the string at `pointer`.
fn with_nul(mut body: Value, pointer: &str) -> Value {
    let slot = body.pointer_mut(pointer).unwrap();
    let text = slot.as_str().unwrap().to_owned();
    *slot = Value::String(format!("{text}\u{0}tail"));
    body
}

#[tokio::test]
async fn nul_characters_are_refused_on_every_write_family_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let (editor, _) = demo_editors(&app).await;
    let token = Some(editor.access.clone());
    let site = app.first_site(&editor.access).await;
    let page = app
        .draft_page(&editor.access, &site, "/hostile", "Hostile")
        .await;
    let page_id = page["id"].as_str().unwrap().to_owned();
    let first = |list: Reply| list.body["items"][0]["id"].as_str().unwrap().to_owned();
    let clinic = first(app.get("/api/v1/clinics", &editor.access).await.expect(200));
    let doctor = first(app.get("/api/v1/doctors", &editor.access).await.expect(200));
    let service = first(
        app.get("/api/v1/services", &editor.access)
            .await
            .expect(200),
    );
    let home = app
        .public(&format!("/api/v1/delivery/sites/{site}/pages?path=/"), &[])
        .await
        .expect(200);
    let experiment = home.body["experiments"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let start = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();

    let cases = vec![
        Case {
            family: "sites",
            method: Method::POST,
            path: "/api/v1/sites".into(),
            token: token.clone(),
            body: json!({"name": "Hostile", "default_locale": "en", "locales": ["en"],
                         "analytics": {"ga4": "G-12345"}}),
            field: "/analytics/ga4",
            table: "sites",
        },
        Case {
            family: "pages",
            method: Method::POST,
            path: format!("/api/v1/sites/{site}/pages"),
            token: token.clone(),
            body: json!({"path": "/hostile-2", "title": "Hostile"}),
            field: "/title",
            table: "pages",
        },
        Case {
            family: "blocks",
            method: Method::POST,
            path: format!("/api/v1/pages/{page_id}/blocks"),
            token: token.clone(),
            body: json!({"module": "hero", "props": {"title": "Hello"}}),
            field: "/props/title",
            table: "page_blocks",
        },
        Case {
            family: "modules",
            method: Method::POST,
            path: "/api/v1/modules".into(),
            token: token.clone(),
            body: json!({"key": "hostile", "name": "Hostile", "category": "custom",
                         "props_schema": {"type": "object"}, "template": "<div>x</div>"}),
            field: "/template",
            table: "custom_modules",
        },
        Case {
            family: "experiments",
            method: Method::POST,
            path: format!("/api/v1/pages/{page_id}/experiments"),
            token: token.clone(),
            body: json!({"name": "Hostile", "goal": "lead_submitted",
                         "variants": [{"key": "a", "weight": 50}, {"key": "b", "weight": 50}]}),
            field: "/name",
            table: "experiments",
        },
        Case {
            family: "clinics",
            method: Method::PATCH,
            path: format!("/api/v1/clinics/{clinic}"),
            token: token.clone(),
            body: json!({"name": "Renamed"}),
            field: "/name",
            table: "audit_log",
        },
        Case {
            family: "doctors",
            method: Method::PATCH,
            path: format!("/api/v1/doctors/{doctor}"),
            token: token.clone(),
            body: json!({"bio": "Kind"}),
            field: "/bio",
            table: "audit_log",
        },
        Case {
            family: "services",
            method: Method::PATCH,
            path: format!("/api/v1/services/{service}"),
            token: token.clone(),
            body: json!({"description": "Short"}),
            field: "/description",
            table: "audit_log",
        },
        Case {
            family: "appointments",
            method: Method::POST,
            path: format!("/api/v1/delivery/sites/{site}/appointments"),
            token: None,
            body: json!({"doctor": doctor, "service": service, "start": start,
                         "name": "Guest", "phone": "+7 916 123-45-67"}),
            field: "/name",
            table: "appointments",
        },
        Case {
            family: "leads",
            method: Method::POST,
            path: format!("/api/v1/delivery/sites/{site}/leads"),
            token: None,
            body: json!({"path": "/", "visitor_id": "hostile-visitor",
                         "fields": {"name": "Ann", "phone": "+1 555 0100"}}),
            field: "/fields/name",
            table: "leads",
        },
        Case {
            family: "events",
            method: Method::POST,
            path: "/api/v1/delivery/events".into(),
            token: None,
            body: json!({"events": [{"experiment": experiment, "variant": "a",
                                     "visitor": "hostile-visitor", "kind": "custom", "name": "click"}]}),
            field: "/events/0/name",
            table: "experiment_events",
        },
    ];

    for case in cases {
        let before = app.count_rows(case.table);
        let body = with_nul(case.body, case.field);
        let reply = app
            .send(
                case.method,
                &case.path,
                case.token.as_deref(),
                Some(&body),
                &[],
            )
            .await;
        assert_eq!(reply.status, 422, "{}: {}", case.family, reply.text);
        let pointers: Vec<&str> = reply.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|error| error["pointer"].as_str().unwrap())
            .collect();
        assert_eq!(pointers, [case.field], "{}: {}", case.family, reply.text);
        assert_eq!(
            app.count_rows(case.table),
            before,
            "{} wrote a row",
            case.family
        );
    }
    // The PATCHed resources kept their values.
    let clinic_now = app
        .get(&format!("/api/v1/clinics/{clinic}"), &editor.access)
        .await
        .expect(200);
    assert_ne!(clinic_now.body["name"], "Renamed");
}

#[tokio::test]
async fn nul_keys_deep_nesting_and_endless_strings_are_refused_by_name() {
    let app = TestApp::spawn().await;
    let (editor, _) = demo_editors(&app).await;
    let sites_before = app.count_rows("sites");
    let post_site = |body: Value| {
        let app = &app;
        let token = editor.access.clone();
        async move { app.post("/api/v1/sites", &token, body).await }
    };

    let key = post_site(json!({"name": "K", "theme": {"colo\u{0}r": "#fff"}}))
        .await
        .expect_problem(422);
    assert_eq!(key.error_fields(), ["theme.colo\u{0}r"], "{}", key.text);

    let mut deep = json!("leaf");
    for _ in 0..40 {
        deep = json!({ "x": deep });
    }
    let nested = post_site(json!({"name": "Deep", "theme": deep}))
        .await
        .expect_problem(422);
    assert!(nested.text.contains("deeper than 32"), "{}", nested.text);
    assert!(
        nested.error_fields()[0].starts_with("theme.x.x."),
        "{}",
        nested.text
    );

    // Beyond the parser's own limit the answer is still a clean 400.
    let mut deeper = String::from("\"leaf\"");
    for _ in 0..200 {
        deeper = format!("[{deeper}]");
    }
    let raw = app
        .client
        .post(app.url("/api/v1/sites"))
        .bearer_auth(&editor.access)
        .header("content-type", "application/json")
        .body(format!(r#"{{"name":"D","theme":{deeper}}}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);

    let long = post_site(json!({"name": "L", "analytics": {"note": "x".repeat(70_000)}}))
        .await
        .expect_problem(422);
    assert_eq!(long.error_fields(), ["analytics.note"], "{}", long.text);

    // Unpaired surrogate escapes are refused by the parser with their position.
    for body in [
        r#"{"name":"S\ud800x","default_locale":"en","locales":["en"]}"#,
        r#"{"name":"S\udc00","default_locale":"en","locales":["en"]}"#,
        r#"{"theme":{"\ud800":"x"},"name":"S","default_locale":"en","locales":["en"]}"#,
    ] {
        let surrogate = app
            .client
            .post(app.url("/api/v1/sites"))
            .bearer_auth(&editor.access)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(surrogate.status(), 400, "{body}");
        let text = surrogate.text().await.unwrap();
        assert!(
            text.contains("not valid JSON") && text.contains("column"),
            "{text}"
        );
    }

    assert_eq!(app.count_rows("sites"), sites_before);
}
