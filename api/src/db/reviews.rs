//! Queries on `reviews` (tenant-owned: RLS limits every query to the current
//! tenant). Publishing changes the doctor's rating in the same transaction.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::schema::{appointments, reviews};
use crate::db::cursor::PageRequest;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, ToSchema)]
#[diesel(table_name = reviews)]
pub struct Review {
    pub id: Uuid,
    #[serde(skip)]
    pub tenant_id: Uuid,
    pub patient_id: Uuid,
    pub doctor_id: Uuid,
    pub appointment_id: Option<Uuid>,
    /// 1 to 5.
    pub rating: i32,
    pub comment: String,
    /// Tied to the patient's own completed appointment with this doctor.
    pub is_verified: bool,
    pub is_published: bool,
    pub moderated_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

pub fn insert(conn: &mut PgConnection, review: &Review) -> QueryResult<Review> {
    diesel::insert_into(reviews::table)
        .values(review)
        .returning(Review::as_returning())
        .get_result(conn)
}

pub fn lock(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Review>> {
    reviews::table
        .find(id)
        .select(Review::as_select())
        .for_update()
        .first(conn)
        .optional()
}

pub fn set_published(conn: &mut PgConnection, id: Uuid, published: bool) -> QueryResult<Review> {
    diesel::update(reviews::table.find(id))
        .set((
            reviews::is_published.eq(published),
            reviews::moderated_at.eq(Some(Utc::now())),
        ))
        .returning(Review::as_returning())
        .get_result(conn)
}

pub fn list(
    conn: &mut PgConnection,
    doctor: Option<Uuid>,
    published_only: bool,
    page: &PageRequest,
) -> QueryResult<Vec<Review>> {
    let mut query = reviews::table
        .select(Review::as_select())
        .order(reviews::id.desc())
        .limit(page.fetch_limit())
        .into_boxed();
    if let Some(doctor) = doctor {
        query = query.filter(reviews::doctor_id.eq(doctor));
    }
    if published_only {
        query = query.filter(reviews::is_published.eq(true));
    }
    if let Some(before) = page.after {
        query = query.filter(reviews::id.lt(before));
    }
    query.load(conn)
}

/// Whether `appointment` is the patient's own completed visit to the doctor.
pub fn is_completed_visit(
    conn: &mut PgConnection,
    appointment: Uuid,
    patient: Uuid,
    doctor: Uuid,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        appointments::table
            .filter(appointments::id.eq(appointment))
            .filter(appointments::patient_id.eq(patient))
            .filter(appointments::doctor_id.eq(doctor))
            .filter(appointments::status.eq("completed")),
    ))
    .get_result(conn)
}
