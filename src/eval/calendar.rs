//! UTC calendar fields of Unix seconds, for `hour()`, `day_of_week()` and
//! the other date functions, with Prometheus's (Go's) answers for values
//! no calendar holds: NaN, infinities and seconds beyond ±2^63 become the
//! smallest int64, and Go's `time` package counts from a year so far back
//! that every int64 second has a date after it (wrapping beyond that).

/// Seconds from Go's absolute zero (1 January of year -292277022399, the
/// start of a 400-year cycle) to the Unix epoch, modulo 2^64.
const UNIX_TO_ABSOLUTE: u64 = 9_223_372_028_715_321_600;
const ABSOLUTE_ZERO_YEAR: i64 = -292_277_022_399;
const DAY: u64 = 86_400;
const DAYS_PER_400_YEARS: u64 = 146_097;
const DAYS_PER_100_YEARS: u64 = 36_524;
const DAYS_PER_4_YEARS: u64 = 1_461;

/// Go's `int64(v)` on amd64: truncation, or the smallest int64 when `v`
/// is NaN or out of range.
pub(crate) fn go_int64(v: f64) -> i64 {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if v.is_nan() || !(-LIMIT..LIMIT).contains(&v) {
        i64::MIN
    } else {
        v as i64
    }
}

/// The fields of one instant.
pub(crate) struct Date {
    pub year: i64,
    /// 1..=12.
    pub month: u32,
    /// 1..=31.
    pub day: u32,
    /// 1..=366.
    pub day_of_year: u32,
    /// 0 (Sunday)..=6.
    pub weekday: u32,
    pub hour: u32,
    pub minute: u32,
}

pub(crate) fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

pub(crate) fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The UTC date of `secs` seconds after the Unix epoch.
pub(crate) fn date(secs: i64) -> Date {
    let abs = (secs as u64).wrapping_add(UNIX_TO_ABSOLUTE);
    let of_day = abs % DAY;
    // The absolute zero was a Monday; Go adds that day before wrapping.
    let weekday = (abs.wrapping_add(DAY) % (7 * DAY) / DAY) as u32;
    let mut d = abs / DAY;
    let cycles = d / DAYS_PER_400_YEARS;
    d -= cycles * DAYS_PER_400_YEARS;
    // A century has one leap day less than 25 four-year spans, except the
    // 400-year cycle's last, whose last day would count as a fifth century.
    let centuries = (d / DAYS_PER_100_YEARS).min(3);
    d -= centuries * DAYS_PER_100_YEARS;
    let spans = d / DAYS_PER_4_YEARS;
    d -= spans * DAYS_PER_4_YEARS;
    let years = (d / 365).min(3);
    d -= years * 365;
    let offset = cycles * 400 + centuries * 100 + spans * 4 + years;
    let year = ABSOLUTE_ZERO_YEAR.saturating_add(offset as i64);
    let day_of_year = d as u32 + 1;
    let mut month = 1;
    let mut left = d as u32;
    while month < 12 && left >= days_in_month(year, month) {
        left -= days_in_month(year, month);
        month += 1;
    }
    Date {
        year,
        month,
        day: left + 1,
        day_of_year,
        weekday,
        hour: (of_day / 3600) as u32,
        minute: (of_day % 3600 / 60) as u32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_of_ordinary_and_extreme_seconds() {
        let d = date(0);
        assert_eq!(
            (d.year, d.month, d.day, d.weekday, d.hour),
            (1970, 1, 1, 4, 0)
        );
        let d = date(1_700_001_000);
        assert_eq!((d.year, d.month, d.day), (2023, 11, 14));
        assert_eq!(
            (d.day_of_year, d.weekday, d.hour, d.minute),
            (318, 2, 22, 30)
        );
        let d = date(-1);
        assert_eq!((d.year, d.month, d.day, d.hour), (1969, 12, 31, 23));
        let d = date(951_782_400); // 2000-02-29
        assert_eq!((d.month, d.day, d.day_of_year), (2, 29, 60));
        assert_eq!(days_in_month(2000, 2), 29);
        assert_eq!(days_in_month(2100, 2), 28);
        // What Prometheus 2.42 answers for hour(+Inf), year(-Inf), day_of_week(NaN).
        let d = date(go_int64(f64::INFINITY));
        assert_eq!((d.hour, d.year, d.weekday), (15, 292_277_026_596, 0));
        assert_eq!(go_int64(f64::NAN), i64::MIN);
        assert_eq!(go_int64(-1.9), -1);
    }
}
