//! Object stores on loopback for the tests: Azurite (the Azure Storage emulator, from npm) and
//! moto's S3 server (from PyPI), each installed into the test folder on first use and started
//! as a child process with an empty bucket (container) `lantern`.

use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::{install_into, python_packages, KEY};

const AZURITE: &str = "azurite@3.35.0";
const STORE_PACKAGES: [&str; 2] = ["moto[server]==5.2.5", "azure-storage-blob==12.31.1"];
const AZURITE_KEY: &str = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

pub fn store_python() -> &'static str {
    static P: OnceLock<String> = OnceLock::new();
    P.get_or_init(|| python_packages("store-packages", &STORE_PACKAGES, &["moto.server", "boto3", "azure.storage.blob"]))
}

/// Azurite's blob server, installed with npm into the test folder on first use.
pub fn azurite_bin() -> &'static Path {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("node-packages");
        let bin = dir.join("node_modules/.bin/azurite-blob");
        if !bin.exists() {
            let needs = "npm (with Node.js) is needed by the object store tests, to install Azurite";
            install_into(&dir, needs, &format!("npm install {AZURITE}"), |fresh| {
                let mut c = Command::new("npm");
                c.args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"]).arg(fresh).arg(AZURITE);
                c
            });
        }
        assert!(bin.exists(), "{} is missing after npm install", bin.display());
        bin
    })
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A server child process, stopped when dropped.
pub struct Server(Child);

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
pub enum Kind {
    S3,
    Azure,
}

/// A store on loopback with an empty bucket (container) `lantern`; the warehouse is at
/// `…/lantern/councils/warehouse`.
pub struct Store {
    pub kind: Kind,
    pub port: u16,
    _server: Server,
    _data: tempfile::TempDir,
}

/// Python that gives a warehouse in a store the partition folder names of Lantern before folder
/// keys had names of their own (`la=838/year=2024`, not `la_key=838/year_key=2024`): every data
/// file copied to its old name and listed there in the manifest, the new names removed.
const LEGACY: &str = r#"import json, re
P = "councils/warehouse/"
def to_legacy(get, put, delete):
    old = lambda p: re.sub(r"/(\w+?)_key=", r"/\1=", p)
    m = json.loads(get("_lantern/manifest.json"))
    parts = {}
    for part, files in m["partitions"].items():
        for f in files:
            if old(f["path"]) != f["path"]:
                put(old(f["path"]), get(f["path"]))
        parts[old(part)] = [dict(f, path=old(f["path"])) for f in files]
    put("_lantern/manifest.json", json.dumps(dict(m, partitions=parts)).encode())
    for files in m["partitions"].values():
        for f in files:
            if old(f["path"]) != f["path"]:
                delete(f["path"])"#;

impl Store {
    pub fn start(kind: Kind) -> Store {
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

    pub fn url(&self) -> &'static str {
        match self.kind {
            Kind::S3 => "s3://lantern/councils/warehouse",
            Kind::Azure => "az://lantern/councils/warehouse",
        }
    }

    pub fn env(&self) -> Vec<(String, String)> {
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

    /// Asks the store itself (boto3 or the Azure SDK): `create` the bucket, `list` the objects
    /// of the warehouse as `path size` lines, or turn it into a `legacy` warehouse (see
    /// [`LEGACY`]).
    pub fn py(&self, what: &str) -> String {
        let script = match self.kind {
            Kind::S3 => format!(
                r#"
import boto3, sys
s3 = boto3.client("s3", endpoint_url="http://127.0.0.1:{port}", aws_access_key_id="testing", aws_secret_access_key="testing", region_name="eu-west-2")
if sys.argv[1] == "create":
    s3.create_bucket(Bucket="lantern", CreateBucketConfiguration={{"LocationConstraint": "eu-west-2"}})
elif sys.argv[1] == "legacy":
    {legacy}
    def get(k): return s3.get_object(Bucket="lantern", Key=P + k)["Body"].read()
    def put(k, b): s3.put_object(Bucket="lantern", Key=P + k, Body=b)
    def delete(k): s3.delete_object(Bucket="lantern", Key=P + k)
    to_legacy(get, put, delete)
else:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket="lantern", Prefix="councils/warehouse/"):
        for o in page.get("Contents", []):
            print(o["Key"][len("councils/warehouse/"):], o["Size"])
"#,
                port = self.port,
                legacy = LEGACY.replace('\n', "\n    ")
            ),
            Kind::Azure => format!(
                r#"
import sys
from azure.storage.blob import BlobServiceClient
conn = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={key};BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
svc = BlobServiceClient.from_connection_string(conn)
if sys.argv[1] == "create":
    svc.create_container("lantern")
elif sys.argv[1] == "legacy":
    {legacy}
    c = svc.get_container_client("lantern")
    def get(k): return c.get_blob_client(P + k).download_blob().readall()
    def put(k, b): c.get_blob_client(P + k).upload_blob(b, overwrite=True)
    def delete(k): c.get_blob_client(P + k).delete_blob()
    to_legacy(get, put, delete)
else:
    for b in svc.get_container_client("lantern").list_blobs(name_starts_with="councils/warehouse/"):
        print(b.name[len("councils/warehouse/"):], b.size)
"#,
                key = AZURITE_KEY,
                port = self.port,
                legacy = LEGACY.replace('\n', "\n    ")
            ),
        };
        let out = Command::new("python3").args(["-c", &script, what]).env("PYTHONPATH", store_python()).output().unwrap();
        assert!(out.status.success(), "{:?} {what}: {}", self.kind, String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    /// The objects in the warehouse: path → size.
    pub fn objects(&self) -> BTreeMap<String, u64> {
        self.py("list")
            .lines()
            .filter_map(|l| l.rsplit_once(' ').map(|(p, n)| (p.to_string(), n.parse().unwrap())))
            .collect()
    }

    pub fn manifest(&self, work: &Path) -> serde_json::Value {
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
    pub fn lantern(&self, work: &Path, args: &[&str], extra_env: &[(&str, &str)]) -> Output {
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

    /// The files the manifest lists, and every object in the data zones (Delta logs apart),
    /// agree: nothing is missing, nothing is left over from replaced partitions or failed commits.
    pub fn assert_tidy(&self, work: &Path) {
        let manifest = self.manifest(work);
        let listed: BTreeMap<String, u64> = manifest["partitions"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|files| files.as_array().unwrap().iter())
            .map(|f| (f["path"].as_str().unwrap().to_string(), f["size"].as_u64().unwrap()))
            .collect();
        let stored: BTreeMap<String, u64> =
            self.objects()
                .into_iter()
                .filter(|(p, _)| ["clean/", "quarantine/", "marts/", "published/"].iter().any(|z| p.starts_with(z)) && !p.contains("/_delta_log/"))
                .collect();
        assert!(!listed.is_empty());
        assert_eq!(listed, stored, "{:?}: the manifest and the store's data files differ", self.kind);
    }
}

