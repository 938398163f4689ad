//! `/admin`: the editors' app as the api serves a build of it (read once at
//! start from `CMS_ADMIN_DIR`): the app's page for every route it owns with
//! a strict CSP and `no-cache`, hashed assets immutable, nothing outside the
//! build, and a page saying how to build it when there is no build.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use cms_tests::TestApp;

const INDEX: &str = "<!doctype html><html><head><script type=\"module\" src=\"/admin/assets/index-abc123.js\"></script></head><body><div id=\"root\"></div></body></html>";
const SCRIPT: &str = "console.log('admin');";

fn build_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("cms-admin-build-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(dir.join("index.html"), INDEX).unwrap();
    std::fs::write(dir.join("assets/index-abc123.js"), SCRIPT).unwrap();
    // Not a type the app serves: never answered.
    std::fs::write(dir.join("assets/notes.sh"), "rm -rf /").unwrap();
    dir
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_admin_build_is_served_with_its_routes_assets_and_a_strict_csp() {
    let dir = build_dir();
    let app = TestApp::spawn_with(HashMap::from([
        ("CMS_ADMIN_DIR", dir.display().to_string()),
        ("CMS_ADMIN_PREVIEW_URL", "http://{host}:8081".to_owned()),
    ]))
    .await;
    let client = no_redirects();

    let bare = client.get(app.url("/admin")).send().await.unwrap();
    assert_eq!(bare.status(), 308);
    assert_eq!(bare.headers()["location"], "/admin/");

    // The app's own routes all answer its page, never cached as final.
    for path in [
        "/admin/",
        "/admin/sites/0190/pages",
        "/admin/media?kind=jpeg",
    ] {
        let page = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(page.status(), 200, "{path}");
        let headers = page.headers().clone();
        assert_eq!(headers["content-type"], "text/html; charset=utf-8");
        assert_eq!(headers["cache-control"], "no-cache");
        assert_eq!(headers["x-frame-options"], "DENY");
        let csp = headers["content-security-policy"].to_str().unwrap();
        for rule in [
            "default-src 'none'",
            "script-src 'self'",
            "connect-src 'self'",
            "frame-src http://*:8081;",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(rule), "{rule} missing from {csp}");
        }
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{csp}"
        );
        // The preview's address reaches the app in a meta tag (no inline script).
        assert_eq!(
            page.text().await.unwrap(),
            INDEX.replace(
                "</head>",
                "<meta name=\"cms-preview-url\" content=\"http://{host}:8081\"></head>"
            )
        );
    }

    let script = client
        .get(app.url("/admin/assets/index-abc123.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(script.status(), 200);
    let headers = script.headers().clone();
    assert_eq!(headers["content-type"], "text/javascript; charset=utf-8");
    assert_eq!(
        headers["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(script.text().await.unwrap(), SCRIPT);
    let again = client
        .get(app.url("/admin/assets/index-abc123.js"))
        .header("If-None-Match", headers["etag"].clone())
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    // An old build's asset, a file of a type the app never serves, and
    // anything outside the build: not found, and never the page as a script.
    for path in [
        "/admin/assets/index-old999.js",
        "/admin/assets/notes.sh",
        "/admin/assets/%2e%2e/%2e%2e/Cargo.toml",
    ] {
        let missing = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(missing.status(), 404, "{path}");
    }
    let outside = client
        .get(app.url("/admin/..%2f..%2fCargo.toml"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!outside.contains("[package]"), "{outside}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn without_a_build_the_admin_says_how_to_make_one() {
    let dir = std::env::temp_dir().join(format!("cms-admin-none-{}", uuid::Uuid::now_v7()));
    let app = TestApp::spawn_with(HashMap::from([(
        "CMS_ADMIN_DIR",
        dir.display().to_string(),
    )]))
    .await;
    let page = no_redirects().get(app.url("/admin/")).send().await.unwrap();
    assert_eq!(page.status(), 503);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let text = page.text().await.unwrap();
    assert!(
        text.contains("make admin") && text.contains("CMS_ADMIN_DIR"),
        "{text}"
    );
    // The API itself is unaffected.
    assert_eq!(
        no_redirects()
            .get(app.url("/api/v1/openapi.json"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn the_admin_may_frame_previews_and_no_other_page() {
    let app = TestApp::spawn().await;
    let renderer = cms_tests::TestRenderer::spawn(
        &app.address,
        Some(&cms_tests::redis_url()),
        &app.config.redis_prefix,
        HashMap::from([(
            "CMS_RENDERER_PREVIEW_ANCESTORS",
            "http://127.0.0.1:8080".to_owned(),
        )]),
    )
    .await;
    let editor = app.login(cms_tests::ALPHA_EDITOR, None).await.access;
    let (home, _) = app.home_experiment(&editor).await;
    let token = app.preview_token(&editor, &home).await;
    let get = |path: String| {
        let address = renderer.address.clone();
        async move {
            reqwest::Client::new()
                .get(format!("{address}{path}"))
                .header("host", "alpha.localhost")
                .send()
                .await
                .unwrap()
        }
    };
    let preview = get(format!("/?preview={token}")).await;
    assert_eq!(preview.status(), 200);
    let csp = preview.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(
        csp.contains("frame-ancestors http://127.0.0.1:8080"),
        "{csp}"
    );
    assert!(preview.headers().get("x-frame-options").is_none());

    let public = get("/".to_owned()).await;
    assert_eq!(public.status(), 200);
    let csp = public.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(public.headers()["x-frame-options"], "DENY");
}
