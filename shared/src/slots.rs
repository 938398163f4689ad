//! Which appointment start times a doctor can still be booked for.
//!
//! Everything here is a pure function of its arguments: the caller loads the
//! schedule and existing appointments and passes the current instant, so the
//! same inputs always give the same slots (and tests need no clock).
//!
//! Working hours are written in each clinic's local wall-clock time, but
//! appointments happen at real instants. All interval arithmetic is therefore
//! done in UTC, and local times are turned into instants once, with explicit
//! rules for the wall-clock times that daylight-saving changes skip or repeat.

use chrono::{
    DateTime, Datelike, Duration, FixedOffset, MappedLocalTime, NaiveDate, NaiveDateTime,
    NaiveTime, Offset, TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;
use uuid::Uuid;

/// A weekly working interval of a doctor at a clinic, in the clinic's local time.
/// A day with a break is two shifts.
///
/// An `end` at or before `start` means the shift runs past midnight into the
/// next day (`22:00`–`02:00`); `00:00`–`00:00` is a full 24 hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeeklyShift {
    pub clinic: Uuid,
    pub weekday: Weekday,
    pub start: NaiveTime,
    pub end: NaiveTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExceptionKind {
    /// Not working (vacation, sick day): the whole day when start and end are
    /// both `None`, else that local interval. A missing `start` means from
    /// midnight, a missing `end` means until the next midnight.
    Off,
    /// An extra shift on that date (start and end required; ignored if either is `None`).
    Extra,
}

/// A one-off change to the weekly schedule on one local date.
///
/// `Off` removes weekly shifts; `Extra` shifts are added after it, so a day
/// off with an extra evening shift on the same date keeps the evening.
/// Times follow the same past-midnight rule as [`WeeklyShift`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleException {
    /// `None` applies to every clinic of the doctor, each in its own time zone.
    pub clinic: Option<Uuid>,
    pub date: NaiveDate,
    pub start: Option<NaiveTime>,
    pub end: Option<NaiveTime>,
    pub kind: ExceptionKind,
}

/// An existing non-cancelled appointment of the doctor (any clinic), in UTC.
/// An interval whose end is not after its start blocks nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// How slots are cut from working time. A non-positive `duration` or `step`
/// yields no slots rather than an endless or meaningless schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotRules {
    /// Service duration (> 0).
    pub duration: Duration,
    /// Granularity of start times; `None` means back-to-back slots of `duration`.
    pub step: Option<Duration>,
    /// Earliest start = `now + min_lead`.
    pub min_lead: Duration,
    /// Last bookable local date = today (in the clinic's time zone) + `max_days_ahead`.
    pub max_days_ahead: i64,
}

/// A bookable appointment. Offsets are the clinic's UTC offsets at `start`
/// and at `end` respectively, so they can differ across a DST change.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Slot {
    /// RFC 3339 with the clinic's offset at that instant.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "2026-12-01T09:00:00+03:00"))]
    pub start: DateTime<FixedOffset>,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub end: DateTime<FixedOffset>,
    /// The clinic the slot is in.
    pub clinic: Uuid,
}

/// Slots starting on local dates `from..=to` (dates in each clinic's own time
/// zone), sorted by start then clinic.
///
/// Per clinic and date, working time is the weekly shifts of that weekday
/// plus `Extra` exceptions, merged, minus `Off` exceptions. Slots are laid
/// out every `step` of real elapsed time from the start of each remaining
/// interval and must end inside it. Slots overlapping a [`Busy`] interval,
/// starting before `now + min_lead`, or on a date past the booking horizon
/// are dropped.
///
/// Local times that a spring-forward change skips resolve to the first
/// instant after the gap; repeated (fall-back) local times resolve to the
/// earlier instant for a start and the later one for an end, so the doctor's
/// working time is never shortened by the ambiguity.
#[allow(clippy::too_many_arguments)] // the public shape is fixed by the booking API
pub fn available_slots(
    clinics: &[(Uuid, Tz)],
    shifts: &[WeeklyShift],
    exceptions: &[ScheduleException],
    busy: &[Busy],
    from: NaiveDate,
    to: NaiveDate,
    rules: &SlotRules,
    now: DateTime<Utc>,
) -> Vec<Slot> {
    let Some(step) = effective_step(rules) else {
        return Vec::new();
    };
    if from > to {
        return Vec::new();
    }
    let earliest_start = match now.checked_add_signed(rules.min_lead) {
        Some(instant) => Some(instant),
        // Beyond chrono's range: a huge positive lead leaves nothing bookable,
        // a huge negative one means no lower bound at all.
        None if rules.min_lead > Duration::zero() => return Vec::new(),
        None => None,
    };
    let query = Query {
        shifts,
        exceptions,
        busy: merge(
            busy.iter()
                .filter_map(|b| Span::new(b.start, b.end))
                .collect(),
        ),
        from,
        to,
        duration: rules.duration,
        step,
        max_days_ahead: rules.max_days_ahead,
        earliest_start,
        now,
    };

    let mut slots = Vec::new();
    for &(clinic, tz) in clinics {
        query.collect_clinic_slots(clinic, tz, &mut slots);
    }
    slots.sort_by(|a, b| a.start.cmp(&b.start).then_with(|| a.clinic.cmp(&b.clinic)));
    slots
}

/// The offered slot starting at the same instant as `start`, whatever offset
/// `start` was written with, so a client echoing a start in UTC still matches.
pub fn offers(slots: &[Slot], start: DateTime<FixedOffset>) -> Option<&Slot> {
    // `DateTime` equality compares instants, not wall-clock readings.
    slots.iter().find(|slot| slot.start == start)
}

/// The `n` slots whose starts are closest in time to `around`, sorted by
/// start then clinic. Equally distant slots prefer the earlier one, so the
/// suggestion list is deterministic.
pub fn nearest(slots: &[Slot], around: DateTime<Utc>, n: usize) -> Vec<Slot> {
    let mut by_distance: Vec<&Slot> = slots.iter().collect();
    by_distance.sort_by_key(|slot| {
        let distance = slot.start.signed_duration_since(around).abs();
        (distance, slot.start, slot.clinic)
    });
    let mut closest: Vec<Slot> = by_distance.into_iter().take(n).cloned().collect();
    closest.sort_by(|a, b| a.start.cmp(&b.start).then_with(|| a.clinic.cmp(&b.clinic)));
    closest
}

/// `None` when the rules cannot produce a finite, meaningful slot sequence.
fn effective_step(rules: &SlotRules) -> Option<Duration> {
    if rules.duration <= Duration::zero() {
        return None;
    }
    let step = rules.step.unwrap_or(rules.duration);
    (step > Duration::zero()).then_some(step)
}

/// A non-empty half-open interval `[start, end)` of real time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

impl Span {
    fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Option<Span> {
        (start < end).then_some(Span { start, end })
    }
}

/// Sorts and unites spans. Touching spans are joined too, so a service may
/// run across the boundary of two back-to-back shifts.
fn merge(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort_by_key(|span| span.start);
    let mut merged: Vec<Span> = Vec::with_capacity(spans.len());
    for span in spans {
        match merged.last_mut() {
            Some(last) if span.start <= last.end => last.end = last.end.max(span.end),
            _ => merged.push(span),
        }
    }
    merged
}

/// A doctor's intervals in one clinic, by where they come from.
#[derive(Default)]
struct DaySpans {
    weekly: Vec<Span>,
    off: Vec<Span>,
    /// Added after `off` is taken out of `weekly`.
    extra: Vec<Span>,
}

/// `working` minus `off`; both must be sorted and disjoint (as `merge` returns).
fn subtract(working: &[Span], off: &[Span]) -> Vec<Span> {
    let mut open = Vec::new();
    for span in working {
        let mut remaining_start = span.start;
        for cut in off
            .iter()
            .filter(|cut| cut.end > span.start && cut.start < span.end)
        {
            if let Some(piece) = Span::new(remaining_start, cut.start) {
                open.push(piece);
            }
            remaining_start = remaining_start.max(cut.end);
        }
        if let Some(piece) = Span::new(remaining_start, span.end) {
            open.push(piece);
        }
    }
    open
}

/// Half-open overlap test against sorted, disjoint busy spans.
fn overlaps_any(busy: &[Span], start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
    let first_not_ended = busy.partition_point(|b| b.end <= start);
    busy.get(first_not_ended).is_some_and(|b| b.start < end)
}

/// Wall-clock reading of `instant` in `tz`. `DateTime::naive_local` panics at
/// the very edge of chrono's range; this returns `None` there instead.
fn local_reading(tz: Tz, instant: DateTime<Utc>) -> Option<NaiveDateTime> {
    let offset = tz.offset_from_utc_datetime(&instant.naive_utc()).fix();
    instant.naive_utc().checked_add_offset(offset)
}

fn in_clinic_offset(tz: Tz, instant: DateTime<Utc>) -> DateTime<FixedOffset> {
    let offset = tz.offset_from_utc_datetime(&instant.naive_utc()).fix();
    instant.with_timezone(&offset)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    Start,
    End,
}

/// The instant a local wall-clock time denotes, by the DST rules described on
/// [`available_slots`].
fn resolve_local(tz: Tz, local: NaiveDateTime, bound: Bound) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        MappedLocalTime::Single(instant) => Some(instant.with_timezone(&Utc)),
        MappedLocalTime::Ambiguous(first, second) => {
            let (first, second) = (first.with_timezone(&Utc), second.with_timezone(&Utc));
            Some(match bound {
                Bound::Start => first.min(second),
                Bound::End => first.max(second),
            })
        }
        MappedLocalTime::None => first_instant_after_gap(tz, local),
    }
}

/// The transition instant that skips over `local`, i.e. the first instant
/// whose wall-clock reading is past it. chrono-tz only reports that a gap
/// exists, not where it ends, so this bisects real time for the jump.
fn first_instant_after_gap(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    // Every tzdb offset (historic local mean times included) is under 16 h,
    // so the jump lies within this distance of `local` read as if it were UTC.
    const SEARCH_RADIUS_SECONDS: i64 = 26 * 60 * 60;
    let reads_past_local = |seconds: i64| -> Option<bool> {
        let instant = DateTime::from_timestamp(seconds, 0)?;
        Some(local_reading(tz, instant)? > local)
    };
    let pivot = local.and_utc().timestamp();
    // Invariant: the reading at `before` is not past `local`, at `after` it is.
    let mut before = pivot.checked_sub(SEARCH_RADIUS_SECONDS)?;
    let mut after = pivot.checked_add(SEARCH_RADIUS_SECONDS)?;
    if reads_past_local(before)? || !reads_past_local(after)? {
        return None;
    }
    // tzdb transitions fall on whole seconds, so second precision is exact.
    while after - before > 1 {
        let middle = before + (after - before) / 2;
        if reads_past_local(middle)? {
            after = middle;
        } else {
            before = middle;
        }
    }
    DateTime::from_timestamp(after, 0)
}

/// A local interval on `date`; an `end` not after `start` means the next day.
fn local_span(tz: Tz, date: NaiveDate, start: NaiveTime, end: NaiveTime) -> Option<Span> {
    let end_date = if end > start { date } else { date.succ_opt()? };
    let start = resolve_local(tz, date.and_time(start), Bound::Start)?;
    let end = resolve_local(tz, end_date.and_time(end), Bound::End)?;
    // Both ends inside one skipped hour collapse to the same instant: no time.
    Span::new(start, end)
}

fn last_bookable_date(today: NaiveDate, max_days_ahead: i64) -> NaiveDate {
    Duration::try_days(max_days_ahead)
        .and_then(|days| today.checked_add_signed(days))
        // Out of chrono's range means "no horizon" one way or "nothing" the other.
        .unwrap_or(if max_days_ahead >= 0 {
            NaiveDate::MAX
        } else {
            NaiveDate::MIN
        })
}

/// The inputs shared by every clinic, validated once.
struct Query<'a> {
    shifts: &'a [WeeklyShift],
    exceptions: &'a [ScheduleException],
    /// Sorted and disjoint, so each slot is checked by binary search.
    busy: Vec<Span>,
    from: NaiveDate,
    to: NaiveDate,
    duration: Duration,
    step: Duration,
    max_days_ahead: i64,
    earliest_start: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
}

impl Query<'_> {
    fn collect_clinic_slots(&self, clinic: Uuid, tz: Tz, out: &mut Vec<Slot>) {
        let Some(today) = local_reading(tz, self.now).map(|reading| reading.date()) else {
            return;
        };
        let last_date = self.to.min(last_bookable_date(today, self.max_days_ahead));
        // Dates well before the earliest allowed start cannot hold a slot, so
        // a wide `from` does not cost work. One day of slack covers offset
        // jumps, which never exceed a day.
        let earliest_useful_date = self
            .earliest_start
            .and_then(|instant| local_reading(tz, instant))
            .and_then(|reading| reading.date().pred_opt());
        let first_date = match earliest_useful_date {
            Some(date) => self.from.max(date),
            None => self.from,
        };
        if first_date > last_date {
            return;
        }

        // The neighbouring days are included because an overnight interval
        // from the day before can reach into `first_date`, and one from the
        // day after can cut or extend a slot that crosses midnight.
        let window_start = first_date.pred_opt().unwrap_or(first_date);
        let window_end = last_date.succ_opt().unwrap_or(last_date);
        let mut day = DaySpans::default();
        for date in window_start
            .iter_days()
            .take_while(|date| *date <= window_end)
        {
            self.collect_day(clinic, tz, date, &mut day);
        }
        let mut open = subtract(&merge(day.weekly), &merge(day.off));
        open.extend(day.extra);
        let open = merge(open);

        for span in open {
            let mut start = span.start;
            while let Some(end) = start.checked_add_signed(self.duration) {
                if end > span.end {
                    break;
                }
                if self.is_bookable(tz, start, end, last_date) {
                    out.push(Slot {
                        start: in_clinic_offset(tz, start),
                        end: in_clinic_offset(tz, end),
                        clinic,
                    });
                }
                match start.checked_add_signed(self.step) {
                    Some(next) => start = next,
                    None => break,
                }
            }
        }
    }

    fn collect_day(&self, clinic: Uuid, tz: Tz, date: NaiveDate, day: &mut DaySpans) {
        let weekday = date.weekday();
        day.weekly.extend(
            self.shifts
                .iter()
                .filter(|shift| shift.clinic == clinic && shift.weekday == weekday)
                .filter_map(|shift| local_span(tz, date, shift.start, shift.end)),
        );
        let todays_exceptions = self.exceptions.iter().filter(|exception| {
            exception.date == date && exception.clinic.is_none_or(|id| id == clinic)
        });
        for exception in todays_exceptions {
            match exception.kind {
                ExceptionKind::Extra => {
                    if let (Some(start), Some(end)) = (exception.start, exception.end) {
                        day.extra.extend(local_span(tz, date, start, end));
                    }
                }
                ExceptionKind::Off => {
                    // Midnight to midnight is read as "until the next day".
                    let start = exception.start.unwrap_or(NaiveTime::MIN);
                    let end = exception.end.unwrap_or(NaiveTime::MIN);
                    day.off.extend(local_span(tz, date, start, end));
                }
            }
        }
    }

    fn is_bookable(
        &self,
        tz: Tz,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        last_date: NaiveDate,
    ) -> bool {
        if self.earliest_start.is_some_and(|earliest| start < earliest) {
            return false;
        }
        let Some(local_date) = local_reading(tz, start).map(|reading| reading.date()) else {
            return false;
        };
        local_date >= self.from && local_date <= last_date && !overlaps_any(&self.busy, start, end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::{Berlin, Moscow};
    use chrono_tz::Pacific::Auckland;

    fn clinic(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn time(hour: u32, minute: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(hour, minute, 0).unwrap()
    }

    fn date(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).unwrap()
    }

    fn instant(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn shift(clinic: Uuid, weekday: Weekday, start: NaiveTime, end: NaiveTime) -> WeeklyShift {
        WeeklyShift {
            clinic,
            weekday,
            start,
            end,
        }
    }

    fn exception(
        clinic: Option<Uuid>,
        date: NaiveDate,
        start: Option<NaiveTime>,
        end: Option<NaiveTime>,
        kind: ExceptionKind,
    ) -> ScheduleException {
        ScheduleException {
            clinic,
            date,
            start,
            end,
            kind,
        }
    }

    fn busy(start: &str, end: &str) -> Busy {
        Busy {
            start: instant(start),
            end: instant(end),
        }
    }

    fn rules(minutes: i64) -> SlotRules {
        SlotRules {
            duration: Duration::minutes(minutes),
            step: None,
            min_lead: Duration::zero(),
            max_days_ahead: 3650,
        }
    }

    /// Far enough back that neither lead time nor horizon interferes.
    fn long_ago() -> DateTime<Utc> {
        instant("2025-01-01T00:00:00Z")
    }

    fn starts(slots: &[Slot]) -> Vec<String> {
        slots.iter().map(|slot| slot.start.to_rfc3339()).collect()
    }

    fn ends(slots: &[Slot]) -> Vec<String> {
        slots.iter().map(|slot| slot.end.to_rfc3339()).collect()
    }

    /// 2026-03-02 is a Monday; Moscow is +03:00 all year.
    fn monday() -> NaiveDate {
        date(2026, 3, 2)
    }

    /// One Moscow clinic working Monday 09:00-12:00, queried for that Monday.
    fn moscow_morning(
        exceptions: &[ScheduleException],
        busy: &[Busy],
        rules: &SlotRules,
        now: DateTime<Utc>,
    ) -> Vec<Slot> {
        let a = clinic(1);
        available_slots(
            &[(a, Moscow)],
            &[shift(a, Weekday::Mon, time(9, 0), time(12, 0))],
            exceptions,
            busy,
            monday(),
            monday(),
            rules,
            now,
        )
    }

    #[test]
    fn plain_day_gives_back_to_back_slots_with_local_offset() {
        let a = clinic(1);
        let unknown_clinic = clinic(99);
        let slots = available_slots(
            &[(a, Moscow)],
            &[
                shift(a, Weekday::Mon, time(9, 0), time(12, 0)),
                // A clinic missing from `clinics` has no time zone: ignored.
                shift(unknown_clinic, Weekday::Mon, time(13, 0), time(14, 0)),
            ],
            &[],
            &[],
            monday(),
            date(2026, 3, 3),
            &rules(30),
            long_ago(),
        );
        assert_eq!(
            starts(&slots),
            [
                "2026-03-02T09:00:00+03:00",
                "2026-03-02T09:30:00+03:00",
                "2026-03-02T10:00:00+03:00",
                "2026-03-02T10:30:00+03:00",
                "2026-03-02T11:00:00+03:00",
                "2026-03-02T11:30:00+03:00",
            ]
        );
        assert_eq!(ends(&slots).last().unwrap(), "2026-03-02T12:00:00+03:00");
        assert_eq!(slots[0].start, instant("2026-03-02T06:00:00Z"));
        assert!(slots.iter().all(|slot| slot.clinic == a));
    }

    #[test]
    fn break_between_shifts_has_no_slots() {
        let a = clinic(1);
        let slots = available_slots(
            &[(a, Moscow)],
            &[
                shift(a, Weekday::Mon, time(9, 0), time(12, 0)),
                shift(a, Weekday::Mon, time(13, 0), time(17, 0)),
            ],
            &[],
            &[],
            monday(),
            monday(),
            &rules(60),
            long_ago(),
        );
        assert_eq!(
            starts(&slots),
            [
                "2026-03-02T09:00:00+03:00",
                "2026-03-02T10:00:00+03:00",
                "2026-03-02T11:00:00+03:00",
                "2026-03-02T13:00:00+03:00",
                "2026-03-02T14:00:00+03:00",
                "2026-03-02T15:00:00+03:00",
                "2026-03-02T16:00:00+03:00",
            ]
        );
    }

    #[test]
    fn whole_day_off_removes_that_day_only() {
        let a = clinic(1);
        let next_monday = date(2026, 3, 9);
        let slots = available_slots(
            &[(a, Moscow)],
            &[shift(a, Weekday::Mon, time(9, 0), time(11, 0))],
            &[exception(Some(a), monday(), None, None, ExceptionKind::Off)],
            &[],
            monday(),
            next_monday,
            &rules(60),
            long_ago(),
        );
        assert_eq!(
            starts(&slots),
            ["2026-03-09T09:00:00+03:00", "2026-03-09T10:00:00+03:00"]
        );
    }

    #[test]
    fn off_exception_scope_follows_its_clinic() {
        let (a, b) = (clinic(1), clinic(2));
        let next_monday = date(2026, 3, 9);
        let slots = available_slots(
            &[(a, Moscow), (b, Moscow)],
            &[
                shift(a, Weekday::Mon, time(9, 0), time(10, 0)),
                shift(b, Weekday::Mon, time(9, 0), time(10, 0)),
            ],
            &[
                // Every clinic is closed for the doctor on the first Monday...
                exception(None, monday(), None, None, ExceptionKind::Off),
                // ...and only clinic `a` on the second one.
                exception(Some(a), next_monday, None, None, ExceptionKind::Off),
            ],
            &[],
            monday(),
            next_monday,
            &rules(60),
            long_ago(),
        );
        assert_eq!(starts(&slots), ["2026-03-09T09:00:00+03:00"]);
        assert_eq!(slots[0].clinic, b);
    }

    #[test]
    fn partial_off_removes_just_those_slots() {
        let slots = moscow_morning(
            &[exception(
                None,
                monday(),
                Some(time(10, 0)),
                Some(time(11, 0)),
                ExceptionKind::Off,
            )],
            &[],
            &rules(30),
            long_ago(),
        );
        assert_eq!(
            starts(&slots),
            [
                "2026-03-02T09:00:00+03:00",
                "2026-03-02T09:30:00+03:00",
                "2026-03-02T11:00:00+03:00",
                "2026-03-02T11:30:00+03:00",
            ]
        );
    }

    #[test]
    fn off_with_only_a_start_closes_the_rest_of_the_day() {
        let slots = moscow_morning(
            &[exception(
                None,
                monday(),
                Some(time(10, 30)),
                None,
                ExceptionKind::Off,
            )],
            &[],
            &rules(30),
            long_ago(),
        );
        assert_eq!(
            starts(&slots),
            [
                "2026-03-02T09:00:00+03:00",
                "2026-03-02T09:30:00+03:00",
                "2026-03-02T10:00:00+03:00",
            ]
        );
    }

    #[test]
    fn a_whole_day_off_keeps_an_extra_shift_of_the_same_day() {
        let a = clinic(1);
        let slots = available_slots(
            &[(a, Moscow)],
            &[shift(a, Weekday::Mon, time(9, 0), time(12, 0))],
            &[
                exception(Some(a), monday(), None, None, ExceptionKind::Off),
                exception(
                    Some(a),
                    monday(),
                    Some(time(18, 0)),
                    Some(time(19, 0)),
                    ExceptionKind::Extra,
                ),
            ],
            &[],
            monday(),
            monday(),
            &rules(30),
            long_ago(),
        );
        assert_eq!(
            starts(&slots),
            ["2026-03-02T18:00:00+03:00", "2026-03-02T18:30:00+03:00"]
        );
    }

    #[test]
    fn extra_shift_on_a_sunday_adds_slots() {
        let (a, other) = (clinic(1), clinic(2));
        let sunday = date(2026, 3, 8);
        let slots = available_slots(
            &[(a, Moscow)],
            &[shift(a, Weekday::Mon, time(9, 0), time(12, 0))],
            &[
                exception(
                    None,
                    sunday,
                    Some(time(10, 0)),
                    Some(time(12, 0)),
                    ExceptionKind::Extra,
                ),
                // Without both times an extra shift has no extent: ignored.
                exception(None, sunday, Some(time(14, 0)), None, ExceptionKind::Extra),
                // Another clinic's extra shift does not open this one.
                exception(
                    Some(other),
                    sunday,
                    Some(time(16, 0)),
                    Some(time(17, 0)),
                    ExceptionKind::Extra,
                ),
            ],
            &[],
            sunday,
            sunday,
            &rules(30),
            long_ago(),
        );
        assert_eq!(
            starts(&slots),
            [
                "2026-03-08T10:00:00+03:00",
                "2026-03-08T10:30:00+03:00",
                "2026-03-08T11:00:00+03:00",
                "2026-03-08T11:30:00+03:00",
            ]
        );
    }

    #[test]
    fn overlapping_shifts_merge_into_one_interval() {
        let a = clinic(1);
        let slots = available_slots(
            &[(a, Moscow)],
            &[
                shift(a, Weekday::Mon, time(9, 0), time(11, 0)),
                shift(a, Weekday::Mon, time(10, 0), time(12, 0)),
            ],
            &[exception(
                Some(a),
                monday(),
                Some(time(9, 0)),
                Some(time(12, 0)),
                ExceptionKind::Extra,
            )],
            &[],
            monday(),
            monday(),
            &rules(45),
            long_ago(),
        );
        // One 09:00-12:00 interval stepped from 09:00, no duplicates.
        assert_eq!(
            starts(&slots),
            [
                "2026-03-02T09:00:00+03:00",
                "2026-03-02T09:45:00+03:00",
                "2026-03-02T10:30:00+03:00",
                "2026-03-02T11:15:00+03:00",
            ]
        );
    }

    #[test]
    fn back_to_back_shifts_join_so_a_service_can_span_them() {
        let a = clinic(1);
        let slots = available_slots(
            &[(a, Moscow)],
            &[
                shift(a, Weekday::Mon, time(9, 0), time(10, 0)),
                shift(a, Weekday::Mon, time(10, 0), time(12, 0)),
            ],
            &[],
            &[],
            monday(),
            monday(),
            &rules(45),
            long_ago(),
        );
        // Stepped from 09:00 across 10:00, not restarted at 10:00.
        assert_eq!(
            starts(&slots),
            [
                "2026-03-02T09:00:00+03:00",
                "2026-03-02T09:45:00+03:00",
                "2026-03-02T10:30:00+03:00",
                "2026-03-02T11:15:00+03:00",
            ]
        );
    }

    #[test]
    fn bookings_remove_exactly_the_overlapping_slots() {
        let slots = moscow_morning(
            &[],
            &[
                // Ends exactly when 09:00 starts: half-open, no overlap.
                busy("2026-03-02T08:00:00+03:00", "2026-03-02T09:00:00+03:00"),
                // Exactly the 09:30 slot; touching 10:00 stays free.
                busy("2026-03-02T06:30:00Z", "2026-03-02T07:00:00Z"),
                // 30 minutes straddling 10:30 and 11:00 blocks both.
                busy("2026-03-02T10:45:00+03:00", "2026-03-02T11:15:00+03:00"),
                // Reversed interval is malformed data and blocks nothing.
                busy("2026-03-02T11:40:00+03:00", "2026-03-02T11:35:00+03:00"),
            ],
            &rules(30),
            long_ago(),
        );
        assert_eq!(
            starts(&slots),
            [
                "2026-03-02T09:00:00+03:00",
                "2026-03-02T10:00:00+03:00",
                "2026-03-02T11:30:00+03:00",
            ]
        );
    }

    #[test]
    fn booking_at_one_clinic_blocks_the_doctor_at_another() {
        let (a, b) = (clinic(1), clinic(2));
        let slots = available_slots(
            &[(a, Moscow), (b, Berlin)],
            &[
                shift(a, Weekday::Mon, time(9, 0), time(10, 0)),
                // 07:00+01:00 is the same instant as 09:00+03:00.
                shift(b, Weekday::Mon, time(7, 0), time(9, 0)),
            ],
            &[],
            &[busy("2026-03-02T06:00:00Z", "2026-03-02T07:00:00Z")],
            monday(),
            monday(),
            &rules(60),
            long_ago(),
        );
        assert_eq!(starts(&slots), ["2026-03-02T08:00:00+01:00"]);
        assert_eq!(slots[0].clinic, b);
    }

    #[test]
    fn service_not_dividing_the_shift_leaves_the_remainder_unused() {
        let a = clinic(1);
        let shifts = [shift(a, Weekday::Mon, time(9, 0), time(11, 0))];
        let back_to_back = available_slots(
            &[(a, Moscow)],
            &shifts,
            &[],
            &[],
            monday(),
            monday(),
            &rules(45),
            long_ago(),
        );
        assert_eq!(
            starts(&back_to_back),
            ["2026-03-02T09:00:00+03:00", "2026-03-02T09:45:00+03:00"]
        );
        assert_eq!(ends(&back_to_back)[1], "2026-03-02T10:30:00+03:00");

        let fine_grained = SlotRules {
            step: Some(Duration::minutes(15)),
            ..rules(45)
        };
        let stepped = available_slots(
            &[(a, Moscow)],
            &shifts,
            &[],
            &[],
            monday(),
            monday(),
            &fine_grained,
            long_ago(),
        );
        assert_eq!(
            starts(&stepped),
            [
                "2026-03-02T09:00:00+03:00",
                "2026-03-02T09:15:00+03:00",
                "2026-03-02T09:30:00+03:00",
                "2026-03-02T09:45:00+03:00",
                "2026-03-02T10:00:00+03:00",
                "2026-03-02T10:15:00+03:00",
            ]
        );
    }

    #[test]
    fn min_lead_drops_slots_starting_too_soon() {
        let soon = SlotRules {
            min_lead: Duration::hours(1),
            ..rules(30)
        };
        // 09:00 local now; one hour lead makes 10:00 the earliest start, inclusive.
        let slots = moscow_morning(&[], &[], &soon, instant("2026-03-02T06:00:00Z"));
        assert_eq!(
            starts(&slots),
            [
                "2026-03-02T10:00:00+03:00",
                "2026-03-02T10:30:00+03:00",
                "2026-03-02T11:00:00+03:00",
                "2026-03-02T11:30:00+03:00",
            ]
        );
    }

    #[test]
    fn max_days_ahead_counts_from_today_in_the_clinic_zone() {
        let a = clinic(1);
        let shifts = [Weekday::Mon, Weekday::Tue, Weekday::Wed]
            .map(|weekday| shift(a, weekday, time(9, 0), time(10, 0)));
        // Still Sunday in UTC, already Monday 01:00 in Moscow.
        let now = instant("2026-03-01T22:00:00Z");
        let horizon = |max_days_ahead| {
            let limited = SlotRules {
                max_days_ahead,
                ..rules(60)
            };
            available_slots(
                &[(a, Moscow)],
                &shifts,
                &[],
                &[],
                monday(),
                date(2026, 3, 4),
                &limited,
                now,
            )
        };
        assert_eq!(
            starts(&horizon(1)),
            ["2026-03-02T09:00:00+03:00", "2026-03-03T09:00:00+03:00"]
        );
        assert_eq!(starts(&horizon(0)), ["2026-03-02T09:00:00+03:00"]);
    }

    #[test]
    fn spring_forward_counts_real_hours() {
        let a = clinic(1);
        let sunday = date(2026, 3, 29);
        let slots = available_slots(
            &[(a, Berlin)],
            &[shift(a, Weekday::Sun, time(1, 0), time(5, 0))],
            &[],
            &[],
            sunday,
            sunday,
            &rules(60),
            long_ago(),
        );
        assert_eq!(
            starts(&slots),
            [
                "2026-03-29T01:00:00+01:00",
                "2026-03-29T03:00:00+02:00",
                "2026-03-29T04:00:00+02:00",
            ]
        );
        // The first slot lasts one real hour across the jump.
        assert_eq!(
            ends(&slots),
            [
                "2026-03-29T03:00:00+02:00",
                "2026-03-29T04:00:00+02:00",
                "2026-03-29T05:00:00+02:00",
            ]
        );
    }

    fn berlin_sunday(day: NaiveDate, start: NaiveTime, end: NaiveTime, minutes: i64) -> Vec<Slot> {
        let a = clinic(1);
        available_slots(
            &[(a, Berlin)],
            &[shift(a, Weekday::Sun, start, end)],
            &[],
            &[],
            day,
            day,
            &rules(minutes),
            long_ago(),
        )
    }

    #[test]
    fn times_in_the_spring_gap_resolve_to_the_end_of_the_gap() {
        let sunday = date(2026, 3, 29);
        // 02:30 does not exist; work starts at the first real instant after it.
        assert_eq!(
            starts(&berlin_sunday(sunday, time(2, 30), time(5, 0), 60)),
            ["2026-03-29T03:00:00+02:00", "2026-03-29T04:00:00+02:00"]
        );
        // An end at 02:30 means 03:00+02:00, two real hours after midnight.
        let ending_in_gap = berlin_sunday(sunday, time(0, 0), time(2, 30), 60);
        assert_eq!(
            starts(&ending_in_gap),
            ["2026-03-29T00:00:00+01:00", "2026-03-29T01:00:00+01:00"]
        );
        assert_eq!(ends(&ending_in_gap)[1], "2026-03-29T03:00:00+02:00");
        // A shift lying wholly inside the gap has no real time at all.
        assert!(berlin_sunday(sunday, time(2, 10), time(2, 50), 10).is_empty());
    }

    #[test]
    fn fall_back_counts_the_repeated_hour_twice() {
        let sunday = date(2026, 10, 25);
        assert_eq!(
            starts(&berlin_sunday(sunday, time(1, 0), time(4, 0), 60)),
            [
                "2026-10-25T01:00:00+02:00",
                "2026-10-25T02:00:00+02:00",
                "2026-10-25T02:00:00+01:00",
                "2026-10-25T03:00:00+01:00",
            ]
        );
    }

    #[test]
    fn ambiguous_times_widen_the_shift() {
        let sunday = date(2026, 10, 25);
        // An ambiguous end is the later 02:30, so the whole repeated hour is worked.
        assert_eq!(
            starts(&berlin_sunday(sunday, time(1, 0), time(2, 30), 30)),
            [
                "2026-10-25T01:00:00+02:00",
                "2026-10-25T01:30:00+02:00",
                "2026-10-25T02:00:00+02:00",
                "2026-10-25T02:30:00+02:00",
                "2026-10-25T02:00:00+01:00",
            ]
        );
        // An ambiguous start is the earlier 02:30.
        assert_eq!(
            starts(&berlin_sunday(sunday, time(2, 30), time(4, 0), 60)),
            ["2026-10-25T02:30:00+02:00", "2026-10-25T02:30:00+01:00"]
        );
    }

    #[test]
    fn overnight_shift_slots_belong_to_their_own_local_dates() {
        let a = clinic(1);
        let shifts = [shift(a, Weekday::Mon, time(22, 0), time(2, 0))];
        let on = |day: NaiveDate| {
            available_slots(
                &[(a, Moscow)],
                &shifts,
                &[],
                &[],
                day,
                day,
                &rules(60),
                long_ago(),
            )
        };
        assert_eq!(
            starts(&on(monday())),
            ["2026-03-02T22:00:00+03:00", "2026-03-02T23:00:00+03:00"]
        );
        assert_eq!(
            starts(&on(date(2026, 3, 3))),
            ["2026-03-03T00:00:00+03:00", "2026-03-03T01:00:00+03:00"]
        );
    }

    #[test]
    fn clinics_in_different_zones_use_their_own_local_dates() {
        let (moscow_clinic, auckland_clinic) = (clinic(1), clinic(2));
        let slots = available_slots(
            &[(moscow_clinic, Moscow), (auckland_clinic, Auckland)],
            &[
                shift(moscow_clinic, Weekday::Mon, time(9, 0), time(11, 0)),
                shift(auckland_clinic, Weekday::Mon, time(9, 0), time(11, 0)),
            ],
            &[],
            &[],
            monday(),
            monday(),
            &rules(60),
            long_ago(),
        );
        // Auckland's Monday morning is still Sunday in UTC, so it sorts first.
        assert_eq!(
            starts(&slots),
            [
                "2026-03-02T09:00:00+13:00",
                "2026-03-02T10:00:00+13:00",
                "2026-03-02T09:00:00+03:00",
                "2026-03-02T10:00:00+03:00",
            ]
        );
        assert_eq!(slots[0].start, instant("2026-03-01T20:00:00Z"));
        let clinics: Vec<Uuid> = slots.iter().map(|slot| slot.clinic).collect();
        assert_eq!(
            clinics,
            [
                auckland_clinic,
                auckland_clinic,
                moscow_clinic,
                moscow_clinic
            ]
        );
    }

    #[test]
    fn equal_starts_are_ordered_by_clinic() {
        let (low, high) = (clinic(1), clinic(2));
        let slots = available_slots(
            &[(high, Moscow), (low, Moscow)],
            &[
                shift(high, Weekday::Mon, time(9, 0), time(10, 0)),
                shift(low, Weekday::Mon, time(9, 0), time(10, 0)),
            ],
            &[],
            &[],
            monday(),
            monday(),
            &rules(30),
            long_ago(),
        );
        let order: Vec<Uuid> = slots.iter().map(|slot| slot.clinic).collect();
        assert_eq!(order, [low, high, low, high]);
    }

    #[test]
    fn invalid_rules_give_no_slots() {
        let zero_duration = SlotRules {
            duration: Duration::zero(),
            ..rules(30)
        };
        let negative_duration = SlotRules {
            duration: Duration::minutes(-30),
            ..rules(30)
        };
        let zero_step = SlotRules {
            step: Some(Duration::zero()),
            ..rules(30)
        };
        for broken in [zero_duration, negative_duration, zero_step] {
            assert!(moscow_morning(&[], &[], &broken, long_ago()).is_empty());
        }
        let a = clinic(1);
        let reversed_range = available_slots(
            &[(a, Moscow)],
            &[shift(a, Weekday::Mon, time(9, 0), time(12, 0))],
            &[],
            &[],
            date(2026, 3, 3),
            monday(),
            &rules(30),
            long_ago(),
        );
        assert!(reversed_range.is_empty());
    }

    #[test]
    fn offers_matches_the_instant_whatever_the_offset() {
        let slots = moscow_morning(&[], &[], &rules(30), long_ago());
        let same_instant = DateTime::parse_from_rfc3339("2026-03-02T10:00:00+04:00").unwrap();
        let offered = offers(&slots, same_instant).unwrap();
        assert_eq!(offered.start.to_rfc3339(), "2026-03-02T09:00:00+03:00");
        let in_utc = DateTime::parse_from_rfc3339("2026-03-02T07:30:00Z").unwrap();
        assert_eq!(
            offers(&slots, in_utc).unwrap().start.to_rfc3339(),
            "2026-03-02T10:30:00+03:00"
        );
        let between_slots = DateTime::parse_from_rfc3339("2026-03-02T09:15:00+03:00").unwrap();
        assert_eq!(offers(&slots, between_slots), None);
    }

    #[test]
    fn nearest_returns_the_closest_slots_sorted() {
        let slots = moscow_morning(&[], &[], &rules(30), long_ago());
        // 10:10 local: 10:00 is 10 min away, 10:30 is 20, 09:30 is 40, 11:00 is 50.
        let around = instant("2026-03-02T10:10:00+03:00");
        assert_eq!(
            starts(&nearest(&slots, around, 3)),
            [
                "2026-03-02T09:30:00+03:00",
                "2026-03-02T10:00:00+03:00",
                "2026-03-02T10:30:00+03:00",
            ]
        );
        // Equally distant neighbours: the earlier one wins.
        let midway = instant("2026-03-02T10:15:00+03:00");
        assert_eq!(
            starts(&nearest(&slots, midway, 1)),
            ["2026-03-02T10:00:00+03:00"]
        );
        let late = instant("2026-03-02T20:00:00+03:00");
        assert_eq!(
            starts(&nearest(&slots, late, 2)),
            ["2026-03-02T11:00:00+03:00", "2026-03-02T11:30:00+03:00"]
        );
        assert!(nearest(&slots, around, 0).is_empty());
        assert_eq!(nearest(&slots, around, 100), slots);
    }
}
