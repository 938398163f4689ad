//! The `jobs` table: enqueueing inside any transaction (tenant jobs, under
//! RLS), the admin list and moves (retry, cancel), and the routing functions
//! workers claim, heartbeat, finish and rescue through (see the jobs
//! migration), which know no tenant until a job is claimed.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{
    Array, BigInt, Double, Integer, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid,
};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::schema::jobs;
use crate::db::cursor::PageRequest;

crate::db_enum! {
    /// Where a job stands: `available` (waiting for its `run_at`), `running`
    /// (claimed under a lease), `retryable` (failed, waiting for its next
    /// attempt), `completed`, `discarded` (out of attempts, errors kept) or
    /// `cancelled`.
    pub enum JobState {
        Available = "available",
        Running = "running",
        Retryable = "retryable",
        Completed = "completed",
        Discarded = "discarded",
        Cancelled = "cancelled",
    }
}

/// A job as the api shows it and workers run it.
#[derive(Debug, Clone, Queryable, Selectable, QueryableByName, Serialize, ToSchema)]
#[diesel(table_name = jobs)]
pub struct Job {
    pub id: Uuid,
    #[serde(skip)]
    pub tenant_id: Option<Uuid>,
    pub queue: String,
    /// What runs it (`page.publish`, `notification.send`, ...).
    pub kind: String,
    #[schema(value_type = HashMap<String, serde_json::Value>)]
    pub args: Value,
    pub state: JobState,
    /// 0 runs first.
    pub priority: i32,
    /// Attempts started so far.
    pub attempt: i32,
    pub max_attempts: i32,
    /// When it may run (next).
    pub run_at: DateTime<Utc>,
    pub unique_key: Option<String>,
    #[serde(skip)]
    pub lease_owner: Option<Uuid>,
    #[serde(skip)]
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// Each failed attempt: `{"attempt": 1, "at": "...", "error": "..."}`.
    #[schema(value_type = Vec<HashMap<String, serde_json::Value>>)]
    pub errors: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub attempted_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The running claim's own token: what its heartbeat, completion and
    /// failure are fenced on (a new one for every claim).
    #[serde(skip)]
    pub claim_token: Option<Uuid>,
}

impl Job {
    /// The claim a worker runs this job under (`None` unless running).
    pub fn claim(&self) -> Option<Claim> {
        Some(Claim {
            id: self.id,
            token: self.claim_token?,
        })
    }
}

/// A job to enqueue. Build with `NewJob::new` and the setters.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = jobs)]
pub struct NewJob {
    pub id: Uuid,
    pub tenant_id: Option<Uuid>,
    pub queue: String,
    pub kind: String,
    pub args: Value,
    pub priority: i32,
    pub max_attempts: i32,
    pub run_at: DateTime<Utc>,
    pub unique_key: Option<String>,
}

impl NewJob {
    /// A job of `tenant_id` running `kind` with `args` as soon as possible,
    /// on the default queue, priority 2, up to 20 attempts.
    pub fn new(tenant_id: Uuid, kind: &str, args: Value) -> Self {
        NewJob {
            id: Uuid::now_v7(),
            tenant_id: Some(tenant_id),
            queue: "default".into(),
            kind: kind.into(),
            args,
            priority: 2,
            max_attempts: 20,
            run_at: Utc::now(),
            unique_key: None,
        }
    }

    pub fn queue(mut self, queue: &str) -> Self {
        queue.clone_into(&mut self.queue);
        self
    }

    pub fn run_at(mut self, at: DateTime<Utc>) -> Self {
        self.run_at = at;
        self
    }

    pub fn priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }

    pub fn max_attempts(mut self, attempts: i32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// At most one job of the tenant with this key, in any state.
    pub fn unique(mut self, key: impl Into<String>) -> Self {
        self.unique_key = Some(key.into());
        self
    }
}

/// Inserts `job` in the caller's transaction (it runs only if that commits)
/// and wakes the workers of its queue at commit. Answers the id, or `None`
/// when a job with the same unique key exists.
pub fn enqueue(conn: &mut PgConnection, job: &NewJob) -> QueryResult<Option<Uuid>> {
    let id = diesel::insert_into(jobs::table)
        .values(job)
        .on_conflict_do_nothing()
        .returning(jobs::id)
        .get_result::<Uuid>(conn)
        .optional()?;
    if id.is_some() {
        notify(conn, &job.queue)?;
    }
    Ok(id)
}

/// Inserts many jobs of the caller's tenant in one statement (column arrays
/// through `unnest`, so the statement's size does not grow with the batch),
/// skipping those whose unique key exists; wakes their queues at commit.
/// Answers how many were inserted.
pub fn enqueue_many(conn: &mut PgConnection, batch: &[NewJob]) -> QueryResult<usize> {
    if batch.is_empty() {
        return Ok(0);
    }
    let column = |f: fn(&NewJob) -> String| batch.iter().map(f).collect::<Vec<String>>();
    let inserted = diesel::sql_query(
        "INSERT INTO jobs (id, tenant_id, queue, kind, args, priority, max_attempts, run_at, unique_key)
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::jsonb[], $6::int[], $7::int[], $8::timestamptz[], $9::text[])
         ON CONFLICT (tenant_id, unique_key) WHERE unique_key IS NOT NULL DO NOTHING",
    )
    .bind::<Array<SqlUuid>, _>(batch.iter().map(|job| job.id).collect::<Vec<_>>())
    .bind::<Array<Nullable<SqlUuid>>, _>(batch.iter().map(|job| job.tenant_id).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(column(|job| job.queue.clone()))
    .bind::<Array<Text>, _>(column(|job| job.kind.clone()))
    .bind::<Array<Jsonb>, _>(batch.iter().map(|job| job.args.clone()).collect::<Vec<_>>())
    .bind::<Array<Integer>, _>(batch.iter().map(|job| job.priority).collect::<Vec<_>>())
    .bind::<Array<Integer>, _>(batch.iter().map(|job| job.max_attempts).collect::<Vec<_>>())
    .bind::<Array<Timestamptz>, _>(batch.iter().map(|job| job.run_at).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(batch.iter().map(|job| job.unique_key.clone()).collect::<Vec<_>>())
    .execute(conn)?;
    let mut queues: Vec<&str> = batch.iter().map(|job| job.queue.as_str()).collect();
    queues.sort_unstable();
    queues.dedup();
    for queue in queues {
        notify(conn, queue)?;
    }
    Ok(inserted)
}

/// `NOTIFY cms_jobs, '<queue>'`: delivered when the transaction commits, never
/// for one that rolls back.
fn notify(conn: &mut PgConnection, queue: &str) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_notify('cms_jobs', $1)")
        .bind::<Text, _>(queue)
        .execute(conn)
        .map(|_| ())
}

/// Moves the tenant's job with `key` to `run_at` (rescheduling a reminder),
/// if it has not run yet. Answers whether one moved.
pub fn reschedule(conn: &mut PgConnection, key: &str, run_at: DateTime<Utc>) -> QueryResult<bool> {
    let moved = diesel::update(
        jobs::table
            .filter(jobs::unique_key.eq(key))
            .filter(jobs::state.eq_any([JobState::Available, JobState::Retryable])),
    )
    .set((jobs::run_at.eq(run_at), jobs::updated_at.eq(Utc::now())))
    .execute(conn)?;
    Ok(moved > 0)
}

/// A LIKE pattern matching the strings that start with `prefix`.
fn starts_with(prefix: &str) -> String {
    format!(
        "{}%",
        prefix
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    )
}

/// Frees the unique keys starting with `prefix` of the tenant's jobs that
/// have started or finished (running, completed, cancelled, discarded), so
/// that they can be enqueued again: an appointment moved after (or while) its
/// reminder went out gets a reminder for its new time. The old job stays,
/// its key suffixed with `~{id}` for the history; a running one finishes
/// under its lease as before. Answers how many were freed.
pub fn release_started(conn: &mut PgConnection, prefix: &str) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE jobs SET unique_key = left(unique_key, 163) || '~' || id::text, updated_at = now()
         WHERE unique_key LIKE $1 AND position('~' in unique_key) = 0
           AND state IN ('running', 'completed', 'cancelled', 'discarded')",
    )
    .bind::<Text, _>(starts_with(prefix))
    .execute(conn)
}

/// Cancels the tenant's jobs whose unique key starts with `prefix` and that
/// have not run yet (an appointment's reminders). Answers how many.
pub fn cancel_pending(conn: &mut PgConnection, prefix: &str) -> QueryResult<usize> {
    diesel::update(
        jobs::table
            .filter(jobs::unique_key.like(starts_with(prefix)))
            .filter(jobs::state.eq_any([JobState::Available, JobState::Retryable])),
    )
    .set((
        jobs::state.eq(JobState::Cancelled),
        jobs::finished_at.eq(Some(Utc::now())),
        jobs::updated_at.eq(Utc::now()),
    ))
    .execute(conn)
}

/// Filters of the job list.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub state: Option<JobState>,
    pub queue: Option<String>,
    pub kind: Option<String>,
}

/// The tenant's jobs, newest first.
pub fn list(
    conn: &mut PgConnection,
    filter: &JobFilter,
    page: &PageRequest,
) -> QueryResult<Vec<Job>> {
    let mut query = jobs::table.select(Job::as_select()).into_boxed();
    if let Some(state) = filter.state {
        query = query.filter(jobs::state.eq(state));
    }
    if let Some(queue) = &filter.queue {
        query = query.filter(jobs::queue.eq(queue.clone()));
    }
    if let Some(kind) = &filter.kind {
        query = query.filter(jobs::kind.eq(kind.clone()));
    }
    if let Some(after) = page.after {
        query = query.filter(jobs::id.lt(after));
    }
    query
        .order(jobs::id.desc())
        .limit(page.fetch_limit())
        .load(conn)
}

pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Job>> {
    jobs::table
        .find(id)
        .select(Job::as_select())
        .first(conn)
        .optional()
}

pub fn lock(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Job>> {
    jobs::table
        .find(id)
        .select(Job::as_select())
        .for_update()
        .first(conn)
        .optional()
}

/// Makes a job run again now, with one more attempt if it ran out.
pub fn retry_now(conn: &mut PgConnection, job: &Job) -> QueryResult<Job> {
    let max_attempts = job.max_attempts.max(job.attempt + 1).min(100);
    let retried = diesel::update(jobs::table.find(job.id))
        .set((
            jobs::state.eq(JobState::Available),
            jobs::run_at.eq(Utc::now()),
            jobs::max_attempts.eq(max_attempts),
            jobs::finished_at.eq(None::<DateTime<Utc>>),
            jobs::updated_at.eq(Utc::now()),
        ))
        .returning(Job::as_returning())
        .get_result(conn)?;
    notify(conn, &job.queue)?;
    Ok(retried)
}

pub fn cancel(conn: &mut PgConnection, id: Uuid) -> QueryResult<Job> {
    diesel::update(jobs::table.find(id))
        .set((
            jobs::state.eq(JobState::Cancelled),
            jobs::finished_at.eq(Some(Utc::now())),
            jobs::updated_at.eq(Utc::now()),
        ))
        .returning(Job::as_returning())
        .get_result(conn)
}

// Workers: the routing functions.

/// Claims up to `limit` ready jobs of `queue`, taking turns between tenants.
pub fn claim(
    conn: &mut PgConnection,
    queue: &str,
    worker: Uuid,
    limit: i32,
    lease_seconds: i32,
) -> QueryResult<Vec<Job>> {
    diesel::sql_query("SELECT * FROM routing_claim_jobs($1, $2, $3, $4)")
        .bind::<Text, _>(queue)
        .bind::<SqlUuid, _>(worker)
        .bind::<Integer, _>(limit)
        .bind::<Integer, _>(lease_seconds)
        .load(conn)
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// A running job as its worker holds it: the job's id and its claim's token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    pub id: Uuid,
    pub token: Uuid,
}

fn unzip(claims: &[Claim]) -> (Vec<Uuid>, Vec<Uuid>) {
    claims.iter().map(|claim| (claim.id, claim.token)).unzip()
}

/// Extends the leases of `claims`; answers the ids whose claim still holds.
pub fn heartbeat(
    conn: &mut PgConnection,
    claims: &[Claim],
    lease_seconds: i32,
) -> QueryResult<Vec<Uuid>> {
    let (ids, tokens) = unzip(claims);
    let rows: Vec<IdRow> = diesel::sql_query(
        "SELECT routing_heartbeat_claims AS id FROM routing_heartbeat_claims($1, $2, $3)",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Array<SqlUuid>, _>(tokens)
    .bind::<Integer, _>(lease_seconds)
    .load(conn)?;
    Ok(rows.into_iter().map(|row| row.id).collect())
}

/// Completes `claims`; answers the ids whose claim still held.
pub fn complete(conn: &mut PgConnection, claims: &[Claim]) -> QueryResult<Vec<Uuid>> {
    let (ids, tokens) = unzip(claims);
    let rows: Vec<IdRow> = diesel::sql_query(
        "SELECT routing_complete_claims AS id FROM routing_complete_claims($1, $2)",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Array<SqlUuid>, _>(tokens)
    .load(conn)?;
    Ok(rows.into_iter().map(|row| row.id).collect())
}

#[derive(QueryableByName)]
struct StateRow {
    #[diesel(sql_type = Nullable<Text>)]
    state: Option<String>,
}

/// Records a failed attempt: retryable at `retry_at`, or discarded when
/// `retry_at` is `None` or no attempt is left. Answers the new state, or
/// `None` when the claim no longer held.
pub fn fail(
    conn: &mut PgConnection,
    claim: Claim,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
) -> QueryResult<Option<String>> {
    Ok(
        diesel::sql_query("SELECT routing_fail_claim($1, $2, $3, $4) AS state")
            .bind::<SqlUuid, _>(claim.id)
            .bind::<SqlUuid, _>(claim.token)
            .bind::<Text, _>(error)
            .bind::<Nullable<Timestamptz>, _>(retry_at)
            .get_result::<StateRow>(conn)?
            .state,
    )
}

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = Integer)]
    count: i32,
}

/// Ends `claims` whose handlers a stopping worker could not wait for: the
/// attempt counts and `reason` is recorded. Answers how many.
pub fn interrupt(conn: &mut PgConnection, claims: &[Claim], reason: &str) -> QueryResult<i32> {
    let (ids, tokens) = unzip(claims);
    Ok(
        diesel::sql_query("SELECT routing_interrupt_claims($1, $2, $3) AS count")
            .bind::<Array<SqlUuid>, _>(ids)
            .bind::<Array<SqlUuid>, _>(tokens)
            .bind::<Text, _>(reason)
            .get_result::<CountRow>(conn)?
            .count,
    )
}

#[derive(QueryableByName)]
struct Held {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    held: bool,
}

/// Locks the job's row until the end of the calling transaction if `claim`
/// still holds; answers whether it does.
pub fn hold(conn: &mut PgConnection, claim: Claim) -> QueryResult<bool> {
    Ok(
        diesel::sql_query("SELECT routing_hold_claim($1, $2) AS held")
            .bind::<SqlUuid, _>(claim.id)
            .bind::<SqlUuid, _>(claim.token)
            .get_result::<Held>(conn)?
            .held,
    )
}

/// Returns jobs whose lease expired to the queue; answers how many.
pub fn rescue(conn: &mut PgConnection) -> QueryResult<i32> {
    Ok(diesel::sql_query("SELECT routing_rescue_jobs() AS count")
        .get_result::<CountRow>(conn)?
        .count)
}

#[derive(QueryableByName)]
struct NewId {
    #[diesel(sql_type = Nullable<SqlUuid>)]
    id: Option<Uuid>,
}

/// Inserts a system job (no tenant) unless its unique key exists.
pub fn enqueue_system(conn: &mut PgConnection, job: &NewJob) -> QueryResult<Option<Uuid>> {
    let id = diesel::sql_query("SELECT routing_enqueue_system_job($1, $2, $3, $4, $5, $6) AS id")
        .bind::<SqlUuid, _>(job.id)
        .bind::<Text, _>(&job.queue)
        .bind::<Text, _>(&job.kind)
        .bind::<Jsonb, _>(&job.args)
        .bind::<Timestamptz, _>(job.run_at)
        .bind::<Nullable<Text>, _>(job.unique_key.as_deref())
        .get_result::<NewId>(conn)?
        .id;
    if id.is_some() {
        notify(conn, &job.queue)?;
    }
    Ok(id)
}

/// A queue's figures for `/metrics`.
#[derive(Debug, Clone, QueryableByName)]
pub struct QueueStats {
    #[diesel(sql_type = Text)]
    pub queue: String,
    #[diesel(sql_type = BigInt)]
    pub ready: i64,
    #[diesel(sql_type = BigInt)]
    pub running: i64,
    #[diesel(sql_type = BigInt)]
    pub scheduled: i64,
    #[diesel(sql_type = Double)]
    pub oldest_ready_seconds: f64,
}

pub fn stats(conn: &mut PgConnection) -> QueryResult<Vec<QueueStats>> {
    diesel::sql_query("SELECT * FROM routing_job_stats()").load(conn)
}

/// Deletes finished jobs past their keeping time; answers how many.
pub fn prune(
    conn: &mut PgConnection,
    completed_before: DateTime<Utc>,
    failed_before: DateTime<Utc>,
) -> QueryResult<i32> {
    Ok(
        diesel::sql_query("SELECT routing_prune_jobs($1, $2) AS count")
            .bind::<Timestamptz, _>(completed_before)
            .bind::<Timestamptz, _>(failed_before)
            .get_result::<CountRow>(conn)?
            .count,
    )
}
