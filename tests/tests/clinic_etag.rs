//! Clinics, specializations, service categories, services and doctors carry
//! a version like pages: create answers 201 with `ETag` and `Location`, a read
//! answers the same `ETag`, a change with the current `If-Match` bumps it, a
//! stale one answers 412 and changes nothing (for PATCH and DELETE alike), a
//! change without `If-Match` is not checked, and two editors racing with one
//! ETag never both win.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cms_tests::*;
use reqwest::Method;
use serde_json::{json, Value};

/// The id of the first item of a list answer (`{"items": [...]}` or `[...]`).
async fn first_id(app: &TestApp, token: &str, path: &str) -> String {
    let list = app.get(path, token).await.expect(200);
    let items = list.body.get("items").unwrap_or(&list.body);
    items[0]["id"].as_str().unwrap().to_owned()
}

async fn send_with_if_match(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<&Value>,
    etag: &str,
) -> Reply {
    app.send(method, path, Some(token), body, &[("if-match", etag)])
        .await
}

/// The whole ETag life of one record of `collection`, created from `body`
/// and renamed through `name`.
async fn etags_guard(collection: &str, body: impl FnOnce(&Ids) -> Value) {
    let app = TestApp::spawn().await;
    let editor = app.login(ALPHA_EDITOR, None).await;
    let token = editor.access.as_str();
    let ids = Ids::of_demo(&app, token).await;

    // Create: 201 with the first version's ETag and where to read it.
    let created = app
        .post(&format!("/api/v1/{collection}"), token, body(&ids))
        .await
        .expect(201);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/{collection}/{id}");
    assert_eq!(created.header("location"), Some(path.as_str()));
    assert_eq!(created.header("etag"), Some("\"v1\""), "{}", created.text);
    assert_eq!(created.body["version"], 1, "{}", created.text);
    let v1 = created.header("etag").unwrap().to_owned();

    // Read: the same ETag.
    let read = app.get(&path, token).await.expect(200);
    assert_eq!(read.header("etag"), Some(v1.as_str()));
    assert_eq!(read.body["version"], 1);

    // Change with the current ETag: a new ETag, the version in the body too.
    let changed = send_with_if_match(
        &app,
        Method::PATCH,
        &path,
        token,
        Some(&json!({"name": "First change"})),
        &v1,
    )
    .await
    .expect(200);
    let v2 = changed.header("etag").unwrap().to_owned();
    assert_ne!(v2, v1);
    assert_eq!(v2, "\"v2\"");
    assert_eq!(changed.body["version"], 2);
    assert_eq!(changed.body["name"], "First change");

    // Change with the stale ETag: 412, nothing written (not even an audit record).
    let audit_before = app.count_rows("audit_log");
    let refused = send_with_if_match(
        &app,
        Method::PATCH,
        &path,
        token,
        Some(&json!({"name": "Lost update"})),
        &v1,
    )
    .await
    .expect_problem(412);
    assert!(refused.header("etag").is_none(), "{:?}", refused.headers);
    let current = app.get(&path, token).await.expect(200);
    assert_eq!(current.body["name"], "First change");
    assert_eq!(current.header("etag"), Some(v2.as_str()));
    assert_eq!(app.count_rows("audit_log"), audit_before);

    // `*` matches any version; several tags match when one of them does.
    let starred = send_with_if_match(
        &app,
        Method::PATCH,
        &path,
        token,
        Some(&json!({"name": "Starred"})),
        "*",
    )
    .await
    .expect(200);
    assert_eq!(starred.header("etag"), Some("\"v3\""));
    let listed = send_with_if_match(
        &app,
        Method::PATCH,
        &path,
        token,
        Some(&json!({"name": "Listed"})),
        "\"v1\", \"v3\"",
    )
    .await
    .expect(200);
    assert_eq!(listed.header("etag"), Some("\"v4\""));

    // Without If-Match nothing is checked, but the version still moves.
    let unchecked = app
        .patch(&path, token, json!({"name": "Unchecked"}))
        .await
        .expect(200);
    assert_eq!(unchecked.header("etag"), Some("\"v5\""));
    assert_eq!(unchecked.body["name"], "Unchecked");

    // Two editors holding the same ETag: exactly one wins.
    let one_body = json!({"name": "Editor one"});
    let two_body = json!({"name": "Editor two"});
    let (one, two) = tokio::join!(
        send_with_if_match(&app, Method::PATCH, &path, token, Some(&one_body), "\"v5\""),
        send_with_if_match(&app, Method::PATCH, &path, token, Some(&two_body), "\"v5\""),
    );
    let mut statuses = [one.status.as_u16(), two.status.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 412], "{} / {}", one.text, two.text);
    let winner = if one.status == 200 {
        "Editor one"
    } else {
        "Editor two"
    };
    let current = app.get(&path, token).await.expect(200);
    assert_eq!(current.body["name"], winner);
    assert_eq!(current.header("etag"), Some("\"v6\""));

    // Delete with a stale ETag: 412 and the record stays.
    send_with_if_match(&app, Method::DELETE, &path, token, None, &v2)
        .await
        .expect_problem(412);
    let kept = app.get(&path, token).await.expect(200);
    assert_eq!(kept.body["name"], winner);

    // Delete with the current one.
    let fresh = kept.header("etag").unwrap().to_owned();
    send_with_if_match(&app, Method::DELETE, &path, token, None, &fresh)
        .await
        .expect(204);
    app.get(&path, token).await.expect_problem(404);
}

/// Demo records new ones refer to.
struct Ids {
    clinic: String,
    specialization: String,
    category: String,
}

impl Ids {
    async fn of_demo(app: &TestApp, token: &str) -> Self {
        Ids {
            clinic: first_id(app, token, "/api/v1/clinics").await,
            specialization: first_id(app, token, "/api/v1/specializations").await,
            category: first_id(app, token, "/api/v1/service-categories").await,
        }
    }
}

#[tokio::test]
async fn clinics_are_guarded_by_etags() {
    etags_guard(
        "clinics",
        |_| json!({"slug": "etag-clinic", "name": "ETag Clinic", "time_zone": "Europe/Moscow"}),
    )
    .await;
}

#[tokio::test]
async fn specializations_are_guarded_by_etags() {
    etags_guard(
        "specializations",
        |_| json!({"slug": "allergy", "name": "Allergy"}),
    )
    .await;
}

#[tokio::test]
async fn service_categories_are_guarded_by_etags() {
    etags_guard(
        "service-categories",
        |ids| json!({"slug": "labs", "name": "Labs", "parent_id": ids.category}),
    )
    .await;
}

#[tokio::test]
async fn services_are_guarded_by_etags() {
    etags_guard("services", |ids| {
        json!({"slug": "blood-test", "name": "Blood test", "category_id": ids.category,
               "price_minor": 90_000, "duration_minutes": 15, "clinic_ids": [ids.clinic]})
    })
    .await;
}

#[tokio::test]
async fn doctors_are_guarded_by_etags() {
    etags_guard("doctors", |ids| {
        json!({"slug": "new-doctor", "name": "Dr. New", "specialization_id": ids.specialization,
               "clinic_ids": [ids.clinic], "service_ids": []})
    })
    .await;
}

/// A link change (a service's clinics) is a change of the record: it bumps
/// the version, and a stale ETag refuses it without touching the links.
#[tokio::test]
async fn link_changes_are_guarded_too() {
    let app = TestApp::spawn().await;
    let editor = app.login(ALPHA_EDITOR, None).await;
    let token = editor.access.as_str();
    let service = first_id(&app, token, "/api/v1/services").await;
    let path = format!("/api/v1/services/{service}");
    let before = app.get(&path, token).await.expect(200);
    let etag = before.header("etag").unwrap().to_owned();
    let clinics = before.body["clinic_ids"].clone();
    assert!(!clinics.as_array().unwrap().is_empty());
    let moved = send_with_if_match(
        &app,
        Method::PATCH,
        &path,
        token,
        Some(&json!({"clinic_ids": []})),
        &etag,
    )
    .await
    .expect(200);
    assert_eq!(moved.body["clinic_ids"], json!([]));
    send_with_if_match(
        &app,
        Method::PATCH,
        &path,
        token,
        Some(&json!({"clinic_ids": clinics})),
        &etag,
    )
    .await
    .expect_problem(412);
    let after = app.get(&path, token).await.expect(200);
    assert_eq!(after.body["clinic_ids"], json!([]));
    assert_eq!(after.header("etag"), moved.header("etag"));
}
