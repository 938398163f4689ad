//! Operations: health, readiness, metrics, the served OpenAPI document (and its
//! committed copy), and the renderer service.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use cms_tests::*;
use reqwest::Method;

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let app = TestApp::spawn().await;
    let health = app
        .send(Method::GET, "/healthz", None, None, &[])
        .await
        .expect(200);
    assert_eq!(health.body["status"], "ok");
    assert!(health.header("x-request-id").is_some());
    let ready = app
        .send(Method::GET, "/readyz", None, None, &[])
        .await
        .expect(200);
    assert_eq!(
        (
            ready.body["database"].as_str(),
            ready.body["redis"].as_str()
        ),
        (Some("ok"), Some("ok"))
    );

    let editor = app.login(ALPHA_EDITOR, None).await;
    app.get("/api/v1/sites", &editor.access).await.expect(200);
    app.get("/api/v1/sites/not-a-uuid", &editor.access)
        .await
        .expect(404);
    let metrics = app
        .send(Method::GET, "/metrics", None, None, &[])
        .await
        .expect(200)
        .text;
    assert!(
        metrics.contains(
            r#"cms_http_requests_total{route="/api/v1/sites",method="GET",status="200"} 1"#
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            r#"cms_http_requests_total{route="/api/v1/sites/{id}",method="GET",status="404"} 1"#
        ),
        "{metrics}"
    );
    assert!(
        metrics
            .contains(r#"cms_http_request_duration_seconds_count{route="/api/v1/auth/login"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains("cms_db_pool_max_connections 4"),
        "{metrics}"
    );
}

#[tokio::test]
async fn the_served_spec_matches_the_committed_one_and_documents_every_route() {
    let app = TestApp::spawn().await;
    let served = app
        .send(Method::GET, "/api/v1/openapi.json", None, None, &[])
        .await
        .expect(200);
    let generated = serde_json::to_value(cms_api::openapi()).unwrap();
    assert_eq!(served.body, generated);

    let committed_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/openapi.json");
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(committed_path).unwrap()).unwrap();
    assert!(
        committed == generated,
        "openapi/openapi.json is stale: run `make openapi`"
    );

    let paths = generated["paths"].as_object().unwrap();
    for path in [
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/auth/me",
        "/api/v1/auth/switch-tenant",
        "/api/v1/auth/jwks.json",
        "/api/v1/tenants",
        "/api/v1/tenants/{id}",
        "/api/v1/sites",
        "/api/v1/sites/{id}",
        "/api/v1/sites/{id}/domains",
        "/api/v1/sites/{id}/domains/{domain_id}",
        "/api/v1/users",
        "/api/v1/users/{id}",
        "/api/v1/memberships",
        "/api/v1/memberships/{id}",
        "/api/v1/audit-log",
        "/healthz",
        "/readyz",
        "/metrics",
    ] {
        assert!(paths.contains_key(path), "{path} is missing from the spec");
    }
    let docs = app
        .send(Method::GET, "/api/docs/", None, None, &[])
        .await
        .expect(200);
    assert!(docs.text.contains("swagger"), "docs UI is served");
}

#[tokio::test]
async fn the_renderer_serves_health_not_found_pages_and_escapes_paths() {
    let app = TestApp::spawn().await;
    let renderer = TestRenderer::spawn(
        &app.address,
        Some(&redis_url()),
        &app.config.redis_prefix,
        HashMap::new(),
    )
    .await;
    let client = reqwest::Client::new();
    let health = client
        .get(format!("{}/healthz", renderer.address))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let (status, _, html) = renderer.get("Nobody.Localhost:8081", "/pricing").await;
    assert_eq!(status, 404);
    assert!(html.contains("nobody.localhost:8081/pricing"), "{html}");
    // Standalone pages get a CSP without a nonce: no inline styles or scripts.
    assert!(
        !html.contains("<style") && !html.contains("<script"),
        "{html}"
    );
    let (status, _, hostile) = renderer
        .get("alpha.localhost", "/%3Cscript%3Ealert(1)%3C/script%3E")
        .await;
    assert_eq!(status, 404);
    // The path is shown as it arrived, percent-encoded, never as markup.
    assert!(
        hostile.contains("<strong>/%3Cscript%3Ealert(1)%3C/script%3E</strong>"),
        "the path is shown: {hostile}"
    );
    assert!(
        !hostile.contains("<script>alert"),
        "output is escaped: {hostile}"
    );
    let (status, _, metrics) = renderer.get("alpha.localhost", "/metrics").await;
    assert_eq!(status, 200);
    assert!(
        metrics.contains("renderer_cache_requests_total{result=\"miss\"}"),
        "{metrics}"
    );

    // Without an api to ask, a page it never fetched is a clear 503 page.
    let orphan = TestRenderer::spawn("http://127.0.0.1:9", None, "orphan:", HashMap::new()).await;
    let (status, _, html) = orphan.get("alpha.localhost", "/").await;
    assert_eq!(status, 503);
    assert!(html.contains("Temporarily unavailable"));
}

/// `cms_db_statements_total` of one app.
async fn statements(app: &TestApp) -> u64 {
    let metrics = reqwest::get(app.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("cms_db_statements_total "))
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn each_app_counts_only_its_own_statements() {
    // No background work on the quiet app: no job worker, no origin reloads.
    let quiet = TestApp::spawn_with(HashMap::from([
        ("CMS_JOBS", "off".to_owned()),
        ("CMS_CORS_REFRESH_SECS", "3600".to_owned()),
    ]))
    .await;
    let busy = TestApp::spawn().await;
    let editor = busy.login("editor@alpha.example", None).await;
    // The quiet app's start-up reads settle first.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut before = statements(&quiet).await;
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let now = statements(&quiet).await;
        if now == before {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the quiet app keeps querying"
        );
        before = now;
    }
    let busy_before = statements(&busy).await;
    for _ in 0..10 {
        busy.get("/api/v1/sites", &editor.access).await.expect(200);
    }
    assert!(statements(&busy).await >= busy_before + 10);
    assert_eq!(
        statements(&quiet).await,
        before,
        "another app's statements were counted"
    );
}
