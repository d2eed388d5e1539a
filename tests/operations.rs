//! Operating Lantern: the warehouse writer lock between processes, the run report in a real
//! browser, the alert on a failed run, and the example deployment files.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{fixtures, KEY};

/// A small MOSAIC landing: the 903 header (one row quarantined) and the placed-for-adoption
/// errors file (every row quarantined).
fn landing(dir: &Path) -> PathBuf {
    let l = dir.join("landing");
    common::land(&l, &[fixtures().join("ssda903/header.csv"), fixtures().join("ssda903/placed_for_adoption_errors.csv")]);
    l
}

fn lantern_cmd(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lantern"));
    c.args(args)
        .env("LANTERN_PSEUDONYM_KEY", KEY)
        .env_remove("LANTERN_PSEUDONYM_KEY_FILE")
        .env_remove("LANTERN_CONFIG")
        .env_remove("LANTERN_WAREHOUSE")
        .env_remove("LANTERN_LA_CODE")
        .env_remove("FAILPOINTS")
        .env_remove("LANTERN_LOCK_WAIT");
    c
}

fn run_args<'a>(wh: &'a str, landing: &'a str) -> Vec<&'a str> {
    vec!["--warehouse", wh, "run", "mosaic", "--landing", landing, "--la", "201", "--as-of", "2024-03-31"]
}

fn text(o: &Output) -> String {
    format!("status {:?}\nstdout:\n{}\nstderr:\n{}", o.status, String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn count(wh: &Path, table: &str) -> i64 {
    common::sql_json(wh, &format!("select count(*) as n from {table}"))[0]["n"].as_i64().unwrap()
}

#[test]
fn two_runs_at_once_one_refuses_or_waits_and_the_warehouse_stays_whole() {
    let dir = tempfile::tempdir().unwrap();
    let land = landing(dir.path());
    let wh = dir.path().join("wh");
    let (whs, ls) = (wh.to_str().unwrap(), land.to_str().unwrap());
    // the first run pauses between staging and commit, holding the lock
    let first = lantern_cmd(&run_args(whs, ls)).env("FAILPOINTS", "before-commit=sleep(4000)").stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let t0 = Instant::now();
    while !std::fs::read_to_string(wh.join("_lock")).unwrap_or_default().contains("lantern run") {
        assert!(t0.elapsed() < Duration::from_secs(60), "the first run never took the lock");
        std::thread::sleep(Duration::from_millis(50));
    }
    // a second run that may not wait is refused at once, and writes nothing
    let refused = lantern_cmd(&run_args(whs, ls)).output().unwrap();
    assert_eq!(refused.status.code(), Some(75), "{}", text(&refused));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("another lantern process is writing to this warehouse") && err.contains("lantern run mosaic"), "{err}");
    // a third that may wait starts once the first has finished
    let waited = lantern_cmd(&[run_args(whs, ls), vec!["--wait", "120"]].concat()).output().unwrap();
    let first = first.wait_with_output().unwrap();
    assert!(first.status.success(), "{}", text(&first));
    assert!(waited.status.success(), "{}", text(&waited));
    let records = common::run_records(&wh);
    assert_eq!(records.len(), 2, "the refused run left no record");
    let (a, b) = (&records[0], &records[1]);
    assert!(b["started"].as_str().unwrap() >= a["finished"].as_str().unwrap(), "the waiting run started after the first finished: {a} {b}");
    for r in &records {
        assert_eq!(r["outcome"], "succeeded");
    }
    // consistent: the second run replaced the first's partitions, nothing doubled, nothing staged
    assert_eq!(count(&wh, "clean.mosaic.ssda903_header"), 2674);
    assert_eq!(count(&wh, "quarantine.mosaic.ssda903_header"), 1);
    assert_eq!(count(&wh, "quarantine.mosaic.ssda903_placed_for_adoption"), 30);
    assert!(common::all_files(&wh.join("_staging")).is_empty());
    // two started at the same moment, neither willing to wait: exactly one writes
    let start = || lantern_cmd(&run_args(whs, ls)).env("FAILPOINTS", "before-commit=sleep(3000)").stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let (a, b) = (start(), start());
    let mut codes = vec![a.wait_with_output().unwrap().status.code(), b.wait_with_output().unwrap().status.code()];
    codes.sort();
    assert_eq!(codes, [Some(0), Some(75)]);
    assert_eq!(common::run_records(&wh).len(), 3);
    assert_eq!(count(&wh, "clean.mosaic.ssda903_header"), 2674);
}

/// Chromium from Debian, installed with apt-get when missing (CI is a fresh Debian machine,
/// running as root). Never skipped.
fn chromium() -> PathBuf {
    let p = PathBuf::from("/usr/bin/chromium");
    if !p.exists() {
        let ok = Command::new("sh")
            .args(["-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium"])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok && p.exists(), "this test needs Debian's chromium package: apt-get install chromium");
    }
    p
}

/// Runs headless Chromium on a page; (standard output, console lines from its log).
fn browse(page: &Path, extra: &[&str]) -> (String, Vec<String>) {
    let out = Command::new(chromium())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--enable-logging=stderr", "--v=0", "--window-size=1200,2400"])
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "chromium failed: {}", text(&out));
    let console = String::from_utf8_lossy(&out.stderr).lines().filter(|l| l.contains(":CONSOLE")).map(str::to_string).collect();
    (String::from_utf8_lossy(&out.stdout).to_string(), console)
}

#[test]
fn the_run_report_renders_in_chromium_with_the_runs_quarantine_counts() {
    let dir = tempfile::tempdir().unwrap();
    let land = landing(dir.path());
    let wh = dir.path().join("wh");
    let (whs, ls) = (wh.to_str().unwrap(), land.to_str().unwrap());
    common::ok(&run_args(whs, ls));
    // a second run: the report compares with the first and charts both
    std::fs::copy(fixtures().join("ssda903/missing.csv"), land.join("missing.csv")).unwrap();
    let out = common::ok(&run_args(whs, ls));
    let record = common::run_records(&wh).pop().unwrap();
    let run_id = record["run_id"].as_str().unwrap();
    assert!(out.contains(&format!("report: {}", wh.canonicalize().unwrap().join("_reports").join(format!("{run_id}.html")).display())), "{out}");
    let latest = wh.join("_reports/latest.html");
    let html = std::fs::read_to_string(&latest).unwrap();
    assert_eq!(html, std::fs::read_to_string(wh.join(format!("_reports/{run_id}.html"))).unwrap());
    // self-contained: nothing to fetch
    for external in ["src=", "href=", "url(", "http:", "https:", "<script", "@import"] {
        assert!(!html.contains(external), "the report refers to something outside itself: {external}");
    }
    // the browser: a screenshot, no console errors, and the run's counts on the page
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-latest.png");
    let _ = std::fs::remove_file(&shot);
    let (_, console) = browse(&latest, &[&format!("--screenshot={}", shot.display())]);
    assert!(console.is_empty(), "console messages: {console:?}");
    let png = std::fs::read(&shot).unwrap();
    assert!(png.len() > 20_000 && png.starts_with(b"\x89PNG"), "screenshot {} bytes", png.len());
    let (dom, console) = browse(&latest, &["--dump-dom"]);
    assert!(console.is_empty(), "console messages: {console:?}");
    assert!(dom.contains("<b id=\"rows-quarantined\">31</b>"), "quarantined total (1 header + 30 placed for adoption)");
    assert!(dom.contains("<b id=\"rows-read\">2748</b>") && dom.contains("<b id=\"rows-clean\">2717</b>"));
    let rule_row = |rule: &str, n: u64| format!("<td><code>{rule}</code></td><td class=\"n\">{n}</td>");
    assert!(dom.contains(&rule_row("ssda903_placed_for_adoption.REASON_PLACED_CEASED.codes", 30)), "{dom}");
    assert!(dom.contains(&rule_row("ssda903_header.MOTHER.codes", 1)));
    assert!(dom.contains("<td class=\"ex\">placed_for_adoption_errors.csv rows 2, 3, 4, 5, 6</td>"), "example row numbers");
    assert!(dom.contains("<li>new table this run: mosaic.ssda903_missing</li>"), "schema changes since the first run");
    assert!(dom.contains("<span class=\"badge ok\" id=\"outcome\">succeeded</span>"));
    // no identifier from the inputs: the header's CHILD ids and UPNs
    let header = std::fs::read_to_string(fixtures().join("ssda903/header.csv")).unwrap();
    for line in header.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        for id in [cells[0], cells[4]].into_iter().filter(|c| c.len() >= 6) {
            assert!(!html.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| w == id), "identifier {id} in the report");
        }
    }
    // the check above would have seen a console error: a page that makes one is caught
    let bad = dir.path().join("bad.html");
    std::fs::write(&bad, "<!DOCTYPE html><p>x</p><script>console.error('boom')</script>").unwrap();
    assert_eq!(browse(&bad, &["--dump-dom"]).1.len(), 1);
}

#[test]
fn a_failed_run_exits_non_zero_and_alerts_with_a_summary_free_of_identifiers() {
    let dir = tempfile::tempdir().unwrap();
    let land = landing(dir.path());
    let wh = dir.path().join("wh");
    // a project whose mosaic pipeline expects far more rows than arrive, and fails on it
    let project = dir.path().join("project");
    common::ok(&["init", project.to_str().unwrap()]);
    let p = project.join("pipelines/mosaic.toml");
    let mut toml = std::fs::read_to_string(&p).unwrap();
    toml.push_str("\n[expect]\nrows_min = 1000000\nmax_age = \"1d\"\non_break = \"fail\"\n");
    std::fs::write(&p, toml).unwrap();
    let alert = dir.path().join("alert.json");
    let config = dir.path().join("lantern.toml");
    std::fs::write(&config, format!("[alert]\ncommand = \"cat > '{}'; echo \\\"$LANTERN_ALERT_RUN_ID\\\" > '{}.id'\"\n", alert.display(), alert.display())).unwrap();
    let out = lantern_cmd(&[&["--config", config.to_str().unwrap(), "--project", project.to_str().unwrap()][..], &run_args(wh.to_str().unwrap(), land.to_str().unwrap())].concat()).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("expectation not met (fail): pipeline mosaic expected at least 1000000 rows read; got 2705 rows read"), "{stdout}");
    let body = std::fs::read_to_string(&alert).expect("the alert command ran");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let record = common::run_records(&wh).pop().unwrap();
    assert_eq!(v["run_id"], record["run_id"]);
    assert_eq!(std::fs::read_to_string(format!("{}.id", alert.display())).unwrap().trim(), record["run_id"].as_str().unwrap());
    assert_eq!(v["outcome"], "failed: expectations not met");
    assert_eq!(record["outcome"], "failed: expectations not met");
    assert_eq!(v["pipelines"], serde_json::json!(["mosaic"]));
    assert_eq!((v["rows"]["read"].as_u64(), v["rows"]["clean"].as_u64(), v["rows"]["quarantined"].as_u64()), (Some(2705), Some(2674), Some(31)));
    assert_eq!(v["files"]["received"].as_u64(), Some(record["files"].as_array().unwrap().len() as u64));
    let broken = v["expectations_broken"].as_array().unwrap();
    assert_eq!(broken.len(), 1, "freshness is met (files just copied): {broken:?}");
    assert_eq!((broken[0]["check"].as_str(), broken[0]["actual"].as_str()), (Some("rows"), Some("2705 rows read")));
    assert!(v["report"].as_str().unwrap().ends_with(&format!("{}.html", record["run_id"].as_str().unwrap())));
    // nothing from the rows: no CHILD id, UPN or date of birth from the inputs, no file names
    for f in ["header.csv", "placed_for_adoption_errors.csv"] {
        assert!(!body.contains(f));
        let data = std::fs::read_to_string(land.join(f)).unwrap();
        for line in data.lines().skip(1) {
            for cell in line.split(',').filter(|c| c.len() >= 5) {
                assert!(!body.split(|c: char| c == '"' || c == ',' || c.is_whitespace()).any(|w| w == cell), "{cell} from {f} is in the alert:\n{body}");
            }
        }
    }
}

#[test]
fn the_example_deployment_loads_and_the_unit_verifies() {
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
    // the example lantern.toml is what Lantern reads: `lantern runs` with it succeeds
    let dir = tempfile::tempdir().unwrap();
    let config = std::fs::read_to_string(deploy.join("lantern.toml")).unwrap();
    let local = config.replace("/srv/lantern/", &format!("{}/", dir.path().display()));
    std::fs::write(dir.path().join("lantern.toml"), &local).unwrap();
    std::fs::create_dir_all(dir.path().join("landing")).unwrap();
    let out = lantern_cmd(&["--config", dir.path().join("lantern.toml").to_str().unwrap(), "runs", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(dir.path().join("warehouse").is_dir(), "the example's warehouse setting was used");
    let settings: toml::Value = toml::from_str(&config).unwrap();
    assert!(settings["alert"]["command"].as_str().unwrap().contains("curl"));
    // the environment file names the key file, never a key
    let env = std::fs::read_to_string(deploy.join("lantern.env")).unwrap();
    assert!(env.lines().any(|l| l.starts_with("LANTERN_PSEUDONYM_KEY_FILE=")));
    assert!(!env.lines().any(|l| l.starts_with("LANTERN_PSEUDONYM_KEY=")));
    // the unit runs `lantern serve` as an unprivileged user, hardened
    let unit = std::fs::read_to_string(deploy.join("lantern.service")).unwrap();
    for line in ["User=lantern", "ExecStart=/usr/local/bin/lantern serve", "NoNewPrivileges=yes", "ProtectSystem=strict", "KillMode=mixed", "EnvironmentFile=/etc/lantern/lantern.env"] {
        assert!(unit.lines().any(|l| l.trim() == line), "{line} missing from lantern.service");
    }
    // systemd-analyze verify, where systemd is installed: the unit needs its binary and user
    if Path::new("/usr/bin/systemd-analyze").exists() {
        let root = tempfile::tempdir().unwrap();
        let unit_path = root.path().join("lantern.service");
        // verify checks that ExecStart exists: point it at the built binary
        std::fs::write(&unit_path, unit.replace("/usr/local/bin/lantern", env!("CARGO_BIN_EXE_lantern"))).unwrap();
        let out = Command::new("systemd-analyze").args(["verify", "--man=no"]).arg(&unit_path).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        let problems: Vec<&str> = err.lines().filter(|l| l.contains("lantern.service")).collect();
        assert!(out.status.success() && problems.is_empty(), "systemd-analyze verify: {}", text(&out));
    }
    // the Power BI kit is there
    for f in ["powerbi/LanternFolder.pq", "powerbi/LanternAdls.pq", "powerbi/README.md", "Dockerfile"] {
        assert!(deploy.join(f).is_file(), "deploy/{f} missing");
    }
}

#[test]
fn a_key_file_in_lantern_toml_gives_the_pseudonyms_the_same_key_in_the_environment_gives() {
    let dir = tempfile::tempdir().unwrap();
    let land = landing(dir.path());
    std::fs::create_dir_all(dir.path().join("secrets")).unwrap();
    std::fs::write(dir.path().join("secrets/pseudonym.key"), format!("{KEY}\n")).unwrap();
    let config = dir.path().join("lantern.toml");
    std::fs::write(&config, "key_file = \"secrets/pseudonym.key\"\n").unwrap();
    let children = |wh: &Path| -> Vec<String> {
        let rows = common::sql_json(wh, "select * from clean.mosaic.ssda903_header");
        let mut ids: Vec<String> = rows.iter().map(|r| r.get("child").or(r.get("CHILD")).and_then(|v| v.as_str()).unwrap_or_else(|| panic!("no child in {r}")).to_string()).collect();
        ids.sort();
        ids
    };
    let (by_env, by_file) = (dir.path().join("by-env"), dir.path().join("by-file"));
    let out = lantern_cmd(&run_args(by_env.to_str().unwrap(), land.to_str().unwrap())).output().unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out));
    // the key comes from the file lantern.toml names (relative to it), not from the environment
    let mut args = vec!["--config", config.to_str().unwrap()];
    args.extend(run_args(by_file.to_str().unwrap(), land.to_str().unwrap()));
    let out = lantern_cmd(&args).env_remove("LANTERN_PSEUDONYM_KEY").output().unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("generated a pseudonymisation key"), "{}", text(&out));
    let ids = children(&by_env);
    assert!(!ids.is_empty());
    assert_eq!(ids, children(&by_file));
    // a key file that cannot be read stops the run before it reads anything
    std::fs::write(&config, "key_file = \"secrets/absent.key\"\n").unwrap();
    let out = lantern_cmd(&args).env_remove("LANTERN_PSEUDONYM_KEY").output().unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("absent.key"), "{}", text(&out));
}
