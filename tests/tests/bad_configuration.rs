//! Bad scale-out configuration at start (issue 16): an unreachable replica
//! URL, the primary named as a replica, and a Sentinel that knows no master
//! for the service. The built `api serve` runs with all three at once: each
//! gets one clear log line, and the api serves from what works.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cms_tests::{api_binary, free_port, PrivateRedis, TestApp, TEST_SECRETS_KEY};
use serde_json::Value;

/// What one expected log line says: its level, a part of its message, and
/// fields it carries.
struct Expected {
    level: &'static str,
    message: &'static str,
    fields: &'static [(&'static str, &'static str)],
}

impl Expected {
    fn matches(&self, line: &Value) -> bool {
        line["level"] == self.level
            && line["fields"]["message"]
                .as_str()
                .is_some_and(|message| message.contains(self.message))
            && self
                .fields
                .iter()
                .all(|(name, value)| line["fields"][*name] == *value)
    }
}

/// The api process, killed when the test ends, passed or not.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_replicas_and_a_sentinel_without_a_master_are_logged_and_the_api_serves() {
    let app = TestApp::spawn().await;
    // A Sentinel that watches nothing: it answers, and names no master.
    let dir = std::env::temp_dir().join(format!("cms-bad-config-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("sentinel.conf");
    let sentinel = PrivateRedis::start_with(|port| {
        std::fs::write(
            &conf,
            format!("port {port}\nbind 127.0.0.1\ndir {}\n", dir.display()),
        )
        .unwrap();
        vec![conf.display().to_string(), "--sentinel".into()]
    });
    let replica_urls = format!(
        "postgres://cms_app:cms_app@127.0.0.1:{}/cms,{}",
        free_port(),
        app.db.app_url()
    );
    let address = format!("127.0.0.1:{}", free_port());
    let mut api = KillOnDrop(
        Command::new(api_binary())
            .arg("serve")
            .env("DATABASE_URL", app.db.app_url())
            .env("DATABASE_REPLICA_URLS", &replica_urls)
            .env("REDIS_SENTINELS", sentinel.address())
            .env("REDIS_SENTINEL_SERVICE", "cms")
            .env("CMS_API_ADDR", &address)
            .env("CMS_SECRETS_KEY", &*TEST_SECRETS_KEY)
            .env(
                "CMS_JWT_PRIVATE_KEY",
                cms_api::auth::tokens::SigningKey::generate_pem().unwrap(),
            )
            .env("CMS_JOBS", "off")
            .env("CMS_DB_POOL_SIZE", "2")
            .env(
                "CMS_MEDIA_DIR",
                std::env::temp_dir().join(format!("cms-media-{}", app.db.name)),
            )
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stdout = api.0.stdout.take().unwrap();
    let (lines, received) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });

    let mut expected = vec![
        Expected {
            level: "ERROR",
            message: "the Sentinels know no master for service \"cms\"",
            fields: &[],
        },
        Expected {
            level: "WARN",
            message: "read replica not serving",
            fields: &[("replica", "replica0"), ("state", "unreachable")],
        },
        Expected {
            level: "ERROR",
            message: "it is not a standby",
            fields: &[("replica", "replica1")],
        },
    ];
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !expected.is_empty() {
        let wait = deadline.saturating_duration_since(Instant::now());
        let Ok(line) = received.recv_timeout(wait) else {
            panic!(
                "{} expected log lines missing; the api logged:\n{}",
                expected.len(),
                seen.join("\n")
            );
        };
        if let Ok(parsed) = serde_json::from_str::<Value>(&line) {
            expected.retain(|wanted| !wanted.matches(&parsed));
        }
        seen.push(line);
    }

    // It serves: ready (PostgreSQL answers; Redis reported, not required),
    // and public reads from the primary.
    let client = reqwest::Client::new();
    let ready: Value = loop {
        // The lines come while it starts; it may not listen yet.
        if let Ok(answer) = client.get(format!("http://{address}/readyz")).send().await {
            break answer.json().await.unwrap();
        }
        assert!(Instant::now() < deadline, "the api never listened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(ready["status"], "ok", "{ready}");
    assert_eq!(ready["redis"], "no_master", "{ready}");
    let manifest = client
        .get(format!(
            "http://{address}/api/v1/delivery/sites/by-host/alpha.localhost"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(manifest.status(), 200);
    drop(api);
    let _ = std::fs::remove_dir_all(&dir);
}
