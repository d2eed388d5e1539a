#!/usr/bin/env python3
"""The DfE SSDA903 validator against `lantern validate --dfe`: the same five years of a generated
council's 903 returns, each checked with last year's return, both tools in the same run, side by side.

    cargo build --profile dist      # the binary people ship, measured by default (or --release)
    python3 benches/dfe_903.py                      # scale 1, seed 5: a Dorset-sized council
    python3 benches/dfe_903.py --scale 0.1 --lantern target/debug/lantern   # a quick try

1. generation: `lantern generate --scale S --seed N --years 5 --end-year 2025 --defect-rate 0
   --social-care returns`, one council; its 903 returns are the CSV sets
   `DIR/landing/<la>/ssda903_<year>/` (not timed; `--generated DIR` reuses a generated folder);
2. the DfE's validator (`csc-validator-be-903`, pinned below, installed by pip into
   target/tmp/dfe-903-packages on first use, as tests/dfe_903.rs does) through
   `../shared/tools/dfe/dfe_validate.py --year Y --la LA --ssda903 DIR --ssda903-prev LAST --out
   PREFIX`: every rule of the year's rule set, one process per year;
3. Lantern: `lantern validate --dfe --year Y --la LA --previous LAST --report FLAGS.csv DIR'`, one
   process per year, where DIR' is the year's files with the generator's postcode lookup
   (`src/synth/data/postcodes.csv`) beside them (copied before, not timed), so that Lantern's
   postcode rules run as the DfE's do on its own copy of the lookup.

Y is the year the return's folder names (the year the collection ends), brought to the nearest year
the DfE package has a rule set for (2021 and 2022 are checked by 2022/23's rules): both tools are
given the same Y. The first year has no last year's return (neither tool gets one). LA is the
council's ONS code (default Dorset's, E06000059: the generator's council is 838; a lantern binary
from before `validate --la` is not given it, and does not run 241, 411, 1015). Each process is
measured for wall seconds, CPU seconds (user + system) and peak memory (`regional.measure`, as
benches/dfe_cin.py). Ratios are DfE / Lantern (above 1: Lantern is faster, or smaller); the issue's
goal is a time ratio of at least 20. The script reports; it asserts nothing (`lantern validate
--dfe` exits 1 when an error-type rule fires: its answer, not a failure). Rules per year: the rule
set's size, how many each tool ran (the DfE's skips a rule whose tables are missing, or crashes on
it; Lantern lists the rules it did not run), and the flags each raised, with the (rule, file, line)
flags only one of them raised (tests/dfe_903_side.rs is the check that the two agree).
"""
import argparse, csv, json, os, pathlib, re, shutil, subprocess, sys, time
from collections import Counter

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
sys.dont_write_bytecode = True  # benches/__pycache__ is tracked: importing must not rewrite it
import regional as rb  # noqa: E402  benches/regional.py: measure(), load()
from dfe_cin import common_args, setup, run, mib  # noqa: E402  the same helpers as the CIN bench

ROOT = rb.ROOT
DFE_SCRIPT = ROOT.parent / "shared" / "tools" / "dfe" / "dfe_validate.py"
# The DfE package, pinned as tests/dfe_903.rs pins it (the same private folder).
DFE_PACKAGES = ["csc-validator-be-903==0.1.17", "pandas==1.5.3", "numpy<1.25"]
DFE_MODULES = ["lac_validator", "pandas"]
POSTCODES = ROOT / "src" / "synth" / "data" / "postcodes.csv"


def package_versions(d: pathlib.Path) -> dict:
    out = {}
    for p in d.glob("*.dist-info"):
        name, _, version = p.name[: -len(".dist-info")].partition("-")
        out[name.lower().replace("_", "-")] = version
    return {k: out.get(k) for k in ("csc-validator-be-903", "pandas", "numpy")}


def dfe_rule_years(d: pathlib.Path) -> list:
    """The collection years (ending) the DfE package has a rule set for: lac2024_25 → 2025."""
    return sorted(int(p.name[3:7]) + 1 for p in (d / "lac_validator" / "rules").glob("lac20??_??") if p.is_dir())


def flags_of(path: pathlib.Path, rule: str, row: str) -> set:
    """(rule, file name, line) of every flag in a flag CSV."""
    out = set()
    with open(path, newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            line = r[row] or ""
            out.add((r[rule], pathlib.Path(r["file"] or "").name, str(int(float(line))) if line else ""))
    return out


def lantern_rules(stdout: str) -> tuple:
    """(rules in the set, rules not run) from `lantern validate --dfe`'s summary."""
    m = re.search(r"SSDA903 \d{4}/\d\d, (\d+) rules", stdout)
    n = re.search(r"(\d+) rules not run", stdout)
    return (int(m.group(1)) if m else None, int(n.group(1)) if n else 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common_args(ap, "903", "903 returns: one per collection year", "clean returns", "year")
    ap.add_argument("--la", default="E06000059", help="the council's ONS code, given to both tools (default Dorset's: the generator's council)")
    ap.add_argument("--generated", help="a folder `lantern generate` wrote before (with these --scale/--seed/--years): not generated again")
    args = ap.parse_args()
    binary, profile, lantern_version, pkgs, d, env, dfe_env = setup(args, "903", DFE_PACKAGES, DFE_MODULES)
    rule_years = dfe_rule_years(pkgs)
    if not rule_years:
        sys.exit(f"no lac_validator rule sets under {pkgs}")
    # (a binary from before `validate --la`: the three rules needing the council's LA code are not run)
    has_la = "--la" in subprocess.run([binary, "validate", "--help"], capture_output=True, text=True).stdout
    if not has_la:
        print(f"{binary} has no `validate --la`: Lantern is not given the LA code (241, 411, 1015 not run)", flush=True)
    res = {"scale": args.scale, "seed": args.seed, "years": args.years, "end_year": args.end_year, "defect_rate": args.defect_rate,
           "la": args.la, "lantern": str(binary), "lantern_has_la": has_la, "lantern_version": lantern_version, "debug_build": profile == "debug", "profile": profile,
           "dfe_packages": package_versions(pkgs), "python": sys.version.split()[0], "cores": os.cpu_count(),
           "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "load_before": rb.load(), "returns": []}

    # 1. generation (not timed against anything)
    if args.generated:
        gen = pathlib.Path(args.generated).resolve()
        res["generated"] = str(gen)
    else:
        print(f"generating one council, scale {args.scale:g}, seed {args.seed}, {args.years} years to {args.end_year}, in {d} …", flush=True)
        gen = d / "generated"
        m = run([binary, "generate", "--out", gen, "--scale", args.scale, "--seed", args.seed, "--years", args.years, "--end-year", args.end_year,
                 "--defect-rate", args.defect_rate, "--social-care", "returns"], env, cwd=d)
        res["generate_seconds"] = m["seconds"]
    folders = sorted(p for p in gen.glob("landing/*/ssda903_*") if p.is_dir())
    if not folders:
        sys.exit(f"no 903 returns under {gen}/landing/*/ssda903_*/")
    out = d / "flags"
    out.mkdir()

    # Lantern's inputs: each year's files with the postcode lookup beside them (not timed)
    given = {}
    for f in folders:
        g = d / "lantern-in" / f.name
        shutil.copytree(f, g)
        shutil.copy(POSTCODES, g / "postcodes.csv")
        given[f] = g

    def ruleset_year(y):
        return min(rule_years, key=lambda r: (abs(r - y), r))

    def dfe(f, prev, y, prefix):
        cmd = [sys.executable, DFE_SCRIPT, "--year", y, "--la", args.la, "--ssda903", f, "--out", prefix]
        return run(cmd + (["--ssda903-prev", prev] if prev else []), dfe_env, cwd=d)

    def lantern(f, prev, y, report):
        cmd = [binary, "validate", "--dfe", "--year", y, "--report", report] + (["--la", args.la] if has_la else [])
        return run(cmd + (["--previous", prev] if prev else []) + [given[f]], env, cwd=d, ok=(0, 1))

    if not args.no_warmup:  # page cache: Python, pandas, the binary, the first year's files
        y = ruleset_year(int(folders[0].name.split("_")[-1]))
        dfe(folders[0], None, y, out / "warmup-dfe")
        lantern(folders[0], None, y, out / "warmup-lantern.csv")

    # 2-3. per year: the DfE's validator, then Lantern, each a process of its own, with last year's
    by_year = {int(f.name.split("_")[-1]): f for f in folders}
    for year, f in sorted(by_year.items()):
        prev = by_year.get(year - 1)
        y = ruleset_year(year)
        md = dfe(f, prev, y, out / f"{year}-dfe")
        ml = lantern(f, prev, y, out / f"{year}.lantern.csv")
        dj = json.loads((out / f"{year}-dfe.json").read_text())
        dflags = flags_of(out / f"{year}-dfe.csv", "rule_code", "row_number_in_file")
        lflags = flags_of(out / f"{year}.lantern.csv", "rule", "row")
        status = Counter(r["status"] for r in dj["rules"])
        l_rules, l_not_run = lantern_rules(ml["stdout"])
        only_d, only_l = dflags - lflags, lflags - dflags
        tables = dj["runs"][0]["tables"]
        e = {"year": year, "folder": str(f.relative_to(gen)), "previous": prev.name if prev else None,
             "bytes": sum(p.stat().st_size for p in f.iterdir()), "children": tables.get("Header"), "episodes": tables.get("Episodes"),
             "ruleset_year": y, "ruleset": dj["runs"][0]["ruleset"], "dfe_rules": len(dj["rules"]), "dfe_rules_ran": status["ran"],
             "dfe_rules_skipped": status["skipped"], "dfe_rules_failed": sorted(r["rule_code"] for r in dj["rules"] if r["status"] == "failed"),
             "lantern_rules": l_rules, "lantern_rules_not_run": l_not_run,
             "dfe": {k: md[k] for k in ("seconds", "cpu_seconds", "peak_kib", "max_rss_kib")},
             "lantern": {k: ml[k] for k in ("seconds", "cpu_seconds", "peak_kib", "max_rss_kib", "returncode")},
             "dfe_flags": len(dflags), "lantern_flags": len(lflags), "agreed": len(dflags & lflags),
             "only_dfe": dict(Counter(x[0] for x in only_d)), "only_lantern": dict(Counter(x[0] for x in only_l)),
             "dfe_notes": dj.get("notes", []), "load_after": rb.load()}
        res["returns"].append(e)
        print(f"  {e['folder']} ({y}, {e['ruleset']}, last year's: {e['previous'] or '-'}): DfE {md['seconds']:.1f}s {mib(md['peak_kib'])} MiB "
              f"{e['dfe_flags']} flags; Lantern {ml['seconds']:.2f}s {mib(ml['peak_kib'])} MiB {e['lantern_flags']} flags, exit {ml['returncode']}",
              flush=True)

    res["load_after"] = rb.load()
    if not args.keep:
        if not args.generated:
            shutil.rmtree(gen, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(d / "lantern-in", ignore_errors=True)
    j = pathlib.Path(args.json) if args.json else d / "results.json"
    j.write_text(json.dumps(res, indent=2))
    print()
    print(report_text(res))
    print(f"\nresults: {j}")


def report_text(res: dict) -> str:
    rs = res["returns"]
    pv = res["dfe_packages"]
    lines = []
    if res["debug_build"]:
        lines += ["**WARNING: Lantern here is a debug build (`" + res["lantern"] + "`): its times are not a fair measurement. "
                  "Build with `cargo build --release` and run again.**", ""]
    lines += [f"**One council, scale {res['scale']:g}, seed {res['seed']}, {len(rs)} SSDA903 returns (CSV sets, "
              f"{sum(e['bytes'] for e in rs) / 1e6:.1f} MB, {sum(e['episodes'] or 0 for e in rs):,} episodes), each with last year's** — "
              f"{res['lantern_version']} ({res.get('profile', 'debug' if res['debug_build'] else 'release')} build), csc-validator-be-903 {pv.get('csc-validator-be-903')} "
              f"(pandas {pv.get('pandas')}, numpy {pv.get('numpy')}, Python {res['python']}), {res['cores']} cores; LA {res['la']}"
              f"{'' if res.get('lantern_has_la', True) else ' (the DfE tool only: this lantern has no `validate --la`)'}; "
              f"load average (1, 5, 15 min) {res['load_before']} before, {res['load_after']} after", "",
              "| return | rule set | last year's | children | episodes | DfE s (wall) | DfE CPU s | DfE MiB | Lantern s (wall) | Lantern CPU s | Lantern MiB "
              "| time ratio | CPU ratio | memory ratio |",
              "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for e in rs:
        dd, ll = e["dfe"], e["lantern"]
        lines.append(f"| {pathlib.Path(e['folder']).name} | {e['ruleset']} | {e['previous'] or '-'} | {e['children'] or 0:,} | {e['episodes'] or 0:,} | "
                     f"{dd['seconds']:.1f} | {dd['cpu_seconds']:.1f} | {mib(dd['peak_kib'])} | {ll['seconds']:.2f} | {ll['cpu_seconds']:.2f} | "
                     f"{mib(ll['peak_kib'])} | {dd['seconds'] / ll['seconds']:.1f} | {dd['cpu_seconds'] / ll['cpu_seconds']:.1f} | "
                     f"{dd['peak_kib'] / ll['peak_kib']:.2f} |")
    tot = lambda side, k: sum(e[side][k] for e in rs)  # noqa: E731
    peak = lambda side: max(e[side]["peak_kib"] for e in rs)  # noqa: E731
    lines.append(f"| all | | | | | {tot('dfe', 'seconds'):.1f} | {tot('dfe', 'cpu_seconds'):.1f} | {mib(peak('dfe'))} | {tot('lantern', 'seconds'):.2f} | "
                 f"{tot('lantern', 'cpu_seconds'):.2f} | {mib(peak('lantern'))} | {tot('dfe', 'seconds') / tot('lantern', 'seconds'):.1f} | "
                 f"{tot('dfe', 'cpu_seconds') / tot('lantern', 'cpu_seconds'):.1f} | {peak('dfe') / peak('lantern'):.2f} |")
    lines += ["", "Ratios are DfE / Lantern; the goal (the issue): time ratio at least 20. The DfE's validator is one Python thread, "
              "Lantern uses every core (CPU s is user + system).", "",
              "| return | rules in the set | DfE: ran, skipped (tables missing), crashed | Lantern: run, not run | DfE flags | Lantern flags | agreed | only DfE (by rule) | only Lantern (by rule) |",
              "|---|---:|---|---|---:|---:|---:|---|---|"]
    for e in rs:
        fmt = lambda c: ", ".join(f"{k} {v}" for k, v in sorted(c.items())) or "-"  # noqa: E731
        crashed = len(e["dfe_rules_failed"])
        lines.append(f"| {pathlib.Path(e['folder']).name} | {e['dfe_rules']} | {e['dfe_rules_ran']}, {e['dfe_rules_skipped']}, {crashed}"
                     f"{' (' + ', '.join(e['dfe_rules_failed']) + ')' if crashed else ''} | "
                     f"{(e['lantern_rules'] or 0) - e['lantern_rules_not_run']}, {e['lantern_rules_not_run']} | {e['dfe_flags']:,} | {e['lantern_flags']:,} | "
                     f"{e['agreed']:,} | {fmt(e['only_dfe'])} | {fmt(e['only_lantern'])} |")
    notes = sorted({n for e in rs for n in e["dfe_notes"]})
    if notes:
        lines += ["", "DfE script notes: " + "; ".join(notes)]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
