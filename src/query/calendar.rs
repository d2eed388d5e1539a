//! The England and Wales working-day calendar: weekdays that are not bank holidays.
//!
//! The bank holidays are the shipped `schemas/reference/data/bank_holidays.csv` (division
//! `england-and-wales`), embedded in the binary and parsed once. Dates are Arrow `Date32` values:
//! days since 1970-01-01, so the arithmetic here never leaves integers.
//!
//! Conventions (the DfE's, for "within 45 working days"):
//! - `working_days(start, end)` counts the working days *after* `start`, up to and *including*
//!   `end`: a referral on Friday and an assessment authorised the next Monday is 1 working day;
//!   the same day is 0. An assessment is within 45 working days when `working_days(referral,
//!   authorised) <= 45`. With `start > end` the count is negative: `-working_days(end, start)`.
//! - `add_working_days(date, n)` is the `n`-th working day after `date` (before it when `n` is
//!   negative); `n = 0` gives `date` itself, working day or not. For `n > 0`,
//!   `working_days(date, add_working_days(date, n)) == n`.
//! - Outside the years the list covers, only weekends are non-working days.

use std::sync::{Arc, LazyLock};

use chrono::{Datelike, NaiveDate};

/// The shipped bank holiday list, as embedded in the binary.
pub const SHIPPED_CSV: &str = include_str!("../../schemas/reference/data/bank_holidays.csv");

/// Days from 0001-01-01 (chrono's day 1 of the common era) to 1970-01-01.
const UNIX_EPOCH_FROM_CE: i32 = 719_163;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Calendar {
    /// Bank holidays that fall on a weekday, as `Date32` days, sorted and distinct.
    holidays: Vec<i32>,
    /// First and last calendar years the list covers.
    pub first_year: i32,
    pub last_year: i32,
    /// A short digest of the list, for model fingerprints.
    pub digest: String,
}

static SHIPPED: LazyLock<Arc<Calendar>> =
    LazyLock::new(|| Arc::new(Calendar::from_csv(SHIPPED_CSV).expect("the shipped bank holiday list parses")));

pub fn to_date(days: i32) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(days.checked_add(UNIX_EPOCH_FROM_CE)?)
}

pub fn from_date(d: NaiveDate) -> i32 {
    d.num_days_from_ce() - UNIX_EPOCH_FROM_CE
}

/// 0 = Monday … 6 = Sunday (1970-01-01 was a Thursday).
pub fn weekday(days: i32) -> i32 {
    (days + 3).rem_euclid(7)
}

pub fn is_weekend(days: i32) -> bool {
    weekday(days) >= 5
}

/// Weekdays on or before `days`, counted from an arbitrary Monday: differences of this count
/// weekdays in a half-open range.
fn weekdays_through(days: i64) -> i64 {
    let a = days + 3; // 0 on Monday 1969-12-29
    5 * a.div_euclid(7) + (a.rem_euclid(7) + 1).min(5)
}

/// The `k`-th weekday after `days` (`k >= 1`), ignoring holidays.
fn add_weekdays(days: i32, k: i64) -> i64 {
    // from a weekend, counting starts as from the Friday before
    let d = days as i64 - (weekday(days) - 4).max(0) as i64;
    let w = weekday(d as i32) as i64;
    let (q, r) = ((k - 1).div_euclid(5), (k - 1).rem_euclid(5) + 1);
    d + 7 * q + r + if w + r > 4 { 2 } else { 0 }
}

/// The `k`-th weekday before `days` (`k >= 1`), ignoring holidays.
fn sub_weekdays(days: i32, k: i64) -> i64 {
    // from a weekend, counting starts as from the Monday after
    let d = days as i64 + if weekday(days) >= 5 { (7 - weekday(days)) as i64 } else { 0 };
    let w = weekday(d as i32) as i64;
    let (q, r) = ((k - 1).div_euclid(5), (k - 1).rem_euclid(5) + 1);
    d - 7 * q - r - if w - r < 0 { 2 } else { 0 }
}

#[derive(Debug, thiserror::Error)]
#[error("bank holiday list, line {line}: {message}")]
pub struct CalendarError {
    pub line: usize,
    pub message: String,
}

impl Calendar {
    /// The shipped England and Wales list, parsed once per process.
    pub fn shipped() -> Arc<Calendar> {
        SHIPPED.clone()
    }

    /// A bank holiday CSV with a `date` column (ISO `YYYY-MM-DD`) and, optionally, a `division`
    /// column, of which only `england-and-wales` rows are kept.
    pub fn from_csv(text: &str) -> Result<Calendar, CalendarError> {
        let mut r = csv::ReaderBuilder::new().flexible(true).from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        let header = r.headers().map_err(|e| CalendarError { line: 1, message: e.to_string() })?.clone();
        let col = |n: &str| header.iter().position(|h| h.trim().eq_ignore_ascii_case(n));
        let date_col = col("date").ok_or_else(|| CalendarError { line: 1, message: "no `date` column".into() })?;
        let division_col = col("division");
        let mut all = vec![];
        for (i, rec) in r.records().enumerate() {
            let line = i + 2;
            let rec = rec.map_err(|e| CalendarError { line, message: e.to_string() })?;
            if division_col.and_then(|c| rec.get(c)).is_some_and(|d| !d.trim().is_empty() && d.trim() != "england-and-wales") {
                continue;
            }
            let text = rec.get(date_col).unwrap_or("").trim();
            let d = NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map_err(|_| CalendarError { line, message: format!("`{text}` is not a date (YYYY-MM-DD)") })?;
            all.push(d);
        }
        if all.is_empty() {
            return Err(CalendarError { line: 1, message: "no England and Wales bank holidays".into() });
        }
        Ok(Calendar::from_dates(&all))
    }

    pub fn from_dates(dates: &[NaiveDate]) -> Calendar {
        let first_year = dates.iter().map(|d| d.year()).min().unwrap_or(0);
        let last_year = dates.iter().map(|d| d.year()).max().unwrap_or(0);
        let mut holidays: Vec<i32> = dates.iter().map(|d| from_date(*d)).filter(|d| !is_weekend(*d)).collect();
        holidays.sort_unstable();
        holidays.dedup();
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        for d in &holidays {
            h.update(d.to_le_bytes());
        }
        let digest = hex::encode(&h.finalize()[..8]);
        Calendar { holidays, first_year, last_year, digest }
    }

    pub fn is_holiday(&self, days: i32) -> bool {
        self.holidays.binary_search(&days).is_ok()
    }

    pub fn is_working_day(&self, days: i32) -> bool {
        !is_weekend(days) && !self.is_holiday(days)
    }

    /// Weekday holidays in `(a, b]`.
    fn holidays_in(&self, a: i64, b: i64) -> i64 {
        let lo = self.holidays.partition_point(|&h| (h as i64) <= a);
        let hi = self.holidays.partition_point(|&h| (h as i64) <= b);
        hi.saturating_sub(lo) as i64
    }

    /// Working days after `start` up to and including `end`; negative when `start > end`.
    pub fn working_days(&self, start: i32, end: i32) -> i64 {
        if start > end {
            return -self.working_days(end, start);
        }
        let (a, b) = (start as i64, end as i64);
        weekdays_through(b) - weekdays_through(a) - self.holidays_in(a, b)
    }

    /// The `n`-th working day after `date` (before it for negative `n`); `date` itself for 0.
    /// `None` when the result is outside the range of a date.
    pub fn add_working_days(&self, date: i32, n: i64) -> Option<i32> {
        let mut cur = date as i64;
        let mut remaining = n.abs();
        while remaining > 0 {
            let c = i32::try_from(cur).ok()?;
            let next = if n > 0 { add_weekdays(c, remaining) } else { sub_weekdays(c, remaining) };
            // holidays passed over on the way must be made up
            remaining = if n > 0 { self.holidays_in(cur, next) } else { self.holidays_in(next - 1, cur - 1) };
            cur = next;
        }
        i32::try_from(cur).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> i32 {
        from_date(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap())
    }

    fn brute_working_days(c: &Calendar, s: i32, e: i32) -> i64 {
        if s > e {
            return -brute_working_days(c, e, s);
        }
        ((s + 1)..=e).filter(|x| c.is_working_day(*x)).count() as i64
    }

    fn brute_add(c: &Calendar, date: i32, n: i64) -> i32 {
        let (mut cur, mut left) = (date, n.abs());
        while left > 0 {
            cur += n.signum() as i32;
            if c.is_working_day(cur) {
                left -= 1;
            }
        }
        cur
    }

    #[test]
    fn the_shipped_list_covers_2015_to_2030_with_the_one_off_days() {
        let c = Calendar::shipped();
        assert_eq!((c.first_year, c.last_year), (2015, 2030));
        for day in ["2020-05-08", "2022-06-02", "2022-06-03", "2022-09-19", "2023-05-08", "2024-12-25", "2024-12-26", "2021-12-27", "2021-12-28"] {
            assert!(c.is_holiday(d(day)), "{day}");
        }
        // the spring bank holiday moved in 2022, and VE day replaced the early May one in 2020
        assert!(!c.is_holiday(d("2022-05-30")));
        assert!(!c.is_holiday(d("2020-05-04")));
        assert!(c.is_working_day(d("2024-03-28")) && !c.is_working_day(d("2024-03-29")) && !c.is_working_day(d("2024-03-30")));
    }

    #[test]
    fn weekdays_and_conversion() {
        assert_eq!(weekday(0), 3); // Thursday
        assert_eq!(weekday(d("2024-02-29")), 3);
        assert_eq!(weekday(d("1969-12-29")), 0);
        assert_eq!(to_date(d("2024-02-29")).unwrap().to_string(), "2024-02-29");
    }

    #[test]
    fn working_days_count_after_start_through_end() {
        let c = Calendar::shipped();
        // Friday to Monday: one working day; same day: none
        assert_eq!(c.working_days(d("2024-03-01"), d("2024-03-04")), 1);
        assert_eq!(c.working_days(d("2024-03-04"), d("2024-03-04")), 0);
        // Saturday to Sunday: none; Saturday to Monday: one
        assert_eq!(c.working_days(d("2024-03-02"), d("2024-03-03")), 0);
        assert_eq!(c.working_days(d("2024-03-02"), d("2024-03-04")), 1);
        // Easter 2024: Good Friday 29 March, Easter Monday 1 April — Thursday to Tuesday is 1
        assert_eq!(c.working_days(d("2024-03-28"), d("2024-04-02")), 1);
        // start after end is the negative count
        assert_eq!(c.working_days(d("2024-04-02"), d("2024-03-28")), -1);
        // Christmas 2024: Monday 23 December to Friday 3 January: 24, 27, 30, 31 Dec, 2, 3 Jan = 6
        assert_eq!(c.working_days(d("2024-12-23"), d("2025-01-03")), 6);
        // a whole leap year 2024 (after 31 Dec 2023 through 31 Dec 2024): 262 weekdays, 8 holidays
        assert_eq!(c.working_days(d("2023-12-31"), d("2024-12-31")), 254);
    }

    #[test]
    fn forty_five_working_days_over_christmas_and_easter() {
        let c = Calendar::shipped();
        // referral Monday 2 December 2024: 45 working days later, with 25, 26 Dec and 1 Jan off
        let due = c.add_working_days(d("2024-12-02"), 45).unwrap();
        assert_eq!(to_date(due).unwrap().to_string(), "2025-02-06");
        assert_eq!(c.working_days(d("2024-12-02"), due), 45);
        assert_eq!(c.working_days(d("2024-12-02"), due + 1), 46);
        // from a Saturday, the first working day is the Monday
        assert_eq!(to_date(c.add_working_days(d("2024-03-02"), 1).unwrap()).unwrap().to_string(), "2024-03-04");
        // the first working day after Maundy Thursday 2024 is the Tuesday after Easter
        assert_eq!(to_date(c.add_working_days(d("2024-03-28"), 1).unwrap()).unwrap().to_string(), "2024-04-02");
        // backwards: one working day before Easter Tuesday is Maundy Thursday
        assert_eq!(to_date(c.add_working_days(d("2024-04-02"), -1).unwrap()).unwrap().to_string(), "2024-03-28");
        assert_eq!(c.add_working_days(d("2024-03-30"), 0), Some(d("2024-03-30")));
    }

    #[test]
    fn arithmetic_agrees_with_counting_day_by_day() {
        let c = Calendar::shipped();
        let base = d("2019-12-20");
        for s in (0..400).step_by(3) {
            for len in [-30, -7, -1, 0, 1, 2, 5, 6, 13, 45, 200] {
                let (a, b) = (base + s, base + s + len);
                assert_eq!(c.working_days(a, b), brute_working_days(&c, a, b), "{:?} → {:?}", to_date(a), to_date(b));
            }
            for n in [-46, -15, -5, -1, 1, 2, 4, 5, 6, 15, 45, 300] {
                assert_eq!(c.add_working_days(base + s, n), Some(brute_add(&c, base + s, n)), "{:?} + {n}", to_date(base + s));
            }
        }
    }

    #[test]
    fn outside_the_list_only_weekends_count() {
        let c = Calendar::shipped();
        // 2035: Christmas Day (a Tuesday) is not known, so it is a working day
        assert_eq!(c.working_days(d("2035-12-24"), d("2035-12-26")), 2);
    }

    #[test]
    fn a_council_list_keeps_england_and_wales_rows_only() {
        let c = Calendar::from_csv("date,name,division\n2024-01-01,New Year,england-and-wales\n2024-01-02,2 January,scotland\n").unwrap();
        assert!(c.is_holiday(d("2024-01-01")) && !c.is_holiday(d("2024-01-02")));
        assert!(Calendar::from_csv("date\nnot a date\n").unwrap_err().to_string().contains("line 2"));
    }
}
