//! Queries on `memberships`: a user's role in a tenant. The RLS policy lets a
//! transaction read the current tenant's memberships and the current user's own
//! ones in every tenant; writes stay inside the current tenant.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::schema::{memberships, tenants};
use crate::auth::roles::Role;
use crate::db::cursor::PageRequest;

#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = memberships)]
pub struct Membership {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub role: Role,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Insertable)]
#[diesel(table_name = memberships)]
pub struct NewMembership {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub role: Role,
}

/// One of the current user's tenants, as `/auth/me` lists them.
#[derive(Debug, Clone, Queryable, Serialize, ToSchema)]
pub struct TenantRole {
    pub tenant_id: Uuid,
    pub slug: String,
    pub name: String,
    pub role: Role,
}

pub fn list(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    page: &PageRequest,
) -> QueryResult<Vec<Membership>> {
    let mut query = memberships::table
        .filter(memberships::tenant_id.eq(tenant_id))
        .select(Membership::as_select())
        .order(memberships::id)
        .limit(page.fetch_limit())
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(memberships::id.gt(after));
    }
    query.load(conn)
}

pub fn find(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<Option<Membership>> {
    memberships::table
        .filter(
            memberships::tenant_id
                .eq(tenant_id)
                .and(memberships::id.eq(id)),
        )
        .select(Membership::as_select())
        .first(conn)
        .optional()
}

pub fn lock(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<Option<Membership>> {
    memberships::table
        .filter(
            memberships::tenant_id
                .eq(tenant_id)
                .and(memberships::id.eq(id)),
        )
        .select(Membership::as_select())
        .for_update()
        .first(conn)
        .optional()
}

pub fn find_for_user(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    user_id: Uuid,
) -> QueryResult<Option<Membership>> {
    memberships::table
        .filter(
            memberships::tenant_id
                .eq(tenant_id)
                .and(memberships::user_id.eq(user_id)),
        )
        .select(Membership::as_select())
        .first(conn)
        .optional()
}

/// The tenants a user belongs to (needs `app.user_id` set to that user).
pub fn tenants_of_user(conn: &mut PgConnection, user_id: Uuid) -> QueryResult<Vec<TenantRole>> {
    memberships::table
        .inner_join(tenants::table)
        .filter(memberships::user_id.eq(user_id))
        .filter(tenants::status.eq("active"))
        .select((tenants::id, tenants::slug, tenants::name, memberships::role))
        .order(memberships::created_at)
        .load(conn)
}

pub fn insert(conn: &mut PgConnection, membership: &NewMembership) -> QueryResult<Membership> {
    diesel::insert_into(memberships::table)
        .values(membership)
        .returning(Membership::as_returning())
        .get_result(conn)
}

pub fn set_role(conn: &mut PgConnection, id: Uuid, role: Role) -> QueryResult<Membership> {
    diesel::update(memberships::table.find(id))
        .set((
            memberships::role.eq(role),
            memberships::version.eq(memberships::version + 1),
            memberships::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Membership::as_returning())
        .get_result(conn)
}

pub fn delete(conn: &mut PgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::delete(memberships::table.find(id)).execute(conn)
}

/// How many owners the tenant has: the last one may not be removed or demoted.
pub fn count_owners(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<i64> {
    memberships::table
        .filter(
            memberships::tenant_id
                .eq(tenant_id)
                .and(memberships::role.eq(Role::Owner)),
        )
        .count()
        .get_result(conn)
}
