//! When reminders go out: `offset` before the visit, unless that falls in the
//! clinic's quiet hours (local time in the clinic's zone, default 21:00 to
//! 09:00). A reminder in quiet hours is moved EARLIER, to `QUIET_MARGIN`
//! before the quiet hours that contain it begin (the evening before, 20:45 by
//! default): moving it later could put it after the visit. Local times are
//! resolved in the zone on their own date, so a DST change between the
//! reminder and the visit is handled (a local time that does not exist that
//! night is taken an hour later; an ambiguous one, the earlier instant).

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// How long before quiet hours begin a moved reminder is sent.
pub const QUIET_MARGIN: Duration = Duration::minutes(15);

/// A daily window of local time, `[start, end)`; it wraps midnight when
/// `start > end`. Equal ends mean no quiet hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl QuietHours {
    pub fn contains(&self, time: NaiveTime) -> bool {
        if self.start <= self.end {
            time >= self.start && time < self.end
        } else {
            time >= self.start || time < self.end
        }
    }

    /// The local date on which the quiet hours containing `local` began.
    fn began_on(&self, local: NaiveDateTime) -> NaiveDate {
        let date = local.date();
        if self.start > self.end && local.time() < self.end {
            date.pred_opt().unwrap_or(date)
        } else {
            date
        }
    }
}

/// The instant a local date and time names in `tz`.
fn resolve(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(at) => at.with_timezone(&Utc),
        LocalResult::Ambiguous(earlier, _) => earlier.with_timezone(&Utc),
        // In a spring-forward gap: an hour later exists.
        LocalResult::None => resolve(tz, local + Duration::hours(1)),
    }
}

/// `at`, or when it falls in quiet hours in `tz`, `QUIET_MARGIN` before
/// those quiet hours began.
pub fn outside_quiet_hours(at: DateTime<Utc>, tz: Tz, quiet: QuietHours) -> DateTime<Utc> {
    let local = at.with_timezone(&tz).naive_local();
    if !quiet.contains(local.time()) {
        return at;
    }
    let start = quiet.began_on(local).and_time(quiet.start);
    resolve(tz, start) - QUIET_MARGIN
}

/// `at`, or when it falls in quiet hours in `tz`, the end of those quiet
/// hours: when a message that is late already (a retry) may go out.
pub fn after_quiet_hours(at: DateTime<Utc>, tz: Tz, quiet: QuietHours) -> DateTime<Utc> {
    let local = at.with_timezone(&tz).naive_local();
    if !quiet.contains(local.time()) {
        return at;
    }
    let began = quiet.began_on(local);
    let ends = if quiet.start > quiet.end {
        began.succ_opt().unwrap_or(began)
    } else {
        began
    };
    resolve(tz, ends.and_time(quiet.end))
}

/// When the reminder `offset` before a visit at `visit` goes out.
pub fn reminder_at(
    visit: DateTime<Utc>,
    offset: Duration,
    tz: Tz,
    quiet: QuietHours,
) -> DateTime<Utc> {
    outside_quiet_hours(visit - offset, tz, quiet)
}

/// The unique-key suffix of a reminder: `24h`, `2h`, or minutes (`90m`).
pub fn offset_label(minutes: i32) -> String {
    if minutes % 60 == 0 {
        format!("{}h", minutes / 60)
    } else {
        format!("{minutes}m")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default()
    }

    #[test]
    fn a_retry_in_quiet_hours_waits_for_their_end() {
        let moscow: Tz = "Europe/Moscow".parse().unwrap_or(Tz::UTC);
        // 23:30 and 02:00 MSK wait for 09:00 MSK (06:00Z) the next morning.
        for at in ["2026-12-07T20:30:00Z", "2026-12-07T23:00:00Z"] {
            assert_eq!(
                after_quiet_hours(utc(at), moscow, quiet()),
                utc("2026-12-08T06:00:00Z"),
                "{at}"
            );
        }
        // 20:59 MSK is not quiet: unchanged.
        let before = utc("2026-12-07T17:59:00Z");
        assert_eq!(after_quiet_hours(before, moscow, quiet()), before);
        // Quiet hours within one day (13:00 to 14:00): their end that day.
        let lunch = QuietHours {
            start: t(13, 0),
            end: t(14, 0),
        };
        assert_eq!(
            after_quiet_hours(utc("2026-12-07T10:30:00Z"), moscow, lunch),
            utc("2026-12-07T11:00:00Z")
        );
    }

    fn quiet() -> QuietHours {
        QuietHours {
            start: t(21, 0),
            end: t(9, 0),
        }
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap_or_default()
    }

    #[test]
    fn reminders_outside_quiet_hours_stay_put() {
        let moscow: Tz = chrono_tz::Europe::Moscow;
        // Visit 15:00 MSK (12:00 UTC): 24 h before is 15:00 the day before.
        let visit = utc("2026-12-10T12:00:00Z");
        assert_eq!(
            reminder_at(visit, Duration::hours(24), moscow, quiet()),
            utc("2026-12-09T12:00:00Z")
        );
        assert_eq!(
            reminder_at(visit, Duration::hours(2), moscow, quiet()),
            utc("2026-12-10T10:00:00Z")
        );
    }

    #[test]
    fn reminders_in_quiet_hours_move_to_the_evening_before() {
        let moscow: Tz = chrono_tz::Europe::Moscow;
        // Visit 10:00 MSK: 2 h before is 08:00 MSK, in quiet hours: moved to
        // 20:45 MSK the evening before (17:45 UTC).
        let visit = utc("2026-12-10T07:00:00Z");
        assert_eq!(
            reminder_at(visit, Duration::hours(2), moscow, quiet()),
            utc("2026-12-09T17:45:00Z")
        );
        // 23:30 MSK is in quiet hours that began at 21:00 the same evening.
        let late = utc("2026-12-09T20:30:00Z");
        assert_eq!(
            outside_quiet_hours(late, moscow, quiet()),
            utc("2026-12-09T17:45:00Z")
        );
        // The boundary: 09:00 is not quiet, 21:00 is.
        assert!(!quiet().contains(t(9, 0)));
        assert!(quiet().contains(t(21, 0)));
        assert!(quiet().contains(t(0, 0)));
    }

    #[test]
    fn quiet_hours_are_local_time_across_a_dst_change() {
        let berlin: Tz = chrono_tz::Europe::Berlin;
        // Clocks go forward on 2026-03-29 at 02:00 CET. Visit 08:00 CEST
        // (06:00 UTC) that morning; 2 h before is 06:00 CEST, quiet: moved to
        // 20:45 CET on the 28th, i.e. 19:45 UTC (not 18:45, which the visit
        // day's +02:00 offset would give).
        let visit = utc("2026-03-29T06:00:00Z");
        assert_eq!(
            reminder_at(visit, Duration::hours(2), berlin, quiet()),
            utc("2026-03-28T19:45:00Z")
        );
        // 24 h before a visit at 10:00 CEST is 09:00 CET on the 28th
        // (08:00 UTC): exactly 24 hours, outside quiet hours.
        let visit = utc("2026-03-29T08:00:00Z");
        assert_eq!(
            reminder_at(visit, Duration::hours(24), berlin, quiet()),
            utc("2026-03-28T08:00:00Z")
        );
        // Clocks go back on 2026-10-25: quiet hours begin at 21:00 CEST on
        // the 24th (19:00 UTC) for a reminder at 07:00 CET on the 25th.
        let visit = utc("2026-10-25T08:00:00Z");
        assert_eq!(
            reminder_at(visit, Duration::hours(2), berlin, quiet()),
            utc("2026-10-24T18:45:00Z")
        );
    }

    #[test]
    fn a_quiet_start_in_a_spring_gap_is_taken_an_hour_later() {
        let berlin: Tz = chrono_tz::Europe::Berlin;
        let odd = QuietHours {
            start: t(2, 30),
            end: t(5, 0),
        };
        // 04:00 CEST on 2026-03-29: quiet began at 02:30, which does not
        // exist that night; 03:30 CEST (01:30 UTC) minus the margin.
        let at = utc("2026-03-29T02:00:00Z");
        assert_eq!(
            outside_quiet_hours(at, berlin, odd),
            utc("2026-03-29T01:15:00Z")
        );
        assert_eq!(offset_label(1440), "24h");
        assert_eq!(offset_label(90), "90m");
    }
}
