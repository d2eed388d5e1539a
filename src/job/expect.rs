//! What a pipeline expects of each run, declared in `pipelines/<name>.toml`:
//!
//! ```toml
//! [expect]
//! max_age = "36h"     # the newest input file is at most this old (its modification time)
//! rows_min = 1000     # rows read from the pipeline's files (shipped reference data aside)
//! rows_max = 500000
//! on_break = "warn"   # or "fail": the run fails, exits non-zero, and alerts
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};

use crate::project::expect::OnBreak;
use crate::project::Project;
use crate::warehouse::runs::{ExpectationResult, FileRecord, RunRecord};

/// The source a file landed in (`raw/<source>/…`), if it landed; shipped reference data aside.
fn source_of(f: &FileRecord) -> Option<&str> {
    if f.file.starts_with("shipped/") || f.status != "received" {
        return None;
    }
    f.archived_as.strip_prefix("raw/")?.split('/').next()
}

/// Newest input file per source: the modification time of the landing file.
pub fn newest_inputs(record: &RunRecord, landing: &Path) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
    for f in &record.files {
        let Some(src) = source_of(f) else { continue };
        let Ok(modified) = std::fs::metadata(landing.join(&f.file)).and_then(|m| m.modified()) else { continue };
        let t: DateTime<Utc> = modified.into();
        let e = out.entry(src.to_string()).or_insert(t);
        *e = (*e).max(t);
    }
    out.into_iter().map(|(k, v)| (k, v.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))).collect()
}

/// Checks each pipeline of the run against its expectations.
pub fn check(project: &Project, record: &RunRecord, now: DateTime<Utc>) -> Vec<ExpectationResult> {
    let mut out = vec![];
    for name in &record.pipelines {
        let Some(p) = project.pipeline(name) else { continue };
        let e = &p.expect;
        let on_break = match e.on_break {
            OnBreak::Warn => "warn",
            OnBreak::Fail => "fail",
        };
        let mine = |f: &&FileRecord| source_of(f).is_some_and(|s| p.sources.iter().any(|x| x == s));
        if let Some(max_age) = e.max_age {
            let newest = p
                .sources
                .iter()
                .filter_map(|s| record.newest_input.get(s))
                .filter_map(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc))
                .max();
            let (actual, met) = match newest {
                Some(t) => {
                    let age = (now - t).to_std().unwrap_or_default();
                    (format!("newest input {} old ({})", human(age), t.format("%Y-%m-%d %H:%M UTC")), age <= max_age.0)
                }
                None => ("no input files".to_string(), false),
            };
            out.push(ExpectationResult { pipeline: name.clone(), check: "freshness".into(), expected: format!("newest input at most {} old", human(max_age.0)), actual, met, on_break: on_break.into() });
        }
        if e.rows_min.is_some() || e.rows_max.is_some() {
            let rows: u64 = record.files.iter().filter(mine).map(|f| f.rows_read).sum();
            let (lo, hi) = (e.rows_min.unwrap_or(0), e.rows_max.unwrap_or(u64::MAX));
            let expected = match (e.rows_min, e.rows_max) {
                (Some(a), Some(b)) => format!("{a} to {b} rows read"),
                (Some(a), None) => format!("at least {a} rows read"),
                (None, Some(b)) => format!("at most {b} rows read"),
                (None, None) => unreachable!(),
            };
            out.push(ExpectationResult { pipeline: name.clone(), check: "rows".into(), expected, actual: format!("{rows} rows read"), met: (lo..=hi).contains(&rows), on_break: on_break.into() });
        }
    }
    out
}

/// `3d 4h`, `2h 5m`, `40s`.
pub fn human(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {}s", s / 60, s % 60),
        3600..86400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86400, s % 86400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_and_freshness_are_met_or_broken() {
        let mut project = Project::embedded().unwrap();
        let p = project.pipelines.iter_mut().find(|p| p.name == "mosaic").unwrap();
        p.expect = toml::from_str("max_age = \"1d\"\nrows_min = 10\nrows_max = 20\non_break = \"fail\"").unwrap();
        let now = Utc::now();
        let mut r = RunRecord { pipelines: vec!["mosaic".into()], ..Default::default() };
        r.files.push(FileRecord { file: "a.csv".into(), status: "received".into(), archived_as: "raw/mosaic/received=x/r/a.csv".into(), rows_read: 12, ..Default::default() });
        r.files.push(FileRecord { file: "shipped/mosaic/x.csv".into(), status: "received".into(), archived_as: "raw/mosaic/received=x/r/s.csv".into(), rows_read: 100, ..Default::default() });
        r.newest_input.insert("mosaic".into(), (now - chrono::Duration::hours(30)).to_rfc3339());
        let got = check(&project, &r, now);
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].check.as_str(), got[0].met, got[0].on_break.as_str()), ("freshness", false, "fail"));
        assert_eq!(got[0].actual.split(" (").next().unwrap(), "newest input 1d 6h old");
        assert_eq!((got[1].check.as_str(), got[1].met, got[1].actual.as_str()), ("rows", true, "12 rows read"));
    }
}
