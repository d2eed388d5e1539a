#!/usr/bin/env python3
"""The DfE CIN census validator against `lantern validate --dfe`: the same five years of a
generated council's CIN census files, both tools in the same run, side by side.

    cargo build --profile dist      # the binary people ship, measured by default (or --release)
    python3 benches/dfe_cin.py                      # scale 1, seed 5: a Dorset-sized council
    python3 benches/dfe_cin.py --scale 0.1 --lantern target/debug/lantern   # a quick try

1. generation: `lantern generate --scale S --seed N --years 5 --end-year 2025 --defect-rate 0
   --social-care returns`, one council; its CIN census XML files are
   `DIR/landing/<la>/cin_census/CIN_Census_<year>.xml` (not timed);
2. the DfE's validator (`csc-validator-be-cin`, pinned below, installed by pip into
   target/tmp/dfe-cin-packages on first use, as the tests do) through
   `../shared/tools/dfe/dfe_validate.py --year Y --cin FILE --out PREFIX`: every rule of the year's
   rule set on the file, one process per file;
3. Lantern: `lantern validate --dfe --year Y --report FLAGS.csv FILE`, one process per file, and
   `lantern validate --dfe --report FLAGS.csv FILE1 … FILE5` once (each file by its own year).

Y is the year the file's header gives (the year the collection ends), brought to the nearest year
the DfE package has a rule set for (2021 and 2022 are checked by 2022/23's rules): both tools are
given the same Y. Each process is measured for wall seconds, CPU seconds (user + system) and peak
memory (the kernel's max RSS of the process, `os.wait4`, with the process tree's RSS polled every
0.2 s: `regional.measure`). Ratios are DfE / Lantern (above 1: Lantern is faster, or smaller);
the issue's goal is a time ratio of at least 20 and a memory ratio of at least 1. The script
reports; it asserts nothing. `lantern validate --dfe` exits 1 when an error-type rule fires: that
is its answer, not a failure. The flags each tool raised are counted per file (the DfE script's
CSV, Lantern's `--report`) with the (rule, table, line) flags only one of them raised, so a
reader sees both did the same work.
"""
import argparse, csv, json, os, pathlib, re, resource, shutil, subprocess, sys, time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
sys.dont_write_bytecode = True  # benches/__pycache__ is tracked: importing regional must not rewrite it
import regional as rb  # noqa: E402  benches/regional.py: measure(), load()

ROOT = rb.ROOT
DFE_SCRIPT = ROOT.parent / "shared" / "tools" / "dfe" / "dfe_validate.py"
# The DfE package, pinned as tests/dfe_cin.rs pins it (the same private folder): pandas 1.5 needs numpy 1.
DFE_PACKAGES = ["csc-validator-be-cin==0.1.13", "pandas==1.5.3", "numpy<2"]
DFE_MODULES = ["cin_validator", "pandas"]
# Where Lantern deliberately does what the rule says rather than what the DfE's tool does (docs/dfe.md).
DELIBERATE = {"8540"}


# ---------------------------------------------------------------- the DfE package, in a folder of its own

def python_packages(name: str, packages, modules) -> pathlib.Path:
    """target/tmp/<name> holding `packages`, installed there with pip on first use when the folder
    lacks them (tests/common/mod.rs's python_packages: into a fresh folder, then renamed)."""
    d = ROOT / "target" / "tmp" / name
    have = lambda p: subprocess.run([sys.executable, "-c", "import " + ", ".join(modules)],  # noqa: E731
                                    env=dict(os.environ, PYTHONPATH=str(p)), capture_output=True).returncode == 0
    if have(d):
        return d
    fresh = d.with_name(f"{name}.{os.getpid()}")
    print(f"installing {' '.join(packages)} into {d} …", flush=True)
    p = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target", fresh, *packages],
                       capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"pip install {' '.join(packages)} failed:\n{p.stderr[-3000:]}")
    if d.exists():
        shutil.rmtree(d)  # a folder without them: replaced
    try:
        fresh.rename(d)
    except OSError:
        shutil.rmtree(fresh, ignore_errors=True)  # another process got there first
    if not have(d):
        sys.exit(f"{packages} installed into {d} but {modules} cannot be imported")
    return d


def package_versions(d: pathlib.Path) -> dict:
    out = {}
    for p in d.glob("*.dist-info"):
        name, _, version = p.name[: -len(".dist-info")].partition("-")
        out[name.lower().replace("_", "-")] = version
    return {k: out.get(k) for k in ("csc-validator-be-cin", "pandas", "numpy")}


def dfe_rule_years(d: pathlib.Path) -> list:
    """The collection years (ending) the DfE package has a rule set for: cin2024_25 → 2025."""
    return sorted(int(p.name[3:7]) + 1 for p in (d / "cin_validator" / "rules").glob("cin20??_??") if p.is_dir())


# ---------------------------------------------------------------- the files

def header_year(path: pathlib.Path) -> int:
    """The <Year> of a CIN census file's header (the year the collection ends)."""
    with open(path, "rb") as f:
        m = re.search(rb"<Year>\s*(\d{4})\s*</Year>", f.read(1 << 16))
    if not m:
        sys.exit(f"{path}: no <Year> in its header")
    return int(m.group(1))


def count_flags(path: pathlib.Path, rule: str, table: str, row: str, by_file: bool = False):
    """(rule, table, line) of every flag in a flag CSV, by file when asked."""
    out = {}
    with open(path, newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            out.setdefault(r["file"] if by_file else None, []).append((r[rule], r[table] or "", r[row] or ""))
    return out if by_file else out.get(None, [])


def kinds(flags) -> str:
    """'N (E errors, Q queries)': CIN codes ending in Q are queries."""
    e = sum(1 for f in flags if not f[0].endswith("Q"))
    return f"{len(flags)} ({e} errors, {len(flags) - e} queries)"


# ---------------------------------------------------------------- measuring

def run(cmd, env, cwd, ok=(0,)) -> dict:
    """regional.measure, plus the process's CPU seconds (children are reaped one at a time, so the
    change in RUSAGE_CHILDREN across one measure is that one process)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    m = rb.measure(cmd, env, cwd=cwd, ok=ok)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    m["cpu_seconds"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    m.pop("samples", None)
    return m


def mib(kib) -> str:
    return f"{kib / 1024:.0f}"


def common_args(ap, ret: str, years_help: str, clean: str, first: str):
    """The options both DfE benches take; `ret` is the return (`cin`, `903`)."""
    ap.add_argument("--scale", type=float, default=1.0, help="size of the council (1: Dorset-sized)")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--years", type=int, default=5, help=years_help)
    ap.add_argument("--end-year", type=int, default=2025)
    ap.add_argument("--defect-rate", type=float, default=0.0, help=f"the generator's share of rows given a defect (default 0: {clean})")
    ap.add_argument("--lantern", help="the lantern binary (default target/dist/lantern if built, else target/release/lantern, else target/debug/lantern)")
    ap.add_argument("--dir", help=f"working folder (default target/bench-dfe-{ret}/<scale>-seed<seed>); cleared first")
    ap.add_argument("--packages", help=f"folder holding csc-validator-be-{ret} and pandas (default target/tmp/dfe-{ret}-packages, installed on first use)")
    ap.add_argument("--no-warmup", action="store_true", help=f"skip the untimed first run of each tool on the first {first} (which fills the page cache)")
    ap.add_argument("--json", help="results as JSON (default DIR/results.json)")
    ap.add_argument("--keep", action="store_true", help="keep the generated files and both tools' flag files (default: only results)")


def setup(args, ret: str, packages, modules):
    """The lantern binary (and the cargo profile that built it, its version), the DfE package folder
    (installed on first use), the working folder (cleared), and the environments of the two tools;
    prints which binary is measured (loudly when it is a debug build)."""
    binary = pathlib.Path(args.lantern or rb.mb.default_binary()).resolve()
    if not binary.exists():
        sys.exit(f"no lantern binary at {binary}: cargo build --release")
    profile = rb.mb.binary_profile(binary)
    debug = profile == "debug"
    if not DFE_SCRIPT.exists():
        sys.exit(f"no {DFE_SCRIPT} (the shared DfE tools)")
    pkgs = pathlib.Path(args.packages).resolve() if args.packages else python_packages(f"dfe-{ret}-packages", packages, modules)
    d = pathlib.Path(args.dir or ROOT / "target" / f"bench-dfe-{ret}" / f"{args.scale:g}-seed{args.seed}").resolve()
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    env = dict(os.environ)
    env.setdefault("LANTERN_PSEUDONYM_KEY", rb.KEY)
    env.setdefault("LANTERN_LOG", "warn")
    dfe_env = dict(env, PYTHONPATH=str(pkgs))
    lantern_version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()
    banner = (f"lantern: {binary} ({lantern_version}) — "
              + ("A DEBUG BUILD: its times are NOT a fair measurement; build with `cargo build --release` for a real one"
                 if debug else f"{profile} build"))
    print(("!" * 100 + "\n" + banner + "\n" + "!" * 100) if debug else banner, flush=True)
    return binary, profile, lantern_version, pkgs, d, env, dfe_env


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common_args(ap, "cin", "CIN census files: one per collection year", "clean files", "file")
    args = ap.parse_args()
    binary, profile, lantern_version, pkgs, d, env, dfe_env = setup(args, "cin", DFE_PACKAGES, DFE_MODULES)
    rule_years = dfe_rule_years(pkgs)
    if not rule_years:
        sys.exit(f"no cin_validator rule sets under {pkgs}")
    res = {"scale": args.scale, "seed": args.seed, "years": args.years, "end_year": args.end_year, "defect_rate": args.defect_rate,
           "lantern": str(binary), "lantern_version": lantern_version, "debug_build": profile == "debug", "profile": profile, "dfe_packages": package_versions(pkgs),
           "python": sys.version.split()[0], "cores": os.cpu_count(), "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "load_before": rb.load(), "files": []}

    # 1. generation (not timed against anything)
    print(f"generating one council, scale {args.scale:g}, seed {args.seed}, {args.years} years to {args.end_year}, in {d} …", flush=True)
    gen = d / "generated"
    m = run([binary, "generate", "--out", gen, "--scale", args.scale, "--seed", args.seed, "--years", args.years, "--end-year", args.end_year,
             "--defect-rate", args.defect_rate, "--social-care", "returns"], env, cwd=d)
    res["generate_seconds"] = m["seconds"]
    files = sorted(gen.glob("landing/*/cin_census/CIN_Census_*.xml"))
    if not files:
        sys.exit(f"no CIN census files under {gen}/landing/*/cin_census/")
    out = d / "flags"
    out.mkdir()

    def ruleset_year(y):
        return min(rule_years, key=lambda r: (abs(r - y), r))

    def dfe(f, y, prefix):
        return run([sys.executable, DFE_SCRIPT, "--year", y, "--cin", f, "--out", prefix], dfe_env, cwd=d)

    def lantern(f, y, report):
        return run([binary, "validate", "--dfe", "--year", y, "--report", report, f], env, cwd=d, ok=(0, 1))

    if not args.no_warmup:  # page cache: Python, pandas, the binary, the first file
        y = ruleset_year(header_year(files[0]))
        dfe(files[0], y, out / "warmup-dfe")
        lantern(files[0], y, out / "warmup-lantern.csv")

    # 2-3. per file: the DfE's validator, then Lantern, each a process of its own
    for f in files:
        year = header_year(f)
        y = ruleset_year(year)
        stem = f.stem
        md = dfe(f, y, out / f"{stem}-dfe")
        ml = lantern(f, y, out / f"{stem}.lantern.csv")
        dj = json.loads((out / f"{stem}-dfe.json").read_text())
        dflags = count_flags(out / f"{stem}-dfe.csv", "rule_code", "table", "row_number_in_file")
        lflags = count_flags(out / f"{stem}.lantern.csv", "rule", "table", "row")
        crashed = sorted(r["rule_code"] for r in dj["rules"] if r["status"] == "failed")
        only_d, only_l = set(dflags) - set(lflags), set(lflags) - set(dflags)
        other = sorted(x for x in only_d | only_l if x[0] not in DELIBERATE and x[0] not in crashed)
        e = {"file": str(f.relative_to(gen)), "bytes": f.stat().st_size, "header_year": year, "ruleset_year": y,
             "ruleset": dj["runs"][0]["ruleset"], "rules": len(dj["rules"]), "children": dj["runs"][0]["tables"].get("ChildIdentifiers"),
             "dfe": {k: md[k] for k in ("seconds", "cpu_seconds", "peak_kib", "max_rss_kib")},
             "lantern": {k: ml[k] for k in ("seconds", "cpu_seconds", "peak_kib", "max_rss_kib", "returncode")},
             "dfe_flags": len(dflags), "dfe_flags_kinds": kinds(dflags), "lantern_flags": len(lflags),
             "lantern_flags_kinds": kinds(lflags), "only_dfe": len(only_d), "only_lantern": len(only_l),
             "other_differences": len(other), "other_difference_rules": sorted({x[0] for x in other}),
             "dfe_crashed_rules": {r["rule_code"]: r.get("error") for r in dj["rules"] if r["status"] == "failed"},
             "dfe_notes": dj.get("notes", []), "load_after": rb.load()}
        res["files"].append(e)
        print(f"  {e['file']} ({year}, rules {e['ruleset']}): DfE {md['seconds']:.1f}s {mib(md['peak_kib'])} MiB {e['dfe_flags']} flags"
              f"{' (crashed: ' + ', '.join(crashed) + ')' if crashed else ''}; Lantern {ml['seconds']:.2f}s {mib(ml['peak_kib'])} MiB "
              f"{e['lantern_flags']} flags, exit {ml['returncode']}", flush=True)

    # 3b. Lantern, every file in one process (each file by its own year's rule set)
    report = out / "all.lantern.csv"
    ma = run([binary, "validate", "--dfe", "--report", report, *files], env, cwd=d, ok=(0, 1))
    by_file = count_flags(report, "rule", "table", "row", by_file=True)
    for e in res["files"]:
        e["lantern_one_process_flags"] = len(by_file.get(str(gen / e["file"]), []))
    res["lantern_one_process"] = {k: ma[k] for k in ("seconds", "cpu_seconds", "peak_kib", "max_rss_kib", "returncode")}
    res["load_after"] = rb.load()
    if not args.keep:
        shutil.rmtree(gen, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)
    j = pathlib.Path(args.json) if args.json else d / "results.json"
    j.write_text(json.dumps(res, indent=2))
    print()
    print(report_text(res))
    print(f"\nresults: {j}")


def report_text(res: dict) -> str:
    fs = res["files"]
    tot = lambda side, k: sum(e[side][k] for e in fs)  # noqa: E731
    peak = lambda side: max(e[side]["peak_kib"] for e in fs)  # noqa: E731
    d_s, d_cpu, d_kib = tot("dfe", "seconds"), tot("dfe", "cpu_seconds"), peak("dfe")
    pv = res["dfe_packages"]
    lines = []
    if res["debug_build"]:
        lines += ["**WARNING: Lantern here is a debug build (`" + res["lantern"] + "`): its times are not a fair measurement. "
                  "Build with `cargo build --release` and run again.**", ""]
    lines += [f"**One council, scale {res['scale']:g}, seed {res['seed']}, {len(fs)} CIN census files "
              f"({sum(e['bytes'] for e in fs) / 1e6:.1f} MB, {sum(e['children'] or 0 for e in fs):,} children)** — "
              f"{res['lantern_version']} ({res.get('profile', 'debug' if res['debug_build'] else 'release')} build), csc-validator-be-cin {pv.get('csc-validator-be-cin')} "
              f"(pandas {pv.get('pandas')}, numpy {pv.get('numpy')}, Python {res['python']}), {res['cores']} cores; "
              f"load average (1, 5, 15 min) {res['load_before']} before, {res['load_after']} after", "",
              "| tool | processes | total s (wall) | CPU s | peak MiB (max RSS) | flags | time ratio (DfE / Lantern) | memory ratio (DfE / Lantern) |",
              "|---|---:|---:|---:|---:|---:|---:|---:|",
              f"| DfE validator (`dfe_validate.py`) | {len(fs)} | {d_s:.2f} | {d_cpu:.2f} | {mib(d_kib)} | {sum(e['dfe_flags'] for e in fs):,} | | |"]

    def row(label, n, s, cpu, kib, flags):
        lines.append(f"| {label} | {n} | {s:.2f} | {cpu:.2f} | {mib(kib)} | {flags:,} | {d_s / s:.1f} | {d_kib / kib:.2f} |")

    row("Lantern `validate --dfe`, a process per file", len(fs), tot("lantern", "seconds"), tot("lantern", "cpu_seconds"), peak("lantern"),
        sum(e["lantern_flags"] for e in fs))
    a = res["lantern_one_process"]
    row("Lantern `validate --dfe`, all files in one process", 1, a["seconds"], a["cpu_seconds"], a["peak_kib"], sum(e["lantern_one_process_flags"] for e in fs))
    lines += ["", "Goal (the issue): time ratio at least 20, memory ratio at least 1. Peak memory of a set of processes is the largest "
              "one's; the DfE's validator is one Python thread, Lantern uses every core (CPU s is user + system).", "",
              "| file | year | rule set | DfE s | DfE MiB | DfE flags | DfE rules crashed | Lantern s | Lantern MiB | Lantern flags (exit) | only DfE | only Lantern | of which other | one-process flags |",
              "|---|---:|---|---:|---:|---|---|---:|---:|---|---:|---:|---|---:|"]
    for e in fs:
        dd, ll = e["dfe"], e["lantern"]
        lines.append(f"| {pathlib.Path(e['file']).name} | {e['header_year']} | {e['ruleset']} | {dd['seconds']:.2f} | {mib(dd['peak_kib'])} | "
                     f"{e['dfe_flags_kinds']} | {', '.join(e['dfe_crashed_rules']) or '-'} | {ll['seconds']:.2f} | {mib(ll['peak_kib'])} | "
                     f"{e['lantern_flags_kinds']} ({ll['returncode']}) | {e['only_dfe']} | {e['only_lantern']} | "
                     f"{e['other_differences']}{' (' + ', '.join(e['other_difference_rules']) + ')' if e['other_differences'] else ''} | "
                     f"{e['lantern_one_process_flags']} |")
    crashes = {c: err for e in fs for c, err in e["dfe_crashed_rules"].items()}
    if crashes:
        lines += ["", "The DfE's validator stopped with an exception on: " + "; ".join(f"{c} ({(err or '')[:100]})" for c, err in sorted(crashes.items()))
                  + " — it reports nothing for those rules on that file."]
    notes = sorted({n for e in fs for n in e["dfe_notes"]})
    if notes:
        lines += ["", "DfE script notes: " + "; ".join(notes)]
    lines += ["", "Flags are (rule, table, line of the record's opening tag); only DfE / only Lantern count the flags one tool raised and the "
              "other did not; 'of which other' leaves out the rules the DfE's validator crashed on in that file and the deliberate "
              f"differences ({', '.join(sorted(DELIBERATE))}; docs/dfe.md). tests/dfe_cin.rs is the check that the two agree; this only counts."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
