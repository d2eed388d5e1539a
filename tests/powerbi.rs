//! The Power BI kit in `deploy/powerbi/`: every M document in it (`.pq` and `.m` files, and the
//! ```` ```m ```` blocks of its guide) parses with Microsoft's Power Query parser,
//! `@microsoft/powerquery-parser`, run by Node.js; and its queries name tables and columns that a
//! `lantern demo` warehouse has, each typed as the mart's Parquet type reads in Power BI.
//!
//! The parser is installed by the test itself (`npm ci` of `tests/tools/powerquery/`, the version
//! pinned in its lock file) into `target/tmp`. Node.js 20 or later and npm must be on the PATH:
//! without them the tests fail saying so; they do not skip.

mod common;

use common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn kit() -> PathBuf {
    root().join("deploy/powerbi")
}

fn tools() -> PathBuf {
    root().join("tests/tools/powerquery")
}

const NEEDS_NODE: &str = "tests/powerbi.rs needs Node.js 20 or later and npm on the PATH, to run Microsoft's Power Query \
     parser (@microsoft/powerquery-parser) on deploy/powerbi: install them (Debian: apt-get install nodejs npm) and run \
     the tests again. This test does not skip without them.";

/// `node_modules` holding the parser, installed with `npm ci` from the committed lock file on
/// first use, in a folder named after the lock file's contents (a new pin installs afresh).
fn node_modules() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let version = Command::new("node")
            .arg("--version")
            .output()
            .unwrap_or_else(|e| panic!("{NEEDS_NODE}\n(node: {e})"));
        let version = String::from_utf8_lossy(&version.stdout).trim().to_string();
        let major: u32 = version
            .trim_start_matches('v')
            .split('.')
            .next()
            .and_then(|m| m.parse().ok())
            .unwrap_or(0);
        assert!(
            major >= 20,
            "{NEEDS_NODE}\n(node --version says {version:?})"
        );
        let lock = std::fs::read(tools().join("package-lock.json"))
            .expect("tests/tools/powerquery/package-lock.json");
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("powerquery-parser-{:016x}", fnv1a(&lock)));
        let installed = |d: &Path| {
            d.join("node_modules/@microsoft/powerquery-parser/package.json")
                .is_file()
        };
        if !installed(&dir) {
            install_into(
                &dir,
                NEEDS_NODE,
                "npm ci of tests/tools/powerquery (@microsoft/powerquery-parser)",
                |fresh| {
                    std::fs::create_dir_all(fresh).unwrap();
                    for f in ["package.json", "package-lock.json"] {
                        std::fs::copy(tools().join(f), fresh.join(f)).unwrap();
                    }
                    let mut c = Command::new("npm");
                    c.args([
                        "ci",
                        "--no-audit",
                        "--no-fund",
                        "--ignore-scripts",
                        "--loglevel=error",
                    ])
                    .current_dir(fresh);
                    c
                },
            );
            assert!(
                installed(&dir),
                "npm ci finished but {} has no @microsoft/powerquery-parser",
                dir.display()
            );
        }
        dir.join("node_modules")
    })
}

/// A stable name for a file's contents (std's hasher may change between Rust releases).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ *b as u64).wrapping_mul(0x100000001b3)
    })
}

/// One M document as the parser saw it.
#[derive(Debug)]
struct Parsed {
    name: String,
    /// None when it parsed; else (line, column, message), 1-based, lines of `name`.
    error: Option<(u64, u64, String)>,
    /// (kind, text, line) of every token when it parsed; comments are not tokens.
    tokens: Vec<(String, String, u64)>,
}

/// An M document: a name to report, its text, and the line of `name` its first line is.
struct Doc {
    name: String,
    text: String,
    first_line: u64,
}

/// Parses the documents with Microsoft's parser (tests/tools/powerquery/parse.js).
fn parse(docs: &[Doc]) -> Vec<Parsed> {
    let input = serde_json::Value::Array(
        docs.iter()
            .map(|d| serde_json::json!({"file": d.name, "text": d.text}))
            .collect(),
    );
    let mut child = Command::new("node")
        .arg(tools().join("parse.js"))
        .arg("-")
        .env("NODE_PATH", node_modules())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{NEEDS_NODE}\n(node: {e})"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "the Power Query parser did not run ({}): {stderr}",
        out.status
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(
        lines.len(),
        docs.len(),
        "one answer per document from the parser; stderr: {stderr}"
    );
    lines
        .iter()
        .zip(docs)
        .map(|(v, d)| {
            let offset = d.first_line - 1;
            let error = (v["ok"] != true).then(|| {
                (
                    v["line"].as_u64().unwrap_or(0) + offset,
                    v["column"].as_u64().unwrap_or(0),
                    v["message"].as_str().unwrap_or("?").to_string(),
                )
            });
            let tokens = v["tokens"]
                .as_array()
                .map(|ts| {
                    ts.iter()
                        .map(|t| {
                            (
                                t[0].as_str().unwrap().to_string(),
                                t[1].as_str().unwrap().to_string(),
                                t[2].as_u64().unwrap() + offset,
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            Parsed {
                name: d.name.clone(),
                error,
                tokens,
            }
        })
        .collect()
}

/// `file:line:column: message` for every document that did not parse.
fn syntax_errors(parsed: &[Parsed]) -> Vec<String> {
    parsed
        .iter()
        .filter_map(|p| {
            p.error
                .as_ref()
                .map(|(line, col, msg)| format!("{}:{line}:{col}: {msg}", p.name))
        })
        .collect()
}

/// Every M document of the kit: `.pq` and `.m` files under deploy/powerbi, and the guide's
/// ```` ```m ```` code blocks (named by the guide's path, lines counted in the guide).
fn kit_documents() -> Vec<Doc> {
    let mut files = vec![];
    let mut stack = vec![kit()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "pq" || x == "m") {
                files.push(p);
            }
        }
    }
    files.sort();
    let shown = |p: &Path| p.strip_prefix(root()).unwrap().display().to_string();
    let mut docs: Vec<Doc> = files
        .iter()
        .map(|p| Doc {
            name: shown(p),
            text: std::fs::read_to_string(p).unwrap(),
            first_line: 1,
        })
        .collect();
    let guide = kit().join("README.md");
    docs.extend(code_blocks(
        &shown(&guide),
        &std::fs::read_to_string(&guide).unwrap(),
    ));
    docs
}

/// The ```` ```m ```` (or ```` ```powerquery ````) blocks of a Markdown file.
fn code_blocks(name: &str, markdown: &str) -> Vec<Doc> {
    let mut out = vec![];
    let mut open: Option<(u64, String)> = None;
    for (i, line) in markdown.lines().enumerate() {
        let n = i as u64 + 1;
        let fence = line.trim_start();
        match &mut open {
            None if fence == "```m" || fence == "```powerquery" => {
                open = Some((n + 1, String::new()))
            }
            Some((first, text)) if fence.starts_with("```") => {
                out.push(Doc {
                    name: name.to_string(),
                    text: std::mem::take(text),
                    first_line: *first,
                });
                open = None;
            }
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
            None => {}
        }
    }
    assert!(open.is_none(), "{name}: a ```m block is not closed");
    out
}

#[test]
fn every_m_document_in_deploy_powerbi_parses_with_the_power_query_parser() {
    let docs = kit_documents();
    let names: BTreeSet<&str> = docs.iter().map(|d| d.name.as_str()).collect();
    for f in [
        "Lantern.pq",
        "LanternFolder.pq",
        "LanternAdls.pq",
        "LanternDelta.pq",
        "queries/IndicatorValues.pq",
        "queries/DsgPosition.pq",
    ] {
        assert!(
            names.contains(format!("deploy/powerbi/{f}").as_str()),
            "deploy/powerbi/{f} was not found among {names:?}"
        );
    }
    assert!(
        docs.iter().any(|d| d.name.ends_with("README.md")),
        "the guide has no ```m block to check"
    );
    let parsed = parse(&docs);
    let errors = syntax_errors(&parsed);
    assert!(
        errors.is_empty(),
        "M that Power Query would refuse:\n{}",
        errors.join("\n")
    );
}

#[test]
fn the_parser_check_reports_broken_m_with_its_file_line_and_message() {
    let good = std::fs::read_to_string(kit().join("queries/IndicatorValues.pq")).unwrap();
    // a comma left before `in`, as when a step is deleted in the editor
    let line = good
        .lines()
        .position(|l| l.trim_start().starts_with("Typed ="))
        .unwrap();
    let mut dangling: Vec<String> = good.lines().map(str::to_string).collect();
    let close = dangling.iter().position(|l| l.trim() == ")").unwrap();
    dangling[close].push(',');
    let docs = vec![
        Doc {
            name: "good.pq".into(),
            text: good.clone(),
            first_line: 1,
        },
        Doc {
            name: "dangling.pq".into(),
            text: dangling.join("\n"),
            first_line: 1,
        },
        Doc {
            name: "unterminated.pq".into(),
            text: "let\n    Source = Lantern(\"marts\", \"dsg, \"position\")\nin\n    Source\n"
                .into(),
            first_line: 1,
        },
        Doc {
            name: "unclosed.pq".into(),
            text: "let\n    A = Table.SelectRows(B, each [x] > 1\nin\n    A\n".into(),
            first_line: 1,
        },
        Doc {
            name: "guide.md".into(),
            text: "let\n    x = 1 +\nin\n    x\n".into(),
            first_line: 40,
        },
    ];
    let parsed = parse(&docs);
    let errors = syntax_errors(&parsed);
    assert_eq!(
        errors.len(),
        4,
        "every broken document, and only those, is reported: {errors:#?}"
    );
    let find = |name: &str| {
        errors
            .iter()
            .find(|e| e.starts_with(&format!("{name}:")))
            .unwrap_or_else(|| panic!("{name} not reported: {errors:#?}"))
    };
    let at = |e: &str| -> u64 { e.split(':').nth(1).unwrap().parse().unwrap() };

    let e = find("dangling.pq");
    assert_eq!(
        at(e),
        close as u64 + 2,
        "the comma is found where `in` follows it: {e}"
    );
    assert!(e.contains("comma"), "{e}");
    assert!(
        close > line,
        "the broken line is the closing bracket of the typing step"
    );

    let e = find("unterminated.pq");
    assert_eq!(at(e), 2, "{e}");
    assert!(e.contains("Lex error: Unterminated string"), "{e}");

    let e = find("unclosed.pq");
    assert_eq!(
        at(e),
        3,
        "the parser stops at `in`, where `)` was wanted: {e}"
    );
    assert!(e.contains("right parenthesis"), "{e}");

    // a code block's lines are counted in the file that holds it
    let e = find("guide.md");
    assert_eq!(at(e), 42, "{e}");
    println!("{}", errors.join("\n"));
}

// ---- the tables and columns the queries name ----

/// `marts.area.table` → its columns and Arrow types, as `lantern sql` reads them.
type Schema = BTreeMap<String, Vec<(String, String)>>;

/// The M type a query gives a column of this Arrow type: text stays text (LA codes keep their
/// leading zeros), money is a fixed decimal, whole numbers are Int64.Type.
fn m_type(arrow: &str) -> Option<&'static str> {
    Some(match arrow {
        "Utf8" | "LargeUtf8" | "Utf8View" => "type text",
        "Date32" | "Date64" => "type date",
        "Float64" | "Float32" => "type number",
        "Int8" | "Int16" | "Int32" | "Int64" => "Int64.Type",
        "Boolean" => "type logical",
        a if a.starts_with("Decimal128") => "Currency.Type",
        a if a.starts_with("Timestamp") => "type datetimezone",
        _ => return None,
    })
}

fn unquote(text: &str) -> String {
    text.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text)
        .replace("\"\"", "\"")
}

/// What a query reads: the arguments of each `Lantern("zone", "area", "table")` call, and the
/// columns and types of each `Table.TransformColumnTypes(…, {{"column", type}, …})`.
fn reads(tokens: &[(String, String, u64)]) -> (Vec<(String, u64)>, Vec<(String, String, u64)>) {
    let kinds: Vec<&str> = tokens.iter().map(|t| t.0.as_str()).collect();
    let mut tables = vec![];
    let mut columns = vec![];
    for i in 0..tokens.len() {
        if tokens[i].0 == "Identifier"
            && tokens[i].1 == "Lantern"
            && kinds.get(i + 1) == Some(&"LeftParenthesis")
        {
            let call = [
                "TextLiteral",
                "Comma",
                "TextLiteral",
                "Comma",
                "TextLiteral",
                "RightParenthesis",
            ];
            if kinds.len() > i + 7 && kinds[i + 2..i + 8] == call {
                let parts = [2, 4, 6].map(|k| unquote(&tokens[i + k].1));
                tables.push((parts.join("."), tokens[i].2));
            } else {
                tables.push((
                    format!("(not three text literals at line {})", tokens[i].2),
                    tokens[i].2,
                ));
            }
        }
        if tokens[i].0 == "Identifier" && tokens[i].1 == "Table.TransformColumnTypes" {
            // {"column", <type tokens>} pairs up to the call's closing parenthesis
            let mut depth = 0i32;
            let mut j = i + 1;
            while j < tokens.len() {
                match kinds[j] {
                    "LeftParenthesis" => depth += 1,
                    "RightParenthesis" => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    "LeftBrace"
                        if kinds.get(j + 1) == Some(&"TextLiteral")
                            && kinds.get(j + 2) == Some(&"Comma") =>
                    {
                        let end = (j + 3..tokens.len())
                            .find(|&k| kinds[k] == "RightBrace")
                            .unwrap_or(tokens.len());
                        let ty: Vec<&str> =
                            tokens[j + 3..end].iter().map(|t| t.1.as_str()).collect();
                        columns.push((unquote(&tokens[j + 1].1), ty.join(" "), tokens[j + 1].2));
                        j = end;
                    }
                    _ => {}
                }
                j += 1;
            }
        }
    }
    (tables, columns)
}

/// What is wrong with the queries' tables and columns, against `schema`: each query in
/// `queries/` reads one table with `Lantern(…)` and types every column it has, no other, each
/// as `m_type` says; and every `"zone", "area", "table"` named anywhere in the kit — comments
/// and the guide too — is a table of the warehouse.
fn name_problems(docs: &[Doc], parsed: &[Parsed], schema: &Schema) -> Vec<String> {
    let mut problems = vec![];
    for p in parsed
        .iter()
        .filter(|p| p.name.contains("/queries/") || p.name.starts_with("queries/"))
    {
        let (tables, columns) = reads(&p.tokens);
        let [(table, line)] = tables.as_slice() else {
            problems.push(format!(
                "{}: reads {} tables with Lantern(…); a query reads one",
                p.name,
                tables.len()
            ));
            continue;
        };
        let Some(have) = schema.get(table) else {
            problems.push(format!(
                "{}:{line}: {table} is not a table of the warehouse",
                p.name
            ));
            continue;
        };
        let typed: BTreeSet<&str> = columns.iter().map(|c| c.0.as_str()).collect();
        for (column, ty, line) in &columns {
            match have.iter().find(|c| &c.0 == column) {
                None => problems.push(format!("{}:{line}: {table} has no column {column:?} (it has {:?})", p.name, have.iter().map(|c| &c.0).collect::<Vec<_>>())),
                Some((_, arrow)) => match m_type(arrow) {
                    Some(want) if want == ty => {}
                    Some(want) => problems.push(format!("{}:{line}: {table}.{column} is {arrow} in the warehouse: type it {want}, not {ty}", p.name)),
                    None => problems.push(format!("{}:{line}: {table}.{column} is {arrow}, a type the kit has no M type for (add it to m_type)", p.name)),
                },
            }
        }
        for (column, arrow) in have {
            if !typed.contains(column.as_str()) {
                problems.push(format!("{}: {table}.{column} ({arrow}) is not in the query's Table.TransformColumnTypes: add it", p.name));
            }
        }
    }
    // Lantern("marts", "dsg", "position"), and marts.dsg.position (marts.dsg.* for an area)
    let named = regex::Regex::new(
        r#""(clean|quarantine|marts|published)",\s*"([a-z0-9_]+)",\s*"([a-z0-9_]+)""#,
    )
    .unwrap();
    let dotted = regex::Regex::new(r"\b(clean|quarantine|marts|published)\.([a-z0-9_]+)\.([a-z0-9_]+|\*)").unwrap();
    for d in docs {
        for (i, line) in d.text.lines().enumerate() {
            for c in named.captures_iter(line).chain(dotted.captures_iter(line)) {
                let table = format!("{}.{}.{}", &c[1], &c[2], &c[3]);
                let exists = match table.strip_suffix('*') {
                    Some(area) => schema.keys().any(|t| t.starts_with(area)),
                    None => schema.contains_key(&table),
                };
                if !exists {
                    problems.push(format!(
                        "{}:{}: names {table}, which is not a table of the warehouse",
                        d.name,
                        d.first_line + i as u64
                    ));
                }
            }
        }
    }
    problems
}

#[test]
fn the_name_check_catches_tables_columns_and_types_the_warehouse_does_not_have() {
    let schema: Schema = [(
        "marts.dsg.position".to_string(),
        vec![
            ("la_code".to_string(), "Utf8".to_string()),
            ("allocation".to_string(), "Decimal128(18, 2)".to_string()),
        ],
    )]
    .into();
    let query = |body: &str| Doc {
        name: "deploy/powerbi/queries/Q.pq".into(),
        text: body.into(),
        first_line: 1,
    };
    let right = "let\n  S = Lantern(\"marts\", \"dsg\", \"position\"),\n  T = Table.TransformColumnTypes(S, {{\"la_code\", type text}, {\"allocation\", Currency.Type}})\nin\n  T\n";
    let cases = [
        (right.to_string(), None),
        (
            right.replace("\"position\"", "\"positions\""),
            Some("marts.dsg.positions is not a table"),
        ),
        (
            right.replace("\"allocation\", Currency", "\"allocations\", Currency"),
            Some("has no column \"allocations\""),
        ),
        (
            right.replace("{\"la_code\", type text}, ", ""),
            Some("marts.dsg.position.la_code (Utf8) is not in the query"),
        ),
        (
            right.replace("{\"la_code\", type text}", "{\"la_code\", Int64.Type}"),
            Some("type it type text, not Int64.Type"),
        ),
        (
            format!("// see LanternFolder(W, \"marts\", \"dsg\", \"forecast\")\n{right}"),
            Some("names marts.dsg.forecast"),
        ),
        (format!("// like marts.dsg.position and marts.dsg.*, not marts.dsgs.*\n{right}"), Some("names marts.dsgs.*")),
        (format!("// marts.dsg.position and marts.dsg.* are there\n{right}"), None),
    ];
    let docs: Vec<Doc> = cases.iter().map(|(text, _)| query(text)).collect();
    let parsed = parse(&docs);
    assert!(
        syntax_errors(&parsed).is_empty(),
        "{:?}",
        syntax_errors(&parsed)
    );
    for (k, (_, want)) in cases.iter().enumerate() {
        let problems = name_problems(&docs[k..=k], &parsed[k..=k], &schema);
        match want {
            None => assert!(problems.is_empty(), "case {k}: {problems:?}"),
            Some(w) => assert!(
                problems.iter().any(|p| p.contains(w)),
                "case {k}: wanted {w:?} among {problems:#?}"
            ),
        }
    }
}

#[test]
fn the_queries_name_tables_and_columns_a_demo_warehouse_has() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    ok(&[
        "demo",
        "--dir",
        dir.to_str().unwrap(),
        "--scale",
        "0.05",
        "--seed",
        "5",
    ]);
    let rows = sql_json(
        &dir.join("warehouse"),
        "select table_catalog, table_schema, table_name, column_name, data_type from information_schema.columns \
         where table_catalog in ('clean', 'quarantine', 'marts', 'published') order by table_catalog, table_schema, table_name, ordinal_position",
    );
    let mut schema = Schema::new();
    for r in &rows {
        let s = |k: &str| r[k].as_str().unwrap().to_string();
        schema
            .entry(format!(
                "{}.{}.{}",
                s("table_catalog"),
                s("table_schema"),
                s("table_name")
            ))
            .or_default()
            .push((s("column_name"), s("data_type")));
    }
    assert!(
        schema.contains_key("marts.indicators.indicator_values"),
        "the demo warehouse has no indicator values: {:?}",
        schema.keys()
    );

    let mut docs = kit_documents();
    let parsed = parse(&docs);
    // the guide's prose names tables too (its ```m blocks are among the documents already)
    let guide = kit().join("README.md");
    docs.push(Doc { name: "deploy/powerbi/README.md".into(), text: std::fs::read_to_string(&guide).unwrap(), first_line: 1 });
    // a document that does not parse has no tokens to check: its syntax error is the problem
    let mut problems = syntax_errors(&parsed);
    problems.extend(name_problems(&docs, &parsed, &schema));
    assert!(
        problems.is_empty(),
        "the Power BI kit names what a demo warehouse does not have:\n{}",
        problems.join("\n")
    );

    // the guide lists every query and function there is
    let guide = std::fs::read_to_string(kit().join("README.md")).unwrap();
    let queries: Vec<&Parsed> = parsed
        .iter()
        .filter(|p| p.name.starts_with("deploy/powerbi/queries/"))
        .collect();
    assert!(queries.len() >= 10, "{} queries", queries.len());
    for p in parsed.iter().filter(|p| !p.name.ends_with("README.md")) {
        let file = p.name.strip_prefix("deploy/powerbi/").unwrap();
        assert!(
            guide.contains(&format!("({file})")),
            "deploy/powerbi/README.md does not link {file}"
        );
    }
}
