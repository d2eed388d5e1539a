//! Issue 8: the warehouse in object stores. Azurite (the Azure Storage emulator, from npm) and
//! moto's S3 server (from PyPI) run on loopback, started here; the same runs go into a warehouse
//! on local disk and into each store, and everything `lantern sql` sees — clean, quarantine and
//! every model — must be the same. A commit that fails part-way leaves the store as it was.

mod common;
use common::*;

use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const AZURITE: &str = "azurite@3.35.0";
const STORE_PACKAGES: [&str; 2] = ["moto[server]==5.2.5", "azure-storage-blob==12.31.1"];
const AZURITE_KEY: &str = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

fn store_python() -> &'static str {
    static P: OnceLock<String> = OnceLock::new();
    P.get_or_init(|| python_packages("store-packages", &STORE_PACKAGES, &["moto.server", "boto3", "azure.storage.blob"]))
}

/// Azurite's blob server, installed with npm into the test folder on first use.
fn azurite_bin() -> &'static Path {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("node-packages");
        let bin = dir.join("node_modules/.bin/azurite-blob");
        if !bin.exists() {
            let fresh = dir.with_file_name(format!("node-packages.{}", std::process::id()));
            let out = Command::new("npm")
                .args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
                .arg(&fresh)
                .arg(AZURITE)
                .output()
                .expect("npm (with Node.js) is needed by the object store tests, to install Azurite");
            assert!(out.status.success(), "npm install {AZURITE} failed: {}", String::from_utf8_lossy(&out.stderr));
            if std::fs::rename(&fresh, &dir).is_err() {
                let _ = std::fs::remove_dir_all(&fresh);
            }
        }
        assert!(bin.exists(), "{} is missing after npm install", bin.display());
        bin
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A server child process, stopped when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for(port: u16, server: &mut Server, what: &str) {
    let t = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = server.0.try_wait() {
            panic!("{what} exited before listening: {status}");
        }
        assert!(t.elapsed() < Duration::from_secs(90), "{what} did not listen on port {port} within 90 s");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    S3,
    Azure,
}

/// A store on loopback with an empty bucket (container) `lantern`; the warehouse is at
/// `…/lantern/councils/warehouse`.
struct Store {
    kind: Kind,
    port: u16,
    _server: Server,
    _data: tempfile::TempDir,
}

impl Store {
    fn start(kind: Kind) -> Store {
        let port = free_port();
        let data = tempfile::tempdir().unwrap();
        let mut server = match kind {
            Kind::S3 => Server(
                Command::new("python3")
                    .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
                    .env("PYTHONPATH", store_python())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap(),
            ),
            Kind::Azure => Server(
                Command::new(azurite_bin())
                    .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string(), "--silent", "--skipApiVersionCheck", "--loose", "--location"])
                    .arg(data.path())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap(),
            ),
        };
        wait_for(port, &mut server, &format!("{kind:?} server"));
        let s = Store { kind, port, _server: server, _data: data };
        s.py("create");
        s
    }

    fn url(&self) -> &'static str {
        match self.kind {
            Kind::S3 => "s3://lantern/councils/warehouse",
            Kind::Azure => "az://lantern/councils/warehouse",
        }
    }

    fn env(&self) -> Vec<(String, String)> {
        let endpoint = format!("http://127.0.0.1:{}", self.port);
        let pairs: Vec<(&str, String)> = match self.kind {
            Kind::S3 => vec![
                ("AWS_ACCESS_KEY_ID", "testing".into()),
                ("AWS_SECRET_ACCESS_KEY", "testing".into()),
                ("AWS_REGION", "eu-west-2".into()),
                ("AWS_ENDPOINT_URL", endpoint),
                ("AWS_ALLOW_HTTP", "true".into()),
            ],
            Kind::Azure => vec![("AZURE_STORAGE_USE_EMULATOR", "true".into()), ("AZURITE_BLOB_STORAGE_URL", endpoint)],
        };
        pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }

    /// Asks the store itself (boto3 or the Azure SDK): `create` the bucket, or `list` the
    /// objects of the warehouse as `path size` lines.
    fn py(&self, what: &str) -> String {
        let script = match self.kind {
            Kind::S3 => format!(
                r#"
import boto3, sys
s3 = boto3.client("s3", endpoint_url="http://127.0.0.1:{port}", aws_access_key_id="testing", aws_secret_access_key="testing", region_name="eu-west-2")
if sys.argv[1] == "create":
    s3.create_bucket(Bucket="lantern", CreateBucketConfiguration={{"LocationConstraint": "eu-west-2"}})
else:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket="lantern", Prefix="councils/warehouse/"):
        for o in page.get("Contents", []):
            print(o["Key"][len("councils/warehouse/"):], o["Size"])
"#,
                port = self.port
            ),
            Kind::Azure => format!(
                r#"
import sys
from azure.storage.blob import BlobServiceClient
conn = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={key};BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
svc = BlobServiceClient.from_connection_string(conn)
if sys.argv[1] == "create":
    svc.create_container("lantern")
else:
    for b in svc.get_container_client("lantern").list_blobs(name_starts_with="councils/warehouse/"):
        print(b.name[len("councils/warehouse/"):], b.size)
"#,
                key = AZURITE_KEY,
                port = self.port
            ),
        };
        let out = Command::new("python3").args(["-c", &script, what]).env("PYTHONPATH", store_python()).output().unwrap();
        assert!(out.status.success(), "{:?} {what}: {}", self.kind, String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    /// The objects in the warehouse: path → size.
    fn objects(&self) -> BTreeMap<String, u64> {
        self.py("list")
            .lines()
            .filter_map(|l| l.rsplit_once(' ').map(|(p, n)| (p.to_string(), n.parse().unwrap())))
            .collect()
    }

    fn manifest(&self, work: &Path) -> serde_json::Value {
        let out = self.lantern(work, &["sql", "-e", "select 1 as one", "--format", "json"], &[]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        // read the manifest straight from the store
        let script = match self.kind {
            Kind::S3 => format!(
                r#"import boto3; print(boto3.client("s3", endpoint_url="http://127.0.0.1:{}", aws_access_key_id="t", aws_secret_access_key="t", region_name="eu-west-2").get_object(Bucket="lantern", Key="councils/warehouse/_lantern/manifest.json")["Body"].read().decode())"#,
                self.port
            ),
            Kind::Azure => format!(
                r#"from azure.storage.blob import BlobServiceClient; print(BlobServiceClient.from_connection_string("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AZURITE_KEY};BlobEndpoint=http://127.0.0.1:{}/devstoreaccount1;").get_blob_client("lantern", "councils/warehouse/_lantern/manifest.json").download_blob().readall().decode())"#,
                self.port
            ),
        };
        let out = Command::new("python3").args(["-c", &script]).env("PYTHONPATH", store_python()).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// `lantern ARGS --warehouse <the store>` with its work folder at `work`.
    fn lantern(&self, work: &Path, args: &[&str], extra_env: &[(&str, &str)]) -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_lantern"));
        c.args(args)
            .args(["--warehouse", self.url()])
            .env("LANTERN_PSEUDONYM_KEY", KEY)
            .env("LANTERN_WORK_DIR", work)
            .env_remove("LANTERN_CONFIG")
            .env_remove("LANTERN_WAREHOUSE");
        for (k, v) in self.env() {
            c.env(k, v);
        }
        for (k, v) in extra_env {
            c.env(k, v);
        }
        c.output().unwrap()
    }

    /// The files the manifest lists, and every object in the data zones, agree: nothing is
    /// missing, nothing is left over from replaced partitions or failed commits.
    fn assert_tidy(&self, work: &Path) {
        let manifest = self.manifest(work);
        let listed: BTreeMap<String, u64> = manifest["partitions"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|files| files.as_array().unwrap().iter())
            .map(|f| (f["path"].as_str().unwrap().to_string(), f["size"].as_u64().unwrap()))
            .collect();
        let stored: BTreeMap<String, u64> =
            self.objects().into_iter().filter(|(p, _)| ["clean/", "quarantine/", "marts/"].iter().any(|z| p.starts_with(z))).collect();
        assert!(!listed.is_empty());
        assert_eq!(listed, stored, "{:?}: the manifest and the store's data files differ", self.kind);
    }
}

fn run_args(landing: &Path) -> Vec<String> {
    ["run", "mosaic", "--landing", landing.to_str().unwrap(), "--la", "201", "--as-of", "2024-03-31"].iter().map(|s| s.to_string()).collect()
}

/// Numbers rounded to 9 significant digits: sums of floats may add in another order when the
/// files are listed in another order.
fn normalise(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Number(n) if n.is_f64() => format!("{:.9e}", n.as_f64().unwrap()),
        serde_json::Value::Object(m) => format!("{{{}}}", m.iter().map(|(k, v)| format!("{k}:{}", normalise(v))).collect::<Vec<_>>().join(",")),
        serde_json::Value::Array(a) => format!("[{}]", a.iter().map(normalise).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

/// Every table in clean, quarantine and marts, its rows normalised and sorted. `sql` runs
/// statements (separated by `;`) and gives each one's rows.
fn snapshot(sql: &dyn Fn(&str) -> Vec<Vec<serde_json::Value>>) -> BTreeMap<String, Vec<String>> {
    let tables = sql("select table_catalog || '.' || table_schema || '.' || table_name as t from information_schema.tables \
         where table_catalog in ('clean','quarantine','marts') and table_schema <> 'information_schema' order by 1");
    let names: Vec<String> = tables[0].iter().map(|t| t["t"].as_str().unwrap().to_string()).collect();
    let all = sql(&names.iter().map(|n| format!("select * from {n}")).collect::<Vec<_>>().join(";\n"));
    assert_eq!(all.len(), names.len());
    names
        .into_iter()
        .zip(all)
        .map(|(n, rows)| {
            let mut rows: Vec<String> = rows.iter().map(normalise).collect();
            rows.sort();
            (n, rows)
        })
        .collect()
}

/// The JSON arrays `lantern sql --format json` printed, one per statement.
fn results(stdout: &str) -> Vec<Vec<serde_json::Value>> {
    serde_json::Deserializer::from_str(stdout)
        .into_iter::<serde_json::Value>()
        .map(|v| v.unwrap().as_array().cloned().unwrap_or_default())
        .collect()
}

fn landings(tmp: &Path) -> (PathBuf, PathBuf) {
    let a = tmp.join("landing-a");
    land(&a, &mosaic_fixture_files());
    // the second landing: fewer episodes
    let b = tmp.join("landing-b");
    land(&b, &mosaic_fixture_files());
    let text = std::fs::read_to_string(b.join("episodes.csv")).unwrap();
    std::fs::write(b.join("episodes.csv"), text.lines().take(100).collect::<Vec<_>>().join("\n")).unwrap();
    (a, b)
}

/// The same two runs into a warehouse on local disk: what every store must hold after each.
fn on_disk() -> &'static (BTreeMap<String, Vec<String>>, BTreeMap<String, Vec<String>>) {
    static S: OnceLock<(BTreeMap<String, Vec<String>>, BTreeMap<String, Vec<String>>)> = OnceLock::new();
    S.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = landings(tmp.path());
        let wh = tmp.path().join("warehouse");
        let whs = wh.to_str().unwrap();
        let sql = |q: &str| results(&ok(&["sql", "--warehouse", whs, "-e", q, "--format", "json"]));
        let mut args = run_args(&a);
        args.extend(["--warehouse".into(), whs.into()]);
        ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let first = snapshot(&sql);
        let mut args = run_args(&b);
        args.extend(["--warehouse".into(), whs.into()]);
        ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
        (first, snapshot(&sql))
    })
}

fn end_to_end(kind: Kind) {
    let store = Store::start(kind);
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = landings(tmp.path());
    let work = tmp.path().join("work");
    let run = |landing: &Path, env: &[(&str, &str)]| {
        let args = run_args(landing);
        store.lantern(&work, &args.iter().map(String::as_str).collect::<Vec<_>>(), env)
    };
    let must = |out: Output| {
        assert!(out.status.success(), "{kind:?}: lantern failed\nstdout:\n{}\nstderr:\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    // `lantern sql` from a work folder of its own: what any other machine reading the store sees
    let reader = tmp.path().join("reader");
    let sql = |q: &str| results(&must(store.lantern(&reader, &["sql", "-e", q, "--format", "json"], &[])));
    let (disk_a, disk_b) = on_disk();
    assert_ne!(disk_a, disk_b, "the second landing must change the warehouse for the fault test to mean anything");

    // ingest and models, then everything read back from the store equals the local warehouse
    must(run(&a, &[]));
    let first = snapshot(&sql);
    assert!(first.keys().any(|t| t.starts_with("marts.")) && first.len() > 40, "{:?}", first.keys());
    assert_eq!(&first, disk_a, "{kind:?}: the warehouse in the store differs from the one on disk");
    store.assert_tidy(&reader);
    let v1 = store.manifest(&reader)["version"].as_u64().unwrap();

    // the same landing again: the same warehouse, and replaced files removed
    must(run(&a, &[]));
    assert_eq!(&snapshot(&sql), disk_a, "{kind:?}: re-running the same landing changed the warehouse");
    store.assert_tidy(&reader);

    // the store fails at the 3rd request of the next commit: the run fails, saying so, and the
    // warehouse is as it was
    let before = store.manifest(&reader);
    let out = run(&b, &[("LANTERN_FAULT", "store-commit-request:3")]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{kind:?}: a commit whose store failed reported success");
    assert!(stderr.contains("request 3 of the commit") && stderr.contains(store.url()), "{kind:?}: {stderr}");
    let after = store.manifest(&reader);
    assert_eq!(after["version"], before["version"], "{kind:?}: a failed commit moved the manifest");
    assert_eq!(&snapshot(&sql), disk_a, "{kind:?}: a failed commit changed what readers see");
    assert!(store.objects().keys().any(|p| p.starts_with("clean/") && !store.manifest(&reader).to_string().contains(p.as_str())), "{kind:?}: the fault came before any upload, so it proves little");

    // the run again, without the fault: it completes, and the files the failed commit left are gone
    must(run(&b, &[]));
    assert_eq!(&snapshot(&sql), disk_b, "{kind:?}: after the re-run the store differs from the disk");
    store.assert_tidy(&reader);
    assert!(store.manifest(&reader)["version"].as_u64().unwrap() > v1);

    // the run records are in the store: a new reader lists them all, the failed one too
    let runs = must(store.lantern(&tmp.path().join("another"), &["runs", "--json"], &[]));
    let runs: serde_json::Value = serde_json::from_str(runs.trim()).unwrap();
    let outcomes: Vec<String> = runs.as_array().unwrap().iter().map(|r| r["outcome"].as_str().unwrap_or_default().to_string()).collect();
    assert_eq!(outcomes.len(), 4, "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|o| o.starts_with("failed")).count(), 1, "{outcomes:?}");
    assert!(outcomes.last().unwrap().starts_with("succeeded"), "{outcomes:?}");
}

#[test]
fn the_warehouse_on_an_s3_compatible_server_matches_local_disk_and_survives_a_failed_commit() {
    end_to_end(Kind::S3);
}

#[test]
fn the_warehouse_on_azurite_matches_local_disk_and_survives_a_failed_commit() {
    end_to_end(Kind::Azure);
}

#[test]
fn a_store_that_cannot_be_reached_fails_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port(); // nothing listens here
    let out = Command::new(env!("CARGO_BIN_EXE_lantern"))
        .args(["sql", "--warehouse", "s3://lantern/warehouse", "-e", "select 1"])
        .env("LANTERN_WORK_DIR", tmp.path())
        .env("AWS_ACCESS_KEY_ID", "t")
        .env("AWS_SECRET_ACCESS_KEY", "t")
        .env("AWS_REGION", "eu-west-2")
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .env("AWS_ALLOW_HTTP", "true")
        .env("LANTERN_STORE_RETRY_SECONDS", "2")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("s3://lantern/warehouse") && stderr.contains("cannot open the warehouse"), "{stderr}");
}
