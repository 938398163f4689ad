//! Outgoing webhooks against real PostgreSQL and a receiver that verifies
//! every delivery with the reference Python `standardwebhooks` package
//! (`tests/webhooks/receiver.py`): signatures verify (with two secrets while a
//! rotated one is valid), failures retry on Svix's schedule (accelerated) or
//! the receiver's Retry-After, 410 disables the endpoint, a replay re-sends
//! the same `webhook-id`, private addresses are refused, bad input writes
//! nothing, tenants cannot reach each other's endpoints, secrets never show
//! again, and publishing a page sends `page.published` once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cms_tests::*;
use serde_json::{json, Value};

const OWNER: &str = "admin@example.com";
/// The demo seed's disabled endpoint, one per demo tenant.
const DEMO_ENDPOINTS: i64 = 2;

/// The Python receiver on a free port; killed on drop.
struct Receiver {
    child: Child,
    base: String,
    client: reqwest::Client,
}

impl Receiver {
    fn start() -> Self {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut child = Command::new(root.join(".venv/bin/python"))
            .arg(root.join("tests/webhooks/receiver.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect(".venv/bin/python with standardwebhooks (make tools)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port: u16 = line.trim().parse().expect("the receiver prints its port");
        Receiver {
            child,
            base: format!("http://127.0.0.1:{port}"),
            client: {
                cms_api::app::install_tls_provider();
                reqwest::Client::new()
            },
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Secrets to verify with (each on its own) and answers for the next deliveries.
    async fn control(&self, secrets: &[&str], plan: Value) {
        let status = self
            .client
            .post(self.url("/_control"))
            .json(&json!({"secrets": secrets, "plan": plan}))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status.as_u16(), 204);
    }

    async fn deliveries(&self) -> Vec<Value> {
        self.client
            .get(self.url("/_deliveries"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Waits until at least `count` deliveries came, and answers them all.
    async fn wait_for(&self, count: usize, within: Duration) -> Vec<Value> {
        let deadline = Instant::now() + within;
        loop {
            let deliveries = self.deliveries().await;
            if deliveries.len() >= count {
                return deliveries;
            }
            assert!(
                Instant::now() < deadline,
                "expected {count} deliveries, got {}: {deliveries:#?}",
                deliveries.len()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An api whose worker runs the retry schedule 1000 times faster and may
/// reach the receiver on 127.0.0.1.
async fn spawn_app() -> TestApp {
    TestApp::spawn_with(HashMap::from([
        ("CMS_WEBHOOK_ALLOW_HOSTS", "127.0.0.1/32".to_owned()),
        ("CMS_WEBHOOK_SCHEDULE_SCALE", "0.001".to_owned()),
        ("CMS_JOB_POLL_MS", "50".to_owned()),
    ]))
    .await
}

/// Rotates an endpoint's secret; answers the endpoint with the new one.
async fn rotate(app: &TestApp, token: &str, id: &str) -> Reply {
    app.post(
        &format!("/api/v1/webhooks/{id}/rotate-secret"),
        token,
        json!({}),
    )
    .await
    .expect(200)
}

/// Creates an endpoint; answers (id, secret).
async fn create(app: &TestApp, token: &str, url: &str, events: &[&str]) -> (String, String) {
    let reply = app
        .post(
            "/api/v1/webhooks",
            token,
            json!({"url": url, "description": "receiver", "events": events}),
        )
        .await
        .expect(201);
    let secret = reply.body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{}", reply.text);
    (reply.body["id"].as_str().unwrap().to_owned(), secret)
}

fn gaps(deliveries: &[Value]) -> Vec<f64> {
    deliveries
        .windows(2)
        .map(|pair| pair[1]["at"].as_f64().unwrap() - pair[0]["at"].as_f64().unwrap())
        .collect()
}

fn assert_all_verified(deliveries: &[Value]) {
    for delivery in deliveries {
        let verified = delivery["verified"].as_array().unwrap();
        assert!(
            !verified.is_empty() && verified.iter().all(|ok| ok == true),
            "a delivery did not verify with standardwebhooks: {delivery:#}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_retry_on_the_schedule_and_a_replay_resends_the_same_id() {
    let app = spawn_app().await;
    let receiver = Receiver::start();
    let owner = app.login(OWNER, Some("alpha")).await.access;
    let (id, secret) = create(&app, &owner, &receiver.url("/hook"), &["webhook.test"]).await;
    receiver
        .control(
            &[&secret],
            json!([{"status": 500}, {"status": 500}, {"status": 500}]),
        )
        .await;
    let sent = app
        .post(&format!("/api/v1/webhooks/{id}/test"), &owner, json!({}))
        .await
        .expect(202);
    let message = sent.body["id"].as_str().unwrap().to_owned();
    assert!(message.starts_with("msg_"), "{}", sent.text);

    // Attempt 1 at once, then 5 s, 5 min, 30 min scaled by 0.001.
    let deliveries = receiver.wait_for(4, Duration::from_secs(20)).await;
    assert_eq!(deliveries.len(), 4);
    assert_all_verified(&deliveries);
    assert!(deliveries.iter().all(|d| d["id"] == message.as_str()));
    assert!(deliveries.iter().all(|d| d["path"] == "/hook"));
    assert_eq!(deliveries[0]["payload"]["type"], "webhook.test");
    let gaps = gaps(&deliveries);
    assert!(gaps[0] >= 0.005 && gaps[0] < 0.3, "5 s scaled: {gaps:?}");
    assert!(gaps[1] >= 0.3, "5 min scaled: {gaps:?}");
    assert!(gaps[2] >= 1.8, "30 min scaled: {gaps:?}");
    assert!(gaps[2] > gaps[1] && gaps[1] > gaps[0], "{gaps:?}");

    // The log shows every attempt with its status and answer.
    let log = wait_log(&app, &owner, &id, 4).await;
    let attempts = log[0]["attempts"].as_array().unwrap();
    let statuses: Vec<i64> = attempts
        .iter()
        .map(|a| a["status_code"].as_i64().unwrap())
        .collect();
    assert_eq!(statuses, [500, 500, 500, 200]);
    let numbers: Vec<i64> = attempts
        .iter()
        .map(|a| a["attempt"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [1, 2, 3, 4]);
    assert_eq!(attempts[0]["response"], "answer 500");
    assert!(
        !log.to_string().contains(&secret),
        "the log shows the secret"
    );
    // Failing since the first attempt; the delivered fourth cleared it.
    let endpoint = app
        .get(&format!("/api/v1/webhooks/{id}"), &owner)
        .await
        .expect(200);
    assert_eq!(
        endpoint.body["failing_since"],
        Value::Null,
        "{}",
        endpoint.text
    );

    // A replay re-sends the same webhook-id, signed again.
    app.post(
        &format!("/api/v1/webhooks/{id}/messages/{message}/replay"),
        &owner,
        json!({}),
    )
    .await
    .expect(202);
    let deliveries = receiver.wait_for(5, Duration::from_secs(10)).await;
    assert_eq!(deliveries[4]["id"], message.as_str());
    assert_eq!(deliveries[4]["payload"], deliveries[0]["payload"]);
    assert_all_verified(&deliveries);
}

/// The endpoint's delivery log once its newest message has `attempts`
/// attempts: the items of its first page.
async fn wait_log(app: &TestApp, token: &str, id: &str, attempts: usize) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = app
            .get(&format!("/api/v1/webhooks/{id}/messages"), token)
            .await
            .expect(200);
        let count = log.body["items"][0]["attempts"]
            .as_array()
            .map_or(0, Vec::len);
        if count >= attempts {
            return log.body["items"].clone();
        }
        assert!(Instant::now() < deadline, "{}", log.text);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_secret_signs_beside_the_new_one_and_secrets_never_show_again() {
    let app = spawn_app().await;
    let receiver = Receiver::start();
    let owner = app.login(OWNER, Some("alpha")).await.access;
    let (id, old) = create(&app, &owner, &receiver.url("/hook"), &["*"]).await;
    receiver.control(&[&old], json!([])).await;
    app.post(&format!("/api/v1/webhooks/{id}/test"), &owner, json!({}))
        .await
        .expect(202);
    let first = receiver.wait_for(1, Duration::from_secs(10)).await;
    assert_all_verified(&first);
    assert_eq!(
        first[0]["signature"].as_str().unwrap().split(' ').count(),
        1
    );

    let rotated = rotate(&app, &owner, &id).await;
    let new = rotated.body["secret"].as_str().unwrap().to_owned();
    assert!(new.starts_with("whsec_") && new != old);
    // Both are stored sealed: neither is in the table in the clear.
    for secret in [&old, &new] {
        let bare = secret.trim_start_matches("whsec_");
        assert_eq!(
            app.count_rows(&format!(
                "webhook_endpoints WHERE secret LIKE '%{bare}%' OR previous_secret LIKE '%{bare}%'"
            )),
            0
        );
    }
    assert_eq!(
        app.count_rows(&format!(
            "webhook_endpoints WHERE id = '{id}' AND secret LIKE 'sealed:v1:%' AND previous_secret LIKE 'sealed:v1:%'"
        )),
        1
    );
    assert!(
        !rotated.text.contains(&old),
        "rotation answered the old secret"
    );

    // Both secrets verify the next delivery on their own: two signatures.
    receiver.control(&[&new, &old], json!([])).await;
    app.post(&format!("/api/v1/webhooks/{id}/test"), &owner, json!({}))
        .await
        .expect(202);
    let deliveries = receiver.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(deliveries[1]["verified"], json!([true, true]));
    let signature = deliveries[1]["signature"].as_str().unwrap();
    assert_eq!(signature.split(' ').count(), 2, "{signature}");
    assert!(signature.split(' ').all(|sig| sig.starts_with("v1,")));

    // No answer after creation and rotation carries a secret.
    wait_log(&app, &owner, &id, 1).await;
    for path in [
        "/api/v1/webhooks".to_owned(),
        format!("/api/v1/webhooks/{id}"),
        format!("/api/v1/webhooks/{id}/messages"),
        "/api/v1/audit-log".to_owned(),
    ] {
        let reply = app.get(&path, &owner).await.expect(200);
        for secret in [&old, &new] {
            assert!(
                !reply.text.contains(secret.as_str()),
                "{path} shows a secret"
            );
            assert!(!reply.text.contains("whsec_"), "{path} shows a secret");
        }
    }
    let changed = app
        .patch(
            &format!("/api/v1/webhooks/{id}"),
            &owner,
            json!({"description": "renamed"}),
        )
        .await
        .expect(200);
    assert!(!changed.text.contains("whsec_"));
    assert_eq!(changed.body["description"], "renamed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_honoured_and_410_disables_the_endpoint() {
    let app = spawn_app().await;
    let receiver = Receiver::start();
    let owner = app.login(OWNER, Some("alpha")).await.access;
    let (id, secret) = create(&app, &owner, &receiver.url("/hook"), &["webhook.test"]).await;

    // Retry-After: 1 s, where the scaled schedule would wait 5 ms.
    receiver
        .control(&[&secret], json!([{"status": 503, "retry_after": 1}]))
        .await;
    app.post(&format!("/api/v1/webhooks/{id}/test"), &owner, json!({}))
        .await
        .expect(202);
    let deliveries = receiver.wait_for(2, Duration::from_secs(10)).await;
    let gaps = gaps(&deliveries);
    assert!(gaps[0] >= 1.0, "Retry-After ignored: {gaps:?}");
    assert_all_verified(&deliveries);

    // 410 Gone, answered slowly to two deliveries in flight at once: the
    // endpoint is disabled with its reason, once (one audit record, one
    // email job for its owner), and neither is retried.
    receiver
        .control(
            &[&secret],
            json!([{"status": 410, "delay": 0.5}, {"status": 410, "delay": 0.5}]),
        )
        .await;
    for _ in 0..2 {
        app.post(&format!("/api/v1/webhooks/{id}/test"), &owner, json!({}))
            .await
            .expect(202);
    }
    receiver.wait_for(4, Duration::from_secs(10)).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let endpoint = loop {
        let endpoint = app
            .get(&format!("/api/v1/webhooks/{id}"), &owner)
            .await
            .expect(200);
        if endpoint.body["enabled"] == false {
            break endpoint;
        }
        assert!(Instant::now() < deadline, "{}", endpoint.text);
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        endpoint.body["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("410"),
        "{}",
        endpoint.text
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.deliveries().await.len(), 4, "410 was retried");
    assert_eq!(
        app.count_rows(&format!(
            "audit_log WHERE entity_id = '{id}' AND action = 'webhook_endpoint.disable'"
        )),
        1,
        "disabled once"
    );
    assert_eq!(
        app.count_rows("jobs WHERE args->>'event' = 'webhook.disabled'"),
        1,
        "the owner is told once"
    );
    // A disabled endpoint receives nothing.
    app.post(&format!("/api/v1/webhooks/{id}/test"), &owner, json!({}))
        .await
        .expect(202);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.deliveries().await.len(), 4);
    let audit = app.get("/api/v1/audit-log", &owner).await.expect(200);
    assert!(
        audit.text.contains("webhook_endpoint.disable"),
        "{}",
        audit.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_addresses_and_bad_input_are_refused_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let owner = app.login(OWNER, Some("alpha")).await.access;
    for url in [
        "http://127.0.0.1/",
        "http://10.0.0.1/",
        "http://169.254.169.254/",
        "http://[::1]/",
        "http://localhost/",
        "http://[::ffff:127.0.0.1]/",
        "http://100.64.0.1/",
    ] {
        let reply = app
            .post(
                "/api/v1/webhooks",
                &owner,
                json!({"url": url, "events": ["page.published"]}),
            )
            .await
            .expect_problem(422);
        assert_eq!(reply.error_fields(), ["url"], "{url}: {}", reply.text);
    }
    for url in ["ftp://93.184.216.34/", "file:///etc/passwd", "not a url"] {
        let reply = app
            .post(
                "/api/v1/webhooks",
                &owner,
                json!({"url": url, "events": ["page.published"]}),
            )
            .await
            .expect_problem(422);
        assert_eq!(reply.error_fields(), ["url"], "{url}: {}", reply.text);
    }
    let reply = app
        .post(
            "/api/v1/webhooks",
            &owner,
            json!({"url": "http://93.184.216.34/hook", "events": ["page.published", "page.exploded"]}),
        )
        .await
        .expect_problem(422);
    assert_eq!(reply.error_fields(), ["events.1"], "{}", reply.text);
    let reply = app
        .post(
            "/api/v1/webhooks",
            &owner,
            json!({"url": "http://93.184.216.34/hook", "events": []}),
        )
        .await
        .expect_problem(422);
    assert_eq!(reply.error_fields(), ["events"], "{}", reply.text);
    assert_eq!(app.count_rows("webhook_endpoints"), DEMO_ENDPOINTS);

    // A public address is accepted; moving it to a private one is refused.
    let created = app
        .post(
            "/api/v1/webhooks",
            &owner,
            json!({"url": "http://93.184.216.34/hook", "events": ["*"]}),
        )
        .await
        .expect(201);
    let id = created.body["id"].as_str().unwrap();
    let reply = app
        .patch(
            &format!("/api/v1/webhooks/{id}"),
            &owner,
            json!({"url": "http://192.168.1.1/"}),
        )
        .await
        .expect_problem(422);
    assert_eq!(reply.error_fields(), ["url"]);
    let endpoint = app.get(&format!("/api/v1/webhooks/{id}"), &owner).await;
    assert_eq!(endpoint.body["url"], "http://93.184.216.34/hook");
    assert_eq!(endpoint.body["version"], 1);

    // Editors do not manage webhooks.
    let editor = app.login(ALPHA_EDITOR, None).await.access;
    app.get("/api/v1/webhooks", &editor)
        .await
        .expect_problem(403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_tenant_cannot_see_replay_or_delete_an_endpoint() {
    let app = spawn_app().await;
    let receiver = Receiver::start();
    let alpha = app.login(OWNER, Some("alpha")).await.access;
    let beta = app.login(OWNER, Some("beta")).await.access;
    let (id, secret) = create(&app, &alpha, &receiver.url("/hook"), &["webhook.test"]).await;
    receiver.control(&[&secret], json!([])).await;
    let sent = app
        .post(&format!("/api/v1/webhooks/{id}/test"), &alpha, json!({}))
        .await
        .expect(202);
    let message = sent.body["id"].as_str().unwrap().to_owned();
    receiver.wait_for(1, Duration::from_secs(10)).await;

    // Beta lists only its own (the demo seed's) endpoint.
    let listed = app.get("/api/v1/webhooks", &beta).await.expect(200);
    let listed = listed.body["items"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["url"], "https://hooks.example.com/cms");
    assert!(!listed.iter().any(|endpoint| endpoint["id"] == id.as_str()));
    app.get(&format!("/api/v1/webhooks/{id}"), &beta)
        .await
        .expect_problem(404);
    app.get(&format!("/api/v1/webhooks/{id}/messages"), &beta)
        .await
        .expect_problem(404);
    for path in [
        format!("/api/v1/webhooks/{id}/messages/{message}/replay"),
        format!("/api/v1/webhooks/{id}/rotate-secret"),
        format!("/api/v1/webhooks/{id}/test"),
    ] {
        app.post(&path, &beta, json!({})).await.expect_problem(404);
    }
    app.patch(
        &format!("/api/v1/webhooks/{id}"),
        &beta,
        json!({"enabled": false}),
    )
    .await
    .expect_problem(404);
    app.delete(&format!("/api/v1/webhooks/{id}"), &beta)
        .await
        .expect_problem(404);

    // Beta's own endpoint cannot replay alpha's message either.
    let (beta_id, _) = create(&app, &beta, &receiver.url("/beta"), &["*"]).await;
    app.post(
        &format!("/api/v1/webhooks/{beta_id}/messages/{message}/replay"),
        &beta,
        json!({}),
    )
    .await
    .expect_problem(404);

    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.deliveries().await.len(), 1);
    let endpoint = app
        .get(&format!("/api/v1/webhooks/{id}"), &alpha)
        .await
        .expect(200);
    assert_eq!(endpoint.body["enabled"], true);
    assert_eq!(endpoint.body["version"], 1);
    app.delete(&format!("/api/v1/webhooks/{id}"), &alpha)
        .await
        .expect(204);
    assert_eq!(app.count_rows("webhook_endpoints"), DEMO_ENDPOINTS + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_a_page_sends_page_published_once() {
    let app = spawn_app().await;
    let receiver = Receiver::start();
    let owner = app.login(OWNER, Some("alpha")).await.access;
    let (_, secret) = create(&app, &owner, &receiver.url("/hook"), &["page.published"]).await;
    receiver.control(&[&secret], json!([])).await;

    let site = app.first_site(&owner).await;
    let page = app
        .draft_page(&owner, &site, "/webhooked", "Webhooked")
        .await;
    let page_id = page["id"].as_str().unwrap();
    app.publish(&owner, page_id).await.expect(200);

    let deliveries = receiver.wait_for(1, Duration::from_secs(10)).await;
    assert_all_verified(&deliveries);
    let payload = &deliveries[0]["payload"];
    assert_eq!(payload["type"], "page.published");
    assert_eq!(payload["data"]["id"], page_id);
    assert_eq!(payload["data"]["status"], "published");
    assert!(payload["timestamp"].is_string());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.deliveries().await.len(), 1);
    assert_eq!(app.count_rows("webhook_messages"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_failing_for_five_days_is_disabled_on_its_next_failure() {
    use diesel::RunQueryDsl;
    let app = spawn_app().await;
    let receiver = Receiver::start();
    let owner = app.login(OWNER, Some("alpha")).await.access;
    let (id, secret) = create(&app, &owner, &receiver.url("/hook"), &["webhook.test"]).await;
    // The owner is told by email, through the tenant's SMTP provider.
    let smtp = SmtpServer::start().await;
    app.send(
        reqwest::Method::PUT,
        "/api/v1/notification-providers/smtp",
        Some(&owner),
        Some(
            &json!({"credentials": {}, "base_url": format!("smtp://127.0.0.1:{}", smtp.port),
                     "sender": "cms@alpha.example"}),
        ),
        &[],
    )
    .await
    .expect(200);
    app.send(
        reqwest::Method::PUT,
        "/api/v1/notification-settings",
        Some(&owner),
        Some(
            &json!({"reminder_offsets": [1440], "quiet_start": "21:00", "quiet_end": "09:00",
                     "channels": ["sms", "email"], "locale": "en"}),
        ),
        &[],
    )
    .await
    .expect(200);
    let mut conn = app.admin_connection();
    diesel::sql_query(format!(
        "UPDATE webhook_endpoints SET failing_since = now() - interval '5 days 1 minute' WHERE id = '{id}'"
    ))
    .execute(&mut conn)
    .unwrap();
    receiver.control(&[&secret], json!([{"status": 500}])).await;
    app.post(&format!("/api/v1/webhooks/{id}/test"), &owner, json!({}))
        .await
        .expect(202);
    receiver.wait_for(1, Duration::from_secs(10)).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let endpoint = app
            .get(&format!("/api/v1/webhooks/{id}"), &owner)
            .await
            .expect(200);
        if endpoint.body["enabled"] == false {
            assert_eq!(endpoint.body["disabled_reason"], "failing for 5 days");
            break;
        }
        assert!(Instant::now() < deadline, "{}", endpoint.text);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    while !smtp.received().contains("Reason: failing for 5 days") {
        assert!(
            Instant::now() < deadline,
            "the owner was not told; aiosmtpd got: {}",
            smtp.received()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let email = smtp.received();
    assert!(
        email.contains("Subject: Webhook endpoint disabled"),
        "{email}"
    );
    assert!(email.contains(&format!("To: {OWNER}")), "{email}");
    assert!(email.contains(&receiver.url("/hook")), "{email}");
    assert!(!email.contains(&secret), "the secret is never mailed");
    assert_eq!(
        receiver.deliveries().await.len(),
        1,
        "retried after disabling"
    );

    // Enabled again by hand, it starts with a clean record and receives.
    let enabled = app
        .patch(
            &format!("/api/v1/webhooks/{id}"),
            &owner,
            json!({"enabled": true}),
        )
        .await
        .expect(200);
    assert_eq!(enabled.body["failing_since"], Value::Null);
    assert_eq!(enabled.body["disabled_reason"], Value::Null);
    app.post(&format!("/api/v1/webhooks/{id}/test"), &owner, json!({}))
        .await
        .expect(202);
    let deliveries = receiver.wait_for(2, Duration::from_secs(10)).await;
    assert_all_verified(&deliveries);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_is_sent_to_endpoints_subscribed_to_it_only() {
    let app = spawn_app().await;
    let receiver = Receiver::start();
    let owner = app.login(OWNER, Some("alpha")).await.access;
    let (_, leads) = create(&app, &owner, &receiver.url("/leads"), &["lead.created"]).await;
    let (_, _pages_secret) =
        create(&app, &owner, &receiver.url("/pages"), &["page.published"]).await;
    receiver.control(&[&leads], json!([])).await;

    let site = app.first_site(&owner).await;
    let lead = app
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/delivery/sites/{site}/leads"),
            None,
            Some(&json!({"path": "/", "fields": {"name": "Ann", "phone": "+7 (900) 123-45-67"}})),
            &[],
        )
        .await
        .expect(201);
    let deliveries = receiver.wait_for(1, Duration::from_secs(10)).await;
    assert_all_verified(&deliveries);
    assert_eq!(deliveries[0]["path"], "/leads");
    assert_eq!(deliveries[0]["payload"]["type"], "lead.created");
    assert_eq!(deliveries[0]["payload"]["data"]["id"], lead.body["id"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        receiver.deliveries().await.len(),
        1,
        "the page.published endpoint got a lead"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appointment_review_and_experiment_changes_reach_a_catch_all_endpoint() {
    let app = spawn_app().await;
    let receiver = Receiver::start();
    let owner = app.login(OWNER, Some("alpha")).await.access;
    let (_, secret) = create(&app, &owner, &receiver.url("/all"), &["*"]).await;
    receiver.control(&[&secret], json!([])).await;

    // A guest books; staff confirm, then cancel.
    let site = site_of(&app, "alpha.localhost").await;
    let day = working_day();
    let slots = app
        .public(
            &format!("/api/v1/delivery/sites/{site}/available-slots?doctor=boris-petrov&service=consultation&date={day}"),
            &[],
        )
        .await
        .expect(200);
    let start = slots.body["items"][0]["start"].as_str().unwrap().to_owned();
    let booked = app
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/delivery/sites/{site}/appointments"),
            None,
            Some(
                &json!({"doctor": "boris-petrov", "service": "consultation", "start": start,
                         "name": "Guest Visitor", "phone": "+7 916 700-00-01"}),
            ),
            &[],
        )
        .await
        .expect(201);
    let appointment = booked.body["id"].as_str().unwrap().to_owned();
    for status in ["confirmed", "cancelled"] {
        app.post(
            &format!("/api/v1/appointments/{appointment}/status"),
            &owner,
            json!({"status": status}),
        )
        .await
        .expect(200);
    }

    // A patient reviews a doctor; staff publish it.
    let patient = app.login("patient@alpha.example", None).await.access;
    let doctors = app
        .get("/api/v1/doctors?limit=200", &owner)
        .await
        .expect(200);
    let doctor = doctors.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["slug"] == "kirill-morozov")
        .unwrap()["id"]
        .clone();
    let review = app
        .post(
            "/api/v1/reviews",
            &patient,
            json!({"doctor_id": doctor, "rating": 5, "comment": "Kind and precise"}),
        )
        .await
        .expect(201);
    let review = review.body["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/api/v1/reviews/{review}/publish"),
        &owner,
        json!({}),
    )
    .await
    .expect(200);

    // The home page's demo experiment: paused, started again, completed.
    let (_, experiment) = app.home_experiment(&owner).await;
    let experiment = experiment["id"].as_str().unwrap().to_owned();
    for step in ["pause", "start", "complete"] {
        app.post(
            &format!("/api/v1/experiments/{experiment}/{step}"),
            &owner,
            json!({}),
        )
        .await
        .expect(200);
    }

    let expected = [
        ("appointment.created", appointment.as_str()),
        ("appointment.updated", appointment.as_str()),
        ("appointment.cancelled", appointment.as_str()),
        ("review.created", review.as_str()),
        ("review.published", review.as_str()),
        ("experiment.started", experiment.as_str()),
        ("experiment.completed", experiment.as_str()),
    ];
    let deadline = Instant::now() + Duration::from_secs(20);
    let deliveries = loop {
        let deliveries = receiver.deliveries().await;
        let types: Vec<String> = deliveries
            .iter()
            .map(|d| d["payload"]["type"].as_str().unwrap_or_default().to_owned())
            .collect();
        if expected
            .iter()
            .all(|(kind, _)| types.iter().any(|t| t == kind))
        {
            break deliveries;
        }
        assert!(Instant::now() < deadline, "received only {types:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_all_verified(&deliveries);
    for (kind, id) in expected {
        let sent: Vec<&Value> = deliveries
            .iter()
            .filter(|d| d["payload"]["type"] == kind)
            .collect();
        assert_eq!(sent.len(), 1, "{kind} once");
        assert_eq!(sent[0]["payload"]["data"]["id"], id, "{kind}");
    }
    let cancelled = deliveries
        .iter()
        .find(|d| d["payload"]["type"] == "appointment.cancelled")
        .unwrap();
    assert_eq!(cancelled["payload"]["data"]["status"], "cancelled");
}

/// Secrets leave the api only in the answers that create or rotate them:
/// the `api serve` process (HTTP and its in-process worker), logging at
/// `debug`, never writes an endpoint's secrets (current and rotated out, with
/// or without `whsec_`) nor a provider credential, while it creates, rotates,
/// signs, fails and retries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_and_credentials_appear_in_no_log_line() {
    let key = cms_api::auth::tokens::SigningKey::generate_pem().unwrap();
    // The in-process app only provides the database and the tokens' key;
    // requests go to the api process below.
    let mut app = TestApp::spawn_with(HashMap::from([
        ("CMS_JWT_PRIVATE_KEY", key.clone()),
        ("CMS_JOBS", "off".to_owned()),
    ]))
    .await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log_path = std::env::temp_dir().join(format!("cms-api-{}.log", uuid::Uuid::now_v7()));
    let log = std::fs::File::create(&log_path).unwrap();
    let mut api = Command::new(api_binary())
        .arg("serve")
        .env("DATABASE_URL", app.db.app_url())
        .env("CMS_SECRETS_KEY", &*cms_tests::TEST_SECRETS_KEY)
        .env("REDIS_URL", redis_url())
        .env(
            "CMS_REDIS_PREFIX",
            format!("test:{}:", uuid::Uuid::now_v7().simple()),
        )
        .env("CMS_JWT_PRIVATE_KEY", &key)
        .env("CMS_API_ADDR", format!("127.0.0.1:{port}"))
        .env("CMS_WEBHOOK_ALLOW_HOSTS", "127.0.0.1/32")
        .env("CMS_WEBHOOK_SCHEDULE_SCALE", "0.001")
        .env("CMS_JOB_POLL_MS", "50")
        .env("RUST_LOG", "debug")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    app.address = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the api process did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let receiver = Receiver::start();
    let owner = app.login(OWNER, Some("alpha")).await.access;
    let (id, first) = create(&app, &owner, &receiver.url("/hook"), &["*"]).await;
    let rotated = rotate(&app, &owner, &id).await;
    let second = rotated.body["secret"].as_str().unwrap().to_owned();
    const CREDENTIAL: &str = "sms-api-id-7c1d0f3e9b";
    app.send(
        reqwest::Method::PUT,
        "/api/v1/notification-providers/sms_ru",
        Some(&owner),
        Some(&json!({"credentials": {"api_id": CREDENTIAL}})),
        &[],
    )
    .await
    .expect(200);
    // One failed attempt, then a delivery signed with both secrets.
    receiver
        .control(&[&first, &second], json!([{"status": 500}]))
        .await;
    app.post(&format!("/api/v1/webhooks/{id}/test"), &owner, json!({}))
        .await
        .expect(202);
    let deliveries = receiver.wait_for(2, Duration::from_secs(20)).await;
    assert_eq!(deliveries[1]["verified"], json!([true, true]));

    api.kill().unwrap();
    api.wait().unwrap();
    let output = std::fs::read_to_string(&log_path).unwrap();
    let _ = std::fs::remove_file(&log_path);
    assert!(output.contains("webhook"), "the api logged: {output}");
    for secret in [&first, &second] {
        let bare = secret.trim_start_matches("whsec_");
        assert!(!output.contains(bare), "a webhook secret was logged");
    }
    assert!(!output.contains(CREDENTIAL), "a credential was logged");
}

#[tokio::test]
async fn endpoint_writes_honour_if_match() {
    let app = spawn_app().await;
    let owner = app.login(OWNER, Some("alpha")).await.access;
    let (id, _) = create(&app, &owner, "http://93.184.216.34/hook", &["lead.created"]).await;
    let read = app
        .get(&format!("/api/v1/webhooks/{id}"), &owner)
        .await
        .expect(200);
    let etag = read.header("etag").unwrap().to_owned();
    let changed = app
        .send(
            reqwest::Method::PATCH,
            &format!("/api/v1/webhooks/{id}"),
            Some(&owner),
            Some(&json!({"description": "first"})),
            &[("If-Match", &etag)],
        )
        .await
        .expect(200);
    assert_ne!(changed.header("etag").unwrap(), etag);
    // The same ETag again is stale: refused, nothing written.
    app.send(
        reqwest::Method::PATCH,
        &format!("/api/v1/webhooks/{id}"),
        Some(&owner),
        Some(&json!({"description": "second"})),
        &[("If-Match", &etag)],
    )
    .await
    .expect_problem(412);
    app.send(
        reqwest::Method::DELETE,
        &format!("/api/v1/webhooks/{id}"),
        Some(&owner),
        None,
        &[("If-Match", &etag)],
    )
    .await
    .expect_problem(412);
    let now = app
        .get(&format!("/api/v1/webhooks/{id}"), &owner)
        .await
        .expect(200);
    assert_eq!(now.body["description"], "first");
    app.send(
        reqwest::Method::DELETE,
        &format!("/api/v1/webhooks/{id}"),
        Some(&owner),
        None,
        &[("If-Match", now.header("etag").unwrap())],
    )
    .await
    .expect(204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_delivery_log_pages_newest_first() {
    let app = spawn_app().await;
    let receiver = Receiver::start();
    let owner = app.login(OWNER, Some("alpha")).await.access;
    let (id, secret) = create(&app, &owner, &receiver.url("/hook"), &["webhook.test"]).await;
    receiver.control(&[&secret], json!([])).await;
    let mut sent = Vec::new();
    for _ in 0..3 {
        let message = app
            .post(&format!("/api/v1/webhooks/{id}/test"), &owner, json!({}))
            .await
            .expect(202);
        sent.push(message.body["id"].as_str().unwrap().to_owned());
        receiver.wait_for(sent.len(), Duration::from_secs(10)).await;
    }
    // The receiver has all three; the api logs each attempt after its answer.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = app
            .get(&format!("/api/v1/webhooks/{id}/messages"), &owner)
            .await
            .expect(200);
        let logged = log.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["attempts"].as_array().is_some_and(|a| !a.is_empty()))
            .count();
        if logged == 3 {
            break;
        }
        assert!(Instant::now() < deadline, "{}", log.text);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let first = app
        .get(&format!("/api/v1/webhooks/{id}/messages?limit=2"), &owner)
        .await
        .expect(200);
    let ids = |page: &Reply| -> Vec<String> {
        page.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&first), [sent[2].clone(), sent[1].clone()]);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = app
        .get(
            &format!("/api/v1/webhooks/{id}/messages?limit=2&cursor={cursor}"),
            &owner,
        )
        .await
        .expect(200);
    assert_eq!(ids(&second), [sent[0].clone()]);
    assert_eq!(second.body["next_cursor"], Value::Null);
    let bad = app
        .get(&format!("/api/v1/webhooks/{id}/messages?limit=0"), &owner)
        .await
        .expect_problem(422);
    assert_eq!(bad.error_fields(), ["limit"]);

    // Endpoints page the same way.
    let endpoints = app
        .get("/api/v1/webhooks?limit=1", &owner)
        .await
        .expect(200);
    assert_eq!(endpoints.body["items"].as_array().unwrap().len(), 1);
    assert!(endpoints.body["next_cursor"].is_string());
}

/// Deliveries to one endpoint run side by side (the `webhooks` queue runs 20
/// at once): each is sent once and logged once, and none fails on the
/// endpoint's row (logging an attempt used to lock it after the attempt's
/// foreign key had share-locked it: concurrent deliveries deadlocked).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_to_one_endpoint_is_delivered_and_logged_once_each() {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        count: i64,
    }
    let count = |conn: &mut diesel::PgConnection, sql: String| {
        diesel::sql_query(sql)
            .get_result::<Count>(conn)
            .unwrap()
            .count
    };
    let app = spawn_app().await;
    let receiver = Receiver::start();
    let owner = app.login(OWNER, Some("alpha")).await.access;
    let (id, secret) = create(&app, &owner, &receiver.url("/hook"), &["webhook.test"]).await;
    receiver.control(&[&secret], json!([])).await;

    // 40 messages and their deliveries in one commit: the worker takes them at once.
    let mut conn = app.admin_connection();
    diesel::sql_query(format!(
        "WITH messages AS (
             INSERT INTO webhook_messages (id, tenant_id, event_type, payload)
             SELECT gen_random_uuid(), tenant_id, 'webhook.test',
                    jsonb_build_object('type', 'webhook.test', 'data', jsonb_build_object('n', n))
             FROM webhook_endpoints, generate_series(1, 40) AS n WHERE id = '{id}'
             RETURNING id, tenant_id)
         INSERT INTO jobs (id, tenant_id, queue, kind, args, max_attempts, unique_key)
         SELECT gen_random_uuid(), tenant_id, 'webhooks', 'webhook.deliver',
                jsonb_build_object('message_id', id, 'endpoint_id', '{id}'), 8,
                'webhook:' || id || ':{id}'
         FROM messages"
    ))
    .execute(&mut conn)
    .unwrap();
    diesel::sql_query("NOTIFY cms_jobs, 'webhooks'")
        .execute(&mut conn)
        .unwrap();

    let jobs = format!("FROM jobs WHERE unique_key LIKE 'webhook:%:{id}'");
    let deadline = Instant::now() + Duration::from_secs(20);
    while count(
        &mut conn,
        format!("SELECT count(*) AS count {jobs} AND state <> 'completed'"),
    ) > 0
    {
        assert!(Instant::now() < deadline, "the deliveries did not finish");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let failed = count(
        &mut conn,
        format!("SELECT count(*) AS count {jobs} AND errors <> '[]'::jsonb"),
    );
    assert_eq!(failed, 0, "some deliveries failed an attempt");
    let attempts = count(
        &mut conn,
        format!("SELECT count(*) AS count FROM webhook_attempts WHERE endpoint_id = '{id}'"),
    );
    assert_eq!(attempts, 40);
    let deliveries = receiver.deliveries().await;
    assert_all_verified(&deliveries);
    let ids: std::collections::HashSet<&str> = deliveries
        .iter()
        .map(|delivery| delivery["id"].as_str().unwrap())
        .collect();
    assert_eq!((deliveries.len(), ids.len()), (40, 40));
}

/// A secret sealed under a key the api no longer has (dropped from
/// `CMS_SECRETS_KEY_OLD` too early) does not lose deliveries: they are
/// retried, nothing is sent unsigned, and once the key is back (here: the
/// stored value restored) the retry goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_that_does_not_open_is_retried_not_dropped() {
    use diesel::RunQueryDsl;
    let app = spawn_app().await;
    let receiver = Receiver::start();
    let owner = app.login(OWNER, Some("alpha")).await.access;
    let (id, secret) = create(&app, &owner, &receiver.url("/hook"), &["webhook.test"]).await;
    receiver.control(&[&secret], json!([])).await;
    let mut conn = app.admin_connection();
    diesel::sql_query(format!(
        "UPDATE webhook_endpoints SET secret = regexp_replace(secret, '^sealed:v1:[0-9a-f]+:', 'sealed:v1:0000000000000000:') WHERE id = '{id}'"
    ))
    .execute(&mut conn)
    .unwrap();
    app.post(&format!("/api/v1/webhooks/{id}/test"), &owner, json!({}))
        .await
        .expect(202);
    let job = first_failed_delivery_job(&app, &owner).await;
    let job_id = job["id"].as_str().unwrap().to_owned();
    // Before the key is back: not discarded, the reason kept, nothing sent.
    assert_ne!(job["state"], "discarded", "{job}");
    assert!(job["errors"].to_string().contains("does not open"), "{job}");
    assert!(receiver.deliveries().await.is_empty(), "sent unsigned");
    // Put the stored value back, then run the job now (it may already be
    // running again on its own schedule).
    diesel::sql_query(format!(
        "UPDATE webhook_endpoints SET secret = regexp_replace(secret, '^sealed:v1:0000000000000000:', 'sealed:v1:' || '{}' || ':') WHERE id = '{id}'",
        key_id_of(&app)
    ))
    .execute(&mut conn)
    .unwrap();
    app.post(&format!("/api/v1/jobs/{job_id}/retry"), &owner, json!({}))
        .await;
    let deliveries = receiver.wait_for(1, Duration::from_secs(20)).await;
    assert_all_verified(&deliveries);
}

/// A URL whose host resolved to a public address when it was saved and
/// resolves to 127.0.0.1 at delivery is refused then: the (local) receiver
/// never gets it, and the job says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_host_that_turns_local_after_saving_is_refused_at_send_time() {
    let hosts = HostsFile::new(&[("hook.test", "93.184.216.34")]);
    let app = TestApp::spawn_with(HashMap::from([
        ("CMS_OUTBOUND_HOSTS_FILE", hosts.path()),
        ("CMS_WEBHOOK_SCHEDULE_SCALE", "0.001".to_owned()),
        ("CMS_JOB_POLL_MS", "50".to_owned()),
    ]))
    .await;
    let receiver = Receiver::start();
    let owner = app.login(OWNER, Some("alpha")).await.access;
    let port = receiver.base.rsplit(':').next().unwrap().to_owned();
    let (id, secret) = create(
        &app,
        &owner,
        &format!("http://hook.test:{port}/hook"),
        &["webhook.test"],
    )
    .await;
    receiver.control(&[&secret], json!([])).await;
    hosts.set(&[("hook.test", "127.0.0.1")]);
    app.post(&format!("/api/v1/webhooks/{id}/test"), &owner, json!({}))
        .await
        .expect(202);
    let job = first_failed_delivery_job(&app, &owner).await;
    assert!(job.to_string().contains("127.0.0.1"), "{job}");
    assert!(
        receiver.deliveries().await.is_empty(),
        "delivered to 127.0.0.1"
    );
}

/// A receiver answering 307 or 302 towards another (local) address is not
/// followed: each is a failed attempt, retried at the endpoint itself. (A
/// followed 307 would POST the delivery there again; a 302 would GET it.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_is_not_followed() {
    let app = spawn_app().await;
    let receiver = Receiver::start();
    let elsewhere = Receiver::start();
    let owner = app.login(OWNER, Some("alpha")).await.access;
    let (id, secret) = create(&app, &owner, &receiver.url("/hook"), &["webhook.test"]).await;
    receiver
        .control(
            &[&secret],
            json!([
                {"status": 307, "location": elsewhere.url("/stolen")},
                {"status": 302, "location": elsewhere.url("/stolen")}
            ]),
        )
        .await;
    app.post(&format!("/api/v1/webhooks/{id}/test"), &owner, json!({}))
        .await
        .expect(202);
    // The 307, the 302, then the retry at the endpoint (answered 200).
    let deliveries = receiver.wait_for(3, Duration::from_secs(10)).await;
    assert_eq!(deliveries[0]["answered"], 307);
    assert_eq!(deliveries[1]["answered"], 302);
    assert!(
        elsewhere.deliveries().await.is_empty(),
        "the redirect was followed"
    );
}

/// The newest delivery job once it has failed at least once (or was
/// discarded): what it recorded.
async fn first_failed_delivery_job(app: &TestApp, owner: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let jobs = app
            .get("/api/v1/jobs?queue=webhooks&kind=webhook.deliver", owner)
            .await
            .expect(200);
        let job = jobs.body["items"][0].clone();
        if job["errors"].as_array().is_some_and(|e| !e.is_empty()) || job["state"] == "discarded" {
            return job;
        }
        assert!(Instant::now() < deadline, "{}", jobs.text);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `api secrets reseal` against the test api's database, with its key.
fn reseal(app: &TestApp) -> String {
    let out = Command::new(api_binary())
        .args(["secrets", "reseal"])
        .env("DATABASE_URL", app.db.app_url())
        .env("CMS_SECRETS_KEY", &*cms_tests::TEST_SECRETS_KEY)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// A secret stored in the clear (before sealing existed) is sealed by
/// `api secrets reseal`, deliveries still verify with it, and a second run
/// finds nothing left to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reseal_seals_a_clear_text_secret_and_deliveries_still_verify() {
    use diesel::RunQueryDsl;
    let app = spawn_app().await;
    let receiver = Receiver::start();
    let owner = app.login(OWNER, Some("alpha")).await.access;
    let (id, secret) = create(&app, &owner, &receiver.url("/hook"), &["webhook.test"]).await;
    receiver.control(&[&secret], json!([])).await;
    let mut conn = app.admin_connection();
    diesel::sql_query(format!(
        "UPDATE webhook_endpoints SET secret = '{secret}' WHERE id = '{id}'"
    ))
    .execute(&mut conn)
    .unwrap();

    let first = reseal(&app);
    let resealed: usize = first
        .lines()
        .find_map(|line| line.strip_prefix("alpha: "))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("no line for alpha: {first}"));
    assert!(resealed >= 1, "{first}");
    assert!(first.contains("0 unreadable"), "{first}");
    #[derive(diesel::QueryableByName)]
    struct Stored {
        #[diesel(sql_type = diesel::sql_types::Text)]
        secret: String,
    }
    let stored = diesel::sql_query(format!(
        "SELECT secret FROM webhook_endpoints WHERE id = '{id}'"
    ))
    .get_result::<Stored>(&mut conn)
    .unwrap()
    .secret;
    assert!(
        stored.starts_with(&format!("sealed:v1:{}:", key_id_of(&app))),
        "{stored}"
    );
    assert!(!stored.contains(secret.trim_start_matches("whsec_")));

    let second = reseal(&app);
    assert!(second.contains("all tenants: 0 resealed"), "{second}");

    app.post(&format!("/api/v1/webhooks/{id}/test"), &owner, json!({}))
        .await
        .expect(202);
    let deliveries = receiver.wait_for(1, Duration::from_secs(20)).await;
    assert_all_verified(&deliveries);
}

/// The id of the key this test api seals with (the development key).
fn key_id_of(app: &TestApp) -> String {
    cms_api::secrets::key_id(&app.config.secrets_key)
}
