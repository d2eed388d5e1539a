#!/usr/bin/env python3
"""The regional benchmark (issue 8): N synthetic councils through Lantern, stage by stage, against
DuckDB doing the plain work on the same files in the same run.

    cargo build --profile dist      # the binary people ship, measured by default (or --release)
    python3 benches/regional.py --councils 10 --scale 0.1 --dir /work/benchdata/regional-10
    python3 benches/regional.py --councils 50 --scale 0.1 --dir /work/benchdata/regional-50

Stages, each a process of its own, measured for wall time, rows, rows/s and peak memory (the
kernel's max RSS of the process, and /proc polled every 0.2 s for a memory timeline):

1. generation: `lantern generate --councils N --scale S` (reported, not compared);
2. Lantern ingestion of the CSV files: `lantern run` of every pipeline over a landing folder
   holding the generated CSVs (hard links), with a project copy that has no SQL models, so that
   the run is ingestion only (read, detect, validate, pseudonymise, write staged Parquet, commit,
   archive the raw files, run record);
3. Lantern ingestion of the rest (Annex A XLSX workbooks, CIN census XML): DuckDB reads neither
   (no XML reader; XLSX only through an extension fetched at run time), so they are ingested by a
   run of their own into the same warehouse and reported, not compared;
4. DuckDB CSV → Parquet: every CSV of stage 2, `COPY (SELECT * FROM read_csv(file)) TO file.parquet`
   (type detection on, Snappy), one file after another, in a process of its own;
5. Lantern model build: `lantern models --build --full` (every model), and DuckDB running the same
   SQL over the same Parquet (benches/models.py, imported: its dialect rewrites, macros, check).

Both engines get every core and the same memory limit (LANTERN_MEMORY_LIMIT, else Lantern's
default). Ratios are Lantern / DuckDB (below 1: Lantern is faster or smaller). The load average
is recorded before and after every stage, since other work may share the machine. Results:
a markdown table on standard output and everything as JSON (`--json`, default DIR/results.json).
Needs duckdb (pip install duckdb, or PYTHONPATH=target/tmp/python-packages as the tests install it).
"""
import argparse, json, os, pathlib, shutil, subprocess, sys, threading, time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import models as mb  # noqa: E402  benches/models.py

ROOT = mb.ROOT
KEY = "bench-key-0123456789abcdef"


# ---------------------------------------------------------------- measuring a process

def tree_rss_kib(pid: int) -> int:
    """Resident memory of a process and its descendants (KiB), from /proc."""
    total, todo, seen = 0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            for line in open(f"/proc/{p}/status"):
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    break
            for t in os.listdir(f"/proc/{p}/task"):
                todo.extend(int(c) for c in open(f"/proc/{p}/task/{t}/children").read().split())
        except (OSError, ValueError):
            pass
    return total


def measure(cmd, env, cwd=None, ok=(0,)) -> dict:
    """Runs cmd; wall seconds, peak RSS (KiB: the larger of the kernel's max RSS of the process and
    the polled RSS of its process tree), a timeline [(seconds, KiB)], its output and exit code."""
    import tempfile
    out_f, err_f = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    t0 = time.perf_counter()
    p = subprocess.Popen([str(c) for c in cmd], stdout=out_f, stderr=err_f, env=env, cwd=cwd)
    samples, done = [], threading.Event()

    def poll():
        while not done.wait(0.2):
            samples.append((round(time.perf_counter() - t0, 2), tree_rss_kib(p.pid)))

    th = threading.Thread(target=poll, daemon=True)
    th.start()
    _, status, ru = os.wait4(p.pid, 0)
    secs = time.perf_counter() - t0
    done.set()
    th.join()
    p.returncode = os.waitstatus_to_exitcode(status)
    out_f.seek(0), err_f.seek(0)
    stdout, stderr = out_f.read().decode("utf-8", "replace"), err_f.read().decode("utf-8", "replace")
    peak = max([ru.ru_maxrss] + [s[1] for s in samples])
    if p.returncode not in ok:
        sys.exit(f"{' '.join(map(str, cmd[:4]))} … failed ({p.returncode}):\n{stdout[-3000:]}\n{stderr[-3000:]}")
    return {"seconds": secs, "cpu_seconds": ru.ru_utime + ru.ru_stime, "peak_kib": peak, "max_rss_kib": ru.ru_maxrss, "samples": samples,
            "returncode": p.returncode, "stdout": stdout, "stderr": stderr}


def timeline(samples, secs) -> dict:
    """RSS (MiB) at each tenth of the run and when the peak came (share of the wall time)."""
    if not samples:
        return {}
    tenths = []
    for k in range(1, 11):
        upto = [s[1] for s in samples if s[0] <= secs * k / 10]
        tenths.append(round((upto[-1] if upto else 0) / 1024))
    t_peak, peak = max(samples, key=lambda s: s[1])
    return {"rss_mib_at_tenths": tenths, "peak_at_share": round(t_peak / secs, 2) if secs else None, "polled_peak_mib": round(peak / 1024)}


def load() -> list:
    return [round(x, 2) for x in os.getloadavg()]


# ---------------------------------------------------------------- DuckDB: CSV → Parquet

def duck_csv_worker(plan_path: str) -> None:
    """In a process of its own: every CSV converted to Parquet, one JSON line at the end."""
    import duckdb

    plan = json.loads(pathlib.Path(plan_path).read_text())
    out = pathlib.Path(plan["out"])
    con = mb.duckdb_connection(plan, out)
    rows, failed, retried, wasted, t0 = 0, [], [], 0.0, time.perf_counter()
    for rel in plan["files"]:
        src = pathlib.Path(plan["landing"]) / rel
        dest = out / (rel + ".parquet")
        dest.parent.mkdir(parents=True, exist_ok=True)
        q = "'" + str(src).replace("'", "''") + "'"
        copy = "COPY (SELECT * FROM read_csv({q}{opts})) TO '{dest}' (FORMAT parquet, COMPRESSION snappy)"
        t = time.perf_counter()
        try:
            rows += con.execute(copy.format(q=q, opts="", dest=dest)).fetchone()[0]
        except Exception as e:  # noqa: BLE001 - type detection guessed wrong (a defect past its sample): once more as text
            wasted += time.perf_counter() - t
            for opts in (", all_varchar = true", ", all_varchar = true, strict_mode = false, ignore_errors = true"):
                try:
                    rows += con.execute(copy.format(q=q, opts=opts, dest=dest)).fetchone()[0]
                    retried.append({"file": rel, "error": str(e).splitlines()[0][:200], "as": opts.strip(", ")})
                    break
                except Exception as e2:  # noqa: BLE001
                    e = e2
            else:
                failed.append({"file": rel, "error": str(e).splitlines()[0][:200]})
    print(json.dumps({"rows": rows, "files": len(plan["files"]), "seconds": time.perf_counter() - t0, "retried_as_text": retried, "failed_attempt_seconds": wasted,
                      "failed": failed, "duckdb": duckdb.__version__}), flush=True)


# ---------------------------------------------------------------- the benchmark

def link_tree(src: pathlib.Path, dest: pathlib.Path, files) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    for rel in files:
        d = dest / rel
        d.parent.mkdir(parents=True, exist_ok=True)
        os.link(src / rel, d)


def latest_record(w: pathlib.Path) -> dict:
    runs = sorted((w / "_runs").glob("*.json"), key=lambda p: p.stat().st_mtime)
    return json.loads(runs[-1].read_text())


def ingestion_summary(rec: dict, landed=None) -> dict:
    """Rows and, per source, files, rows and the sum of the files' seconds from a run record.
    `rows_landing`: rows read from the landing files (`landed`), without the reference tables
    Lantern ships and loads on every run (local authorities, bank holidays)."""
    per = {}
    for f in rec["files"]:
        parts = f["file"].split("/")
        src = f["tables"][0]["table"].split(".")[0] if f.get("tables") and "." in f["tables"][0].get("table", "") else (parts[1] if len(parts) > 2 else parts[0])
        e = per.setdefault(src, {"files": 0, "rows_read": 0, "file_seconds": 0.0, "bytes": 0})
        e["files"] += 1
        e["rows_read"] += f["rows_read"]
        e["file_seconds"] += f.get("seconds", 0.0)
        e["bytes"] += f.get("bytes", 0)
    return {"run_seconds": rec.get("seconds"), "outcome": rec.get("outcome"), "files": len(rec["files"]),
            "rows_read": sum(f["rows_read"] for f in rec["files"]), "rows_clean": sum(f["rows_clean"] for f in rec["files"]),
            "rows_quarantined": sum(f["rows_quarantined"] for f in rec["files"]),
            "rows_landing": sum(f["rows_read"] for f in rec["files"] if landed is None or f["file"] in landed),
            "shipped_files": [f["file"] for f in rec["files"] if landed is not None and f["file"] not in landed],
            "not_received": [f["file"] for f in rec["files"] if f["status"] != "received"], "per_source": per}


def du(p: pathlib.Path) -> int:
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) if p.exists() else 0


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--duck-csv-worker":
        return duck_csv_worker(sys.argv[2])
    if len(sys.argv) >= 3 and sys.argv[1] == "--report":  # the tables again, from results files
        return print("\n\n".join(report(json.loads(pathlib.Path(f).read_text())) for f in sys.argv[2:]))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--councils", type=int, required=True, help="(or: --report RESULTS.json … prints the tables of earlier runs)")
    ap.add_argument("--scale", type=float, default=0.1, help="size of each council (1: Dorset-sized, ~4M rows)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dir", help="working folder (default target/bench-regional/<councils>x<scale>); cleared first")
    ap.add_argument("--binary", default=mb.default_binary(), help="default: target/dist/lantern if built, else target/release/lantern")
    ap.add_argument("--threads", type=int, default=0, help="DuckDB threads (default: every core, as Lantern)")
    ap.add_argument("--json", help="results as JSON (default DIR/results.json)")
    ap.add_argument("--no-check", action="store_true", help="skip comparing DuckDB's model rows with Lantern's marts")
    ap.add_argument("--without-keys", action="store_true",
                    help="also ingest the CSVs with a project whose schemas declare no keys (no duplicate-key check): where ingestion memory goes")
    ap.add_argument("--keep", action="store_true", help="keep the landing files, warehouse and DuckDB's Parquet (default: only results)")
    args = ap.parse_args()
    binary = str(pathlib.Path(args.binary).resolve())
    if not pathlib.Path(binary).exists():
        sys.exit("build first: cargo build --release")
    try:
        import duckdb  # noqa: F401
    except ImportError:
        sys.exit("needs duckdb: pip install duckdb")
    d = pathlib.Path(args.dir or ROOT / "target" / "bench-regional" / f"{args.councils}x{args.scale:g}").resolve()
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    env = dict(os.environ)
    env.setdefault("LANTERN_PSEUDONYM_KEY", KEY)
    env.setdefault("LANTERN_LOG", "warn")
    res = {"councils": args.councils, "scale": args.scale, "seed": args.seed, "cores": os.cpu_count(),
           "memory_limit": mb.lantern_memory_limit(), "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "lantern_version": subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip(),
           "duckdb_version": duckdb.__version__, "load_before": load(), "stages": {}}
    try:
        res["memory_total_kib"] = int(next(l for l in open("/proc/meminfo") if l.startswith("MemTotal")).split()[1])
    except (OSError, StopIteration):
        pass
    stages = res["stages"]

    def stage(name, m, rows, **extra):
        stages[name] = {"seconds": m["seconds"], "rows": rows, "rows_per_second": rows / m["seconds"] if m["seconds"] else None,
                        "peak_kib": m["peak_kib"], "max_rss_kib": m["max_rss_kib"], "memory": timeline(m["samples"], m["seconds"]),
                        "load_after": load(), **extra}
        s = stages[name]
        print(f"  {name}: {s['seconds']:.1f}s, {rows} rows ({(s['rows_per_second'] or 0):,.0f}/s), peak {s['peak_kib'] / 1048576:.2f} GiB, "
              f"load {s['load_after']}", flush=True)

    # 1. generation
    print(f"regional benchmark: {args.councils} councils at scale {args.scale:g} in {d}", flush=True)
    m = measure([binary, "generate", "--out", d, "--councils", args.councils, "--scale", args.scale, "--seed", args.seed], env)
    manifest = json.loads((d / "manifest.json").read_text())
    landing = d / manifest.get("landing", "landing")
    kinds = {}
    for f in manifest["files"]:
        k = kinds.setdefault(f["file"].rsplit(".", 1)[-1].lower(), {"files": 0, "rows": 0, "bytes": 0})
        k["files"] += 1
        k["rows"] += f["rows"]
        k["bytes"] += f["bytes"]
    stage("generate", m, manifest["rows"], files=len(manifest["files"]), by_kind=kinds)

    # 2-3. Lantern ingestion: the CSVs, then the XLSX and XML, into one warehouse, no models
    csvs = sorted(str(p.relative_to(landing)) for p in landing.rglob("*") if p.is_file() and p.suffix.lower() == ".csv")
    others = sorted(str(p.relative_to(landing)) for p in landing.rglob("*") if p.is_file() and p.suffix.lower() != ".csv")
    link_tree(landing, d / "landing-csv", csvs)
    link_tree(landing, d / "landing-other", others)
    project = d / "project-ingest-only"
    subprocess.run([binary, "init", project], capture_output=True, check=True, env=env)
    for p in (project / "sql").iterdir():
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    w = d / "warehouse"
    as_of = f"{manifest.get('end_year', 2025)}-03-31"
    for name, folder in (("lantern_ingest_csv", "landing-csv"), ("lantern_ingest_xlsx_xml", "landing-other")):
        m = measure([binary, "--project", project, "--warehouse", w, "run", "--landing", d / folder, "--as-of", as_of], env, ok=(0, 1))
        summary = ingestion_summary(latest_record(w), set(csvs if folder == "landing-csv" else others))
        stage(name, m, summary["rows_landing"], exit_code=m["returncode"], run=summary)

    # 3b. the same, one council's CSVs alone into a scratch warehouse: the baseline for "does
    # ingestion memory grow with the number of councils"
    # (the largest council, by CSV bytes: the most any one council's files need)
    council_bytes = {}
    for c in csvs:
        la = c.split("/", 1)[0]
        if "/" in c and la.isdigit():
            council_bytes[la] = council_bytes.get(la, 0) + (landing / c).stat().st_size
    first_la = max(sorted(council_bytes), key=council_bytes.get)
    one = [c for c in csvs if c.startswith(first_la + "/")]
    link_tree(landing, d / "landing-one", one)
    m = measure([binary, "--project", project, "--warehouse", d / "warehouse-one", "run", "--landing", d / "landing-one", "--as-of", as_of], env, ok=(0, 1))
    summary = ingestion_summary(latest_record(d / "warehouse-one"), set(one))
    stage("lantern_ingest_csv_one_council", m, summary["rows_landing"], la=first_la, exit_code=m["returncode"], run=summary)
    shutil.rmtree(d / "warehouse-one", ignore_errors=True)
    shutil.rmtree(d / "landing-one", ignore_errors=True)

    # 3c. (--without-keys) the CSVs again, into a scratch warehouse, with a project whose table
    # schemas declare no `key`: no duplicate-key check, so no set of every key read in the run
    if args.without_keys:
        nokey = d / "project-ingest-only-no-keys"
        shutil.copytree(project, nokey)
        for f in (nokey / "schemas").rglob("*.toml"):
            if f.parent.name != "assumptions":
                f.write_text("".join(l for l in f.read_text().splitlines(keepends=True) if not l.lstrip().startswith("key =")))
        m = measure([binary, "--project", nokey, "--warehouse", d / "warehouse-nokey", "run", "--landing", d / "landing-csv", "--as-of", as_of], env, ok=(0, 1))
        summary = ingestion_summary(latest_record(d / "warehouse-nokey"), set(csvs))
        stage("lantern_ingest_csv_without_keys", m, summary["rows_landing"], exit_code=m["returncode"], run=summary)
        shutil.rmtree(d / "warehouse-nokey", ignore_errors=True)

    # 4. DuckDB: the same CSVs to Parquet
    duck_out = d / "duckdb-parquet"
    duck_out.mkdir()
    plan = {"landing": str(d / "landing-csv"), "out": str(duck_out), "files": csvs, "memory_limit": mb.lantern_memory_limit(), "threads": args.threads}
    (d / "duck-csv-plan.json").write_text(json.dumps(plan))
    m = measure([sys.executable, __file__, "--duck-csv-worker", d / "duck-csv-plan.json"], env)
    r = json.loads(m["stdout"].strip().splitlines()[-1])
    stage("duckdb_csv_to_parquet", m, r["rows"], files=r["files"], retried_as_text=r["retried_as_text"], failed=r["failed"],
          failed_attempt_seconds=r["failed_attempt_seconds"],
          parquet_bytes=du(duck_out))
    stages["lantern_ingest_csv"]["clean_bytes"] = du(w / "clean")
    if not args.keep:
        shutil.rmtree(duck_out, ignore_errors=True)

    # 5. the models: Lantern, then DuckDB over the same Parquet (benches/models.py)
    clean_rows = stages["lantern_ingest_csv"]["run"]["rows_clean"] + stages["lantern_ingest_xlsx_xml"]["run"]["rows_clean"]
    holder = {}

    def lantern_models(cmd):
        m = measure(cmd, env)
        holder["m"] = m
        return m["seconds"], m["peak_kib"], subprocess.CompletedProcess(cmd, m["returncode"], m["stdout"], m["stderr"])

    print("  models: Lantern builds every model, then DuckDB runs the same SQL …", flush=True)
    mres = mb.bench(binary, w, env, threads=args.threads, check=not args.no_check, lantern_cmd=lantern_models)
    stage("lantern_models", holder["m"], clean_rows, models=len(mres["models"]),
          rows_written=sum(x["rows"] or 0 for x in mres["models"]))
    stages["duckdb_models"] = {"seconds": mres["duckdb_seconds"], "rows": clean_rows,
                               "rows_per_second": clean_rows / mres["duckdb_seconds"] if mres["duckdb_seconds"] else None,
                               "peak_kib": mres["duckdb_peak_kib"], "setup_seconds": mres["duckdb_setup_seconds"], "load_after": load()}
    res["models"] = mres
    res["load_after"] = load()
    res["bytes"] = {"landing": du(landing), "warehouse": du(w), "clean": du(w / "clean"), "raw": du(w / "raw")}
    if not args.keep:
        for p in ("landing", "landing-csv", "landing-other", "warehouse"):
            shutil.rmtree(d / p, ignore_errors=True)
    out = pathlib.Path(args.json) if args.json else d / "results.json"
    out.write_text(json.dumps(res, indent=2))
    print()
    print(report(res))
    print(f"\nresults: {out}")


def gib(kib) -> str:
    return f"{kib / 1048576:.2f}"


def report(res: dict) -> str:
    """The markdown tables for one run."""
    s = res["stages"]
    lines = [f"**{res['councils']} councils, scale {res['scale']:g} each** — Lantern {res['lantern_version']}, DuckDB {res['duckdb_version']}, "
             f"{res['cores']} cores, memory limit {res['memory_limit'] / (1 << 30):.1f} GiB each; load average (1, 5, 15 min) "
             f"{res['load_before']} before, {res['load_after']} after", ""]
    lines += ["| stage | rows | Lantern s | rows/s | peak GiB | DuckDB s | rows/s | peak GiB | time ratio | memory ratio |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]

    def row(label, l, dk=None):
        cells = [label, f"{l['rows']:,}", f"{l['seconds']:.1f}", f"{l['rows_per_second']:,.0f}", gib(l["peak_kib"])]
        if dk:
            cells += [f"{dk['seconds']:.1f}", f"{dk['rows_per_second']:,.0f}", gib(dk["peak_kib"]),
                      f"{l['seconds'] / dk['seconds']:.2f}", f"{l['peak_kib'] / dk['peak_kib']:.2f}"]
        else:
            cells += ["", "", "", "", ""]
        lines.append("| " + " | ".join(cells) + " |")

    row("generate (not compared)", s["generate"])
    row(f"ingest CSV ({s['lantern_ingest_csv']['run']['files']} files) vs DuckDB CSV→Parquet", s["lantern_ingest_csv"], s["duckdb_csv_to_parquet"])
    one = s.get("lantern_ingest_csv_one_council")
    if one:
        row(f"ingest CSV, largest council alone ({one['la']}, {one['run']['files']} files; baseline)", one)
    nk = s.get("lantern_ingest_csv_without_keys")
    if nk:
        row("ingest CSV, schemas without keys (no duplicate-key check; experiment)", nk)
    row(f"ingest XLSX + XML ({s['lantern_ingest_xlsx_xml']['run']['files']} files; DuckDB reads neither)", s["lantern_ingest_xlsx_xml"])
    mres = res["models"]
    ran = [m for m in mres["models"] if m["duckdb_seconds"] is not None and not m["duckdb_error"]]
    row(f"models, all {len(mres['models'])} (rows: clean rows in)", s["lantern_models"], s["duckdb_models"])
    bl, bd = mres["both_ran_lantern_seconds"], mres["both_ran_duckdb_seconds"]
    lines.append(f"| models both ran ({len(ran)} of {len(mres['models'])}; sum of model times) | | {bl:.1f} | | | {bd:.1f} | | | "
                 f"{bl / bd if bd else 0:.2f} | |")
    ing = s["lantern_ingest_csv"]["run"]
    lines += ["", f"Ingestion (CSV run): {ing['rows_landing']:,} rows read from the landing CSVs (with the {len(ing['shipped_files'])} shipped "
              f"reference files loaded on every run, {ing['rows_read']:,}), {ing['rows_clean']:,} clean, {ing['rows_quarantined']:,} quarantined; "
              f"run outcome `{ing['outcome']}`; DuckDB converted {s['duckdb_csv_to_parquet']['rows']:,} rows "
              f"({len(s['duckdb_csv_to_parquet']['retried_as_text'])} files only as text after type detection failed on a defect, "
              f"{s['duckdb_csv_to_parquet']['failed_attempt_seconds']:.1f}s in those failed first attempts; {len(s['duckdb_csv_to_parquet']['failed'])} failed)."]
    for name in ("lantern_ingest_csv", "lantern_ingest_csv_one_council", "lantern_ingest_csv_without_keys", "lantern_ingest_xlsx_xml", "lantern_models", "duckdb_csv_to_parquet"):
        t = s.get(name, {}).get("memory") or {}
        if t:
            lines.append(f"RSS of {name} at each tenth of its run (MiB): {t['rss_mib_at_tenths']}; peak at {t['peak_at_share']:.0%} of the run.")
    lines += ["", "Where ingestion's time goes (sum of per-file seconds from the run records, by source):", "",
              "| source | files | rows read | file seconds | share |", "|---|---:|---:|---:|---:|"]
    per = {}
    for name in ("lantern_ingest_csv", "lantern_ingest_xlsx_xml"):
        for src, e in s[name]["run"]["per_source"].items():
            key = f"{src} ({'CSV' if name.endswith('csv') else 'XLSX/XML'})"
            per[key] = e
    total = sum(e["file_seconds"] for e in per.values()) or 1
    for src, e in sorted(per.items(), key=lambda kv: -kv[1]["file_seconds"]):
        lines.append(f"| {src} | {e['files']} | {e['rows_read']:,} | {e['file_seconds']:.1f} | {e['file_seconds'] / total:.0%} |")
    lines += ["", "Where the models' time goes (the slowest five in Lantern):", "", "| model | rows | Lantern s | DuckDB s | ratio |", "|---|---:|---:|---:|---:|"]
    for m in sorted(mres["models"], key=lambda m: -(m["lantern_seconds"] or 0))[:5]:
        ds = m["duckdb_seconds"] if not m["duckdb_error"] else None
        lines.append(f"| {m['model']} | {m['rows'] or 0:,} | {m['lantern_seconds'] or 0:.1f} | {ds if ds is None else format(ds, '.1f')} | "
                     f"{format((m['lantern_seconds'] or 0) / ds, '.2f') if ds else '-'} |")
    bad = [m for m in mres["models"] if m["duckdb_error"] or m["duckdb_seconds"] is None]
    differ = [m for m in mres["models"] if m not in bad and m["same_rows"] is False]
    if bad:
        lines += ["", "DuckDB could not run: " + "; ".join(f"`{m['model']}` ({m['duckdb_error']})" for m in bad)]
    if differ:
        lines += ["", "Rows differ: " + "; ".join(f"`{m['model']}` (Lantern {m['rows']}, DuckDB {m['duckdb_rows']}, only Lantern "
                                                  f"{m['rows_only_lantern']}, only DuckDB {m['rows_only_duckdb']})" for m in differ)]
    elif any(m["same_rows"] for m in mres["models"]):
        lines += ["", f"Every model DuckDB ran ({len(ran)}) gave the same rows as Lantern's mart (floats to 6 decimals)."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
