//! An appointment's payments.

use actix_web::{get, web};
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::db::appointments::{self};
use crate::error::{ApiError, Problem};

use super::{is_visible, visible_to};

/// The payment events of an appointment (recorded by payment status changes).
#[utoipa::path(
    tag = "appointments",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<appointments::Payment>), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/appointments/{id}/payments")]
pub(super) async fn list_payments(
    ctx: TenantCtx,
    path: web::Path<Uuid>,
) -> Result<web::Json<Vec<appointments::Payment>>, ApiError> {
    let id = path.into_inner();
    let (role, user) = (ctx.role, ctx.user.user_id());
    let payments = ctx
        .read(move |conn| {
            let filter = visible_to(conn, role, user)?.ok_or(ApiError::NotFound)?;
            appointments::find(conn, id)?
                .filter(|appointment| is_visible(&filter, appointment))
                .ok_or(ApiError::NotFound)?;
            Ok(appointments::payments_of(conn, id)?)
        })
        .await?;
    Ok(web::Json(payments))
}
