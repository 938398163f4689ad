//! Graceful shutdown on a real SIGTERM: a request that started before the
//! signal is still answered, then the server stops and refuses new connections.
//! Alone in its own test binary, because the signal goes to the whole process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use cms_tests::*;

#[tokio::test]
async fn sigterm_drains_in_flight_requests_then_stops() {
    let app = TestApp::spawn().await;
    let address = app.address.trim_start_matches("http://").to_owned();
    let body = format!(r#"{{"email":"{ALPHA_EDITOR}","password":"{DEMO_PASSWORD}"}}"#);
    let (head, tail) = body.split_at(10);

    // Begin a login and stop halfway through its body.
    let mut stream = TcpStream::connect(&address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    write!(
        stream,
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{head}",
        body.len()
    )
    .unwrap();
    stream.flush().unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let status = std::process::Command::new("kill")
        .args(["-TERM", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // Longer than actix's 1-second shutdown tick, so a server that did not
    // drain (shutdown timeout 0) would have dropped the connection by now.
    tokio::time::sleep(Duration::from_millis(2500)).await;

    // The in-flight request completes normally.
    let tail = tail.to_owned();
    let response = tokio::task::spawn_blocking(move || {
        stream.write_all(tail.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    })
    .await
    .unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("access_token"), "{response}");

    // The server has stopped: its task ends cleanly and new connections fail.
    tokio::time::timeout(Duration::from_secs(15), app.server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(TcpStream::connect(&address).is_err());
}
