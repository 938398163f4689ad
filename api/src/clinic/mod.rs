//! Clinic rules shared by the routes, the seed and the renderer's data:
//! loading a doctor's schedule into the pure slot computation of
//! `cms_shared::slots`, phone numbers, booking (`booking`), the
//! appointment status machine (`status`), writes to the catalogue of
//! clinics, specializations, services and doctors (`catalog`), and what
//! visitors may see of it (`public`).

pub mod booking;
pub mod catalog;
pub mod demo;
pub mod invalidation;
pub mod public;
pub mod slots_cache;
pub mod status;

pub use slots_cache::{SlotsAnswer, SlotsCache};

use chrono::{DateTime, Duration, NaiveDate, Utc, Weekday};
use chrono_tz::Tz;
use diesel::PgConnection;
use uuid::Uuid;

use cms_shared::slots::{self, Busy, Slot, SlotRules, WeeklyShift};

use crate::config::Config;
use crate::db::{appointments, clinics, doctors};
use crate::error::ApiError;

/// Ids as a set: a repeated id links once.
pub fn distinct(mut ids: Vec<Uuid>) -> Vec<Uuid> {
    ids.sort();
    ids.dedup();
    ids
}

/// The longest range `available-slots` answers for at once.
pub const MAX_RANGE_DAYS: i64 = 31;

pub fn rules(config: &Config, duration_minutes: i32) -> SlotRules {
    SlotRules {
        duration: Duration::minutes(i64::from(duration_minutes)),
        step: (config.slot_granularity_minutes > 0)
            .then(|| Duration::minutes(config.slot_granularity_minutes)),
        min_lead: Duration::minutes(config.booking_min_lead_minutes),
        max_days_ahead: config.booking_max_days_ahead,
    }
}

fn weekday(day_of_week: i32) -> Option<Weekday> {
    Some(match day_of_week {
        1 => Weekday::Mon,
        2 => Weekday::Tue,
        3 => Weekday::Wed,
        4 => Weekday::Thu,
        5 => Weekday::Fri,
        6 => Weekday::Sat,
        7 => Weekday::Sun,
        _ => return None,
    })
}

/// The doctor's free slots for a service of `duration_minutes` on local dates
/// `from..=to`: weekly schedule and exceptions, minus non-cancelled
/// appointments, in each clinic's time zone. A fixed number of queries.
pub fn doctor_slots(
    conn: &mut PgConnection,
    doctor: Uuid,
    rules: &SlotRules,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Vec<Slot>, ApiError> {
    slots_of(conn, doctor, rules, from, to, now, true)
}

/// The slots the schedule alone gives (as if nothing were booked): tells a
/// taken slot (409) from a time outside the schedule (422).
pub fn doctor_slots_ignoring_bookings(
    conn: &mut PgConnection,
    doctor: Uuid,
    rules: &SlotRules,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Vec<Slot>, ApiError> {
    slots_of(conn, doctor, rules, from, to, now, false)
}

fn slots_of(
    conn: &mut PgConnection,
    doctor: Uuid,
    rules: &SlotRules,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
    minus_bookings: bool,
) -> Result<Vec<Slot>, ApiError> {
    let shifts = doctors::schedule(conn, doctor)?;
    let clinic_ids: Vec<Uuid> = shifts.iter().map(|shift| shift.clinic_id).collect();
    let exceptions = doctors::exceptions(conn, doctor, from, to)?;
    let mut all_clinics = clinic_ids.clone();
    all_clinics.extend(exceptions.iter().filter_map(|e| e.clinic_id));
    let zones: Vec<(Uuid, Tz)> = clinics::find_many(conn, &all_clinics)?
        .into_iter()
        .filter(|clinic| clinic.is_active)
        .filter_map(|clinic| {
            clinic
                .time_zone
                .parse::<Tz>()
                .ok()
                .map(|tz| (clinic.id, tz))
        })
        .collect();
    let weekly: Vec<WeeklyShift> = shifts
        .iter()
        .filter(|shift| shift.is_active)
        .filter_map(|shift| {
            Some(WeeklyShift {
                clinic: shift.clinic_id,
                weekday: weekday(shift.day_of_week)?,
                start: shift.start_time,
                end: shift.end_time,
            })
        })
        .collect();
    let exceptions: Vec<slots::ScheduleException> = exceptions
        .iter()
        .map(|e| slots::ScheduleException {
            clinic: e.clinic_id,
            date: e.date,
            start: e.start_time,
            end: e.end_time,
            kind: e.kind.into(),
        })
        .collect();
    // Local dates span at most a day either side of UTC dates.
    let window_start = from
        .pred_opt()
        .unwrap_or(from)
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or(now);
    let window_end = to
        .succ_opt()
        .and_then(|d| d.succ_opt())
        .unwrap_or(to)
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or(now);
    let booked = if minus_bookings {
        appointments::busy(conn, doctor, window_start, window_end)?
    } else {
        Vec::new()
    };
    let busy: Vec<Busy> = booked
        .into_iter()
        .map(|(start, end)| Busy { start, end })
        .collect();
    Ok(slots::available_slots(
        &zones,
        &weekly,
        &exceptions,
        &busy,
        from,
        to,
        rules,
        now,
    ))
}

/// A phone number in E.164, from what people type (libphonenumber's
/// rules; numbers without a country code are Russian).
pub fn normalize_phone(raw: &str) -> Option<String> {
    crate::notifications::phone::normalize(raw)
}
