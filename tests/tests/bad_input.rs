//! Every kind of bad request gets its own problem+json status, never a 500,
//! and leaves nothing written (no site, no audit record).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use cms_tests::*;
use reqwest::Method;

async fn post_raw(
    app: &TestApp,
    token: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> Reply {
    let response = app
        .client
        .post(app.url("/api/v1/sites"))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    Reply {
        status,
        headers,
        body,
        text,
    }
}

#[tokio::test]
async fn malformed_wrong_type_oversized_and_invalid_bodies_are_refused_cleanly() {
    let app =
        TestApp::spawn_with(HashMap::from([("CMS_BODY_LIMIT_BYTES", "1024".to_owned())])).await;
    let editor = app.login(ALPHA_EDITOR, None).await;
    let (sites_before, audit_before) = (app.count_rows("sites"), app.count_rows("audit_log"));

    let malformed = post_raw(&app, &editor.access, "application/json", r#"{"name": "x""#)
        .await
        .expect_problem(400);
    assert!(
        malformed.body["detail"]
            .as_str()
            .unwrap()
            .contains("not valid JSON"),
        "{}",
        malformed.text
    );
    post_raw(&app, &editor.access, "application/json", "[1, 2]")
        .await
        .expect_problem(400);

    post_raw(&app, &editor.access, "text/plain", r#"{"name": "x"}"#)
        .await
        .expect_problem(415);
    post_raw(
        &app,
        &editor.access,
        "application/x-www-form-urlencoded",
        "name=x",
    )
    .await
    .expect_problem(415);

    let huge = format!(r#"{{"name": "{}"}}"#, "x".repeat(4096));
    post_raw(&app, &editor.access, "application/json", huge)
        .await
        .expect_problem(413);

    let invalid = post_raw(
        &app,
        &editor.access,
        "application/json",
        r#"{"name": "  ", "default_locale": "english", "locales": ["en"], "theme": []}"#,
    )
    .await
    .expect_problem(422);
    assert_eq!(
        invalid.error_fields(),
        ["name", "default_locale", "default_locale", "theme"],
        "{}",
        invalid.text
    );

    let wrong_type = post_raw(&app, &editor.access, "application/json", r#"{"name": 42}"#)
        .await
        .expect_problem(422);
    assert_eq!(wrong_type.error_fields(), ["name"]);
    let missing = post_raw(
        &app,
        &editor.access,
        "application/json",
        r#"{"locales": ["en"]}"#,
    )
    .await
    .expect_problem(422);
    assert_eq!(missing.error_fields(), ["name"]);
    let unknown = post_raw(
        &app,
        &editor.access,
        "application/json",
        r#"{"name": "x", "colour": "red"}"#,
    )
    .await
    .expect_problem(422);
    assert!(
        unknown.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("colour"),
        "{}",
        unknown.text
    );

    assert_eq!(app.count_rows("sites"), sites_before, "no site was written");
    assert_eq!(
        app.count_rows("audit_log"),
        audit_before,
        "no audit record was written"
    );
}

#[tokio::test]
async fn bad_paths_queries_and_unknown_routes_answer_problems_not_500s() {
    let app = TestApp::spawn().await;
    let editor = app.login(ALPHA_EDITOR, None).await;
    app.get("/api/v1/sites/not-a-uuid", &editor.access)
        .await
        .expect_problem(404);
    app.get("/api/v1/no-such-thing", &editor.access)
        .await
        .expect_problem(404);
    let bad_limit = app
        .get("/api/v1/sites?limit=0", &editor.access)
        .await
        .expect_problem(422);
    assert_eq!(bad_limit.error_fields(), ["limit"]);
    app.get("/api/v1/sites?limit=abc", &editor.access)
        .await
        .expect_problem(400);
    let bad_cursor = app.get("/api/v1/sites?cursor=%%%", &editor.access).await;
    assert!(
        matches!(bad_cursor.status.as_u16(), 400 | 422),
        "{}",
        bad_cursor.text
    );
    app.get("/api/v1/sites?cursor=AAAA", &editor.access)
        .await
        .expect_problem(422);

    let bad_domain = app
        .post(
            "/api/v1/sites",
            &editor.access,
            serde_json::json!({"name": "With domain"}),
        )
        .await
        .expect(201);
    let site = bad_domain.body["id"].as_str().unwrap();
    let reply = app
        .post(
            &format!("/api/v1/sites/{site}/domains"),
            &editor.access,
            serde_json::json!({"host": "bad host!"}),
        )
        .await
        .expect_problem(422);
    assert_eq!(reply.error_fields(), ["host"]);

    let login = app
        .send(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(&serde_json::json!({"email": "not-an-email", "password": ""})),
            &[],
        )
        .await
        .expect_problem(422);
    assert_eq!(login.error_fields(), ["email", "password"]);
}
