//! The renderer end to end: api + renderer + PostgreSQL + Redis, started here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::Duration;

use cms_tests::*;
use serde_json::{json, Value};

const ALPHA: &str = "alpha.localhost";

fn prefix(app: &TestApp) -> String {
    app.config.redis_prefix.clone()
}

async fn renderer_for(app: &TestApp, overrides: HashMap<&str, String>) -> TestRenderer {
    TestRenderer::spawn(&app.address, Some(&redis_url()), &prefix(app), overrides).await
}

/// The value of the hidden form field `name` in a rendered page.
fn hidden_field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap() + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// The id of the alpha page at `path` and its first block.
async fn page_and_hero(app: &TestApp, token: &str, path: &str) -> (String, String) {
    let site = app.first_site(token).await;
    let pages = app
        .get(
            &format!("/api/v1/sites/{site}/pages?path_prefix={path}"),
            token,
        )
        .await
        .expect(200);
    let page = pages.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["path"] == path)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let blocks = app
        .get(&format!("/api/v1/pages/{page}/blocks"), token)
        .await
        .expect(200);
    let hero = blocks.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["module"] == "hero")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (page, hero)
}

#[tokio::test]
async fn every_built_in_module_renders_from_the_demo_seed() {
    let app = TestApp::spawn().await;
    let renderer = renderer_for(&app, HashMap::new()).await;
    let mut seen = Vec::new();
    for path in ["/", "/clinic", "/page-2"] {
        let (status, headers, html) = renderer.get(ALPHA, path).await;
        assert_eq!(status, 200, "{path}: {html}");
        assert!(!html.contains("module-unavailable"), "{path}");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("'nonce-"), "{csp}");
        for part in html.split("data-module=\"").skip(1) {
            seen.push(part.split('"').next().unwrap().to_owned());
        }
    }
    for module in cms_renderer::render::BUILTIN_MODULES {
        assert!(seen.iter().any(|s| s == module), "{module} not rendered");
    }
    // Unknown path: the site's own 404 page; unknown host: a plain 404.
    let (status, _, html) = renderer.get(ALPHA, "/no-such-page").await;
    assert_eq!(status, 404);
    assert!(
        html.contains("Page not found") && html.contains("Alpha"),
        "{html}"
    );
    let (status, _, _) = renderer.get("nobody.localhost", "/").await;
    assert_eq!(status, 404);
    let (status, _, sitemap) = renderer.get(ALPHA, "/sitemap.xml").await;
    assert_eq!(status, 200);
    assert!(
        sitemap.contains("<loc>http://alpha.localhost/clinic</loc>"),
        "{sitemap}"
    );
    let (_, _, robots) = renderer.get(ALPHA, "/robots.txt").await;
    assert!(robots.contains("Sitemap: http://alpha.localhost/sitemap.xml"));
}

#[tokio::test]
async fn a_publish_reaches_the_renderer_within_a_second_without_a_restart() {
    let app = TestApp::spawn().await;
    let renderer = renderer_for(&app, HashMap::new()).await;
    let editor = app.login(ALPHA_EDITOR, None).await;
    let (page, hero) = page_and_hero(&app, &editor.access, "/page-2").await;
    let (status, _, before) = renderer.get(ALPHA, "/page-2").await;
    assert_eq!(status, 200);
    assert!(!before.contains("Freshly published"));
    let (_, headers, _) = renderer.get(ALPHA, "/page-2").await;
    assert_eq!(headers["x-cache"], "hit", "the second read is cached");

    app.patch(
        &format!("/api/v1/pages/{page}/blocks/{hero}"),
        &editor.access,
        json!({"props": {"title": "Freshly published"}}),
    )
    .await
    .expect(200);
    app.publish(&editor.access, &page).await.expect(200);

    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    loop {
        let (_, _, html) = renderer.get(ALPHA, "/page-2").await;
        if html.contains("Freshly published") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the renderer still serves the old page a second after publishing"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn with_the_api_stopped_cached_pages_answer_stale_and_others_a_503_page() {
    let app = TestApp::spawn().await;
    // Revalidate on every read, so the outage is noticed at once.
    let renderer = renderer_for(
        &app,
        HashMap::from([("CMS_RENDERER_FRESH_SECS", "0".to_owned())]),
    )
    .await;
    let (status, _, _) = renderer.get(ALPHA, "/").await;
    assert_eq!(status, 200);

    app.handle.stop(false).await;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    loop {
        let (status, headers, html) = renderer.get(ALPHA, "/").await;
        assert_eq!(status, 200, "a cached page answers while the API is down");
        assert!(html.contains("data-module=\"hero\""));
        if headers["x-cache"] == "stale" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never marked stale");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, headers, html) = renderer.get(ALPHA, "/clinic").await;
    assert_eq!(status, 503);
    assert!(headers.contains_key("retry-after"));
    assert!(html.contains("Temporarily unavailable"), "{html}");
}

#[tokio::test]
async fn with_redis_stopped_pages_still_answer() {
    let mut redis = PrivateRedis::start();
    let app = TestApp::spawn_with(HashMap::from([("REDIS_URL", redis.url.clone())])).await;
    let renderer = TestRenderer::spawn(&app.address, Some(&redis.url), "t:", HashMap::new()).await;
    let (status, _, _) = renderer.get(ALPHA, "/").await;
    assert_eq!(status, 200);
    // The renderer shared what it fetched through the private Redis: it was
    // in use before it dies.
    let mut conn = redis::Client::open(redis.url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let shared: Vec<String> = redis::cmd("KEYS")
        .arg("t:rc:*")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(
        shared.iter().any(|key| key.starts_with("t:rc:m:"))
            && shared.iter().any(|key| key.starts_with("t:rc:p:")),
        "manifest and page in the shared cache: {shared:?}"
    );

    redis.stop();

    let (status, _, html) = renderer.get(ALPHA, "/").await;
    assert_eq!(status, 200, "cached page");
    assert!(html.contains("data-module=\"hero\""));
    let (status, _, html) = renderer.get(ALPHA, "/clinic").await;
    assert_eq!(status, 200, "uncached page, fetched without Redis: {html}");
    assert!(html.contains("data-module=\"booking_widget\""));
}

#[tokio::test]
async fn a_landing_with_a_lead_form_is_public_the_same_for_everyone_and_its_form_submits() {
    let app = TestApp::spawn().await;
    let renderer = renderer_for(&app, HashMap::new()).await;
    let landing = "/clinic?utm_source=newsletter&utm_campaign=spring&gclid=1";
    // Two visitors, one with a visitor cookie from before: the same HTML,
    // cacheable by a CDN, and no cookie set.
    let (status, headers, html) = renderer.get(ALPHA, landing).await;
    assert_eq!(status, 200);
    let other = reqwest::Client::new()
        .get(format!("{}{landing}", renderer.address))
        .header("host", ALPHA)
        .header("cookie", format!("cms_vid={}", uuid::Uuid::new_v4()))
        .send()
        .await
        .unwrap();
    assert_eq!(other.headers()["etag"], headers["etag"]);
    assert!(other.headers().get("set-cookie").is_none());
    assert_eq!(other.text().await.unwrap(), html, "the same HTML for both");
    assert!(headers.get("set-cookie").is_none());
    let cache_control = headers["cache-control"].to_str().unwrap();
    assert!(
        cache_control.starts_with("public,")
            && cache_control.contains("s-maxage=")
            && cache_control.contains("stale-while-revalidate="),
        "{cache_control}"
    );
    assert!(
        html.contains("action=\"/_cms/leads\"") && html.contains("action=\"/_cms/appointments\"")
    );
    // The form's UTM fields follow the URL (caches key by it).
    let hidden = |name: &str| hidden_field(&html, name);
    assert_eq!(hidden("utm_source"), "newsletter");
    let (_, plain_headers, plain) = renderer.get(ALPHA, "/clinic").await;
    assert_eq!(hidden_field(&plain, "utm_source"), "");
    assert_ne!(plain_headers["etag"], headers["etag"]);

    let form = vec![
        ("submission", hidden("submission")),
        ("page_id", hidden("page_id")),
        ("path", hidden("path")),
        ("utm_source", hidden("utm_source")),
        ("utm_campaign", hidden("utm_campaign")),
        ("name", "Ann".to_owned()),
        ("phone", "+1 555 0100".to_owned()),
    ];
    // Posts from anywhere but the page's own site are refused: another
    // site, a sibling subdomain (another tenant), an old browser's foreign
    // Origin or Referer, a sandboxed page, and a post that says nothing.
    let origin = format!("http://{ALPHA}");
    let referer = format!("http://{ALPHA}.evil.example/clinic");
    let refused: [&[(&str, &str)]; 7] = [
        &[
            ("sec-fetch-site", "cross-site"),
            ("origin", "http://evil.example"),
        ],
        &[
            ("sec-fetch-site", "same-site"),
            ("origin", "http://beta.localhost"),
        ],
        &[("sec-fetch-site", "none")],
        &[("origin", "http://evil.example")],
        &[("origin", "null")],
        &[("referer", referer.as_str())],
        &[],
    ];
    for headers in refused {
        let (status, answer) = renderer
            .post_form_with(ALPHA, "/_cms/leads", &form, headers)
            .await;
        assert_eq!(status, 403, "{headers:?}: {answer}");
        assert!(answer.contains("data-lead=\"refused\""));
        let (status, _) = renderer
            .post_form_with(ALPHA, "/_cms/appointments", &form, headers)
            .await;
        assert_eq!(status, 403, "a booking too: {headers:?}");
    }
    assert_eq!(app.count_rows("leads"), 0, "nothing stored");

    // From the page itself: a browser's post, then an older browser's
    // (Origin only) double submit of the same form: one lead.
    let (status, thanks) = renderer.post_form(ALPHA, "/_cms/leads", &form).await;
    assert_eq!(status, 200, "{thanks}");
    assert!(thanks.contains("data-lead=\"received\""));
    let (status, _) = renderer
        .post_form_with(ALPHA, "/_cms/leads", &form, &[("origin", origin.as_str())])
        .await;
    assert_eq!(status, 200);

    let editor = app.login(ALPHA_EDITOR, None).await;
    let site = app.first_site(&editor.access).await;
    let leads = app
        .get(&format!("/api/v1/sites/{site}/leads"), &editor.access)
        .await
        .expect(200);
    let items = leads.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["path"], "/clinic");
    assert_eq!(items[0]["utm"]["utm_campaign"], "spring");
    // The first answer to a form gives a first-time visitor their cookie,
    // and the lead carries that id.
    assert!(uuid::Uuid::parse_str(items[0]["visitor_id"].as_str().unwrap()).is_ok());
    let first_time = reqwest::Client::new()
        .post(format!("{}/_cms/leads", renderer.address))
        .header("host", ALPHA)
        .header("sec-fetch-site", "same-origin")
        .form(&[
            ("path", "/clinic"),
            ("name", "Bo"),
            ("phone", "+1 555 0101"),
        ])
        .send()
        .await
        .unwrap();
    let set_cookie = first_time.headers()["set-cookie"].to_str().unwrap();
    assert!(
        set_cookie.starts_with("cms_vid=") && set_cookie.contains("SameSite=Lax"),
        "{set_cookie}"
    );
}

#[tokio::test]
async fn a_lead_sent_while_the_api_is_down_is_delivered_once_it_is_back() {
    let app = TestApp::spawn().await;
    let renderer = renderer_for(&app, HashMap::new()).await;
    let (status, _, html) = renderer.get(ALPHA, "/clinic?utm_source=offline").await;
    assert_eq!(status, 200);
    let form: Vec<(&str, String)> = ["submission", "page_id", "path", "utm_source"]
        .into_iter()
        .map(|name| (name, hidden_field(&html, name)))
        .chain([
            ("name", "Queued Ann".to_owned()),
            ("phone", "+1 555 0199".to_owned()),
        ])
        .collect();

    app.handle.stop(false).await;
    let (status, thanks) = renderer.post_form(ALPHA, "/_cms/leads", &form).await;
    assert_eq!(status, 202, "accepted for later delivery: {thanks}");
    assert!(thanks.contains("data-lead=\"received\""));
    assert_eq!(app.count_rows("leads"), 0);

    // The api comes back on the same address (as a restarted process would).
    let mut config = app.config.clone();
    config.listen_addr = app.address.trim_start_matches("http://").parse().unwrap();
    let restarted = cms_api::Application::build(config).await.unwrap();
    let _server = tokio::spawn(restarted.run_until_stopped());

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while app.count_rows("leads") == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the queued lead never reached the api"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let editor = app.login(ALPHA_EDITOR, None).await;
    let site = app.first_site(&editor.access).await;
    let leads = app
        .get(&format!("/api/v1/sites/{site}/leads"), &editor.access)
        .await
        .expect(200);
    let items = leads.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "delivered once: {items:?}");
    assert_eq!(items[0]["fields"]["name"], "Queued Ann");
    assert_eq!(items[0]["utm"]["utm_source"], "offline");
    let metrics = reqwest::get(format!("{}/metrics", renderer.address))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("renderer_leads_delivered_later_total 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn clinic_modules_render_the_tenants_live_clinic_data() {
    let app = TestApp::spawn().await;
    let renderer = renderer_for(&app, HashMap::new()).await;
    let (status, _, html) = renderer.get(ALPHA, "/clinic").await;
    assert_eq!(status, 200);
    // doctors_list filters by its `specialization` prop (cardiology).
    assert!(html.contains("data-doctor=\"anna-ivanova\""), "{html}");
    assert!(
        !html.contains("data-doctor=\"clara-smirnova\""),
        "a dentist is not listed"
    );
    // services_list shows the diagnostics category with its subcategory, with prices.
    assert!(
        html.contains("data-service=\"ecg\"") && html.contains("data-service=\"heart-ultrasound\"")
    );
    assert!(html.contains("1\u{a0}500\u{a0}₽"));
    // reviews shows published reviews; the booking widget offers the services.
    assert!(html.contains("class=\"review__stars\""));
    assert!(html.contains("action=\"/_cms/appointments\""));
    // Beta's landing shows beta's clinic data, never alpha's. The demo data of
    // both tenants read alike, so each tenant's ECG gets a name of its own
    // (beta's page has not been rendered yet: nothing of it is cached).
    for (tenant, name) in [("alpha", "Alpha-only ECG"), ("beta", "Beta-only ECG")] {
        let admin = app.login("admin@example.com", Some(tenant)).await;
        let services = app.get("/api/v1/services", &admin.access).await.expect(200);
        let ecg = services.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|service| service["slug"] == "ecg")
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        app.patch(
            &format!("/api/v1/services/{ecg}"),
            &admin.access,
            serde_json::json!({"name": name}),
        )
        .await
        .expect(200);
    }
    let (status, _, beta) = renderer.get("beta.localhost", "/clinic").await;
    assert_eq!(status, 200);
    assert!(beta.contains("data-service=\"ecg\""), "{beta}");
    assert!(beta.contains("Beta-only ECG"), "beta's own service: {beta}");
    assert!(
        !beta.contains("Alpha-only ECG"),
        "beta's page shows alpha's service"
    );
}

#[tokio::test]
async fn clinic_data_changes_reach_the_renderer_at_once() {
    let app = TestApp::spawn().await;
    // Documents stay fresh for an hour: only an invalidation message can
    // explain a change showing up within seconds.
    let renderer = renderer_for(
        &app,
        HashMap::from([("CMS_RENDERER_FRESH_SECS", "3600".to_owned())]),
    )
    .await;
    let admin = app.login("admin@example.com", Some("alpha")).await;
    let (status, _, before) = renderer.get(ALPHA, "/clinic").await;
    assert_eq!(status, 200);
    assert!(before.contains("data-doctor=\"anna-ivanova\""), "{before}");
    let id_of = |list: &Value, slug: &str| -> String {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|item| item["slug"] == slug)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let services = app.get("/api/v1/services", &admin.access).await.expect(200);
    let doctors = app.get("/api/v1/doctors", &admin.access).await.expect(200);
    let changes = [
        (
            format!("/api/v1/services/{}", id_of(&services.body, "ecg")),
            "ECG, renamed just now",
        ),
        (
            format!("/api/v1/doctors/{}", id_of(&doctors.body, "anna-ivanova")),
            "Dr. Anna, renamed just now",
        ),
    ];
    for (path, name) in changes {
        assert!(!before.contains(name));
        app.patch(&path, &admin.access, json!({"name": name}))
            .await
            .expect(200);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        loop {
            let (_, _, html) = renderer.get(ALPHA, "/clinic").await;
            if html.contains(name) {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the renderer still shows the old clinic data 2 s after {path} changed"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

#[tokio::test]
async fn with_page_caching_off_the_site_manifest_is_held_until_a_change_evicts_it() {
    let app = TestApp::spawn().await;
    let renderer = renderer_for(
        &app,
        HashMap::from([("CMS_RENDERER_CACHE_ENTRIES", "0".to_owned())]),
    )
    .await;
    let admin = app.login("admin@example.com", Some("alpha")).await;
    let site = app.first_site(&admin.access).await;
    assert_eq!(renderer.get(ALPHA, "/page-2").await.0, 200);
    let held = renderer.metrics().await;
    // A second page: fetched and rendered again, its site's manifest not.
    assert_eq!(renderer.get(ALPHA, "/clinic").await.0, 200);
    let after = renderer.metrics().await;
    let count = |text: &str, result: &str| -> u64 {
        text.lines()
            .find_map(|line| {
                line.strip_prefix(&format!(
                    "renderer_cache_requests_total{{result=\"{result}\"}} "
                ))
            })
            .and_then(|value| value.trim().parse().ok())
            .unwrap()
    };
    assert_eq!(
        count(&after, "hit") - count(&held, "hit"),
        1,
        "the manifest"
    );
    assert!(count(&after, "miss") > count(&held, "miss"), "the page");

    // Renaming the site evicts the held manifest at once (the 404 page
    // names the site).
    let name = format!("Alpha renamed {}", uuid::Uuid::now_v7().simple());
    app.patch(
        &format!("/api/v1/sites/{site}"),
        &admin.access,
        json!({"name": name}),
    )
    .await
    .expect(200);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    loop {
        let (status, _, html) = renderer.get(ALPHA, "/no-such-page").await;
        assert_eq!(status, 404);
        if html.contains(&name) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the renderer still holds the manifest from before the rename"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
