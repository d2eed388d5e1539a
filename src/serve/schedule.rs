//! A pipeline's schedule: a cron expression (croner: five fields, or six with seconds first;
//! `@daily`, `@hourly`, `@weekly`…) read in a time zone (Europe/London by default), so that
//! `0 2 * * *` means 02:00 on the council's clock in winter and in summer.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;

pub const DEFAULT_TZ: &str = "Europe/London";

#[derive(Debug, Clone)]
pub struct Schedule {
    expr: String,
    cron: Cron,
    tz: Tz,
}

impl Schedule {
    pub fn parse(expr: &str, tz: Option<&str>) -> Result<Self, String> {
        let cron = Cron::from_str(expr).map_err(|e| format!("schedule `{expr}`: {e}"))?;
        let tz_name = tz.unwrap_or(DEFAULT_TZ);
        let tz: Tz = tz_name.parse().map_err(|_| format!("timezone `{tz_name}` is not an IANA time zone (e.g. Europe/London)"))?;
        Ok(Schedule { expr: expr.to_string(), cron, tz })
    }

    /// The first tick strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        match self.cron.find_next_occurrence(&t.with_timezone(&self.tz), false) {
            Ok(n) => n.with_timezone(&Utc),
            // a pattern that never matches again: far away, so it never runs
            Err(_) => DateTime::<Utc>::MAX_UTC,
        }
    }

    /// Ticks in `(after, until]`, at most `limit`.
    pub fn between(&self, after: DateTime<Utc>, until: DateTime<Utc>, limit: usize) -> Vec<DateTime<Utc>> {
        let mut out = vec![];
        let mut t = after;
        while out.len() < limit {
            t = self.next_after(t);
            if t > until {
                break;
            }
            out.push(t);
        }
        out
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.expr, self.tz)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn two_in_the_morning_on_the_london_clock_through_both_changes() {
        let s = Schedule::parse("0 2 * * *", None).unwrap();
        // winter: 02:00 GMT; summer: 02:00 BST = 01:00 UTC
        let got: Vec<String> = s.between(utc("2026-03-27T12:00:00Z"), utc("2026-03-31T00:00:00Z"), 10).iter().map(|t| t.to_rfc3339()).collect();
        assert_eq!(got, ["2026-03-28T02:00:00+00:00", "2026-03-29T01:00:00+00:00", "2026-03-30T01:00:00+00:00"]);
        let got: Vec<String> = s.between(utc("2026-10-24T12:00:00Z"), utc("2026-10-27T00:00:00Z"), 10).iter().map(|t| t.to_rfc3339()).collect();
        assert_eq!(got, ["2026-10-25T02:00:00+00:00", "2026-10-26T02:00:00+00:00"]);
    }

    #[test]
    fn the_repeated_hour_in_october_runs_once() {
        // 01:30 happens twice on 25 October 2026 (BST, then GMT)
        let s = Schedule::parse("30 1 * * *", Some("Europe/London")).unwrap();
        let got = s.between(utc("2026-10-24T12:00:00Z"), utc("2026-10-26T12:00:00Z"), 10);
        assert_eq!(got.len(), 2, "{got:?}");
    }

    #[test]
    fn aliases_seconds_and_bad_input() {
        let s = Schedule::parse("@daily", Some("UTC")).unwrap();
        assert_eq!(s.next_after(utc("2026-01-01T10:00:00Z")).to_rfc3339(), "2026-01-02T00:00:00+00:00");
        let s = Schedule::parse("*/5 * * * * *", None).unwrap();
        assert_eq!(s.between(utc("2026-01-01T10:00:00Z"), utc("2026-01-01T10:00:20Z"), 100).len(), 4);
        assert!(Schedule::parse("61 * * * *", None).is_err());
        assert!(Schedule::parse("0 2 * * *", Some("Mars/Olympus")).unwrap_err().contains("Mars/Olympus"));
    }
}
