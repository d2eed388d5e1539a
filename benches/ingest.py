#!/usr/bin/env python3
"""The ingestion benchmark (issue 19): one realistic council's CSV exports through `lantern run`
with no models (read, detect, validate, pseudonymise, write staged Parquet, commit, archive, run
record) beside DuckDB's plain conversion of the same files (`COPY (SELECT * FROM read_csv(f)) TO
f.parquet`, one after another, every core), in the same run, alternating, the median of `--runs`.

    cargo build --profile dist      # the binary people ship, measured by default (or --release)
    python3 benches/ingest.py --scale 1 --dir /work/benchdata/ingest-1
    python3 benches/ingest.py --scale 5 --dir /work/benchdata/ingest-5 --runs 1

Reported per engine: wall seconds, CPU seconds, cores used (CPU / wall), MB/s and rows/s of the
CSV read, peak memory (the process tree's RSS); the ratio Lantern / DuckDB (below 1: Lantern is
faster). Then the council's XML returns and XLSX workbooks on their own (MB/s), which DuckDB
does not read. Needs duckdb (pip install duckdb, or PYTHONPATH=target/tmp/python-packages as the
tests install it). The threads Lantern reads with follow LANTERN_READ_THREADS (default: the
cores).
"""
import argparse, json, os, pathlib, shutil, statistics, subprocess, sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import regional as rg  # noqa: E402  benches/regional.py: measuring a process, DuckDB's worker
import models as mb  # noqa: E402

KEY = "bench-key-0123456789abcdef"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dir", type=pathlib.Path, required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--binary", default=mb.default_binary(), help="default: target/dist/lantern if built, else target/release/lantern")
    ap.add_argument("--json", type=pathlib.Path)
    args = ap.parse_args()
    d, binary = args.dir, args.binary
    profile = mb.binary_profile(binary)
    env = dict(os.environ, LANTERN_PSEUDONYM_KEY=KEY)
    env.pop("LANTERN_CONFIG", None)
    d.mkdir(parents=True, exist_ok=True)
    gen = d / "generated"
    if not (gen / "manifest.json").exists():
        subprocess.run([binary, "generate", "--out", gen, "--scale", str(args.scale), "--seed", str(args.seed)], check=True, env=env, capture_output=True)
    manifest = json.loads((gen / "manifest.json").read_text())
    landing = gen / manifest.get("landing", "landing")
    by_ext = {}
    for p in sorted(landing.rglob("*")):
        if p.is_file():
            by_ext.setdefault(p.suffix.lower().lstrip("."), []).append(str(p.relative_to(landing)))
    project = d / "project-ingest-only"
    if not project.exists():
        subprocess.run([binary, "init", project], capture_output=True, check=True, env=env)
        for p in (project / "sql").iterdir():
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    as_of = f"{manifest.get('end_year', 2025)}-03-31"
    for ext, files in by_ext.items():
        rg.link_tree(landing, d / f"landing-{ext}", files)
    csv_bytes = sum((landing / f).stat().st_size for f in by_ext["csv"])

    def lantern(ext):
        w = d / f"warehouse-{ext}"
        shutil.rmtree(w, ignore_errors=True)
        m = rg.measure([binary, "--project", project, "--warehouse", w, "run", "--landing", d / f"landing-{ext}", "--as-of", as_of], env, ok=(0, 1))
        rec = rg.latest_record(w)
        rows = sum(f["rows_read"] for f in rec["files"] if f["file"] in set(by_ext[ext]))
        shutil.rmtree(w, ignore_errors=True)
        return m, rows

    def duckdb():
        out = d / "duckdb-parquet"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        plan = {"landing": str(d / "landing-csv"), "out": str(out), "files": by_ext["csv"], "memory_limit": mb.lantern_memory_limit(), "threads": None}
        (d / "duck-csv-plan.json").write_text(json.dumps(plan))
        m = rg.measure([sys.executable, rg.__file__, "--duck-csv-worker", d / "duck-csv-plan.json"], env)
        r = json.loads(m["stdout"].strip().splitlines()[-1])
        shutil.rmtree(out, ignore_errors=True)
        return m, r["rows"]

    runs = {"lantern": [], "duckdb": []}
    for i in range(args.runs):
        for name, f in (("lantern", lambda: lantern("csv")), ("duckdb", duckdb)) if i % 2 == 0 else (("duckdb", duckdb), ("lantern", lambda: lantern("csv"))):
            m, rows = f()
            runs[name].append({"seconds": m["seconds"], "cpu_seconds": m["cpu_seconds"], "peak_kib": m["peak_kib"], "rows": rows, "load": rg.load()})
            print(f"run {i + 1} {name}: {m['seconds']:.2f} s, {m['cpu_seconds']:.2f} s CPU, {rows} rows", file=sys.stderr)

    def summary(rs, nbytes):
        secs = statistics.median(r["seconds"] for r in rs)
        cpu = statistics.median(r["cpu_seconds"] for r in rs)
        rows = rs[0]["rows"]
        return {"seconds": secs, "cpu_seconds": cpu, "cores_used": cpu / secs, "mb_per_s": nbytes / 1e6 / secs, "rows_per_s": rows / secs,
                "peak_mib": max(r["peak_kib"] for r in rs) / 1024, "rows": rows, "runs": rs}

    res = {"scale": args.scale, "seed": args.seed, "cores": os.cpu_count(), "lantern_binary": str(binary), "profile": profile, "csv_files": len(by_ext["csv"]), "csv_bytes": csv_bytes,
           "lantern": summary(runs["lantern"], csv_bytes), "duckdb": summary(runs["duckdb"], csv_bytes), "documents": {}}
    res["ratio"] = res["lantern"]["seconds"] / res["duckdb"]["seconds"]
    for ext in ("xml", "xlsx"):
        if ext in by_ext:
            m, rows = lantern(ext)
            nbytes = sum((landing / f).stat().st_size for f in by_ext[ext])
            res["documents"][ext] = {"files": len(by_ext[ext]), "bytes": nbytes, "seconds": m["seconds"], "cpu_seconds": m["cpu_seconds"],
                                     "mb_per_s": nbytes / 1e6 / m["seconds"], "rows": rows, "peak_mib": m["peak_kib"] / 1024}
    (args.json or d / "results.json").write_text(json.dumps(res, indent=1))
    print(f"scale {args.scale}: {res['csv_files']} CSV files, {csv_bytes / 1e6:.0f} MB, {res['lantern']['rows']:,} rows; {res['cores']} cores; median of {args.runs}; lantern: {binary} ({profile} build)\n")
    print("| engine | wall s | CPU s | cores used | MB/s | rows/s | peak MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in ("lantern", "duckdb"):
        s = res[name]
        print(f"| {name} | {s['seconds']:.2f} | {s['cpu_seconds']:.2f} | {s['cores_used']:.2f} | {s['mb_per_s']:.1f} | {s['rows_per_s']:,.0f} | {s['peak_mib']:.0f} |")
    print(f"\nLantern / DuckDB time: {res['ratio']:.2f}")
    for ext, s in res["documents"].items():
        print(f"Lantern, {ext} alone: {s['files']} files, {s['bytes'] / 1e6:.0f} MB in {s['seconds']:.2f} s ({s['mb_per_s']:.1f} MB/s, {s['cpu_seconds']:.2f} s CPU, peak {s['peak_mib']:.0f} MiB)")


if __name__ == "__main__":
    main()
