//! A database outage is answered, not suffered: with a private PostgreSQL
//! stopped under traffic, management requests answer 503 with `Retry-After`
//! within the checkout bound (never a 500, never a hang), `/readyz` answers
//! 503 within about a second, and the first request after the restart
//! succeeds (the pool drops the dead connections by itself).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use cms_api::db::setup::APP_ROLE;
use cms_tests::{config_for, seeded_private_postgres, ALPHA_EDITOR, DEMO_PASSWORD};
use serde_json::{json, Value};

/// One request's outcome while the database is down.
struct Seen {
    what: &'static str,
    status: u16,
    retry_after: bool,
    took: Duration,
}

async fn timed(
    client: &reqwest::Client,
    what: &'static str,
    request: reqwest::RequestBuilder,
) -> Seen {
    let started = Instant::now();
    let response = client.execute(request.build().unwrap()).await.unwrap();
    Seen {
        what,
        status: response.status().as_u16(),
        retry_after: response.headers().contains_key("retry-after"),
        took: started.elapsed(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_database_answers_503_with_retry_after_and_the_api_recovers_by_itself() {
    let mut postgres = seeded_private_postgres().await;
    let app_url = postgres.url(APP_ROLE, "cms");
    let name = format!("outage-{}", postgres.port);
    let config = config_for(
        &app_url,
        &name,
        &HashMap::from([("CMS_JOBS", "off".to_owned())]),
    );
    let bound = config.db_checkout_timeout;
    assert_eq!(bound, Duration::from_secs(1), "the documented default");
    let app = cms_api::Application::build(config).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let server = tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    let login: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": ALPHA_EDITOR, "password": DEMO_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["access_token"].as_str().unwrap().to_owned();
    let sites = || {
        client
            .get(format!("{base}/api/v1/sites"))
            .bearer_auth(&token)
    };
    let ready = || client.get(format!("{base}/readyz"));
    assert_eq!(timed(&client, "sites", sites()).await.status, 200);
    assert_eq!(timed(&client, "readyz", ready()).await.status, 200);

    // Ten seconds down, under a steady trickle of both.
    postgres.stop();
    let mut seen = Vec::new();
    let down_until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < down_until {
        let (a, b) = tokio::join!(
            timed(&client, "sites", sites()),
            timed(&client, "readyz", ready())
        );
        seen.push(a);
        seen.push(b);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    postgres.resume();
    let after = timed(&client, "sites", sites()).await;

    let report: Vec<String> = seen
        .iter()
        .map(|s| format!("{} {} {:?}", s.what, s.status, s.took))
        .collect();
    assert!(seen.len() >= 20, "{report:?}");
    for what in ["sites", "readyz"] {
        let took = seen.iter().filter(|s| s.what == what).map(|s| s.took);
        println!(
            "{what}: {} answers while down, slowest {:?}",
            took.clone().count(),
            took.max().unwrap_or_default()
        );
    }
    for s in &seen {
        assert_eq!(s.status, 503, "{} while down: {report:?}", s.what);
        assert!(s.retry_after, "{} 503 without Retry-After", s.what);
        // The bound plus scheduling slack on a busy 2-core machine.
        assert!(
            s.took < bound + Duration::from_millis(1500),
            "{} took {:?}: {report:?}",
            s.what,
            s.took
        );
    }
    assert_eq!(
        after.status, 200,
        "the first request after the restart: {report:?}"
    );
    server.abort();
}
