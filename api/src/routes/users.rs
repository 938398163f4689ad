//! `/api/v1/users`: the tenant's members as people (account + role). Creating a
//! user makes the account and its membership in one transaction; deleting one
//! removes the membership only, since the account may belong to other tenants.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::auth::members::{add_member, check_may_grant, guard_owner_rules};
use crate::auth::password;
use crate::auth::roles::{Permission, Role};
use crate::db::memberships;
use crate::db::users::{self, Member, NewUser};
use crate::error::{ApiError, FieldError, Problem};
use crate::http::etag::{created_with_etag, ok_with_etag, IfMatch};
use crate::http::json::{rules, ValidJson, Validate};
use crate::http::pagination::{ListResponse, PageQuery, PageRequest};
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_users)
        .service(create_user)
        .service(get_user)
        .service(update_user)
        .service(delete_user);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub email: String,
    pub name: String,
    /// 12 to 256 characters.
    pub password: String,
    pub role: Role,
}

impl Validate for CreateUser {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        rules::email(&mut errors, "email", &self.email);
        rules::text(&mut errors, "name", &self.name, 200);
        rules::password(&mut errors, "password", &self.password);
        errors
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    pub name: String,
}

impl Validate for UpdateUser {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        rules::text(&mut errors, "name", &self.name, 200);
        errors
    }
}

/// List the tenant's members.
#[utoipa::path(
    tag = "users",
    params(PageQuery),
    responses((status = 200, body = ListResponse<Member>), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/users")]
async fn list_users(
    ctx: TenantCtx,
    query: web::Query<PageQuery>,
) -> Result<web::Json<ListResponse<Member>>, ApiError> {
    ctx.require(Permission::ReadMembers)?;
    let page = PageRequest::try_from(query.into_inner())?;
    let tenant_id = ctx.tenant_id;
    let rows = ctx
        .read({
            let page = page.clone();
            move |conn| Ok(users::list_members(conn, tenant_id, &page)?)
        })
        .await?;
    Ok(web::Json(ListResponse::from_rows(rows, &page, |member| {
        member.id
    })))
}

/// Create an account and make it a member with a role (409 if the email is
/// taken: add existing accounts with POST /memberships).
#[utoipa::path(
    tag = "users",
    request_body = CreateUser,
    responses((status = 201, body = Member), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[post("/users")]
async fn create_user(
    state: web::Data<AppState>,
    ctx: TenantCtx,
    body: ValidJson<CreateUser>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::ManageMembers)?;
    let CreateUser {
        email,
        name,
        password,
        role,
    } = body.0;
    // Checked before hashing, so a refused request costs no argon2 run.
    check_may_grant(ctx.role, role)?;
    let password_hash = state.cpu.run(move || password::hash(&password)).await?;
    let (audit, actor_role, tenant_id) = (ctx.audit(), ctx.role, ctx.tenant_id);
    let member = ctx
        .tx(move |conn| {
            let user = users::insert(
                conn,
                &NewUser {
                    id: Uuid::now_v7(),
                    email: email.trim(),
                    name: name.trim(),
                    password_hash: &password_hash,
                    is_platform_admin: false,
                },
            )?;
            add_member(conn, &audit, actor_role, user.id, role)?;
            let member = users::find_member(conn, tenant_id, user.id)?.ok_or(ApiError::NotFound)?;
            audit.created(conn, "user", user.id, &member)?;
            Ok(member)
        })
        .await?;
    Ok(created_with_etag(
        format!("/api/v1/users/{}", member.id),
        member.version,
        &member,
    ))
}

/// Get a member.
#[utoipa::path(
    tag = "users",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Member), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/users/{id}")]
async fn get_user(ctx: TenantCtx, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::ReadMembers)?;
    let (id, tenant_id) = (path.into_inner(), ctx.tenant_id);
    let member = ctx
        .read(move |conn| users::find_member(conn, tenant_id, id)?.ok_or(ApiError::NotFound))
        .await?;
    Ok(ok_with_etag(member.version, &member))
}

/// Rename a member.
#[utoipa::path(
    tag = "users",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version being changed")),
    request_body = UpdateUser,
    responses((status = 200, body = Member), (status = 404, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[patch("/users/{id}")]
async fn update_user(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<UpdateUser>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::ManageMembers)?;
    let (id, name) = (path.into_inner(), body.0.name);
    let (audit, tenant_id) = (ctx.audit(), ctx.tenant_id);
    let member = ctx
        .tx(move |conn| {
            let before = users::find_member(conn, tenant_id, id)?.ok_or(ApiError::NotFound)?;
            if_match.check(before.version)?;
            users::set_name(conn, id, name.trim())?;
            let after = users::find_member(conn, tenant_id, id)?.ok_or(ApiError::NotFound)?;
            audit.updated(conn, "user", id, &before, &after)?;
            Ok(after)
        })
        .await?;
    Ok(ok_with_etag(member.version, &member))
}

/// Remove a member from the tenant (the account itself stays).
#[utoipa::path(
    tag = "users",
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = []))
)]
#[delete("/users/{id}")]
async fn delete_user(ctx: TenantCtx, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::ManageMembers)?;
    let id = path.into_inner();
    let (audit, actor_role, tenant_id) = (ctx.audit(), ctx.role, ctx.tenant_id);
    ctx.tx(move |conn| {
        let membership =
            memberships::find_for_user(conn, tenant_id, id)?.ok_or(ApiError::NotFound)?;
        guard_owner_rules(conn, actor_role, &membership, None)?;
        memberships::delete(conn, membership.id)?;
        audit.deleted(conn, "membership", membership.id, &membership)?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
