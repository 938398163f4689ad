//! Redis Sentinel (issue 16): the api and the renderers follow the master
//! the Sentinels name. Every Redis here is a private redis-server on a free
//! port (a master, its replica, three Sentinels), killed by pid: the shared
//! Redis is never touched.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use cms_tests::{demo_editors, hero_block, site_of, PrivateRedis, TestApp, TestRenderer};
use serde_json::{json, Value};

const SERVICE: &str = "cms";
const LANDING: &str = "/page-2";
const ALPHA: &str = "alpha.localhost";

/// A master, one replica and three Sentinels watching them as `SERVICE`.
struct SentinelGroup {
    master: PrivateRedis,
    replica: PrivateRedis,
    sentinels: Vec<PrivateRedis>,
    dir: std::path::PathBuf,
}

impl SentinelGroup {
    async fn start() -> Self {
        let dir = std::env::temp_dir().join(format!("cms-sentinel-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let master = PrivateRedis::start();
        let master_port = master.port;
        let replica = PrivateRedis::start_with(|port| {
            let mut args = PrivateRedis::plain_args(port);
            args.extend([
                "--replicaof".into(),
                "127.0.0.1".into(),
                master_port.to_string(),
            ]);
            args
        });
        let sentinels = (0..3)
            .map(|index| {
                let conf = dir.join(format!("sentinel-{index}.conf"));
                let dir = dir.clone();
                PrivateRedis::start_with(|port| {
                    // Sentinel rewrites its file: one writable file each.
                    std::fs::write(
                        &conf,
                        format!(
                            "port {port}\nbind 127.0.0.1\ndir {}\n\
                             sentinel monitor {SERVICE} 127.0.0.1 {master_port} 2\n\
                             sentinel down-after-milliseconds {SERVICE} 1000\n\
                             sentinel failover-timeout {SERVICE} 3000\n",
                            dir.display()
                        ),
                    )
                    .unwrap();
                    vec![conf.display().to_string(), "--sentinel".into()]
                })
            })
            .collect();
        let group = SentinelGroup {
            master,
            replica,
            sentinels,
            dir,
        };
        group.wait_until_failover_is_possible().await;
        group
    }

    /// `REDIS_SENTINELS` for the services.
    fn setting(&self) -> String {
        self.sentinels
            .iter()
            .map(PrivateRedis::address)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Every Sentinel knows the replica and the two other Sentinels (they
    /// find each other through the master every 2 s): only then can they
    /// agree on a failover.
    async fn wait_until_failover_is_possible(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        for sentinel in &self.sentinels {
            let mut conn = connection(&sentinel.url).await;
            loop {
                let replicas: Vec<redis::Value> = redis::cmd("SENTINEL")
                    .arg("REPLICAS")
                    .arg(SERVICE)
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                let peers: Vec<redis::Value> = redis::cmd("SENTINEL")
                    .arg("SENTINELS")
                    .arg(SERVICE)
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                if replicas.len() == 1 && peers.len() == 2 {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "Sentinel {} knows {} replicas and {} peers",
                    sentinel.address(),
                    replicas.len(),
                    peers.len()
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

impl Drop for SentinelGroup {
    fn drop(&mut self) {
        for sentinel in &mut self.sentinels {
            sentinel.stop();
        }
        self.replica.stop();
        self.master.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn connection(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

async fn readiness(app: &TestApp) -> Value {
    app.public("/readyz", &[]).await.expect(200).body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_and_renderers_follow_a_sentinel_failover() {
    let group = SentinelGroup::start().await;
    let sentinel_settings = HashMap::from([
        ("REDIS_URL", String::new()),
        ("REDIS_SENTINELS", group.setting()),
        ("REDIS_SENTINEL_SERVICE", SERVICE.to_owned()),
    ]);
    let app = TestApp::spawn_with(sentinel_settings.clone()).await;
    let ready = readiness(&app).await;
    assert_eq!(ready["redis"], "ok", "{ready}");
    assert_eq!(ready["redis_server"], group.master.address(), "{ready}");
    // Renderers revalidate only after 5 minutes: within this test only an
    // invalidation message can show them a change.
    let mut renderer_settings = sentinel_settings.clone();
    renderer_settings.insert("CMS_RENDERER_FRESH_SECS", "300".into());
    let prefix = app.config.redis_prefix.clone();
    let mut renderers = Vec::new();
    for _ in 0..2 {
        renderers.push(
            TestRenderer::spawn(&app.address, None, &prefix, renderer_settings.clone()).await,
        );
    }
    for renderer in &renderers {
        assert_eq!(renderer.get(ALPHA, LANDING).await.0, 200);
    }

    let mut group = group;
    group.master.stop();
    let killed = Instant::now();

    // The api moves to the promoted replica once the Sentinels agree.
    loop {
        let ready = readiness(&app).await;
        if ready["redis"] == "ok" && ready["redis_server"] == group.replica.address() {
            break;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(30),
            "the api never followed the failover: {ready}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let failover = killed.elapsed();
    // Writes resume on the new master: a login attempt is counted there.
    let (editor, _) = demo_editors(&app).await;
    let mut new_master = connection(&group.replica.url).await;
    let counted: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}rl:login:*"))
        .query_async(&mut new_master)
        .await
        .unwrap();
    assert!(
        !counted.is_empty(),
        "the login's rate-limit hit is on the new master"
    );

    // Each renderer subscribes again on the new master (and forgets what
    // it had: messages sent during the switch are lost). fred may go
    // through more than one reconnect while the Sentinels settle: wait
    // until the node says it is subscribed after at least one.
    for renderer in &renderers {
        loop {
            let again = renderer
                .metric("renderer_invalidation_resubscribed_total")
                .await
                .unwrap_or(0);
            let subscribed = renderer.metric("renderer_invalidation_subscribed").await;
            if again > 0 && subscribed == Some(1) {
                break;
            }
            assert!(
                killed.elapsed() < Duration::from_secs(30),
                "renderer {} never subscribed again",
                renderer.address
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(renderer.get(ALPHA, LANDING).await.0, 200, "cached again");
    }

    // A publish now reaches every renderer through the new master.
    let site = site_of(&app, ALPHA).await;
    let (page, hero) = hero_block(&app, &editor.access, &site, LANDING).await;
    let title = format!("After failover {}", uuid::Uuid::now_v7().simple());
    app.patch(
        &format!("/api/v1/pages/{page}/blocks/{hero}"),
        &editor.access,
        json!({"props": {"title": title}}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/pages/{page}/publish"),
        &editor.access,
        json!({}),
    )
    .await
    .expect(200);
    let published = Instant::now();
    for renderer in &renderers {
        loop {
            let (status, _, html) = renderer.get(ALPHA, LANDING).await;
            assert_eq!(status, 200);
            if html.contains(&title) {
                break;
            }
            assert!(
                published.elapsed() < Duration::from_secs(5),
                "renderer {} still serves the page from before the publish",
                renderer.address
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    eprintln!("failover followed by the api {failover:?} after the master was killed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sentinels_without_a_master_for_the_service_leave_both_services_serving() {
    let group = SentinelGroup::start().await;
    // The Sentinels watch `cms`; these services ask for another name.
    let settings = HashMap::from([
        ("REDIS_URL", String::new()),
        ("REDIS_SENTINELS", group.setting()),
        ("REDIS_SENTINEL_SERVICE", "not-watched".to_owned()),
    ]);
    let app = TestApp::spawn_with(settings.clone()).await;
    let ready = readiness(&app).await;
    assert_eq!(ready["status"], "ok", "{ready}");
    assert_eq!(ready["redis"], "no_master", "{ready}");
    assert_eq!(ready["redis_server"], Value::Null, "{ready}");
    // Logins (rate limits in the in-process fallback) and delivery work.
    let (editor, _) = demo_editors(&app).await;
    let site = site_of(&app, ALPHA).await;
    app.get(&format!("/api/v1/sites/{site}/pages"), &editor.access)
        .await
        .expect(200);

    let prefix = app.config.redis_prefix.clone();
    // `start`: it cannot subscribe to invalidations without a master.
    let renderer = TestRenderer::start(&app.address, None, &prefix, settings).await;
    let (status, _, html) = renderer.get(ALPHA, LANDING).await;
    assert_eq!(status, 200, "{html}");
    let ready: Value = reqwest::get(format!("{}/readyz", renderer.address))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["redis"], "unavailable", "{ready}");
}
