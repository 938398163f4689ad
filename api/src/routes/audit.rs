//! `/api/v1/audit-log`: the tenant's record of every write, newest first.

use actix_web::{get, web};

use crate::auth::extract::TenantCtx;
use crate::auth::roles::Permission;
use crate::db::audit::{self, AuditEntry};
use crate::error::{ApiError, Problem};
use crate::http::pagination::{ListResponse, PageQuery, PageRequest};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_audit_log);
}

/// List audit records of the tenant, newest first.
#[utoipa::path(
    tag = "audit",
    params(PageQuery),
    responses((status = 200, body = ListResponse<AuditEntry>), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/audit-log")]
async fn list_audit_log(
    ctx: TenantCtx,
    query: web::Query<PageQuery>,
) -> Result<web::Json<ListResponse<AuditEntry>>, ApiError> {
    ctx.require(Permission::ReadMembers)?;
    let page = PageRequest::try_from(query.into_inner())?;
    let rows = ctx
        .read({
            let page = page.clone();
            move |conn| Ok(audit::list(conn, &page)?)
        })
        .await?;
    Ok(web::Json(ListResponse::from_rows(rows, &page, |entry| {
        entry.id
    })))
}
