//! Leads: public submission (validation, Idempotency-Key, per-visitor limit)
//! and the editors' list, isolated per tenant.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use cms_tests::*;
use reqwest::Method;
use serde_json::json;

async fn post(app: &TestApp, path: &str, body: serde_json::Value) -> Reply {
    app.send(Method::POST, path, None, Some(&body), &[]).await
}

fn lead(visitor: &str) -> serde_json::Value {
    json!({
        "path": "/",
        "visitor_id": visitor,
        "variant": "a",
        "fields": {"name": "Ann", "phone": "+7 (900) 123-45-67"},
        "utm": {"utm_source": "google", "utm_campaign": "spring"}
    })
}

#[tokio::test]
async fn a_lead_is_stored_once_per_idempotency_key_and_listed_to_editors() {
    let app = TestApp::spawn().await;
    let editor = app.login(ALPHA_EDITOR, None).await;
    let site = app.first_site(&editor.access).await;
    let submit = format!("/api/v1/delivery/sites/{site}/leads");

    let first = app
        .send(
            Method::POST,
            &submit,
            None,
            Some(&lead("v1")),
            &[("idempotency-key", "k-1")],
        )
        .await
        .expect(201);
    let retried = app
        .send(
            Method::POST,
            &submit,
            None,
            Some(&lead("v1")),
            &[("idempotency-key", "k-1")],
        )
        .await
        .expect(200);
    assert_eq!(first.body["id"], retried.body["id"]);
    assert_eq!(app.count_rows("leads"), 1);

    let listed = app
        .get(&format!("/api/v1/sites/{site}/leads"), &editor.access)
        .await
        .expect(200);
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["fields"]["phone"], "+7 (900) 123-45-67");
    assert_eq!(items[0]["utm"]["utm_campaign"], "spring");
    assert_eq!(items[0]["variant"], "a");

    // Another tenant sees nothing of it.
    let beta = app.login(BETA_EDITOR, None).await;
    app.get(&format!("/api/v1/sites/{site}/leads"), &beta.access)
        .await
        .expect_problem(404);
}

#[tokio::test]
async fn bad_leads_answer_422_naming_fields_and_write_nothing() {
    let app = TestApp::spawn().await;
    let editor = app.login(ALPHA_EDITOR, None).await;
    let site = app.first_site(&editor.access).await;
    let submit = format!("/api/v1/delivery/sites/{site}/leads");

    let no_contact = post(
        &app,
        &submit,
        json!({"path": "/", "fields": {"name": "Ann"}}),
    )
    .await
    .expect_problem(422);
    assert_eq!(no_contact.error_fields(), vec!["fields.phone"]);
    let bad = post(
            &app,
            &submit,
            json!({"path": "/", "fields": {"phone": "call me", "email": "nope"}, "utm": {"gclid": "x"}}),
        )
        .await
        .expect_problem(422);
    let mut fields = bad.error_fields();
    fields.sort();
    assert_eq!(fields, vec!["fields.email", "fields.phone", "utm.gclid"]);
    post(
        &app,
        &submit,
        json!({"path": "/", "fields": {"phone": "123456", "fax": "1"}}),
    )
    .await
    .expect_problem(422);
    post(
        &app,
        &format!("/api/v1/delivery/sites/{}/leads", uuid::Uuid::now_v7()),
        lead("v"),
    )
    .await
    .expect_problem(404);
    assert_eq!(app.count_rows("leads"), 0);
}

#[tokio::test]
async fn one_visitor_is_limited_per_site() {
    let app =
        TestApp::spawn_with(HashMap::from([("CMS_LEAD_LIMIT_PER_VISITOR", "2".into())])).await;
    let editor = app.login(ALPHA_EDITOR, None).await;
    let site = app.first_site(&editor.access).await;
    let submit = format!("/api/v1/delivery/sites/{site}/leads");
    for _ in 0..2 {
        post(&app, &submit, lead("busy")).await.expect(201);
    }
    let limited = post(&app, &submit, lead("busy")).await.expect_problem(429);
    assert!(limited.header("retry-after").is_some());
    post(&app, &submit, lead("calm")).await.expect(201);
    assert_eq!(app.count_rows("leads"), 3);
}
