//! Test harness shared by the end-to-end tests: each test gets its own
//! database, cloned from a template migrated once per migration set, and the
//! real api (and renderer) listening on port 0, against real PostgreSQL and Redis.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use cms_api::db::setup::{self, RolePasswords, OWNER_ROLE};
use diesel::{Connection, PgConnection, RunQueryDsl};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use uuid::Uuid;

pub use cms_api::seed::DEMO_PASSWORD;

/// The superuser URL tests provision databases with. On a loopback server
/// without an explicit `sslmode`, tests connect without TLS: test processes
/// exit with pool and server threads still alive, and OpenSSL's exit-time
/// cleanup racing with them crashed a test process (SIGSEGV) after its test
/// had passed, about once in fifteen full runs.
pub fn admin_url() -> String {
    let url = std::env::var("DATABASE_ADMIN_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let loopback =
        url.contains("@127.0.0.1") || url.contains("@localhost") || url.contains("@[::1]");
    if loopback && !url.contains("sslmode=") {
        let separator = if url.contains('?') { '&' } else { '?' };
        format!("{url}{separator}sslmode=disable")
    } else {
        url
    }
}

pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A URL to `database` as the given role (role passwords as `api setup` sets them by default).
pub fn role_url(role: &str, database: &str) -> String {
    setup::database_url_with(&admin_url(), role, role, database)
}

fn migrations_fingerprint() -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    let mut entries: Vec<_> = walk(&dir);
    entries.sort();
    let mut hasher = DefaultHasher::new();
    for path in entries {
        path.to_string_lossy().hash(&mut hasher);
        std::fs::read(&path).unwrap().hash(&mut hasher);
    }
    // The built-in modules are registered at migration time too.
    for module in cms_api::content::builtin::builtin_modules() {
        module.key.hash(&mut hasher);
        module.props_schema.to_string().hash(&mut hasher);
    }
    format!("{:012x}", hasher.finish() & 0xffff_ffff_ffff)
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// Creates (once per migration set, across concurrent test processes) the
/// migrated template database and answers its name.
fn template_database() -> String {
    let name = format!("cms_tpl_{}", migrations_fingerprint());
    let mut admin = PgConnection::establish(&admin_url())
        .expect("PostgreSQL superuser connection (DATABASE_ADMIN_URL)");
    diesel::sql_query("SELECT pg_advisory_lock(727272)")
        .execute(&mut admin)
        .unwrap();
    let result = (|| -> setup::SetupResult<()> {
        setup::ensure_roles(&mut admin, &RolePasswords::default())?;
        if !setup::database_exists(&mut admin, &name)? {
            let building = format!("{name}_building");
            setup::drop_database(&mut admin, &building)?;
            setup::ensure_database(&mut admin, &building, None)?;
            setup::migrate_up(&role_url(OWNER_ROLE, &building))?;
            diesel::sql_query(format!("ALTER DATABASE {building} RENAME TO {name}"))
                .execute(&mut admin)?;
        }
        Ok(())
    })();
    diesel::sql_query("SELECT pg_advisory_unlock(727272)")
        .execute(&mut admin)
        .unwrap();
    result.unwrap();
    name
}

/// A fresh database for one test, dropped when the guard goes.
pub struct TestDatabase {
    pub name: String,
}

impl TestDatabase {
    pub fn create() -> Self {
        let template = template_database();
        let name = format!("cms_t_{}", Uuid::now_v7().simple());
        let mut admin = PgConnection::establish(&admin_url()).unwrap();
        setup::ensure_database(&mut admin, &name, Some(&template)).unwrap();
        TestDatabase { name }
    }

    pub fn app_url(&self) -> String {
        role_url(setup::APP_ROLE, &self.name)
    }

    pub fn owner_url(&self) -> String {
        role_url(OWNER_ROLE, &self.name)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&admin_url()) {
            let _ = setup::drop_database(&mut admin, &self.name);
        }
    }
}

/// The secrets key of this test process's apis and of the api processes its
/// tests start (`CMS_SECRETS_KEY`): random, so no key is written anywhere.
pub static TEST_SECRETS_KEY: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(cms_api::config::generate_secrets_key);

/// The configuration a test api starts with; `overrides` replace or add variables.
pub fn test_config(db: &TestDatabase, overrides: &HashMap<&str, String>) -> cms_api::Config {
    config_for(&db.app_url(), &db.name, overrides)
}

/// The configuration of a test api on `database_url` (any server), keeping
/// its media under a directory named after `name`.
pub fn config_for(
    database_url: &str,
    name: &str,
    overrides: &HashMap<&str, String>,
) -> cms_api::Config {
    let mut vars: HashMap<String, String> = HashMap::from([
        ("DATABASE_URL".into(), database_url.to_owned()),
        ("REDIS_URL".into(), redis_url()),
        (
            "CMS_REDIS_PREFIX".into(),
            format!("test:{}:", Uuid::now_v7().simple()),
        ),
        ("CMS_API_ADDR".into(), "127.0.0.1:0".into()),
        ("CMS_DB_POOL_SIZE".into(), "4".into()),
        ("CMS_SECRETS_KEY".into(), TEST_SECRETS_KEY.clone()),
        (
            "CMS_MEDIA_DIR".into(),
            std::env::temp_dir()
                .join(format!("cms-media-{name}"))
                .display()
                .to_string(),
        ),
        (
            "CMS_JWT_PRIVATE_KEY".into(),
            cms_api::auth::tokens::SigningKey::generate_pem().unwrap(),
        ),
    ]);
    for (key, value) in overrides {
        vars.insert((*key).to_owned(), value.clone());
    }
    cms_api::Config::from_lookup(|name| vars.get(name).cloned()).unwrap()
}

/// One request to `url`, its answer read whole.
pub async fn send_to(
    client: &reqwest::Client,
    method: Method,
    url: &str,
    token: Option<&str>,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> Reply {
    let mut request = client.request(method, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
        text,
    }
}

/// A running api on its own database.
pub struct TestApp {
    pub address: String,
    /// Stops the api (as if its process went away).
    pub handle: actix_web::dev::ServerHandle,
    /// The server task: it ends when the server has shut down.
    pub server: tokio::task::JoinHandle<std::io::Result<()>>,
    pub client: reqwest::Client,
    pub config: cms_api::Config,
    pub db: TestDatabase,
}

/// A response with its status, headers and body parsed as JSON when it is JSON.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    /// Asserts a problem+json answer of `status`.
    #[track_caller]
    pub fn expect_problem(self, status: u16) -> Self {
        let reply = self.expect(status);
        assert_eq!(
            reply.header("content-type"),
            Some("application/problem+json"),
            "{}",
            reply.text
        );
        assert_eq!(reply.body["status"], status, "{}", reply.text);
        reply
    }

    /// The `field` names of a 422's per-field errors.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Tokens of a logged-in user.
#[derive(Debug, Clone)]
pub struct Session {
    pub access: String,
    pub refresh: String,
}

impl TestApp {
    /// The api on a fresh database seeded with the demo data.
    pub async fn spawn() -> Self {
        Self::spawn_with(HashMap::new()).await
    }

    pub async fn spawn_with(overrides: HashMap<&str, String>) -> Self {
        cms_api::app::install_tls_provider();
        let db = TestDatabase::create();
        let config = test_config(&db, &overrides);
        let seed_db = cms_api::db::Db::connect(&db.app_url(), 2).unwrap();
        cms_api::seed::seed_demo(&seed_db, &config.secrets(), None)
            .await
            .unwrap();
        let app = cms_api::Application::build(config.clone()).await.unwrap();
        let address = format!("http://127.0.0.1:{}", app.port());
        let handle = app.handle();
        let server = tokio::spawn(app.run_until_stopped());
        TestApp {
            address,
            handle,
            server,
            client: reqwest::Client::new(),
            config,
            db,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// A second api node on the same database and Redis keys, as another
    /// replica behind a load balancer would be; answers its base address.
    pub async fn spawn_peer(&self) -> (String, tokio::task::JoinHandle<std::io::Result<()>>) {
        let mut config = self.config.clone();
        config.listen_addr = "127.0.0.1:0".parse().unwrap();
        let app = cms_api::Application::build(config).await.unwrap();
        let address = format!("http://127.0.0.1:{}", app.port());
        (address, tokio::spawn(app.run_until_stopped()))
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        send_to(&self.client, method, &self.url(path), token, body, headers).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.send(Method::GET, path, Some(token), None, &[]).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Some(token), Some(&body), &[])
            .await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Reply {
        self.send(Method::PATCH, path, Some(token), Some(&body), &[])
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Reply {
        self.send(Method::DELETE, path, Some(token), None, &[])
            .await
    }

    pub async fn login_reply(&self, email: &str, tenant: Option<&str>) -> Reply {
        let mut body = serde_json::json!({"email": email, "password": DEMO_PASSWORD});
        if let Some(tenant) = tenant {
            body["tenant"] = tenant.into();
        }
        self.send(Method::POST, "/api/v1/auth/login", None, Some(&body), &[])
            .await
    }

    pub async fn login(&self, email: &str, tenant: Option<&str>) -> Session {
        let reply = self.login_reply(email, tenant).await.expect(200);
        Session {
            access: reply.body["access_token"].as_str().unwrap().to_owned(),
            refresh: reply.body["refresh_token"].as_str().unwrap().to_owned(),
        }
    }

    /// A superuser connection to this test's database, for checks below the app.
    pub fn admin_connection(&self) -> PgConnection {
        PgConnection::establish(&setup::database_url_switch(&admin_url(), &self.db.name)).unwrap()
    }

    /// How many rows `table` holds, counted as superuser (RLS does not apply).
    pub fn count_rows(&self, table: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            count: i64,
        }
        let mut conn = self.admin_connection();
        diesel::sql_query(format!("SELECT count(*) AS count FROM {table}"))
            .get_result::<Count>(&mut conn)
            .unwrap()
            .count
    }
}

/// Logs in the demo editors of both tenants and answers (alpha, beta) sessions.
pub async fn demo_editors(app: &TestApp) -> (Session, Session) {
    (
        app.login("editor@alpha.example", None).await,
        app.login("editor@beta.example", None).await,
    )
}

pub mod private_postgres;
pub use private_postgres::{free_port, PrivatePostgres};

/// A private PostgreSQL set up, migrated and seeded as `api setup`,
/// `api migrate` and `api seed` leave one (database `cms`).
pub async fn seeded_private_postgres() -> PrivatePostgres {
    use cms_api::db::setup::{self, RolePasswords, APP_ROLE, OWNER_ROLE};
    cms_api::app::install_tls_provider();
    let postgres = PrivatePostgres::start();
    let mut admin = PgConnection::establish(&postgres.admin_url()).unwrap();
    setup::ensure_roles(&mut admin, &RolePasswords::default()).unwrap();
    setup::ensure_database(&mut admin, "cms", None).unwrap();
    drop(admin);
    setup::migrate_up(&postgres.url(OWNER_ROLE, "cms")).unwrap();
    let app_url = postgres.url(APP_ROLE, "cms");
    let config = config_for(
        &app_url,
        &format!("seeded-{}", postgres.port),
        &HashMap::new(),
    );
    let seed_db = cms_api::db::Db::connect(&app_url, 2).unwrap();
    cms_api::seed::seed_demo(&seed_db, &config.secrets(), None)
        .await
        .unwrap();
    postgres
}

pub const ALPHA_EDITOR: &str = "editor@alpha.example";
pub const BETA_EDITOR: &str = "editor@beta.example";
pub const PLATFORM_ADMIN: &str = "admin@example.com";

/// A subscriber on `cms:invalidate`, as a renderer would have.
pub struct InvalidationListener {
    pubsub: redis::aio::PubSub,
}

impl InvalidationListener {
    pub async fn subscribe() -> Self {
        let client = redis::Client::open(redis_url()).unwrap();
        let mut pubsub = client.get_async_pubsub().await.unwrap();
        pubsub.subscribe("cms:invalidate").await.unwrap();
        InvalidationListener { pubsub }
    }

    /// The next message about `site`, skipping other tests' traffic; `None`
    /// when none arrives within `wait`.
    pub async fn next_for_site(&mut self, site: &str, wait: std::time::Duration) -> Option<Value> {
        use futures_util::StreamExt;
        let deadline = tokio::time::Instant::now() + wait;
        let mut messages = self.pubsub.on_message();
        loop {
            let message = tokio::time::timeout_at(deadline, messages.next())
                .await
                .ok()??;
            let payload: String = message.get_payload().unwrap();
            let value: Value = serde_json::from_str(&payload).unwrap();
            if value["site"] == site {
                return Some(value);
            }
        }
    }
}

impl TestApp {
    /// The first site of the session's tenant.
    pub async fn first_site(&self, token: &str) -> String {
        let sites = self.get("/api/v1/sites", token).await.expect(200);
        sites.body["items"][0]["id"].as_str().unwrap().to_owned()
    }

    /// The demo landing's home page id and its first (demo) experiment.
    pub async fn home_experiment(&self, token: &str) -> (String, Value) {
        let site = self.first_site(token).await;
        let pages = self
            .get(&format!("/api/v1/sites/{site}/pages?path_prefix=/"), token)
            .await
            .expect(200);
        let home = pages.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["path"] == "/")
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let list = self
            .get(&format!("/api/v1/pages/{home}/experiments"), token)
            .await
            .expect(200);
        (home, list.body["items"][0].clone())
    }

    /// A draft page with a hero and a rich-text block; answers the page JSON.
    pub async fn draft_page(&self, token: &str, site: &str, path: &str, title: &str) -> Value {
        let page = self
            .post(
                &format!("/api/v1/sites/{site}/pages"),
                token,
                serde_json::json!({"path": path, "title": title}),
            )
            .await
            .expect(201)
            .body;
        let id = page["id"].as_str().unwrap();
        self.post(
            &format!("/api/v1/pages/{id}/blocks"),
            token,
            serde_json::json!({"module": "hero", "props": {"title": title}}),
        )
        .await
        .expect(201);
        self.post(
            &format!("/api/v1/pages/{id}/blocks"),
            token,
            serde_json::json!({"module": "rich_text", "props": {"html": "<p>Body</p>"}}),
        )
        .await
        .expect(201);
        page
    }

    /// A preview token for `page`'s draft.
    pub async fn preview_token(&self, token: &str, page: &str) -> String {
        self.post(
            &format!("/api/v1/pages/{page}/preview-token"),
            token,
            serde_json::json!({}),
        )
        .await
        .expect(200)
        .body["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn publish(&self, token: &str, page: &str) -> Reply {
        self.post(
            &format!("/api/v1/pages/{page}/publish"),
            token,
            serde_json::json!({}),
        )
        .await
    }

    /// A public GET (no token), with optional extra headers.
    pub async fn public(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        self.send(Method::GET, path, None, None, headers).await
    }
}

/// A running renderer in front of an api.
pub struct TestRenderer {
    pub address: String,
    pub handle: actix_web::dev::ServerHandle,
    pub client: reqwest::Client,
    pub config: cms_renderer::Config,
}

impl TestRenderer {
    /// A renderer reading from `api` through `redis` (None: in-process only),
    /// with extra settings in `overrides`; with Redis (a URL or Sentinels),
    /// once it is subscribed to invalidations.
    pub async fn spawn(
        api: &str,
        redis: Option<&str>,
        prefix: &str,
        overrides: HashMap<&str, String>,
    ) -> Self {
        let shares_redis = redis.is_some()
            || ["REDIS_URL", "REDIS_SENTINELS"]
                .iter()
                .any(|name| overrides.get(name).is_some_and(|value| !value.is_empty()));
        let renderer = Self::start(api, redis, prefix, overrides).await;
        if shares_redis {
            // Pages read before the subscription could miss an eviction:
            // wait until the node says it is subscribed.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            loop {
                if renderer.metric("renderer_invalidation_subscribed").await == Some(1) {
                    break;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "the renderer never subscribed to cms:invalidate"
                );
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
        renderer
    }

    /// Like `spawn`, without waiting for the invalidation subscription.
    pub async fn start(
        api: &str,
        redis: Option<&str>,
        prefix: &str,
        overrides: HashMap<&str, String>,
    ) -> Self {
        let mut vars: HashMap<String, String> = HashMap::from([
            ("CMS_RENDERER_ADDR".into(), "127.0.0.1:0".into()),
            ("CMS_API_URL".into(), api.to_owned()),
            ("CMS_REDIS_PREFIX".into(), prefix.to_owned()),
            ("CMS_RENDERER_PUBLIC_SCHEME".into(), "http".into()),
            (
                "CMS_RENDERER_SECRET".into(),
                "test-secret-test-secret-test-secret".into(),
            ),
        ]);
        if let Some(redis) = redis {
            vars.insert("REDIS_URL".into(), redis.to_owned());
        }
        for (key, value) in overrides {
            vars.insert(key.to_owned(), value);
        }
        let config = cms_renderer::Config::from_lookup(|name| vars.get(name).cloned()).unwrap();
        let renderer = cms_renderer::Renderer::build(config.clone()).await.unwrap();
        let address = format!("http://127.0.0.1:{}", renderer.port());
        let handle = renderer.handle();
        tokio::spawn(renderer.run_until_stopped());
        TestRenderer {
            address,
            handle,
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            config,
        }
    }

    /// The node's Prometheus text.
    pub async fn metrics(&self) -> String {
        reqwest::get(format!("{}/metrics", self.address))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// One unlabelled metric's value.
    pub async fn metric(&self, name: &str) -> Option<u64> {
        let text = self.metrics().await;
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|value| value.trim().parse().ok())
    }

    /// GET `path` on `host` (the demo hosts are alpha.localhost, beta.localhost).
    pub async fn get(&self, host: &str, path: &str) -> (u16, reqwest::header::HeaderMap, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.address))
            .header("host", host)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (status, headers, response.text().await.unwrap())
    }

    /// POSTs `form` from the page on `host`, with the headers a browser
    /// sends for a form on that page (`Origin`, `Sec-Fetch-Site: same-origin`).
    pub async fn post_form(
        &self,
        host: &str,
        path: &str,
        form: &[(&str, String)],
    ) -> (u16, String) {
        let origin = format!("http://{host}");
        let headers = [
            ("origin", origin.as_str()),
            ("sec-fetch-site", "same-origin"),
        ];
        self.post_form_with(host, path, form, &headers).await
    }

    /// POSTs `form` with exactly these extra headers (a forged or old
    /// browser's post).
    pub async fn post_form_with(
        &self,
        host: &str,
        path: &str,
        form: &[(&str, String)],
        headers: &[(&str, &str)],
    ) -> (u16, String) {
        let mut request = self
            .client
            .post(format!("{}{path}", self.address))
            .header("host", host)
            .form(form);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }
}

/// A Redis server of a test's own on a free port, killed on drop: fault
/// tests stop it without touching the shared one.
pub struct PrivateRedis {
    pub url: String,
    pub port: u16,
    child: std::process::Child,
}

impl PrivateRedis {
    pub fn start() -> Self {
        Self::start_with(Self::plain_args)
    }

    /// A loopback server on `port` that keeps nothing on disk.
    pub fn plain_args(port: u16) -> Vec<String> {
        [
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        .map(str::to_owned)
        .to_vec()
    }

    /// A redis-server on a free port with the arguments `args` gives for it
    /// (a replica's `--replicaof`, a Sentinel's config file and `--sentinel`).
    pub fn start_with(args: impl FnOnce(u16) -> Vec<String>) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new("redis-server")
            .args(args(port))
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server (apt-get install redis-server)");
        // Up means it answers PING, not just that the port accepts.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let pong = std::net::TcpStream::connect(("127.0.0.1", port))
                .ok()
                .and_then(|mut stream| {
                    use std::io::{Read, Write};
                    stream
                        .set_read_timeout(Some(std::time::Duration::from_millis(200)))
                        .ok()?;
                    stream.write_all(b"PING\r\n").ok()?;
                    let mut reply = [0_u8; 7];
                    stream.read_exact(&mut reply).ok()?;
                    (&reply == b"+PONG\r\n").then_some(())
                });
            if pong.is_some() {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the private redis-server on port {port} never answered PING"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        PrivateRedis {
            url: format!("redis://127.0.0.1:{port}"),
            port,
            child,
        }
    }

    /// `127.0.0.1:port`, as Redis and Sentinel report addresses.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A real SMTP server (Python `aiosmtpd`, printing what it receives).
pub struct SmtpServer {
    child: std::process::Child,
    pub port: u16,
    log: std::path::PathBuf,
}

impl SmtpServer {
    pub async fn start() -> Self {
        let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
        assert!(
            python.exists(),
            "{} is missing: run make tools",
            python.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::env::temp_dir().join(format!("cms-smtp-{}.log", uuid::Uuid::now_v7()));
        let file = std::fs::File::create(&log).unwrap();
        let child = std::process::Command::new(python)
            .args([
                "-u",
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
            ])
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "aiosmtpd did not start"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        SmtpServer { child, port, log }
    }

    /// Every message received so far, as aiosmtpd printed it.
    pub fn received(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// The site served on `host` (public lookup).
pub async fn site_of(app: &TestApp, host: &str) -> String {
    app.public(&format!("/api/v1/delivery/sites/by-host/{host}"), &[])
        .await
        .expect(200)
        .body["site_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The `id` of the item of `items` whose `field` is `value`.
pub fn id_where(items: &Value, field: &str, value: &str) -> String {
    items
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item[field] == value)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The ids of the page at `path` on `site` and of its hero block.
pub async fn hero_block(app: &TestApp, token: &str, site: &str, path: &str) -> (String, String) {
    let pages = app
        .get(&format!("/api/v1/sites/{site}/pages"), token)
        .await
        .expect(200);
    let page = id_where(&pages.body["items"], "path", path);
    let blocks = app
        .get(&format!("/api/v1/pages/{page}/blocks"), token)
        .await
        .expect(200);
    let hero = id_where(&blocks.body["items"], "module", "hero");
    (page, hero)
}

/// A weekday (Tuesday to Thursday) at least three days ahead: every demo
/// doctor works then, and it is inside the booking horizon.
pub fn working_day() -> chrono::NaiveDate {
    use chrono::{Datelike, Weekday};
    let mut day = chrono::Utc::now().date_naive() + chrono::Duration::days(3);
    while !matches!(day.weekday(), Weekday::Tue | Weekday::Wed | Weekday::Thu) {
        day += chrono::Duration::days(1);
    }
    day
}

impl TestApp {
    /// A renderer reading from this api through Redis, so the api's
    /// invalidations reach it.
    pub async fn renderer(&self) -> TestRenderer {
        TestRenderer::spawn(
            &self.address,
            Some(&redis_url()),
            &self.config.redis_prefix,
            HashMap::new(),
        )
        .await
    }
}

/// The `api` binary of this build (beside the test executables' folder), for
/// tests that run it as a process of its own.
pub fn api_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().unwrap().parent().unwrap().join("api");
    assert!(
        path.exists(),
        "{} is missing: build it first (cargo build -p cms-api)",
        path.display()
    );
    path
}

impl TestApp {
    /// `POST /api/v1/media` with `bytes` as the `file` field named
    /// `file_name`, and text fields.
    pub async fn upload(
        &self,
        token: &str,
        file_name: &str,
        bytes: Vec<u8>,
        fields: &[(&str, &str)],
    ) -> Reply {
        let mut form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes)
                .file_name(file_name.to_owned())
                .mime_str("image/jpeg")
                .unwrap(),
        );
        for (name, value) in fields {
            form = form.text((*name).to_owned(), (*value).to_owned());
        }
        let response = self
            .client
            .post(self.url("/api/v1/media"))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        Reply {
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        }
    }

    /// Uploads `bytes` with `alt` (201 expected) and waits until its
    /// renditions are made; answers the media.
    pub async fn upload_ready(
        &self,
        token: &str,
        file_name: &str,
        bytes: Vec<u8>,
        alt: &str,
    ) -> Value {
        let uploaded = self
            .upload(token, file_name, bytes, &[("alt", alt)])
            .await
            .expect(201)
            .body;
        let id = uploaded["id"].as_str().unwrap().to_owned();
        self.wait_media(token, &id, |m| m["status"] == "ready")
            .await
    }

    /// Polls a media until `done` holds for it (30 s at most).
    pub async fn wait_media(&self, token: &str, id: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let media = self
                .get(&format!("/api/v1/media/{id}"), token)
                .await
                .expect(200)
                .body;
            if done(&media) {
                return media;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "media {id} never got there: {media}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}

/// The project's Python with the test tools (`make tools`).
pub fn venv_python() -> std::path::PathBuf {
    let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `make tools`",
        python.display()
    );
    python
}

/// An image of `width` x `height`: a colour gradient (so encoders have
/// something to encode), as JPEG.
pub fn gradient_jpeg(width: u32, height: u32, seed: u8) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([
            (x * 255 / width.max(1)) as u8,
            (y * 255 / height.max(1)) as u8,
            seed,
        ])
    });
    jpeg_of(&image, 85)
}

/// `image` encoded as a JPEG of `quality`.
pub fn jpeg_of(image: &image::RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode(
            image.as_raw(),
            image.width(),
            image.height(),
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    out
}

/// A hosts file for the api's outbound guard (`CMS_OUTBOUND_HOSTS_FILE`),
/// read on every resolution: how a test makes a name resolve to a public
/// address when an address is saved and to 127.0.0.1 when it is used.
pub struct HostsFile {
    pub path: std::path::PathBuf,
}

impl HostsFile {
    pub fn new(entries: &[(&str, &str)]) -> Self {
        let hosts = HostsFile {
            path: std::env::temp_dir().join(format!("cms-hosts-{}", Uuid::now_v7().simple())),
        };
        hosts.set(entries);
        hosts
    }

    /// Replaces every entry: `(name, address)`.
    pub fn set(&self, entries: &[(&str, &str)]) {
        let text: String = entries
            .iter()
            .map(|(name, address)| format!("{address} {name}\n"))
            .collect();
        std::fs::write(&self.path, text).unwrap();
    }

    pub fn path(&self) -> String {
        self.path.display().to_string()
    }
}

impl Drop for HostsFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
