//! The fleet on real processes: 2 api nodes and 3 renderer nodes (the built
//! binaries) behind HAProxy with the repository's `fleet/haproxy.cfg`, on
//! free ports, sharing the test's database and Redis. One stack start runs
//! every scenario: a publish reaches all 3 renderers within a second, a
//! renderer killed under wrk's load costs no more than its requests in
//! flight, and with an api node killed the renderers keep serving, from
//! their caches and through the other api node.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cms_tests::{
    api_binary, demo_editors, hero_block, redis_url, send_to, site_of, TestApp, ALPHA_EDITOR,
    DEMO_PASSWORD, TEST_SECRETS_KEY,
};
use reqwest::Method;
use serde_json::{json, Value};

/// A page without experiments, so every visitor sees the same content.
const LANDING: &str = "/page-2";

fn free_address() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("127.0.0.1:{port}")
}

fn repo_root() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A process of the fleet, SIGKILLed when dropped.
struct Node {
    name: String,
    address: String,
    child: Child,
}

impl Node {
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

struct Fleet {
    apis: Vec<Node>,
    renderers: Vec<Node>,
    _haproxy: Node,
    web: String,
    /// The caching frontend, a stand-in for a CDN.
    cdn: String,
    api: String,
    stats: String,
    client: reqwest::Client,
}

async fn wait_healthy(client: &reqwest::Client, node: &str, path: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ok = client
            .get(format!("http://{node}{path}"))
            .header("host", "alpha.localhost")
            .send()
            .await
            .is_ok_and(|response| response.status().is_success());
        if ok {
            return;
        }
        assert!(Instant::now() < deadline, "{node}{path} never answered 200");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl Fleet {
    async fn start(app: &TestApp) -> Fleet {
        let signing_key = cms_api::auth::tokens::SigningKey::generate_pem().unwrap();
        let api_prefix = format!("test:{}:", uuid::Uuid::now_v7().simple());
        let renderer_prefix = format!("test:{}:", uuid::Uuid::now_v7().simple());
        let (web, api, stats) = (free_address(), free_address(), free_address());
        let cdn = free_address();
        let media_dir = std::env::temp_dir().join(format!("cms-media-fleet-{}", app.db.name));
        let apis: Vec<Node> = (1..=2)
            .map(|index| {
                let address = free_address();
                let child = Command::new(api_binary())
                    .arg("serve")
                    .current_dir(repo_root())
                    .env("DATABASE_URL", app.db.app_url())
                    .env("REDIS_URL", redis_url())
                    .env("CMS_REDIS_PREFIX", &api_prefix)
                    .env("CMS_API_ADDR", &address)
                    .env("CMS_SECRETS_KEY", &*TEST_SECRETS_KEY)
                    .env("CMS_JWT_PRIVATE_KEY", &signing_key)
                    .env("CMS_JOBS", "off")
                    .env("CMS_DB_POOL_SIZE", "4")
                    .env("CMS_TRUSTED_PROXIES", "127.0.0.1")
                    .env("CMS_EVENTS_TRUSTED_SOURCES", "127.0.0.1")
                    .env("CMS_MEDIA_DIR", &media_dir)
                    .env("RUST_LOG", "warn")
                    .stdout(Stdio::null())
                    .spawn()
                    .unwrap();
                Node {
                    name: format!("api{index}"),
                    address,
                    child,
                }
            })
            .collect();
        let renderer_binary = api_binary().with_file_name("renderer");
        let renderers: Vec<Node> = (1..=3)
            .map(|index| {
                let address = free_address();
                let child = Command::new(&renderer_binary)
                    .current_dir(repo_root())
                    .env("CMS_RENDERER_ADDR", &address)
                    .env("CMS_API_URL", format!("http://{api}"))
                    .env("REDIS_URL", redis_url())
                    .env("CMS_REDIS_PREFIX", &renderer_prefix)
                    .env("CMS_RENDERER_PUBLIC_SCHEME", "http")
                    .env(
                        "CMS_RENDERER_SECRET",
                        "fleet-secret-fleet-secret-fleet-secret",
                    )
                    .env("CMS_RENDERER_TRUSTED_PROXIES", "127.0.0.1")
                    .env("RUST_LOG", "warn")
                    .stdout(Stdio::null())
                    .spawn()
                    .unwrap();
                Node {
                    name: format!("renderer{index}"),
                    address,
                    child,
                }
            })
            .collect();
        let haproxy = Command::new("haproxy")
            .args(["-db", "-f"])
            .arg(repo_root().join("fleet/haproxy.cfg"))
            .env("FLEET_WEB_BIND", &web)
            .env("FLEET_CDN_BIND", &cdn)
            .env("FLEET_API_BIND", &api)
            .env("FLEET_STATS_BIND", &stats)
            .env("FLEET_API_1", &apis[0].address)
            .env("FLEET_API_2", &apis[1].address)
            .env("FLEET_RENDERER_1", &renderers[0].address)
            .env("FLEET_RENDERER_2", &renderers[1].address)
            .env("FLEET_RENDERER_3", &renderers[2].address)
            .stdout(Stdio::null())
            .spawn()
            .expect("haproxy (make tools installs it)");
        let fleet = Fleet {
            _haproxy: Node {
                name: "haproxy".into(),
                address: web.clone(),
                child: haproxy,
            },
            apis,
            renderers,
            web,
            cdn,
            api,
            stats,
            client: reqwest::Client::new(),
        };
        for node in fleet.apis.iter().chain(&fleet.renderers) {
            wait_healthy(&fleet.client, &node.address, "/healthz").await;
        }
        wait_healthy(&fleet.client, &fleet.api, "/readyz").await;
        wait_healthy(&fleet.client, &fleet.web, LANDING).await;
        fleet
    }

    /// Page renders the living renderers have answered (shell hits and misses).
    async fn renderer_page_requests(&self) -> u64 {
        let mut total = 0;
        for node in &self.renderers {
            let Ok(response) = self
                .client
                .get(format!("http://{}/metrics", node.address))
                .send()
                .await
            else {
                continue; // killed
            };
            total += response
                .text()
                .await
                .unwrap()
                .lines()
                .filter(|line| line.starts_with("renderer_shell_requests_total{"))
                .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
                .sum::<u64>();
        }
        total
    }

    async fn page(&self, node: &str, path: &str) -> (u16, String) {
        let response = self
            .client
            .get(format!("http://{node}{path}"))
            .header("host", "alpha.localhost")
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    /// HAProxy's view of `backend`'s `server` (`UP`, `DOWN`...).
    async fn server_status(&self, backend: &str, server: &str) -> String {
        let csv = self
            .client
            .get(format!("http://{}/;csv", self.stats))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        csv.lines()
            .map(|line| line.split(',').collect::<Vec<_>>())
            .find(|fields| fields.first() == Some(&backend) && fields.get(1) == Some(&server))
            .and_then(|fields| fields.get(17).map(|status| (*status).to_owned()))
            .unwrap_or_default()
    }
}

/// wrk's tally of one run.
#[derive(Debug)]
struct Load {
    requests: u64,
    non_2xx: u64,
    socket_errors: u64,
    per_second: f64,
}

fn wrk(url: &str, connections: u32, seconds: u32) -> Load {
    let output = Command::new("wrk")
        .args(["-t", "2", "-c", &connections.to_string()])
        .args(["-d", &format!("{seconds}s"), "--latency"])
        .args(["-H", "Host: alpha.localhost", url])
        .output()
        .expect("wrk (make tools installs it)");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let number_after = |label: &str| -> u64 {
        text.lines()
            .find_map(|line| line.trim().strip_prefix(label))
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    let socket_errors = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("Socket errors:"))
        .map_or(0, |rest| {
            rest.split(',')
                .filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok())
                .sum()
        });
    Load {
        requests: text
            .lines()
            .find(|line| line.contains("requests in"))
            .and_then(|line| line.split_whitespace().next()?.parse().ok())
            .unwrap_or(0),
        non_2xx: number_after("Non-2xx or 3xx responses:"),
        socket_errors,
        per_second: text
            .lines()
            .find_map(|line| line.trim().strip_prefix("Requests/sec:"))
            .and_then(|rest| rest.trim().parse().ok())
            .unwrap_or(0.0),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fleet_serves_publishes_everywhere_and_survives_losing_nodes() {
    let app = TestApp::spawn().await;
    let mut fleet = Fleet::start(&app).await;
    let api1 = format!("http://{}", fleet.apis[0].address);

    // Publish on one api node: all 3 renderers, and HAProxy, serve it
    // within a second. Ids are read through the test's own api (the same
    // database); the change goes through api node 1.
    let (editor, _) = demo_editors(&app).await;
    let site = site_of(&app, "alpha.localhost").await;
    let (page, hero) = hero_block(&app, &editor.access, &site, LANDING).await;
    let on_api1 = |method: Method, path: String, token: Option<String>, body: Value| {
        let (client, url) = (fleet.client.clone(), format!("{api1}{path}"));
        async move { send_to(&client, method, &url, token.as_deref(), Some(&body), &[]).await }
    };
    let login = json!({"email": ALPHA_EDITOR, "password": DEMO_PASSWORD});
    let token = on_api1(Method::POST, "/api/v1/auth/login".into(), None, login)
        .await
        .expect(200)
        .body["access_token"]
        .as_str()
        .map(str::to_owned);
    for node in fleet.renderers.iter().map(|node| node.address.clone()) {
        assert_eq!(fleet.page(&node, LANDING).await.0, 200, "{node} warm");
    }
    let title = format!("Fleet {}", uuid::Uuid::now_v7().simple());
    let block = format!("/api/v1/pages/{page}/blocks/{hero}");
    let props = json!({"props": {"title": title}});
    on_api1(Method::PATCH, block, token.clone(), props)
        .await
        .expect(200);
    let publish = format!("/api/v1/pages/{page}/publish");
    on_api1(Method::POST, publish, token, json!({}))
        .await
        .expect(200);
    let at = Instant::now();
    let mut everywhere = Vec::new();
    let nodes: Vec<(String, String)> = fleet
        .renderers
        .iter()
        .map(|node| (node.name.clone(), node.address.clone()))
        .chain(std::iter::once(("haproxy".to_owned(), fleet.web.clone())))
        .collect();
    for (name, address) in &nodes {
        loop {
            let (status, html) = fleet.page(address, LANDING).await;
            assert_eq!(status, 200);
            if html.contains(&title) {
                everywhere.push((name.clone(), at.elapsed()));
                break;
            }
            assert!(
                at.elapsed() < Duration::from_secs(5),
                "{name} never served it"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    println!("the new revision served by: {everywhere:?}");
    let slowest = everywhere.iter().map(|(_, took)| *took).max().unwrap();
    assert!(slowest < Duration::from_secs(1), "{everywhere:?}");

    // A renderer killed under load: HAProxy takes it out, and no more
    // requests fail than it had in flight.
    let connections = 8;
    let url = format!("http://{}{LANDING}", fleet.web);
    let load = tokio::task::spawn_blocking(move || wrk(&url, connections, 6));
    tokio::time::sleep(Duration::from_secs(2)).await;
    fleet.renderers[1].kill();
    let load = load.await.unwrap();
    println!(
        "wrk through HAProxy, renderer2 killed at 2 s of 6: {} requests ({:.0}/s), {} non-2xx, {} socket errors",
        load.requests, load.per_second, load.non_2xx, load.socket_errors
    );
    assert!(load.requests > 100, "{load:?}");
    assert!(
        load.non_2xx + load.socket_errors <= u64::from(connections),
        "{load:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while fleet.server_status("renderers", "renderer2").await != "DOWN" {
        assert!(
            Instant::now() < deadline,
            "HAProxy never marked renderer2 down"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // An api node killed: the renderers keep serving what they hold and
    // fetch what they do not through the other api node.
    fleet.apis[0].kill();
    for _ in 0..6 {
        let (status, html) = fleet.page(&fleet.web, LANDING).await;
        assert_eq!(status, 200);
        assert!(html.contains(&title));
    }
    let (status, html) = fleet.page(&fleet.web, "/clinic").await;
    assert_eq!(status, 200, "a page no renderer had cached: {html}");
    let manifest = fleet
        .client
        .get(format!(
            "http://{}/api/v1/delivery/sites/by-host/alpha.localhost",
            fleet.api
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(manifest.status(), 200);

    // The CDN stand-in (HAProxy's cache) holds a landing with a lead form
    // and a booking widget: it is public and the same for every visitor, so
    // a second visitor's request never reaches a renderer.
    let (status, first) = fleet.page(&fleet.cdn, "/clinic").await;
    assert_eq!(status, 200);
    assert!(first.contains("action=\"/_cms/leads\""));
    let before = fleet.renderer_page_requests().await;
    let (status, second) = fleet.page(&fleet.cdn, "/clinic").await;
    assert_eq!(status, 200);
    assert_eq!(second, first, "the same HTML for the next visitor");
    assert_eq!(
        fleet.renderer_page_requests().await,
        before,
        "answered by the cache, not by a renderer"
    );
    // Its form still submits through it; a post from another site does not.
    let post = |headers: &'static [(&'static str, &'static str)]| {
        let mut request = fleet
            .client
            .post(format!("http://{}/_cms/leads", fleet.cdn))
            .header("host", "alpha.localhost")
            .form(&[
                ("path", "/clinic"),
                ("name", "Cdn Ann"),
                ("phone", "+1 555 0142"),
            ]);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(post(&[("sec-fetch-site", "cross-site")]).await, 403);
    assert_eq!(
        post(&[
            ("sec-fetch-site", "same-origin"),
            ("origin", "http://alpha.localhost")
        ])
        .await,
        200
    );
}
