//! The outbound guard on save: a webhook URL, an SMS provider's `base_url`
//! and an SMTP provider's host that resolve into any special-purpose range of
//! the IANA registries answer 422 naming the field, and nothing is written.
//! Names resolve through the guard's hosts file (`CMS_OUTBOUND_HOSTS_FILE`),
//! so every range is tried behind a name as well as literally.
//! Sends check again: see `webhooks.rs` and `notifications.rs`
//! (`..._turns_local_after_saving_is_refused_at_send_time`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use cms_tests::{HostsFile, TestApp, PLATFORM_ADMIN};
use reqwest::Method;
use serde_json::json;

/// One address of every refused range.
const REFUSED: &[&str] = &[
    "0.0.0.1",
    "10.0.0.5",
    "100.64.0.1",
    "127.0.0.1",
    "169.254.169.254",
    "172.16.0.1",
    "192.0.0.8",
    "192.0.2.1",
    "192.88.99.1",
    "192.168.1.1",
    "198.18.0.1",
    "198.51.100.1",
    "203.0.113.1",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "::ffff:127.0.0.1",
    "::127.0.0.1",
    "64:ff9b::a9fe:a9fe",
    "100::1",
    "2001::1",
    "2001:db8::1",
    "2002:7f00:1::1",
    "fc00::1",
    "fe80::1",
    "fec0::1",
    "ff02::1",
];

fn literal(ip: &str) -> String {
    if ip.contains(':') {
        format!("[{ip}]")
    } else {
        ip.to_owned()
    }
}

#[tokio::test]
async fn every_special_range_is_refused_on_save_for_webhooks_sms_and_smtp() {
    let hosts = HostsFile::new(&[]);
    let app = TestApp::spawn_with(HashMap::from([
        ("CMS_OUTBOUND_HOSTS_FILE", hosts.path()),
        // A name providers may use: its addresses are still checked.
        ("CMS_OUTBOUND_ALLOW_HOSTS", "sms.test".to_owned()),
    ]))
    .await;
    let owner = app.login(PLATFORM_ADMIN, Some("alpha")).await.access;
    let endpoints_before = app.count_rows("webhook_endpoints");
    let mut failures = Vec::new();
    for ip in REFUSED {
        hosts.set(&[("hook.test", ip), ("sms.test", ip), ("smtp.test", ip)]);
        let attempts = [
            (
                "url",
                "/api/v1/webhooks",
                Method::POST,
                json!({"url": format!("http://{}/hook", literal(ip)), "events": ["webhook.test"]}),
            ),
            (
                "url",
                "/api/v1/webhooks",
                Method::POST,
                json!({"url": "https://hook.test/hook", "events": ["webhook.test"]}),
            ),
            (
                "base_url",
                "/api/v1/notification-providers/sms_ru",
                Method::PUT,
                json!({"credentials": {"api_id": "x"}, "base_url": "http://sms.test:8080/"}),
            ),
            (
                "base_url",
                "/api/v1/notification-providers/smtp",
                Method::PUT,
                json!({"credentials": {}, "base_url": "smtp://smtp.test:2525",
                       "sender": "clinic@alpha.example"}),
            ),
            (
                "base_url",
                "/api/v1/notification-providers/smtp",
                Method::PUT,
                json!({"credentials": {}, "base_url": format!("smtp://{}:25", literal(ip)),
                       "sender": "clinic@alpha.example"}),
            ),
        ];
        for (field, path, method, body) in attempts {
            let reply = app.send(method, path, Some(&owner), Some(&body), &[]).await;
            if reply.status != 422
                || reply.error_fields() != [field]
                || !reply.text.contains("only public addresses")
            {
                failures.push(format!(
                    "{ip} {path} {body}: {} {}",
                    reply.status, reply.text
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(app.count_rows("webhook_endpoints"), endpoints_before);
    assert_eq!(app.count_rows("notification_providers"), 0);

    // An SMS provider pointed at a host the operator did not allow, and an
    // SMTP provider with no server on a host without a relay.
    let elsewhere = app
        .send(
            Method::PUT,
            "/api/v1/notification-providers/smsc",
            Some(&owner),
            Some(&json!({"credentials": {"login": "a", "password": "b"},
                         "base_url": "https://evil.example/"})),
            &[],
        )
        .await
        .expect_problem(422);
    assert_eq!(elsewhere.error_fields(), ["base_url"]);
    let no_server = app
        .send(
            Method::PUT,
            "/api/v1/notification-providers/smtp",
            Some(&owner),
            Some(&json!({"credentials": {}, "sender": "clinic@alpha.example"})),
            &[],
        )
        .await
        .expect_problem(422);
    assert_eq!(no_server.error_fields(), ["base_url"]);
    // A public address passes.
    hosts.set(&[("sms.test", "93.184.216.34")]);
    app.send(
        Method::PUT,
        "/api/v1/notification-providers/sms_ru",
        Some(&owner),
        Some(&json!({"credentials": {"api_id": "x"}, "base_url": "http://sms.test:8080/"})),
        &[],
    )
    .await
    .expect(200);
}
