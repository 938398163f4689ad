//! Queries on `users` (global accounts) and on the members of the current tenant
//! (users joined with their RLS-scoped membership).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::schema::{memberships, users};
use crate::db::cursor::PageRequest;

/// A user account as stored; never serialised (it holds the password hash).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub is_platform_admin: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub id: Uuid,
    pub email: &'a str,
    pub name: &'a str,
    pub password_hash: &'a str,
    pub is_platform_admin: bool,
}

/// A user as a member of the current tenant.
#[derive(Debug, Clone, Queryable, Serialize, ToSchema)]
pub struct Member {
    /// The user's id.
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub membership_id: Uuid,
    pub role: crate::auth::roles::Role,
    /// Version of the user record (the `ETag` of this resource).
    pub version: i32,
    pub created_at: DateTime<Utc>,
}

type MemberColumns = (
    users::id,
    users::email,
    users::name,
    memberships::id,
    memberships::role,
    users::version,
    users::created_at,
);

diesel::define_sql_function!(fn lower(value: diesel::sql_types::Text) -> diesel::sql_types::Text);

const MEMBER_COLUMNS: MemberColumns = (
    users::id,
    users::email,
    users::name,
    memberships::id,
    memberships::role,
    users::version,
    users::created_at,
);

pub fn find_by_email(conn: &mut PgConnection, email: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(lower(users::email).eq(email.to_lowercase()))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<UserRow>> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

pub fn insert(conn: &mut PgConnection, user: &NewUser) -> QueryResult<UserRow> {
    diesel::insert_into(users::table)
        .values(user)
        .returning(UserRow::as_returning())
        .get_result(conn)
}

pub fn set_password(conn: &mut PgConnection, id: Uuid, password_hash: &str) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((
            users::password_hash.eq(password_hash),
            users::version.eq(users::version + 1),
            users::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
}

pub fn set_name(conn: &mut PgConnection, id: Uuid, name: &str) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((
            users::name.eq(name),
            users::version.eq(users::version + 1),
            users::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
}

pub fn set_platform_admin(conn: &mut PgConnection, id: Uuid, admin: bool) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set(users::is_platform_admin.eq(admin))
        .execute(conn)
}

/// Members of the current tenant, in id order.
pub fn list_members(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    page: &PageRequest,
) -> QueryResult<Vec<Member>> {
    let mut query = users::table
        .inner_join(memberships::table)
        .filter(memberships::tenant_id.eq(tenant_id))
        .select(MEMBER_COLUMNS)
        .order(users::id)
        .limit(page.fetch_limit())
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(users::id.gt(after));
    }
    query.load(conn)
}

/// A user of the current tenant; `None` when they have no membership in it.
pub fn find_member(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    user_id: Uuid,
) -> QueryResult<Option<Member>> {
    users::table
        .inner_join(memberships::table)
        .filter(memberships::tenant_id.eq(tenant_id))
        .filter(users::id.eq(user_id))
        .select(MEMBER_COLUMNS)
        .first(conn)
        .optional()
}

/// The (id, email) of the tenant's owners: who is told about the tenant's
/// integrations (a webhook endpoint disabled).
pub fn owner_emails(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Vec<(Uuid, String)>> {
    users::table
        .inner_join(memberships::table)
        .filter(memberships::tenant_id.eq(tenant_id))
        .filter(memberships::role.eq(crate::auth::roles::Role::Owner))
        .select((users::id, users::email))
        .order(users::id)
        .load(conn)
}
