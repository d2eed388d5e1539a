#!/usr/bin/env python3
"""Benchmark: `lantern run` end to end on the SSDA903 fixture set replicated N times (distinct
children), against DuckDB's plain CSV → Parquet conversion of the same files, in the same run.

    cargo build --release && python3 benches/ingest_903.py [--copies 100] [--threads 2]

Reports rows/s, MB/s and peak memory (max RSS of the process) for each. Needs duckdb (pip).
"""
import argparse, csv, io, json, os, pathlib, shutil, subprocess, sys, tempfile, time

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT.parent / "shared" / "fixtures" / "ssda903"
ID_COLUMNS = {"CHILD", "UPN"}


def replicate(out: pathlib.Path, copies: int) -> tuple[int, int]:
    out.mkdir(parents=True, exist_ok=True)
    rows = 0
    for src in sorted(FIXTURES.glob("*.csv")):
        text = src.read_bytes().decode("utf-8-sig")
        reader = list(csv.reader(io.StringIO(text)))
        header, body = reader[0], reader[1:]
        idx = [i for i, h in enumerate(header) if h in ID_COLUMNS]
        with open(out / src.name, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(header)
            for c in range(copies):
                for r in body:
                    r = list(r)
                    for i in idx:
                        if i < len(r) and r[i]:
                            r[i] = (f"{c:03d}" + r[i]) if header[i] == "CHILD" else r[i][:1] + f"{(int(r[i][1:12]) + c) % 10**11:011d}" + r[i][12:] if r[i][1:12].isdigit() else r[i]
                    w.writerow(r)
                    rows += 1
    size = sum(p.stat().st_size for p in out.glob("*.csv"))
    return rows, size


WRAPPER = (
    "import resource, subprocess, sys\n"
    "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "sys.stdout.write(p.stdout); sys.stderr.write(p.stderr)\n"
    "print('PEAK_KIB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(p.returncode)\n"
)


def timed(cmd: list[str], env=None) -> tuple[float, int, subprocess.CompletedProcess]:
    """Wall time and peak resident memory of one command, measured in a fresh wrapper process."""
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", WRAPPER, *cmd], capture_output=True, text=True, env=env)
    secs = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"{cmd[0]} failed:\n{p.stdout}\n{p.stderr}")
    peak = int(p.stderr.strip().splitlines()[-1].split()[1])
    return secs, peak, p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--copies", type=int, default=100)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()
    binary = ROOT / "target" / "release" / "lantern"
    if not binary.exists():
        sys.exit("build first: cargo build --release")
    work = pathlib.Path(tempfile.mkdtemp(prefix="lantern-bench-"))
    try:
        landing = work / "landing"
        rows, size = replicate(landing, args.copies)
        mb = size / 1e6
        env = dict(os.environ, LANTERN_PSEUDONYM_KEY="bench-key-0123456789abcdef")
        # DuckDB first (its own process, so its peak memory is its own)
        duck_script = (
            "import duckdb, pathlib, sys\n"
            f"con = duckdb.connect(); con.execute('SET threads TO {args.threads}')\n"
            f"out = pathlib.Path(r'{work}') / 'duck'; out.mkdir()\n"
            f"for f in sorted(pathlib.Path(r'{landing}').glob('*.csv')):\n"
            "    con.execute(f\"COPY (SELECT * FROM read_csv('{f}', all_varchar=false)) TO '{out / (f.stem + '.parquet')}' (FORMAT parquet, COMPRESSION snappy)\")\n"
        )
        d_secs, d_peak, _ = timed([sys.executable, "-c", duck_script])
        l_secs, l_peak, p = timed([str(binary), "run", "--landing", str(landing), "--warehouse", str(work / "warehouse"), "--la", "838", "--as-of", "2024-03-31"], env)
        result = {
            "copies": args.copies,
            "rows": rows,
            "input_mb": round(mb, 1),
            "lantern": {"seconds": round(l_secs, 2), "rows_per_s": round(rows / l_secs), "mb_per_s": round(mb / l_secs, 1), "peak_mib": round(l_peak / 1024)},
            "duckdb_csv_to_parquet": {"seconds": round(d_secs, 2), "rows_per_s": round(rows / d_secs), "mb_per_s": round(mb / d_secs, 1), "peak_mib": round(d_peak / 1024)},
            "lantern_vs_duckdb_time_ratio": round(l_secs / d_secs, 2),
        }
        print(json.dumps(result, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


main()
