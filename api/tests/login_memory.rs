//! The `api` binary's memory stays bounded through a burst of logins. Every
//! login hashes with argon2id in 19 MiB; with glibc malloc the freed blocks
//! stayed on its heaps (RSS grew by about 900 MB over 500 logins), which is
//! why the binary uses mimalloc (see `main.rs` and BENCHMARKS.md).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cms_api::db::setup;
use diesel::{Connection, PgConnection, RunQueryDsl};

const LOGINS: usize = 240;
const CONCURRENCY: usize = 16;
/// Growth allowed over the burst; glibc's grew by several hundred MB.
const MAX_GROWTH_MB: f64 = 100.0;

fn admin_url() -> String {
    std::env::var("DATABASE_ADMIN_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The served binary, its database and key; all removed when dropped.
struct Server {
    child: Child,
    database: String,
    key: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.key);
        if let Ok(mut conn) = PgConnection::establish(&admin_url()) {
            let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.database);
            let _ = diesel::sql_query(drop).execute(&mut conn);
        }
    }
}

fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
        .unwrap();
    kb / 1024.0
}

fn api(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let output = Command::new(env!("CARGO_BIN_EXE_api"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[tokio::test]
async fn a_burst_of_logins_leaves_the_api_process_memory_bounded() {
    let database = format!("cms_login_memory_{}", std::process::id());
    let admin = admin_url();
    api(
        &["setup", "--database", &database],
        &[("DATABASE_ADMIN_URL", &admin)],
    );
    let app_url = setup::database_url_with(&admin, "cms_app", "cms_app", &database);
    // A secrets key of this run only: seed and serve refuse to start without one.
    let secrets_key = cms_api::config::generate_secrets_key();
    api(
        &["seed"],
        &[
            ("DATABASE_URL", &app_url),
            ("CMS_SECRETS_KEY", &secrets_key),
        ],
    );
    let key = std::env::temp_dir().join(format!("{database}.pem"));
    std::fs::write(&key, api(&["gen-key"], &[]).stdout).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_api"))
        .arg("serve")
        .env("DATABASE_URL", &app_url)
        .env("CMS_JWT_PRIVATE_KEY_FILE", &key)
        .env("CMS_SECRETS_KEY", &secrets_key)
        .env("CMS_API_ADDR", format!("127.0.0.1:{port}"))
        .env("CMS_LOGIN_LIMIT_PER_IP", "1000000")
        .env("CMS_LOGIN_LIMIT_PER_ACCOUNT", "1000000")
        .env("CMS_SCHEDULER_INTERVAL_MS", "0")
        .env_remove("REDIS_URL")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server {
        child,
        database,
        key,
    };
    let base = format!("http://127.0.0.1:{port}");
    cms_api::app::install_tls_provider();
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "the api did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let login = || {
        let (client, base) = (client.clone(), base.clone());
        async move {
            client
                .post(format!("{base}/api/v1/auth/login"))
                .json(&serde_json::json!({"email": "editor@alpha.example", "password": "demo-password"}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(login().await, 200);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_mb(server.child.id());
    let mut statuses = Vec::new();
    for _ in 0..LOGINS / CONCURRENCY {
        let burst: Vec<_> = (0..CONCURRENCY).map(|_| tokio::spawn(login())).collect();
        for task in burst {
            statuses.push(task.await.unwrap());
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = rss_mb(server.child.id());
    assert!(statuses.iter().all(|status| *status == 200), "{statuses:?}");
    assert!(
        after - before < MAX_GROWTH_MB,
        "RSS grew from {before:.1} MB to {after:.1} MB over {LOGINS} logins"
    );
}
