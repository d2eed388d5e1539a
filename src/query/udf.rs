//! Lantern's SQL functions, registered by [`register`] in every session (`lantern sql`, model
//! builds, the sqllogictest harness; a Ballista scheduler and executors later), so the same SQL
//! runs everywhere. Each is a DataFusion [`ScalarUDFImpl`] over Arrow arrays: a NULL argument
//! gives NULL, dates may be given as `DATE`, `TIMESTAMP` or ISO text, and constant arguments
//! stay constants.
//!
//! | function | returns | meaning |
//! |---|---|---|
//! | `working_days(start, end)` | INT | working days after `start` up to and including `end` (negative when `start > end`) |
//! | `add_working_days(date, n)` | DATE | the `n`-th working day after `date` (before it for negative `n`; `date` for 0) |
//! | `is_working_day(date)` | BOOLEAN | a weekday that is not an England and Wales bank holiday |
//! | `age_on(dob, date)` | INT | whole years; a 29 February birthday counts from 1 March in other years; NULL before birth |
//! | `financial_year(date)` | TEXT | `2024-25` for 1 April 2024 to 31 March 2025 |
//! | `collection_year(date)` | INT | the year of the 31 March that ends the April-to-March year (`2025` for 2024-25), as 903 and CIN partitions |
//! | `census_term(date)` | TEXT | `2024-autumn` (September–December), `2025-spring` (January–March), `2025-summer` (April–August), as census partitions |
//! | `month_end(date)` | DATE | the last day of the date's month |
//!
//! Working days follow the England and Wales bank holidays of [`Calendar`].

use std::sync::{Arc, LazyLock};

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Date32Array, Int32Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Date32Type, Int64Type};
use chrono::{Datelike, NaiveDate};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, DocSection, Documentation, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;

use super::calendar::{from_date, to_date, Calendar};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    WorkingDays,
    AddWorkingDays,
    IsWorkingDay,
    AgeOn,
    FinancialYear,
    CollectionYear,
    CensusTerm,
    MonthEnd,
}

const KINDS: [Kind; 8] = [
    Kind::WorkingDays,
    Kind::AddWorkingDays,
    Kind::IsWorkingDay,
    Kind::AgeOn,
    Kind::FinancialYear,
    Kind::CollectionYear,
    Kind::CensusTerm,
    Kind::MonthEnd,
];

/// What each argument is coerced to.
#[derive(Clone, Copy)]
enum Arg {
    Date,
    Int,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::WorkingDays => "working_days",
            Kind::AddWorkingDays => "add_working_days",
            Kind::IsWorkingDay => "is_working_day",
            Kind::AgeOn => "age_on",
            Kind::FinancialYear => "financial_year",
            Kind::CollectionYear => "collection_year",
            Kind::CensusTerm => "census_term",
            Kind::MonthEnd => "month_end",
        }
    }

    fn args(self) -> &'static [(&'static str, Arg)] {
        match self {
            Kind::WorkingDays => &[("start", Arg::Date), ("end", Arg::Date)],
            Kind::AddWorkingDays => &[("date", Arg::Date), ("n", Arg::Int)],
            Kind::AgeOn => &[("dob", Arg::Date), ("date", Arg::Date)],
            _ => &[("date", Arg::Date)],
        }
    }

    fn returns(self) -> DataType {
        match self {
            Kind::WorkingDays | Kind::AgeOn | Kind::CollectionYear => DataType::Int32,
            Kind::AddWorkingDays | Kind::MonthEnd => DataType::Date32,
            Kind::IsWorkingDay => DataType::Boolean,
            Kind::FinancialYear | Kind::CensusTerm => DataType::Utf8,
        }
    }

    fn doc(self) -> (&'static str, &'static str) {
        match self {
            Kind::WorkingDays => ("Working days (England and Wales: weekdays that are not bank holidays) after start, up to and including end; 0 for the same day, negative when start is after end. Within 45 working days: working_days(start, end) <= 45.", "SELECT working_days(DATE '2024-03-28', DATE '2024-04-02') -- 1: Good Friday and Easter Monday are not counted"),
            Kind::AddWorkingDays => ("The n-th working day after date (before it when n is negative; date itself when n is 0).", "SELECT add_working_days(DATE '2024-12-02', 45) -- 2025-02-06"),
            Kind::IsWorkingDay => ("True for a weekday that is not an England and Wales bank holiday.", "SELECT is_working_day(DATE '2024-12-26') -- false"),
            Kind::AgeOn => ("Age in whole years on date; someone born on 29 February has a birthday on 1 March in other years; NULL when date is before dob.", "SELECT age_on(DATE '2008-02-29', DATE '2026-02-28') -- 17"),
            Kind::FinancialYear => ("The financial year (1 April to 31 March) containing date, as 2024-25.", "SELECT financial_year(DATE '2025-03-31') -- '2024-25'"),
            Kind::CollectionYear => ("The collection year containing date: the year of the 31 March that ends its April-to-March year (903 and CIN census partitions).", "SELECT collection_year(DATE '2024-04-01') -- 2025"),
            Kind::CensusTerm => ("The school census term of date as the census partitions name it: YYYY-autumn (September to December), YYYY-spring (January to March), YYYY-summer (April to August).", "SELECT census_term(DATE '2025-01-16') -- '2025-spring'"),
            Kind::MonthEnd => ("The last day of date's month.", "SELECT month_end(DATE '2024-02-10') -- 2024-02-29"),
        }
    }
}

static DOCS: LazyLock<Vec<Documentation>> = LazyLock::new(|| {
    KINDS
        .iter()
        .map(|k| {
            let (desc, example) = k.doc();
            let args: Vec<&str> = k.args().iter().map(|(n, _)| *n).collect();
            let mut b = Documentation::builder(
                DocSection { include: true, label: "Lantern", description: Some("Lantern's working-day and date functions") },
                desc,
                format!("{}({})", k.name(), args.join(", ")),
            )
            .with_sql_example(example);
            for (n, a) in k.args() {
                b = b.with_argument(*n, if matches!(a, Arg::Date) { "a DATE, TIMESTAMP or ISO date text" } else { "an integer" });
            }
            b.build()
        })
        .collect()
});

/// One of Lantern's functions, over a working-day calendar.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct LanternFunction {
    kind: Kind,
    signature: Signature,
    calendar: Arc<Calendar>,
}

/// Every Lantern function, over the shipped England and Wales calendar.
pub fn functions() -> Vec<ScalarUDF> {
    functions_with(Calendar::shipped())
}

/// Every Lantern function, over `calendar` (a council's edited bank holiday list).
pub fn functions_with(calendar: Arc<Calendar>) -> Vec<ScalarUDF> {
    KINDS
        .iter()
        .map(|&kind| {
            ScalarUDF::new_from_impl(LanternFunction {
                kind,
                signature: Signature::user_defined(Volatility::Immutable),
                calendar: calendar.clone(),
            })
        })
        .collect()
}

/// Registers every Lantern function in a session: the one place sessions get them.
pub fn register(ctx: &SessionContext) {
    register_with(ctx, Calendar::shipped());
}

pub fn register_with(ctx: &SessionContext, calendar: Arc<Calendar>) {
    for f in functions_with(calendar) {
        ctx.register_udf(f);
    }
}

fn coerce(kind: Kind, i: usize, want: Arg, t: &DataType) -> Result<DataType> {
    use DataType::*;
    let ok = match want {
        Arg::Date => matches!(t, Date32 | Date64 | Timestamp(_, _) | Utf8 | LargeUtf8 | Utf8View | Null).then_some(Date32),
        Arg::Int => matches!(t, Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | Null).then_some(Int64),
    };
    match ok {
        Some(t) => Ok(t),
        None => {
            let (name, _) = kind.args()[i];
            let expected = if matches!(want, Arg::Date) { "a date" } else { "an integer" };
            plan_err!("{}: argument {} ({name}) must be {expected}, not {t}", kind.name(), i + 1)
        }
    }
}

fn age_on(dob: NaiveDate, on: NaiveDate) -> Option<i32> {
    if on < dob {
        return None;
    }
    let mut age = on.year() - dob.year();
    // not yet had this year's birthday; (2, 29) > (2, 28) makes a leapling 1 March's child
    if (on.month(), on.day()) < (dob.month(), dob.day()) {
        age -= 1;
    }
    Some(age)
}

fn financial_year_start(d: NaiveDate) -> i32 {
    if d.month() >= 4 {
        d.year()
    } else {
        d.year() - 1
    }
}

fn census_term(d: NaiveDate) -> String {
    let term = match d.month() {
        9..=12 => "autumn",
        1..=3 => "spring",
        _ => "summer",
    };
    format!("{}-{term}", d.year())
}

fn month_end(d: NaiveDate) -> Option<NaiveDate> {
    let (y, m) = if d.month() == 12 { (d.year() + 1, 1) } else { (d.year(), d.month() + 1) };
    NaiveDate::from_ymd_opt(y, m, 1)?.pred_opt()
}

fn dates(a: &ArrayRef) -> Result<&Date32Array> {
    match a.as_primitive_opt::<Date32Type>() {
        Some(d) => Ok(d),
        None => exec_err!("expected a Date32 array, got {}", a.data_type()),
    }
}

impl LanternFunction {
    fn eval(&self, arrays: &[ArrayRef]) -> Result<ArrayRef> {
        let cal = &self.calendar;
        let a = dates(&arrays[0])?;
        let out: ArrayRef = match self.kind {
            Kind::WorkingDays => {
                let b = dates(&arrays[1])?;
                let v: Int32Array = a
                    .iter()
                    .zip(b.iter())
                    .map(|(s, e)| Some(cal.working_days(s?, e?)).and_then(|n| i32::try_from(n).ok()))
                    .collect();
                Arc::new(v)
            }
            Kind::AddWorkingDays => {
                let n: &Int64Array = arrays[1].as_primitive_opt::<Int64Type>().ok_or_else(|| {
                    datafusion::error::DataFusionError::Execution(format!("add_working_days: n is {}", arrays[1].data_type()))
                })?;
                let v: Date32Array = a.iter().zip(n.iter()).map(|(d, n)| cal.add_working_days(d?, n?)).collect();
                Arc::new(v)
            }
            Kind::IsWorkingDay => {
                let v: BooleanArray = a.iter().map(|d| d.map(|d| cal.is_working_day(d))).collect();
                Arc::new(v)
            }
            Kind::AgeOn => {
                let b = dates(&arrays[1])?;
                let v: Int32Array = a.iter().zip(b.iter()).map(|(dob, on)| age_on(to_date(dob?)?, to_date(on?)?)).collect();
                Arc::new(v)
            }
            Kind::FinancialYear => {
                let v: StringArray = a
                    .iter()
                    .map(|d| {
                        let s = financial_year_start(to_date(d?)?);
                        Some(format!("{s}-{:02}", (s + 1).rem_euclid(100)))
                    })
                    .collect();
                Arc::new(v)
            }
            Kind::CollectionYear => {
                let v: Int32Array = a.iter().map(|d| Some(financial_year_start(to_date(d?)?) + 1)).collect();
                Arc::new(v)
            }
            Kind::CensusTerm => {
                let v: StringArray = a.iter().map(|d| Some(census_term(to_date(d?)?))).collect();
                Arc::new(v)
            }
            Kind::MonthEnd => {
                let v: Date32Array = a.iter().map(|d| month_end(to_date(d?)?).map(from_date)).collect();
                Arc::new(v)
            }
        };
        Ok(out)
    }
}

impl ScalarUDFImpl for LanternFunction {
    fn name(&self) -> &str {
        self.kind.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(self.kind.returns())
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let want = self.kind.args();
        if arg_types.len() != want.len() {
            let names: Vec<&str> = want.iter().map(|(n, _)| *n).collect();
            return plan_err!("{}({}) takes {} argument(s), got {}", self.kind.name(), names.join(", "), want.len(), arg_types.len());
        }
        arg_types.iter().zip(want).enumerate().map(|(i, (t, (_, w)))| coerce(self.kind, i, *w, t)).collect()
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let all_scalar = args.args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let mut arrays = ColumnarValue::values_to_arrays(&args.args)?;
        // a NULL literal arrives as the Null type when planning skipped coercion
        for (a, (_, want)) in arrays.iter_mut().zip(self.kind.args()) {
            let t = if matches!(want, Arg::Date) { DataType::Date32 } else { DataType::Int64 };
            if a.data_type() != &t {
                *a = arrow::compute::cast(a, &t)?;
            }
        }
        let out = self.eval(&arrays)?;
        if all_scalar {
            Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?))
        } else {
            Ok(ColumnarValue::Array(out))
        }
    }

    fn documentation(&self) -> Option<&Documentation> {
        KINDS.iter().position(|k| *k == self.kind).map(|i| &DOCS[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Array;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    async fn one(sql: &str) -> String {
        let ctx = SessionContext::new();
        register(&ctx);
        let batches = ctx.sql(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}")).collect().await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        let col = batches[0].column(0);
        if col.is_null(0) {
            return "NULL".into();
        }
        arrow::util::display::array_value_to_string(col, 0).unwrap()
    }

    #[test]
    fn ages_in_whole_years_with_leap_day_birthdays() {
        assert_eq!(age_on(d("2008-02-29"), d("2026-02-28")), Some(17));
        assert_eq!(age_on(d("2008-02-29"), d("2026-03-01")), Some(18));
        assert_eq!(age_on(d("2008-02-29"), d("2028-02-29")), Some(20));
        assert_eq!(age_on(d("2008-02-29"), d("2028-02-28")), Some(19));
        assert_eq!(age_on(d("2010-06-15"), d("2028-06-14")), Some(17));
        assert_eq!(age_on(d("2010-06-15"), d("2028-06-15")), Some(18));
        assert_eq!(age_on(d("2010-06-15"), d("2010-06-15")), Some(0));
        assert_eq!(age_on(d("2010-06-15"), d("2010-06-14")), None);
    }

    #[test]
    fn years_terms_and_month_ends() {
        assert_eq!(financial_year_start(d("2024-04-01")), 2024);
        assert_eq!(financial_year_start(d("2025-03-31")), 2024);
        assert_eq!(census_term(d("2024-10-03")), "2024-autumn");
        assert_eq!(census_term(d("2025-01-16")), "2025-spring");
        assert_eq!(census_term(d("2025-05-15")), "2025-summer");
        assert_eq!(census_term(d("2025-08-31")), "2025-summer");
        assert_eq!(census_term(d("2025-09-01")), "2025-autumn");
        assert_eq!(month_end(d("2024-02-10")), Some(d("2024-02-29")));
        assert_eq!(month_end(d("2023-02-28")), Some(d("2023-02-28")));
        assert_eq!(month_end(d("2024-12-01")), Some(d("2024-12-31")));
    }

    #[test]
    fn census_terms_match_the_partitions_the_engine_writes() {
        use crate::schema::PartitionKind;
        for day in ["2024-10-03", "2025-01-16", "2025-05-15", "2024-12-31", "2025-04-01"] {
            let from_engine = crate::pipeline::partition::for_file(PartitionKind::CensusTerm, &Default::default(), "pupils.csv", d(day)).0;
            assert_eq!(census_term(d(day)), from_engine, "{day}");
            let fy = crate::pipeline::partition::for_file(PartitionKind::FinancialYear, &Default::default(), "ledger.csv", d(day)).0;
            let s = financial_year_start(d(day));
            assert_eq!(format!("{s}-{:02}", (s + 1) % 100), fy, "{day}");
        }
    }

    #[tokio::test]
    async fn functions_in_sql_with_dates_text_timestamps_and_nulls() {
        assert_eq!(one("SELECT working_days(DATE '2024-03-28', DATE '2024-04-02')").await, "1");
        assert_eq!(one("SELECT working_days('2024-04-02', '2024-03-28')").await, "-1");
        assert_eq!(one("SELECT working_days(TIMESTAMP '2024-03-01 23:59:00', DATE '2024-03-04')").await, "1");
        assert_eq!(one("SELECT working_days(NULL, DATE '2024-03-04')").await, "NULL");
        assert_eq!(one("SELECT add_working_days(DATE '2024-12-02', 45)").await, "2025-02-06");
        assert_eq!(one("SELECT add_working_days(DATE '2024-12-02', NULL)").await, "NULL");
        assert_eq!(one("SELECT is_working_day(DATE '2024-12-26')").await, "false");
        assert_eq!(one("SELECT age_on(DATE '2008-02-29', DATE '2026-02-28')").await, "17");
        assert_eq!(one("SELECT age_on(DATE '2008-02-29', DATE '2007-02-28')").await, "NULL");
        assert_eq!(one("SELECT financial_year(DATE '2025-03-31')").await, "2024-25");
        assert_eq!(one("SELECT financial_year(DATE '1999-04-01')").await, "1999-00");
        assert_eq!(one("SELECT collection_year(DATE '2024-04-01')").await, "2025");
        assert_eq!(one("SELECT census_term('2025-01-16')").await, "2025-spring");
        assert_eq!(one("SELECT month_end(DATE '2024-02-10')").await, "2024-02-29");
    }

    #[tokio::test]
    async fn functions_over_columns_keep_nulls_in_place() {
        let ctx = SessionContext::new();
        register(&ctx);
        let sql = "SELECT working_days(s, e) AS n, age_on(s, e) AS age FROM (VALUES \
                   (DATE '2024-03-28', DATE '2024-04-02'), (NULL, DATE '2024-01-01'), (DATE '2016-02-29', DATE '2024-02-28'), (DATE '2024-12-23', DATE '2025-01-03')) AS t(s, e)";
        let b = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let n = b[0].column(0).as_primitive::<arrow::datatypes::Int32Type>();
        assert_eq!((n.value(0), n.is_null(1), n.value(3)), (1, true, 6));
        let age = b[0].column(1).as_primitive::<arrow::datatypes::Int32Type>();
        assert_eq!((age.value(0), age.is_null(1), age.value(2)), (0, true, 7));
    }

    #[tokio::test]
    async fn a_wrong_argument_type_is_a_plan_error_naming_the_function() {
        let ctx = SessionContext::new();
        register(&ctx);
        let e = ctx.sql("SELECT working_days(1.5, DATE '2024-01-01')").await.unwrap_err().to_string();
        assert!(e.contains("working_days") && e.contains("start") && e.contains("must be a date"), "{e}");
        let e = ctx.sql("SELECT add_working_days(DATE '2024-01-01')").await.unwrap_err().to_string();
        assert!(e.contains("add_working_days(date, n) takes 2"), "{e}");
    }
}
