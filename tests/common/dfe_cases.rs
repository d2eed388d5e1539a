//! Values of the DfE's rule test cases, as `../shared/tools/dfe/dfe_cases.py` records them (JSON),
//! for the conformance tests of both returns.

use lantern::dfe::Value;
use serde_json::Value as J;

fn dfe_date(s: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(&s[..10], "%Y-%m-%d").unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// A case's value as the DfE's rule sees it: text (numbers as pandas prints whole numbers, a
/// boolean as `bools` writes true and false), a date, a list of texts, or blank. An empty text
/// stays text: the DfE's tests use it as a value that is not blank.
pub fn case_value(v: &J, bools: (&str, &str)) -> Value {
    match v {
        J::Null => Value::Null,
        J::String(s) => Value::Text(s.clone()),
        J::Bool(b) => Value::Text(if *b { bools.0 } else { bools.1 }.into()),
        J::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Value::Text(i.to_string()),
            (None, Some(f)) if f.fract() == 0.0 => Value::Text(format!("{}", f as i64)),
            _ => Value::Text(n.to_string()),
        },
        J::Object(o) => match o.get("$date").or_else(|| o.get("$datetime")).and_then(J::as_str) {
            Some(d) => Value::Date(dfe_date(d)),
            None => panic!("a value the cases do not make: {v}"),
        },
        J::Array(a) => Value::List(
            a.iter()
                .map(|x| match case_value(x, bools) {
                    Value::Text(s) => s,
                    other => panic!("a list item that is not text: {other:?}"),
                })
                .collect(),
        ),
    }
}

/// Extracts every rule's DfE test case of `ruleset` of a return (`cin`, `ssda903`) into
/// `out/<return>/<ruleset>` with `../shared/tools/dfe/dfe_cases.py`, the DfE's package on `py`.
pub fn extract(py: &str, ret: &str, ruleset: &str, out: &std::path::Path) -> std::path::PathBuf {
    let script = super::fixtures().join("../tools/dfe/dfe_cases.py");
    let o = std::process::Command::new("python3")
        .arg(&script)
        .args(["--return", ret, "--ruleset", ruleset, "--all", "--out"])
        .arg(out)
        .arg("--quiet")
        .env("PYTHONPATH", py)
        .output()
        .expect("python3 runs the DfE's tests");
    assert!(o.status.success(), "extracting {ruleset}: {}", String::from_utf8_lossy(&o.stderr));
    out.join(ret).join(ruleset)
}

/// A row label as a number (pandas may give whole floats, and a test may label rows by numeric
/// text: the 903's 205D adds rows labelled by the child's id).
pub fn label(i: &J) -> Option<i64> {
    i.as_i64().or_else(|| i.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)).or_else(|| i.as_str().and_then(|s| s.parse().ok()))
}

/// A case's table (`columns`, `index`, `rows`) in the declared columns of `decl`: `column` gives
/// the name a case's column has in the return (a test may name one otherwise).
pub fn case_table(decl: &lantern::dfe::TableDecl, t: &J, column: impl Fn(&str) -> String, bools: (&str, &str)) -> lantern::dfe::TableData {
    let cols: Vec<String> = t["columns"].as_array().unwrap().iter().map(|c| column(c.as_str().unwrap_or(""))).collect();
    let at: Vec<Option<usize>> = decl.columns.iter().map(|c| cols.iter().position(|x| *x == c.name)).collect();
    let index = t["index"].as_array().unwrap();
    let rows = t["rows"]
        .as_array()
        .unwrap()
        .iter()
        .zip(index)
        .map(|(r, i)| lantern::dfe::Row {
            index: label(i).unwrap_or_else(|| panic!("row label {i} is not a number")),
            line: None,
            values: at.iter().map(|a| a.map_or(Value::Null, |a| case_value(&r[a], bools))).collect(),
        })
        .collect();
    lantern::dfe::TableData { rows }
}

/// The catalog of `ret`'s rules as the checkout has them (so that editing a rule file needs no
/// rebuild to re-test), with a note when they differ from the rules the binary embeds.
pub fn checkout_catalog(ret: &str) -> lantern::dfe::Catalog {
    use lantern::dfe::Catalog;
    let catalog = Catalog::from_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"), ret).unwrap();
    let shipped = Catalog::shipped(ret).unwrap();
    let sqls = |c: &Catalog| c.rules.iter().map(|r| (r.file.clone(), r.sql.clone())).collect::<std::collections::BTreeMap<_, _>>();
    if sqls(&catalog) != sqls(&shipped) {
        eprintln!("note: rules/ differs from the rules this binary embeds (edited since the build); testing rules/");
    }
    catalog
}
