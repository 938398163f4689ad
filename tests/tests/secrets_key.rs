//! Secrets fail closed: without `CMS_SECRETS_KEY` (or `CMS_SECRETS_KEY_FILE`)
//! neither `api serve` nor `api worker` starts, and the message says what to
//! set and how to make a key; with a key file they get past that check.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cms_tests::api_binary;

/// Runs `api COMMAND` with `key_env` (and no other secrets key), against a
/// database address where nothing listens; answers (exit success, stderr).
fn run(command: &str, key_env: &[(&str, String)]) -> (bool, String) {
    let mut api = Command::new(api_binary());
    api.arg(command)
        .env_remove("CMS_SECRETS_KEY")
        .env_remove("CMS_SECRETS_KEY_FILE")
        .env("DATABASE_URL", "postgres://cms_app@127.0.0.1:9/nothing")
        .env(
            "CMS_JWT_PRIVATE_KEY",
            cms_api::auth::tokens::SigningKey::generate_pem().unwrap(),
        )
        .env("CMS_API_ADDR", "127.0.0.1:0")
        .env_remove("REDIS_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (name, value) in key_env {
        api.env(name, value);
    }
    let mut child = api.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("api {command} neither started nor stopped within 30 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn serve_and_worker_refuse_to_start_without_a_secrets_key() {
    for command in ["serve", "worker"] {
        let (ok, stderr) = run(command, &[]);
        assert!(!ok, "api {command} started without a secrets key");
        assert!(
            stderr.contains("CMS_SECRETS_KEY") && stderr.contains("api gen-secrets-key"),
            "api {command}: {stderr}"
        );
    }
    // A key file gets past the check: they fail later, on the database.
    let file = std::env::temp_dir().join(format!("cms-secrets-{}.key", uuid::Uuid::now_v7()));
    std::fs::write(&file, cms_api::config::generate_secrets_key()).unwrap();
    for command in ["serve", "worker"] {
        let (_, stderr) = run(
            command,
            &[("CMS_SECRETS_KEY_FILE", file.display().to_string())],
        );
        assert!(
            !stderr.contains("CMS_SECRETS_KEY"),
            "api {command}: {stderr}"
        );
    }
    // A key that is not 32 bytes of base64 is refused by name.
    let (ok, stderr) = run("serve", &[("CMS_SECRETS_KEY", "short".into())]);
    assert!(!ok && stderr.contains("CMS_SECRETS_KEY"), "{stderr}");
    let _ = std::fs::remove_file(file);
}
