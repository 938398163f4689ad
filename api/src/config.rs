//! Typed configuration of the api, read once from the environment in `main`
//! and passed around as `Data<Config>`. Every variable has a documented default
//! (see README "Configuration") so `make run` needs none.

use std::net::SocketAddr;
use std::time::Duration;

use crate::auth::tokens::SigningKey;
use crate::secrets::Keys;
use cms_shared::redis_endpoint::RedisEndpoint;

#[derive(Clone)]
pub struct Config {
    /// `CMS_API_ADDR`, default `127.0.0.1:8080`; tests use port 0.
    pub listen_addr: SocketAddr,
    /// `DATABASE_URL`: the serving role (`cms_app`), bound by row-level security.
    pub database_url: String,
    /// `CMS_DB_POOL_SIZE`, default 4 per core: connections and concurrent
    /// blocking DB jobs. More than PostgreSQL has cores to run them only adds
    /// context switches (measured: p99 of a delivery miss 40 ms at 16 on 2
    /// cores, 24 ms at 8).
    pub db_pool_size: u32,
    /// Read replicas: `DATABASE_REPLICA_URLS` (comma-separated, default
    /// none), `CMS_REPLICA_MAX_LAG_BYTES` (default 16777216),
    /// `CMS_REPLICA_MAX_LAG_MS` (default 5000), `CMS_REPLICA_CHECK_MS`
    /// (default 500). See README "Read replicas".
    pub replicas: crate::db::replicas::ReplicaSettings,
    /// `CMS_TEST_HOOKS`, default off: honours test-only request headers
    /// (`X-Cms-Test-Read-Pause-Ms`, and `X-Cms-Read-Node` on answers).
    /// Never on in production.
    pub test_hooks: bool,
    /// `CMS_DB_CHECKOUT_TIMEOUT_MS`, default 1000: the longest a request
    /// waits for a database connection before it answers 503 with
    /// `Retry-After` (while PostgreSQL is down, or every connection is busy).
    pub db_checkout_timeout: Duration,
    /// `REDIS_URL`, or `REDIS_SENTINELS` (`host:port,...`) with
    /// `REDIS_SENTINEL_SERVICE` (default `mymaster`): the master the
    /// Sentinels name, followed across failovers. None of them means
    /// in-process fallbacks only.
    pub redis: Option<RedisEndpoint>,
    /// `CMS_REDIS_PREFIX`, default `cms:`: namespaces every key this process writes.
    pub redis_prefix: String,
    /// `CMS_JWT_PRIVATE_KEY_FILE` (PKCS#8 PEM) or `CMS_JWT_PRIVATE_KEY` (the PEM itself).
    pub signing_key: SigningKey,
    /// `CMS_ACCESS_TOKEN_TTL_SECS`, default 900 (15 minutes).
    pub access_token_ttl: Duration,
    /// `CMS_REFRESH_TOKEN_TTL_SECS`, default 30 days.
    pub refresh_token_ttl: Duration,
    /// `CMS_BODY_LIMIT_BYTES`, default 262144: larger JSON bodies answer 413.
    pub body_limit_bytes: usize,
    /// `CMS_IMPORT_LIMIT_BYTES`, default 16 MiB: site documents for import.
    pub import_limit_bytes: usize,
    /// `CMS_LOGIN_LIMIT_PER_IP`, default 30 attempts per window.
    pub login_limit_per_ip: u32,
    /// `CMS_LOGIN_LIMIT_PER_ACCOUNT`, default 10 attempts per window.
    pub login_limit_per_account: u32,
    /// `CMS_LOGIN_LIMIT_WINDOW_SECS`, default 300.
    pub login_limit_window: Duration,
    /// `CMS_LEAD_LIMIT_PER_VISITOR`, default 10: lead submissions one visitor
    /// may send to one site in 10 minutes.
    pub lead_limit_per_visitor: u32,
    /// `CMS_BOOKING_MIN_LEAD_MINUTES`, default 60: the earliest bookable
    /// slot starts this long after now.
    pub booking_min_lead_minutes: i64,
    /// `CMS_BOOKING_MAX_DAYS_AHEAD`, default 60: the latest bookable date.
    pub booking_max_days_ahead: i64,
    /// `CMS_BOOKING_CANCEL_WINDOW_HOURS`, default 24: patients may cancel
    /// their own appointment until this long before it starts.
    pub booking_cancel_window_hours: i64,
    /// `CMS_SLOT_GRANULARITY_MINUTES`, default 0: step between slot starts;
    /// 0 steps by the service's duration.
    pub slot_granularity_minutes: i64,
    /// `CMS_BOOKING_LIMIT_PER_IP`, default 20: guest bookings per IP per hour.
    pub booking_limit_per_ip: u32,
    /// `CMS_SLOTS_CACHE_MS`, default 2000: how long a node reuses an
    /// `available-slots` answer (its own bookings and schedule changes evict
    /// at once; a slot booked on another node shows at most this long, and
    /// booking it answers 409 with the nearest free slots). 0 turns it off.
    pub slots_cache_ms: u64,
    /// `CMS_JOBS`, default `on`: whether `serve` runs a job worker too
    /// (`off` leaves jobs to `api worker` processes).
    pub jobs_in_serve: bool,
    /// `CMS_JOB_QUEUES`, default `default=10,notifications=10,webhooks=20,media=2,media_avif=1`:
    /// the queues a worker runs and how many of each queue's jobs at once.
    pub job_queues: Vec<(String, usize)>,
    /// `CMS_JOB_LEASE_SECS`, default 30: how long a claimed job is held
    /// without a heartbeat before any node's rescuer runs it again.
    pub job_lease: Duration,
    /// `CMS_JOB_POLL_MS`, default 1000: how often idle workers look for jobs
    /// without a notification.
    pub job_poll: Duration,
    /// `CMS_JOB_BACKOFF_MS`, default 2000: the first retry's delay; each
    /// next one doubles (±25% jitter, at most an hour).
    pub job_backoff_base: Duration,
    /// `CMS_JOBS_SHUTDOWN_GRACE_SECS`, default 25: how long a stopping worker
    /// waits for running handlers before it interrupts their jobs (the
    /// attempt counts).
    pub job_shutdown_grace: Duration,
    /// `CMS_DELIVERY_MAX_AGE_SECS`, default 30: browsers' and CDNs' max-age on delivery responses.
    pub delivery_max_age: Duration,
    /// `CMS_DELIVERY_CACHE_TTL_SECS`, default 300: how long a delivery response
    /// stays in the response cache at most; 0 turns the cache off.
    pub delivery_cache_ttl: Duration,
    /// `CMS_DELIVERY_NEAR_CACHE_ENTRIES`, default 10000: delivery responses
    /// kept in process memory in front of Redis (served without a round trip
    /// while the `cms:invalidate` subscription is up); 0 turns it off.
    pub delivery_near_cache_entries: usize,
    /// `CMS_PREVIEW_TTL_SECS`, default 900: how long a preview link works.
    pub preview_ttl: Duration,
    /// `CMS_ADMIN_DIR` (default `api/admin/dist`): the editors' admin build
    /// the api serves at `/admin`, read once at start.
    pub admin_dir: std::path::PathBuf,
    /// `CMS_ADMIN_PREVIEW_URL`: where the admin's live preview frames a page,
    /// with `{host}` for the site's host (`http://{host}:8081`). Default
    /// none: the admin offers preview links without the frame.
    pub admin_preview_url: Option<String>,
    /// `CMS_EVENTS_LIMIT_PER_VISITOR`, default 120: experiment events one
    /// visitor id may send per minute.
    pub events_limit_per_visitor: u32,
    /// `CMS_EVENTS_LIMIT_PER_IP`, default 3000: experiment events one client
    /// address may send per minute.
    pub events_limit_per_ip: u32,
    /// `CMS_EVENTS_TRUSTED_SOURCES`, comma-separated addresses, default none:
    /// senders exempt from the per-address event limit (renderer nodes, which
    /// send the events of many visitors; those stay limited per visitor).
    pub events_trusted_sources: Vec<std::net::IpAddr>,
    /// `CMS_TRUSTED_PROXIES`, comma-separated addresses, default none: load
    /// balancers whose `X-Forwarded-For` names the client (rate limits and
    /// logs then see the visitor, not the proxy).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Origins of admin SPAs allowed on management endpoints (CORS), from
    /// `CMS_ADMIN_ORIGINS` (comma-separated).
    pub admin_origins: Vec<String>,
    /// How often each node reloads the tenants' own allowed origins.
    pub cors_refresh: Duration,
    /// `CMS_SECRETS_KEY` (base64 of 32 bytes), or the file named by
    /// `CMS_SECRETS_KEY_FILE`: seals stored provider credentials and webhook
    /// secrets (ChaCha20-Poly1305). Required: there is no default key.
    /// Rotation: see README "Notifications".
    pub secrets_key: [u8; 32],
    /// `CMS_SECRETS_KEY_OLD` (base64 of 32 bytes): the previous key, still
    /// read while credentials sealed with it are re-saved.
    pub secrets_key_old: Option<[u8; 32]>,
    /// `CMS_WEBHOOK_SCHEDULE_SCALE`, default 1: multiplies the webhook retry
    /// schedule (5 s ... 10 h); tests run accelerated clocks with 0.001.
    pub webhook_schedule_scale: f64,
    /// The outbound guard's settings: `CMS_OUTBOUND_ALLOW_HOSTS` (formerly
    /// `CMS_WEBHOOK_ALLOW_HOSTS`, still read), default empty: IPs, CIDRs
    /// reachable although special, and host names providers may be pointed
    /// at; `CMS_OUTBOUND_HOSTS_FILE`: a hosts file read before DNS.
    pub outbound: crate::outbound::Outbound,
    /// `CMS_SMTP_RELAY_URL`, default none: the operator's mail relay, used by
    /// tenants' `smtp` providers that name no `base_url` (none otherwise:
    /// the host's own mail server is never a default).
    pub smtp_relay_url: Option<String>,
    /// `CMS_PROVIDER_TIMEOUT_MS`, default 20000: the longest one call to an
    /// SMS provider may take. Past it the outcome is unknown (the request
    /// may have arrived): see `SmsError::Unknown`.
    pub provider_timeout: Duration,
    /// The media library: storage, limits and rendition presets.
    pub media: MediaConfig,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name} is not valid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("{0} must be set")]
    Missing(&'static str),
    #[error(
        "CMS_SECRETS_KEY (or CMS_SECRETS_KEY_FILE) must be set: it seals provider credentials \
         and webhook secrets at rest, and nothing starts without one. Generate one with \
         `api gen-secrets-key > secrets.key` and set CMS_SECRETS_KEY_FILE=secrets.key"
    )]
    MissingSecretsKey,
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, so tests can supply their own values.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let secrets = SecretsKeys::from_lookup(&get)?;
        let signing_key = match (get("CMS_JWT_PRIVATE_KEY"), get("CMS_JWT_PRIVATE_KEY_FILE")) {
            (Some(pem), _) => SigningKey::from_pem(&pem),
            (None, Some(path)) => std::fs::read_to_string(&path)
                .map_err(|err| format!("cannot read {path}: {err}"))
                .and_then(|pem| SigningKey::from_pem(&pem)),
            (None, None) => return Err(ConfigError::Missing("CMS_JWT_PRIVATE_KEY_FILE")),
        }
        .map_err(|reason| ConfigError::Invalid {
            name: "CMS_JWT_PRIVATE_KEY_FILE",
            reason,
        })?;
        Ok(Config {
            listen_addr: parse_or(&get, "CMS_API_ADDR", "127.0.0.1:8080")?,
            database_url: get("DATABASE_URL").ok_or(ConfigError::Missing("DATABASE_URL"))?,
            db_pool_size: parse_or(&get, "CMS_DB_POOL_SIZE", &default_pool_size())?,
            db_checkout_timeout: Duration::from_millis(parse_or(
                &get,
                "CMS_DB_CHECKOUT_TIMEOUT_MS",
                "1000",
            )?),
            replicas: crate::db::replicas::ReplicaSettings {
                urls: get("DATABASE_REPLICA_URLS")
                    .unwrap_or_default()
                    .split(',')
                    .map(str::trim)
                    .filter(|url| !url.is_empty())
                    .map(str::to_owned)
                    .collect(),
                max_lag_bytes: parse_or(&get, "CMS_REPLICA_MAX_LAG_BYTES", "16777216")?,
                max_lag: Duration::from_millis(parse_or(&get, "CMS_REPLICA_MAX_LAG_MS", "5000")?),
                check_interval: Duration::from_millis(
                    parse_or::<u64>(&get, "CMS_REPLICA_CHECK_MS", "500")?.max(10),
                ),
            },
            test_hooks: matches!(
                get("CMS_TEST_HOOKS").as_deref().map(str::trim),
                Some("1" | "on" | "true")
            ),
            redis: RedisEndpoint::from_settings(get).map_err(|err| ConfigError::Invalid {
                name: err.name,
                reason: err.reason,
            })?,
            redis_prefix: get("CMS_REDIS_PREFIX").unwrap_or_else(|| "cms:".to_owned()),
            signing_key,
            access_token_ttl: Duration::from_secs(parse_or(
                &get,
                "CMS_ACCESS_TOKEN_TTL_SECS",
                "900",
            )?),
            refresh_token_ttl: Duration::from_secs(parse_or(
                &get,
                "CMS_REFRESH_TOKEN_TTL_SECS",
                "2592000",
            )?),
            body_limit_bytes: parse_or(&get, "CMS_BODY_LIMIT_BYTES", "262144")?,
            import_limit_bytes: parse_or(&get, "CMS_IMPORT_LIMIT_BYTES", "16777216")?,
            login_limit_per_ip: parse_or(&get, "CMS_LOGIN_LIMIT_PER_IP", "30")?,
            login_limit_per_account: parse_or(&get, "CMS_LOGIN_LIMIT_PER_ACCOUNT", "10")?,
            lead_limit_per_visitor: parse_or(&get, "CMS_LEAD_LIMIT_PER_VISITOR", "10")?,
            booking_min_lead_minutes: parse_or(&get, "CMS_BOOKING_MIN_LEAD_MINUTES", "60")?,
            booking_max_days_ahead: parse_or(&get, "CMS_BOOKING_MAX_DAYS_AHEAD", "60")?,
            booking_cancel_window_hours: parse_or(&get, "CMS_BOOKING_CANCEL_WINDOW_HOURS", "24")?,
            slot_granularity_minutes: parse_or(&get, "CMS_SLOT_GRANULARITY_MINUTES", "0")?,
            booking_limit_per_ip: parse_or(&get, "CMS_BOOKING_LIMIT_PER_IP", "20")?,
            slots_cache_ms: parse_or(&get, "CMS_SLOTS_CACHE_MS", "2000")?,
            events_limit_per_visitor: parse_or(&get, "CMS_EVENTS_LIMIT_PER_VISITOR", "120")?,
            events_limit_per_ip: parse_or(&get, "CMS_EVENTS_LIMIT_PER_IP", "3000")?,
            events_trusted_sources: parse_ips(&get, "CMS_EVENTS_TRUSTED_SOURCES")?,
            trusted_proxies: parse_ips(&get, "CMS_TRUSTED_PROXIES")?,
            login_limit_window: Duration::from_secs(parse_or(
                &get,
                "CMS_LOGIN_LIMIT_WINDOW_SECS",
                "300",
            )?),
            jobs_in_serve: match get("CMS_JOBS").as_deref().map(str::trim) {
                None | Some("on" | "true" | "1") => true,
                Some("off" | "false" | "0") => false,
                Some(other) => {
                    return Err(ConfigError::Invalid {
                        name: "CMS_JOBS",
                        reason: format!("{other:?}: use on or off"),
                    })
                }
            },
            job_queues: parse_queues(&get("CMS_JOB_QUEUES").unwrap_or_else(|| {
                "default=10,notifications=10,webhooks=20,media=2,media_avif=1".into()
            }))?,
            job_lease: Duration::from_secs(parse_or(&get, "CMS_JOB_LEASE_SECS", "30")?),
            job_poll: Duration::from_millis(parse_or(&get, "CMS_JOB_POLL_MS", "1000")?),
            job_backoff_base: Duration::from_millis(parse_or(&get, "CMS_JOB_BACKOFF_MS", "2000")?),
            job_shutdown_grace: Duration::from_secs(parse_or(
                &get,
                "CMS_JOBS_SHUTDOWN_GRACE_SECS",
                "25",
            )?),
            delivery_max_age: Duration::from_secs(parse_or(
                &get,
                "CMS_DELIVERY_MAX_AGE_SECS",
                "30",
            )?),
            delivery_cache_ttl: Duration::from_secs(parse_or(
                &get,
                "CMS_DELIVERY_CACHE_TTL_SECS",
                "300",
            )?),
            delivery_near_cache_entries: parse_or(
                &get,
                "CMS_DELIVERY_NEAR_CACHE_ENTRIES",
                "10000",
            )?,
            preview_ttl: Duration::from_secs(parse_or(&get, "CMS_PREVIEW_TTL_SECS", "900")?),
            admin_dir: get("CMS_ADMIN_DIR")
                .unwrap_or_else(|| "api/admin/dist".into())
                .into(),
            admin_preview_url: get("CMS_ADMIN_PREVIEW_URL")
                .map(|template| {
                    preview_url_template(&template).ok_or_else(|| ConfigError::Invalid {
                        name: "CMS_ADMIN_PREVIEW_URL",
                        reason: format!(
                            "{template:?}: must be http(s)://{{host}}[:port] (a CSP source)"
                        ),
                    })
                })
                .transpose()?,
            admin_origins: get("CMS_ADMIN_ORIGINS")
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|origin| !origin.is_empty())
                .map(|origin| {
                    crate::http::cors::parse_origin(origin).map_err(|reason| ConfigError::Invalid {
                        name: "CMS_ADMIN_ORIGINS",
                        reason: format!("{origin:?} {reason}"),
                    })
                })
                .collect::<Result<_, _>>()?,
            cors_refresh: Duration::from_secs(parse_or(&get, "CMS_CORS_REFRESH_SECS", "10")?),
            secrets_key: secrets.current,
            secrets_key_old: secrets.old,
            webhook_schedule_scale: parse_or::<f64>(&get, "CMS_WEBHOOK_SCHEDULE_SCALE", "1")
                .and_then(|scale| {
                    if scale.is_finite() && scale > 0.0 && scale <= 1.0 {
                        Ok(scale)
                    } else {
                        Err(ConfigError::Invalid {
                            name: "CMS_WEBHOOK_SCHEDULE_SCALE",
                            reason: format!("{scale}: a factor above 0, at most 1"),
                        })
                    }
                })?,
            outbound: crate::outbound::Outbound {
                hosts_file: get("CMS_OUTBOUND_HOSTS_FILE").map(Into::into),
                ..crate::outbound::Outbound::parse_allow(
                    &get("CMS_OUTBOUND_ALLOW_HOSTS")
                        .or_else(|| get("CMS_WEBHOOK_ALLOW_HOSTS"))
                        .unwrap_or_default(),
                )
            },
            smtp_relay_url: get("CMS_SMTP_RELAY_URL"),
            provider_timeout: Duration::from_millis(parse_or(
                &get,
                "CMS_PROVIDER_TIMEOUT_MS",
                "20000",
            )?),
            media: MediaConfig::from_lookup(&get)?,
        })
    }
}

impl Config {
    /// The keys sealing secrets at rest (provider credentials, webhook secrets).
    pub fn secrets(&self) -> Keys {
        Keys::new(self.secrets_key, self.secrets_key_old)
    }
}

/// `CMS_SECRETS_KEY` and `CMS_SECRETS_KEY_OLD` alone, for commands that need
/// no other configuration (`api seed`).
pub struct SecretsKeys {
    current: [u8; 32],
    old: Option<[u8; 32]>,
}

impl SecretsKeys {
    pub fn from_env() -> Result<Keys, ConfigError> {
        let get = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let keys = Self::from_lookup(&get)?;
        Ok(Keys::new(keys.current, keys.old))
    }

    fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(SecretsKeys {
            current: match (get("CMS_SECRETS_KEY"), get("CMS_SECRETS_KEY_FILE")) {
                (Some(raw), _) => parse_key("CMS_SECRETS_KEY", &raw)?,
                (None, Some(path)) => {
                    let raw =
                        std::fs::read_to_string(&path).map_err(|err| ConfigError::Invalid {
                            name: "CMS_SECRETS_KEY_FILE",
                            reason: format!("cannot read {path}: {err}"),
                        })?;
                    parse_key("CMS_SECRETS_KEY_FILE", &raw)?
                }
                (None, None) => return Err(ConfigError::MissingSecretsKey),
            },
            old: get("CMS_SECRETS_KEY_OLD")
                .map(|raw| parse_key("CMS_SECRETS_KEY_OLD", &raw))
                .transpose()?,
        })
    }
}

/// A new random secrets key, as `CMS_SECRETS_KEY` takes it (base64).
pub fn generate_secrets_key() -> String {
    use base64::Engine;
    let key: [u8; 32] = rand::random();
    base64::engine::general_purpose::STANDARD.encode(key)
}

fn parse_key(name: &'static str, raw: &str) -> Result<[u8; 32], ConfigError> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(raw.trim())
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .ok_or(ConfigError::Invalid {
            name,
            reason: "must be base64 of 32 bytes".into(),
        })
}

/// `default=10,webhooks=20`: queue names (as the jobs table allows them)
/// and their concurrency (1 to 1000).
fn parse_queues(raw: &str) -> Result<Vec<(String, usize)>, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid {
        name: "CMS_JOB_QUEUES",
        reason,
    };
    let mut queues: Vec<(String, usize)> = Vec::new();
    for item in raw
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
    {
        let (name, concurrency) = item
            .split_once('=')
            .ok_or_else(|| invalid(format!("{item:?}: write queue=concurrency")))?;
        let name = name.trim();
        let valid_name = name.len() <= 40
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid_name || queues.iter().any(|(known, _)| known == name) {
            return Err(invalid(format!(
                "{name:?}: a queue is named once, a-z 0-9 _"
            )));
        }
        let concurrency: usize = concurrency
            .trim()
            .parse()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| invalid(format!("{item:?}: concurrency is 1 to 1000")))?;
        queues.push((name.to_owned(), concurrency));
    }
    if queues.is_empty() {
        return Err(invalid("name at least one queue".into()));
    }
    Ok(queues)
}

fn default_pool_size() -> String {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    (4 * cores).to_string()
}

/// A comma-separated list of IP addresses (empty when unset).
fn parse_ips(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Vec<std::net::IpAddr>, ConfigError> {
    get(name)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|ip| !ip.is_empty())
        .map(|ip| {
            ip.parse().map_err(|err| ConfigError::Invalid {
                name,
                reason: format!("{ip:?}: {err}"),
            })
        })
        .collect()
}

fn parse_or<T>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: &str,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let raw = get(name).unwrap_or_else(|| default.to_owned());
    raw.trim()
        .parse()
        .map_err(|err: T::Err| ConfigError::Invalid {
            name,
            reason: format!("{raw:?}: {err}"),
        })
}

/// Where media live and what an upload may be (README "Media").
#[derive(Clone, Debug)]
pub struct MediaConfig {
    pub storage: MediaStorage,
    /// `CMS_MEDIA_BASE_URL`, default `/media`: what media URLs start with
    /// (the api and the renderer both serve `/media/...`; a CDN's URL here
    /// puts it in front).
    pub base_url: String,
    /// `CMS_MEDIA_MAX_BYTES`, default 25 MiB: the largest upload.
    pub max_bytes: usize,
    /// `CMS_MEDIA_MAX_PIXELS`, default 40,000,000 (animation frames count).
    pub max_pixels: u64,
    /// `CMS_MEDIA_QUOTA_BYTES` / `_COUNT`, default 5 GiB and 20,000: a
    /// tenant's quota until an admin changes it.
    pub quota_bytes: i64,
    pub quota_count: i32,
    /// `CMS_MEDIA_WIDTHS`, default `320,640,960,1280,1920`.
    pub widths: Vec<u32>,
    /// `CMS_MEDIA_FILLS`, default `square=600x600,og=1200x630`: named crops
    /// filled around the focal point.
    pub fills: Vec<(String, u32, u32)>,
    /// `CMS_MEDIA_WEBP_QUALITY` (default 80), `CMS_MEDIA_AVIF_QUALITY`
    /// (default 60), `CMS_MEDIA_JPEG_QUALITY` (default 82).
    pub webp_quality: f32,
    pub avif_quality: f32,
    pub jpeg_quality: u8,
    /// `CMS_MEDIA_AVIF_SPEED`, default 8 (1 slowest and smallest .. 10).
    pub avif_speed: u8,
    /// `CMS_MEDIA_DECODE_TIMEOUT_SECS`, default 120: the time one image's
    /// renditions may take before the job gives up on it.
    pub decode_timeout: Duration,
    /// `CMS_MEDIA_DECODE_CONCURRENCY`, default the core count: images
    /// decoded at once by this process (each may hold ~200 MB at 40 MP).
    pub decode_concurrency: usize,
}

/// `CMS_MEDIA_S3_BUCKET` set: S3-compatible storage (with `_ENDPOINT`,
/// `_REGION`, `_ACCESS_KEY_ID`, `_SECRET_ACCESS_KEY`); otherwise the local
/// directory `CMS_MEDIA_DIR` (default `var/media`).
#[derive(Clone)]
pub enum MediaStorage {
    Local(std::path::PathBuf),
    S3 {
        bucket: String,
        endpoint: Option<String>,
        region: String,
        access_key_id: String,
        secret_access_key: String,
    },
}

impl std::fmt::Debug for MediaStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MediaStorage::Local(dir) => f.debug_tuple("Local").field(dir).finish(),
            MediaStorage::S3 {
                bucket, endpoint, ..
            } => f
                .debug_struct("S3")
                .field("bucket", bucket)
                .field("endpoint", endpoint)
                .finish_non_exhaustive(),
        }
    }
}

impl MediaConfig {
    /// The media settings alone, from the environment (`api bench-media`).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let invalid = |name: &'static str, reason: String| ConfigError::Invalid { name, reason };
        let storage = match get("CMS_MEDIA_S3_BUCKET") {
            Some(bucket) => MediaStorage::S3 {
                bucket,
                endpoint: get("CMS_MEDIA_S3_ENDPOINT"),
                region: get("CMS_MEDIA_S3_REGION").unwrap_or_else(|| "us-east-1".into()),
                access_key_id: get("CMS_MEDIA_S3_ACCESS_KEY_ID")
                    .ok_or(ConfigError::Missing("CMS_MEDIA_S3_ACCESS_KEY_ID"))?,
                secret_access_key: get("CMS_MEDIA_S3_SECRET_ACCESS_KEY")
                    .ok_or(ConfigError::Missing("CMS_MEDIA_S3_SECRET_ACCESS_KEY"))?,
            },
            None => MediaStorage::Local(
                get("CMS_MEDIA_DIR")
                    .unwrap_or_else(|| "var/media".into())
                    .into(),
            ),
        };
        let mut widths = Vec::new();
        for item in get("CMS_MEDIA_WIDTHS")
            .unwrap_or_else(|| "320,640,960,1280,1920".into())
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
        {
            match item.parse::<u32>() {
                Ok(width) if (16..=8192).contains(&width) => widths.push(width),
                _ => {
                    return Err(invalid(
                        "CMS_MEDIA_WIDTHS",
                        format!("{item:?}: a width from 16 to 8192"),
                    ))
                }
            }
        }
        widths.sort_unstable();
        widths.dedup();
        if widths.is_empty() {
            return Err(invalid("CMS_MEDIA_WIDTHS", "at least one width".into()));
        }
        let mut fills = Vec::new();
        for item in get("CMS_MEDIA_FILLS")
            .unwrap_or_else(|| "square=600x600,og=1200x630".into())
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
        {
            let parsed = item.split_once('=').and_then(|(name, size)| {
                let (w, h) = size.split_once('x')?;
                let (w, h) = (w.parse::<u32>().ok()?, h.parse::<u32>().ok()?);
                let name_ok = !name.is_empty()
                    && name.len() <= 20
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
                (name_ok && (16..=4096).contains(&w) && (16..=4096).contains(&h))
                    .then(|| (name.to_owned(), w, h))
            });
            match parsed {
                Some(fill) => fills.push(fill),
                None => {
                    return Err(invalid(
                        "CMS_MEDIA_FILLS",
                        format!("{item:?}: name=WIDTHxHEIGHT, a lowercase name and sizes 16..4096"),
                    ))
                }
            }
        }
        let quality = |name: &'static str, default: &str| -> Result<f32, ConfigError> {
            let value: f32 = parse_or(get, name, default)?;
            if (1.0..=100.0).contains(&value) {
                Ok(value)
            } else {
                Err(invalid(name, format!("{value}: from 1 to 100")))
            }
        };
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(MediaConfig {
            storage,
            base_url: get("CMS_MEDIA_BASE_URL")
                .unwrap_or_else(|| "/media".into())
                .trim_end_matches('/')
                .to_owned(),
            max_bytes: parse_or(get, "CMS_MEDIA_MAX_BYTES", "26214400")?,
            max_pixels: parse_or(get, "CMS_MEDIA_MAX_PIXELS", "40000000")?,
            quota_bytes: parse_or(get, "CMS_MEDIA_QUOTA_BYTES", "5368709120")?,
            quota_count: parse_or(get, "CMS_MEDIA_QUOTA_COUNT", "20000")?,
            widths,
            fills,
            webp_quality: quality("CMS_MEDIA_WEBP_QUALITY", "80")?,
            avif_quality: quality("CMS_MEDIA_AVIF_QUALITY", "60")?,
            jpeg_quality: quality("CMS_MEDIA_JPEG_QUALITY", "82")? as u8,
            avif_speed: match parse_or::<u8>(get, "CMS_MEDIA_AVIF_SPEED", "8")? {
                speed @ 1..=10 => speed,
                other => {
                    return Err(invalid(
                        "CMS_MEDIA_AVIF_SPEED",
                        format!("{other}: from 1 to 10"),
                    ))
                }
            },
            decode_timeout: Duration::from_secs(parse_or(
                get,
                "CMS_MEDIA_DECODE_TIMEOUT_SECS",
                "120",
            )?),
            decode_concurrency: parse_or(get, "CMS_MEDIA_DECODE_CONCURRENCY", &cores.to_string())?,
        })
    }

    /// Names the preset list and encoder settings: rendition keys carry it,
    /// so changing any of them makes new keys (and regenerating makes them).
    pub fn presets_version(&self) -> String {
        use sha2::{Digest, Sha256};
        let described = format!(
            "w{:?};f{:?};webp{};avif{}/{};jpeg{}",
            self.widths,
            self.fills,
            self.webp_quality,
            self.avif_quality,
            self.avif_speed,
            self.jpeg_quality
        );
        hex::encode(&Sha256::digest(described.as_bytes())[..4])
    }
}

/// A preview URL template, if it is `http(s)://...{host}...[:port]` with
/// nothing a CSP source could not hold.
fn preview_url_template(template: &str) -> Option<String> {
    let rest = template
        .strip_prefix("https://")
        .or_else(|| template.strip_prefix("http://"))?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':');
    (rest.contains("{host}") && rest.replace("{host}", "").chars().all(allowed))
        .then(|| template.trim_end_matches('/').to_owned())
}
