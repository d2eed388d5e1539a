//! Hostile and broken input: every file lands in `clean` or `quarantine`, or is refused on its
//! own with a message; nothing is written outside the warehouse; no identifier leaks into a
//! message or a quarantined cell; analysts' SQL only reads. Each test runs the real binary.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{fixtures, lantern, run_records, sql_json};

const HEADER: &str = "CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\n";

/// A landing folder under `dir` holding one 903 header of ten good rows.
fn header_landing(dir: &Path) -> PathBuf {
    let landing = dir.join("landing");
    std::fs::create_dir_all(&landing).unwrap();
    std::fs::write(landing.join("header.csv"), format!("{HEADER}{}", header_rows())).unwrap();
    landing
}

/// Ten good 903 header rows (children 100001…100010).
fn header_rows() -> String {
    (1..=10).map(|i| format!("1000{i:02},1,14/05/2012,WBRI,A1234567890{i:02},,\n")).collect()
}

fn run(landing: &Path, warehouse: &Path, pipelines: &[&str]) -> std::process::Output {
    let mut args = vec!["run", "--landing", landing.to_str().unwrap(), "--warehouse", warehouse.to_str().unwrap(), "--la", "201", "--as-of", "2024-03-31"];
    args.extend(pipelines);
    lantern(&args)
}

fn text(out: &std::process::Output) -> String {
    format!("stdout:\n{}\nstderr:\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// The last run's record of each file: (status, error, rows read, clean, quarantined).
fn files_of_last_run(warehouse: &Path) -> Vec<(String, String, String, u64, u64, u64)> {
    let records = run_records(warehouse);
    let last = records.last().expect("a run record");
    last["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_string(),
                f["status"].as_str().unwrap().to_string(),
                f["error"].as_str().unwrap_or("").to_string(),
                f["rows_read"].as_u64().unwrap(),
                f["rows_clean"].as_u64().unwrap(),
                f["rows_quarantined"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn file<'a>(files: &'a [(String, String, String, u64, u64, u64)], name: &str) -> &'a (String, String, String, u64, u64, u64) {
    files.iter().find(|f| f.0.ends_with(name)).unwrap_or_else(|| panic!("{name} is not in the run record: {files:?}"))
}

fn count(warehouse: &Path, table: &str) -> u64 {
    let rows = sql_json(warehouse, &format!("select count(*) as n from {table}"));
    rows[0]["n"].as_u64().unwrap()
}

#[test]
fn an_la_code_in_a_file_never_becomes_a_path_outside_the_warehouse() {
    let tmp = tempfile::tempdir().unwrap();
    let cin = std::fs::read_to_string(fixtures().join("cin_census/BAR_cin_2022.xml")).unwrap();
    for (i, lea) in ["../../../../../../victim", "201/../../../quarantine/mosaic"].iter().enumerate() {
        let landing = tmp.path().join(format!("landing{i}"));
        let warehouse = tmp.path().join(format!("w{i}"));
        std::fs::create_dir_all(&landing).unwrap();
        std::fs::write(landing.join("cin.xml"), cin.replace("<LEA>201</LEA>", &format!("<LEA>{lea}</LEA>"))).unwrap();
        std::fs::write(landing.join("header.csv"), format!("{HEADER}{}", header_rows())).unwrap();
        let out = run(&landing, &warehouse, &["mosaic"]);
        assert_eq!(out.status.code(), Some(1), "a rejected file makes exit 1\n{}", text(&out));
        let files = files_of_last_run(&warehouse);
        let (_, status, error, read, _, _) = file(&files, "cin.xml");
        assert_eq!(status, "unreadable", "{files:?}");
        assert!(error.contains("not a three-digit DfE LA code"), "{error}");
        assert_eq!(*read, 0);
        // the good file beside it loaded
        assert_eq!(file(&files, "header.csv").4, 10);
        // nothing outside the warehouse, nothing in a folder the file named
        assert!(!tmp.path().join("victim").exists() && !Path::new("/victim").exists());
        assert!(!warehouse.join("clean/quarantine").exists());
        for f in common::all_files(&warehouse) {
            let rel = f.strip_prefix(&warehouse).unwrap().display().to_string();
            assert!(!rel.contains("..") && !rel.contains("victim"), "{rel}");
        }
    }
}

#[test]
fn a_quote_left_open_refuses_the_file_instead_of_merging_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let landing = tmp.path().join("landing");
    std::fs::create_dir_all(&landing).unwrap();
    let mut rows: Vec<String> = header_rows().lines().map(str::to_string).collect();
    rows[2] = format!("\"{}", rows[2]); // the third child's CHILD opens a quote that never closes
    std::fs::write(landing.join("header.csv"), format!("{HEADER}{}\n", rows.join("\n"))).unwrap();
    let warehouse = tmp.path().join("w");
    let out = run(&landing, &warehouse, &["mosaic"]);
    let files = files_of_last_run(&warehouse);
    let (_, status, error, read, clean, quarantined) = file(&files, "header.csv");
    assert_eq!((status.as_str(), *read, *clean, *quarantined), ("unreadable", 0, 0, 0), "{}", text(&out));
    assert!(error.starts_with("row 4: a quoted field opens here and is never closed"), "{error}");
}

#[test]
fn amounts_too_large_for_their_column_are_quarantined_never_wrapped() {
    let tmp = tempfile::tempdir().unwrap();
    let landing = tmp.path().join("landing");
    std::fs::create_dir_all(&landing).unwrap();
    let raw = std::fs::read(fixtures().join("s251/outturn_1314.csv")).unwrap();
    let text_1252: String = raw.iter().map(|&b| b as char).collect(); // byte for byte
    let mut lines: Vec<String> = text_1252.lines().take(4).map(str::to_string).collect();
    // TotalExpenditure of the first two lines: past decimal(18,2), and past i64
    for (line, big) in lines.iter_mut().skip(1).zip(["99999999999999999999999999", "9223372036854775808"]) {
        let mut cells: Vec<String> = line.split(',').map(str::to_string).collect();
        let n = cells.len();
        cells[n - 6] = big.to_string();
        *line = cells.join(",");
    }
    let bytes: Vec<u8> = format!("{}\n", lines.join("\n")).chars().map(|c| c as u32 as u8).collect();
    std::fs::write(landing.join("outturn_1314.csv"), bytes).unwrap();
    let warehouse = tmp.path().join("w");
    let out = run(&landing, &warehouse, &["finance"]);
    let files = files_of_last_run(&warehouse);
    let (_, status, _, read, clean, quarantined) = file(&files, "outturn_1314.csv");
    assert_eq!((status.as_str(), *read, *clean, *quarantined), ("received", 3, 1, 2), "{}", text(&out));
    let rows = sql_json(&warehouse, "select _message from quarantine.finance.s251_outturn");
    assert_eq!(rows.len(), 2);
    for r in rows {
        assert!(r["_message"].as_str().unwrap().contains("is not an amount that fits"), "{r}");
    }
    let clean_rows = sql_json(&warehouse, "select cast(max(abs(\"TotalExpenditure\")) as double) as m from clean.finance.s251_outturn");
    assert!(clean_rows[0]["m"].as_f64().unwrap() < 1e12, "{clean_rows:?}");
}

#[test]
fn a_row_with_a_missing_field_is_quarantined_whole_and_protected() {
    let tmp = tempfile::tempdir().unwrap();
    let landing = tmp.path().join("landing");
    std::fs::create_dir_all(&landing).unwrap();
    // the second child's SEX was deleted by hand: every value after it moves one column left
    let rows = format!("{HEADER}{}200002,28/04/2008,WBRI,B123456789012,,\n", header_rows());
    std::fs::write(landing.join("header.csv"), rows).unwrap();
    let warehouse = tmp.path().join("w");
    let out = run(&landing, &warehouse, &["mosaic"]);
    let files = files_of_last_run(&warehouse);
    assert_eq!(file(&files, "header.csv").4, 10, "{}", text(&out));
    assert_eq!(file(&files, "header.csv").5, 1);
    let q = sql_json(&warehouse, "select * from quarantine.mosaic.ssda903_header");
    assert_eq!(q.len(), 1);
    let all = serde_json::to_string(&q).unwrap();
    for secret in ["200002", "28/04/2008", "2008-04", "B123456789012", "WBRI"] {
        assert!(!all.contains(secret), "{secret} is in the quarantine: {all}");
    }
    assert!(q[0]["_message"].as_str().unwrap().contains("row has 6 fields but the header has 7"), "{all}");
    // the run record and its report say no more
    let records = std::fs::read_to_string(common::all_files(&warehouse.join("_runs"))[0].clone()).unwrap();
    for secret in ["200002", "28/04/2008", "B123456789012"] {
        assert!(!records.contains(secret), "{secret} is in the run record");
    }
}

#[test]
fn only_regular_files_inside_the_landing_folder_are_read() {
    let tmp = tempfile::tempdir().unwrap();
    let landing = header_landing(tmp.path());
    std::fs::create_dir_all(landing.join("sub")).unwrap();
    let outside = tmp.path().join("outside.csv");
    std::fs::write(&outside, format!("{HEADER}999999,1,14/05/2012,WBRI,Z123456789012,,\n")).unwrap();
    let link = |target: &Path, name: &str| std::os::unix::fs::symlink(target, landing.join(name)).unwrap();
    link(Path::new("/etc/passwd"), "passwd_symlink.csv");
    link(&outside, "outside_link.csv");
    link(Path::new("/dev/zero"), "zero.csv");
    link(&tmp.path().join("missing.csv"), "dangling.csv");
    link(&landing.join("loop_b.csv"), "loop_a.csv");
    link(&landing.join("loop_a.csv"), "loop_b.csv");
    link(&landing.join("header.csv"), "sub/inside_link.csv"); // a link inside the landing folder is fine
    let fifo = landing.join("fifo.csv");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let warehouse = tmp.path().join("w");

    // a named pipe would block whoever opens it: the run must finish by itself
    let mut child = common::run_command(&landing, &warehouse, "2024-03-31")
        .arg("mosaic")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if t0.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("lantern run hung on a named pipe or a device");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(status.code(), Some(1), "refused entries make the run end with exit 1");
    let files = files_of_last_run(&warehouse);
    for (name, why) in [
        ("passwd_symlink.csv", "outside the landing folder"),
        ("outside_link.csv", "outside the landing folder"),
        ("zero.csv", "outside the landing folder"),
        ("dangling.csv", "leads nowhere"),
        ("loop_a.csv", "leads nowhere"),
        ("fifo.csv", "a named pipe"),
    ] {
        let (_, status, error, read, _, _) = file(&files, name);
        assert_eq!((status.as_str(), *read), ("unreadable", 0), "{name}");
        assert!(error.contains(why), "{name}: {error}");
    }
    // the good files loaded: the file, and the link to it inside the landing folder (a duplicate)
    assert_eq!(file(&files, "header.csv").4, 10);
    assert_eq!(file(&files, "inside_link.csv").3, 10);
    assert_eq!(count(&warehouse, "clean.mosaic.ssda903_header"), 10);
    // nothing of /etc/passwd or the outside file was archived, and nothing stayed staged
    for f in common::all_files(&warehouse) {
        let bytes = std::fs::read(&f).unwrap_or_default();
        let s = String::from_utf8_lossy(&bytes);
        assert!(!s.contains("root:") && !s.contains("Z123456789012"), "{}", f.display());
    }
    assert!(!warehouse.join("_staging").exists() || std::fs::read_dir(warehouse.join("_staging")).unwrap().next().is_none());

    // `lantern validate` refuses them too, at once
    let out = lantern(&["validate", fifo.to_str().unwrap(), landing.join("zero.csv").to_str().unwrap()]);
    let s = text(&out);
    assert_eq!(out.status.code(), Some(1), "{s}");
    assert!(s.contains("a named pipe") && s.contains("a device"), "{s}");
}

/// An XLSX workbook (written with rust_xlsxwriter) with the 903 header's columns and rows.
fn workbook(path: &Path, extra: impl FnOnce(&mut rust_xlsxwriter::Worksheet)) {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (r, line) in format!("{HEADER}{}", header_rows()).lines().enumerate() {
        for (c, cell) in line.split(',').enumerate() {
            ws.write_string(r as u32, c as u16, cell).unwrap();
        }
    }
    extra(ws);
    wb.save(path).unwrap();
}

#[test]
fn readers_have_limits_and_one_file_past_them_stops_nothing_else() {
    let tmp = tempfile::tempdir().unwrap();
    let landing = tmp.path().join("landing");
    std::fs::create_dir_all(&landing).unwrap();
    // a cell at XFD1048576: 17 billion cells if laid out
    workbook(&landing.join("wide.xlsx"), |ws| {
        ws.write_string(1_048_575, 16_383, "x").unwrap();
    });
    // one huge shared string (past what Excel writes: put in by hand)
    workbook(&landing.join("big_string.xlsx"), |ws| {
        ws.write_string(11, 0, "PLACEHOLDER").unwrap();
    });
    common::patch_zip(&landing.join("big_string.xlsx"), "xl/sharedStrings.xml", |x| x.replace("PLACEHOLDER", &"y".repeat(2 << 20)));
    // XML nested 100,000 deep
    std::fs::write(landing.join("deep.xml"), format!("<Message>{}{}</Message>", "<a>".repeat(100_000), "</a>".repeat(100_000))).unwrap();
    // a good workbook beside them
    workbook(&landing.join("good.xlsx"), |_| {});
    let warehouse = tmp.path().join("w");
    let out = run(&landing, &warehouse, &["mosaic"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let files = files_of_last_run(&warehouse);
    for (name, why) in [("wide.xlsx", "sheet_cells"), ("big_string.xlsx", "field_bytes"), ("deep.xml", "xml_depth")] {
        let (_, status, error, ..) = file(&files, name);
        assert_eq!(status, "unreadable", "{name}");
        assert!(error.contains(why), "{name}: {error}");
    }
    assert_eq!(file(&files, "good.xlsx").4, 10);
}

#[test]
fn lantern_sql_only_reads_the_warehouse() {
    let tmp = tempfile::tempdir().unwrap();
    let landing = header_landing(tmp.path());
    let warehouse = tmp.path().join("w");
    let w = warehouse.to_str().unwrap();
    assert!(run(&landing, &warehouse, &["mosaic"]).status.success());
    // what a killed run leaves behind does not stop a reader
    std::fs::create_dir_all(warehouse.join("_staging/20240101T000000000Z-dead/clean")).unwrap();
    assert_eq!(count(&warehouse, "clean.mosaic.ssda903_header"), 10);
    let before: Vec<PathBuf> = common::all_files(&warehouse);
    let target = tmp.path().join("copied.csv");
    for (sql, what) in [
        (format!("COPY (SELECT * FROM clean.mosaic.ssda903_header) TO '{}'", target.display()), "COPY"),
        ("CREATE EXTERNAL TABLE p STORED AS CSV LOCATION '/etc/passwd'".to_string(), "CREATE"),
        ("INSERT INTO clean.mosaic.ssda903_header SELECT * FROM clean.mosaic.ssda903_header".to_string(), "INSERT"),
        ("DROP TABLE clean.mosaic.ssda903_header".to_string(), "DROP"),
    ] {
        let out = lantern(&["sql", "--warehouse", w, "-e", &sql]);
        let s = text(&out);
        assert!(!out.status.success(), "{what} was allowed: {s}");
        assert!(s.contains("only reads the warehouse"), "{what}: {s}");
    }
    assert!(!target.exists());
    // reading writes nothing into the warehouse (no spill folder in it)
    assert_eq!(count(&warehouse, "clean.mosaic.ssda903_header"), 10);
    let out_file = tmp.path().join("out.csv");
    let out = lantern(&["sql", "--warehouse", w, "-e", "select count(*) as n from clean.mosaic.ssda903_header", "--format", "csv", "--output", out_file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&out_file).unwrap().trim(), "n\n10");
    assert_eq!(common::all_files(&warehouse), before, "lantern sql changed the warehouse's files");

    // a warehouse on a read-only file system (a bind mount in a mount namespace of its own, as
    // root), with a killed run's staging in it: queryable
    std::fs::create_dir_all(warehouse.join("_staging/20240101T000000000Z-dead/clean")).unwrap();
    let query = format!(
        "mount --bind {w} {w} && mount -o remount,bind,ro {w} && touch {w}/probe 2>/dev/null; test ! -e {w}/probe && {bin} sql --warehouse {w} -e 'select count(*) as n from clean.mosaic.ssda903_header' --format csv",
        bin = env!("CARGO_BIN_EXE_lantern")
    );
    let out = Command::new("unshare").args(["-m", "sh", "-c", &query]).env("LANTERN_PSEUDONYM_KEY", common::KEY).output().expect("unshare (util-linux)");
    assert!(out.status.success(), "a read-only warehouse could not be queried: {}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "n\n10");
}

#[test]
fn a_run_whose_report_cannot_be_written_does_not_say_succeeded() {
    let tmp = tempfile::tempdir().unwrap();
    let landing = header_landing(tmp.path());
    let warehouse = tmp.path().join("w");
    std::fs::create_dir_all(&warehouse).unwrap();
    std::fs::write(warehouse.join("_reports"), "a file where the reports folder should be").unwrap();
    let out = run(&landing, &warehouse, &["mosaic"]);
    assert!(!out.status.success(), "{}", text(&out));
    let records = run_records(&warehouse);
    let outcome = records.last().unwrap()["outcome"].as_str().unwrap().to_string();
    assert!(outcome.starts_with("failed: the run report could not be written"), "{outcome}");
    let runs = common::ok(&["runs", "--warehouse", warehouse.to_str().unwrap()]);
    assert!(!runs.contains("succeeded"), "{runs}");
}

/// A ledger extract for some periods of 2024-25: `lines` lines a period, amounts period × 100 + line.
fn ledger(periods: std::ops::RangeInclusive<i64>, lines: i64, plus: i64) -> String {
    let mut s = String::from("Fiscal Year,Period Num,Accounting Date,Cost Centre,Natural Account,Entered Amount,Line Description\n");
    for p in periods {
        for l in 1..=lines {
            s.push_str(&format!("2024-25,{p},15/{:02}/{},CC100,5100,{}.00,line {l}\n", (p + 2) % 12 + 1, if p <= 9 { 2024 } else { 2025 }, p * 100 + l + plus));
        }
    }
    s
}

#[test]
fn ledger_extracts_by_period_add_up_and_a_resent_period_replaces_only_itself() {
    let tmp = tempfile::tempdir().unwrap();
    let warehouse = tmp.path().join("w");
    let load = |name: &str, body: String| {
        let landing = tmp.path().join(format!("landing-{name}"));
        std::fs::create_dir_all(&landing).unwrap();
        std::fs::write(landing.join(format!("{name}.csv")), body).unwrap();
        let out = run(&landing, &warehouse, &["finance"]);
        assert!(out.status.success(), "{}", text(&out));
    };
    let by_period = || -> Vec<(i64, i64, f64)> {
        sql_json(&warehouse, "select period, count(*) as n, cast(sum(amount) as double) as total from clean.finance.ledger_transactions group by period order by period")
            .iter()
            .map(|r| (r["period"].as_i64().unwrap(), r["n"].as_i64().unwrap(), r["total"].as_f64().unwrap()))
            .collect()
    };
    let expected = |p: i64, plus: i64| (p, 3, (1..=3).map(|l| (p * 100 + l + plus) as f64).sum::<f64>());
    load("ledger_p01_06", ledger(1..=6, 3, 0));
    load("ledger_p07_12", ledger(7..=12, 3, 0));
    assert_eq!(by_period(), (1..=12).map(|p| expected(p, 0)).collect::<Vec<_>>(), "periods 1–6 must survive the load of 7–12");
    let records = run_records(&warehouse);
    let inc = &records.last().unwrap()["increments"];
    assert!(inc.as_array().unwrap().iter().any(|i| i["zone"] == "clean" && i["kept"] == 18 && i["replaced"] == 0), "{inc}");
    // periods 1–6 sent again, corrected: they replace their earlier rows, 7–12 stay
    load("ledger_p01_06_corrected", ledger(1..=6, 3, 10_000));
    let want: Vec<_> = (1..=12).map(|p| expected(p, if p <= 6 { 10_000 } else { 0 })).collect();
    assert_eq!(by_period(), want);
    let records = run_records(&warehouse);
    let inc = &records.last().unwrap()["increments"];
    assert!(inc.as_array().unwrap().iter().any(|i| i["zone"] == "clean" && i["kept"] == 18 && i["replaced"] == 18), "{inc}");
}

/// Starts `lantern run` on the shared fixtures, waits until `ready` holds, sends SIGTERM and
/// returns how the process ended.
fn terminate_when(landing: &Path, warehouse: &Path, ready: impl Fn() -> bool) -> (Option<i32>, String) {
    let child = common::run_command(landing, warehouse, "2025-03-31")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while !ready() {
        assert!(t0.elapsed() < Duration::from_secs(300), "the run never reached the point to stop it at");
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(Command::new("kill").args(["-s", "TERM", &child.id().to_string()]).status().unwrap().success());
    let out = child.wait_with_output().unwrap();
    (out.status.code(), text(&out))
}

fn staged(warehouse: &Path, pred: impl Fn(&str) -> bool) -> bool {
    common::all_files(&warehouse.join("_staging")).iter().any(|p| pred(&p.display().to_string()))
}

#[test]
fn sigterm_abandons_a_run_at_its_next_safe_point_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let landing = tmp.path().join("landing");
    common::land(&landing, &common::mosaic_fixture_files());
    // while reading files: nothing is committed
    let w1 = tmp.path().join("w1");
    let (code, said) = terminate_when(&landing, &w1, || staged(&w1, |p| p.ends_with(".parquet")));
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("stopping"), "{said}");
    let records = run_records(&w1);
    assert_eq!(records.len(), 1);
    assert!(records[0]["outcome"].as_str().unwrap().starts_with("abandoned: stopped by a signal while reading files"), "{}", records[0]["outcome"]);
    assert!(!w1.join("clean").exists() || common::all_files(&w1.join("clean")).is_empty(), "a stopped run committed data");
    assert!(!staged(&w1, |_| true), "staging left behind");
    // while models build: the data stays committed, the marts as they were (none), the record says so
    let w2 = tmp.path().join("w2");
    let (code, said) = terminate_when(&landing, &w2, || staged(&w2, |p| p.contains("-models/") && p.ends_with(".parquet")));
    assert_eq!(code, Some(2), "{said}");
    let records = run_records(&w2);
    let outcome = records.last().unwrap()["outcome"].as_str().unwrap().to_string();
    assert!(outcome.starts_with("abandoned: stopped by a signal while the models built"), "{outcome}");
    assert!(count(&w2, "clean.mosaic.ssda903_header") > 0);
    assert!(!w2.join("marts").exists() || common::all_files(&w2.join("marts")).is_empty(), "a stopped build swapped marts in");
}
