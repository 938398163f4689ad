//! API conventions: ETag and If-Match, cursor pagination, UUIDv7 ids, request
//! ids, audit records written with every change, roles, conflicts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cms_tests::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn stale_if_match_answers_412_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let editor = app.login(ALPHA_EDITOR, None).await;
    let created = app
        .post("/api/v1/sites", &editor.access, json!({"name": "Draft"}))
        .await
        .expect(201);
    let etag = created.header("etag").unwrap().to_owned();
    let path = created.header("location").unwrap().to_owned();
    let id = created.body["id"].as_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 7);

    let fetched = app.get(&path, &editor.access).await.expect(200);
    assert_eq!(fetched.header("etag"), Some(etag.as_str()));

    // Editor one saves with the ETag they read.
    let first = app
        .send(
            Method::PATCH,
            &path,
            Some(&editor.access),
            Some(&json!({"name": "Editor one"})),
            &[("if-match", &etag)],
        )
        .await
        .expect(200);
    assert_ne!(first.header("etag"), Some(etag.as_str()));
    // Editor two still holds the old ETag: refused, nothing overwritten.
    app.send(
        Method::PATCH,
        &path,
        Some(&editor.access),
        Some(&json!({"name": "Editor two"})),
        &[("if-match", &etag)],
    )
    .await
    .expect_problem(412);
    app.send(
        Method::DELETE,
        &path,
        Some(&editor.access),
        None,
        &[("if-match", &etag)],
    )
    .await
    .expect_problem(412);
    let current = app.get(&path, &editor.access).await.expect(200);
    assert_eq!(current.body["name"], "Editor one");

    let fresh = current.header("etag").unwrap().to_owned();
    app.send(
        Method::DELETE,
        &path,
        Some(&editor.access),
        None,
        &[("if-match", &fresh)],
    )
    .await
    .expect(204);
    app.get(&path, &editor.access).await.expect_problem(404);
}

#[tokio::test]
async fn lists_page_with_next_cursor_until_the_end() {
    let app = TestApp::spawn().await;
    let editor = app.login(ALPHA_EDITOR, None).await;
    for i in 0..4 {
        app.post(
            "/api/v1/sites",
            &editor.access,
            json!({"name": format!("Site {i}")}),
        )
        .await
        .expect(201);
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/sites?limit=2".to_owned();
    loop {
        let page = app.get(&path, &editor.access).await.expect(200);
        let items = page.body["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|s| s["name"].as_str().unwrap().to_owned()));
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/sites?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(
        seen,
        [
            "Alpha Clinic Landing",
            "Site 0",
            "Site 1",
            "Site 2",
            "Site 3"
        ]
    );
}

#[tokio::test]
async fn every_write_leaves_an_audit_record_with_before_and_after() {
    let app = TestApp::spawn().await;
    let editor = app.login(ALPHA_EDITOR, None).await;
    let owner = app.login(PLATFORM_ADMIN, Some("alpha")).await;
    let site = app
        .post("/api/v1/sites", &editor.access, json!({"name": "Audited"}))
        .await
        .expect(201);
    let path = site.header("location").unwrap().to_owned();
    let request_id = app
        .send(
            Method::PATCH,
            &path,
            Some(&editor.access),
            Some(&json!({"name": "Audited 2"})),
            &[("x-request-id", "trace-abc-123")],
        )
        .await
        .expect(200)
        .header("x-request-id")
        .map(str::to_owned);
    assert_eq!(request_id.as_deref(), Some("trace-abc-123"));
    app.post(
        &format!("{path}/domains"),
        &editor.access,
        json!({"host": "Audited.Example.com:443"}),
    )
    .await
    .expect(201);
    app.delete(&path, &editor.access).await.expect(204);

    let log = app
        .get("/api/v1/audit-log", &owner.access)
        .await
        .expect(200);
    let actions: Vec<&str> = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .take(4)
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["site.delete", "domain.create", "site.update", "site.create"]
    );
    let update = &log.body["items"][2];
    assert_eq!(update["before"]["name"], "Audited");
    assert_eq!(update["after"]["name"], "Audited 2");
    assert_eq!(update["request_id"], "trace-abc-123");
    assert_eq!(log.body["items"][1]["after"]["host"], "audited.example.com");
    assert!(update["actor_user_id"].is_string());
}

#[tokio::test]
async fn roles_gate_what_members_may_do() {
    let app = TestApp::spawn().await;
    let owner = app.login(PLATFORM_ADMIN, Some("alpha")).await;
    let editor = app.login(ALPHA_EDITOR, None).await;

    // Owners create accounts; editors may not.
    app.post("/api/v1/users", &editor.access, json!({"email": "x@alpha.example", "name": "X", "password": "long-enough-pass", "role": "viewer"}))
        .await
        .expect_problem(403);
    let viewer = app
        .post("/api/v1/users", &owner.access, json!({"email": "viewer@alpha.example", "name": "Vera", "password": "long-enough-pass", "role": "viewer"}))
        .await
        .expect(201);
    assert_eq!(viewer.body["role"], "viewer");
    let viewer_session = app
        .send(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(&json!({"email": "viewer@alpha.example", "password": "long-enough-pass"})),
            &[],
        )
        .await
        .expect(200);
    let viewer_token = viewer_session.body["access_token"].as_str().unwrap();
    app.get("/api/v1/sites", viewer_token).await.expect(200);
    app.post("/api/v1/sites", viewer_token, json!({"name": "Nope"}))
        .await
        .expect_problem(403);

    // The same email again conflicts.
    app.post("/api/v1/users", &owner.access, json!({"email": "VIEWER@alpha.example", "name": "V2", "password": "long-enough-pass", "role": "viewer"}))
        .await
        .expect_problem(409);

    // Tenants are for platform admins only.
    app.get("/api/v1/tenants", &editor.access)
        .await
        .expect_problem(403);
    let tenants = app.get("/api/v1/tenants", &owner.access).await.expect(200);
    assert_eq!(tenants.body["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn memberships_keep_an_owner_and_only_owners_grant_ownership() {
    let app = TestApp::spawn().await;
    let owner = app.login(PLATFORM_ADMIN, Some("alpha")).await;
    let members = app
        .get("/api/v1/memberships", &owner.access)
        .await
        .expect(200);
    let owner_membership = members.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "owner")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/memberships/{owner_membership}");
    let demote = app
        .patch(&path, &owner.access, json!({"role": "admin"}))
        .await
        .expect_problem(409);
    assert!(demote.body["detail"].as_str().unwrap().contains("owner"));
    app.delete(&path, &owner.access).await.expect_problem(409);

    // An admin may not create owners.
    app.post("/api/v1/users", &owner.access, json!({"email": "adm@alpha.example", "name": "Adm", "password": "long-enough-pass", "role": "admin"}))
        .await
        .expect(201);
    let admin = app
        .send(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(&json!({"email": "adm@alpha.example", "password": "long-enough-pass"})),
            &[],
        )
        .await
        .expect(200);
    let admin_token = admin.body["access_token"].as_str().unwrap();
    app.post(
        "/api/v1/memberships",
        admin_token,
        json!({"email": BETA_EDITOR, "role": "owner"}),
    )
    .await
    .expect_problem(403);
    // But may add an existing account from another tenant as an editor.
    let added = app
        .post(
            "/api/v1/memberships",
            admin_token,
            json!({"email": BETA_EDITOR, "role": "editor"}),
        )
        .await
        .expect(201);
    app.post(
        "/api/v1/memberships",
        admin_token,
        json!({"email": BETA_EDITOR, "role": "editor"}),
    )
    .await
    .expect_problem(409);
    app.post(
        "/api/v1/memberships",
        admin_token,
        json!({"email": "nobody@x.example", "role": "editor"}),
    )
    .await
    .expect_problem(422);

    // Removing the membership ends that user's refreshes in this tenant.
    let beta_in_alpha = app.login(BETA_EDITOR, Some("alpha")).await;
    app.delete(
        &format!("/api/v1/memberships/{}", added.body["id"].as_str().unwrap()),
        admin_token,
    )
    .await
    .expect(204);
    app.send(
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(&json!({"refresh_token": beta_in_alpha.refresh})),
        &[],
    )
    .await
    .expect_problem(401);
}

#[tokio::test]
async fn platform_admins_manage_tenants_with_etags() {
    let app = TestApp::spawn().await;
    let admin = app.login(PLATFORM_ADMIN, None).await;
    let created = app
        .post(
            "/api/v1/tenants",
            &admin.access,
            json!({"slug": "gamma", "name": "Gamma"}),
        )
        .await
        .expect(201);
    app.post(
        "/api/v1/tenants",
        &admin.access,
        json!({"slug": "gamma", "name": "Gamma again"}),
    )
    .await
    .expect_problem(409);
    app.post(
        "/api/v1/tenants",
        &admin.access,
        json!({"slug": "Bad Slug", "name": ""}),
    )
    .await
    .expect_problem(422);
    let path = created.header("location").unwrap().to_owned();
    let etag = created.header("etag").unwrap().to_owned();
    let suspended = app
        .send(
            Method::PATCH,
            &path,
            Some(&admin.access),
            Some(&json!({"status": "suspended"})),
            &[("if-match", &etag)],
        )
        .await
        .expect(200);
    assert_eq!(suspended.body["status"], "suspended");
    app.send(
        Method::DELETE,
        &path,
        Some(&admin.access),
        None,
        &[("if-match", &etag)],
    )
    .await
    .expect_problem(412);
    app.delete(&path, &admin.access).await.expect(204);
    app.get(&path, &admin.access).await.expect_problem(404);

    // A tenant with content goes with its sites, domains and memberships,
    // while its audit trail stays (for the platform's records).
    let tenants = app.get("/api/v1/tenants", &admin.access).await.expect(200);
    let beta = tenants.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["slug"] == "beta")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (sites, domains) = (app.count_rows("sites"), app.count_rows("domains"));
    app.delete(&format!("/api/v1/tenants/{beta}"), &admin.access)
        .await
        .expect(204);
    assert_eq!(app.count_rows("sites"), sites - 1);
    assert_eq!(app.count_rows("domains"), domains - 1);
    app.login_reply(BETA_EDITOR, None).await.expect(200);
    app.login_reply(BETA_EDITOR, Some("beta"))
        .await
        .expect_problem(403);
    assert_eq!(
        app.count_rows(&format!(
            "audit_log WHERE tenant_id = '{beta}' AND action = 'tenant.delete'"
        )),
        1
    );
}
