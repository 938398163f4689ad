//! A/B experiments end to end: api + renderer + PostgreSQL + Redis. The demo
//! seed runs "Home headline" on alpha's home page: variant `b` changes the
//! hero title and the lead form's button.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use cms_tests::*;
use serde_json::{json, Value};

const ALPHA: &str = "alpha.localhost";
const VARIANT_B_TITLE: &str = "See a specialist this week, without queues";

/// A page as one visitor (cookie `cms_vid`) sees it, with extra headers.
async fn visit(
    renderer: &TestRenderer,
    path: &str,
    visitor: &str,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, String) {
    let client = reqwest::Client::new();
    let mut request = client
        .get(format!("{}{path}", renderer.address))
        .header("host", ALPHA)
        .header("cookie", format!("cms_vid={visitor}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

fn shows_b(html: &str) -> bool {
    html.contains(VARIANT_B_TITLE)
}

async fn results(app: &TestApp, token: &str, experiment: &str) -> Value {
    app.get(&format!("/api/v1/experiments/{experiment}/results"), token)
        .await
        .expect(200)
        .body
}

fn variant_result<'a>(results: &'a Value, key: &str) -> &'a Value {
    results["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["key"] == key)
        .unwrap()
}

/// Total exposed visitors over all variants.
fn total_visitors(results: &Value) -> u64 {
    results["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["visitors"].as_u64().unwrap())
        .sum()
}

/// Waits for the renderer's exposure batches to reach the api.
async fn wait_for_visitors(app: &TestApp, token: &str, experiment: &str, want: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let current = results(app, token, experiment).await;
        if total_visitors(&current) >= want || Instant::now() > deadline {
            return current;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn hidden_field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap() + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

fn event(experiment: &str, variant: &str, visitor: &str, kind: &str) -> Value {
    json!({"experiment": experiment, "variant": variant, "visitor": visitor, "kind": kind})
}

async fn send_events(app: &TestApp, events: Vec<Value>) -> Reply {
    app.send(
        reqwest::Method::POST,
        "/api/v1/delivery/events",
        None,
        Some(&json!({ "events": events })),
        &[],
    )
    .await
}

#[tokio::test]
async fn a_running_experiment_splits_visitors_stickily_and_counts_exposures_and_lead_conversions() {
    let app = TestApp::spawn().await;
    let renderer = app.renderer().await;
    let editor = app.login(ALPHA_EDITOR, None).await;
    let (_, experiment) = app.home_experiment(&editor.access).await;
    let id = experiment["id"].as_str().unwrap().to_owned();
    assert_eq!(experiment["status"], "running");
    let site = app.first_site(&editor.access).await;

    let visitors: Vec<String> = (0..400).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let mut saw_b = Vec::new();
    for visitor in &visitors {
        let (status, headers, html) = visit(&renderer, "/", visitor, &[]).await;
        assert_eq!(status, 200);
        assert_eq!(headers["cache-control"], "private, no-cache");
        saw_b.push(shows_b(&html));
    }
    let b_share = saw_b.iter().filter(|b| **b).count() as f64 / visitors.len() as f64;
    // 50/50 over 400 visitors: 4 standard deviations is 0.1.
    assert!((0.4..=0.6).contains(&b_share), "variant b share {b_share}");

    // Sticky, and the api's /assign decides the same as the renderer.
    for (visitor, was_b) in visitors.iter().zip(&saw_b).take(40) {
        let (_, _, html) = visit(&renderer, "/", visitor, &[]).await;
        assert_eq!(shows_b(&html), *was_b, "visitor {visitor} changed variant");
        let assigned = app
            .public(
                &format!("/api/v1/delivery/sites/{site}/assign?path=/&visitor={visitor}"),
                &[],
            )
            .await
            .expect(200);
        let assignment = &assigned.body["assignments"][0];
        assert_eq!(assignment["experiment"], id.as_str());
        assert_eq!(assignment["variant"] == "b", *was_b);
        assert_eq!(assignment["tracked"], true);
    }

    // The variant set, not the visitor, keys the shell: 400 visitors, 2 shells.
    let metrics = reqwest::get(format!("{}/metrics", renderer.address))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let misses: u64 = metrics
        .lines()
        .find(|line| line.starts_with("renderer_shell_requests_total{result=\"miss\"}"))
        .and_then(|line| line.split(' ').nth(1))
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        misses <= 2,
        "{misses} shells rendered for one page and two variants"
    );

    // One exposure per visitor, in the variant shown.
    let counted = wait_for_visitors(&app, &editor.access, &id, 400).await;
    assert_eq!(total_visitors(&counted), 400, "{counted}");
    let b_visitors = saw_b.iter().filter(|b| **b).count() as u64;
    assert_eq!(variant_result(&counted, "b")["visitors"], b_visitors);
    assert_eq!(app.count_rows("experiment_events"), 400);

    // A lead from a variant-b visitor converts them in b.
    let index = saw_b.iter().position(|b| *b).unwrap();
    let visitor = &visitors[index];
    let (_, _, html) = visit(&renderer, "/", visitor, &[]).await;
    assert!(
        html.contains("Get my appointment"),
        "the form's button follows the variant"
    );
    let form: Vec<(&str, String)> = ["submission", "page_id", "path"]
        .into_iter()
        .map(|name| (name, hidden_field(&html, name)))
        .chain([
            ("name", "Ann".to_owned()),
            ("phone", "+1 555 0100".to_owned()),
        ])
        .collect();
    let response = reqwest::Client::new()
        .post(format!("{}/_cms/leads", renderer.address))
        .header("host", ALPHA)
        .header("cookie", format!("cms_vid={visitor}"))
        .header("sec-fetch-site", "same-origin")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let after = results(&app, &editor.access, &id).await;
    let b = variant_result(&after, "b");
    assert_eq!(b["conversions"], 1, "{after}");
    assert_eq!(variant_result(&after, "a")["conversions"], 0);
    assert!(b["rate"].as_f64().unwrap() > 0.0);
    assert!(b["p_value"].as_f64().is_some());
    assert!(b["chance_to_beat_control"].as_f64().unwrap() > 0.5);
    assert_eq!(after["sample_ratio"]["mismatch"], false);
    assert!(!after["series"][1]["points"].as_array().unwrap().is_empty());

    // The editors' report: the table and the chart.
    let report = app
        .get(&format!("/api/v1/experiments/{id}/report"), &editor.access)
        .await
        .expect(200);
    assert!(report
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert!(report.text.contains("Home headline"));
    assert!(report.text.contains("<svg") && report.text.contains("<polyline"));

    // Another tenant sees none of it.
    let beta = app.login(BETA_EDITOR, None).await;
    app.get(&format!("/api/v1/experiments/{id}/results"), &beta.access)
        .await
        .expect_problem(404);
}

#[tokio::test]
async fn do_not_track_and_refused_consent_show_the_control_and_count_nothing() {
    let app = TestApp::spawn().await;
    let renderer = app.renderer().await;
    let editor = app.login(ALPHA_EDITOR, None).await;
    let site = app.first_site(&editor.access).await;
    // Visitors the hash puts in b.
    let mut in_b = Vec::new();
    while in_b.len() < 10 {
        let visitor = uuid::Uuid::new_v4().to_string();
        let assigned = app
            .public(
                &format!("/api/v1/delivery/sites/{site}/assign?path=/&visitor={visitor}"),
                &[],
            )
            .await
            .expect(200);
        if assigned.body["assignments"][0]["variant"] == "b" {
            in_b.push(visitor);
        }
    }
    for (index, visitor) in in_b.iter().enumerate() {
        let header: &[(&str, &str)] = match index % 3 {
            0 => &[("dnt", "1")],
            1 => &[("sec-gpc", "1")],
            _ => &[("cookie", "cms_consent=denied")],
        };
        let (status, _, html) = if index % 3 == 2 {
            let response = reqwest::Client::new()
                .get(format!("{}/", renderer.address))
                .header("host", ALPHA)
                .header("cookie", format!("cms_vid={visitor}; cms_consent=denied"))
                .send()
                .await
                .unwrap();
            (
                response.status().as_u16(),
                response.headers().clone(),
                response.text().await.unwrap(),
            )
        } else {
            visit(&renderer, "/", visitor, header).await
        };
        assert_eq!(status, 200);
        assert!(!shows_b(&html), "an untracked visitor saw variant b");
    }
    // The same visitors without DNT see b and are counted: the check above
    // did not pass because nobody was in b.
    visit(&renderer, "/", &in_b[0], &[]).await;
    let (_, experiment) = app.home_experiment(&editor.access).await;
    let counted =
        wait_for_visitors(&app, &editor.access, experiment["id"].as_str().unwrap(), 1).await;
    assert_eq!(total_visitors(&counted), 1);
    let assigned = app
        .public(
            &format!(
                "/api/v1/delivery/sites/{site}/assign?path=/&visitor={}&dnt=1",
                in_b[0]
            ),
            &[],
        )
        .await
        .expect(200);
    assert_eq!(assigned.body["assignments"][0]["variant"], "a");
    assert_eq!(assigned.body["assignments"][0]["tracked"], false);
}

#[tokio::test]
async fn an_editor_previews_variant_b_uncached_and_uncounted() {
    let app = TestApp::spawn().await;
    let renderer = app.renderer().await;
    let editor = app.login(ALPHA_EDITOR, None).await;
    let (home, experiment) = app.home_experiment(&editor.access).await;
    let token = app.preview_token(&editor.access, &home).await;
    for _ in 0..3 {
        let visitor = uuid::Uuid::new_v4().to_string();
        let (status, headers, html) = visit(
            &renderer,
            &format!("/?preview={token}&variant=b"),
            &visitor,
            &[],
        )
        .await;
        assert_eq!(status, 200, "{html}");
        assert!(shows_b(&html));
        assert_eq!(headers["cache-control"], "no-store, private");
        assert_eq!(headers["x-robots-tag"], "noindex");
        let (_, _, control) = visit(
            &renderer,
            &format!("/?preview={token}&variant=a"),
            &visitor,
            &[],
        )
        .await;
        assert!(!shows_b(&control));
    }
    // A draft experiment's variant can be previewed too.
    let page_blocks = app
        .get(&format!("/api/v1/pages/{home}/blocks"), &editor.access)
        .await
        .expect(200);
    let hero = page_blocks.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["module"] == "hero")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        &format!("/api/v1/pages/{home}/experiments"),
        &editor.access,
        json!({"name": "Draft idea", "goal": "lead_submitted", "variants": [
            {"key": "a", "weight": 50},
            {"key": "c", "weight": 50, "overrides": {hero.clone(): {"title": "A draft headline"}}}
        ]}),
    )
    .await
    .expect(201);
    let (_, _, html) = visit(
        &renderer,
        &format!("/?preview={token}&variant=c"),
        "preview-editor",
        &[],
    )
    .await;
    assert!(html.contains("A draft headline"));

    // An ordinary visit after the previews: the renderer sends exposures in
    // order, so once this one is stored, any preview's would have been too.
    let ordinary = uuid::Uuid::new_v4().to_string();
    visit(&renderer, "/", &ordinary, &[]).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while app.count_rows("experiment_events") == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the ordinary visit was never counted"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(
        app.count_rows("experiment_events"),
        1,
        "previews are never counted, only the ordinary visit"
    );
    let counted = results(&app, &editor.access, experiment["id"].as_str().unwrap()).await;
    assert_eq!(total_visitors(&counted), 1, "the ordinary visitor alone");

    // A bad token or an unknown variant is a clear refusal, not a page.
    let (status, _, _) = visit(&renderer, "/?preview=forged&variant=b", "x", &[]).await;
    assert_eq!(status, 401);
    app.public(
        &format!("/api/v1/delivery/preview?token={token}&variant=zz"),
        &[],
    )
    .await
    .expect_problem(422);
}

#[tokio::test]
async fn a_stopped_experiment_serves_the_control_refuses_events_and_a_winner_can_be_published() {
    let app = TestApp::spawn().await;
    let renderer = app.renderer().await;
    let editor = app.login(ALPHA_EDITOR, None).await;
    let (_, experiment) = app.home_experiment(&editor.access).await;
    let id = experiment["id"].as_str().unwrap().to_owned();

    app.post(
        &format!("/api/v1/experiments/{id}/pause"),
        &editor.access,
        json!({}),
    )
    .await
    .expect(200);
    for _ in 0..40 {
        let (_, _, html) = visit(&renderer, "/", &uuid::Uuid::new_v4().to_string(), &[]).await;
        assert!(!shows_b(&html), "a paused experiment showed variant b");
    }
    let refused = send_events(&app, vec![event(&id, "b", "v-1", "exposure")])
        .await
        .expect_problem(422);
    assert_eq!(refused.error_fields(), ["events.0.experiment"]);
    assert!(refused.text.contains("paused"));
    // Pausing twice is not a move.
    app.post(
        &format!("/api/v1/experiments/{id}/pause"),
        &editor.access,
        json!({}),
    )
    .await
    .expect_problem(409);

    // Running again: both variants are back.
    app.post(
        &format!("/api/v1/experiments/{id}/start"),
        &editor.access,
        json!({}),
    )
    .await
    .expect(200);
    let mut any_b = false;
    for _ in 0..40 {
        let (_, _, html) = visit(&renderer, "/", &uuid::Uuid::new_v4().to_string(), &[]).await;
        any_b |= shows_b(&html);
    }
    assert!(any_b);

    // Completing with b as the winner publishes b for everyone.
    app.post(
        &format!("/api/v1/experiments/{id}/complete"),
        &editor.access,
        json!({"winner": "zz"}),
    )
    .await
    .expect_problem(422);
    let completed = app
        .post(
            &format!("/api/v1/experiments/{id}/complete"),
            &editor.access,
            json!({"winner": "b", "publish": true}),
        )
        .await
        .expect(200);
    assert_eq!(completed.body["status"], "completed");
    assert_eq!(completed.body["winner"], "b");
    // The publish reaches the renderer through its invalidation message.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    loop {
        let (_, _, html) = visit(&renderer, "/", &uuid::Uuid::new_v4().to_string(), &[]).await;
        if shows_b(&html) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the winner never reached the renderer"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    for _ in 0..10 {
        let (_, _, html) = visit(&renderer, "/", &uuid::Uuid::new_v4().to_string(), &[]).await;
        assert!(shows_b(&html), "the published winner is the page now");
    }
    send_events(&app, vec![event(&id, "b", "v-2", "exposure")])
        .await
        .expect_problem(422);
    app.patch(
        &format!("/api/v1/experiments/{id}"),
        &editor.access,
        json!({"name": "x"}),
    )
    .await
    .expect_problem(409);
}

#[tokio::test]
async fn bad_event_batches_are_refused_whole_and_count_nothing() {
    let app = TestApp::spawn().await;
    let editor = app.login(ALPHA_EDITOR, None).await;
    let (_, experiment) = app.home_experiment(&editor.access).await;
    let id = experiment["id"].as_str().unwrap().to_owned();
    let unknown = uuid::Uuid::new_v4().to_string();

    let cases: Vec<(Value, u16, Vec<&str>)> = vec![
        (json!({"events": []}), 422, vec!["events"]),
        (
            json!({"events": (0..101).map(|i| event(&id, "a", &format!("v{i}"), "exposure")).collect::<Vec<_>>()}),
            422,
            vec!["events"],
        ),
        (
            json!({"events": [event(&id, "a", "ok-1", "exposure"), event(&unknown, "a", "v", "exposure")]}),
            422,
            vec!["events.1.experiment"],
        ),
        (
            json!({"events": [event(&id, "a", "ok-1", "exposure"), event(&id, "zz", "v", "exposure")]}),
            422,
            vec!["events.1.variant"],
        ),
        (
            json!({"events": [event(&id, "a", "ok-1", "exposure"), event(&id, "a", "", "exposure")]}),
            422,
            vec!["events.1.visitor"],
        ),
        // An unknown kind fails the batch's shape, before any rule is checked.
        (
            json!({"events": [event(&id, "a", "ok-1", "exposure"), event(&id, "a", "v", "click")]}),
            422,
            vec!["events.1.kind"],
        ),
        (
            json!({"events": [{"experiment": id, "variant": "a", "visitor": "v", "kind": "custom"}]}),
            422,
            vec!["events.0.name"],
        ),
        (
            json!({"events": [{"experiment": "not-a-uuid", "variant": "a", "visitor": "v", "kind": "exposure"}]}),
            422,
            vec![],
        ),
        (json!({"events": "nope"}), 422, vec![]),
    ];
    for (body, status, fields) in cases {
        let reply = app
            .send(
                reqwest::Method::POST,
                "/api/v1/delivery/events",
                None,
                Some(&body),
                &[],
            )
            .await
            .expect_problem(status);
        if !fields.is_empty() {
            assert_eq!(reply.error_fields(), fields, "{}", reply.text);
        }
    }
    let not_json = app
        .client
        .post(app.url("/api/v1/delivery/events"))
        .header("content-type", "application/json")
        .body("{\"events\": [")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status().as_u16(), 400);
    assert_eq!(
        app.count_rows("experiment_events"),
        0,
        "a refused batch counts nothing"
    );

    // A good batch counts each visitor, kind and name once.
    let accepted = send_events(
        &app,
        vec![
            event(&id, "a", "v-1", "exposure"),
            event(&id, "a", "v-1", "exposure"),
            event(&id, "b", "v-2", "exposure"),
            event(&id, "b", "v-2", "conversion"),
            json!({"experiment": id, "variant": "b", "visitor": "v-2", "kind": "custom", "name": "cta_click"}),
        ],
    )
    .await
    .expect(202);
    assert_eq!(accepted.body["recorded"], 4);
    assert_eq!(accepted.body["duplicates"], 1);
    let again = send_events(&app, vec![event(&id, "b", "v-2", "conversion")])
        .await
        .expect(202);
    assert_eq!(again.body["recorded"], 0);
    let counted = results(&app, &editor.access, &id).await;
    assert_eq!(variant_result(&counted, "a")["visitors"], 1);
    assert_eq!(variant_result(&counted, "b")["visitors"], 1);
    assert_eq!(variant_result(&counted, "b")["conversions"], 1);
    assert_eq!(counted["custom_events"][0]["name"], "cta_click");
}

#[tokio::test]
async fn event_ingestion_is_rate_limited_per_visitor_and_per_address_and_survives_redis_loss() {
    let mut redis = PrivateRedis::start();
    let app = TestApp::spawn_with(HashMap::from([
        ("REDIS_URL", redis.url.clone()),
        ("CMS_EVENTS_LIMIT_PER_VISITOR", "5".to_owned()),
        ("CMS_EVENTS_LIMIT_PER_IP", "20".to_owned()),
    ]))
    .await;
    let editor = app.login(ALPHA_EDITOR, None).await;
    let (_, experiment) = app.home_experiment(&editor.access).await;
    let id = experiment["id"].as_str().unwrap().to_owned();

    // One visitor: 5 events a minute, the 6th is refused and not stored.
    let kinds = ["exposure", "conversion"];
    for i in 0..5 {
        let mut e = event(&id, "a", "busy", kinds[i % 2]);
        if i >= 2 {
            e["kind"] = "custom".into();
            e["name"] = format!("click_{i}").into();
        }
        send_events(&app, vec![e]).await.expect(202);
    }
    let limited = send_events(&app, vec![event(&id, "a", "busy", "exposure")])
        .await
        .expect_problem(429);
    assert!(limited.header("retry-after").is_some());
    let before = app.count_rows("experiment_events");
    assert_eq!(before, 5);

    // One address: 20 events a minute across visitors; 6 were sent above
    // (refused ones count too).
    let batch: Vec<Value> = (0..14)
        .map(|i| event(&id, "b", &format!("crowd-{i}"), "exposure"))
        .collect();
    send_events(&app, batch).await.expect(202);
    send_events(&app, vec![event(&id, "b", "one-more", "exposure")])
        .await
        .expect_problem(429);
    assert_eq!(app.count_rows("experiment_events"), 19);

    // The limits above were kept in the private Redis, not in process memory.
    let mut conn = redis::Client::open(redis.url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*rl:events:*")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(keys.len() >= 2, "rate limit keys in Redis: {keys:?}");

    // Redis dies under the same app while it ingests: limits fall back to
    // this node (the visitor limit still holds) and events are still stored
    // (PostgreSQL is the record); results are whole.
    redis.stop();
    for i in 0..5 {
        let mut e = event(&id, "b", "after-loss", "exposure");
        if i > 0 {
            e["kind"] = "custom".into();
            e["name"] = format!("tap_{i}").into();
        }
        send_events(&app, vec![e]).await.expect(202);
    }
    send_events(&app, vec![event(&id, "b", "after-loss", "conversion")])
        .await
        .expect_problem(429);
    assert_eq!(app.count_rows("experiment_events"), 24);
    let counted = results(&app, &editor.access, &id).await;
    assert_eq!(total_visitors(&counted), 16, "{counted}");
}

#[tokio::test]
async fn experiments_are_validated_and_a_started_one_changes_only_weights() {
    let app = TestApp::spawn().await;
    let editor = app.login(ALPHA_EDITOR, None).await;
    let site = app.first_site(&editor.access).await;
    let page = app
        .draft_page(&editor.access, &site, "/promo", "Promo")
        .await;
    let page_id = page["id"].as_str().unwrap().to_owned();
    let blocks = app
        .get(&format!("/api/v1/pages/{page_id}/blocks"), &editor.access)
        .await
        .expect(200);
    let hero = blocks.body["items"][0]["id"].as_str().unwrap().to_owned();
    let url = format!("/api/v1/pages/{page_id}/experiments");
    let good = json!({"name": "Promo test", "goal": "lead_submitted", "coverage": 80,
        "variants": [
            {"key": "a", "weight": 50},
            {"key": "b", "weight": 50, "overrides": {hero.clone(): {"title": "Half price"}},
             "insert": [{"after": hero.clone(), "module": "cta", "props": {"title": "Hurry", "button": {"label": "Book", "href": "/#lead"}}}]}
        ],
        "targeting": [{"action": "exclude", "utm_medium": "email"}, {"action": "force", "variant": "b", "flag": "promo-b"}]
    });

    let bad_cases: Vec<(Value, Vec<&str>)> = vec![
        (
            json!({"name": "", "goal": "Lead Submitted", "coverage": 120, "variants": [{"key": "a", "weight": 1}]}),
            vec!["name", "goal", "coverage", "variants"],
        ),
        (
            json!({"name": "x", "goal": "g", "variants": [{"key": "a", "weight": 1, "hide": [hero.clone()]}, {"key": "a", "weight": -1}]}),
            vec!["variants.0.key", "variants.1.key", "variants.1.weight"],
        ),
        (
            json!({"name": "x", "goal": "g", "variants": [{"key": "a", "weight": 1}, {"key": "b", "weight": 1, "overrides": {"00000000-0000-0000-0000-000000000000": {"title": "x"}}}]}),
            vec!["variants.1.overrides.00000000-0000-0000-0000-000000000000"],
        ),
        (
            json!({"name": "x", "goal": "g", "variants": [{"key": "a", "weight": 1}, {"key": "b", "weight": 1, "overrides": {hero.clone(): {"title": 42}}}]}),
            vec![format!("variants.1.overrides.{hero}.props.title").leak() as &str],
        ),
        (
            json!({"name": "x", "goal": "g", "variants": [{"key": "a", "weight": 1}, {"key": "b", "weight": 1, "insert": [{"module": "no_such_module"}]}]}),
            vec!["variants.1.insert.0.module"],
        ),
        (
            json!({"name": "x", "goal": "g", "variants": [{"key": "a", "weight": 1}, {"key": "b", "weight": 1}],
                   "targeting": [{"action": "force", "flag": "x"}, {"action": "include"}]}),
            vec!["targeting.0.variant", "targeting.1"],
        ),
    ];
    for (body, fields) in bad_cases {
        let reply = app
            .post(&url, &editor.access, body)
            .await
            .expect_problem(422);
        assert_eq!(reply.error_fields(), fields, "{}", reply.text);
    }
    assert_eq!(
        app.count_rows("experiments"),
        2,
        "only the demo experiments of alpha and beta"
    );

    let created = app.post(&url, &editor.access, good).await.expect(201);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let exp_url = format!("/api/v1/experiments/{id}");
    // Starting needs a published page.
    app.post(&format!("{exp_url}/start"), &editor.access, json!({}))
        .await
        .expect_problem(409);
    app.post(&format!("{exp_url}/pause"), &editor.access, json!({}))
        .await
        .expect_problem(409);
    app.publish(&editor.access, &page_id).await.expect(200);
    app.post(&format!("{exp_url}/start"), &editor.access, json!({}))
        .await
        .expect(200);

    // Delivery carries it, with its variants, for local assignment.
    let delivered = app
        .public(
            &format!("/api/v1/delivery/sites/{site}/pages?path=/promo"),
            &[],
        )
        .await
        .expect(200);
    assert_eq!(delivered.body["experiments"][0]["id"], id.as_str());
    assert_eq!(delivered.body["experiments"][0]["variants"][1]["key"], "b");

    let mut variants = created.body["variants"].clone();
    variants[1]["overrides"][&hero]["title"] = "Changed while running".into();
    app.patch(&exp_url, &editor.access, json!({"variants": variants}))
        .await
        .expect_problem(409);
    app.patch(&exp_url, &editor.access, json!({"goal": "other"}))
        .await
        .expect_problem(409);
    app.delete(&exp_url, &editor.access)
        .await
        .expect_problem(409);

    let mut reweighted = created.body["variants"].clone();
    reweighted[0]["weight"] = 20.into();
    reweighted[1]["weight"] = 80.into();
    let updated = app
        .patch(
            &exp_url,
            &editor.access,
            json!({"variants": reweighted, "coverage": 100}),
        )
        .await
        .expect(200);
    assert_eq!(updated.body["variants"][1]["weight"], 80.0);
    let history = updated.body["weight_history"].as_array().unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["from"], json!({"a": 50.0, "b": 50.0}));
    assert_eq!(history[0]["to"], json!({"a": 20.0, "b": 80.0}));
    let audit = app
        .get("/api/v1/audit-log", &editor.access)
        .await
        .expect(200);
    assert!(audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|entry| entry["action"] == "experiment.update"));
    // Delivery follows the weights at once.
    let delivered = app
        .public(
            &format!("/api/v1/delivery/sites/{site}/pages?path=/promo"),
            &[],
        )
        .await
        .expect(200);
    assert_eq!(
        delivered.body["experiments"][0]["variants"][1]["weight"],
        80.0
    );

    // The force rule and the exclusion apply through /assign.
    let assign =
        |query: &str| format!("/api/v1/delivery/sites/{site}/assign?path=/promo&visitor=v1{query}");
    let forced = app.public(&assign("&flag=promo-b"), &[]).await.expect(200);
    assert_eq!(forced.body["assignments"][0]["variant"], "b");
    assert_eq!(forced.body["assignments"][0]["reason"], "forced");
    let excluded = app
        .public(&assign("&utm_medium=email"), &[])
        .await
        .expect(200);
    assert_eq!(excluded.body["assignments"][0]["reason"], "not_targeted");
    app.public(
        &format!("/api/v1/delivery/sites/{site}/assign?path=/promo&visitor=bad%20id"),
        &[],
    )
    .await
    .expect_problem(422);

    // Another tenant cannot see or touch it.
    let beta = app.login(BETA_EDITOR, None).await;
    app.get(&exp_url, &beta.access).await.expect_problem(404);
    app.post(&format!("{exp_url}/pause"), &beta.access, json!({}))
        .await
        .expect_problem(404);
}
