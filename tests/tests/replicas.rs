//! Read replicas on real engines: a private primary and two streaming
//! replicas made with `pg_basebackup -R`, on free ports (the shared server is
//! never touched). Reads are seen to be served by replicas (the test hook's
//! `X-Cms-Read-Node`), a replica killed with SIGKILL under traffic or inside
//! one read transaction costs no request, a writer reads its own writes at
//! once through a 2 s replication delay while others' reads stay within the
//! lag bound, and bad replica URLs leave the api serving from what works.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use cms_api::db::setup::APP_ROLE;
use cms_tests::{
    config_for, redis_url, seeded_private_postgres, send_to, PrivatePostgres, Reply, TestRenderer,
    ALPHA_EDITOR, DEMO_PASSWORD,
};
use diesel::{Connection, PgConnection, RunQueryDsl};
use reqwest::Method;
use serde_json::{json, Value};

/// A primary with its replicas and an api reading from them.
struct Cluster {
    primary: PrivatePostgres,
    replicas: Vec<PrivatePostgres>,
    base: String,
    client: reqwest::Client,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    config: cms_api::Config,
}

/// Polls `base`'s `/readyz` until `done` holds for it (at most `within`).
async fn readyz_until(
    client: &reqwest::Client,
    base: &str,
    what: &str,
    within: Duration,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let ready: Value = client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if done(&ready) {
            return ready;
        }
        assert!(Instant::now() < deadline, "{what}: {ready}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every replica `/readyz` lists serves reads.
fn all_serving(ready: &Value) -> bool {
    ready["replicas"]
        .as_array()
        .is_some_and(|all| all.iter().all(|replica| replica["state"] == "ok"))
}

/// The api's configuration on `primary` reading from `replica_urls`.
fn cluster_config(
    primary: &PrivatePostgres,
    replica_urls: &[String],
    overrides: &[(&'static str, &str)],
) -> cms_api::Config {
    let mut vars = HashMap::from([
        ("CMS_JOBS", "off".to_owned()),
        ("CMS_TEST_HOOKS", "1".to_owned()),
        ("CMS_REPLICA_CHECK_MS", "100".to_owned()),
        // Every delivery request is a miss, so each one reads.
        ("CMS_DELIVERY_CACHE_TTL_SECS", "0".to_owned()),
        ("DATABASE_REPLICA_URLS", replica_urls.join(",")),
    ]);
    for (name, value) in overrides {
        vars.insert(name, (*value).to_owned());
    }
    config_for(
        &primary.url(APP_ROLE, "cms"),
        &format!("replicas-{}", primary.port),
        &vars,
    )
}

impl Cluster {
    /// A seeded primary, two replicas started with `settings`, and an api
    /// that waits until both serve reads.
    async fn start(settings: &[&str], overrides: &[(&'static str, &str)]) -> Cluster {
        let primary = seeded_private_postgres().await;
        let replicas: Vec<PrivatePostgres> = (0..2).map(|_| primary.replica(settings)).collect();
        let urls: Vec<String> = replicas
            .iter()
            .map(|replica| replica.url(APP_ROLE, "cms"))
            .collect();
        let config = cluster_config(&primary, &urls, overrides);
        let app = cms_api::Application::build(config.clone()).await.unwrap();
        let cluster = Cluster {
            config,
            base: format!("http://127.0.0.1:{}", app.port()),
            server: tokio::spawn(app.run_until_stopped()),
            client: reqwest::Client::new(),
            primary,
            replicas,
        };
        cluster
            .until("both replicas serve", Duration::from_secs(30), all_serving)
            .await;
        cluster
    }

    /// A second api node on the same databases without Redis: it learns of
    /// no invalidation, so only what a caller sends guards its reads.
    async fn peer_without_redis(&self) -> String {
        let mut config = self.config.clone();
        config.listen_addr = "127.0.0.1:0".parse().unwrap();
        config.redis = None;
        let app = cms_api::Application::build(config).await.unwrap();
        let base = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        readyz_until(
            &self.client,
            &base,
            "the peer's replicas",
            Duration::from_secs(30),
            all_serving,
        )
        .await;
        base
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let url = format!("{}{path}", self.base);
        send_to(&self.client, method, &url, token, body, headers).await
    }

    async fn get(&self, path: &str, token: Option<&str>, headers: &[(&str, &str)]) -> Reply {
        self.send(Method::GET, path, token, None, headers).await
    }

    async fn login(&self, email: &str) -> String {
        let body = json!({"email": email, "password": DEMO_PASSWORD});
        let reply = self
            .send(Method::POST, "/api/v1/auth/login", None, Some(&body), &[])
            .await
            .expect(200);
        reply.body["access_token"].as_str().unwrap().to_owned()
    }

    async fn readyz(&self) -> Value {
        self.get("/readyz", None, &[]).await.body
    }

    /// Waits until `/readyz` satisfies `done`.
    async fn until(&self, what: &str, within: Duration, done: impl Fn(&Value) -> bool) -> Value {
        readyz_until(&self.client, &self.base, what, within, done).await
    }

    fn replica_state(ready: &Value, name: &str) -> String {
        ready["replicas"]
            .as_array()
            .unwrap()
            .iter()
            .find(|replica| replica["name"] == name)
            .map(|replica| replica["state"].as_str().unwrap().to_owned())
            .unwrap()
    }

    async fn alpha_site(&self) -> String {
        let manifest = self
            .get("/api/v1/delivery/sites/by-host/alpha.localhost", None, &[])
            .await
            .expect(200);
        manifest.body["site_id"].as_str().unwrap().to_owned()
    }
}

fn node(reply: &Reply) -> String {
    reply.header("x-cms-read-node").unwrap_or("none").to_owned()
}

/// The landing the tests change: a published page without experiments (the
/// home page runs one, whose variants would hide the change from some
/// visitors).
const LANDING: &str = "/page-2";

/// The landing's id and its hero block's id.
async fn home_hero(cluster: &Cluster, token: &str, site: &str) -> (String, String) {
    let pages = cluster
        .get(&format!("/api/v1/sites/{site}/pages"), Some(token), &[])
        .await
        .expect(200);
    let home = pages.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|page| page["path"] == LANDING)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let blocks = cluster
        .get(&format!("/api/v1/pages/{home}/blocks"), Some(token), &[])
        .await
        .expect(200);
    let hero = hero_of(&blocks.body["items"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (home, hero)
}

/// The hero block among `blocks`.
fn hero_of(blocks: &Value) -> &Value {
    blocks
        .as_array()
        .unwrap()
        .iter()
        .find(|block| block["module"] == "hero")
        .unwrap()
}

/// The hero's title among `blocks` (a blocks list's `items`, or a
/// delivered page's `blocks`).
fn hero_title(blocks: &Value) -> String {
    hero_of(blocks)["props"]["title"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_serve_reads_and_a_killed_replica_costs_no_request() {
    let mut cluster = Cluster::start(&[], &[]).await;
    let site = cluster.alpha_site().await;
    let page = format!("/api/v1/delivery/sites/{site}/pages?path={LANDING}");

    // Delivery misses and public clinic reads go round robin to the replicas.
    let mut nodes = Vec::new();
    for path in [&page, &format!("/api/v1/delivery/sites/{site}/clinics")] {
        for _ in 0..4 {
            nodes.push(node(&cluster.get(path, None, &[]).await.expect(200)));
        }
    }
    assert!(
        nodes.iter().all(|node| node.starts_with("replica")),
        "{nodes:?}"
    );
    assert!(nodes.contains(&"replica0".to_owned()) && nodes.contains(&"replica1".to_owned()));

    // A write reaches the primary and answers its WAL position; a read sent
    // with it sees the write.
    let editor = cluster.login(ALPHA_EDITOR).await;
    let (home, hero) = home_hero(&cluster, &editor, &site).await;
    let written = cluster
        .send(
            Method::PATCH,
            &format!("/api/v1/pages/{home}/blocks/{hero}"),
            Some(&editor),
            Some(&json!({"props": {"title": "Written on the primary"}})),
            &[],
        )
        .await
        .expect(200);
    let position = written.header("x-cms-wal-position").unwrap().to_owned();
    let superuser = format!("postgres://postgres@127.0.0.1:{}/cms", cluster.primary.port);
    let mut primary = PgConnection::establish(&superuser).unwrap();
    let on_primary: i64 = diesel::sql_query(
        "SELECT count(*) AS n FROM page_blocks WHERE props->>'title' = 'Written on the primary'",
    )
    .get_result::<Count>(&mut primary)
    .unwrap()
    .n;
    assert_eq!(on_primary, 1);
    let read = cluster
        .get(
            &format!("/api/v1/pages/{home}/blocks"),
            Some(&editor),
            &[("x-cms-wal-position", &position)],
        )
        .await
        .expect(200);
    assert_eq!(hero_title(&read.body["items"]), "Written on the primary");
    cluster
        .get(
            &format!("/api/v1/pages/{home}/blocks"),
            Some(&editor),
            &[("x-cms-wal-position", "not a position")],
        )
        .await
        .expect_problem(422);

    // SIGKILL to a replica under traffic: every request answers 200.
    let traffic: Vec<_> = (0..4)
        .map(|_| {
            let client = cluster.client.clone();
            let url = format!("{}{page}", cluster.base);
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                let until = Instant::now() + Duration::from_secs(4);
                while Instant::now() < until {
                    let status = client.get(&url).send().await.unwrap().status().as_u16();
                    statuses.push(status);
                }
                statuses
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    cluster.replicas[0].kill();
    let mut statuses = Vec::new();
    for task in traffic {
        statuses.extend(task.await.unwrap());
    }
    println!("{} requests while replica0 was killed", statuses.len());
    assert!(statuses.len() > 20, "{statuses:?}");
    assert!(statuses.iter().all(|status| *status == 200), "{statuses:?}");
    let ready = cluster.readyz().await;
    assert_eq!(
        Cluster::replica_state(&ready, "replica0"),
        "unreachable",
        "{ready}"
    );
    assert_eq!(Cluster::replica_state(&ready, "replica1"), "ok", "{ready}");
    for _ in 0..4 {
        let reply = cluster.get(&page, None, &[]).await.expect(200);
        assert_eq!(node(&reply), "replica1");
    }

    // Restarted, it is put back and serves again.
    cluster.replicas[0].resume();
    cluster
        .until("replica0 back", Duration::from_secs(30), |ready| {
            Cluster::replica_state(ready, "replica0") == "ok"
        })
        .await;
    let mut back = Vec::new();
    for _ in 0..6 {
        back.push(node(&cluster.get(&page, None, &[]).await.expect(200)));
    }
    assert!(back.contains(&"replica0".to_owned()), "{back:?}");

    // Killed inside one read transaction (held open by the test hook): the
    // transaction is rerun on another node and the request answers 200.
    let sitemap = format!("{}/api/v1/delivery/sites/{site}/sitemap", cluster.base);
    let client = cluster.client.clone();
    let held = tokio::spawn(async move {
        let started = Instant::now();
        let response = client
            .get(&sitemap)
            .header("x-cms-test-read-pause-ms", "5000")
            .send()
            .await
            .unwrap();
        let node = response
            .headers()
            .get("x-cms-read-node")
            .map(|value| value.to_str().unwrap().to_owned());
        (response.status().as_u16(), node, started.elapsed())
    });
    let victim = loop {
        let found = cluster.replicas.iter().position(sleeping_read);
        if let Some(index) = found {
            break index;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    cluster.replicas[victim].kill();
    let (status, served_by, took) = held.await.unwrap();
    println!("read rerun after replica{victim} was killed inside it: {status} from {served_by:?} in {took:?}");
    assert_eq!(status, 200);
    let served_by = served_by.unwrap();
    assert_ne!(served_by, format!("replica{victim}"));
    assert!(
        took < Duration::from_secs(5),
        "the rerun is not held: {took:?}"
    );
    let metrics = cluster.get("/metrics", None, &[]).await.text;
    assert!(
        metrics.contains(&format!(
            "cms_db_read_failovers_total{{replica=\"replica{victim}\"}}"
        )),
        "{metrics}"
    );
    cluster.server.abort();
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Whether `replica` is running the test hook's `pg_sleep` right now.
fn sleeping_read(replica: &PrivatePostgres) -> bool {
    let Ok(mut conn) = PgConnection::establish(&replica.admin_url()) else {
        return false;
    };
    diesel::sql_query(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%' \
         AND pid <> pg_backend_pid()",
    )
    .get_result::<Count>(&mut conn)
    .is_ok_and(|count| count.n > 0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_reads_its_writes_at_once_through_a_replication_delay() {
    let max_lag = Duration::from_millis(5000);
    let cluster = Cluster::start(
        &["recovery_min_apply_delay=2s"],
        &[("CMS_REPLICA_MAX_LAG_MS", "5000")],
    )
    .await;
    let site = cluster.alpha_site().await;
    let page = format!("/api/v1/delivery/sites/{site}/pages?path={LANDING}");
    let editor = cluster.login(ALPHA_EDITOR).await;
    let (home, hero) = home_hero(&cluster, &editor, &site).await;
    let blocks = format!("/api/v1/pages/{home}/blocks");
    // Visitors' reads come from a replica before the change.
    let before = cluster
        .until_read(&page, None, |reply| node(reply).starts_with("replica"))
        .await;
    assert_ne!(hero_title(&before.body["blocks"]), "Read your writes");
    // A renderer holding the page from before. It reads through an api node
    // that hears of no invalidation: only the position in the renderer's
    // message keeps its refill from a replica that lacks the change.
    let peer = cluster.peer_without_redis().await;
    let renderer = TestRenderer::spawn(
        &peer,
        Some(&redis_url()),
        &format!("test:{}:", uuid::Uuid::now_v7().simple()),
        HashMap::new(),
    )
    .await;
    let (status, _, html) = renderer.get("alpha.localhost", LANDING).await;
    assert_eq!(status, 200);
    assert!(!html.contains("Read your writes"));

    cluster
        .send(
            Method::PATCH,
            &format!("/api/v1/pages/{home}/blocks/{hero}"),
            Some(&editor),
            Some(&json!({"props": {"title": "Read your writes"}})),
            &[],
        )
        .await
        .expect(200);
    let published = cluster
        .send(
            Method::POST,
            &format!("/api/v1/pages/{home}/publish"),
            Some(&editor),
            Some(&json!({})),
            &[],
        )
        .await
        .expect(200);
    let committed = Instant::now();
    let position = published.header("x-cms-wal-position").unwrap().to_owned();

    // The editor sees the change at once: with the position, and without it
    // (the user's entry in Redis); the published page too, with the position.
    let with_position = cluster
        .get(&blocks, Some(&editor), &[("x-cms-wal-position", &position)])
        .await
        .expect(200);
    assert_eq!(hero_title(&with_position.body["items"]), "Read your writes");
    assert_eq!(node(&with_position), "primary");
    let without = cluster.get(&blocks, Some(&editor), &[]).await.expect(200);
    assert_eq!(hero_title(&without.body["items"]), "Read your writes");
    let live = cluster
        .get(&page, None, &[("x-cms-wal-position", &position)])
        .await
        .expect(200);
    assert_eq!(hero_title(&live.body["blocks"]), "Read your writes");
    assert!(
        committed.elapsed() < Duration::from_secs(2),
        "the reads came before the replicas applied the write"
    );

    // Visitors and the renderer: every api node that learnt of the change
    // (its own, or the message's position) fills misses from a node that has
    // it, so no visitor sees the old page after the publish; the renderer
    // refills with the position from the message, before the replicas apply
    // the change, and never goes back to the old page.
    let mut renderer_fresh_after = None;
    while committed.elapsed() < Duration::from_millis(3000) {
        let reply = cluster.get(&page, None, &[]).await.expect(200);
        assert_eq!(
            hero_title(&reply.body["blocks"]),
            "Read your writes",
            "{}",
            node(&reply)
        );
        let (status, _, html) = renderer.get("alpha.localhost", LANDING).await;
        assert_eq!(status, 200);
        let fresh = html.contains("Read your writes");
        match renderer_fresh_after {
            None if fresh => renderer_fresh_after = Some(committed.elapsed()),
            Some(after) => assert!(
                fresh,
                "the renderer went back to the old page after {after:?}"
            ),
            None => {}
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let renderer_fresh_after =
        renderer_fresh_after.expect("the renderer never showed the new page");
    println!("renderer: the new page after {renderer_fresh_after:?}");
    assert!(
        renderer_fresh_after < Duration::from_millis(1800),
        "the renderer waited for the replicas: {renderer_fresh_after:?}"
    );

    // Uncached public reads without a position (clinics) may be stale, but
    // only within the lag bound; then a replica serves the new data.
    let clinics = cluster
        .get("/api/v1/clinics", Some(&editor), &[])
        .await
        .expect(200);
    let clinic = &clinics.body["items"][0];
    let clinic_path = format!("/api/v1/clinics/{}", clinic["id"].as_str().unwrap());
    let etag = format!("\"v{}\"", clinic["version"]);
    cluster
        .send(
            Method::PATCH,
            &clinic_path,
            Some(&editor),
            Some(&json!({"name": "Renamed through the primary"})),
            &[("if-match", &etag)],
        )
        .await
        .expect(200);
    let renamed = Instant::now();
    let mine = cluster
        .get(&clinic_path, Some(&editor), &[])
        .await
        .expect(200);
    assert_eq!(
        mine.body["name"], "Renamed through the primary",
        "the writer's own read"
    );
    let public_clinics = format!("/api/v1/delivery/sites/{site}/clinics");
    let mut stale = 0;
    let fresh_after = loop {
        let reply = cluster.get(&public_clinics, None, &[]).await.expect(200);
        let renamed_there = reply.text.contains("Renamed through the primary");
        if renamed_there && node(&reply).starts_with("replica") {
            break renamed.elapsed();
        }
        if !renamed_there {
            stale += 1;
            assert!(
                renamed.elapsed() < max_lag + Duration::from_millis(500),
                "a stale read {:?} after the write",
                renamed.elapsed()
            );
        }
        assert!(
            renamed.elapsed() < Duration::from_secs(15),
            "the replicas never applied it"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    println!("public clinic reads: {stale} stale, then a replica had it after {fresh_after:?}");
    assert!(
        stale > 0,
        "the 2 s delay should show the old name for a while"
    );
    cluster.server.abort();
}

impl Cluster {
    /// GETs `path` until `done` holds for the answer.
    async fn until_read(
        &self,
        path: &str,
        token: Option<&str>,
        done: impl Fn(&Reply) -> bool,
    ) -> Reply {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let reply = self.get(path, token, &[]).await.expect(200);
            if done(&reply) {
                return reply;
            }
            assert!(Instant::now() < deadline, "{path}: {}", node(&reply));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_replica_urls_leave_the_api_serving_from_what_works() {
    let primary = seeded_private_postgres().await;
    let nothing_listens = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let urls = vec![
        format!("postgres://{APP_ROLE}:{APP_ROLE}@127.0.0.1:{nothing_listens}/cms"),
        // The primary itself, named as a replica.
        primary.url(APP_ROLE, "cms"),
    ];
    let app = cms_api::Application::build(cluster_config(&primary, &urls, &[]))
        .await
        .unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let server = tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    let ready = readyz_until(
        &client,
        &base,
        "an unreachable replica and a primary named as one",
        Duration::from_secs(20),
        |ready| {
            let states: Vec<&str> = ready["replicas"]
                .as_array()
                .unwrap()
                .iter()
                .map(|replica| replica["state"].as_str().unwrap())
                .collect();
            states == ["unreachable", "not_a_standby"]
        },
    )
    .await;
    assert_eq!(ready["status"], "ok", "{ready}");
    let manifest = send_to(
        &client,
        Method::GET,
        &format!("{base}/api/v1/delivery/sites/by-host/alpha.localhost"),
        None,
        None,
        &[],
    )
    .await
    .expect(200);
    assert_eq!(node(&manifest), "primary");
    server.abort();
}
