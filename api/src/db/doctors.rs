//! Queries on `doctors` (with their clinics and services), their weekly
//! `doctor_schedules` and `schedule_exceptions` (tenant-owned: RLS limits
//! every query to the current tenant).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::schema::{
    doctor_clinics, doctor_schedules, doctor_services, doctors, schedule_exceptions,
    specializations,
};
use crate::db::cursor::PageRequest;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = doctors)]
pub struct DoctorRow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub user_id: Option<Uuid>,
    pub specialization_id: Uuid,
    pub slug: String,
    pub name: String,
    pub photo: Option<String>,
    pub photo_media_id: Option<Uuid>,
    pub bio: String,
    pub experience_years: i32,
    pub education: String,
    pub certificates: Value,
    pub consultation_price_minor: Option<i64>,
    pub rating_total: i32,
    pub reviews_count: i32,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

/// A doctor as the api shows it: with specialization, clinics and services.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Doctor {
    pub id: Uuid,
    /// The doctor's own account, if they sign in.
    pub user_id: Option<Uuid>,
    pub specialization_id: Uuid,
    pub specialization: String,
    pub slug: String,
    pub name: String,
    /// Photo URL (for photos kept elsewhere).
    pub photo: Option<String>,
    /// The photo as a media of the tenant's library: delivery resolves it
    /// into `photo_image` (renditions, placeholder) for visitors.
    pub photo_media_id: Option<Uuid>,
    pub bio: String,
    pub experience_years: i32,
    pub education: String,
    #[schema(value_type = Vec<HashMap<String, serde_json::Value>>)]
    pub certificates: Value,
    /// Price of a consultation in minor units, when it differs from the service's.
    pub consultation_price_minor: Option<i64>,
    /// Average of published reviews, two decimals; 0 without reviews.
    pub rating: f64,
    pub reviews_count: i32,
    pub is_active: bool,
    pub clinic_ids: Vec<Uuid>,
    pub service_ids: Vec<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped by every change; the `ETag` is `"v<version>"`.
    pub version: i32,
}

pub fn rating(total: i32, count: i32) -> f64 {
    if count == 0 {
        0.0
    } else {
        (f64::from(total) / f64::from(count) * 100.0).round() / 100.0
    }
}

#[derive(Debug, Default, Clone)]
pub struct DoctorFilter {
    pub specialization: Option<Uuid>,
    pub clinic: Option<Uuid>,
    pub service: Option<Uuid>,
    pub active_only: bool,
}

/// One page of doctors with everything shown about them: four queries
/// whatever the page size (doctors with specializations, clinics, services).
pub fn list(
    conn: &mut PgConnection,
    filter: &DoctorFilter,
    page: &PageRequest,
) -> QueryResult<Vec<Doctor>> {
    let mut query = doctors::table
        .inner_join(specializations::table)
        .select((DoctorRow::as_select(), specializations::name))
        .order(doctors::id)
        .limit(page.fetch_limit())
        .into_boxed();
    if let Some(specialization) = filter.specialization {
        query = query.filter(doctors::specialization_id.eq(specialization));
    }
    if let Some(clinic) = filter.clinic {
        query = query.filter(
            doctors::id.eq_any(
                doctor_clinics::table
                    .filter(doctor_clinics::clinic_id.eq(clinic))
                    .select(doctor_clinics::doctor_id),
            ),
        );
    }
    if let Some(service) = filter.service {
        query = query.filter(
            doctors::id.eq_any(
                doctor_services::table
                    .filter(doctor_services::service_id.eq(service))
                    .select(doctor_services::doctor_id),
            ),
        );
    }
    if filter.active_only {
        query = query.filter(doctors::is_active.eq(true));
    }
    if let Some(after) = page.after {
        query = query.filter(doctors::id.gt(after));
    }
    let rows = query.load::<(DoctorRow, String)>(conn)?;
    with_links(conn, rows)
}

fn with_links(conn: &mut PgConnection, rows: Vec<(DoctorRow, String)>) -> QueryResult<Vec<Doctor>> {
    let ids: Vec<Uuid> = rows.iter().map(|(row, _)| row.id).collect();
    let mut clinics: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for (doctor, clinic) in doctor_clinics::table
        .filter(doctor_clinics::doctor_id.eq_any(&ids))
        .select((doctor_clinics::doctor_id, doctor_clinics::clinic_id))
        .order(doctor_clinics::clinic_id)
        .load::<(Uuid, Uuid)>(conn)?
    {
        clinics.entry(doctor).or_default().push(clinic);
    }
    let mut services: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for (doctor, service) in doctor_services::table
        .filter(doctor_services::doctor_id.eq_any(&ids))
        .select((doctor_services::doctor_id, doctor_services::service_id))
        .order(doctor_services::service_id)
        .load::<(Uuid, Uuid)>(conn)?
    {
        services.entry(doctor).or_default().push(service);
    }
    Ok(rows
        .into_iter()
        .map(|(row, specialization)| Doctor {
            clinic_ids: clinics.remove(&row.id).unwrap_or_default(),
            service_ids: services.remove(&row.id).unwrap_or_default(),
            rating: rating(row.rating_total, row.reviews_count),
            id: row.id,
            user_id: row.user_id,
            specialization_id: row.specialization_id,
            specialization,
            slug: row.slug,
            name: row.name,
            photo: row.photo,
            photo_media_id: row.photo_media_id,
            bio: row.bio,
            experience_years: row.experience_years,
            education: row.education,
            certificates: row.certificates,
            consultation_price_minor: row.consultation_price_minor,
            reviews_count: row.reviews_count,
            is_active: row.is_active,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        })
        .collect())
}

pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Doctor>> {
    let row = doctors::table
        .inner_join(specializations::table)
        .filter(doctors::id.eq(id))
        .select((DoctorRow::as_select(), specializations::name))
        .first::<(DoctorRow, String)>(conn)
        .optional()?;
    Ok(match row {
        Some(row) => with_links(conn, vec![row])?.pop(),
        None => None,
    })
}

/// The doctor, their row locked until the transaction ends (read, check,
/// then write).
pub fn lock(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Doctor>> {
    let locked: Option<Uuid> = doctors::table
        .find(id)
        .select(doctors::id)
        .for_update()
        .first(conn)
        .optional()?;
    match locked {
        Some(id) => find(conn, id),
        None => Ok(None),
    }
}

/// The doctor with this id or slug.
pub fn resolve(conn: &mut PgConnection, key: &str) -> QueryResult<Option<Uuid>> {
    let mut query = doctors::table.select(doctors::id).into_boxed();
    query = match Uuid::parse_str(key) {
        Ok(id) => query.filter(doctors::id.eq(id)),
        Err(_) => query.filter(doctors::slug.eq(key.to_owned())),
    };
    query.first(conn).optional()
}

/// The doctor record of a signed-in user in the current tenant.
pub fn of_user(conn: &mut PgConnection, user_id: Uuid) -> QueryResult<Option<Uuid>> {
    doctors::table
        .filter(doctors::user_id.eq(user_id))
        .select(doctors::id)
        .first(conn)
        .optional()
}

pub fn insert(
    conn: &mut PgConnection,
    row: &DoctorRow,
    clinic_ids: &[Uuid],
    service_ids: &[Uuid],
) -> QueryResult<Doctor> {
    diesel::insert_into(doctors::table)
        .values(row)
        .execute(conn)?;
    let clinics: Vec<_> = clinic_ids
        .iter()
        .map(|clinic| {
            (
                doctor_clinics::tenant_id.eq(row.tenant_id),
                doctor_clinics::doctor_id.eq(row.id),
                doctor_clinics::clinic_id.eq(*clinic),
            )
        })
        .collect();
    diesel::insert_into(doctor_clinics::table)
        .values(&clinics)
        .execute(conn)?;
    let services: Vec<_> = service_ids
        .iter()
        .map(|service| {
            (
                doctor_services::tenant_id.eq(row.tenant_id),
                doctor_services::doctor_id.eq(row.id),
                doctor_services::service_id.eq(*service),
            )
        })
        .collect();
    diesel::insert_into(doctor_services::table)
        .values(&services)
        .execute(conn)?;
    find(conn, row.id)?.ok_or(diesel::result::Error::NotFound)
}

pub fn offers_service(conn: &mut PgConnection, doctor: Uuid, service: Uuid) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        doctor_services::table
            .filter(doctor_services::doctor_id.eq(doctor))
            .filter(doctor_services::service_id.eq(service)),
    ))
    .get_result(conn)
}

/// Adds `delta` (+rating or -rating) to the doctor's published reviews.
pub fn add_review_rating(
    conn: &mut PgConnection,
    doctor: Uuid,
    rating_delta: i32,
    count_delta: i32,
) -> QueryResult<usize> {
    diesel::update(doctors::table.find(doctor))
        .set((
            doctors::rating_total.eq(doctors::rating_total + rating_delta),
            doctors::reviews_count.eq(doctors::reviews_count + count_delta),
        ))
        .execute(conn)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, ToSchema)]
#[diesel(table_name = doctor_schedules)]
pub struct ScheduleShift {
    pub id: Uuid,
    #[serde(skip)]
    pub tenant_id: Uuid,
    pub doctor_id: Uuid,
    pub clinic_id: Uuid,
    /// ISO weekday: 1 = Monday ... 7 = Sunday.
    pub day_of_week: i32,
    #[schema(value_type = String, example = "09:00:00")]
    pub start_time: NaiveTime,
    #[schema(value_type = String, example = "18:00:00")]
    pub end_time: NaiveTime,
    pub is_active: bool,
}

pub fn schedule(conn: &mut PgConnection, doctor: Uuid) -> QueryResult<Vec<ScheduleShift>> {
    doctor_schedules::table
        .filter(doctor_schedules::doctor_id.eq(doctor))
        .select(ScheduleShift::as_select())
        .order((doctor_schedules::day_of_week, doctor_schedules::start_time))
        .load(conn)
}

/// Replaces the doctor's weekly schedule.
pub fn replace_schedule(
    conn: &mut PgConnection,
    doctor: Uuid,
    shifts: &[ScheduleShift],
) -> QueryResult<Vec<ScheduleShift>> {
    diesel::delete(doctor_schedules::table.filter(doctor_schedules::doctor_id.eq(doctor)))
        .execute(conn)?;
    diesel::insert_into(doctor_schedules::table)
        .values(shifts)
        .execute(conn)?;
    schedule(conn, doctor)
}

crate::db_enum! {
    /// What a schedule exception does to the weekly schedule on its date.
    pub enum ExceptionKind {
        /// Not working (vacation, sick day): the whole day or `start`..`end`.
        Off = "off",
        /// An additional shift at one clinic.
        Extra = "extra",
    }
}

impl From<ExceptionKind> for cms_shared::slots::ExceptionKind {
    fn from(kind: ExceptionKind) -> Self {
        match kind {
            ExceptionKind::Off => Self::Off,
            ExceptionKind::Extra => Self::Extra,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, ToSchema)]
#[diesel(table_name = schedule_exceptions)]
pub struct ScheduleException {
    pub id: Uuid,
    #[serde(skip)]
    pub tenant_id: Uuid,
    pub doctor_id: Uuid,
    /// `null`: every clinic of the doctor.
    pub clinic_id: Option<Uuid>,
    pub date: NaiveDate,
    /// `null` with `end_time`: the whole day.
    #[schema(value_type = Option<String>)]
    pub start_time: Option<NaiveTime>,
    #[schema(value_type = Option<String>)]
    pub end_time: Option<NaiveTime>,
    /// `off` (vacation, sick day) or `extra` (an additional shift).
    pub kind: ExceptionKind,
    pub reason: String,
}

pub fn exceptions(
    conn: &mut PgConnection,
    doctor: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<ScheduleException>> {
    schedule_exceptions::table
        .filter(schedule_exceptions::doctor_id.eq(doctor))
        .filter(schedule_exceptions::date.between(from, to))
        .select(ScheduleException::as_select())
        .order(schedule_exceptions::date)
        .load(conn)
}

pub fn insert_exception(
    conn: &mut PgConnection,
    exception: &ScheduleException,
) -> QueryResult<ScheduleException> {
    diesel::insert_into(schedule_exceptions::table)
        .values(exception)
        .returning(ScheduleException::as_returning())
        .get_result(conn)
}

pub fn delete_exception(conn: &mut PgConnection, doctor: Uuid, id: Uuid) -> QueryResult<usize> {
    diesel::delete(
        schedule_exceptions::table
            .filter(schedule_exceptions::doctor_id.eq(doctor))
            .filter(schedule_exceptions::id.eq(id)),
    )
    .execute(conn)
}

/// Gives every doctor without a library photo `media_id` as theirs (the
/// demo seed); answers how many.
pub fn set_missing_photos(conn: &mut PgConnection, media_id: Uuid) -> QueryResult<usize> {
    diesel::update(doctors::table.filter(doctors::photo_media_id.is_null()))
        .set((
            doctors::photo_media_id.eq(Some(media_id)),
            doctors::version.eq(doctors::version + 1),
        ))
        .execute(conn)
}

#[derive(AsChangeset, Default)]
#[diesel(table_name = doctors)]
pub struct DoctorChanges {
    pub specialization_id: Option<Uuid>,
    pub user_id: Option<Option<Uuid>>,
    pub slug: Option<String>,
    pub name: Option<String>,
    pub photo: Option<Option<String>>,
    pub photo_media_id: Option<Option<Uuid>>,
    pub bio: Option<String>,
    pub experience_years: Option<i32>,
    pub education: Option<String>,
    pub certificates: Option<Value>,
    pub consultation_price_minor: Option<Option<i64>>,
    pub is_active: Option<bool>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// Changes a doctor and bumps their version in the same statement;
/// `clinic_ids`/`service_ids` replace the links when given.
pub fn update(
    conn: &mut PgConnection,
    id: Uuid,
    changes: &DoctorChanges,
    clinic_ids: Option<&[Uuid]>,
    service_ids: Option<&[Uuid]>,
) -> QueryResult<Option<Doctor>> {
    let tenant_id: Option<Uuid> = diesel::update(doctors::table.find(id))
        .set((changes, doctors::version.eq(doctors::version + 1)))
        .returning(doctors::tenant_id)
        .get_result(conn)
        .optional()?;
    let Some(tenant_id) = tenant_id else {
        return Ok(None);
    };
    if let Some(clinic_ids) = clinic_ids {
        diesel::delete(doctor_clinics::table.filter(doctor_clinics::doctor_id.eq(id)))
            .execute(conn)?;
        let rows: Vec<_> = clinic_ids
            .iter()
            .map(|clinic| {
                (
                    doctor_clinics::tenant_id.eq(tenant_id),
                    doctor_clinics::doctor_id.eq(id),
                    doctor_clinics::clinic_id.eq(*clinic),
                )
            })
            .collect();
        diesel::insert_into(doctor_clinics::table)
            .values(&rows)
            .execute(conn)?;
    }
    if let Some(service_ids) = service_ids {
        diesel::delete(doctor_services::table.filter(doctor_services::doctor_id.eq(id)))
            .execute(conn)?;
        let rows: Vec<_> = service_ids
            .iter()
            .map(|service| {
                (
                    doctor_services::tenant_id.eq(tenant_id),
                    doctor_services::doctor_id.eq(id),
                    doctor_services::service_id.eq(*service),
                )
            })
            .collect();
        diesel::insert_into(doctor_services::table)
            .values(&rows)
            .execute(conn)?;
    }
    find(conn, id)
}

pub fn delete(conn: &mut PgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::delete(doctors::table.find(id)).execute(conn)
}
