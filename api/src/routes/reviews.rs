//! `/api/v1/reviews`: patients post reviews of doctors (unpublished until
//! moderated; verified when tied to their own completed appointment), staff
//! list and moderate them. Publishing or unpublishing changes the doctor's
//! rating and review count in the same transaction.

use actix_web::{get, post, web, HttpResponse};
use chrono::Utc;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::extract::TenantCtx;
use crate::auth::roles::{Permission, Role};
use crate::db::appointments;
use crate::db::doctors;
use crate::db::reviews::{self, Review};
use crate::error::{ApiError, FieldError, Problem};
use crate::http::json::{ValidJson, Validate};
use crate::http::pagination::{ListResponse, PageQuery, PageRequest};
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(post_review)
        .service(list_reviews)
        .service(publish_review)
        .service(unpublish_review);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReview {
    pub doctor_id: Uuid,
    /// The patient's own completed visit this review is about (marks it verified).
    pub appointment_id: Option<Uuid>,
    /// 1 to 5.
    pub rating: i32,
    /// Plain text; any markup is removed.
    pub comment: String,
}

impl Validate for NewReview {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if !(1..=5).contains(&self.rating) {
            errors.push(FieldError::new("rating", "must be 1 to 5"));
        }
        let comment = sanitize(&self.comment);
        if comment.trim().is_empty() || comment.chars().count() > 5000 {
            errors.push(FieldError::new(
                "comment",
                "must be 1 to 5000 characters of text",
            ));
        }
        errors
    }
}

/// Reviews are plain text: every tag goes, entities stay escaped.
fn sanitize(comment: &str) -> String {
    ammonia::Builder::empty().clean(comment).to_string()
}

/// Post a review as the signed-in patient.
#[utoipa::path(
    tag = "reviews",
    request_body = NewReview,
    responses((status = 201, body = Review), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[post("/reviews")]
async fn post_review(ctx: TenantCtx, body: ValidJson<NewReview>) -> Result<HttpResponse, ApiError> {
    if ctx.role != Role::Patient {
        return Err(ApiError::Forbidden("only patients post reviews".into()));
    }
    let body = body.0;
    let (user, tenant_id) = (ctx.user.user_id(), ctx.tenant_id);
    let audit = ctx.audit();
    let created = ctx
        .tx(move |conn| {
            let patient = appointments::patient_of_user(conn, user)?.ok_or_else(|| {
                ApiError::Forbidden("this account has no patient profile in this tenant".into())
            })?;
            doctors::find(conn, body.doctor_id)?
                .ok_or_else(|| ApiError::invalid("doctor_id", "is not a doctor"))?;
            let verified = match body.appointment_id {
                Some(appointment) => {
                    if !reviews::is_completed_visit(conn, appointment, patient.id, body.doctor_id)?
                    {
                        return Err(ApiError::invalid(
                            "appointment_id",
                            "is not your completed appointment with this doctor",
                        ));
                    }
                    true
                }
                None => false,
            };
            let review = Review {
                id: Uuid::now_v7(),
                tenant_id,
                patient_id: patient.id,
                doctor_id: body.doctor_id,
                appointment_id: body.appointment_id,
                rating: body.rating,
                comment: sanitize(&body.comment).trim().to_owned(),
                is_verified: verified,
                is_published: false,
                moderated_at: None,
                created_at: Utc::now(),
            };
            let created = reviews::insert(conn, &review)?;
            crate::notifications::review_pending(conn, &created, &patient.name)?;
            audit.created(conn, "review", created.id, &created)?;
            crate::webhooks::emit(conn, created.tenant_id, "review.created", &created)?;
            Ok(created)
        })
        .await?;
    Ok(HttpResponse::Created().json(created))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ReviewQuery {
    pub doctor: Option<Uuid>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// List reviews, published or not (staff).
#[utoipa::path(
    tag = "reviews",
    params(ReviewQuery),
    responses((status = 200, body = ListResponse<Review>), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/reviews")]
async fn list_reviews(
    ctx: TenantCtx,
    query: web::Query<ReviewQuery>,
) -> Result<web::Json<ListResponse<Review>>, ApiError> {
    ctx.require(Permission::ReadContent)?;
    let query = query.into_inner();
    let page = PageRequest::try_from(PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    })?;
    let rows = ctx
        .read({
            let page = page.clone();
            move |conn| Ok(reviews::list(conn, query.doctor, false, &page)?)
        })
        .await?;
    Ok(web::Json(ListResponse::from_rows(rows, &page, |r| r.id)))
}

async fn moderate(ctx: TenantCtx, id: Uuid, publish: bool) -> Result<Review, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let audit = ctx.audit();
    ctx.tx(move |conn| {
        let before = reviews::lock(conn, id)?.ok_or(ApiError::NotFound)?;
        if before.is_published == publish {
            return Ok(before);
        }
        let after = reviews::set_published(conn, id, publish)?;
        let sign = if publish { 1 } else { -1 };
        doctors::add_review_rating(conn, before.doctor_id, sign * before.rating, sign)?;
        audit.updated(conn, "review", id, &before, &after)?;
        if publish {
            crate::webhooks::emit(conn, after.tenant_id, "review.published", &after)?;
        }
        Ok(after)
    })
    .await
}

/// Publish a review: it shows on the doctor's page and counts in their rating.
#[utoipa::path(
    tag = "reviews",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Review), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[post("/reviews/{id}/publish")]
async fn publish_review(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<web::Json<Review>, ApiError> {
    let tenant_id = ctx.tenant_id;
    let review = moderate(ctx, path.into_inner(), true).await?;
    crate::clinic::invalidation::data_changed(&state, tenant_id).await;
    Ok(web::Json(review))
}

/// Unpublish a review.
#[utoipa::path(
    tag = "reviews",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Review), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[post("/reviews/{id}/unpublish")]
async fn unpublish_review(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<web::Json<Review>, ApiError> {
    let tenant_id = ctx.tenant_id;
    let review = moderate(ctx, path.into_inner(), false).await?;
    crate::clinic::invalidation::data_changed(&state, tenant_id).await;
    Ok(web::Json(review))
}
