//! Database access: the r2d2 pool of the serving role, and the transaction helper
//! that sets the row-level-security context (`app.tenant_id`, `app.user_id`)
//! before any query runs. Queries live in one module per resource.

pub mod appointments;
pub mod audit;
pub mod clinics;
pub mod cursor;
pub mod doctors;
pub mod domains;
pub mod enums;
pub mod experiments;
pub mod jobs;
pub mod leads;
pub mod media;
pub mod memberships;
pub mod modules;
pub mod notifications;
pub mod pages;
pub mod positions;
pub mod refresh_tokens;
pub mod replicas;
pub mod reviews;
pub mod routing;
pub mod schema;
pub mod services;
pub mod setup;
pub mod sites;
pub mod tenants;
pub mod users;
pub mod webhooks;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, Pool};
use diesel::sql_types::{Bool, Nullable, Text};
use diesel::{Connection, QueryableByName, RunQueryDsl};
use uuid::Uuid;

use crate::blocking::Blocking;
use crate::error::ApiError;
use positions::Lsn;
use replicas::{ReplicaSettings, Replicas};

pub type PgPool = Pool<ConnectionManager<PgConnection>>;

/// A connection whose server went away (PostgreSQL restarted, or the link
/// broke) is marked broken so that r2d2 drops it when it comes back to the
/// pool instead of handing it to the next request: diesel only marks a
/// connection broken when a ROLLBACK fails, not when the BEGIN does, and
/// checkouts are not tested (that would cost a round trip each). The pool
/// opens fresh connections as the server returns.
fn discard_if_lost<T>(conn: &mut PgConnection, result: &Result<T, ApiError>) {
    use diesel::connection::TransactionManager;
    if matches!(result, Err(ApiError::DatabaseLost(_))) {
        <PgConnection as diesel::Connection>::TransactionManager::transaction_manager_status_mut(
            conn,
        )
        .set_in_error();
    }
}

/// Whose rows a transaction may see. Row-level security reads these settings;
/// leaving one `None` makes the matching policies match nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scope {
    pub tenant_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
}

impl Scope {
    pub fn tenant(tenant_id: Uuid, user_id: Uuid) -> Self {
        Scope {
            tenant_id: Some(tenant_id),
            user_id: Some(user_id),
        }
    }

    pub fn user(user_id: Uuid) -> Self {
        Scope {
            tenant_id: None,
            user_id: Some(user_id),
        }
    }

    pub fn global() -> Self {
        Scope::default()
    }
}

#[derive(Clone)]
pub struct Db {
    pool: PgPool,
    blocking: Blocking,
    statements: Arc<AtomicU64>,
    /// Read replicas, when `DATABASE_REPLICA_URLS` names any.
    replicas: Option<Arc<Replicas>>,
}

impl Db {
    /// A pool for commands (seed, setup): waits up to 5 s for a connection.
    pub fn connect(database_url: &str, pool_size: u32) -> Result<Self, ApiError> {
        Self::connect_with(database_url, pool_size, std::time::Duration::from_secs(5))
    }

    /// A pool whose checkouts wait at most `checkout_timeout` (then the
    /// request answers 503): what `serve` and `worker` run on.
    pub fn connect_with(
        database_url: &str,
        pool_size: u32,
        checkout_timeout: std::time::Duration,
    ) -> Result<Self, ApiError> {
        let statements = Arc::new(AtomicU64::new(0));
        let manager = ConnectionManager::<PgConnection>::new(database_url);
        let pool = Pool::builder()
            .max_size(pool_size)
            .connection_customizer(Box::new(CountStatements(Arc::clone(&statements))))
            .connection_timeout(checkout_timeout)
            // No `SELECT 1` round trip on every checkout: a broken connection
            // fails its query (the request answers 503) and r2d2 drops it.
            .test_on_check_out(false)
            .build(manager)
            .map_err(|err| ApiError::Unavailable(format!("cannot connect to PostgreSQL: {err}")))?;
        Ok(Db {
            pool,
            statements,
            blocking: Blocking::new("database", pool_size as usize),
            replicas: None,
        })
    }

    /// Adds read replicas (none: the primary serves every read) and starts
    /// their health checks. Each gets a pool as large as the primary's, and
    /// the blocking bound grows to match.
    pub fn with_replicas(
        mut self,
        primary_url: &str,
        settings: ReplicaSettings,
        checkout_timeout: std::time::Duration,
    ) -> Self {
        if settings.urls.is_empty() {
            return self;
        }
        let pool_size = self.pool.max_size();
        let nodes = settings.urls.len();
        let replicas = Replicas::new(settings, pool_size, checkout_timeout);
        replicas::spawn_checks(&replicas, primary_url);
        self.blocking = Blocking::new("database", pool_size as usize * (nodes + 1));
        self.replicas = Some(replicas);
        self
    }

    pub fn replicas(&self) -> Option<&Replicas> {
        self.replicas.as_deref()
    }

    /// A pool of one connection, made on first use (no I/O here), with its
    /// own blocking slot: what a worker's lease heartbeats run on, so a
    /// request pool or blocking queue that is busy cannot cost a lease.
    pub fn dedicated(database_url: &str, checkout_timeout: std::time::Duration) -> Self {
        let statements = Arc::new(AtomicU64::new(0));
        let pool = Pool::builder()
            .max_size(1)
            .min_idle(Some(0))
            .connection_timeout(checkout_timeout)
            .test_on_check_out(false)
            .build_unchecked(ConnectionManager::<PgConnection>::new(database_url));
        Db {
            pool,
            statements,
            blocking: Blocking::new("lease heartbeats", 1),
            replicas: None,
        }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// SQL statements this pool's connections ran (`cms_db_statements_total`).
    pub fn statements(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// Runs `job` in one transaction whose first statement sets the RLS scope.
    /// Any error rolls the whole transaction back: nothing is half-written.
    pub async fn tx<T, F>(&self, scope: Scope, job: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        self.transaction(move |conn| set_scope(conn, scope), job)
            .await
    }

    /// A transaction of public delivery about `site_id`: its first statement
    /// finds the owning tenant (a routing function) and enters its RLS scope
    /// in one round trip. 404 when no such site exists.
    pub async fn site_tx<T, F>(&self, site_id: Uuid, job: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let enter = move |conn: &mut PgConnection| enter_site(conn, site_id);
        self.transaction(enter, job).await
    }

    /// Runs `job` on a pooled connection outside any transaction and tenant
    /// scope, for single statements that call a routing function (RLS lets
    /// nothing else through there). Saves the BEGIN and COMMIT round trips on
    /// the public hot path.
    pub async fn unscoped<T, F>(&self, job: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        self.blocking
            .run(move || {
                let mut conn = pool.get()?;
                let result = job(&mut conn);
                discard_if_lost(&mut conn, &result);
                result
            })
            .await
    }

    /// Runs `job` in one `READ ONLY` transaction scoped like `tx`, on a
    /// replica when one is serving and has replayed the request's required
    /// position (see `replicas`), else on the primary. `job` may run more
    /// than once: a replica failing mid-read reruns it on the next node.
    pub async fn read<T, F>(&self, scope: Scope, job: F) -> Result<T, ApiError>
    where
        F: Fn(&mut PgConnection) -> Result<T, ApiError> + Send + Sync + 'static,
        T: Send + 'static,
    {
        self.read_in(move |conn| {
            set_scope(conn, scope)?;
            job(conn)
        })
        .await
    }

    /// `site_tx` for reads: a `READ ONLY` transaction like `read`.
    pub async fn site_read<T, F>(&self, site_id: Uuid, job: F) -> Result<T, ApiError>
    where
        F: Fn(&mut PgConnection) -> Result<T, ApiError> + Send + Sync + 'static,
        T: Send + 'static,
    {
        self.read_in(move |conn| {
            enter_site(conn, site_id)?;
            job(conn)
        })
        .await
    }

    /// `unscoped` for reads: one statement (a routing function) outside a
    /// transaction, on a replica like `read`.
    pub async fn read_unscoped<T, F>(&self, job: F) -> Result<T, ApiError>
    where
        F: Fn(&mut PgConnection) -> Result<T, ApiError> + Send + Sync + 'static,
        T: Send + 'static,
    {
        self.read_on_some_node(true, job).await
    }

    async fn read_in<T, F>(&self, read: F) -> Result<T, ApiError>
    where
        F: Fn(&mut PgConnection) -> Result<T, ApiError> + Send + Sync + 'static,
        T: Send + 'static,
    {
        self.read_on_some_node(false, read).await
    }

    async fn read_on_some_node<T, F>(&self, single: bool, read: F) -> Result<T, ApiError>
    where
        F: Fn(&mut PgConnection) -> Result<T, ApiError> + Send + Sync + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let Some(replicas) = self.replicas.clone() else {
            return self
                .blocking
                .run(move || read_on(&pool, single, &read))
                .await;
        };
        let required = positions::required();
        let pause = positions::read_pause();
        let (result, node) = self
            .blocking
            .run(move || Ok(replicas.run(&pool, required, pause, single, &read)))
            .await?;
        positions::note_served_by(node);
        result
    }

    /// `enter` then `job` in one transaction on a pooled connection, on the
    /// bounded blocking pool. With replicas, a request that writes records
    /// the WAL position after the COMMIT (read-your-writes).
    async fn transaction<T, E, F>(&self, enter: E, job: F) -> Result<T, ApiError>
    where
        E: FnOnce(&mut PgConnection) -> Result<(), ApiError> + Send + 'static,
        F: FnOnce(&mut PgConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let record = self.replicas.is_some() && positions::records_commits();
        let (result, committed) = self
            .blocking
            .run(move || {
                let mut conn = pool.get()?;
                let result = conn.transaction(|conn| {
                    enter(conn)?;
                    job(conn)
                });
                discard_if_lost(&mut conn, &result);
                let committed = (record && result.is_ok()).then(|| commit_position(&mut conn));
                Ok((result, committed))
            })
            .await?;
        if let Some(at) = committed {
            positions::note_commit(at);
        }
        result
    }

    /// Checks the serving role: it must not be a superuser nor bypass RLS,
    /// or tenant isolation would silently not apply.
    pub async fn ensure_role_is_bound_by_rls(&self) -> Result<(), StartupError> {
        let role = self
            .tx(Scope::global(), |conn| {
                Ok(diesel::sql_query(
                    "SELECT current_user::text AS name, rolsuper AS superuser, \
                     rolbypassrls AS bypass_rls FROM pg_roles WHERE rolname = current_user",
                )
                .get_result::<RoleFlags>(conn)?)
            })
            .await
            .map_err(|err| StartupError::Database(err.to_string()))?;
        if role.superuser || role.bypass_rls {
            return Err(StartupError::RoleBypassesRls(role.name));
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(
        "refusing to serve: database role {0:?} is a superuser or has BYPASSRLS, so \
         row-level security would not isolate tenants. Connect as the app role \
         (cms_app, created by `api setup`) in DATABASE_URL."
    )]
    RoleBypassesRls(String),
    #[error("cannot check the database role: {0}")]
    Database(String),
}

/// Runs `read` on a connection of `pool`: alone, or in a `READ ONLY`
/// transaction.
fn read_on<T>(
    pool: &PgPool,
    single: bool,
    read: &dyn Fn(&mut PgConnection) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let mut conn = pool.get()?;
    let result = if single {
        read(&mut conn)
    } else {
        conn.build_transaction().read_only().run(|conn| read(conn))
    };
    discard_if_lost(&mut conn, &result);
    result
}

/// Enters the RLS scope of the tenant owning `site_id` (a routing function),
/// in one round trip. 404 when no such site exists.
fn enter_site(conn: &mut PgConnection, site_id: Uuid) -> Result<(), ApiError> {
    let entered = diesel::sql_query(
        "SELECT set_config('app.tenant_id', coalesce(routing_site_tenant($1)::text, ''), true) AS tenant",
    )
    .bind::<diesel::sql_types::Uuid, _>(site_id)
    .get_result::<Entered>(conn)?;
    if entered.tenant.is_empty() {
        return Err(ApiError::NotFound);
    }
    Ok(())
}

/// The primary's WAL position just after a COMMIT: at or past the commit
/// record, so a replica that has replayed it sees the write. When it cannot
/// be read, the largest position: the writer's reads go to the primary.
pub fn commit_position(conn: &mut PgConnection) -> Lsn {
    #[derive(QueryableByName)]
    struct Position {
        #[diesel(sql_type = Text)]
        position: String,
    }
    diesel::sql_query("SELECT pg_current_wal_lsn()::text AS position")
        .get_result::<Position>(conn)
        .ok()
        .and_then(|row| Lsn::parse(&row.position))
        .unwrap_or(Lsn(u64::MAX))
}

#[derive(QueryableByName)]
struct Entered {
    #[diesel(sql_type = Text)]
    tenant: String,
}

#[derive(QueryableByName)]
struct RoleFlags {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Bool)]
    superuser: bool,
    #[diesel(sql_type = Bool)]
    bypass_rls: bool,
}

/// Sets the RLS scope of the current transaction (used once a routing lookup
/// inside a global transaction has found the tenant).
pub fn set_scope(conn: &mut PgConnection, scope: Scope) -> Result<(), ApiError> {
    // The settings are transaction-local, so a new transaction starts with
    // none: the global scope needs no statement.
    if scope.tenant_id.is_none() && scope.user_id.is_none() {
        return Ok(());
    }
    diesel::sql_query(
        "SELECT set_config('app.tenant_id', coalesce($1, ''), true), \
                set_config('app.user_id', coalesce($2, ''), true)",
    )
    .bind::<Nullable<Text>, _>(scope.tenant_id.map(|id| id.to_string()))
    .bind::<Nullable<Text>, _>(scope.user_id.map(|id| id.to_string()))
    .execute(conn)?;
    Ok(())
}

/// Counts the SQL statements of one pool's connections (`/metrics`: shows
/// that list endpoints run a fixed number of queries whatever their page
/// size, and what a request costs). Per pool, not per process, so two apps in
/// one process (tests) count apart.
#[derive(Debug)]
struct CountStatements(Arc<AtomicU64>);

impl diesel::r2d2::CustomizeConnection<PgConnection, diesel::r2d2::Error> for CountStatements {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        use diesel::connection::InstrumentationEvent;
        let statements = Arc::clone(&self.0);
        conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::StartQuery { .. } = event {
                statements.fetch_add(1, Ordering::Relaxed);
            }
        });
        Ok(())
    }
}
