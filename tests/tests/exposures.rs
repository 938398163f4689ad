//! The renderer's exposure batcher: when the api refuses some events of a
//! batch (their experiment stopped meanwhile), the others are still stored.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::Duration;

use cms_tests::*;
use diesel::sql_types::BigInt;
use diesel::{QueryableByName, RunQueryDsl};
use serde_json::json;

fn exposures_of(app: &TestApp, experiment: &str) -> i64 {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        count: i64,
    }
    diesel::sql_query(format!(
        "SELECT count(*) AS count FROM experiment_events \
         WHERE experiment_id = '{experiment}' AND kind = 'exposure'"
    ))
    .get_result::<Count>(&mut app.admin_connection())
    .unwrap()
    .count
}

#[tokio::test]
async fn one_stopped_experiment_does_not_lose_the_other_experiments_exposures() {
    let app = TestApp::spawn().await;
    let editor = app.login("editor@alpha.example", None).await;
    let (home, experiment) = app.home_experiment(&editor.access).await;
    let demo = experiment["id"].as_str().unwrap().to_owned();
    // A second running experiment on the same page, on another block.
    let blocks = app
        .get(&format!("/api/v1/pages/{home}/blocks"), &editor.access)
        .await
        .expect(200);
    let features = blocks.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["module"] == "features")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = app
        .post(
            &format!("/api/v1/pages/{home}/experiments"),
            &editor.access,
            json!({"name": "Features title", "goal": "lead_submitted", "variants": [
                {"key": "a", "weight": 50},
                {"key": "b", "weight": 50, "overrides": {features: {"title": "Why people stay"}}}
            ]}),
        )
        .await
        .expect(201);
    let second = second.body["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/api/v1/experiments/{second}/start"),
        &editor.access,
        json!({}),
    )
    .await
    .expect(200);

    // No Redis and an hour of freshness: once read, the renderer keeps the
    // page with both experiments running, as a node would between a pause
    // and its invalidation message.
    let renderer = TestRenderer::spawn(
        &app.address,
        None,
        "exposures:",
        HashMap::from([("CMS_RENDERER_FRESH_SECS", "3600".to_owned())]),
    )
    .await;
    let (status, _, _) = renderer.get("alpha.localhost", "/").await;
    assert_eq!(status, 200);
    let settle = |experiment: String, at_least: i64| {
        let app = &app;
        async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
            while exposures_of(app, &experiment) < at_least {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "exposures of {experiment} never arrived"
                );
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        }
    };
    settle(demo.clone(), 1).await;
    settle(second.clone(), 1).await;

    app.post(
        &format!("/api/v1/experiments/{demo}/pause"),
        &editor.access,
        json!({}),
    )
    .await
    .expect(200);
    let visitors = 12;
    for _ in 0..visitors {
        // A new client each time is a new visitor (no cookie): one exposure
        // per running experiment, batched together.
        let status = reqwest::Client::new()
            .get(format!("{}/", renderer.address))
            .header("host", "alpha.localhost")
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200);
    }
    settle(second.clone(), 1 + visitors).await;
    assert_eq!(exposures_of(&app, &second), 1 + visitors);
    assert_eq!(
        exposures_of(&app, &demo),
        1,
        "the paused experiment counts nothing more"
    );
    let metrics = reqwest::get(format!("{}/metrics", renderer.address))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(&format!(
            "renderer_exposures_total{{result=\"refused\"}} {visitors}"
        )),
        "{metrics}"
    );
}
