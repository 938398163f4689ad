//! Queries on the module library: `builtin_modules` (global, read-only to the
//! app) and `custom_modules` (tenant-owned).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::schema::{builtin_modules, custom_modules};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = builtin_modules)]
pub struct BuiltinRow {
    pub key: String,
    pub name: String,
    pub category: String,
    pub props_schema: Value,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, ToSchema)]
#[diesel(table_name = custom_modules)]
pub struct CustomModule {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub key: String,
    pub name: String,
    pub category: String,
    #[schema(value_type = HashMap<String, serde_json::Value>)]
    pub props_schema: Value,
    pub template: String,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(AsChangeset, Default)]
#[diesel(table_name = custom_modules)]
pub struct CustomModuleChanges {
    pub name: Option<String>,
    pub category: Option<String>,
    pub props_schema: Option<Value>,
    pub template: Option<String>,
}

/// Registers (or refreshes) the built-in modules; run with owner rights by setup.
pub fn upsert_builtins(
    conn: &mut PgConnection,
    rows: &[(String, String, String, Value)],
) -> QueryResult<usize> {
    let mut written = 0;
    for (key, name, category, schema) in rows {
        written += diesel::insert_into(builtin_modules::table)
            .values((
                builtin_modules::key.eq(key),
                builtin_modules::name.eq(name),
                builtin_modules::category.eq(category),
                builtin_modules::props_schema.eq(schema),
            ))
            .on_conflict(builtin_modules::key)
            .do_update()
            .set((
                builtin_modules::name.eq(name),
                builtin_modules::category.eq(category),
                builtin_modules::props_schema.eq(schema),
                builtin_modules::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)?;
    }
    Ok(written)
}

pub fn list_builtins(conn: &mut PgConnection) -> QueryResult<Vec<BuiltinRow>> {
    builtin_modules::table
        .select(BuiltinRow::as_select())
        .order(builtin_modules::key)
        .load(conn)
}

pub fn find_builtin(conn: &mut PgConnection, key: &str) -> QueryResult<Option<BuiltinRow>> {
    builtin_modules::table
        .find(key)
        .select(BuiltinRow::as_select())
        .first(conn)
        .optional()
}

pub fn list_custom(conn: &mut PgConnection) -> QueryResult<Vec<CustomModule>> {
    custom_modules::table
        .select(CustomModule::as_select())
        .order(custom_modules::key)
        .load(conn)
}

pub fn find_custom(conn: &mut PgConnection, key: &str) -> QueryResult<Option<CustomModule>> {
    custom_modules::table
        .filter(custom_modules::key.eq(key))
        .select(CustomModule::as_select())
        .first(conn)
        .optional()
}

pub fn find_custom_many(
    conn: &mut PgConnection,
    keys: &[String],
) -> QueryResult<Vec<CustomModule>> {
    custom_modules::table
        .filter(custom_modules::key.eq_any(keys))
        .select(CustomModule::as_select())
        .order(custom_modules::key)
        .load(conn)
}

pub fn lock_custom(conn: &mut PgConnection, key: &str) -> QueryResult<Option<CustomModule>> {
    custom_modules::table
        .filter(custom_modules::key.eq(key))
        .select(CustomModule::as_select())
        .for_update()
        .first(conn)
        .optional()
}

pub fn insert_custom(conn: &mut PgConnection, module: &CustomModule) -> QueryResult<CustomModule> {
    diesel::insert_into(custom_modules::table)
        .values(module)
        .returning(CustomModule::as_returning())
        .get_result(conn)
}

pub fn update_custom(
    conn: &mut PgConnection,
    id: Uuid,
    changes: &CustomModuleChanges,
) -> QueryResult<CustomModule> {
    diesel::update(custom_modules::table.find(id))
        .set((
            changes,
            custom_modules::version.eq(custom_modules::version + 1),
            custom_modules::updated_at.eq(diesel::dsl::now),
        ))
        .returning(CustomModule::as_returning())
        .get_result(conn)
}

pub fn delete_custom(conn: &mut PgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::delete(custom_modules::table.find(id)).execute(conn)
}
