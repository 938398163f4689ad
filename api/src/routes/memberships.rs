//! `/api/v1/memberships`: who belongs to the tenant and in which role. Owners
//! and admins manage them; only an owner grants or takes away the owner role,
//! and the last owner can be neither demoted nor removed.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::auth::members::{add_member, guard_owner_rules};
use crate::auth::roles::{Permission, Role};
use crate::db::memberships::{self, Membership};
use crate::db::users;
use crate::error::{ApiError, FieldError, Problem};
use crate::http::etag::{created_with_etag, ok_with_etag, IfMatch};
use crate::http::json::{rules, ValidJson, Validate};
use crate::http::pagination::{ListResponse, PageQuery, PageRequest};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_memberships)
        .service(add_membership)
        .service(get_membership)
        .service(update_membership)
        .service(delete_membership);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMembership {
    /// Email of an existing account.
    pub email: String,
    pub role: Role,
}

impl Validate for AddMembership {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        rules::email(&mut errors, "email", &self.email);
        errors
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMembership {
    pub role: Role,
}

impl Validate for UpdateMembership {
    fn validate(&self) -> Vec<FieldError> {
        Vec::new()
    }
}

/// List the tenant's memberships.
#[utoipa::path(
    tag = "memberships",
    params(PageQuery),
    responses((status = 200, body = ListResponse<Membership>), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/memberships")]
async fn list_memberships(
    ctx: TenantCtx,
    query: web::Query<PageQuery>,
) -> Result<web::Json<ListResponse<Membership>>, ApiError> {
    ctx.require(Permission::ReadMembers)?;
    let page = PageRequest::try_from(query.into_inner())?;
    let tenant_id = ctx.tenant_id;
    let rows = ctx
        .read({
            let page = page.clone();
            move |conn| Ok(memberships::list(conn, tenant_id, &page)?)
        })
        .await?;
    Ok(web::Json(ListResponse::from_rows(rows, &page, |m| m.id)))
}

/// Add an existing account to the tenant with a role.
#[utoipa::path(
    tag = "memberships",
    request_body = AddMembership,
    responses((status = 201, body = Membership), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[post("/memberships")]
async fn add_membership(
    ctx: TenantCtx,
    body: ValidJson<AddMembership>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::ManageMembers)?;
    let AddMembership { email, role } = body.0;
    let (audit, actor_role) = (ctx.audit(), ctx.role);
    let membership = ctx
        .tx(move |conn| {
            let user = users::find_by_email(conn, &email)?.ok_or_else(|| {
                ApiError::invalid(
                    "email",
                    "no account has this email; create it with POST /users",
                )
            })?;
            add_member(conn, &audit, actor_role, user.id, role)
        })
        .await?;
    Ok(created_with_etag(
        format!("/api/v1/memberships/{}", membership.id),
        membership.version,
        &membership,
    ))
}

/// Get a membership.
#[utoipa::path(
    tag = "memberships",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Membership), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/memberships/{id}")]
async fn get_membership(ctx: TenantCtx, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::ReadMembers)?;
    let (id, tenant_id) = (path.into_inner(), ctx.tenant_id);
    let membership = ctx
        .read(move |conn| memberships::find(conn, tenant_id, id)?.ok_or(ApiError::NotFound))
        .await?;
    Ok(ok_with_etag(membership.version, &membership))
}

/// Change a member's role.
#[utoipa::path(
    tag = "memberships",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version being changed")),
    request_body = UpdateMembership,
    responses((status = 200, body = Membership), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[patch("/memberships/{id}")]
async fn update_membership(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<UpdateMembership>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::ManageMembers)?;
    let (id, role) = (path.into_inner(), body.0.role);
    let (audit, actor_role, tenant_id) = (ctx.audit(), ctx.role, ctx.tenant_id);
    let membership = ctx
        .tx(move |conn| {
            let before = memberships::lock(conn, tenant_id, id)?.ok_or(ApiError::NotFound)?;
            if_match.check(before.version)?;
            guard_owner_rules(conn, actor_role, &before, Some(role))?;
            let after = memberships::set_role(conn, id, role)?;
            audit.updated(conn, "membership", id, &before, &after)?;
            Ok(after)
        })
        .await?;
    Ok(ok_with_etag(membership.version, &membership))
}

/// Remove a member from the tenant (their account stays). Their refresh tokens
/// for this tenant stop working at the next refresh.
#[utoipa::path(
    tag = "memberships",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version being deleted")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem)),
    security(("bearer" = []))
)]
#[delete("/memberships/{id}")]
async fn delete_membership(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::ManageMembers)?;
    let id = path.into_inner();
    let (audit, actor_role, tenant_id) = (ctx.audit(), ctx.role, ctx.tenant_id);
    ctx.tx(move |conn| {
        let before = memberships::lock(conn, tenant_id, id)?.ok_or(ApiError::NotFound)?;
        if_match.check(before.version)?;
        guard_owner_rules(conn, actor_role, &before, None)?;
        memberships::delete(conn, id)?;
        audit.deleted(conn, "membership", id, &before)?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
