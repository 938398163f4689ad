//! Content: modules, pages, blocks, publishing, revisions, delivery with
//! ETag/304 and cache invalidation, preview, isolation, cloning.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::Duration;

use cms_tests::*;
use reqwest::Method;
use serde_json::{json, Value};

fn delivery_path(site: &str, path: &str) -> String {
    format!("/api/v1/delivery/sites/{site}/pages?path={path}&locale=en")
}

#[tokio::test]
async fn publish_serves_the_revision_with_etag_304_and_new_etag_after_republish() {
    let app = TestApp::spawn().await;
    let editor = app.login(ALPHA_EDITOR, None).await;
    let site = app.first_site(&editor.access).await;
    let page = app
        .draft_page(&editor.access, &site, "/Offers/", "Offers")
        .await;
    let id = page["id"].as_str().unwrap();

    // A draft is not delivered.
    app.public(&delivery_path(&site, "/offers"), &[])
        .await
        .expect_problem(404);

    let published = app.publish(&editor.access, id).await.expect(200);
    let revision = published.body["revision"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let first = app
        .public(&delivery_path(&site, "/offers"), &[])
        .await
        .expect(200);
    assert_eq!(first.body["revision_id"], revision.as_str());
    assert_eq!(first.body["path"], "/offers");
    assert_eq!(first.body["blocks"][0]["module"], "hero");
    assert_eq!(first.body["blocks"][0]["props"]["title"], "Offers");
    assert_eq!(first.body["blocks"][1]["module"], "rich_text");
    let cache_control = first.header("cache-control").unwrap();
    assert!(
        cache_control.contains("public") && cache_control.contains("stale-while-revalidate"),
        "{cache_control}"
    );
    let etag = first.header("etag").unwrap().to_owned();

    let again = app
        .public(
            &delivery_path(&site, "/offers"),
            &[("if-none-match", &etag)],
        )
        .await
        .expect(304);
    assert!(again.text.is_empty());

    // Edit the draft: delivery keeps the published revision until re-publish.
    let blocks = app
        .get(&format!("/api/v1/pages/{id}/blocks"), &editor.access)
        .await
        .expect(200);
    let hero = blocks.body["items"][0]["id"].as_str().unwrap();
    app.patch(
        &format!("/api/v1/pages/{id}/blocks/{hero}"),
        &editor.access,
        json!({"props": {"title": "Offers, updated"}}),
    )
    .await
    .expect(200);
    app.public(
        &delivery_path(&site, "/offers"),
        &[("if-none-match", &etag)],
    )
    .await
    .expect(304);

    app.publish(&editor.access, id).await.expect(200);
    let after = app
        .public(
            &delivery_path(&site, "/offers"),
            &[("if-none-match", &etag)],
        )
        .await
        .expect(200);
    assert_eq!(after.body["blocks"][0]["props"]["title"], "Offers, updated");
    assert_ne!(after.header("etag"), Some(etag.as_str()));

    // Archived pages leave delivery.
    let current = app
        .get(&format!("/api/v1/pages/{id}"), &editor.access)
        .await
        .expect(200);
    let page_etag = current.header("etag").unwrap().to_owned();
    app.send(
        Method::PATCH,
        &format!("/api/v1/pages/{id}"),
        Some(&editor.access),
        Some(&json!({"status": "archived"})),
        &[("if-match", &page_etag)],
    )
    .await
    .expect(200);
    app.public(&delivery_path(&site, "/offers"), &[])
        .await
        .expect_problem(404);

    let revisions = app
        .get(&format!("/api/v1/pages/{id}/revisions"), &editor.access)
        .await
        .expect(200);
    let numbers: Vec<i64> = revisions.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["number"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [2, 1]);
}

#[tokio::test]
async fn publish_restore_and_scheduled_publish_announce_invalidations_and_refresh_the_cache() {
    let app = TestApp::spawn_with(HashMap::from([("CMS_JOB_POLL_MS", "200".to_owned())])).await;
    let editor = app.login(ALPHA_EDITOR, None).await;
    let site = app.first_site(&editor.access).await;
    let mut listener = InvalidationListener::subscribe().await;

    let page = app
        .draft_page(&editor.access, &site, "/promo", "Promo v1")
        .await;
    let id = page["id"].as_str().unwrap();
    let first_revision = app.publish(&editor.access, id).await.expect(200).body["revision"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let message = listener
        .next_for_site(&site, Duration::from_secs(5))
        .await
        .expect("publish announced");
    assert_eq!(message["paths"], json!(["/promo"]));
    assert!(
        message["tenant"].is_string() && message["generation"].as_u64().unwrap() >= 1,
        "{message}"
    );

    // Warm the cache, then change and publish: the next read is fresh.
    app.public(&delivery_path(&site, "/promo"), &[])
        .await
        .expect(200);
    let cached = app
        .public(&delivery_path(&site, "/promo"), &[])
        .await
        .expect(200);
    assert_eq!(cached.header("x-cache"), Some("hit"));
    let blocks = app
        .get(&format!("/api/v1/pages/{id}/blocks"), &editor.access)
        .await
        .expect(200);
    let hero = blocks.body["items"][0]["id"].as_str().unwrap();
    app.patch(
        &format!("/api/v1/pages/{id}/blocks/{hero}"),
        &editor.access,
        json!({"props": {"title": "Promo v2"}}),
    )
    .await
    .expect(200);
    app.publish(&editor.access, id).await.expect(200);
    listener
        .next_for_site(&site, Duration::from_secs(5))
        .await
        .expect("second publish announced");
    let fresh = app
        .public(&delivery_path(&site, "/promo"), &[])
        .await
        .expect(200);
    assert_eq!(fresh.body["blocks"][0]["props"]["title"], "Promo v2");
    assert_eq!(fresh.header("x-cache"), Some("miss"));

    // Restore the first revision: announced, and served again.
    app.post(
        &format!("/api/v1/pages/{id}/revisions/{first_revision}/restore"),
        &editor.access,
        json!({}),
    )
    .await
    .expect(200);
    listener
        .next_for_site(&site, Duration::from_secs(5))
        .await
        .expect("restore announced");
    let restored = app
        .public(&delivery_path(&site, "/promo"), &[])
        .await
        .expect(200);
    assert_eq!(restored.body["blocks"][0]["props"]["title"], "Promo v1");

    // Scheduled publish: executed by the in-process worker, announced, served.
    let later = app
        .draft_page(&editor.access, &site, "/later", "Later")
        .await;
    let later_id = later["id"].as_str().unwrap();
    // Far enough ahead that the request itself cannot overtake it; the
    // announcement below is what the test waits for.
    let at = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    let scheduled = app
        .post(
            &format!("/api/v1/pages/{later_id}/publish"),
            &editor.access,
            json!({"publish_at": at}),
        )
        .await
        .expect(200);
    assert_eq!(scheduled.body["page"]["status"], "scheduled");
    app.public(&delivery_path(&site, "/later"), &[])
        .await
        .expect_problem(404);
    loop {
        let message = listener
            .next_for_site(&site, Duration::from_secs(10))
            .await
            .expect("scheduled publish announced");
        if message["paths"] == json!(["/later"]) {
            break;
        }
    }
    let live = app
        .public(&delivery_path(&site, "/later"), &[])
        .await
        .expect(200);
    assert_eq!(live.body["title"], "Later");
    let page_now = app
        .get(&format!("/api/v1/pages/{later_id}"), &editor.access)
        .await
        .expect(200);
    assert_eq!(page_now.body["status"], "published");
}

#[tokio::test]
async fn concurrent_updates_with_the_same_if_match_let_exactly_one_win() {
    let app = TestApp::spawn().await;
    let editor = app.login(ALPHA_EDITOR, None).await;
    let site = app.first_site(&editor.access).await;
    let page = app.draft_page(&editor.access, &site, "/race", "Race").await;
    let path = format!("/api/v1/pages/{}", page["id"].as_str().unwrap());
    let etag = app
        .get(&path, &editor.access)
        .await
        .expect(200)
        .header("etag")
        .unwrap()
        .to_owned();

    let (body_one, body_two) = (json!({"title": "One"}), json!({"title": "Two"}));
    let headers = [("if-match", etag.as_str())];
    let one = app.send(
        Method::PATCH,
        &path,
        Some(&editor.access),
        Some(&body_one),
        &headers,
    );
    let two = app.send(
        Method::PATCH,
        &path,
        Some(&editor.access),
        Some(&body_two),
        &headers,
    );
    let (one, two) = tokio::join!(one, two);
    let mut statuses = [one.status.as_u16(), two.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 412], "{} / {}", one.text, two.text);
    let winner = if one.status == 200 { "One" } else { "Two" };
    assert_eq!(app.get(&path, &editor.access).await.body["title"], winner);
}

#[tokio::test]
async fn props_are_validated_by_module_schema_and_rich_text_is_sanitised() {
    let app = TestApp::spawn().await;
    let editor = app.login(ALPHA_EDITOR, None).await;
    let site = app.first_site(&editor.access).await;
    let page = app
        .post(
            &format!("/api/v1/sites/{site}/pages"),
            &editor.access,
            json!({"path": "/v", "title": "V"}),
        )
        .await
        .expect(201);
    let blocks = format!("/api/v1/pages/{}/blocks", page.body["id"].as_str().unwrap());

    let library = app.get("/api/v1/modules", &editor.access).await.expect(200);
    assert_eq!(
        library.body["items"].as_array().unwrap().len(),
        cms_renderer::render::BUILTIN_MODULES.len(),
        "the library lists the 21 built-in modules (the tenant has no custom ones yet)"
    );
    assert_eq!(cms_renderer::render::BUILTIN_MODULES.len(), 21);

    let wrong = app
        .post(
            &blocks,
            &editor.access,
            json!({"module": "features", "props": {"title": 5, "items": [{"text": "no title"}]}}),
        )
        .await
        .expect_problem(422);
    let pointers: Vec<&str> = wrong.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap())
        .collect();
    assert!(pointers.contains(&"/props/title"), "{pointers:?}");
    assert!(pointers.contains(&"/props/items/0"), "{pointers:?}");
    app.post(
        &blocks,
        &editor.access,
        json!({"module": "no_such_module", "props": {}}),
    )
    .await
    .expect_problem(422);

    let rich = app
        .post(&blocks, &editor.access, json!({"module": "rich_text", "props": {"html": "<p onclick=\"steal()\">Hi<script>alert(1)</script><a href=\"javascript:alert(2)\">x</a></p>"}}))
        .await
        .expect(201);
    let html = rich.body["props"]["html"].as_str().unwrap();
    assert!(
        !html.contains("<script") && !html.contains("onclick") && !html.contains("javascript:"),
        "{html}"
    );
    assert!(html.contains("<p>Hi"), "{html}");

    // Custom modules: broken templates and schemas are refused with tera's message.
    let broken = app
        .post("/api/v1/modules", &editor.access, json!({"key": "promo_banner", "name": "Promo", "category": "custom", "props_schema": {"type": "object"}, "template": "<div>{{ props.title </div>"}))
        .await
        .expect_problem(422);
    assert_eq!(broken.error_fields(), ["template"]);
    app.post("/api/v1/modules", &editor.access, json!({"key": "hero", "name": "Mine", "category": "x", "props_schema": {"type": "object"}, "template": "x"}))
        .await
        .expect_problem(409);
    let custom = app
        .post("/api/v1/modules", &editor.access, json!({"key": "promo_banner", "name": "Promo", "category": "custom",
            "props_schema": {"type": "object", "required": ["title"], "properties": {"title": {"type": "string"}}},
            "template": "<div class=\"promo\">{{ props.title }}</div>"}))
        .await
        .expect(201);
    assert_eq!(custom.body["builtin"], false);
    app.post(
        &blocks,
        &editor.access,
        json!({"module": "promo_banner", "props": {}}),
    )
    .await
    .expect_problem(422);
    app.post(
        &blocks,
        &editor.access,
        json!({"module": "promo_banner", "props": {"title": "Sale"}}),
    )
    .await
    .expect(201);
    // In use: cannot be deleted.
    app.delete("/api/v1/modules/promo_banner", &editor.access)
        .await
        .expect_problem(409);
}

#[tokio::test]
async fn another_tenant_cannot_read_publish_clone_or_preview_pages_or_modules() {
    let app = TestApp::spawn().await;
    let (alpha, beta) = demo_editors(&app).await;
    let site = app.first_site(&alpha.access).await;
    let page = app
        .draft_page(&alpha.access, &site, "/secret", "Secret")
        .await;
    let id = page["id"].as_str().unwrap();
    app.post("/api/v1/modules", &alpha.access, json!({"key": "alpha_only", "name": "A", "category": "c", "props_schema": {"type": "object"}, "template": "<p>a</p>"}))
        .await
        .expect(201);

    app.get(&format!("/api/v1/pages/{id}"), &beta.access)
        .await
        .expect_problem(404);
    app.get(&format!("/api/v1/pages/{id}/blocks"), &beta.access)
        .await
        .expect_problem(404);
    app.get(&format!("/api/v1/sites/{site}/pages"), &beta.access)
        .await
        .expect_problem(404);
    app.publish(&beta.access, id).await.expect_problem(404);
    app.post(
        &format!("/api/v1/pages/{id}/preview-token"),
        &beta.access,
        json!({}),
    )
    .await
    .expect_problem(404);
    app.post(
        &format!("/api/v1/sites/{site}/clone"),
        &beta.access,
        json!({"name": "Stolen", "domain": "stolen.example"}),
    )
    .await
    .expect_problem(404);
    app.get(&format!("/api/v1/sites/{site}/export"), &beta.access)
        .await
        .expect_problem(404);
    app.get("/api/v1/modules/alpha_only", &beta.access)
        .await
        .expect_problem(404);
    let beta_library = app.get("/api/v1/modules", &beta.access).await.expect(200);
    assert!(!beta_library.text.contains("alpha_only"));
    // Beta may not clone into alpha either (not an administrator there).
    let beta_site = app.first_site(&beta.access).await;
    app.post(
        &format!("/api/v1/sites/{beta_site}/clone"),
        &beta.access,
        json!({"name": "x", "domain": "x.example", "tenant": "alpha"}),
    )
    .await
    .expect_problem(403);

    // Alpha's own preview works; the draft is shown, never cached.
    let token = app.preview_token(&alpha.access, id).await;
    let preview = app
        .public(&format!("/api/v1/delivery/preview?token={token}"), &[])
        .await
        .expect(200);
    assert_eq!(preview.body["title"], "Secret");
    assert_eq!(preview.header("cache-control"), Some("no-store, private"));
    // A preview token is not an access token, nor the other way round.
    app.get("/api/v1/auth/me", &token).await.expect_problem(401);
    app.public(
        &format!("/api/v1/delivery/preview?token={}", alpha.access),
        &[],
    )
    .await
    .expect_problem(401);
}

/// The delivery JSON with ids and times taken out, for comparing copies.
fn comparable(mut page: Value) -> Value {
    for key in ["id", "site_id", "revision_id", "published_at"] {
        page.as_object_mut().unwrap().remove(key);
    }
    for block in page["blocks"].as_array_mut().unwrap() {
        block.as_object_mut().unwrap().remove("id");
    }
    page
}

#[tokio::test]
async fn a_thirty_page_site_clones_with_identical_delivery() {
    let app = TestApp::spawn().await;
    let owner = app.login(PLATFORM_ADMIN, Some("alpha")).await;
    let document =
        serde_json::to_value(cms_api::content::demo::landing_document("Thirty", 30)).unwrap();
    let imported = app
        .post(
            "/api/v1/sites/import",
            &owner.access,
            json!({"name": "Thirty", "domain": "thirty.example", "document": document}),
        )
        .await
        .expect(201);
    let source = imported.body["id"].as_str().unwrap().to_owned();

    let started = std::time::Instant::now();
    let clone = app
        .post(
            &format!("/api/v1/sites/{source}/clone"),
            &owner.access,
            json!({"name": "Thirty copy", "domain": "thirty-copy.example", "tenant": "beta"}),
        )
        .await
        .expect(201);
    eprintln!("clone of a 30-page site took {:?}", started.elapsed());
    let copy = clone.body["id"].as_str().unwrap().to_owned();
    assert_eq!(clone.body["name"], "Thirty copy");

    let manifest = app
        .public("/api/v1/delivery/sites/by-host/thirty-copy.example", &[])
        .await
        .expect(200);
    assert_eq!(manifest.body["site_id"], copy.as_str());
    let navigation = manifest.body["navigation"].as_array().unwrap();
    assert_eq!(navigation.len(), 30);
    for item in navigation {
        let path = item["path"].as_str().unwrap();
        let original = app
            .public(&delivery_path(&source, path), &[])
            .await
            .expect(200);
        let copied = app
            .public(&delivery_path(&copy, path), &[])
            .await
            .expect(200);
        assert_eq!(comparable(copied.body), comparable(original.body), "{path}");
    }
    // The copy belongs to beta now.
    let beta = app.login(BETA_EDITOR, None).await;
    app.get(&format!("/api/v1/sites/{copy}"), &beta.access)
        .await
        .expect(200);
    // Hosts stay unique across tenants.
    app.post(
        &format!("/api/v1/sites/{source}/clone"),
        &owner.access,
        json!({"name": "Dup", "domain": "thirty-copy.example"}),
    )
    .await
    .expect_problem(409);
}

#[tokio::test]
async fn sitemap_and_manifest_follow_publishing() {
    let app = TestApp::spawn().await;
    let editor = app.login(ALPHA_EDITOR, None).await;
    let site = app.first_site(&editor.access).await;
    let sitemap_path = format!("/api/v1/delivery/sites/{site}/sitemap");
    let before = app.public(&sitemap_path, &[]).await.expect(200);
    let count = before.body["items"].as_array().unwrap().len();
    let page = app.draft_page(&editor.access, &site, "/new", "New").await;
    app.publish(&editor.access, page["id"].as_str().unwrap())
        .await
        .expect(200);
    let after = app.public(&sitemap_path, &[]).await.expect(200);
    assert_eq!(after.body["items"].as_array().unwrap().len(), count + 1);
    let manifest = app
        .public("/api/v1/delivery/sites/by-host/ALPHA.localhost:8081", &[])
        .await
        .expect(200);
    assert_eq!(manifest.body["site_id"], site.as_str());
    assert!(manifest.text.contains("\"/new\""));
    app.public("/api/v1/delivery/sites/by-host/unknown.example", &[])
        .await
        .expect_problem(404);
    app.public(
        &format!("/api/v1/delivery/sites/{}/sitemap", uuid::Uuid::now_v7()),
        &[],
    )
    .await
    .expect_problem(404);
}

/// Two api nodes share Redis; each keeps hits in process memory. A publish on
/// one node must reach the other's near cache through `cms:invalidate`.
#[tokio::test]
async fn a_publish_on_one_node_evicts_the_near_cache_of_another() {
    let app = TestApp::spawn().await;
    let (peer, _peer_server) = app.spawn_peer().await;
    let editor = app.login(ALPHA_EDITOR, None).await;
    let site = app.first_site(&editor.access).await;
    let page = app.draft_page(&editor.access, &site, "/nodes", "One").await;
    let id = page["id"].as_str().unwrap();
    app.publish(&editor.access, id).await.expect(200);

    let url = format!("{peer}{}", delivery_path(&site, "/nodes"));
    let read = |url: String| {
        let client = app.client.clone();
        async move {
            let reply = client.get(url).send().await.unwrap();
            let tier = reply
                .headers()
                .get("x-cache-tier")
                .map(|tier| tier.to_str().unwrap().to_owned());
            let body: Value = reply.json().await.unwrap();
            (tier, body)
        }
    };
    // The peer subscribes shortly after start; from then on its hits come
    // from process memory, not Redis.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    loop {
        let (tier, body) = read(url.clone()).await;
        assert_eq!(body["title"], "One");
        if tier.as_deref() == Some("memory") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no memory hit");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let blocks = app
        .get(&format!("/api/v1/pages/{id}/blocks"), &editor.access)
        .await
        .expect(200);
    let hero = blocks.body["items"][0]["id"].as_str().unwrap();
    app.patch(
        &format!("/api/v1/pages/{id}/blocks/{hero}"),
        &editor.access,
        json!({"props": {"title": "Two"}}),
    )
    .await
    .expect(200);
    app.publish(&editor.access, id).await.expect(200);

    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    loop {
        let (_, body) = read(url.clone()).await;
        if body["blocks"][0]["props"]["title"] == "Two" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the peer still serves the old revision: {body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_hidden_block_stays_in_the_draft_but_not_in_previews_or_what_is_published() {
    let app = TestApp::spawn().await;
    let editor = app.login(ALPHA_EDITOR, None).await;
    let site = app.first_site(&editor.access).await;
    let page = app
        .draft_page(&editor.access, &site, "/hidden-block", "Hidden block")
        .await;
    let id = page["id"].as_str().unwrap();
    let blocks = app
        .get(&format!("/api/v1/pages/{id}/blocks"), &editor.access)
        .await
        .expect(200);
    let hero = blocks.body["items"][0].clone();
    assert_eq!(hero["hidden"], false);
    let hero_path = format!("/api/v1/pages/{id}/blocks/{}", hero["id"].as_str().unwrap());

    // Neither props nor hidden: nothing to change.
    app.patch(&hero_path, &editor.access, json!({}))
        .await
        .expect_problem(422);
    let hidden = app
        .send(
            Method::PATCH,
            &hero_path,
            Some(&editor.access),
            Some(&json!({"hidden": true})),
            &[("If-Match", "\"v1\"")],
        )
        .await
        .expect(200);
    assert_eq!(hidden.body["hidden"], true);
    assert_eq!(hidden.body["version"], 2);
    assert_eq!(hidden.body["props"], hero["props"], "props are kept");
    // A stale ETag does not toggle it back.
    app.send(
        Method::PATCH,
        &hero_path,
        Some(&editor.access),
        Some(&json!({"hidden": false})),
        &[("If-Match", "\"v1\"")],
    )
    .await
    .expect_problem(412);

    let modules = |body: &Value| -> Vec<String> {
        body["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["module"].as_str().unwrap().to_owned())
            .collect()
    };
    let token = app.preview_token(&editor.access, id).await;
    let preview = app
        .public(&format!("/api/v1/delivery/preview?token={token}"), &[])
        .await
        .expect(200);
    assert_eq!(modules(&preview.body), ["rich_text"]);
    app.publish(&editor.access, id).await.expect(200);
    let live = app
        .public(&delivery_path(&site, "/hidden-block"), &[])
        .await
        .expect(200);
    assert_eq!(modules(&live.body), ["rich_text"]);
    // Still in the draft, and shown again by the next publish.
    let draft = app
        .get(&format!("/api/v1/pages/{id}/blocks"), &editor.access)
        .await
        .expect(200);
    assert_eq!(draft.body["items"].as_array().unwrap().len(), 2);
    app.send(
        Method::PATCH,
        &hero_path,
        Some(&editor.access),
        Some(&json!({"hidden": false})),
        &[("If-Match", "\"v2\"")],
    )
    .await
    .expect(200);
    app.publish(&editor.access, id).await.expect(200);
    let shown = app
        .public(&delivery_path(&site, "/hidden-block"), &[])
        .await
        .expect(200);
    assert_eq!(modules(&shown.body), ["hero", "rich_text"]);
}
