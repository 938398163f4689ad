//! Queries on `experiments` and `experiment_events` (tenant-owned: RLS limits
//! every query to the current tenant). Events are deduplicated by their
//! primary key (experiment, kind, name, visitor), so counting rows counts
//! visitors.

use chrono::{DateTime, Utc};
use cms_shared::events::EventKind;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text, Timestamptz, Uuid as SqlUuid};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::schema::experiments;

crate::db_enum! {
    /// An experiment's lifecycle: `draft -> running <-> paused -> completed`.
    /// Delivery carries running experiments only.
    pub enum ExperimentStatus {
        Draft = "draft",
        Running = "running",
        Paused = "paused",
        Completed = "completed",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, ToSchema)]
#[diesel(table_name = experiments)]
pub struct Experiment {
    pub id: Uuid,
    #[serde(skip)]
    pub tenant_id: Uuid,
    pub site_id: Uuid,
    pub page_id: Uuid,
    pub name: String,
    pub hypothesis: String,
    /// `draft`, `running`, `paused` or `completed`.
    pub status: ExperimentStatus,
    /// Percent of traffic in the experiment (0-100).
    pub coverage: f64,
    /// The conversion event that counts, e.g. `lead_submitted`.
    pub goal: String,
    #[serde(skip)]
    pub seed: String,
    /// Control first: `[{key, name, weight, overrides?, hide?, insert?, blocks?}]`.
    #[schema(value_type = Vec<HashMap<String, serde_json::Value>>)]
    pub variants: Value,
    /// `[{action: include|exclude|force, variant?, utm_source?, utm_medium?, utm_campaign?, locale?, flag?}]`.
    #[schema(value_type = Vec<HashMap<String, serde_json::Value>>)]
    pub targeting: Value,
    /// Weight changes made while running: `[{at, by, weights}]`.
    #[schema(value_type = Vec<HashMap<String, serde_json::Value>>)]
    pub weight_history: Value,
    pub winner: Option<String>,
    pub version: i32,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Experiment {
    /// The experiment as delivery carries it, for assignment.
    pub fn wire(&self) -> Result<cms_shared::experiments::Experiment, serde_json::Error> {
        Ok(cms_shared::experiments::Experiment {
            id: self.id.to_string(),
            seed: self.seed.clone(),
            goal: self.goal.clone(),
            coverage: self.coverage,
            variants: serde_json::from_value(self.variants.clone())?,
            targeting: serde_json::from_value(self.targeting.clone())?,
        })
    }
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = experiments)]
pub struct ExperimentChanges {
    pub name: Option<String>,
    pub hypothesis: Option<String>,
    pub status: Option<ExperimentStatus>,
    pub coverage: Option<f64>,
    pub goal: Option<String>,
    pub variants: Option<Value>,
    pub targeting: Option<Value>,
    pub weight_history: Option<Value>,
    pub winner: Option<Option<String>>,
    pub started_at: Option<Option<DateTime<Utc>>>,
    pub completed_at: Option<Option<DateTime<Utc>>>,
}

pub fn insert(conn: &mut PgConnection, experiment: &Experiment) -> QueryResult<Experiment> {
    diesel::insert_into(experiments::table)
        .values(experiment)
        .returning(Experiment::as_returning())
        .get_result(conn)
}

pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Experiment>> {
    experiments::table
        .find(id)
        .select(Experiment::as_select())
        .first(conn)
        .optional()
}

pub fn lock(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Experiment>> {
    experiments::table
        .find(id)
        .select(Experiment::as_select())
        .for_update()
        .first(conn)
        .optional()
}

pub fn list_for_page(conn: &mut PgConnection, page_id: Uuid) -> QueryResult<Vec<Experiment>> {
    experiments::table
        .filter(experiments::page_id.eq(page_id))
        .select(Experiment::as_select())
        .order((experiments::created_at, experiments::id))
        .load(conn)
}

/// Applies `changes`, bumps the version and the update time.
pub fn update(
    conn: &mut PgConnection,
    id: Uuid,
    changes: &ExperimentChanges,
) -> QueryResult<Experiment> {
    diesel::update(experiments::table.find(id))
        .set((
            changes,
            experiments::version.eq(experiments::version + 1),
            experiments::updated_at.eq(Utc::now()),
        ))
        .returning(Experiment::as_returning())
        .get_result(conn)
}

pub fn delete(conn: &mut PgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::delete(experiments::table.find(id)).execute(conn)
}

/// Events to store, column by column (one `unnest` insert for a batch).
#[derive(Debug, Default)]
pub struct EventRows {
    pub experiment_ids: Vec<Uuid>,
    /// `EventKind::as_str`, as the text column stores it.
    pub kinds: Vec<String>,
    pub names: Vec<String>,
    pub visitors: Vec<String>,
    pub variants: Vec<String>,
}

impl EventRows {
    pub fn push(
        &mut self,
        experiment: Uuid,
        kind: EventKind,
        name: &str,
        visitor: &str,
        variant: &str,
    ) {
        self.experiment_ids.push(experiment);
        self.kinds.push(kind.as_str().to_owned());
        self.names.push(name.to_owned());
        self.visitors.push(visitor.to_owned());
        self.variants.push(variant.to_owned());
    }

    pub fn len(&self) -> usize {
        self.experiment_ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.experiment_ids.is_empty()
    }
}

#[derive(Debug, QueryableByName)]
struct Inserted {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// Stores the events not seen before (same experiment, kind, name and
/// visitor); answers how many were new.
pub fn insert_events(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    rows: &EventRows,
) -> QueryResult<i64> {
    if rows.is_empty() {
        return Ok(0);
    }
    diesel::sql_query(
        "WITH inserted AS (
            INSERT INTO experiment_events (experiment_id, kind, name, visitor, variant, tenant_id)
            SELECT e, k, n, v, r, $6 FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[]) AS t(e, k, n, v, r)
            ON CONFLICT DO NOTHING
            RETURNING 1
        ) SELECT count(*) AS count FROM inserted",
    )
    .bind::<Array<SqlUuid>, _>(&rows.experiment_ids)
    .bind::<Array<Text>, _>(&rows.kinds)
    .bind::<Array<Text>, _>(&rows.names)
    .bind::<Array<Text>, _>(&rows.visitors)
    .bind::<Array<Text>, _>(&rows.variants)
    .bind::<SqlUuid, _>(tenant_id)
    .get_result::<Inserted>(conn)
    .map(|row| row.count)
}

/// A lead from `visitor` converts them in every running experiment of the
/// site whose goal is `lead_submitted` and that exposed them, in the variant
/// they saw. Answers the number of conversions recorded.
pub fn record_lead_conversion(
    conn: &mut PgConnection,
    site_id: Uuid,
    visitor: &str,
) -> QueryResult<usize> {
    diesel::sql_query(
        "INSERT INTO experiment_events (experiment_id, kind, name, visitor, variant, tenant_id)
         SELECT e.experiment_id, 'conversion', x.goal, e.visitor, e.variant, e.tenant_id
         FROM experiments x
         JOIN experiment_events e
           ON e.experiment_id = x.id AND e.kind = 'exposure' AND e.name = '' AND e.visitor = $2
         WHERE x.site_id = $1 AND x.status = 'running' AND x.goal = 'lead_submitted'
         ON CONFLICT DO NOTHING",
    )
    .bind::<SqlUuid, _>(site_id)
    .bind::<Text, _>(visitor)
    .execute(conn)
}

/// Exposed visitors of a variant and how many of them reached the goal.
#[derive(Debug, Clone, QueryableByName)]
pub struct VariantTotals {
    #[diesel(sql_type = Text)]
    pub variant: String,
    #[diesel(sql_type = BigInt)]
    pub visitors: i64,
    #[diesel(sql_type = BigInt)]
    pub conversions: i64,
}

/// Per variant: exposed visitors, and those of them with a goal conversion
/// (attributed to the variant they were exposed to).
pub fn variant_totals(
    conn: &mut PgConnection,
    experiment_id: Uuid,
    goal: &str,
) -> QueryResult<Vec<VariantTotals>> {
    diesel::sql_query(
        "SELECT e.variant, count(*) AS visitors, count(c.visitor) AS conversions
         FROM experiment_events e
         LEFT JOIN experiment_events c
           ON c.experiment_id = e.experiment_id AND c.kind = 'conversion'
          AND c.name = $2 AND c.visitor = e.visitor
         WHERE e.experiment_id = $1 AND e.kind = 'exposure' AND e.name = ''
         GROUP BY e.variant",
    )
    .bind::<SqlUuid, _>(experiment_id)
    .bind::<Text, _>(goal)
    .load(conn)
}

/// Visitors per variant and custom event name.
#[derive(Debug, Clone, QueryableByName)]
pub struct CustomCount {
    #[diesel(sql_type = Text)]
    pub variant: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = BigInt)]
    pub visitors: i64,
}

pub fn custom_counts(
    conn: &mut PgConnection,
    experiment_id: Uuid,
) -> QueryResult<Vec<CustomCount>> {
    diesel::sql_query(
        "SELECT variant, name, count(*) AS visitors FROM experiment_events
         WHERE experiment_id = $1 AND kind = 'custom'
         GROUP BY variant, name ORDER BY name, variant",
    )
    .bind::<SqlUuid, _>(experiment_id)
    .load(conn)
}

/// New exposures and goal conversions of a variant in one time bucket.
#[derive(Debug, Clone, QueryableByName)]
pub struct SeriesPoint {
    #[diesel(sql_type = Text)]
    pub variant: String,
    #[diesel(sql_type = Timestamptz)]
    pub at: DateTime<Utc>,
    #[diesel(sql_type = BigInt)]
    pub exposures: i64,
    #[diesel(sql_type = BigInt)]
    pub conversions: i64,
}

/// Exposures and conversions per variant per `unit` (`hour` or `day`),
/// oldest first; conversions count at their own time.
pub fn series(
    conn: &mut PgConnection,
    experiment_id: Uuid,
    goal: &str,
    unit: &str,
) -> QueryResult<Vec<SeriesPoint>> {
    diesel::sql_query(
        "SELECT variant, date_trunc($3, at) AS at,
                count(*) FILTER (WHERE kind = 'exposure') AS exposures,
                count(*) FILTER (WHERE kind = 'conversion') AS conversions
         FROM experiment_events
         WHERE experiment_id = $1
           AND (kind = 'exposure' OR (kind = 'conversion' AND name = $2))
         GROUP BY 1, 2 ORDER BY 2, 1",
    )
    .bind::<SqlUuid, _>(experiment_id)
    .bind::<Text, _>(goal)
    .bind::<Text, _>(unit)
    .load(conn)
}
