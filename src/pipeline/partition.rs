//! Partition values: where a file's (or a row's) data goes below the council's folder (`la_key=`), and the collection
//! year its codes are checked against. Found in a row's column, the file's header, its name, or
//! the run's as-of date, in that order.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use chrono::{Datelike, NaiveDate};
use regex::Regex;

use crate::schema::PartitionKind;
use crate::validate::parse::parse_date;

/// The collection year an as-of date falls in: the year of the 31 March that ends it.
pub fn collection_year(d: NaiveDate) -> i32 {
    if d.month() >= 4 {
        d.year() + 1
    } else {
        d.year()
    }
}

/// `2024-25` for the financial year starting in April 2024.
fn financial_year_label(start: i32) -> String {
    format!("{start}-{:02}", (start + 1) % 100)
}

static YEAR: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?:^|[^0-9])(20\d\d)(?:[^0-9]|$)").unwrap());
static FY_LONG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)(?:^|[^0-9])(20\d\d)[-/_ ]*(?:to)?[-/_ ]*(?:20)?(\d\d)(?:[^0-9]|$)").unwrap());
static FY_SHORT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?:^|[^0-9])(\d\d)[-/_]?(\d\d)(?:[^0-9]|$)").unwrap());
static MONTH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(20\d\d)[-_ ]?(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|0[1-9]|1[0-2])").unwrap()
});
static TERM: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)(20\d\d)[-_ ]?(autumn|spring|summer)").unwrap());
const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DATE_FORMATS: [&str; 3] = ["%d/%m/%Y", "%Y-%b-%d %H:%M:%S", "%d-%b-%Y"];

/// The start year of the financial year `text` names: `2024-25`, `2024/25`, `202425`,
/// `2024 to 2025`, `1314` (as in DfE file names), or a bare `2025` — the year it ends, as
/// DfE collection years are counted.
pub fn financial_year_start(text: &str) -> Option<i32> {
    if let Some(c) = FY_LONG.captures(text) {
        let a: i32 = c[1].parse().ok()?;
        let b: i32 = c[2].parse().ok()?;
        if (a + 1) % 100 == b {
            return Some(a);
        }
    }
    if let Some(c) = FY_SHORT.captures(text) {
        let a: i32 = c[1].parse().ok()?;
        let b: i32 = c[2].parse().ok()?;
        if (a + 1) % 100 == b {
            return Some(2000 + a);
        }
    }
    YEAR.captures(text).and_then(|c| c[1].parse::<i32>().ok()).map(|y| y - 1)
}

/// A partition value and its collection year, read from text (a cell, a header value or a
/// file name) as `kind` says; `None` when the text does not say.
pub fn from_text(kind: PartitionKind, text: &str) -> Option<(String, Option<i32>)> {
    let text = text.trim();
    match kind {
        PartitionKind::CollectionYear => {
            let y: i32 = YEAR.captures(text)?[1].parse().ok()?;
            Some((y.to_string(), Some(y)))
        }
        PartitionKind::FinancialYear => financial_year_start(text).map(|s| (financial_year_label(s), Some(s + 1))),
        PartitionKind::Month => {
            let d = date_in(text).or_else(|| {
                let c = MONTH.captures(text)?;
                let y: i32 = c[1].parse().ok()?;
                let m = c[2].to_lowercase();
                let m = MONTHS.iter().position(|x| *x == m).map(|i| i as u32 + 1).or_else(|| m.parse().ok())?;
                NaiveDate::from_ymd_opt(y, m, 1)
            })?;
            Some((d.format("%Y-%m").to_string(), Some(collection_year(d))))
        }
        PartitionKind::CensusTerm => {
            let c = TERM.captures(text)?;
            let y: i32 = c[1].parse().ok()?;
            let term = c[2].to_lowercase();
            let start = NaiveDate::from_ymd_opt(y, if term == "autumn" { 10 } else { 2 }, 1)?;
            Some((format!("{y}-{term}"), Some(collection_year(start))))
        }
        PartitionKind::AsOf => date_in(text).map(|d| (d.format("%Y-%m-%d").to_string(), Some(collection_year(d)))),
        PartitionKind::Latest => Some(("latest".into(), None)),
    }
}

fn date_in(text: &str) -> Option<NaiveDate> {
    let formats: Vec<String> = DATE_FORMATS.iter().map(|s| s.to_string()).collect();
    parse_date(text, &formats)
}

/// The partition value for a whole file: the document's header (`year`, `date`), then the
/// file name, then the run's as-of date.
pub fn for_file(kind: PartitionKind, context: &BTreeMap<String, String>, file_name: &str, as_of: NaiveDate) -> (String, Option<i32>) {
    let from_context = match kind {
        PartitionKind::CollectionYear | PartitionKind::FinancialYear => context.get("year").or(context.get("date")),
        PartitionKind::Month | PartitionKind::CensusTerm | PartitionKind::AsOf => context.get("date"),
        PartitionKind::Latest => None,
    };
    let from_as_of = || match kind {
        PartitionKind::CollectionYear => {
            let y = collection_year(as_of);
            (y.to_string(), Some(y))
        }
        PartitionKind::FinancialYear => {
            let y = collection_year(as_of);
            (financial_year_label(y - 1), Some(y))
        }
        PartitionKind::Month => (as_of.format("%Y-%m").to_string(), Some(collection_year(as_of))),
        PartitionKind::CensusTerm => {
            let term = match as_of.month() {
                9..=12 => "autumn",
                1..=3 => "spring",
                _ => "summer",
            };
            from_text(kind, &format!("{}-{term}", as_of.year())).expect("a census term")
        }
        PartitionKind::AsOf => (as_of.format("%Y-%m-%d").to_string(), Some(collection_year(as_of))),
        PartitionKind::Latest => ("latest".into(), Some(collection_year(as_of))),
    };
    from_context
        .and_then(|t| from_text(kind, t))
        .or_else(|| if kind == PartitionKind::AsOf { None } else { from_text(kind, file_name) })
        .unwrap_or_else(from_as_of)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn financial_years_in_the_ways_councils_write_them() {
        for (t, want) in [
            ("2024-25", 2024),
            ("2024/25", 2024),
            ("FY 2024 to 2025", 2024),
            ("gl_202425_p07.csv", 2024),
            ("outturn_1314.csv", 2013),
            ("2025", 2024),
            ("dedicated-schools-grant_2024-to-2025_published-31-03-2025.ods", 2024),
        ] {
            assert_eq!(financial_year_start(t), Some(want), "{t}");
        }
        assert_eq!(from_text(PartitionKind::FinancialYear, "2013/14"), Some(("2013-14".into(), Some(2014))));
        assert_eq!(from_text(PartitionKind::FinancialYear, "nothing"), None);
    }

    #[test]
    fn file_partitions_from_header_name_or_as_of() {
        let as_of = NaiveDate::from_ymd_opt(2025, 3, 31).unwrap();
        let none = BTreeMap::new();
        assert_eq!(for_file(PartitionKind::CensusTerm, &none, "2024_autumn_pupilonroll.csv", as_of).0, "2024-autumn");
        assert_eq!(for_file(PartitionKind::CensusTerm, &none, "pupils.csv", as_of).0, "2025-spring");
        assert_eq!(for_file(PartitionKind::Month, &none, "Annex_A_2024_Jan.xlsx", as_of).0, "2024-01");
        assert_eq!(for_file(PartitionKind::CollectionYear, &none, "episodes.csv", as_of).0, "2025");
        assert_eq!(for_file(PartitionKind::FinancialYear, &none, "ledger.csv", as_of), ("2024-25".into(), Some(2025)));
        assert_eq!(for_file(PartitionKind::Latest, &none, "coding_map.csv", as_of).0, "latest");
        let ctx = BTreeMap::from([("year".to_string(), "2022".to_string())]);
        assert_eq!(for_file(PartitionKind::CollectionYear, &ctx, "x_2019.xml", as_of).0, "2022");
    }
}
