//! Queries on `service_categories` (a tree) and `services` with the clinics
//! that offer them (tenant-owned: RLS limits every query to the current tenant).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::schema::{doctor_services, service_categories, service_clinics, services};
use crate::db::cursor::PageRequest;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, ToSchema)]
#[diesel(table_name = service_categories)]
pub struct ServiceCategory {
    pub id: Uuid,
    #[serde(skip)]
    pub tenant_id: Uuid,
    pub parent_id: Option<Uuid>,
    pub slug: String,
    pub name: String,
    /// Order among siblings.
    pub position: i32,
    pub created_at: DateTime<Utc>,
    /// Bumped by every change; the `ETag` is `"v<version>"`.
    pub version: i32,
}

pub fn find_category(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<ServiceCategory>> {
    service_categories::table
        .find(id)
        .select(ServiceCategory::as_select())
        .first(conn)
        .optional()
}

pub fn list_categories(conn: &mut PgConnection) -> QueryResult<Vec<ServiceCategory>> {
    service_categories::table
        .select(ServiceCategory::as_select())
        .order((service_categories::position, service_categories::name))
        .load(conn)
}

pub fn insert_category(
    conn: &mut PgConnection,
    category: &ServiceCategory,
) -> QueryResult<ServiceCategory> {
    diesel::insert_into(service_categories::table)
        .values(category)
        .returning(ServiceCategory::as_returning())
        .get_result(conn)
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = sql_types::Uuid)]
    id: Uuid,
}

/// The category with this id or slug and every category below it (one
/// recursive query).
pub fn category_subtree(conn: &mut PgConnection, key: &str) -> QueryResult<Vec<Uuid>> {
    let ids: Vec<Id> = diesel::sql_query(
        "WITH RECURSIVE tree AS ( \
           SELECT id FROM service_categories WHERE id::text = $1 OR slug = $1 \
           UNION SELECT c.id FROM service_categories c JOIN tree t ON c.parent_id = t.id \
         ) SELECT id FROM tree",
    )
    .bind::<sql_types::Text, _>(key)
    .load(conn)?;
    Ok(ids.into_iter().map(|row| row.id).collect())
}

/// Whether making `parent` the parent of `category` would close a loop.
pub fn would_cycle(conn: &mut PgConnection, category: Uuid, parent: Uuid) -> QueryResult<bool> {
    Ok(category_subtree(conn, &category.to_string())?.contains(&parent))
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = services)]
pub struct ServiceRow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub category_id: Uuid,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub price_minor: i64,
    pub currency: String,
    pub duration_minutes: i32,
    pub preparation: String,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

/// A service as the api shows it: with the clinics that offer it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Service {
    pub id: Uuid,
    pub category_id: Uuid,
    pub slug: String,
    pub name: String,
    pub description: String,
    /// Price in minor units (kopecks, cents).
    pub price_minor: i64,
    pub currency: String,
    pub duration_minutes: i32,
    /// What the patient should do before the visit.
    pub preparation: String,
    pub is_active: bool,
    pub clinic_ids: Vec<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped by every change; the `ETag` is `"v<version>"`.
    pub version: i32,
}

impl Service {
    fn from_row(row: ServiceRow, clinic_ids: Vec<Uuid>) -> Self {
        Service {
            id: row.id,
            category_id: row.category_id,
            slug: row.slug,
            name: row.name,
            description: row.description,
            price_minor: row.price_minor,
            currency: row.currency,
            duration_minutes: row.duration_minutes,
            preparation: row.preparation,
            is_active: row.is_active,
            clinic_ids,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        }
    }
}

#[derive(Debug, Default, Clone)]
pub struct ServiceFilter {
    /// Categories to include (a category and its subcategories).
    pub categories: Option<Vec<Uuid>>,
    pub clinic: Option<Uuid>,
    pub doctor: Option<Uuid>,
    pub active_only: bool,
}

/// One page of services and their clinics: two queries whatever the page size.
pub fn list(
    conn: &mut PgConnection,
    filter: &ServiceFilter,
    page: &PageRequest,
) -> QueryResult<Vec<Service>> {
    let mut query = services::table
        .select(ServiceRow::as_select())
        .order(services::id)
        .limit(page.fetch_limit())
        .into_boxed();
    if let Some(categories) = &filter.categories {
        query = query.filter(services::category_id.eq_any(categories.clone()));
    }
    if let Some(clinic) = filter.clinic {
        query = query.filter(
            services::id.eq_any(
                service_clinics::table
                    .filter(service_clinics::clinic_id.eq(clinic))
                    .select(service_clinics::service_id),
            ),
        );
    }
    if let Some(doctor) = filter.doctor {
        query = query.filter(
            services::id.eq_any(
                doctor_services::table
                    .filter(doctor_services::doctor_id.eq(doctor))
                    .select(doctor_services::service_id),
            ),
        );
    }
    if filter.active_only {
        query = query.filter(services::is_active.eq(true));
    }
    if let Some(after) = page.after {
        query = query.filter(services::id.gt(after));
    }
    let rows = query.load(conn)?;
    with_clinics(conn, rows)
}

fn with_clinics(conn: &mut PgConnection, rows: Vec<ServiceRow>) -> QueryResult<Vec<Service>> {
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    let mut clinics: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for (service, clinic) in service_clinics::table
        .filter(service_clinics::service_id.eq_any(&ids))
        .select((service_clinics::service_id, service_clinics::clinic_id))
        .order(service_clinics::clinic_id)
        .load::<(Uuid, Uuid)>(conn)?
    {
        clinics.entry(service).or_default().push(clinic);
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let clinic_ids = clinics.remove(&row.id).unwrap_or_default();
            Service::from_row(row, clinic_ids)
        })
        .collect())
}

pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Service>> {
    let row = services::table
        .find(id)
        .select(ServiceRow::as_select())
        .first(conn)
        .optional()?;
    Ok(match row {
        Some(row) => with_clinics(conn, vec![row])?.pop(),
        None => None,
    })
}

/// The service, its row locked until the transaction ends (read, check, then write).
pub fn lock(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Service>> {
    let row = services::table
        .find(id)
        .select(ServiceRow::as_select())
        .for_update()
        .first(conn)
        .optional()?;
    Ok(match row {
        Some(row) => with_clinics(conn, vec![row])?.pop(),
        None => None,
    })
}

/// The service with this id or slug.
pub fn resolve(conn: &mut PgConnection, key: &str) -> QueryResult<Option<Uuid>> {
    let mut query = services::table.select(services::id).into_boxed();
    query = match Uuid::parse_str(key) {
        Ok(id) => query.filter(services::id.eq(id)),
        Err(_) => query.filter(services::slug.eq(key.to_owned())),
    };
    query.first(conn).optional()
}

pub fn insert(
    conn: &mut PgConnection,
    row: &ServiceRow,
    clinic_ids: &[Uuid],
) -> QueryResult<Service> {
    diesel::insert_into(services::table)
        .values(row)
        .execute(conn)?;
    let links: Vec<_> = clinic_ids
        .iter()
        .map(|clinic| {
            (
                service_clinics::tenant_id.eq(row.tenant_id),
                service_clinics::service_id.eq(row.id),
                service_clinics::clinic_id.eq(*clinic),
            )
        })
        .collect();
    diesel::insert_into(service_clinics::table)
        .values(&links)
        .execute(conn)?;
    find(conn, row.id)?.ok_or(diesel::result::Error::NotFound)
}

#[derive(AsChangeset, Default)]
#[diesel(table_name = services)]
pub struct ServiceChanges {
    pub category_id: Option<Uuid>,
    pub slug: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub price_minor: Option<i64>,
    pub currency: Option<String>,
    pub duration_minutes: Option<i32>,
    pub preparation: Option<String>,
    pub is_active: Option<bool>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// Changes a service and bumps its version in the same statement;
/// `clinic_ids` replaces its clinics when given.
pub fn update(
    conn: &mut PgConnection,
    id: Uuid,
    changes: &ServiceChanges,
    clinic_ids: Option<&[Uuid]>,
) -> QueryResult<Option<Service>> {
    let tenant_id: Option<Uuid> = diesel::update(services::table.find(id))
        .set((changes, services::version.eq(services::version + 1)))
        .returning(services::tenant_id)
        .get_result(conn)
        .optional()?;
    let Some(tenant_id) = tenant_id else {
        return Ok(None);
    };
    if let Some(clinic_ids) = clinic_ids {
        diesel::delete(service_clinics::table.filter(service_clinics::service_id.eq(id)))
            .execute(conn)?;
        let rows: Vec<_> = clinic_ids
            .iter()
            .map(|clinic| {
                (
                    service_clinics::tenant_id.eq(tenant_id),
                    service_clinics::service_id.eq(id),
                    service_clinics::clinic_id.eq(*clinic),
                )
            })
            .collect();
        diesel::insert_into(service_clinics::table)
            .values(&rows)
            .execute(conn)?;
    }
    find(conn, id)
}

pub fn delete(conn: &mut PgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::delete(services::table.find(id)).execute(conn)
}

#[derive(AsChangeset, Default, Debug)]
#[diesel(table_name = service_categories)]
pub struct CategoryChanges {
    pub slug: Option<String>,
    pub name: Option<String>,
    /// `Some(None)` moves the category to the top level.
    pub parent_id: Option<Option<Uuid>>,
    pub position: Option<i32>,
}

pub fn lock_category(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<ServiceCategory>> {
    service_categories::table
        .find(id)
        .select(ServiceCategory::as_select())
        .for_update()
        .first(conn)
        .optional()
}

/// Changes a category and bumps its version in the same statement.
pub fn update_category(
    conn: &mut PgConnection,
    id: Uuid,
    changes: &CategoryChanges,
) -> QueryResult<ServiceCategory> {
    diesel::update(service_categories::table.find(id))
        .set((
            changes,
            service_categories::version.eq(service_categories::version + 1),
        ))
        .returning(ServiceCategory::as_returning())
        .get_result(conn)
}

pub fn delete_category(conn: &mut PgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::delete(service_categories::table.find(id)).execute(conn)
}

/// How many of `ids` are services of the tenant (one query).
pub fn count_existing(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<usize> {
    let found: i64 = services::table
        .filter(services::id.eq_any(ids))
        .count()
        .get_result(conn)?;
    Ok(found as usize)
}
