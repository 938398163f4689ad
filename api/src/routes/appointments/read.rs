//! Appointments as staff and patients may see them: list and read one.

use actix_web::{get, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::db::appointments::{self, Appointment, AppointmentStatus};
use crate::error::{ApiError, Problem};
use crate::http::pagination::{ListResponse, PageQuery, PageRequest};

use super::{is_visible, visible_to};

#[derive(Debug, Deserialize, IntoParams)]
pub struct AppointmentQuery {
    /// Only this status.
    // A string: a status no appointment can have matches none (no 400).
    pub status: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// List appointments the caller may see.
#[utoipa::path(
    tag = "appointments",
    params(AppointmentQuery),
    responses((status = 200, body = ListResponse<Appointment>), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/appointments")]
pub(super) async fn list_appointments(
    ctx: TenantCtx,
    query: web::Query<AppointmentQuery>,
) -> Result<web::Json<ListResponse<Appointment>>, ApiError> {
    let query = query.into_inner();
    let page = PageRequest::try_from(PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    })?;
    let status = query
        .status
        .as_deref()
        .map(str::parse::<AppointmentStatus>)
        .transpose();
    let (role, user) = (ctx.role, ctx.user.user_id());
    let rows = ctx
        .read({
            let page = page.clone();
            move |conn| match (visible_to(conn, role, user)?, status.clone()) {
                (Some(mut filter), Ok(status)) => {
                    filter.status = status;
                    Ok(appointments::list(conn, &filter, &page)?)
                }
                _ => Ok(Vec::new()),
            }
        })
        .await?;
    Ok(web::Json(ListResponse::from_rows(rows, &page, |a| a.id)))
}

/// Get an appointment (404 unless the caller may see it).
#[utoipa::path(
    tag = "appointments",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Appointment), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/appointments/{id}")]
pub(super) async fn get_appointment(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
) -> Result<web::Json<Appointment>, ApiError> {
    let id = path.into_inner();
    let (role, user) = (ctx.role, ctx.user.user_id());
    let appointment = ctx
        .read(move |conn| {
            let filter = visible_to(conn, role, user)?.ok_or(ApiError::NotFound)?;
            appointments::find(conn, id)?
                .filter(|appointment| is_visible(&filter, appointment))
                .ok_or(ApiError::NotFound)
        })
        .await?;
    Ok(web::Json(appointment))
}
