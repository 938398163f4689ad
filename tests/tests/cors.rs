//! CORS as the api answers it (the browser side is tests/browser/cors.test.mjs):
//! admin origins from configuration, a tenant's own origins from its settings,
//! public endpoints for any origin, and nothing for an origin not allowed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use cms_tests::*;
use reqwest::Method;
use serde_json::json;

const ADMIN_ORIGIN: &str = "https://admin.example.com";
const TENANT_ORIGIN: &str = "https://app.alpha.example";

async fn preflight(app: &TestApp, path: &str, origin: &str, method: &str) -> reqwest::Response {
    app.client
        .request(Method::OPTIONS, app.url(path))
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header(
            "access-control-request-headers",
            "authorization, content-type, if-match, idempotency-key",
        )
        .send()
        .await
        .unwrap()
}

fn allow_origin(response: &reqwest::Response) -> Option<&str> {
    response
        .headers()
        .get("access-control-allow-origin")
        .map(|value| value.to_str().unwrap())
}

#[tokio::test]
async fn admin_and_tenant_origins_are_allowed_on_management_endpoints_and_others_are_not() {
    let app = TestApp::spawn_with(HashMap::from([(
        "CMS_ADMIN_ORIGINS",
        format!("{ADMIN_ORIGIN}, HTTP://LOCALHOST:5173"),
    )]))
    .await;

    let allowed = preflight(&app, "/api/v1/sites", ADMIN_ORIGIN, "PATCH").await;
    assert!(allowed.status().is_success(), "{}", allowed.status());
    assert_eq!(allow_origin(&allowed), Some(ADMIN_ORIGIN));
    let headers = allowed.headers();
    let allowed_headers = headers["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    for name in [
        "authorization",
        "content-type",
        "if-match",
        "idempotency-key",
    ] {
        assert!(allowed_headers.contains(name), "{allowed_headers}");
    }
    assert_eq!(headers["access-control-max-age"], "7200");
    assert!(headers["vary"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase()
        .contains("origin"));
    // Configured origins are compared in the form browsers send.
    let lowered = preflight(&app, "/api/v1/auth/login", "http://localhost:5173", "POST").await;
    assert_eq!(allow_origin(&lowered), Some("http://localhost:5173"));

    let refused = preflight(&app, "/api/v1/sites", TENANT_ORIGIN, "GET").await;
    assert!(refused.status().as_u16() < 500);
    assert_eq!(allow_origin(&refused), None);
    // The actual request still answers (a server may call it), without CORS headers.
    let (editor, _) = demo_editors(&app).await;
    let direct = app
        .send(
            Method::GET,
            "/api/v1/sites",
            Some(&editor.access),
            None,
            &[("origin", TENANT_ORIGIN)],
        )
        .await
        .expect(200);
    assert_eq!(direct.header("access-control-allow-origin"), None);

    // Public endpoints answer any origin, without credentials, exposing their headers.
    let site = app.first_site(&editor.access).await;
    let public = app
        .public(
            &format!("/api/v1/delivery/sites/{site}/pages?path=/"),
            &[("origin", "https://anyone.example")],
        )
        .await
        .expect(200);
    assert_eq!(
        public.header("access-control-allow-origin"),
        Some("https://anyone.example")
    );
    assert_eq!(public.header("access-control-allow-credentials"), None);
    let exposed = public
        .header("access-control-expose-headers")
        .unwrap()
        .to_ascii_lowercase();
    for name in ["etag", "cache-control", "retry-after", "x-request-id"] {
        assert!(exposed.contains(name), "{exposed}");
    }

    // The tenant's owner allows its own origin; editors may not.
    let owner = app.login("admin@example.com", Some("alpha")).await;
    app.patch(
        "/api/v1/tenant/settings",
        &editor.access,
        json!({"allowed_origins": [TENANT_ORIGIN]}),
    )
    .await
    .expect_problem(403);
    let bad = app
        .patch(
            "/api/v1/tenant/settings",
            &owner.access,
            json!({"allowed_origins": ["https://ok.example", "app.example.com", "https://x.example/path"]}),
        )
        .await
        .expect_problem(422);
    assert_eq!(
        bad.error_fields(),
        ["allowed_origins.1", "allowed_origins.2"],
        "{}",
        bad.text
    );
    let current = app
        .get("/api/v1/tenant/settings", &owner.access)
        .await
        .expect(200);
    let etag = current.header("etag").unwrap().to_owned();
    let audit_before = app.count_rows("audit_log");
    let changed = app
        .send(
            Method::PATCH,
            "/api/v1/tenant/settings",
            Some(&owner.access),
            Some(&json!({"allowed_origins": [TENANT_ORIGIN, "HTTPS://APP.alpha.example"]})),
            &[("if-match", &etag)],
        )
        .await
        .expect(200);
    assert_eq!(changed.body["allowed_origins"], json!([TENANT_ORIGIN]));
    assert_eq!(app.count_rows("audit_log"), audit_before + 1);
    app.send(
        Method::PATCH,
        "/api/v1/tenant/settings",
        Some(&owner.access),
        Some(&json!({"allowed_origins": []})),
        &[("if-match", &etag)],
    )
    .await
    .expect_problem(412);

    let now_allowed = preflight(&app, "/api/v1/sites", TENANT_ORIGIN, "GET").await;
    assert_eq!(allow_origin(&now_allowed), Some(TENANT_ORIGIN));
    // Another node loads the tenants' origins when it starts (and again every
    // CMS_CORS_REFRESH_SECS).
    let (peer, _server) = app.spawn_peer().await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let from_peer = app
            .client
            .request(Method::OPTIONS, format!("{peer}/api/v1/sites"))
            .header("origin", TENANT_ORIGIN)
            .header("access-control-request-method", "GET")
            .send()
            .await
            .unwrap();
        if allow_origin(&from_peer) == Some(TENANT_ORIGIN) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the peer never allowed the tenant's origin"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
